"""Top-k as arrays for many sessions: what :meth:`Recommender.recommend_arrays` runs.

``model.recommend_arrays(sessions, k)`` (sessions: lists of item indices, or one
:class:`SessionArrays` of CSR arrays) returns ``(items, scores)``, int32 and float32
[len(sessions), k], with no table and no per-item Python work. How the top-k is found depends on
the model (its ``_top_k_arrays`` hook):

* ItemCF: exact sparse ranking in C++ (the scored items merged with the fixed popularity order),
  never a dense score row (cpp/sessrec/retrieval/item_cf_sparse_ranking.h);
* embedding models with an index (``model.build_index("int8" | "bf16" | "hnsw")``): the index's
  candidates re-scored exactly (:mod:`sessrec.item_index`);
* every other model: dense scores, a block of sessions at a time (about 32 MB of scores), then
  the C++ partial selection.

All paths give the same order and tie rule (higher score first, then smaller index) and pad with
-1 / -inf where the history exclusion leaves fewer than ``k`` items.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _core
from .models.base import check_k, histories_to_arrays


class SessionArrays(NamedTuple):
    """Many index histories at once, as CSR arrays: session r is ``items[begin[r]:end[r]]``
    (item indices; an empty range is an empty history). A distinct type, so that a list of
    three sessions given as arrays is never read as one."""

    items: np.ndarray
    begin: np.ndarray
    end: np.ndarray


def session_arrays(sessions, num_items: int):
    """(items int32, begin int64, end int64) from index sequences or :class:`SessionArrays`
    (checked)."""
    if isinstance(sessions, SessionArrays):
        items, begin, end = (np.asarray(a) for a in sessions)
        if any(a.ndim != 1 or a.dtype.kind not in "iu" for a in (items, begin, end)):
            raise TypeError("SessionArrays must hold three 1-D integer arrays (items, begin, end)")
        if len(begin) != len(end):
            raise ValueError(f"begin has {len(begin)} entries, end {len(end)}")
        if len(end) == 0:
            raise ValueError("no sessions given")
        if (begin < 0).any() or (begin > end).any() or (end > len(items)).any():
            r = int(np.flatnonzero((begin < 0) | (begin > end) | (end > len(items)))[0])
            raise ValueError(f"session {r} has an invalid begin/end range "
                             f"[{int(begin[r])}, {int(end[r])}) for {len(items)} items")
        bad = (items < 0) | (items >= num_items)
        if bad.any():
            raise ValueError(f"item index {int(items[bad][0])} is outside the catalogue of "
                             f"{num_items} items")
        return (items.astype(np.int32, copy=False), begin.astype(np.int64, copy=False),
                end.astype(np.int64, copy=False))
    return histories_to_arrays(sessions, num_items)


def recommend_arrays(model, sessions, k: int, exclude_history: bool):
    model._require_fitted()
    k = check_k(k)
    if k > model.num_items:
        raise ValueError(f"k={k} is larger than the catalogue of {model.num_items} items")
    items, begin, end = session_arrays(sessions, model.num_items)
    return model._top_k_arrays(items, begin, end, k, exclude_history)


def dense_top_k(model, items, begin, end, k: int, exclude_history: bool,
                block_bytes: int = 32 << 20):
    """Top-k from the model's dense scores, computed for a block of sessions at a time."""
    scorer = model._scorer()
    rows = (_core.rank_block_rows(scorer, block_bytes) if scorer is not None
            else max(1, block_bytes // (4 * model.num_items)))
    n = len(end)
    top = np.empty((n, k), dtype=np.int32)
    top_scores = np.empty((n, k), dtype=np.float32)
    for first in range(0, n, rows):
        last = min(n, first + rows)
        b, e = begin[first:last], end[first:last]
        scores = model._score_arrays(items, b, e)
        top[first:last], top_scores[first:last] = _core.top_k_from_scores(
            scores, k, (items, b, e) if exclude_history else None)
    return top, top_scores
