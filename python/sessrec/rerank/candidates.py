"""Candidate generation and product fusion (Zhang et al. 2023, §2.2: "To combine the scores
from the retrieval methods, we multiply them together, represented as  $y_i = \\prod_{t=1}^3
y_t$ , where  $y_t$  is the score for each retrieval method. From the fused scores, we select the
top 120 items as the preliminary retrieval results.").

For every history each retriever scores the whole catalogue; the candidates are the union of
each retriever's top ``top_m`` items. A product of scores needs positive scores, so each
retriever's row is first mapped to (0, 1] over the whole catalogue (``scale``):

* ``"minmax"``: p = floor + (1 - floor) * (s - min) / (max - min), min and max over the row
  (a constant row maps to 1). ``floor`` > 0 keeps an item that one retriever scores lowest from
  zeroing the product; it is the only free constant.
* ``"softmax"``: p = exp(s) / sum(exp(s)): the product is a product of experts whose
  temperatures are the retrievers' own score scales (right for models trained with a softmax
  loss, arbitrary for ItemCF's similarity sums).

The fused score is kept as its logarithm, sum_t log p_t (a product of many small p underflows
float32); its order is the product's. The ``keep`` candidates with the highest fused score stay,
best first; ties go to the lower item index.

``quota`` (sessrec's option; 0, the default, is the paper's rule): each retriever's top
``quota`` items keep a place among the ``keep`` whatever their fused score, and the remaining
places go by fused score as above; the kept list is still ordered by fused score. Why: an item
that only one retriever can score - an item never seen in training, which ItemCF and the GRU put
last - has its product pulled down by the others' floor, and with the paper's rule it never
enters the candidates however high the text retriever ranks it. Every step is vectorised over a block of histories
(the C++ core takes each retriever's top-M); no Python loop touches single histories.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from .. import _core

SCALES = ("minmax", "softmax")


@dataclass
class CandidateLists:
    """Candidates of ``n`` histories, ``keep`` slots each, best fused score first.

    ``items`` int32 [n, keep] (-1: an empty slot, when the union is smaller than ``keep``);
    ``fused`` float32 [n, keep], the log of the product of the scaled scores (NaN in empty
    slots); ``scores`` float32 [retrievers, n, keep], each retriever's raw score (NaN in empty
    slots); ``full_fused`` float32 [n, num_items], the fused log score of every catalogue item
    (only when asked for)."""

    items: np.ndarray
    fused: np.ndarray
    scores: np.ndarray
    full_fused: Optional[np.ndarray] = None

    @property
    def valid(self) -> np.ndarray:
        return self.items >= 0


def log_scaled(scores: np.ndarray, scale: str, floor: float) -> np.ndarray:
    """Row-wise log of the positive mapping of ``scores`` [rows, items] (see the module)."""
    s = scores.astype(np.float64)
    if scale == "softmax":
        top = s.max(axis=1, keepdims=True)
        return s - top - np.log(np.exp(s - top).sum(axis=1, keepdims=True))
    if scale == "minmax":
        low = s.min(axis=1, keepdims=True)
        span = s.max(axis=1, keepdims=True) - low
        unit = np.divide(s - low, span, out=np.ones_like(s), where=span > 0)
        return np.log(floor + (1.0 - floor) * unit)
    raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")


def check_quota(quota: int, top_m: int, keep: int, retrievers: int) -> int:
    """``quota`` validated against ``top_m``, ``keep`` and the number of retrievers."""
    if isinstance(quota, bool) or not isinstance(quota, (int, np.integer)) or quota < 0:
        raise ValueError(f"quota must be an integer >= 0, got {quota!r}")
    if quota > top_m:
        raise ValueError(f"quota ({quota}) cannot exceed top_m ({top_m}): a retriever's "
                         f"reserved items come from its top-M")
    if quota * retrievers > keep:
        raise ValueError(f"quota ({quota}) x {retrievers} retrievers exceeds keep ({keep})")
    return int(quota)


def fuse_block(score_rows: Sequence[np.ndarray], top_m: int, keep: int, scale: str,
               floor: float, with_full: bool, quota: int = 0) -> CandidateLists:
    """:class:`CandidateLists` of one block from each retriever's full score rows."""
    rows, num_items = score_rows[0].shape
    m = min(top_m, num_items)
    fused_full = np.zeros((rows, num_items))
    tops = []
    for s in score_rows:
        fused_full += log_scaled(s, scale, floor)
        tops.append(_core.top_k_from_scores(np.ascontiguousarray(s, dtype=np.float32), m)[0])
    union = np.sort(np.concatenate(tops, axis=1), axis=1)
    union[:, 1:][union[:, 1:] == union[:, :-1]] = -1  # each item once per row
    fused = np.take_along_axis(fused_full, np.maximum(union, 0), axis=1)
    fused[union < 0] = -np.inf
    # Rows are sorted by item index, so a stable sort on -fused breaks ties by lower index.
    if quota > 0:
        reserved = np.zeros((rows, num_items), dtype=bool)
        for top in tops:
            np.put_along_axis(reserved, top[:, :quota], True, axis=1)
        reserved = np.take_along_axis(reserved, np.maximum(union, 0), axis=1) & (union >= 0)
        # Every reserved slot (at most quota x retrievers <= keep), then the best others.
        chosen = np.argsort(-np.where(reserved, np.inf, fused), axis=1, kind="stable")[:, :keep]
        chosen.sort(axis=1)  # back to item order, so the stable sort below breaks ties by index
        by_fused = np.argsort(-np.take_along_axis(fused, chosen, axis=1), axis=1, kind="stable")
        order = np.take_along_axis(chosen, by_fused, axis=1)
    else:
        order = np.argsort(-fused, axis=1, kind="stable")[:, :keep]
    items = np.take_along_axis(union, order, axis=1)
    fused = np.take_along_axis(fused, order, axis=1)
    if items.shape[1] < keep:
        pad = keep - items.shape[1]
        items = np.pad(items, ((0, 0), (0, pad)), constant_values=-1)
        fused = np.pad(fused, ((0, 0), (0, pad)), constant_values=-np.inf)
    empty = items < 0
    fused = fused.astype(np.float32)
    fused[empty] = np.nan
    safe = np.maximum(items, 0)
    raw = np.stack([np.take_along_axis(s, safe, axis=1) for s in score_rows]).astype(np.float32)
    raw[:, empty] = np.nan
    return CandidateLists(items.astype(np.int32), fused, raw,
                          fused_full.astype(np.float32) if with_full else None)


def retrieve_candidates(
    retrievers: Sequence,
    items: np.ndarray,
    begin: np.ndarray,
    end: np.ndarray,
    top_m: int,
    keep: int,
    scale: str = "minmax",
    floor: float = 1e-3,
    with_full: bool = False,
    quota: int = 0,
    block_bytes: int = 64 << 20,
    progress: bool = False,
    desc: str = "candidates",
) -> CandidateLists:
    """Candidates of the histories ``items[begin[r]:end[r]]`` from fitted ``retrievers`` (any
    :class:`sessrec.models.Recommender`), scored in blocks of about ``block_bytes`` of scores
    across all retrievers; ``quota`` reserves each retriever's top items (module docstring)."""
    from tqdm.auto import tqdm

    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    quota = check_quota(quota, top_m, keep, len(retrievers))
    n = len(begin)
    num_items = retrievers[0].num_items
    rows = max(1, block_bytes // (4 * num_items * len(retrievers)))
    parts = []
    bar = tqdm(total=n, desc=desc, unit="ex", disable=not progress, leave=False)
    for first in range(0, n, rows):
        b, e = begin[first:first + rows], end[first:first + rows]
        score_rows = [np.asarray(r._score_arrays(items, b, e), dtype=np.float32)
                      for r in retrievers]
        parts.append(fuse_block(score_rows, top_m, keep, scale, floor, with_full, quota))
        bar.update(len(b))
    bar.close()
    if not parts:
        empty = np.zeros((0, keep), dtype=np.int32)
        return CandidateLists(empty, empty.astype(np.float32),
                              np.zeros((len(retrievers), 0, keep), dtype=np.float32),
                              np.zeros((0, num_items), dtype=np.float32) if with_full else None)
    return CandidateLists(
        np.concatenate([p.items for p in parts]),
        np.concatenate([p.fused for p in parts]),
        np.concatenate([p.scores for p in parts], axis=1),
        np.concatenate([p.full_fused for p in parts]) if with_full else None,
    )
