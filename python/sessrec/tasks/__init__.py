"""Downstream tasks of the UBM paper (Li et al. 2024): labelled examples for purchase intention
prediction (PIP) and remaining length prediction (RLP), built in C++."""

from .finetune import FineTuned, finetune
from .labels import pip_examples, rlp_examples
from .next_item import NextItemUBM, nip_examples

__all__ = ["pip_examples", "rlp_examples", "finetune", "FineTuned", "NextItemUBM", "nip_examples"]
