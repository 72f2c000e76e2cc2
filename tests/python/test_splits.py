"""Splits: ordering, disjointness, and no test target in training."""

import numpy as np
import pytest

import sessrec as sr


def session_keys(sset, ds):
    return set(np.asarray(ds.session_ids)[sset.session_index].tolist())


def test_time_split_is_chronological_and_disjoint(retail, retail_split):
    train, valid, test = retail_split
    assert len(train) + len(valid) + len(test) == retail.sessions.num_sessions
    assert not session_keys(train, retail) & session_keys(test, retail)
    assert not session_keys(valid, retail) & session_keys(test, retail)
    start = retail.sessions.session_start_times()
    assert start[train.session_index].max() <= start[valid.session_index].min()
    assert start[valid.session_index].max() <= start[test.session_index].min()
    assert abs(len(test) - 0.1 * retail.sessions.num_sessions) <= 1
    # Training counts come from the training sessions alone.
    np.testing.assert_array_equal(train.train_counts, train.sessions.item_counts(retail.num_items))


def test_leave_one_out_holds_out_last_two_positions(small):
    train, valid, test = small.split("leave_one_out")
    full = np.diff(np.asarray(test.sessions.offsets))
    np.testing.assert_array_equal(np.diff(np.asarray(train.sessions.offsets)), np.maximum(full - 2, 0))
    assert test.targets == valid.targets == "last"
    items = np.asarray(test.sessions.items)
    ends = np.asarray(test.sessions.offsets)[1:] - 1
    np.testing.assert_array_equal(np.sort(test.target_items()), np.sort(items[ends[full >= 2]]))
    # The test target of a session is never in that session's training prefix position-wise:
    # training sessions are strict prefixes that stop two events before the end.
    t_off, f_off = np.asarray(train.sessions.offsets), np.asarray(test.sessions.offsets)
    for s in range(0, len(full), 97):
        np.testing.assert_array_equal(
            np.asarray(train.sessions.items)[t_off[s]:t_off[s + 1]],
            items[f_off[s]:f_off[s] + max(full[s] - 2, 0)],
        )
    assert test.num_examples() == int((full >= 2).sum())


def test_kfold_partitions_sessions_and_is_seeded(small):
    seen = []
    for fold in range(4):
        train, valid, test = small.split("kfold", k=4, fold=fold, valid=0.1, seed=3)
        assert not set(train.session_index) & set(test.session_index)
        assert not set(valid.session_index) & set(test.session_index)
        assert len(train) + len(valid) + len(test) == small.sessions.num_sessions
        seen.append(set(test.session_index.tolist()))
    assert set().union(*seen) == set(range(small.sessions.num_sessions))
    a = small.split("kfold", k=4, fold=1, seed=3)[2].session_index
    b = small.split("kfold", k=4, fold=1, seed=3)[2].session_index
    c = small.split("kfold", k=4, fold=1, seed=4)[2].session_index
    np.testing.assert_array_equal(a, b)
    assert set(a.tolist()) != set(c.tolist())


def test_max_history_cuts_histories(retail):
    train, _, _ = retail.split("time", max_history=5)
    ex = train.examples()
    assert (np.asarray(ex.end) - np.asarray(ex.begin)).max() == 5


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(how="time", valid=0.5, test=0.5), "fractions"),
        (dict(how="time", test=0.0), "fractions"),
        (dict(how="kfold", k=1), "k >= 2"),
        (dict(how="kfold", k=3, fold=3), "fold"),
        (dict(how="given"), "pre-split"),
        (dict(how="random"), "unknown split"),
        (dict(how="time", max_history=-1), "max_history"),
    ],
)
def test_bad_split_arguments(small, kwargs, match):
    with pytest.raises(ValueError, match=match):
        small.split(**kwargs)


def test_cold_items_only_in_test_of_synthetic(small, small_split):
    train, valid, test = small_split
    cold = np.asarray(small.catalog.numeric("cold")) > 0
    assert cold.any()
    assert not cold[np.asarray(train.sessions.items)].any()
    assert not cold[np.asarray(valid.sessions.items)].any()
    assert cold[test.target_items()].any()


@pytest.mark.parametrize("how", ["kfold", "time"])
def test_targets_last_evaluates_only_the_last_position_of_held_out_sessions(small, how):
    kwargs = dict(k=4, fold=1, seed=3) if how == "kfold" else {}
    every = small.split(how, **kwargs)
    last = small.split(how, targets="last", **kwargs)
    assert [p.targets for p in every] == ["all", "all", "all"]
    assert [p.targets for p in last] == ["all", "last", "last"]
    # Training keeps every position; the parts hold the same sessions either way.
    assert last[0].num_examples() == every[0].num_examples()
    for a, b in zip(every, last):
        np.testing.assert_array_equal(a.session_index, b.session_index)
    for part in last[1:]:
        lengths = np.diff(np.asarray(part.sessions.offsets))
        assert part.num_examples() == int((lengths >= 2).sum()) < np.sum(lengths - 1)
        ends = np.asarray(part.sessions.offsets)[1:][lengths >= 2] - 1
        np.testing.assert_array_equal(part.target_items(), np.asarray(part.sessions.items)[ends])


def test_targets_must_be_last_or_all(small):
    with pytest.raises(ValueError, match="targets must be 'all' or 'last', got 'first'"):
        small.split("kfold", targets="first")
