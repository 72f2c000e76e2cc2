"""The stages of the KDD Cup 2023 fusion-and-rerank pipeline (Zhang et al. 2023, §2.2), used by
:class:`sessrec.models.FusionRerank`: candidate generation and product fusion
(:mod:`.candidates`), graph centralities of the ItemCF co-occurrence graph (:mod:`.graph`) and
the per-(session, candidate) feature table (:mod:`.features`)."""

from .candidates import CandidateLists, SCALES, retrieve_candidates
from .features import FEATURE_SETS, ItemTable, candidate_features, feature_names
from .graph import graph_centralities

__all__ = [
    "CandidateLists",
    "SCALES",
    "retrieve_candidates",
    "FEATURE_SETS",
    "ItemTable",
    "candidate_features",
    "feature_names",
    "graph_centralities",
]
