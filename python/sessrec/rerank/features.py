"""The rerank features of each (session, candidate) pair (Zhang et al. 2023, §2.2.1-2.2.3).

``features="retriever"`` (the paper's "Catboost Fusion" row of Table 3): every retriever's raw
score and its rank among the session's candidates (1 = best), the fused log score and its rank.

``features="all"`` (the "++Feature Engineering" row) adds:

* hot (§2.2.1, "item view frequencies [...] the sort orders feature"): the candidate's training
  count, its count in the most recent ``recent_share`` of the training period (by session start
  time; the last share of sessions when the data has no times), its popularity rank in the
  catalogue (1 = most frequent, ties share the best rank), and the sort orders: the rank of the
  candidate among the session's candidates by training count and by recent count;
* session (§2.2.2, "the mean popularity and average price of all items within a session"):
  length, mean training count of its items, mean/min/max price (NaN, XGBoost's missing value,
  where the catalogue has no price), number of distinct items, repeat share (1 - distinct /
  length); and per candidate its price, its price over the session's mean price and how often it
  occurs in the session;
* graph (§2.2.3): PageRank, betweenness, Katz and degree centrality of the candidate in the
  ItemCF co-occurrence graph (:mod:`.graph`), and the mean, count, max and std of the edge
  weights between it and the session's distinct items (C++: ``CooccurrenceGraph.
  edge_weight_stats``).

Everything is vectorised over all pairs; the per-item columns come from an :class:`ItemTable`
built once per training part.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from .. import _core
from .candidates import CandidateLists
from .graph import CENTRALITIES, graph_centralities

FEATURE_SETS = ("retriever", "all")
ITEM_COLUMNS = ("train_count", "recent_count", "popularity_rank", "price") + CENTRALITIES
SESSION_COLUMNS = ("session_length", "session_mean_popularity", "session_mean_price",
                   "session_min_price", "session_max_price", "session_distinct_items",
                   "session_repeat_share")
EDGE_COLUMNS = ("edge_weight_mean", "edge_weight_count", "edge_weight_max", "edge_weight_std")


def feature_names(retriever_labels: Sequence[str], features: str) -> list[str]:
    """Column names of :func:`candidate_features`, in order."""
    if features not in FEATURE_SETS:
        raise ValueError(f"features must be one of {FEATURE_SETS}, got {features!r}")
    names = [f"{label}_{kind}" for label in retriever_labels for kind in ("score", "rank")]
    names += ["fused_score", "fused_rank"]
    if features == "all":
        names += ["train_count", "recent_count", "popularity_rank", "train_count_order",
                  "recent_count_order"]
        names += list(SESSION_COLUMNS)
        names += ["candidate_price", "price_ratio", "occurrences_in_session"]
        names += list(CENTRALITIES) + list(EDGE_COLUMNS)
    return names


@dataclass
class ItemTable:
    """Per-item columns (``columns``: name -> float64 array over the catalogue) and the
    co-occurrence graph (``_core.CooccurrenceGraph``) of one training part."""

    columns: dict
    graph: object

    @classmethod
    def build(cls, train, graph, recent_share: float = 0.1, **centrality_options) -> "ItemTable":
        """From a training :class:`sessrec.SessionSet` and its ItemCF co-occurrence graph."""
        store, n = train.sessions, train.num_items
        counts = store.item_counts(n).astype(np.float64)
        sessions = store.num_sessions
        if store.times is not None:
            start = np.asarray(store.session_start_times(), dtype=np.float64)
            since = start.max() - recent_share * (start.max() - start.min())
            recent = np.flatnonzero(start >= since)
        else:
            recent = np.arange(sessions - max(1, int(round(recent_share * sessions))), sessions)
        recent_counts = store.subset(recent.astype(np.int64)).item_counts(n).astype(np.float64)
        catalog = train.catalog
        price = (np.asarray(catalog.numeric("price"), dtype=np.float64)
                 if "price" in catalog.numeric_fields() else np.full(n, np.nan))
        columns = {
            "train_count": counts,
            "recent_count": recent_counts,
            "popularity_rank": pd.Series(counts).rank(method="min", ascending=False).to_numpy(),
            "price": price,
        }
        columns.update(graph_centralities(graph, **centrality_options))
        return cls(columns, graph)

    def arrays(self) -> dict[str, np.ndarray]:
        out = {f"columns/{k}": np.asarray(v, dtype=np.float64) for k, v in self.columns.items()}
        out.update({"graph/offsets": np.asarray(self.graph.offsets),
                    "graph/neighbours": np.asarray(self.graph.neighbours),
                    "graph/weights": np.asarray(self.graph.weights)})
        return out

    @classmethod
    def from_arrays(cls, arrays: dict, num_items: int) -> "ItemTable":
        columns = {name: arrays[f"columns/{name}"] for name in ITEM_COLUMNS}
        for name, values in columns.items():
            if len(values) != num_items:
                raise ValueError(f"item column {name!r} has {len(values)} rows, not {num_items}")
        graph = _core.CooccurrenceGraph(num_items, arrays["graph/offsets"],
                                        arrays["graph/neighbours"], arrays["graph/weights"])
        return cls(columns, graph)


def rank_within_rows(values: np.ndarray) -> np.ndarray:
    """1-based rank of each entry in its row, highest first (NaN last; ties by column)."""
    filled = np.where(np.isnan(values), -np.inf, values)
    order = np.argsort(-filled, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, values.shape[1] + 1)[None, :], axis=1)
    return ranks.astype(np.float32)


def history_events(items, begin, end):
    """The flattened history items and the row of each (rows in order, contiguous)."""
    lengths = (np.asarray(end) - np.asarray(begin)).astype(np.int64)
    first = np.cumsum(lengths) - lengths
    position = np.arange(lengths.sum()) - np.repeat(first, lengths) + np.repeat(begin, lengths)
    return np.asarray(items)[position], np.repeat(np.arange(len(lengths)), lengths), first, lengths


def candidate_features(
    candidates: CandidateLists,
    items: np.ndarray,
    begin: np.ndarray,
    end: np.ndarray,
    table: ItemTable,
    retriever_labels: Sequence[str],
    features: str,
) -> np.ndarray:
    """float32 [histories * keep, len(feature_names(...))]: one row per candidate slot, in
    slot order (empty slots included; select ``candidates.valid.ravel()``)."""
    cand = candidates.items
    n, keep = cand.shape
    valid = cand >= 0
    safe = np.maximum(cand, 0)
    cols = []
    for r in range(len(retriever_labels)):
        cols += [candidates.scores[r], rank_within_rows(candidates.scores[r])]
    cols += [candidates.fused, rank_within_rows(candidates.fused)]
    if features == "all":
        c = table.columns
        train_count, recent_count = c["train_count"][safe], c["recent_count"][safe]
        train_count[~valid], recent_count[~valid] = np.nan, np.nan
        cols += [train_count, recent_count, c["popularity_rank"][safe],
                 rank_within_rows(train_count), rank_within_rows(recent_count)]

        hist, row, first, lengths = history_events(items, begin, end)
        num_items = len(c["train_count"])
        keys, key_counts = np.unique(row.astype(np.int64) * num_items + hist, return_counts=True)
        distinct = np.bincount(keys // num_items, minlength=n).astype(np.float64)
        price_ev = c["price"][hist]
        priced = ~np.isnan(price_ev)
        price_sum = np.bincount(row, weights=np.where(priced, price_ev, 0.0), minlength=n)
        price_n = np.bincount(row, weights=priced.astype(np.float64), minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_price = price_sum / price_n
        session = [
            lengths.astype(np.float64),
            np.bincount(row, weights=c["train_count"][hist], minlength=n) / lengths,
            mean_price,
            np.fmin.reduceat(price_ev, first) if n else np.zeros(0),
            np.fmax.reduceat(price_ev, first) if n else np.zeros(0),
            distinct,
            1.0 - distinct / lengths,
        ]
        cols += [np.broadcast_to(s[:, None], (n, keep)) for s in session]

        cand_price = c["price"][safe]
        pair = np.arange(n, dtype=np.int64)[:, None] * num_items + safe
        at = np.minimum(np.searchsorted(keys, pair), max(len(keys) - 1, 0))
        occurrences = np.where(keys[at] == pair, key_counts[at], 0) if len(keys) else \
            np.zeros_like(pair)
        with np.errstate(invalid="ignore", divide="ignore"):
            cols += [cand_price, cand_price / mean_price[:, None], occurrences]
        cols += [c[name][safe] for name in CENTRALITIES]
        edges = table.graph.edge_weight_stats(np.asarray(items, dtype=np.int32),
                                              np.asarray(begin, dtype=np.int64),
                                              np.asarray(end, dtype=np.int64),
                                              np.ascontiguousarray(cand, dtype=np.int32))
        cols += [edges[:, :, s] for s in range(edges.shape[2])]
    matrix = np.stack([np.asarray(col, dtype=np.float32) for col in cols], axis=-1)
    return matrix.reshape(n * keep, len(cols))
