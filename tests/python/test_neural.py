"""Neural training from Python: determinism, exact resume, early stopping, checkpoints."""

import numpy as np
import pytest

import sessrec as sr


@pytest.fixture(scope="module")
def parts():
    ds = sr.datasets.synthetic(num_items=200, num_sessions=1500, seed=5)
    return ds.split("time", valid=0.1, test=0.1)


def params_equal(a, b):
    pa, pb = a._core.get_parameters(), b._core.get_parameters()
    return pa.keys() == pb.keys() and all(np.array_equal(pa[k], pb[k]) for k in pa)


@pytest.mark.parametrize("cls", [sr.models.GRU4Rec, sr.models.SASRec])
def test_same_seed_same_threads_same_result(parts, cls):
    train, _, _ = parts
    a = cls(dim=16, epochs=2, seed=3, threads=2).fit(train, progress=False)
    b = cls(dim=16, epochs=2, seed=3, threads=2).fit(train, progress=False)
    c = cls(dim=16, epochs=2, seed=4, threads=2).fit(train, progress=False)
    assert params_equal(a, b)
    assert not params_equal(a, c)


def test_resume_from_checkpoint_is_exact(parts, tmp_path):
    train, _, _ = parts
    straight = sr.models.SASRec(dim=16, epochs=3, seed=1, dropout=0.3).fit(train, progress=False)
    path = tmp_path / "ckpt.h5"
    first = sr.models.SASRec(dim=16, epochs=3, seed=1, dropout=0.3)
    first.fit(train, epochs=2, progress=False, checkpoint=str(path))
    resumed = sr.load(path)
    assert resumed.epochs_done == 2
    resumed.fit(train, epochs=1, progress=False)
    assert params_equal(straight, resumed)
    assert resumed._optimizer.steps_taken == straight._optimizer.steps_taken


def test_training_reduces_loss_and_beats_popularity(parts):
    train, valid, test = parts
    model = sr.models.SASRec(dim=32, epochs=8, lr=3e-3).fit(train, progress=False)
    losses = model.history_["loss"].to_numpy()
    assert losses[-1] < losses[0] - 0.3
    pop = sr.evaluate(sr.models.POP().fit(train), test, k=(20,), progress=False)
    ours = sr.evaluate(model, test, k=(20,), progress=False)
    assert ours.loc[("overall", "all"), "NDCG@20"] > 1.5 * pop.loc[("overall", "all"), "NDCG@20"]


def test_early_stopping_keeps_best_weights(parts):
    train, valid, _ = parts
    model = sr.models.MeanPool(dim=16, epochs=6, patience=0, lr=0.05, metric="Hits@10")
    model.fit(train, valid, progress=False)
    history = model.history_
    assert "valid_Hits@10" in history
    best = history["valid_Hits@10"].max()
    final = sr.evaluate(model, valid, k=(10,), progress=False).loc[("overall", "all"), "Hits@10"]
    assert final == pytest.approx(best)
    # patience=0 stops at the first epoch that does not improve.
    scores = history["valid_Hits@10"].to_numpy()
    assert len(scores) == 6 or scores[-1] <= scores[:-1].max()


def test_sampled_softmax_trains(parts):
    train, _, test = parts
    for sampler in ("uniform", "popularity"):
        model = sr.models.GRU4Rec(dim=16, epochs=3, loss="sampled", num_negatives=64,
                                  sampler=sampler, lr=3e-3).fit(train, progress=False)
        assert model.history_["loss"].iloc[-1] < model.history_["loss"].iloc[0]


def test_bad_settings_and_checkpoints(parts, tmp_path):
    train, _, _ = parts
    with pytest.raises(ValueError, match="training"):
        sr.models.SASRec(training="random")
    with pytest.raises(ValueError, match="metric"):
        sr.models.SASRec(metric="AUC")
    with pytest.raises(ValueError, match="divisible"):
        sr.models.SASRec(dim=10, heads=3, epochs=1).fit(train, progress=False)
    with pytest.raises(ValueError, match="loss"):
        sr.models.GRU4Rec(loss="bpr", epochs=1).fit(train, progress=False)
    model = sr.models.GRU4Rec(dim=8, hidden=8, epochs=1).fit(train, progress=False)
    model.save(tmp_path / "m.h5")
    # A checkpoint whose weights do not fit the architecture it names is refused.
    from sessrec import _core
    arrays, attributes = _core.read_array_file(str(tmp_path / "m.h5"))
    arrays["state/param/dense.weight"] = np.zeros((3, 3), dtype=np.float32)
    _core.write_array_file(str(tmp_path / "bad.h5"), arrays, attributes)
    with pytest.raises(ValueError, match="dense.weight"):
        sr.load(tmp_path / "bad.h5")
    del arrays["state/param/dense.weight"]
    _core.write_array_file(str(tmp_path / "missing.h5"), arrays, attributes)
    with pytest.raises(ValueError, match="dense.weight"):
        sr.load(tmp_path / "missing.h5")
