"""Full-ranking evaluation with long-tail and cold-start breakdowns."""

from __future__ import annotations

from typing import Mapping, Optional, Sequence, Union

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


class EvaluationTable(pd.DataFrame):
    """What :func:`evaluate` and :func:`compare` return: the pandas table (one row per
    breakdown and group, one column per metric@K; :func:`compare` adds an outer ``model``
    level), with two accessors so that nobody has to spell the row's index::

        table.metric("NDCG@20")                      # overall, a float (a Series by model)
        table.metric("hits@20", group="cold")        # the cold targets
        table.summary()                              # the overall row as a Series

    Every DataFrame operation works on it as on any DataFrame."""

    @property
    def _constructor(self):
        return EvaluationTable

    def _row(self, breakdown: Optional[str], group: str):
        if breakdown is None:
            breakdown = {"all": "overall", "cold": "cold", "warm": "cold"}.get(group, "popularity")
        if "model" in (self.index.names or []):
            rows = self.xs((breakdown, group), level=("breakdown", "group"), drop_level=True)
        else:
            rows = self.loc[[(breakdown, group)]] if (breakdown, group) in self.index else None
        if rows is None or len(rows) == 0:
            groups = sorted({(b, g) for b, g in zip(self.index.get_level_values("breakdown"),
                                                     self.index.get_level_values("group"))})
            raise KeyError(f"no row ({breakdown!r}, {group!r}) in this table; it has {groups}")
        return rows

    def metric(self, name: str, group: str = "all",
               breakdown: Optional[str] = None) -> Union[float, pd.Series]:
        """One metric (``"NDCG@20"``, any case) of one group of targets (``"all"``, ``"cold"``,
        ``"warm"`` or a popularity bucket such as ``"[0,30]"``): a float, or for a
        :func:`compare` table a Series indexed by model."""
        column = metric_name(name)
        if column not in self.columns:
            known = [c for c in self.columns if "@" in str(c)]
            raise KeyError(f"no metric {name!r} in this table; it has {', '.join(known)}")
        values = self._row(breakdown, group)[column]
        if "model" in (self.index.names or []):
            return pd.Series(values.to_numpy(dtype=float), index=values.index, name=column)
        return float(values.iloc[0])

    def summary(self, group: str = "all", breakdown: Optional[str] = None):
        """Every metric of one group (default: all targets) as a Series (a DataFrame with a
        row per model for a :func:`compare` table), ``examples`` first."""
        rows = pd.DataFrame(self._row(breakdown, group))
        if "model" in (self.index.names or []):
            return rows
        out = rows.iloc[0]
        out.name = self.attrs.get("model", out.name)
        return pd.Series(out)


def metric_name(name: str) -> str:
    """The table's column of a metric given in any case: "ndcg@20" -> "NDCG@20"."""
    metric, _, k = str(name).partition("@")
    for known in METRICS:
        if known.lower() == metric.lower():
            return f"{known}@{k}"
    return str(name)


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
    return EvaluationTable(pd.DataFrame(rows).set_index(["breakdown", "group"]))


def evaluate(
    model,
    sset: SessionSet,
    k: Sequence[int] = (10, 20, 100),
    metrics: Sequence[str] = METRICS,
    ties: str = "pessimistic",
    exclude_history: bool = False,
    popularity_edges: Sequence[int] = POPULARITY_EDGES,
    progress: Optional[bool] = None,
) -> EvaluationTable:
    """Rank every target of ``sset`` over the whole catalogue and report metric@K.

    The table has one row per group: ``("overall", "all")``; ``("popularity", bucket)`` by the
    target's number of occurrences in the training part (buckets from ``popularity_edges``,
    the first closed, e.g. [0,30], (30,60], ..., >150); and ``("cold", "cold"/"warm")`` for
    targets never seen / seen in training. Ties count against the target unless ``ties`` says
    otherwise ("optimistic", "average"); history items compete unless ``exclude_history``.
    The result is a DataFrame with ``metric()`` and ``summary()`` accessors
    (:class:`EvaluationTable`); ``progress`` None follows :func:`sessrec.set_progress`.
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


def stack_tables(tables: Mapping[str, pd.DataFrame]) -> EvaluationTable:
    """Evaluation tables of several models as one, with an outer ``model`` level."""
    return EvaluationTable(pd.concat(dict(tables), names=["model"]))


def compare(
    models: Mapping[str, object], sset: SessionSet, **kwargs
) -> pd.DataFrame:
    """:func:`evaluate` for several fitted models; the table gains an outer ``model`` level."""
    tables = {name: evaluate(m, sset, **kwargs) for name, m in models.items()}
    out = stack_tables(tables)
    out.attrs.update(dataset=sset.dataset_name, part=sset.role)
    return out
