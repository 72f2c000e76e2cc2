"""PIP and RLP examples from any sessions (C++ builders in ``cpp/sessrec/data/task_labels.h``).

An example is a run of events ``[begin, end)`` of one session of the data's ``SessionStore``
(offsets into ``store.items`` / ``store.actions``) with an integer label; the tables below hold
one example per row, ordered by session then position. What the paper (§4.1.1) states and what
was chosen where it is silent is written out in ``task_labels.h`` and in each docstring.
"""

from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np
import pandas as pd

from .. import _core
from ..dataset import Dataset, SessionSet

# The C++ configs own the defaults (the paper's 32 interactions and minimum length 5).
_PIP = _core.PurchaseIntentionConfig()
_RLP = _core.RemainingLengthConfig()

Data = Union[Dataset, SessionSet, _core.SessionStore]


def _store(data: Data) -> _core.SessionStore:
    if isinstance(data, _core.SessionStore):
        return data
    if isinstance(data, (Dataset, SessionSet)):
        return data.sessions
    raise TypeError(
        f"expected a Dataset, a SessionSet or a SessionStore, got {type(data).__name__}"
    )


def _purchase_code(
    data: Data, purchase_action: Union[str, int], action_names: Optional[Sequence[str]]
) -> int:
    if isinstance(purchase_action, (int, np.integer)) and not isinstance(purchase_action, bool):
        if not -128 <= int(purchase_action) <= 127:
            raise ValueError(f"purchase_action code {purchase_action} is outside int8 [-128, 127]")
        return int(purchase_action)
    if not isinstance(purchase_action, str):
        raise TypeError(
            f"purchase_action must be an action name or an int code, got "
            f"{type(purchase_action).__name__}"
        )
    names = action_names
    if names is None and isinstance(data, Dataset):
        names = data.action_names
    if names is None:
        raise ValueError(
            f"purchase_action={purchase_action!r} is a name, but the data carries no action names "
            "(a SessionSet or SessionStore does not): pass action_names= or the integer code"
        )
    names = list(names)
    if purchase_action not in names:
        raise ValueError(f"purchase_action={purchase_action!r} is not one of the actions {names}")
    return names.index(purchase_action)


def _frame(arrays: dict, label_dtype) -> pd.DataFrame:
    begin, end = arrays["begin"], arrays["end"]
    return pd.DataFrame(
        {
            "session": arrays["session"],
            "begin": begin,
            "end": end,
            "length": end - begin,
            "label": arrays["label"].astype(label_dtype),
        }
    )


def pip_examples(
    data: Data,
    purchase_action: Union[str, int] = "buy",
    max_interactions: int = _PIP.max_interactions,
    min_length: int = _PIP.min_length,
    oversample: bool = _PIP.oversample,
    seed: int = _PIP.seed,
    action_names: Optional[Sequence[str]] = None,
) -> pd.DataFrame:
    """Purchase intention examples: columns ``session, begin, end, length, label`` (label int8).

    Positives (label 1), one per purchase: "for each purchase in a session, we back-trace up to
    32 interactions until a previous purchase encountered or no more interactions found in the
    session" (§4.1.1) -- the at most ``max_interactions`` interactions before the purchase and
    after the session's previous purchase; the purchase itself is not in the input (the paper
    is silent; its [BUY] action would give the label away). Negatives (label 0): sessions
    without any purchase, their last ``max_interactions`` interactions (the paper samples
    "sessions without purchase" but is silent on which part; sessions with a purchase give
    positives only). Inputs shorter than ``min_length`` are dropped ("we ignored the input
    sessions shorter than 5"). ``oversample=True`` appends copies of positives until they equal
    the negatives ("over-sampling is done on those with purchase"; the ratio, 1:1 here, is not
    given): whole rounds first, then a sample chosen by ``seed``. Use it on training data only.

    ``purchase_action`` is an action name looked up in the Dataset's ``action_names`` (or in
    ``action_names=``, needed for a SessionSet or SessionStore), or an integer action code.
    The synthetic generator names its actions "search", "view", "add_to_cart", "buy".
    Raises ValueError when the sessions have no actions or a limit is out of range.
    """
    store = _store(data)
    if store.actions is None:
        raise ValueError(
            "pip_examples: the sessions have no actions, so purchases cannot be found "
            "(load the data with an action column)"
        )
    code = _purchase_code(data, purchase_action, action_names)
    config = _core.PurchaseIntentionConfig()
    config.max_interactions, config.min_length = int(max_interactions), int(min_length)
    config.oversample, config.seed = bool(oversample), int(seed)
    return _frame(_core.purchase_intention_examples(store, code, config), np.int8)


def rlp_examples(
    data: Data,
    max_interactions: int = _RLP.max_interactions,
    min_length: int = _RLP.min_length,
    min_remaining: int = _RLP.min_remaining,
    seed: int = _RLP.seed,
) -> pd.DataFrame:
    """Remaining length examples: columns ``session, begin, end, length, label`` (label int64).

    "For RLP, we randomly cut the session at a position before the 32nd interaction and prepare
    the label correspondingly" (§4.1.1): one example per session, its first ``c`` interactions
    with ``min_length <= c <= min(max_interactions - 1, L - min_remaining)``, ``c`` uniform (the
    paper does not say how the cut is drawn), and label ``L - c``, the interactions left.
    ``min_length`` is "we ignored the input sessions shorter than 5"; ``min_remaining=1`` (the
    paper is silent) keeps at least one interaction after the cut; 0 allows a label of 0.
    Sessions that admit no cut give no example. Needs no actions. Deterministic for a ``seed``
    at any thread count.
    """
    config = _core.RemainingLengthConfig()
    config.max_interactions, config.min_length = int(max_interactions), int(min_length)
    config.min_remaining, config.seed = int(min_remaining), int(seed)
    return _frame(_core.remaining_length_examples(_store(data), config), np.int64)
