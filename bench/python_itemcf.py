"""Plain Python/NumPy ItemCF: the reference that bench/run_itemcf_bench.py times sessrec against.

It is written the way a KDD Cup 2023 notebook writes ItemCF, with no attempt at speed beyond
that: co-occurrence weights accumulate in a dict of defaultdicts in a Python loop over every
ordered pair of positions of every training session, then each row is normalised and its top-n
neighbours are kept with ``heapq.nlargest``.

Definition (the one cpp/sessrec/retrieval/item_cf.h documents). For every training session and
every ordered pair of positions (a, b), a != b, with x at a and y at b and y != x::

    w(x, y) += 1 / (|b - a| + 1)^2 * (1 if b > a else 1/3) * (1.8 if b is the last position else 1)
    sim(x, y) = w(x, y) / (count(x)^0.8 * count(y)^0.15)

count being the number of occurrences of an item in training. The ``top_n`` neighbours of each x
are kept, ties going to the smaller item index. A history h_1..h_T scores y as
``sum_t 0.7^(T - t) * sim(h_t, y)``; items left with score 0 get the popularity fallback
``-(1 - count(y) / (max_count + 1))``. Ranks are pessimistic: 1 + #items scoring above the target
+ #other items scoring the same.

Everything is float64 (Python floats), as in a notebook.
"""

from __future__ import annotations

import heapq
from collections import defaultdict

import numpy as np

DISTANCE_OFFSET = 1.0
DISTANCE_POWER = 2.0
FORWARD_WEIGHT = 1.0
BACKWARD_WEIGHT = 1.0 / 3.0
LAST_ITEM_WEIGHT = 1.8
SOURCE_NORM_POWER = 0.8
TARGET_NORM_POWER = 0.15
RECENCY_DECAY = 0.7


class PythonItemCF:
    """ItemCF fitted with Python dictionaries; the neighbour lists end up as CSR NumPy arrays
    (``offsets``, ``indices``, ``similarities``, best first) like sessrec's fitted state."""

    def __init__(self, num_items: int, top_n: int = 100):
        self.num_items = num_items
        self.top_n = top_n
        self.counts = np.zeros(num_items, dtype=np.int64)
        self.offsets = np.zeros(num_items + 1, dtype=np.int64)
        self.indices = np.zeros(0, dtype=np.int32)
        self.similarities = np.zeros(0, dtype=np.float64)

    def fit(self, offsets: np.ndarray, items: np.ndarray) -> "PythonItemCF":
        """Build the neighbour lists from training sessions given as CSR arrays."""
        sessions = [items[offsets[s] : offsets[s + 1]].tolist() for s in range(len(offsets) - 1)]
        item_count = defaultdict(int)
        co_weight = defaultdict(lambda: defaultdict(float))
        for session in sessions:
            last = len(session) - 1
            for a, x in enumerate(session):
                item_count[x] += 1
                row = co_weight[x]
                for b, y in enumerate(session):
                    if y == x:
                        continue
                    weight = 1.0 / (abs(b - a) + DISTANCE_OFFSET) ** DISTANCE_POWER
                    weight *= FORWARD_WEIGHT if b > a else BACKWARD_WEIGHT
                    if b == last:
                        weight *= LAST_ITEM_WEIGHT
                    row[y] += weight

        neighbours = {}
        for x, row in co_weight.items():
            source_norm = item_count[x] ** SOURCE_NORM_POWER
            sims = (
                (y, w / (source_norm * item_count[y] ** TARGET_NORM_POWER)) for y, w in row.items()
            )
            neighbours[x] = heapq.nlargest(self.top_n, sims, key=lambda pair: (pair[1], -pair[0]))

        for x, n in item_count.items():
            self.counts[x] = n
        lengths = np.zeros(self.num_items, dtype=np.int64)
        for x, kept in neighbours.items():
            lengths[x] = len(kept)
        self.offsets = np.concatenate([[0], np.cumsum(lengths)])
        self.indices = np.empty(self.offsets[-1], dtype=np.int32)
        self.similarities = np.empty(self.offsets[-1], dtype=np.float64)
        for x, kept in neighbours.items():
            lo, hi = self.offsets[x], self.offsets[x + 1]
            self.indices[lo:hi] = [y for y, _ in kept]
            self.similarities[lo:hi] = [s for _, s in kept]
        return self

    def score(self, items: np.ndarray, begin: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Dense (len(begin), num_items) float64 scores of the histories items[begin:end]."""
        scores = np.zeros((len(begin), self.num_items))
        for r, (b, e) in enumerate(zip(begin, end)):
            row = scores[r]
            weight = 1.0
            for x in items[b:e][::-1]:
                lo, hi = self.offsets[x], self.offsets[x + 1]
                row[self.indices[lo:hi]] += weight * self.similarities[lo:hi]
                weight *= RECENCY_DECAY
        fallback = -(1.0 - self.counts / (self.counts.max() + 1.0))
        return np.where(scores == 0.0, fallback, scores)


def history_examples(offsets: np.ndarray, max_history: int) -> tuple[np.ndarray, np.ndarray]:
    """Every position t >= 1 of every session as an example: history items[begin:end], target
    items[end], the history cut to the last ``max_history`` items (0 = no limit)."""
    lengths = np.diff(offsets)
    end = np.concatenate([np.arange(lo + 1, hi) for lo, hi in zip(offsets[:-1], offsets[1:])])
    start = np.repeat(offsets[:-1], np.maximum(lengths - 1, 0))
    begin = np.maximum(start, end - max_history) if max_history > 0 else start
    return begin, end


def pessimistic_ranks(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """1 + #items scoring above the target + #other items scoring the same, per row."""
    target_scores = scores[np.arange(len(targets)), targets][:, None]
    greater = (scores > target_scores).sum(axis=1)
    equal = (scores == target_scores).sum(axis=1) - 1
    return 1 + greater + equal


def rank_bounds(scores: np.ndarray, targets: np.ndarray, rtol: float) -> np.ndarray:
    """Rows (best, worst): the ranks a target can get when scores within ``rtol`` (relative to
    the target's score) of it may fall either side; a float32 implementation lands in between."""
    target_scores = scores[np.arange(len(targets)), targets][:, None]
    slack = rtol * np.abs(target_scores)
    surely_above = (scores > target_scores + slack).sum(axis=1)
    maybe_above = (scores >= target_scores - slack).sum(axis=1) - 1
    return np.stack([1 + surely_above, 1 + maybe_above])
