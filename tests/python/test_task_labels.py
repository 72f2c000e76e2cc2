"""sr.tasks.pip_examples / rlp_examples: a hand-made store, the synthetic generator against a
plain-Python reading of the rules, parameters, determinism and the input errors."""

import numpy as np
import pandas as pd
import pytest

import sessrec as sr
from sessrec import _core

S, V, A, B = 0, 1, 2, 3  # the synthetic generator's action codes


def hand_store(with_actions=True):
    """Sessions (start, length): 0 (0, 12) buys at 5 and 8; 1 (12, 7) views; 2 (19, 3) views;
    3 (22, 40) a buy at 38; 4 (62, 6) S V A V V V; 5 (68, 6) buys first; 6 (74, 35) views."""
    sessions = [
        [V] * 5 + [B, V, V, B, V, V, V],
        [V] * 7,
        [V] * 3,
        [V] * 38 + [B, V],
        [S, V, A, V, V, V],
        [B] + [V] * 5,
        [V] * 35,
    ]
    actions = np.concatenate([np.array(s, dtype=np.int8) for s in sessions])
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in sessions])]).astype(np.int64)
    return _core.SessionStore(
        offsets,
        np.zeros(len(actions), dtype=np.int32),
        actions=actions if with_actions else None,
        num_items=1,
    )


def rows(table):
    return list(table[["session", "begin", "end", "label"]].itertuples(index=False, name=None))


def test_pip_on_hand_store():
    table = sr.tasks.pip_examples(hand_store(), purchase_action=B)
    assert list(table.columns) == ["session", "begin", "end", "length", "label"]
    # Session 0: the buy at 5 back-traces [0, 5); the buy at 8 stops at the buy at 5 ([6, 8),
    # 2 < 5, dropped). Session 3: the buy at 60 back-traces 32, [28, 60). Sessions 1, 4, 6 have
    # no buy: their last <= 32 interactions are negatives. Sessions 2 (3 long) and 5 (a buy with
    # nothing before it) give nothing.
    want = [(0, 0, 5, 1), (1, 12, 19, 0), (3, 28, 60, 1), (4, 62, 68, 0), (6, 77, 109, 0)]
    assert rows(table) == want
    assert (table["length"] == table["end"] - table["begin"]).all()
    assert table["label"].dtype == np.int8


def test_pip_limits_are_parameters():
    table = sr.tasks.pip_examples(
        hand_store(), purchase_action=B, max_interactions=4, min_length=2
    )
    want = [
        (0, 1, 5, 1), (0, 6, 8, 1), (1, 15, 19, 0), (2, 19, 22, 0), (3, 56, 60, 1),
        (4, 64, 68, 0), (6, 105, 109, 0),
    ]
    assert rows(table) == want


def test_rlp_on_hand_store():
    lengths = np.array([12, 7, 3, 40, 6, 6, 35])
    seen, store = set(), hand_store()
    for seed in range(300):
        table = sr.tasks.rlp_examples(store, seed=seed)
        # Session 2 (3 long) admits no cut c in [5, min(31, L - 1)].
        assert list(table["session"]) == [0, 1, 3, 4, 5, 6]
        cut = table["length"].to_numpy()
        L = lengths[table["session"]]
        assert (cut >= 5).all() and (cut <= np.minimum(31, L - 1)).all()
        assert (table["label"].to_numpy() == L - cut).all()
        seen.add(int(cut[2]))
    assert seen == set(range(5, 32))  # every cut in [5, 31] occurs over the seeds


def reference_pip(store, code, max_interactions=32, min_length=5):
    """The rules of pip_examples read plainly, one session at a time."""
    offsets, actions = np.asarray(store.offsets), np.asarray(store.actions)
    rows = []
    for s in range(len(offsets) - 1):
        first, last = offsets[s], offsets[s + 1]
        buys = [e for e in range(first, last) if actions[e] == code]
        floor = first
        for e in buys:
            begin = max(floor, e - max_interactions)
            if e - begin >= min_length:
                rows.append((s, begin, e, 1))
            floor = e + 1
        if not buys:
            begin = max(first, last - max_interactions)
            if last - begin >= min_length:
                rows.append((s, begin, last, 0))
    return rows


@pytest.fixture(scope="module")
def synthetic():
    return sr.datasets.synthetic(num_items=200, num_sessions=3000, seed=3, mean_session_length=9.0)


@pytest.mark.parametrize("limits", [(32, 5), (6, 3), (10, 1)])
def test_pip_on_synthetic_matches_reference(synthetic, limits):
    max_interactions, min_length = limits
    table = sr.tasks.pip_examples(
        synthetic, max_interactions=max_interactions, min_length=min_length
    )  # "buy" resolved through the dataset's action names
    got = rows(table)
    assert got == reference_pip(synthetic.sessions, B, max_interactions, min_length)
    assert 0 < table["label"].sum() < len(table)
    # No input holds a purchase.
    actions = np.asarray(synthetic.sessions.actions)
    for begin, end in zip(table["begin"], table["end"]):
        assert not (actions[begin:end] == B).any()


def test_pip_oversampling_balances_classes(synthetic):
    plain = sr.tasks.pip_examples(synthetic)
    over = sr.tasks.pip_examples(synthetic, oversample=True, seed=1)
    positives, negatives = (plain["label"] == 1).sum(), (plain["label"] == 0).sum()
    assert positives < negatives
    assert (over["label"] == 1).sum() == (over["label"] == 0).sum() == negatives
    pd.testing.assert_frame_equal(over.iloc[: len(plain)], plain)  # originals first, unchanged
    copies = over.iloc[len(plain):]
    originals = set(plain[plain["label"] == 1][["session", "begin", "end"]].itertuples(index=False))
    assert set(copies[["session", "begin", "end"]].itertuples(index=False)) <= originals
    again = sr.tasks.pip_examples(synthetic, oversample=True, seed=1)
    pd.testing.assert_frame_equal(over, again)


def test_rlp_on_synthetic(synthetic):
    table = sr.tasks.rlp_examples(synthetic, seed=5)
    lengths = np.diff(np.asarray(synthetic.sessions.offsets))
    eligible = np.flatnonzero(np.minimum(31, lengths - 1) >= 5)
    assert (table["session"].to_numpy() == eligible).all()  # one example per eligible session
    assert (table["begin"].to_numpy() == np.asarray(synthetic.sessions.offsets)[eligible]).all()
    L = lengths[eligible]
    assert (table["label"].to_numpy() == L - table["length"].to_numpy()).all()
    assert (table["length"] <= 31).all() and (table["label"] >= 1).all()
    pd.testing.assert_frame_equal(table, sr.tasks.rlp_examples(synthetic, seed=5))
    assert not table.equals(sr.tasks.rlp_examples(synthetic, seed=6))
    zero = sr.tasks.rlp_examples(synthetic, seed=5, min_remaining=0)
    assert (zero["label"] == 0).any()


def test_same_examples_at_any_thread_count(synthetic):
    threads = sr.get_num_threads()
    try:
        sr.set_num_threads(1)
        one = (sr.tasks.pip_examples(synthetic, oversample=True), sr.tasks.rlp_examples(synthetic))
        sr.set_num_threads(2)
        two = (sr.tasks.pip_examples(synthetic, oversample=True), sr.tasks.rlp_examples(synthetic))
    finally:
        sr.set_num_threads(threads)
    pd.testing.assert_frame_equal(one[0], two[0])
    pd.testing.assert_frame_equal(one[1], two[1])


def test_session_set_needs_names_or_code(synthetic):
    train, _, _ = synthetic.split("time", valid=0.1, test=0.1)
    with pytest.raises(ValueError, match="carries no action names"):
        sr.tasks.pip_examples(train)
    by_name = sr.tasks.pip_examples(train, action_names=synthetic.action_names)
    by_code = sr.tasks.pip_examples(train, purchase_action=B)
    pd.testing.assert_frame_equal(by_name, by_code)
    assert len(sr.tasks.rlp_examples(train)) > 0


def test_errors():
    store = hand_store(with_actions=False)
    with pytest.raises(ValueError, match="no actions"):
        sr.tasks.pip_examples(store, purchase_action=B)
    assert len(sr.tasks.rlp_examples(store)) == 6  # RLP needs only the lengths
    with pytest.raises(ValueError, match="not one of the actions"):
        sr.tasks.pip_examples(hand_store(), purchase_action="purchase", action_names=["v", "buy"])
    with pytest.raises(ValueError, match="min_length"):
        sr.tasks.pip_examples(hand_store(), purchase_action=B, min_length=40)
    with pytest.raises(ValueError, match="min_length"):
        sr.tasks.rlp_examples(hand_store(), min_length=32)
    with pytest.raises(TypeError, match="Dataset, a SessionSet or a SessionStore"):
        sr.tasks.rlp_examples([[1, 2, 3]])


def test_loaded_file_with_named_actions(tmp_path):
    rows = ["session_id,item_id,timestamp,event"]
    rows += [f"a,i{k},{k},view" for k in range(5)] + ["a,i9,5,purchase"]
    rows += [f"b,i{k},{10 + k},view" for k in range(5)]
    rows += ["c,i1,20,view", "c,i2,21,cart"]
    path = tmp_path / "events.csv"
    path.write_text("\n".join(rows) + "\n")
    ds = sr.datasets.load_interactions(path, time_column="timestamp", action_column="event")
    table = sr.tasks.pip_examples(ds, purchase_action="purchase")
    by_id = {
        ds.session_ids[s]: (length, label)
        for s, length, label in table[["session", "length", "label"]].itertuples(index=False)
    }
    # a: five views before the purchase (positive); b: five views, no purchase (negative);
    # c: two events, shorter than 5.
    assert by_id == {"a": (5, 1), "b": (5, 0)}
    names = r"\['cart', 'purchase', 'view'\]"
    with pytest.raises(ValueError, match=r"'buy' is not one of the actions " + names):
        sr.tasks.pip_examples(ds)
    plain = sr.datasets.load_interactions(path, time_column="timestamp")
    with pytest.raises(ValueError, match="no actions"):
        sr.tasks.pip_examples(plain)
