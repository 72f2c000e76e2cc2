"""Serving indexes for embedding models (sessrec.item_index): quantised tables re-scored
exactly, hnsw recall against exact search, the model API (build_index, save, pickle, fit) and
bad input."""

import pickle
import warnings

import numpy as np
import pytest

import sessrec as sr
from sessrec.item_index import ItemIndex, exact_recall, exact_top_k

# Recall@20 floor of hnsw on the random table below with a deliberately narrow search (M=8,
# ef=64, pool=20): measured 0.961-0.963 over five builds (two threads; the build order varies).
HNSW_RECALL_FLOOR = 0.9


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    items = rng.standard_normal((3000, 24)).astype(np.float32)
    items *= rng.uniform(0.5, 1.5, (3000, 1)).astype(np.float32)  # unequal norms
    queries = rng.standard_normal((64, 24)).astype(np.float32)
    return items, queries


@pytest.mark.parametrize("kind", ["int8", "bf16"])
def test_quantised_search_is_exact_with_a_full_pool(table, kind):
    items, queries = table
    index = ItemIndex(items, kind, pool=len(items))
    got_items, got_scores = index.search(queries, 20)
    want_items, want_scores = exact_top_k(items, queries, 20)
    np.testing.assert_array_equal(got_items, want_items)
    np.testing.assert_allclose(got_scores, want_scores, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["int8", "bf16"])
def test_quantised_search_with_a_small_pool_keeps_exact_scores(table, kind):
    items, queries = table
    index = ItemIndex(items, kind, pool=100)
    assert exact_recall(index, queries, 20) >= 0.98
    top, scores = index.search(queries, 20)
    np.testing.assert_allclose(scores, np.einsum("nd,nkd->nk", queries, items[top]), rtol=1e-5,
                               atol=1e-5)


def test_hnsw_recall_above_the_floor(table):
    items, queries = table
    index = ItemIndex(items, "hnsw", pool=20, M=8, ef_construction=50, ef=64, seed=1)
    assert exact_recall(index, queries, 20) >= HNSW_RECALL_FLOOR


def test_search_excludes_histories(table):
    items, queries = table
    truth, _ = exact_top_k(items, queries[:2], 5)
    history = truth[:, :2].reshape(-1).astype(np.int32)
    exclude = (history, np.array([0, 2]), np.array([2, 4]))
    for kind in ("int8", "hnsw"):
        top, _ = ItemIndex(items, kind, pool=200).search(queries[:2], 5, exclude)
        np.testing.assert_array_equal(top[:, :3], truth[:, 2:])


def test_bad_input_is_a_clear_value_error(table):
    items, queries = table
    index = ItemIndex(items[:50], "int8")
    with pytest.raises(ValueError, match="larger than the catalogue"):
        index.search(queries, 51)
    with pytest.raises(ValueError, match=r"queries must be \[n, 24\]"):
        index.search(queries[:, :10], 5)
    with pytest.raises(ValueError, match="kind"):
        ItemIndex(items, "int4")
    with pytest.raises(ValueError, match="pool"):
        ItemIndex(items, "int8", pool=0)
    with pytest.raises(ValueError, match="NaN"):
        ItemIndex(np.full((4, 3), np.nan, dtype=np.float32), "bf16")
    with pytest.raises(ValueError, match="item table"):
        ItemIndex(items[0], "int8")
    with pytest.raises(ValueError, match="columns"):
        sr._core.QuantisedItemTable(items, "int8").top_candidates(queries[:, :3], 5)


@pytest.fixture(scope="module")
def sasrec(small_split):
    model = sr.models.SASRec(dim=16, layers=1, heads=1, max_len=10, seed=0)
    return model.build(small_split[0])  # initial weights: enough to compare search paths


@pytest.mark.parametrize("kind", ["int8", "bf16", "hnsw"])
def test_model_index_gives_the_exact_top_k(sasrec, kind, tmp_path):
    rng = np.random.default_rng(1)
    sessions = [list(rng.integers(0, sasrec.num_items, 4)) for _ in range(30)]
    sasrec.drop_index()
    exact = sasrec.recommend_arrays(sessions, 10)
    sasrec.build_index(kind, pool=sasrec.num_items, ef=sasrec.num_items)
    try:
        got = sasrec.recommend_arrays(sessions, 10)
        np.testing.assert_array_equal(got[0], exact[0])
        np.testing.assert_allclose(got[1], exact[1], rtol=1e-5, atol=1e-6)
        assert sasrec.recommend([sasrec.catalog.id(1)], k=3)["item_id"].size == 3
        sasrec.save(tmp_path / "m.h5")
        for again in (sr.load(tmp_path / "m.h5"), pickle.loads(pickle.dumps(sasrec))):
            assert again.index.kind == kind
            np.testing.assert_array_equal(again.recommend_arrays(sessions, 10)[0], exact[0])
    finally:
        sasrec.drop_index()


def test_fit_drops_the_index(small_split):
    model = sr.models.GRU4Rec(dim=8, hidden=8, max_len=5, epochs=1, batch_size=512, seed=0)
    model.build(small_split[0]).build_index("bf16")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(small_split[0], progress=False)
    assert model.index is None
    assert any("build_index" in str(w.message) for w in caught)


def test_text_contrastive_serves_from_an_index(tmp_path):
    ds = sr.datasets.synthetic(num_items=80, num_sessions=300, seed=2)
    train = ds.split("time", valid=0.1, test=0.1)[0]
    model = sr.models.TextContrastive(epochs=1, vocab_size=200, dim=16, layers=1, heads=2,
                                      ffn_dim=32, max_tokens=32, threads=1)
    model.fit(train, progress=False)
    sessions = [[1, 2], [5], [7, 8, 9]]
    exact = model.recommend_arrays(sessions, 10)
    model.build_index("bf16", pool=model.num_items)
    got = model.recommend_arrays(sessions, 10)
    np.testing.assert_array_equal(got[0], exact[0])
    np.testing.assert_allclose(got[1], exact[1], rtol=1e-5, atol=1e-6)
    model.save(tmp_path / "tc.h5")
    assert sr.load(tmp_path / "tc.h5").index.kind == "bf16"
