"""Models, datasets and splits pickle and deep-copy; scikit-learn parameters (get_params,
set_params, clone); the evaluation table's accessors; the process-wide progress setting."""

import copy
import pickle

import numpy as np
import pandas as pd
import pytest

import sessrec as sr
from sessrec.tasks import NextItemUBM

SESSIONS = [[1, 2, 3], [4], [7, 7, 9, 11]]


def tiny_models():
    """One small model of each kind (C++ scorers, neural encoders, text towers, two networks)."""
    neural = dict(dim=8, epochs=1, batch_size=64)
    return {
        "pop": sr.models.POP(),
        "itemcf": sr.models.ItemCF(top_n=30, recency_decay=0.5),
        "vsknn": sr.models.SessionKNN(k=20, sample_size=100),
        "sasrec": sr.models.SASRec(layers=1, heads=1, ffn_dim=16, **neural),
        "gru4rec": sr.models.GRU4Rec(hidden=8, **neural),
        "nfrec-sum": sr.models.NFRec("sum", layers=1, heads=1, ffn_dim=16, text_dim=8, **neural),
        "alterrec": sr.models.AlterRec(m_random=1, m_max=2, dim=8, layers=1, heads=1, k2=40,
                                       k1=2, alpha=0.5),
    }


@pytest.fixture(scope="module")
def fitted(small_split):
    train, valid, _ = small_split
    out = {}
    for name, model in tiny_models().items():
        out[name] = (model.fit(train, valid, progress=False) if hasattr(model, "history_")
                     else model.fit(train))
    return out


@pytest.mark.parametrize("name", list(tiny_models()))
def test_pickle_and_deepcopy_reproduce_scores(fitted, name, small_split):
    model = fitted[name]
    expected = model.score(SESSIONS)
    for again in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        assert type(again) is type(model) and again.is_fitted
        assert again.get_params().keys() == model.get_params().keys()
        np.testing.assert_array_equal(again.score(SESSIONS), expected)
    # A round-tripped neural model keeps its history and early-stopping state.
    if hasattr(model, "history_"):
        again = pickle.loads(pickle.dumps(model))
        pd.testing.assert_frame_equal(again.history_, model.history_)


def test_pickled_model_evaluates_on_the_original_split(fitted, small_split):
    _, _, test = small_split
    again = pickle.loads(pickle.dumps(fitted["itemcf"]))
    assert sr.evaluate(again, test, k=(20,)).equals(sr.evaluate(fitted["itemcf"], test, k=(20,)))


MODEL_CLASSES = [
    lambda: sr.models.POP(), lambda: sr.models.ItemCF(), lambda: sr.models.SessionKNN(),
    lambda: sr.models.GRU4Rec(), lambda: sr.models.SASRec(heads=4), lambda: sr.models.MeanPool(),
    lambda: sr.models.TextOnly("gru4rec"), lambda: sr.models.NFRec("concat", encoder="mean"),
    lambda: sr.models.SideInfoGRU(side_fields=["brand"]),
    lambda: sr.models.AlterRec(p=2), lambda: sr.models.TextContrastive(layers=1),
    lambda: sr.models.LangEmb(),
    lambda: sr.models.FusionRerank(retrievers=[sr.models.ItemCF(top_n=10), sr.models.POP()]),
    lambda: NextItemUBM(epochs=3),
]


@pytest.mark.parametrize("make", MODEL_CLASSES)
def test_unfitted_models_pickle_and_clone_with_equal_params(make):
    model = make()
    for again in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model), model.clone()):
        assert type(again) is type(model) and not again.is_fitted
        assert repr(again.get_params()) == repr(model.get_params())
    assert repr(type(model)(**model.get_params()).get_params()) == repr(model.get_params())


def test_clone_of_a_fitted_model_is_unfitted_with_equal_params(fitted):
    for name in ("itemcf", "nfrec-sum"):
        model = fitted[name]
        twin = model.clone()
        assert not twin.is_fitted and twin.params == model.params
        assert twin.params is not model.params
    assert fitted["nfrec-sum"].clone().params["items"] == "sum"  # NFRec("sum") positional


def test_a_feature_matrix_survives_clone_and_pickle(small):
    matrix = np.random.default_rng(0).normal(size=(small.num_items, 5)).astype(np.float32)
    model = sr.models.TextOnly(text=matrix, dim=8)
    for again in (model.clone(), pickle.loads(pickle.dumps(model))):
        np.testing.assert_array_equal(again.get_params()["text"], matrix)
        assert again.params["text"] == "matrix"


def test_set_params_checks_names_and_values():
    model = sr.models.ItemCF()
    assert model.set_params(top_n=7, recency_decay=0.5) is model
    assert model.get_params()["top_n"] == 7 and model._config.top_n == 7
    with pytest.raises(ValueError, match="no parameter 'topn'"):
        model.set_params(topn=3)
    with pytest.raises(ValueError, match="no parameter 'bogus'"):
        sr.models.SASRec().set_params(bogus=1)
    sasrec = sr.models.SASRec(dim=16)
    with pytest.raises(ValueError, match="training must be"):
        sasrec.set_params(training="sideways")
    assert sasrec.params["training"] == "causal"  # unchanged after a refused value


def test_set_params_unfits_a_fitted_model(small_split):
    train, _, _ = small_split
    model = sr.models.POP().fit(train)
    itemcf = sr.models.ItemCF().fit(train)
    itemcf.set_params(top_n=5)
    assert not itemcf.is_fitted and model.is_fitted
    assert itemcf.fit(train).score([[1]]).shape == (1, train.num_items)


def test_dataset_and_split_pickle_and_deepcopy(small, small_split):
    train, valid, test = small_split
    for ds, parts in (pickle.loads(pickle.dumps((small, small_split))),
                      copy.deepcopy((small, small_split))):
        assert ds.stats().equals(small.stats())
        assert ds.catalog.ids() == small.catalog.ids()
        for field in small.catalog.categorical_fields():
            np.testing.assert_array_equal(ds.catalog.categorical(field)[0],
                                          small.catalog.categorical(field)[0])
        assert parts[0].catalog is parts[2].catalog  # shared inside one pickle
        np.testing.assert_array_equal(np.asarray(parts[2].sessions.items),
                                      np.asarray(test.sessions.items))
        assert parts[2].num_examples() == test.num_examples()
        np.testing.assert_array_equal(parts[1].target_items(), valid.target_items())
    model = sr.models.POP().fit(train)
    again = pickle.loads(pickle.dumps(test))
    assert sr.evaluate(model, again, k=(20,)).equals(sr.evaluate(model, test, k=(20,)))


def test_evaluation_table_accessors(fitted, small_split):
    _, _, test = small_split
    table = sr.evaluate(fitted["itemcf"], test, k=(10, 20))
    assert isinstance(table, pd.DataFrame)
    assert table.metric("NDCG@20") == table.loc[("overall", "all"), "NDCG@20"]
    assert table.metric("ndcg@20") == table.metric("NDCG@20")
    assert table.metric("Hits@10", group="cold") == table.loc[("cold", "cold"), "Hits@10"]
    assert table.metric("Hits@10", group="[0,30]") == table.loc[("popularity", "[0,30]"),
                                                                "Hits@10"]
    summary = table.summary()
    assert summary["NDCG@20"] == table.metric("NDCG@20") and summary.name == "itemcf"
    with pytest.raises(KeyError, match="no metric 'NDCG@5'"):
        table.metric("NDCG@5")
    with pytest.raises(KeyError, match="no row"):
        table.metric("NDCG@20", group="lukewarm")
    both = sr.compare({"ItemCF": fitted["itemcf"], "POP": fitted["pop"]}, test, k=(20,))
    by_model = both.metric("NDCG@20")
    assert list(by_model.index) == ["ItemCF", "POP"]
    assert by_model["POP"] == both.loc[("POP", "overall", "all"), "NDCG@20"]
    assert list(both.summary().index) == ["ItemCF", "POP"]


def test_set_progress_silences_every_default_bar(small_split, capsys):
    train, valid, test = small_split
    model = sr.models.MeanPool(dim=8, epochs=1)
    before = sr.get_progress()
    try:
        sr.set_progress(False)
        model.fit(train, valid)
        sr.evaluate(model, test, k=(20,))
        assert capsys.readouterr().err == ""
        sr.set_progress(True)
        sr.evaluate(model, test, k=(20,))
        assert "rank meanpool" in capsys.readouterr().err
        sr.set_progress(False)
        sr.evaluate(model, test, k=(20,), progress=True)  # an explicit argument wins
        assert "rank meanpool" in capsys.readouterr().err
    finally:
        sr.set_progress(before)
