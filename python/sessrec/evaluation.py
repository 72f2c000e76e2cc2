"""Full-ranking evaluation with long-tail and cold-start breakdowns."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from . import _core
from .dataset import SessionSet

METRICS = ("Hits", "NDCG", "MRR", "Precision", "Recall")
POPULARITY_EDGES = (0, 30, 60, 90, 120, 150)


def popularity_labels(edges: Sequence[int]) -> list[str]:
    labels = [f"[{edges[0]},{edges[1]}]"]
    labels += [f"({a},{b}]" for a, b in zip(edges[1:-1], edges[2:])]
    labels.append(f">{edges[-1]}")
    return labels


def popularity_bucket(counts: np.ndarray, edges: Sequence[int]) -> np.ndarray:
    """Bucket index of each training count: [e0,e1], (e1,e2], ..., >e_last."""
    return np.searchsorted(np.asarray(edges[1:]), counts, side="left")


def metric_table(
    ranks: np.ndarray,
    groups: Mapping[tuple[str, str], np.ndarray],
    k: Sequence[int],
    metrics: Sequence[str] = METRICS,
) -> pd.DataFrame:
    """Mean metric@K per group of examples (boolean masks), one row per group."""
    values = {
        f"{m}@{kk}": _core.rank_metric_values(m, ranks, int(kk)) for kk in k for m in metrics
    }
    rows = []
    for (breakdown, group), mask in groups.items():
        row = {"breakdown": breakdown, "group": group, "examples": int(mask.sum())}
        for name, v in values.items():
            row[name] = float(v[mask].mean()) if mask.any() else np.nan
        rows.append(row)
    return pd.DataFrame(rows).set_index(["breakdown", "group"])


def evaluate(
    model,
    sset: SessionSet,
    k: Sequence[int] = (10, 20, 100),
    metrics: Sequence[str] = METRICS,
    ties: str = "pessimistic",
    exclude_history: bool = False,
    popularity_edges: Sequence[int] = POPULARITY_EDGES,
    progress: bool = True,
) -> pd.DataFrame:
    """Rank every target of ``sset`` over the whole catalogue and report metric@K.

    The table has one row per group: ``("overall", "all")``; ``("popularity", bucket)`` by the
    target's number of occurrences in the training part (buckets from ``popularity_edges``,
    the first closed, e.g. [0,30], (30,60], ..., >150); and ``("cold", "cold"/"warm")`` for
    targets never seen / seen in training. Ties count against the target unless ``ties`` says
    otherwise ("optimistic", "average"); history items compete unless ``exclude_history``.
    """
    from .models.base import check_k

    ks = list(k) if isinstance(k, (tuple, list, np.ndarray)) else [k]
    if not ks:
        raise ValueError("k must be positive integers, got none")
    k = tuple(check_k(kk) for kk in ks)  # TypeError for 2.5, "5" or True
    if sset.num_examples() == 0:
        raise ValueError(
            f"the {sset.role} part of {sset.dataset_name!r} has no examples "
            "(no session with two or more events)"
        )
    ranks = model.rank(sset, ties=ties, exclude_history=exclude_history, progress=progress)
    counts = np.asarray(sset.train_counts)[sset.target_items()]
    groups = {("overall", "all"): np.ones(len(ranks), dtype=bool)}
    bucket = popularity_bucket(counts, popularity_edges)
    for b, label in enumerate(popularity_labels(popularity_edges)):
        groups[("popularity", label)] = bucket == b
    groups[("cold", "cold")] = counts == 0
    groups[("cold", "warm")] = counts > 0
    table = metric_table(ranks, groups, k, metrics)
    table.attrs.update(
        model=getattr(model, "name", type(model).__name__),
        dataset=sset.dataset_name,
        part=sset.role,
        ties=ties,
        exclude_history=exclude_history,
    )
    return table


def compare(
    models: Mapping[str, object], sset: SessionSet, **kwargs
) -> pd.DataFrame:
    """:func:`evaluate` for several fitted models; the table gains an outer ``model`` level."""
    tables = {name: evaluate(m, sset, **kwargs) for name, m in models.items()}
    out = pd.concat(tables, names=["model"])
    out.attrs.update(dataset=sset.dataset_name, part=sset.role)
    return out
