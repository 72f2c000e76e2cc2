"""The synthetic generator's purchase_intent option: off by default (the output is byte for byte
what it was before the option existed), and when on, purchase intention (PIP) labels can be
predicted from the events before the purchase by a logistic regression on three counts."""

import hashlib

import numpy as np
import pytest

import sessrec as sr
from sessrec import _core

ADD = 2  # the generator's action code of add-to-cart

# sha256 of the generator's output (settings below), computed before purchase_intent existed.
FINGERPRINTS = {
    (): "7671dc0d8d95aa01c73f92395a9c3ae240fd7e85f55dffbffe81aad465f1134e",
    (("cold_share", 0.2), ("topic_drift", 0.3)):
        "05211b29182af7dad3355e66cb0954ef941b55b020867ddd74bdb5ee2211bd9c",
}


def fingerprint(**settings) -> str:
    config = _core.SyntheticConfig()
    config.num_items, config.num_sessions, config.seed = 300, 2000, 7
    for key, value in settings.items():
        setattr(config, key, value)
    data = _core.generate_synthetic(config, True)
    digest = hashlib.sha256()
    store = data["sessions"]
    for array in (store.offsets, store.items, store.actions, store.times, data["brand"],
                  data["price"], data["topic"], data["cold"]):
        digest.update(np.ascontiguousarray(np.asarray(array)).tobytes())
    for texts in (data["item_ids"], data["titles"], data["brand_names"], data["queries"]):
        digest.update("\x00".join(texts).encode())
    return digest.hexdigest()


@pytest.mark.parametrize("settings", list(FINGERPRINTS))
def test_default_output_is_unchanged(settings):
    assert fingerprint(**dict(settings)) == FINGERPRINTS[settings]
    assert fingerprint(**dict(settings), purchase_intent=0.0) == FINGERPRINTS[settings]


def test_purchase_intent_changes_the_output_and_is_checked():
    assert fingerprint(purchase_intent=0.5) != FINGERPRINTS[()]
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="purchase_intent"):
            sr.datasets.synthetic(num_items=50, num_sessions=10, purchase_intent=bad)


def window_features(ds, examples) -> np.ndarray:
    """Per example (its events [begin, end)): the share of add-to-cart events, of repeated items
    (an event's item equals the one before) and of topic changes; plus a constant."""
    items = np.asarray(ds.sessions.items)
    actions = np.asarray(ds.sessions.actions)
    topic = np.asarray(ds.catalog.categorical("topic")[0])[items]
    same_item = np.r_[False, items[1:] == items[:-1]]
    new_topic = np.r_[False, topic[1:] != topic[:-1]]
    begin, end = np.asarray(examples["begin"]), np.asarray(examples["end"])
    length = (end - begin).astype(float)
    columns = []
    # (flag, first event counted): a window's first event has no predecessor inside it.
    for flag, skip in ((actions == ADD, 0), (same_item, 1), (new_topic, 1)):
        cumulative = np.r_[0, np.cumsum(flag)]
        columns.append((cumulative[end] - cumulative[begin + skip]) / length)
    return np.column_stack(columns + [np.ones(len(begin))])


def logistic_regression(x: np.ndarray, y: np.ndarray, steps: int = 25) -> np.ndarray:
    """Newton's method on the mean log loss (with a small ridge term for stability)."""
    w = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-x @ w))
        gradient = x.T @ (p - y) / len(y) + 1e-4 * w
        hessian = (x * (p * (1 - p))[:, None]).T @ x / len(y) + 1e-4 * np.eye(x.shape[1])
        w -= np.linalg.solve(hessian, gradient)
    return w


@pytest.mark.parametrize("strength,low,high", [(0.0, 0.4, 0.6), (0.6, 0.75, 1.0)])
def test_pip_labels_are_predictable_only_with_intent(strength, low, high):
    ds = sr.datasets.synthetic(num_items=300, num_sessions=4000, seed=1, mean_session_length=12,
                               purchase_intent=strength)
    examples = sr.tasks.pip_examples(ds, oversample=False)
    labels = np.asarray(examples["label"], dtype=float)
    assert 0.2 < labels.mean() < 0.8 and len(examples) > 1500
    x = window_features(ds, examples)
    fit = np.asarray(examples["session"]) < ds.sessions.num_sessions // 2  # fit on the first half
    w = logistic_regression(x[fit], labels[fit])
    probabilities = 1 / (1 + np.exp(-x[~fit] @ w))
    auroc = sr.classification_metrics(labels[~fit], probabilities)["auroc"]
    assert low < auroc < high, auroc
