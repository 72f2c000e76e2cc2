"""sr.classification_metrics / sr.regression_metrics: hand-worked cases, a NumPy reference on
random data (and scikit-learn when it is installed), and the input errors."""

import math

import numpy as np
import pandas as pd
import pytest

import sessrec as sr

LABELS = [1, 0, 1, 1, 0, 0, 1, 0]
SCORES = [0.9, 0.8, 0.7, 0.5, 0.5, 0.2, 0.1, 0.3]


def test_hand_computed_classification():
    m = sr.classification_metrics(LABELS, SCORES)
    assert isinstance(m, pd.Series)
    assert list(m.index) == ["accuracy", "auroc", "f1", "cohen_kappa"]
    # score >= 0.5 predicts 1: TP 3 (events 0, 2, 3), FP 2 (1, 4), FN 1 (6), TN 2 (5, 7).
    assert m["accuracy"] == pytest.approx(5 / 8)  # (3 + 2) / 8
    assert m["f1"] == pytest.approx(6 / 9)  # 2*3 / (2*3 + 2 + 1)
    # p_o = 5/8, p_e = (4*5 + 4*3)/64 = 1/2, kappa = (5/8 - 1/2) / (1/2) = 1/4
    assert m["cohen_kappa"] == pytest.approx(0.25)
    # positive ranks 1, 4.5 (tied 0.5s share ranks 4 and 5), 6, 8: U = 19.5 - 10 = 9.5 of 16
    assert m["auroc"] == pytest.approx(9.5 / 16)
    # A higher threshold moves event 3 to FN and event 4 to TN: TP 2, FP 1, FN 2, TN 3.
    high = sr.classification_metrics(LABELS, SCORES, threshold=0.6)
    assert high["accuracy"] == pytest.approx(5 / 8)
    assert high["f1"] == pytest.approx(4 / 7)  # 2*2 / (2*2 + 1 + 2)
    assert high["auroc"] == m["auroc"]  # the AUROC does not depend on the threshold


def test_hand_computed_regression():
    m = sr.regression_metrics([3, 0, 2, 7], [2.5, 0, 2, 8])
    assert list(m.index) == ["mae", "mse", "msle", "r2"]
    assert m["mae"] == pytest.approx(1.5 / 4)  # |0.5| + 0 + 0 + |-1|
    assert m["mse"] == pytest.approx(1.25 / 4)  # 0.25 + 0 + 0 + 1
    assert m["msle"] == pytest.approx((math.log(4 / 3.5) ** 2 + math.log(8 / 9) ** 2) / 4)
    # mean 3: SS_tot = 0 + 9 + 1 + 16 = 26, SS_res = 1.25
    assert m["r2"] == pytest.approx(1 - 1.25 / 26)


def test_r2_of_constant_target():
    assert sr.regression_metrics([2, 2, 2], [2, 2, 2])["r2"] == 1.0
    assert sr.regression_metrics([2, 2, 2], [2, 2, 3])["r2"] == 0.0


def reference_auroc(y, s):
    """Mann-Whitney over all positive/negative pairs, ties one half (O(P N), small n only)."""
    pos, neg = s[y == 1], s[y == 0]
    diff = pos[:, None] - neg[None, :]
    return ((diff > 0).sum() + 0.5 * (diff == 0).sum()) / (len(pos) * len(neg))


def reference_classification(y, s, threshold):
    pred = (s >= threshold).astype(float)
    tp = np.sum((pred == 1) & (y == 1))
    fp = np.sum((pred == 1) & (y == 0))
    fn = np.sum((pred == 0) & (y == 1))
    n = len(y)
    po = np.mean(pred == y)
    pe = (y.sum() * pred.sum() + (n - y.sum()) * (n - pred.sum())) / n**2
    return {
        "accuracy": po,
        "auroc": reference_auroc(y, s),
        "f1": 2 * tp / (2 * tp + fp + fn),
        "cohen_kappa": (po - pe) / (1 - pe),
    }


def reference_regression(y, p):
    return {
        "mae": np.mean(np.abs(y - p)),
        "mse": np.mean((y - p) ** 2),
        "msle": np.mean((np.log1p(y) - np.log1p(p)) ** 2),
        "r2": 1 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2),
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_classification_matches_numpy_reference(seed):
    rng = np.random.default_rng(seed)
    n = 2000
    y = (rng.random(n) < 0.2).astype(float)
    # Scores rounded to 2 decimals, so many ties across the classes.
    s = np.round(np.clip(0.3 * y + rng.random(n) * 0.8, 0, 1), 2)
    got = sr.classification_metrics(y, s, threshold=0.45)
    want = reference_classification(y, s, 0.45)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-12), key


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_regression_matches_numpy_reference(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(1, 30, 1500).astype(float)
    p = np.abs(y + rng.normal(0, 3, len(y)))
    got = sr.regression_metrics(y, p)
    for key, value in reference_regression(y, p).items():
        assert got[key] == pytest.approx(value, rel=1e-10), key


def test_matches_sklearn_when_installed():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(5)
    y = (rng.random(500) < 0.3).astype(float)
    s = np.round(rng.random(500), 1)
    got = sr.classification_metrics(y, s)
    pred = (s >= 0.5).astype(float)
    assert got["auroc"] == pytest.approx(metrics.roc_auc_score(y, s))
    assert got["accuracy"] == pytest.approx(metrics.accuracy_score(y, pred))
    assert got["f1"] == pytest.approx(metrics.f1_score(y, pred))
    assert got["cohen_kappa"] == pytest.approx(metrics.cohen_kappa_score(y, pred))
    t, p = rng.integers(0, 20, 300).astype(float), rng.random(300) * 20
    reg = sr.regression_metrics(t, p)
    assert reg["mae"] == pytest.approx(metrics.mean_absolute_error(t, p))
    assert reg["mse"] == pytest.approx(metrics.mean_squared_error(t, p))
    assert reg["msle"] == pytest.approx(metrics.mean_squared_log_error(t, p))
    assert reg["r2"] == pytest.approx(metrics.r2_score(t, p))


@pytest.mark.parametrize(
    "y_true, y_score, message",
    [
        ([], [], "empty"),
        ([1, 0, 1], [0.2, 0.3], "y_true has 3 values, y_score has 2"),
        ([1, 0, 1], [0.2, float("nan"), 0.4], r"y_score\[1\] is not finite"),
        ([1, 0.5, 0], [0.2, 0.3, 0.4], r"y_true\[1\] is 0.5"),
        ([1, 1, 1], [0.2, 0.3, 0.4], "only 1s"),
        ([[1, 0]], [[0.2, 0.3]], "one-dimensional"),
    ],
)
def test_classification_errors(y_true, y_score, message):
    with pytest.raises(ValueError, match=message):
        sr.classification_metrics(y_true, y_score)


@pytest.mark.parametrize(
    "y_true, y_pred, message",
    [
        ([], [], "empty"),
        ([1, 2], [1, 2, 3], "y_true has 2 values, y_pred has 3"),
        ([1, float("inf")], [1, 2], r"y_true\[1\] is not finite"),
        ([1, 2], [1, -2], r"y_pred\[1\] is negative"),
    ],
)
def test_regression_errors(y_true, y_pred, message):
    with pytest.raises(ValueError, match=message):
        sr.regression_metrics(y_true, y_pred)
