"""Evaluation tables against hand-computed cases, through the Python-scored path too."""

import numpy as np
import pandas as pd
import pytest

import sessrec as sr
from sessrec import _core
from sessrec.dataset import SessionSet
from sessrec.models.base import Recommender


class FixedScores(Recommender):
    """Scores item i as table[i] for every session (no C++ scorer: the Python block path)."""

    name = "fixed-scores-test"

    def __init__(self, table):
        super().__init__()
        self.table = np.asarray(table, dtype=np.float32)

    def _fit(self, train):
        pass

    def _score_arrays(self, items, begin, end):
        return np.tile(self.table, (len(end), 1))


def tiny_set(targets_counts):
    """Catalogue of 6 items; sessions [0, t] for each target t; given training counts."""
    catalog = _core.Catalog([f"item{i}" for i in range(6)])
    targets = [t for t, _ in targets_counts]
    items = np.array([x for t in targets for x in (0, t)], dtype=np.int32)
    offsets = np.arange(0, 2 * len(targets) + 1, 2, dtype=np.int64)
    store = _core.SessionStore(offsets, items, num_items=6)
    counts = np.array([c for _, c in targets_counts][:6] + [0] * (6 - len(targets_counts)))
    return store, catalog, counts


def test_hand_computed_metrics_and_breakdowns():
    catalog = _core.Catalog([f"item{i}" for i in range(6)])
    # Scores: item5 > item4 > item3 > item2 > item1 > item0.
    model = FixedScores([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    # Three test sessions with targets 5 (rank 1), 3 (rank 3) and 1 (rank 5).
    store = _core.SessionStore(
        np.array([0, 2, 4, 6]), np.array([0, 5, 0, 3, 0, 1], dtype=np.int32), num_items=6
    )
    counts = np.array([100, 0, 5, 40, 7, 200])  # item1 is cold, item3 in (30,60], item5 >150
    test = SessionSet(store, catalog, "test", counts, dataset_name="tiny")
    model.catalog = catalog
    table = sr.evaluate(model, test, k=(1, 3), progress=False)
    overall = table.loc[("overall", "all")]
    assert overall["examples"] == 3
    assert overall["Hits@1"] == pytest.approx(1 / 3)
    assert overall["Hits@3"] == pytest.approx(2 / 3)
    assert overall["NDCG@3"] == pytest.approx((1 + 1 / np.log2(4)) / 3)
    assert overall["MRR@3"] == pytest.approx((1 + 1 / 3) / 3)
    assert overall["Precision@3"] == pytest.approx((1 / 3 + 1 / 3) / 3)
    assert overall["Recall@3"] == pytest.approx(2 / 3)
    assert table.loc[("cold", "cold"), "examples"] == 1
    assert table.loc[("cold", "cold"), "Hits@3"] == 0.0
    assert table.loc[("popularity", "[0,30]"), "examples"] == 1  # item1, count 0
    assert table.loc[("popularity", "(30,60]"), "Hits@3"] == 1.0  # item3 at rank 3
    assert table.loc[("popularity", ">150"), "MRR@1"] == 1.0
    assert np.isnan(table.loc[("popularity", "(60,90]"), "Hits@1"])  # empty bucket
    assert table.attrs["ties"] == "pessimistic"


def test_tie_policies_and_history_exclusion():
    catalog = _core.Catalog([f"item{i}" for i in range(4)])
    model = FixedScores([0.9, 0.5, 0.5, 0.5])
    model.catalog = catalog
    store = _core.SessionStore(np.array([0, 2]), np.array([0, 2], dtype=np.int32), num_items=4)
    test = SessionSet(store, catalog, "test", np.ones(4, dtype=np.int64))
    assert model.rank(test, progress=False)[0] == 4  # pessimistic: items 0, 1, 3 above
    assert model.rank(test, ties="optimistic", progress=False)[0] == 2
    assert model.rank(test, ties="average", progress=False)[0] == 3
    # Excluding history removes item 0 (the history) from the competition.
    assert model.rank(test, exclude_history=True, progress=False)[0] == 3
    with pytest.raises(ValueError, match="ties"):
        model.rank(test, ties="random", progress=False)


def test_evaluate_rejects_bad_k_and_empty_parts(small_split):
    train, _, test = small_split
    model = sr.models.POP().fit(train)
    with pytest.raises(ValueError):
        sr.evaluate(model, test, k=(0,), progress=False)
    empty = SessionSet(
        _core.SessionStore(np.array([0, 1]), np.array([0], dtype=np.int32), num_items=train.num_items),
        train.catalog, "test", train.train_counts,
    )
    with pytest.raises(ValueError, match="no examples"):
        sr.evaluate(model, empty, progress=False)


def test_compare_and_long_tail_plot(small_split, tmp_path):
    train, _, test = small_split
    models = {"POP": sr.models.POP().fit(train), "ItemCF": sr.models.ItemCF().fit(train)}
    table = sr.compare(models, test, k=(20,), progress=False)
    assert set(table.index.get_level_values("model")) == {"POP", "ItemCF"}
    fig = sr.plot_long_tail(table, metric="Hits@20", path=tmp_path / "tail.png")
    assert (tmp_path / "tail.png").stat().st_size > 1000
    filled = (table.xs("popularity", level="breakdown")["examples"] > 0).sum() // 2
    assert len(fig.axes[0].patches) == 2 * filled  # one bar per model and non-empty bucket
    assert len(fig.axes[0].get_xticklabels()) == 6  # [0,30] ... >150
    with pytest.raises(ValueError, match="no column"):
        sr.plot_long_tail(table, metric="Hits@5")


def test_cold_targets_counted_from_training_only(small_split):
    train, _, test = small_split
    counts = np.asarray(test.train_counts)
    targets = test.target_items()
    assert (counts == np.asarray(train.sessions.item_counts(train.num_items))).all()
    table = sr.evaluate(sr.models.POP().fit(train), test, k=(20,), progress=False)
    assert table.loc[("cold", "cold"), "examples"] == int((counts[targets] == 0).sum()) > 0
