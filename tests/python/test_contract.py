"""One contract, every model: fit, score, recommend, rank, save and load."""

import numpy as np
import pytest

import sessrec as sr


class RecommenderContractMixin:
    """Subclasses set ``make`` to build an unfitted model."""

    @staticmethod
    def make():
        raise NotImplementedError

    @pytest.fixture(scope="class")
    def fitted(self, small_split):
        train, _, _ = small_split
        model = self.make()
        return model.fit(train, progress=False) if hasattr(model, "history_") else model.fit(train)

    def test_fit_returns_self_and_sets_catalog(self, small_split):
        train, _, _ = small_split
        model = self.make()
        assert not model.is_fitted
        assert model.fit(train, progress=False) is model if hasattr(model, "history_") else (
            model.fit(train) is model
        )
        assert model.num_items == train.num_items

    def test_unfitted_model_refuses_to_score(self):
        with pytest.raises(RuntimeError, match="not fitted"):
            self.make().score([[0, 1]])

    def test_fit_rejects_non_split_input(self):
        with pytest.raises(TypeError):
            self.make().fit([[0, 1], [2, 3]])

    def test_score_shape_and_values(self, fitted):
        scores = fitted.score([[0, 1, 2], [5]])
        assert scores.shape == (2, fitted.num_items)
        assert scores.dtype == np.float32
        assert np.isfinite(scores).all()

    def test_score_rejects_empty_session_and_bad_index(self, fitted):
        with pytest.raises(ValueError, match="empty"):
            fitted.score([[0], []])
        with pytest.raises(ValueError, match="outside the catalogue"):
            fitted.score([[fitted.num_items]])

    def test_recommend_by_ids(self, fitted, small):
        ids = [small.catalog.id(i) for i in (3, 4, 5)]
        top = fitted.recommend(ids, k=10)
        assert list(top.columns[:3]) == ["rank", "item_id", "score"]
        assert len(top) == 10
        assert top["score"].is_monotonic_decreasing
        assert set(top["item_id"]) <= set(small.catalog.ids())
        # By default the session's own items are left out (exclude_history=True).
        assert not set(top["item_id"]) & set(ids)
        scores = fitted.score([[3, 4, 5]])[0]
        scores[[3, 4, 5]] = -np.inf
        best = small.catalog.id(int(np.argmax(scores)))
        assert top["item_id"].iloc[0] == best

    def test_recommend_exclude_history(self, fitted, small):
        ids = [small.catalog.id(i) for i in range(20)]
        top = fitted.recommend(ids, k=15, exclude_history=True)
        assert not set(top["item_id"]) & set(ids)

    def test_recommend_unknown_id_and_empty_session(self, fitted):
        with pytest.raises(KeyError, match="no-such-item"):
            fitted.recommend(["no-such-item"])
        with pytest.raises(ValueError, match="empty"):
            fitted.recommend([])
        with pytest.raises(ValueError):
            fitted.recommend(["i1"], k=0)

    def test_rank_agrees_with_score(self, fitted, small_split):
        _, _, test = small_split
        ranks = fitted.rank(test, progress=False)
        histories = test.histories()[:25]
        scores = fitted.score(histories)
        targets = test.target_items()[:25]
        t = scores[np.arange(25), targets]
        expected = 1 + (scores > t[:, None]).sum(1) + (scores == t[:, None]).sum(1) - 1
        np.testing.assert_array_equal(ranks[:25], expected)

    def test_save_load_round_trip(self, fitted, small_split, tmp_path):
        path = tmp_path / "model.h5"
        fitted.save(path)
        again = sr.load(path)
        assert type(again) is type(fitted)
        assert again.params == fitted.params
        np.testing.assert_array_equal(again.score([[1, 2, 3]]), fitted.score([[1, 2, 3]]))
        _, _, test = small_split
        np.testing.assert_array_equal(
            again.rank(test, progress=False), fitted.rank(test, progress=False)
        )
        assert not list(tmp_path.glob("*.tmp*"))  # atomic write leaves no temporary file

    def test_load_rejects_corrupt_and_foreign_files(self, fitted, tmp_path, small):
        path = tmp_path / "model.h5"
        fitted.save(path)
        data = path.read_bytes()
        (tmp_path / "cut.h5").write_bytes(data[: len(data) // 2])
        with pytest.raises(ValueError, match="cut.h5"):
            sr.load(tmp_path / "cut.h5")
        (tmp_path / "junk.h5").write_bytes(b"\x89HDF\r\n" + b"x" * 100)
        with pytest.raises(ValueError, match="junk.h5"):
            sr.load(tmp_path / "junk.h5")
        small.save(tmp_path / "dataset.h5")
        with pytest.raises(ValueError, match="not a sessrec-model"):
            sr.load(tmp_path / "dataset.h5")
        with pytest.raises(ValueError, match="no readable file"):
            sr.load(tmp_path / "missing.h5")

    def test_catalogue_mismatch_is_refused(self, fitted):
        other = sr.datasets.synthetic(num_items=50, num_sessions=300, seed=1)
        _, _, test = other.split("time")
        with pytest.raises(ValueError, match="different catalogue"):
            fitted.rank(test, progress=False)


class TestPOP(RecommenderContractMixin):
    make = staticmethod(lambda: sr.models.POP())


class TestItemCF(RecommenderContractMixin):
    make = staticmethod(lambda: sr.models.ItemCF(top_n=50))


class TestSessionKNN(RecommenderContractMixin):
    make = staticmethod(lambda: sr.models.SessionKNN(k=50, sample_size=200))


class TestGRU4Rec(RecommenderContractMixin):
    make = staticmethod(lambda: sr.models.GRU4Rec(dim=16, hidden=16, epochs=2, max_len=20))


class TestSASRec(RecommenderContractMixin):
    make = staticmethod(lambda: sr.models.SASRec(dim=16, layers=1, heads=2, ffn_dim=32, epochs=2,
                                                 max_len=20))


class TestMeanPool(RecommenderContractMixin):
    make = staticmethod(lambda: sr.models.MeanPool(dim=16, epochs=2, max_len=20))


class TestTextOnly(RecommenderContractMixin):
    make = staticmethod(lambda: sr.models.TextOnly(dim=16, layers=1, heads=2, ffn_dim=32,
                                                   epochs=2, max_len=20, text_dim=16,
                                                   text_hidden=(32,)))


class TestTextOnlySubword(RecommenderContractMixin):
    make = staticmethod(lambda: sr.models.TextOnly(encoder="meanpool", dim=16, epochs=2,
                                                   max_len=20, text="subword", vocab_size=200,
                                                   token_dim=16))


class TestNFRecSum(RecommenderContractMixin):
    make = staticmethod(lambda: sr.models.NFRec("sum", dim=16, layers=1, heads=2, ffn_dim=32,
                                                epochs=2, max_len=20, text_dim=16))


class TestNFRecConcat(RecommenderContractMixin):
    make = staticmethod(lambda: sr.models.NFRec("concat", encoder="gru4rec", dim=16, hidden=16,
                                                epochs=2, max_len=20, text_dim=16))


class TestAlterRec(RecommenderContractMixin):
    make = staticmethod(lambda: sr.models.AlterRec(dim=16, layers=1, heads=2, ffn_dim=32,
                                                   max_len=20, text_dim=16, m_random=1, m_gap=1,
                                                   m_max=4, k1=5, k2=60, p=2, alpha=0.5))


class TestTextContrastive(RecommenderContractMixin):
    make = staticmethod(lambda: sr.models.TextContrastive(
        vocab_size=300, dim=16, layers=1, heads=2, ffn_dim=32, max_tokens=32, epochs=1,
        queue_capacity=32, momentum=0.9))


class TestLangEmb(RecommenderContractMixin):
    make = staticmethod(lambda: sr.models.LangEmb(
        vocab_size=300, dim=16, layers=1, heads=2, ffn_dim=32, max_tokens=32, epochs=1,
        queue_capacity=32))


class TestSideInfoGRU(RecommenderContractMixin):
    make = staticmethod(lambda: sr.models.SideInfoGRU(dim=16, hidden=16, epochs=2, max_len=20,
                                                      price_buckets=5))
