"""SideInfoGRU (KDD Cup 2023 §2.1.2): without side fields it is GRU4Rec (plus the residual),
side information that predicts the next item is learned, price buckets and missing rows, files
round-trip, bad input is refused. The contract tests are in test_contract.py, the gradients in
tests/cpp/test_side_info_gru.cc and test_parity_side_info_gru.py."""

import numpy as np
import pytest

import sessrec as sr
from sessrec.models.side_info_gru import bucket_codes, quantile_edges

SMALL = dict(dim=16, hidden=16, max_len=20, epochs=2, seed=3, threads=1)


def test_default_side_fields_are_the_categorical_fields_and_price(small_split):
    train, _, _ = small_split
    model = sr.models.SideInfoGRU(**SMALL, price_buckets=4).build(train)
    assert model.side_fields_ == ["brand", "topic", "price"]
    brand_codes, brand_vocab = train.catalog.categorical("brand")
    # categorical rows: 0 missing, then one per vocabulary entry; price: 4 buckets + missing
    assert model.side_sizes_ == [len(brand_vocab) + 1, 21, 5]
    np.testing.assert_array_equal(model._side_codes[:, 0], np.asarray(brand_codes) + 1)
    assert set(model.core.parameter_names()) >= {"side_embedding.brand", "side_embedding.topic",
                                                 "side_embedding.price"}
    assert model.core.num_fields == 3


def test_without_side_fields_or_residual_it_is_gru4rec(small_split):
    train, valid, _ = small_split
    side = sr.models.SideInfoGRU(**SMALL, side_fields=[], residual=False).fit(
        train, valid, progress=False)
    gru = sr.models.GRU4Rec(**SMALL).fit(train, valid, progress=False)
    np.testing.assert_array_equal(side.history_["loss"], gru.history_["loss"])
    sessions = [[0, 1, 2], [5, 9]]
    np.testing.assert_array_equal(side.score(sessions), gru.score(sessions))


def test_without_side_fields_the_residual_adds_the_mean_item_embedding(small_split):
    train, _, _ = small_split
    plain = sr.models.SideInfoGRU(**SMALL, side_fields=[], residual=False).build(train)
    residual = sr.models.SideInfoGRU(**SMALL, side_fields=[], residual=True).build(train)
    residual.copy_parameters_from(plain)
    sessions = [[4, 8, 15, 16], [23]]
    table = plain.core.item_table()
    expected = np.stack([table[np.asarray(s) + 1].mean(0) for s in sessions])
    np.testing.assert_allclose(residual.encode(sessions) - plain.encode(sessions), expected,
                               atol=1e-6)


def test_it_learns_side_information_that_predicts_the_next_item():
    # Many rarely seen items in topic-coherent sessions: the topic row is shared by every item of
    # a topic and learned from all of them, the item rows are not.
    ds = sr.datasets.synthetic(num_items=2000, num_sessions=2000, seed=1, topic_drift=0.05,
                               zipf_exponent=0.5, with_queries=False)
    train, valid, _ = ds.split("time", valid=0.1, test=0.1)
    scores = {}
    for fields in ([], ["topic"]):
        model = sr.models.SideInfoGRU(dim=32, hidden=32, epochs=4, side_fields=fields, seed=0,
                                      threads=1).fit(train, valid, progress=False)
        scores[tuple(fields)] = model.history_["valid_NDCG@20"].max()
    assert scores[("topic",)] > 1.5 * scores[()], scores


def test_price_buckets_are_quantiles_of_the_items_seen_in_training():
    values = np.array([1.0, 2.0, 3.0, 4.0, np.nan, 100.0, 5.0, 6.0])
    seen = np.array([True, True, True, True, True, False, True, True])
    edges = quantile_edges(values, seen, 3)
    np.testing.assert_allclose(edges, np.quantile([1, 2, 3, 4, 5, 6], [1 / 3, 2 / 3]))
    codes = bucket_codes(values, edges)
    assert codes[4] == 0  # missing
    assert list(codes[[0, 1, 2, 3, 6, 7]]) == [1, 1, 2, 2, 3, 3]
    assert codes[5] == 3  # above every edge: the top bucket
    assert len(quantile_edges(values, seen, 1)) == 0


def test_side_data_arrays_with_missing_values_and_their_file_round_trip(small_split, tmp_path):
    train, valid, _ = small_split
    n = train.num_items
    rng = np.random.default_rng(0)
    colour = rng.integers(-1, 4, n)  # -1: missing
    weight = rng.uniform(1, 10, n)
    weight[::7] = np.nan
    model = sr.models.SideInfoGRU(**SMALL, side_fields=["brand"], price_buckets=5,
                                  side_data={"colour": colour, "weight": weight})
    model.fit(train, valid, progress=False)
    assert model.side_fields_ == ["brand", "colour", "weight"]
    assert model.side_sizes_[1] == int(colour.max()) + 2
    np.testing.assert_array_equal(model._side_codes[:, 1], colour + 1)
    assert (model._side_codes[::7, 2] == 0).all()
    assert model.params["side_data"] == ["colour", "weight"]
    path = tmp_path / "side.h5"
    model.save(path)
    again = sr.load(path)
    assert isinstance(again, sr.models.SideInfoGRU)
    assert again.side_fields_ == model.side_fields_ and again.side_sizes_ == model.side_sizes_
    np.testing.assert_array_equal(again.side_edges_["weight"], model.side_edges_["weight"])
    sessions = [[0, 1, 2], [7]]
    np.testing.assert_array_equal(again.score(sessions), model.score(sessions))


def test_checkpoint_resumes_exactly(small_split, tmp_path):
    train, valid, _ = small_split
    make = lambda: sr.models.SideInfoGRU(**{**SMALL, "epochs": 3}, patience=5)  # noqa: E731
    straight = make().fit(train, valid, progress=False)
    first = make().fit(train, valid, epochs=2, progress=False,
                       checkpoint=str(tmp_path / "c.h5"))
    assert first.epochs_done == 2
    resumed = sr.load(tmp_path / "c.h5").fit(train, valid, epochs=1, progress=False)
    np.testing.assert_array_equal(resumed.history_["loss"], straight.history_["loss"])
    sessions = [[3, 4, 5]]
    np.testing.assert_array_equal(resumed.score(sessions), straight.score(sessions))


def test_sampled_softmax_trains(small_split):
    train, valid, _ = small_split
    model = sr.models.SideInfoGRU(**SMALL, loss="sampled", num_negatives=32).fit(
        train, valid, progress=False)
    assert np.isfinite(model.history_["loss"]).all()
    assert model.history_["valid_NDCG@20"].iloc[-1] > 0.05


def test_refuses_bad_input(small_split):
    train, _, _ = small_split
    n = train.num_items
    with pytest.raises(ValueError, match=r"\['colour'\] are not fields of the catalogue"):
        sr.models.SideInfoGRU(**SMALL, side_fields=["brand", "colour"]).fit(train, progress=False)
    with pytest.raises(ValueError, match=r"side_data\['colour'\] has shape \(5,\); the "
                                         rf"catalogue has {n} items"):
        sr.models.SideInfoGRU(**SMALL, side_data={"colour": np.arange(5)}).fit(
            train, progress=False)
    with pytest.raises(ValueError, match=r"side_data\['colour'\]: integer codes must be >= 0 "
                                         r"or -1 \(missing\); item 3 has -2"):
        codes = np.zeros(n, dtype=np.int64)
        codes[3] = -2
        sr.models.SideInfoGRU(**SMALL, side_data={"colour": codes}).fit(train, progress=False)
    with pytest.raises(ValueError, match="integer codes or floats"):
        sr.models.SideInfoGRU(**SMALL, side_data={"colour": np.array(["a"] * n)}).fit(
            train, progress=False)
    with pytest.raises(ValueError, match="side_fields must be a list of field names"):
        sr.models.SideInfoGRU(side_fields="brand")
    with pytest.raises(ValueError, match="names a field twice"):
        sr.models.SideInfoGRU(side_fields=["brand", "brand"])
    with pytest.raises(ValueError, match="price_buckets must be a positive integer"):
        sr.models.SideInfoGRU(price_buckets=0)
    with pytest.raises(ValueError, match="residual must be True or False"):
        sr.models.SideInfoGRU(residual=1)
    with pytest.raises(ValueError, match="items='id'"):
        sr.models.SideInfoGRU(items="text")
    with pytest.raises(ValueError, match="holds no arrays"):
        sr.models.SideInfoGRU(**SMALL, side_data=["colour"]).fit(train, progress=False)
