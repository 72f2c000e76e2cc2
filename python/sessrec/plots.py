"""Plots of evaluation tables."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pandas as pd


def plot_long_tail(
    results: pd.DataFrame,
    metric: str = "Hits@20",
    path: Optional[str | Path] = None,
    ax=None,
    title: Optional[str] = None,
):
    """Bar chart of ``metric`` per target-popularity bucket (AlterRec's long-tail figure), one
    bar per model, with the number of test examples under each bucket. ``results`` is a table
    from :func:`sessrec.evaluate` or :func:`sessrec.compare`. Returns the figure; writes it to
    ``path`` when given."""
    import matplotlib

    if path is not None and ax is None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if metric not in results.columns:
        raise ValueError(f"no column {metric!r} in the results; columns are {list(results.columns)}")
    table = results if "model" in (results.index.names or []) else pd.concat(
        {results.attrs.get("model", "model"): results}, names=["model"]
    )
    pop = table.xs("popularity", level="breakdown")
    values = pop[metric].unstack("model")
    labels = list(dict.fromkeys(pop.index.get_level_values("group")))
    values = values.reindex(labels)
    counts = pop["examples"].groupby(level="group").first().reindex(labels)
    if ax is None:
        fig, ax = plt.subplots(figsize=(1.6 + 1.2 * len(labels), 4))
    else:
        fig = ax.figure
    values.plot.bar(ax=ax, width=0.8)
    ax.set_xticklabels([f"{l}\n(n={int(c)})" for l, c in zip(labels, counts)], rotation=0)
    ax.set_xlabel("target popularity in training (occurrences)")
    ax.set_ylabel(metric)
    ax.set_title(title or f"{metric} by target popularity ({table.attrs.get('dataset', '')})")
    ax.legend(title="model")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
