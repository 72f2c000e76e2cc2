"""Train/valid/test splits of a Dataset (see Dataset.split)."""

from __future__ import annotations

import numpy as np

from . import _core
from .dataset import SPLIT_LABELS, Dataset, SessionSet

SPLIT_METHODS = ("time", "leave_one_out", "kfold", "given")
TARGETS = ("all", "last")


def _check_fractions(valid: float, test: float) -> None:
    if not (0.0 <= valid < 1.0) or not (0.0 < test < 1.0) or valid + test >= 1.0:
        raise ValueError(
            f"split fractions must satisfy 0 <= valid, 0 < test and valid + test < 1; "
            f"got valid={valid}, test={test}"
        )


def _chronological(ds: Dataset, index: np.ndarray) -> np.ndarray:
    """Session indices sorted by start time (store order when there are no times)."""
    if ds.sessions.times is None:
        return np.sort(index)
    start = ds.sessions.session_start_times()
    return index[np.argsort(start[index], kind="stable")]


def _parts(ds, indices, targets, max_history):
    train_store = ds.sessions.subset(indices[0])
    counts = train_store.item_counts(ds.num_items)
    out = []
    for role, index, store, target in zip(
        ("train", "valid", "test"), indices, (train_store, None, None), targets
    ):
        out.append(
            SessionSet(
                sessions=store if store is not None else ds.sessions.subset(index),
                catalog=ds.catalog,
                role=role,
                train_counts=counts,
                targets=target,
                max_history=max_history,
                dataset_name=ds.name,
                session_index=index,
            )
        )
    return tuple(out)


def split_dataset(
    ds: Dataset,
    how: str,
    valid: float,
    test: float,
    k: int,
    fold: int,
    seed: int,
    max_history: int,
    targets: str = "all",
) -> tuple[SessionSet, SessionSet, SessionSet]:
    if max_history < 0:
        raise ValueError(f"max_history must be >= 0 (0 = no limit), got {max_history}")
    if targets not in TARGETS:
        raise ValueError(f"targets must be 'all' or 'last', got {targets!r}")
    held_out = ("all", targets, targets)  # training keeps every position
    n = ds.sessions.num_sessions
    if n == 0:
        raise ValueError(f"{ds.name}: cannot split a dataset without sessions")

    if how == "time":
        _check_fractions(valid, test)
        order = _chronological(ds, np.arange(n, dtype=np.int64))
        n_test, n_valid = int(round(n * test)), int(round(n * valid))
        n_train = n - n_test - n_valid
        if n_train <= 0 or n_test <= 0:
            raise ValueError(f"{ds.name}: {n} sessions are too few for this split")
        index = (order[:n_train], order[n_train : n_train + n_valid], order[n_train + n_valid :])
        return _parts(ds, index, held_out, max_history)

    if how == "kfold":
        if k < 2 or not (0 <= fold < k):
            raise ValueError(f"kfold needs k >= 2 and 0 <= fold < k; got k={k}, fold={fold}")
        if not (0.0 <= valid < 1.0):
            raise ValueError(f"valid must be in [0, 1), got {valid}")
        rng = np.random.default_rng(seed)
        folds = np.array_split(rng.permutation(n).astype(np.int64), k)
        test_index = folds[fold]
        rest = np.concatenate([f for i, f in enumerate(folds) if i != fold])
        n_valid = int(round(len(rest) * valid))
        index = (
            _chronological(ds, rest[n_valid:]),
            _chronological(ds, rest[:n_valid]),
            _chronological(ds, test_index),
        )
        return _parts(ds, index, held_out, max_history)

    if how == "leave_one_out":
        # Same sessions in every part; the held-out positions are cut off the training part.
        everything = _chronological(ds, np.arange(n, dtype=np.int64))
        full = ds.sessions.subset(everything)
        train_store = full.drop_tail(2)
        counts = train_store.item_counts(ds.num_items)
        common = dict(catalog=ds.catalog, train_counts=counts, max_history=max_history,
                      dataset_name=ds.name, session_index=everything)
        return (
            SessionSet(sessions=train_store, role="train", targets="all", **common),
            SessionSet(sessions=full.drop_tail(1), role="valid", targets="last", **common),
            SessionSet(sessions=full, role="test", targets="last", **common),
        )

    if how == "given":
        if ds.session_split is None:
            raise ValueError(
                f"{ds.name}: split('given') needs a pre-split source (e.g. RecBole "
                f".train/.valid/.test.inter files); this dataset has no split labels"
            )
        labels = ds.session_split
        index = tuple(
            _chronological(ds, np.flatnonzero(labels == SPLIT_LABELS[role]).astype(np.int64))
            for role in ("train", "valid", "test")
        )
        if len(index[0]) == 0 or len(index[2]) == 0:
            raise ValueError(f"{ds.name}: the given split has an empty train or test part")
        given = "last" if targets == "last" else ds.split_targets
        return _parts(ds, index, ("all", given, given), max_history)

    raise ValueError(f"unknown split method {how!r}; expected one of {SPLIT_METHODS}")


def cold_items(train: SessionSet) -> np.ndarray:
    """Indices of catalogue items that never occur in training."""
    return np.flatnonzero(train.train_counts == 0)


__all__ = ["split_dataset", "cold_items", "SPLIT_METHODS", "TARGETS", "_core"]
