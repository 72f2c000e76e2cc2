"""Property-based tests of model files (hypothesis): a saved model that is then truncated, has
bytes flipped, loses a dataset, or holds an array of the wrong shape or type (with valid
checksums, as another writer's bug would leave it) must raise ValueError or KeyError naming the
file on load, or load unchanged; never another exception, a crash or different scores.

Bounded and deterministic like test_hypothesis_loaders.py (its "sessrec-ci" profile).
"""

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sessrec as sr
from sessrec import _core

settings.register_profile(
    "sessrec-ci",
    derandomize=True,
    deadline=5000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
settings.load_profile("sessrec-ci")

EXAMPLES = int(__import__("os").environ.get("SESSREC_HYPOTHESIS_EXAMPLES", 15))
ALLOWED = (ValueError, KeyError)
HISTORIES = [[1, 2, 3], [4], [5, 6, 7, 8, 9], [10, 1]]
MODELS = ["POP", "ItemCF", "VSKNN", "GRU4Rec", "SASRec"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """{name: (path, scores)} for one saved model of each kind."""
    ds = sr.datasets.synthetic(num_items=60, num_sessions=300, seed=5)
    train, _, _ = ds.split("time", valid=0.1, test=0.1)
    folder = tmp_path_factory.mktemp("models")
    models = {
        "POP": sr.models.POP(),
        "ItemCF": sr.models.ItemCF(),
        "VSKNN": sr.models.SessionKNN(k=20, sample_size=50),
        "GRU4Rec": sr.models.GRU4Rec(dim=8, hidden=8, epochs=1),
        "SASRec": sr.models.SASRec(dim=8, layers=1, heads=1, max_len=6, epochs=1),
    }
    out = {}
    for name, model in models.items():
        if name in ("GRU4Rec", "SASRec"):
            model.fit(train, progress=False)
        else:
            model.fit(train)
        path = folder / f"{name}.h5"
        model.save(path)
        out[name] = (path, model.score(HISTORIES))
    return out


def load_or_refuse(path, expected):
    """Loads and scores; a refusal must name the file, a success must score as before."""
    try:
        model = sr.load(path)
        scores = model.score(HISTORIES)
    except ALLOWED as error:
        assert str(path) in str(error), str(error)
        return False
    np.testing.assert_array_equal(scores, expected)
    return True


@settings(max_examples=EXAMPLES)
@given(name=st.sampled_from(MODELS), cut=st.floats(0.0, 0.999))
def test_truncated_model_files_are_refused(tmp_path, saved, name, cut):
    path, expected = saved[name]
    data = path.read_bytes()
    copy = tmp_path / "truncated.h5"
    copy.write_bytes(data[: int(len(data) * cut)])
    assert not load_or_refuse(copy, expected)


@settings(max_examples=3 * EXAMPLES)
@given(name=st.sampled_from(MODELS), where=st.floats(0.0, 0.999), xor=st.integers(1, 255))
def test_flipped_bytes_are_refused_or_harmless(tmp_path, saved, name, where, xor):
    path, expected = saved[name]
    data = bytearray(path.read_bytes())
    data[int(len(data) * where)] ^= xor
    copy = tmp_path / "flipped.h5"
    copy.write_bytes(bytes(data))
    load_or_refuse(copy, expected)


def state_names(path):
    arrays, _ = _core.read_array_file(str(path))
    return sorted(arrays)


@settings(max_examples=EXAMPLES)
@given(name=st.sampled_from(MODELS), data=st.data())
def test_missing_dataset_is_refused(tmp_path, saved, name, data):
    path, expected = saved[name]
    victim = data.draw(st.sampled_from(state_names(path)))
    copy = tmp_path / "missing.h5"
    copy.write_bytes(path.read_bytes())
    with h5py.File(copy, "r+") as f:
        del f[victim]
    with pytest.raises(ALLOWED) as error:
        sr.load(copy).score(HISTORIES)
    assert str(copy) in str(error.value) and victim in str(error.value)


@settings(max_examples=4 * EXAMPLES)
@given(
    name=st.sampled_from(MODELS),
    change=st.sampled_from(["drop_row", "add_row", "flatten", "empty", "dtype", "big_index",
                            "negative", "drop"]),
    data=st.data(),
)
def test_inconsistent_state_with_valid_checksums_is_refused(tmp_path, saved, name, change, data):
    """Another writer's bug: the checksums match, the content does not fit the model."""
    path, expected = saved[name]
    arrays, attributes = _core.read_array_file(str(path))
    victim = data.draw(st.sampled_from(sorted(arrays)))
    a = arrays[victim]
    if change == "drop_row":
        a = a[:-1] if len(a) else a
    elif change == "add_row":
        a = np.concatenate([a, a[:1]]) if len(a) else np.zeros(1, a.dtype)
    elif change == "flatten":
        a = a.reshape(-1)[: max(a.size - 1, 0)]
    elif change == "empty":
        a = a[:0]
    elif change == "dtype":
        a = a.astype(np.float64 if a.dtype.kind in "iu" else np.int64)
    elif change == "big_index":
        a = a.copy()
        if a.size:
            a.reshape(-1)[a.size // 2] = (np.iinfo(a.dtype).max if a.dtype.kind in "iu"
                                          else 1e30)
    elif change == "negative":
        a = a.copy()
        if a.size:
            a.reshape(-1)[a.size // 2] = np.array(-7).astype(a.dtype)
    elif change == "drop":
        del arrays[victim]
    if change != "drop":
        arrays[victim] = a
    copy = tmp_path / "inconsistent.h5"
    _core.write_array_file(str(copy), arrays, attributes)
    try:
        model = sr.load(copy)
        scores = model.score(HISTORIES)
    except ALLOWED as error:
        assert str(copy) in str(error), str(error)
        return
    # Loaded: the change touched something that does not matter for scoring (the training log,
    # the optimizer state) or changed values within their range. Scores keep their shape and,
    # unless a weight became absurd (1e30 is finite, and overflows attention), stay numbers.
    assert scores.shape == expected.shape
    if not (change == "big_index" and arrays[victim].dtype.kind == "f"):
        assert not np.isnan(scores).any()
