"""UBM fine-tuning (sessrec.tasks.finetune, NextItemUBM) on small synthetic data: PIP and RLP
runs give finite metrics, PIP beats a constant predictor where purchases are predictable, the NIP
Recommender passes through sr.evaluate / sr.compare and beats random ranking, the epoch of lowest
validation loss is the one restored, runs repeat exactly, save/load, bad input is refused."""

import dataclasses

import numpy as np
import pytest

import sessrec as sr
from test_contract import RecommenderContractMixin
from sessrec import _core
from sessrec.dataset import Dataset
from sessrec.models.ubm import UBM

TINY = dict(dim=16, layers=1, session_layers=1, heads=2, ffn_dim=32, max_interactions=8,
            max_tokens_per_interaction=16, vocab_size=300, stage1_batch_size=32,
            stage2_batch_size=16, lr=3e-3, temperature=0.1, seed=1)
ADD, BUY, VIEW = 2, 3, 1  # the synthetic generator's action codes


def predictable_purchases(base: Dataset) -> Dataset:
    """The synthetic generator draws each event's action independently, so whether a session
    holds a purchase cannot be told from the events before it. Here a session ends in a purchase
    exactly when an add-to-cart happened before its last event (no other purchases): the PIP
    input of a positive holds an [ADD] token, a negative's never does."""
    store = base.sessions
    offsets = np.asarray(store.offsets)
    actions = np.asarray(store.actions).copy()
    actions[actions == BUY] = VIEW
    last = offsets[1:] - 1
    before_last = np.ones(len(actions), dtype=bool)
    before_last[last] = False
    has_add = np.maximum.reduceat((actions == ADD) & before_last, offsets[:-1]).astype(bool)
    actions[last[has_add]] = BUY
    new = _core.SessionStore(offsets, np.asarray(store.items), actions.astype(np.int8),
                             np.asarray(store.times), base.num_items)
    return Dataset("predictable", new, base.catalog, action_names=base.action_names,
                   queries=base.queries)


@pytest.fixture(scope="module")
def ds():
    return predictable_purchases(
        sr.datasets.synthetic(num_items=60, num_sessions=400, seed=3, add_share=0.08))


@pytest.fixture(scope="module")
def parts(ds):
    return ds.split("time", valid=0.2, test=0.2)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # One thread keeps these tests fast on a shared machine (thread counts: test_threads.py);
    # the count in force before is restored for the modules after this one.
    before = _core.get_num_threads()
    sr.set_num_threads(1)
    yield
    sr.set_num_threads(before)


@pytest.fixture(scope="module")
def ubm(ds):
    model = UBM(**TINY)
    model.pretrain(ds, stage=1, progress=False)
    model.pretrain(ds, stage=2, progress=False)
    return model


@pytest.fixture(scope="module")
def nip(ubm, parts):
    train, valid, _ = parts
    return sr.tasks.NextItemUBM(ubm, epochs=3, lr=1e-2, min_count=0, progress=False,
                                threads=1).fit(train, valid)


def test_pip_learns_predictable_purchases(ubm, parts):
    train, valid, test = parts
    before = {k: v.copy() for k, v in ubm.core.get_parameters().items()}
    tuned = sr.tasks.finetune(ubm, "pip", train, valid, epochs=15, lr=1e-2, batch_size=16,
                              progress=False, threads=1)
    metrics = tuned.evaluate(test)
    assert list(metrics.index) == ["accuracy", "auroc", "f1", "cohen_kappa"]
    assert np.isfinite(metrics.values).all()
    assert metrics["auroc"] > 0.75  # a constant predictor's AUROC is 0.5
    p = tuned.predict(test)
    assert ((p > 0) & (p < 1)).all() and len(p) == len(tuned.examples(test))
    # The pre-trained model passed in is left as it was; the tuned copy moved.
    after = ubm.core.get_parameters()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    tuned_params = tuned.ubm.core.get_parameters()
    assert any(not np.array_equal(before[k], tuned_params[k]) for k in before)


def test_rlp_metrics_are_finite_repeat_and_save(ubm, parts, ds, tmp_path):
    train, valid, test = parts
    runs = [sr.tasks.finetune(ubm, "rlp", train, valid, epochs=2, lr=3e-3, progress=False)
            for _ in range(2)]
    a, b = (r.evaluate(test) for r in runs)
    assert list(a.index) == ["mae", "mse", "msle", "r2"]
    assert np.isfinite(a.values).all()
    assert a.equals(b)  # deterministic per seed (same thread count)
    # save/load: the same predictions; another kind of file is refused.
    path = tmp_path / "rlp.h5"
    runs[0].save(path)
    again = sr.tasks.FineTuned.load(path, dataset=ds)  # the queries are not in the file
    assert again.task == "rlp" and again.best_epoch == runs[0].best_epoch
    np.testing.assert_array_equal(again.predict(test), runs[0].predict(test))
    assert again.evaluate(test).equals(a)
    runs[0].ubm.save(tmp_path / "ubm.h5")
    with pytest.raises(ValueError, match="not a"):
        sr.tasks.FineTuned.load(tmp_path / "ubm.h5")
    h = runs[0].history_
    assert list(h.columns) == ["epoch", "train_loss", "valid_loss", "seconds"]
    assert np.isfinite(h[["train_loss", "valid_loss"]].values).all()


def test_finetune_threads_apply_to_the_call_only(ubm, parts):
    train, valid, _ = parts
    assert _core.get_num_threads() == 1
    seen = []
    original = _core.ubm_task_train_step

    def spy(*args):
        seen.append(_core.get_num_threads())
        return original(*args)

    _core.ubm_task_train_step = spy
    try:
        sr.tasks.finetune(ubm, "rlp", train, valid, epochs=1, threads=2, progress=False)
    finally:
        _core.ubm_task_train_step = original
    assert seen and set(seen) == {2}
    assert _core.get_num_threads() == 1


def test_the_epoch_of_lowest_validation_loss_is_restored(ubm, parts):
    train, valid, _ = parts
    # A learning rate high enough to make later epochs worse on validation.
    tuned = sr.tasks.finetune(ubm, "pip", train, valid, epochs=4, lr=3e-2, progress=False)
    h = tuned.history_
    assert tuned.best_epoch == int(h["epoch"][h["valid_loss"].idxmin()])
    assert tuned.best_epoch < len(h)  # a later epoch was worse: the restore is exercised
    assert tuned.loss(valid) == pytest.approx(h["valid_loss"].min(), rel=1e-5)


def test_nip_through_evaluate_beats_random(nip, parts, tmp_path):
    train, valid, test = parts
    table = sr.evaluate(nip, test, k=(10, 20), progress=False)
    row = table.loc[("overall", "all")]
    assert row["Hits@20"] > 20 / nip.num_items + 0.15  # random ranking hits 20 of 60
    assert row["MRR@10"] > 0
    both = sr.compare({"ubm": nip, "pop": sr.models.POP().fit(train)}, test, k=(10,),
                      progress=False)
    assert both.loc[("ubm", "overall", "all"), "Hits@10"] == row["Hits@10"]
    # Scores of index histories and a save/load round trip.
    scores = nip.score([[1, 2, 3], [4]])
    assert scores.shape == (2, nip.num_items) and np.isfinite(scores).all()
    assert len(nip.recommend([train.catalog.id(5)], k=5)) == 5
    path = tmp_path / "nip.h5"
    nip.save(path)
    again = sr.load(path)
    np.testing.assert_allclose(again.score([[1, 2, 3]]), nip.score([[1, 2, 3]]), rtol=1e-6)
    h = nip.history_
    assert nip.best_epoch == int(h["epoch"][h["valid_loss"].idxmin()])


def test_nip_with_candidates_fixed_per_epoch_beats_random(ubm, parts):
    train, valid, test = parts
    model = sr.tasks.NextItemUBM(ubm, epochs=3, lr=1e-2, min_count=0, candidate_updates="epoch",
                                 progress=False).fit(train, valid)
    row = sr.evaluate(model, test, k=(20,), progress=False).loc[("overall", "all")]
    assert row["Hits@20"] > 20 / model.num_items + 0.15


def test_nip_candidates_and_filtered_parts(ubm, parts):
    train, valid, test = parts
    model = sr.tasks.NextItemUBM(ubm, epochs=1, lr=1e-2, min_count=5, progress=False)
    model.fit(train)
    again = sr.tasks.NextItemUBM(ubm, epochs=1, lr=1e-2, min_count=5, progress=False).fit(train)
    np.testing.assert_array_equal(model.score([[1, 2], [7]]), again.score([[1, 2], [7]]))
    counts = np.asarray(train.train_counts)
    assert np.array_equal(model.candidates, np.flatnonzero(counts >= 5))
    scores = model.score([[1, 2]])[0]
    outside = np.setdiff1d(np.arange(model.num_items), model.candidates)
    if len(outside):
        assert scores[outside].max() < scores[model.candidates].min()
    kept = sr.tasks.nip_examples(test, min_count=5)
    assert (counts[kept.target_items()] >= 5).all()
    assert kept.num_examples() <= test.num_examples()
    assert sr.evaluate(model, kept, k=(10,), progress=False).loc[("overall", "all"),
                                                                   "examples"] == len(kept.examples())


def test_bad_input_is_refused(ubm, parts, ds):
    train, valid, _ = parts
    with pytest.raises(ValueError, match="task"):
        sr.tasks.finetune(ubm, "nip", train, valid)
    with pytest.raises(ValueError, match="epochs"):
        sr.tasks.finetune(ubm, "pip", train, valid, epochs=0)
    with pytest.raises(ValueError, match="lr"):
        sr.tasks.finetune(ubm, "rlp", train, valid, lr=-1.0)
    with pytest.raises(TypeError):
        sr.tasks.finetune("not a ubm", "rlp", train, valid)
    with pytest.raises(ValueError, match="no examples"):
        sr.tasks.finetune(ubm, "rlp", train, valid, min_length=30, epochs=1, progress=False)
    with pytest.raises(ValueError, match="min_count"):
        sr.tasks.NextItemUBM(ubm, min_count=-1)
    with pytest.raises(ValueError, match="candidate_updates"):
        sr.tasks.NextItemUBM(ubm, candidate_updates="never")
    with pytest.raises(ValueError, match="needs a UBM"):
        sr.tasks.NextItemUBM().fit(train)
    with pytest.raises(ValueError, match="min_count"):
        sr.tasks.NextItemUBM(ubm, min_count=10**6, progress=False).fit(train)
    with pytest.raises(TypeError):
        sr.tasks.NextItemUBM(ubm).fit(ds)
    with pytest.raises(ValueError):  # labels not 0/1 reach the C++ check
        head = _core.UBMTaskHead("pip", dim=16, hidden=16)
        _core.ubm_task_train_step(ubm.core, head, np.array([0, 1]), np.array([0, 2]),
                                  np.array([1, 5], dtype=np.int32), np.array([0]),
                                  np.array([2.0], dtype=np.float32), 0, _core.Adam(),
                                  _core.Adam())


def _contract_model():
    # The contract's `small` dataset (tests/python/conftest.py), rebuilt: `make` takes no fixtures.
    small = sr.datasets.synthetic(num_items=300, num_sessions=2000, seed=7, cold_share=0.1,
                                  cold_period=0.1)
    return sr.tasks.NextItemUBM(UBM(**TINY), epochs=1, batch_size=64, lr=1e-2, min_count=0,
                                threads=1, dataset=small)


class TestNextItemUBMContract(RecommenderContractMixin):
    make = staticmethod(_contract_model)

    # rank() reads the histories' actions and queries, score() item indices alone: rank agrees
    # with score_examples, and with score once the part's actions are gone.
    def test_rank_agrees_with_score(self, fitted, small_split):
        _, _, test = small_split
        ranks = fitted.rank(test, progress=False)
        scores = fitted.score_examples(test)
        t = scores[np.arange(len(scores)), test.target_items()]
        np.testing.assert_array_equal(ranks, (scores >= t[:, None]).sum(1))
        store = test.sessions
        bare = dataclasses.replace(
            test, sessions=_core.SessionStore(np.asarray(store.offsets), np.asarray(store.items),
                                              None, None, test.num_items), _examples=None)
        scores = fitted.score(bare.histories()[:25])
        t = scores[np.arange(25), bare.target_items()[:25]]
        np.testing.assert_array_equal(fitted.rank(bare, progress=False)[:25],
                                      (scores >= t[:, None]).sum(1))

    # A loaded model reads queries again once given the Dataset (it is not in the file).
    def test_save_load_round_trip(self, fitted, small_split, tmp_path):
        path = tmp_path / "model.h5"
        fitted.save(path)
        again = sr.load(path)
        assert type(again) is type(fitted) and again.params == fitted.params
        np.testing.assert_array_equal(again.score([[1, 2, 3]]), fitted.score([[1, 2, 3]]))
        again.dataset = fitted.dataset
        _, _, test = small_split
        np.testing.assert_array_equal(again.rank(test, progress=False),
                                      fitted.rank(test, progress=False))
        assert not list(tmp_path.glob("*.tmp*"))
