"""Inputs a model must refuse rather than absorb: non-integer k, non-integer item indices, and
training that diverges to NaN/inf."""

import numpy as np
import pytest

import sessrec as sr
from sessrec.models.training_log import TrainingDiverged


@pytest.fixture(scope="module")
def parts(small_split):
    return small_split


@pytest.fixture(scope="module")
def itemcf(parts):
    return sr.models.ItemCF().fit(parts[0])


@pytest.mark.parametrize("k", [2.5, "5", True, None, np.float64(3.0)])
def test_non_integer_k_is_a_clear_type_error(itemcf, k):
    some_id = itemcf.catalog.id(0)
    for call in (lambda: itemcf.recommend([some_id], k=k),
                 lambda: itemcf.recommend_batch([[some_id]], k=k)):
        with pytest.raises(TypeError, match="k must be a positive integer") as error:
            call()
        assert len(str(error.value)) < 200  # never the whole score array


@pytest.mark.parametrize("k", [5, np.int64(5), np.int32(5)])
def test_integer_k_of_any_integer_type_is_accepted(itemcf, k):
    assert len(itemcf.recommend([itemcf.catalog.id(0)], k=k)) == 5


def test_evaluate_refuses_non_integer_k(itemcf, parts):
    for k in (2.5, "5", (10, 2.5)):
        with pytest.raises(TypeError, match="k must be"):
            sr.evaluate(itemcf, parts[2], k=k, progress=False)


def test_score_refuses_non_integer_item_indices(itemcf):
    with pytest.raises(TypeError, match="integers"):
        itemcf.score([[1.7]])
    with pytest.raises(TypeError, match="integers"):
        itemcf.score([[1, 2], [1.0]])
    with pytest.raises(TypeError, match="integers"):
        itemcf.score([[True]])
    with pytest.raises(TypeError, match="integers"):
        itemcf.score([["3"]])
    # Integral NumPy dtypes are indices like Python ints.
    expected = itemcf.score([[1, 2]])
    for dtype in (np.int32, np.int64, np.uint16):
        np.testing.assert_array_equal(itemcf.score([np.array([1, 2], dtype=dtype)]), expected)


def test_recommend_leaves_out_the_session_items_by_default(itemcf):
    history = [itemcf.catalog.id(int(i)) for i in itemcf.score([[0]])[0].argsort()[::-1][:3]]
    top = itemcf.recommend(history, k=10)
    assert not set(top["item_id"]) & set(history)
    kept = itemcf.recommend(history, k=10, exclude_history=False)
    assert set(kept["item_id"]) & set(history)  # they score high: they were chosen so
    batch = itemcf.recommend_batch([history, history[:1]], k=10)
    assert not set(batch.loc[batch.session == 0, "item_id"]) & set(history)


def test_diverging_training_stops_with_epoch_and_step_and_keeps_finite_weights(parts, tmp_path):
    train = parts[0]
    model = sr.models.GRU4Rec(dim=16, hidden=16, epochs=1, seed=0, lr=1e-2)
    model.fit(train, progress=False)
    before = {k: v.copy() for k, v in model._core.get_parameters().items()}
    steps_before = model._core.steps
    model.params["lr"] = 1e30  # a bad setting for the next epochs (a new optimizer takes it)
    model._optimizer = None
    with pytest.raises(TrainingDiverged, match=r"epoch 2 at .*step \d+") as error:
        model.fit(train, epochs=3, progress=False)
    assert isinstance(error.value, FloatingPointError) and isinstance(error.value, sr.TrainingDiverged)
    after = model._core.get_parameters()
    assert all(np.isfinite(w).all() for w in after.values())
    for name, w in before.items():
        np.testing.assert_array_equal(after[name], w)
    assert model._core.steps == steps_before and model.epochs_done == 1
    assert len(model.history_) == 1
    # What is left is usable and savable: finite scores, a loadable file.
    assert np.isfinite(model.score([[1, 2]])).all()
    model.save(tmp_path / "m.h5")
    assert np.array_equal(sr.load(tmp_path / "m.h5").score([[1, 2]]), model.score([[1, 2]]))


def test_diverging_training_from_the_start(parts):
    model = sr.models.SASRec(dim=16, epochs=2, lr=1e30, seed=0)
    with pytest.raises(TrainingDiverged, match="epoch 1"):
        model.fit(parts[0], progress=False)
    assert all(np.isfinite(w).all() for w in model._core.get_parameters().values())
