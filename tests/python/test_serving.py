"""The batch top-k API (recommend_arrays) and ItemCF's exact sparse ranking against the dense
path: identical ranks and top-k on ties, empty histories and items unseen in training."""

import pickle

import numpy as np
import pytest

import sessrec as sr
from sessrec import _core
from sessrec.serving import dense_top_k


@pytest.fixture(scope="module", params=[True, False], ids=["fallback", "no_fallback"])
def itemcf(request, small_split):
    train, _, _ = small_split
    return sr.models.ItemCF(top_n=20, popularity_fallback=request.param).fit(train)


def random_csr(num_items, rows, seed):
    """Histories of 0-6 items (some empty), over the whole catalogue (cold items included)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, 7, rows)
    lengths[::9] = 0
    end = np.cumsum(lengths)
    items = rng.integers(0, num_items, end[-1]).astype(np.int32)
    return sr.SessionArrays(items, end - lengths, end)


@pytest.mark.parametrize("ties", ["pessimistic", "optimistic", "average"])
@pytest.mark.parametrize("exclude", [False, True])
def test_itemcf_sparse_ranks_equal_the_dense_ranks(itemcf, small_split, ties, exclude):
    test = small_split[2]
    ex = test.examples()
    examples = _core.ExampleSet(np.asarray(ex.begin), np.asarray(ex.end), np.asarray(ex.session))
    dense = _core.rank_examples(itemcf._scorer(), test.sessions, examples, ties, exclude)
    sparse = itemcf.rank(test, ties=ties, exclude_history=exclude, progress=False)
    np.testing.assert_array_equal(sparse, dense)
    # Ties are common (every item no neighbour reaches shares a fallback band).
    assert len(np.unique(dense)) < len(dense)


@pytest.mark.parametrize("exclude", [False, True])
def test_itemcf_sparse_top_k_equals_the_dense_top_k(itemcf, exclude):
    sessions = random_csr(itemcf.num_items, 400, seed=3)
    for k in (1, 20, itemcf.num_items):
        want = dense_top_k(itemcf, *sessions, k, exclude)
        got = itemcf.recommend_arrays(sessions, k, exclude_history=exclude)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
        assert got[0].dtype == np.int32 and got[1].dtype == np.float32
        assert got[0].shape == (len(sessions.end), k)


def test_recommend_arrays_agrees_with_recommend_batch(small_split):
    train = small_split[0]
    for model in (sr.models.POP().fit(train), sr.models.ItemCF(top_n=20).fit(train)):
        sessions = [[0, 5, 9], [3], [17, 17, 4]]
        top, scores = model.recommend_arrays(sessions, k=5)
        ids = [[model.catalog.id(int(i)) for i in s] for s in sessions]
        table = model.recommend_batch(ids, k=5)
        for r in range(len(sessions)):
            rows = table[table["session"] == r]
            assert list(rows["item_id"]) == [model.catalog.id(int(i)) for i in top[r]]
            np.testing.assert_array_equal(rows["score"].to_numpy(), scores[r])
        assert not np.isin(top[0], sessions[0]).any()


def test_itemcf_sparse_ranking_survives_save_and_pickle(small_split, tmp_path):
    train = small_split[0]
    model = sr.models.ItemCF(top_n=20).fit(train)
    sessions = random_csr(model.num_items, 50, seed=5)
    want = model.recommend_arrays(sessions, 10)
    model.save(tmp_path / "cf.h5")
    for again in (sr.load(tmp_path / "cf.h5"), pickle.loads(pickle.dumps(model))):
        got = again.recommend_arrays(sessions, 10)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


def test_recommend_arrays_refuses_bad_input(small_split):
    model = sr.models.ItemCF(top_n=20).fit(small_split[0])
    n = model.num_items
    with pytest.raises(ValueError, match="larger than the catalogue"):
        model.recommend_arrays([[1, 2]], k=n + 1)
    with pytest.raises(ValueError, match="positive"):
        model.recommend_arrays([[1, 2]], k=0)
    with pytest.raises(TypeError):
        model.recommend_arrays([[1, 2]], k=2.0)
    with pytest.raises(ValueError, match="outside the catalogue"):
        model.recommend_arrays([[1, n]], k=3)
    with pytest.raises(TypeError, match="integers"):
        model.recommend_arrays([[1.5, 2]], k=3)
    items = np.array([1, 2, 3], dtype=np.int32)
    with pytest.raises(ValueError, match="begin/end range"):
        model.recommend_arrays(sr.SessionArrays(items, np.array([0, 2]), np.array([2, 5])), k=3)
    with pytest.raises(ValueError, match="begin has"):
        model.recommend_arrays(sr.SessionArrays(items, np.array([0]), np.array([1, 2])), k=3)
    # Three sessions given as arrays stay three sessions (never read as CSR arrays).
    three = (np.array([1, 2]), np.array([3]), np.array([4, 5]))
    assert model.recommend_arrays(three, k=2)[0].shape == (3, 2)
    with pytest.raises(RuntimeError, match="not fitted"):
        sr.models.ItemCF().recommend_arrays([[1]], k=1)
