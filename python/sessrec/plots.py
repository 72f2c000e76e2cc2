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


def plot_alterrec_curves(
    model_or_history,
    path: Optional[str | Path] = None,
    metric: Optional[str] = None,
    ax=None,
    title: Optional[str] = None,
):
    """Per-epoch validation ``metric`` of "ID in AlterRec", "text in AlterRec" and the fused
    blend (the curves of the AlterRec paper's Figure 5, "Test performance across each epoch
    during the alternative training", drawn here on the validation part), with the epochs of each network's training shaded and
    the hard-negative phase marked. Takes a fitted :class:`sessrec.models.AlterRec` (fitted with
    ``valid``) or its ``history_``. Returns the figure; writes it to ``path`` when given."""
    import matplotlib

    if path is not None and ax is None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    history = getattr(model_or_history, "history_", model_or_history)
    if history is None or len(history) == 0:
        raise ValueError("no training history: fit the model with a validation part first")
    columns = [c for c in history.columns if c.startswith("valid_fused_")]
    if not columns:
        raise ValueError("the history has no validation metrics: fit with valid=...")
    metric = metric or columns[0][len("valid_fused_"):]
    if f"valid_fused_{metric}" not in history:
        raise ValueError(f"the history has no validation {metric!r}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 4))
    else:
        fig = ax.figure
    epochs = history["epoch"].to_numpy()
    styles = {"id": ("ID in AlterRec", "tab:blue"), "text": ("text in AlterRec", "tab:orange"),
              "fused": ("AlterRec (fused)", "tab:green")}
    for name, (label, colour) in styles.items():
        ax.plot(epochs, history[f"valid_{name}_{metric}"], marker="o", label=label, color=colour)
    for epoch, network, negatives in zip(epochs, history["network"], history["negatives"]):
        ax.axvspan(epoch - 0.5, epoch + 0.5, color=styles[network][1], alpha=0.08,
                   hatch="//" if negatives == "hard" else None, linewidth=0)
    ax.set_xlabel("epoch (shading: network in training; hatched: hard negatives)")
    ax.set_ylabel(f"validation {metric}")
    ax.set_title(title or "AlterRec: ID, text and fused on the validation part")
    ax.legend()
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def plot_feature_importances(
    model_or_importances,
    top: int = 20,
    kind: str = "gain",
    path: Optional[str | Path] = None,
    ax=None,
    title: Optional[str] = None,
):
    """Horizontal bars of the ``top`` largest rerank feature importances, largest at the top.
    Takes a fitted :class:`sessrec.models.FusionRerank` (its ranker's ``kind`` importances:
    gain, weight, cover, total_gain, total_cover) or a pandas Series of importances. Returns
    the figure; writes it to ``path`` when given."""
    import matplotlib

    if path is not None and ax is None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if isinstance(model_or_importances, pd.Series):
        importances = model_or_importances.sort_values(ascending=False)
    else:
        importances = model_or_importances.feature_importances(kind)
    if len(importances) == 0:
        raise ValueError("no feature importances to plot")
    shown = importances.head(top)[::-1]
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 1.2 + 0.3 * len(shown)))
    else:
        fig = ax.figure
    ax.barh(shown.index, shown.to_numpy(), color="tab:blue")
    ax.set_xlabel(importances.name or f"importance ({kind})")
    ax.set_title(title or f"Rerank feature importances (top {len(shown)} of {len(importances)})")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
