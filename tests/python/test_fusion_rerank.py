"""FusionRerank (KDD Cup 2023 §2.2) and its stages: the C++ edge-weight statistics, the graph
centralities, product fusion, leak-free ranker rows, scores, save/load and bad input."""

from collections import Counter

import numpy as np
import pytest

import sessrec as sr
from sessrec import _core
from sessrec.models import Recommender
from sessrec.rerank import graph_centralities
from sessrec.rerank.graph import katz_centrality
from test_contract import RecommenderContractMixin

CHEAP = dict(top_m=20, keep=30, folds=2, num_rounds=60)


class FixedScores(Recommender):
    """Every history gets the same catalogue scores (a hand-made retriever)."""

    name = "test_fixed_scores"

    def __init__(self, scores=()):
        super().__init__(scores=[float(s) for s in scores])

    def _fit(self, train):
        if len(self.params["scores"]) != train.num_items:
            raise ValueError("FixedScores: one score per catalogue item")

    def _score_arrays(self, items, begin, end):
        return np.tile(np.asarray(self.params["scores"], dtype=np.float32), (len(begin), 1))

    def _state(self):
        return {"scores": np.asarray(self.params["scores"], dtype=np.float32)}

    def _set_state(self, arrays):
        pass


class Memoriser(Recommender):
    """Remembers its training sessions: item y scores 1 after history h iff h + [y] starts a
    training session. A ranker row built with it from a session it was trained on would see
    the target flagged."""

    name = "test_memoriser"

    def _fit(self, train):
        items = np.asarray(train.sessions.items)
        offsets = np.asarray(train.sessions.offsets)
        self.sessions = [tuple(items[a:b]) for a, b in zip(offsets[:-1], offsets[1:])]

    def _score_arrays(self, items, begin, end):
        out = np.zeros((len(begin), self.num_items), dtype=np.float32)
        for r, (b, e) in enumerate(zip(begin, end)):
            history = tuple(items[b:e])
            for s in self.sessions:
                if len(s) > len(history) and s[:len(history)] == history:
                    out[r, s[len(history)]] = 1.0
        return out

    def _state(self):
        raise TypeError("the memoriser is not saved")


def tiny_dataset(num_items=6, num_sessions=40, seed=0):
    rng = np.random.default_rng(seed)
    sessions = [rng.integers(0, num_items, size=rng.integers(2, 6)).tolist()
                for _ in range(num_sessions)]
    items = np.concatenate([np.asarray(s, dtype=np.int32) for s in sessions])
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in sessions])]).astype(np.int64)
    store = _core.SessionStore(offsets, items, num_items=num_items)
    catalog = _core.Catalog([f"i{k}" for k in range(num_items)])
    return sr.Dataset("tiny", store, catalog)


# ---------------------------------------------------------------------------- C++ edge stats
def random_graph(rng, n, degree):
    offsets, indices, sims = [0], [], []
    for x in range(n):
        ys = rng.choice(np.delete(np.arange(n), x), size=rng.integers(0, degree + 1),
                        replace=False)
        indices += ys.tolist()
        sims += rng.uniform(0.01, 1.0, size=len(ys)).tolist()
        offsets.append(len(indices))
    return (np.asarray(offsets, np.int64), np.asarray(indices, np.int32),
            np.asarray(sims, np.float32))


def test_edge_weight_stats_hand_case():
    # 0 -> {1: 0.5, 2: 0.25}, 1 -> {0: 1.0}, 3 -> {1: 2.0}: edges {0,1} 1.5, {0,2} .25, {1,3} 2.
    g = _core.CooccurrenceGraph.from_neighbours(
        4, np.array([0, 2, 3, 3, 4]), np.array([1, 2, 0, 1], np.int32),
        np.array([0.5, 0.25, 1.0, 2.0], np.float32))
    stats = g.edge_weight_stats(np.array([0, 3, 0], np.int32), np.array([0]), np.array([3]),
                                np.array([[1, 2, 3, -1]], np.int32))
    np.testing.assert_allclose(stats[0], [[1.75, 2, 2.0, 0.25], [0.25, 1, 0.25, 0.0],
                                          [0, 0, 0, 0], [0, 0, 0, 0]], rtol=1e-6)


def test_edge_weight_stats_match_numpy_reference():
    rng = np.random.default_rng(3)
    n = 40
    offsets, indices, sims = random_graph(rng, n, 8)
    g = _core.CooccurrenceGraph.from_neighbours(n, offsets, indices, sims)
    directed = np.zeros((n, n))
    rows = np.repeat(np.arange(n), np.diff(offsets))
    directed[rows, indices] = sims
    weight = directed + directed.T
    lengths = rng.integers(1, 9, size=50)
    items = rng.integers(0, n, size=lengths.sum()).astype(np.int32)
    end = np.cumsum(lengths)
    begin = end - lengths
    cands = rng.integers(-1, n, size=(50, 12)).astype(np.int32)
    stats = g.edge_weight_stats(items, begin, end, cands)
    for r in range(50):
        distinct = np.unique(items[begin[r]:end[r]])
        for j, c in enumerate(cands[r]):
            w = weight[distinct, c] if c >= 0 else np.zeros(0)
            w = w[w > 0]
            expected = [w.mean(), len(w), w.max(), w.std()] if len(w) else [0, 0, 0, 0]
            np.testing.assert_allclose(stats[r, j], expected, rtol=1e-5, atol=1e-6)
    # The graph itself is the symmetrised directed lists.
    back = np.zeros((n, n))
    back[np.repeat(np.arange(n), np.diff(g.offsets)), g.neighbours] = g.weights
    np.testing.assert_allclose(back, weight, rtol=1e-6)


def test_edge_weight_stats_refuse_bad_input():
    g = _core.CooccurrenceGraph.from_neighbours(2, np.array([0, 1, 1]), np.array([1], np.int32),
                                                np.array([1.0], np.float32))
    with pytest.raises(ValueError, match="outside the catalogue"):
        g.edge_weight_stats(np.array([0], np.int32), np.array([0]), np.array([1]),
                            np.array([[5]], np.int32))
    with pytest.raises(ValueError, match="candidates must be"):
        g.edge_weight_stats(np.array([0], np.int32), np.array([0]), np.array([1]),
                            np.array([5], np.int32))


# ---------------------------------------------------------------------------- graph features
def test_graph_centralities_match_igraph_and_numpy():
    import igraph

    # A connected weighted graph on 5 nodes: 0-1 (2), 1-2 (1), 2-3 (1), 3-0 (0.5), 2-4 (3).
    edges = [(0, 1, 2.0), (1, 2, 1.0), (2, 3, 1.0), (3, 0, 0.5), (2, 4, 3.0)]
    n = 5
    offsets = np.zeros(n + 1, np.int64)
    lists = {x: [] for x in range(n)}
    for x, y, w in edges:  # directed lists with the weight on one side only
        lists[x].append((y, w))
    indices, sims = [], []
    for x in range(n):
        indices += [y for y, _ in lists[x]]
        sims += [w for _, w in lists[x]]
        offsets[x + 1] = len(indices)
    g = _core.CooccurrenceGraph.from_neighbours(n, offsets, np.array(indices, np.int32),
                                                np.array(sims, np.float32))
    got = graph_centralities(g)
    W = np.zeros((n, n))
    for x, y, w in edges:
        W[x, y] = W[y, x] = w
    np.testing.assert_allclose(got["degree_centrality"], (W > 0).sum(1) / (n - 1))
    # PageRank of a connected undirected weighted graph: pr = (1-d)/n + d * W (pr / strength).
    pr = np.full(n, 1 / n)
    for _ in range(500):
        pr = 0.15 / n + 0.85 * W @ (pr / W.sum(1))
    np.testing.assert_allclose(got["pagerank"], pr, rtol=1e-5)
    # Katz: x = alpha W x + 1 with alpha = 0.5 / lambda_max, unit L2 norm.
    alpha = 0.5 / np.linalg.eigvalsh(W).max()
    katz = np.linalg.solve(np.eye(n) - alpha * W, np.ones(n))
    np.testing.assert_allclose(got["katz"], katz / np.linalg.norm(katz), rtol=1e-6)
    np.testing.assert_allclose(katz_centrality(g, 0.5), got["katz"])
    # Betweenness with lengths max_w / w: exact igraph, and the cutoff estimate when forced.
    ig = igraph.Graph(n=n, edges=[(x, y) for x, y, _ in edges])
    lengths = [3.0 / w for _, _, w in edges]
    np.testing.assert_allclose(got["betweenness"], ig.betweenness(directed=False, weights=lengths))
    assert got["betweenness"][2] > 0 and got["betweenness"][4] == 0  # 4 is a leaf
    # The sampled estimate with every item as a source is the exact value; with fewer it is
    # the sources' share scaled up, and reproducible for a seed.
    everyone = graph_centralities(g, betweenness_exact_max_nodes=0, betweenness_sample=n)
    np.testing.assert_allclose(everyone["betweenness"], got["betweenness"], atol=1e-9)
    two = graph_centralities(g, betweenness_exact_max_nodes=0, betweenness_sample=2, seed=4)
    again = graph_centralities(g, betweenness_exact_max_nodes=0, betweenness_sample=2, seed=4)
    np.testing.assert_array_equal(two["betweenness"], again["betweenness"])
    assert (two["betweenness"] >= 0).all() and two["betweenness"][4] == 0


def test_sampled_betweenness_averages_to_the_exact_value():
    rng = np.random.default_rng(5)
    n = 30
    offsets, indices, sims = random_graph(rng, n, 3)
    g = _core.CooccurrenceGraph.from_neighbours(n, offsets, indices, sims)
    exact = graph_centralities(g)["betweenness"]
    mean = np.mean([graph_centralities(g, betweenness_exact_max_nodes=0, betweenness_sample=6,
                                       seed=seed)["betweenness"] for seed in range(150)], axis=0)
    assert abs(mean.sum() / exact.sum() - 1) < 0.05
    assert np.corrcoef(mean, exact)[0, 1] > 0.97


# -------------------------------------------------------------------------- product fusion
def test_product_fusion_orders_candidates_first_by_product():
    ds = tiny_dataset()
    train, _, _ = ds.split("time", valid=0.1, test=0.2)
    a = FixedScores([5, 4, 3, 2, 1, 0])
    b = FixedScores([0, 1, 5, 4, 3, 2])
    model = sr.models.FusionRerank([a, b], top_m=1, ranker=None, floor=1e-3).fit(train)
    scores = model.score([[0, 1]])[0]
    # Candidates: a's top-1 {0} and b's top-1 {2}. Minmax with floor f: p = f + (1-f) s / 5.
    # Products: 2: .6*1 = .6; 0: 1*f; outside: 3: .4*.8, 1: .8*.2, 4: .2*.6, 5: f*.4.
    assert list(np.argsort(-scores, kind="stable")) == [2, 0, 3, 1, 4, 5]
    assert scores[0] > 1 and scores[2] > scores[0]  # candidates in (1, 2]
    assert (scores[[1, 3, 4, 5]] <= 0).all()  # the rest: log of the product
    f = 1e-3
    p = lambda s: f + (1 - f) * s / 5
    np.testing.assert_allclose(scores[[3, 1, 4, 5]],
                               np.log([p(2) * p(4), p(4) * p(1), p(1) * p(3), p(0) * p(2)]),
                               rtol=1e-5)
    table = model.candidates([[0, 1]])
    assert table["item"].tolist() == [2, 0]


def test_quota_keeps_a_retrievers_top_item_that_the_product_drops():
    ds = tiny_dataset()
    train, _, _ = ds.split("time", valid=0.1, test=0.2)
    # b alone likes item 5, which a scores lowest: its product is a's floor times 1.
    a = FixedScores([5, 4, 3, 2, 1, 0])
    b = FixedScores([4, 3, 2, 1, 0, 5])
    common = dict(top_m=2, keep=2, ranker=None, floor=1e-3)
    paper = sr.models.FusionRerank([a, b], **common).fit(train)
    # Union {0, 1} u {5, 0}; products: 0: 1*.8, 1: .8*.6, 5: f*1 -> the paper keeps 0 and 1.
    assert paper.candidates([[0, 1]])["item"].tolist() == [0, 1]
    quota = sr.models.FusionRerank([a, b], quota=1, **common).fit(train)
    # a's top-1 (0) and b's top-1 (5) are reserved; the list stays in fused order.
    assert quota.candidates([[0, 1]])["item"].tolist() == [0, 5]
    top = np.argsort(-quota.score([[0, 1]])[0], kind="stable")
    assert list(top[:2]) == [0, 5]
    with pytest.raises(ValueError, match="quota"):
        sr.models.FusionRerank([a, b], top_m=2, keep=2, quota=2)
    with pytest.raises(ValueError, match="cannot exceed top_m"):
        sr.models.FusionRerank([a, b], top_m=2, keep=10, quota=3)
    with pytest.raises(ValueError, match="quota must be an integer"):
        sr.models.FusionRerank([a, b], quota=-1)


def test_candidates_outside_the_set_rank_below(small_split):
    train, _, test = small_split
    model = sr.models.FusionRerank([sr.models.ItemCF(top_n=50), sr.models.POP()], **CHEAP)
    model.fit(train, progress=False)
    histories = test.histories()[:40]
    scores = model.score(histories)
    in_set = scores > 1
    tops = [np.argsort(-r.score(histories), axis=1, kind="stable")[:, :20]
            for r in model.retrievers]
    union = np.array([len(set(a) | set(b)) for a, b in zip(*tops)])
    np.testing.assert_array_equal(in_set.sum(axis=1), np.minimum(union, 30))  # keep=30
    lowest_candidate = np.where(in_set, scores, np.inf).min(axis=1)
    highest_other = np.where(in_set, -np.inf, scores).max(axis=1)
    assert (lowest_candidate > highest_other).all()
    # Candidates' scores are distinct: 1 + (keep - position) / keep.
    for row in scores:
        top = np.sort(row[row > 1])[::-1]
        np.testing.assert_allclose(top, 1 + (30 - np.arange(len(top))) / 30, rtol=1e-6)


# ------------------------------------------------------------------------------ leakage
def test_ranker_rows_never_come_from_a_retriever_that_saw_the_session(small_split):
    train, _, _ = small_split
    model = sr.models.FusionRerank([Memoriser(), sr.models.POP()], **CHEAP)
    rows = model.out_of_fold_rows(train)
    column = model.feature_names.index("test_memoriser_score")
    target_rows = rows["label"] == 1
    memorised = rows["features"][target_rows, column]
    # Each example is a whole held-out session (its last position). A session that starts no
    # other training session could only be remembered if the memoriser had been fitted on it.
    items = np.asarray(train.sessions.items)
    offsets = np.asarray(train.sessions.offsets)
    counts = Counter(tuple(items[a:e]) for a, b in zip(offsets[:-1], offsets[1:])
                     for e in range(a + 1, b + 1))  # every prefix of every session
    whole = [tuple(h) + (t,) for h, t in zip(rows["histories"], rows["targets"])]
    unique = np.array([counts[s] == 1 for s in whole])
    assert unique.sum() > 50
    assert (memorised[unique] == 0).all()
    # The check can fail: a memoriser fitted on all of training flags every one of them.
    seen = Memoriser().fit(train)
    hist = [h for h, u in zip(rows["histories"], unique) if u]
    targets = rows["targets"][unique]
    assert (seen.score(hist)[np.arange(len(hist)), targets] == 1).all()
    # Every fold contributes rows; groups add up to the rows.
    assert set(rows["fold"]) == {0, 1}
    assert rows["group"].sum() == len(rows["label"]) == len(rows["features"])
    assert (np.add.reduceat(rows["label"], np.cumsum(rows["group"]) - rows["group"]) == 1).all()


# ------------------------------------------------------------------------ the whole model
@pytest.fixture(scope="module")
def fitted_all(small_split):
    train, valid, _ = small_split
    return sr.models.FusionRerank([sr.models.ItemCF(top_n=50), sr.models.POP()],
                                  **CHEAP).fit(train, valid, progress=False)


def test_save_load_round_trip_reproduces_scores(fitted_all, small_split, tmp_path):
    _, _, test = small_split
    fitted_all.save(tmp_path / "fr.h5")
    again = sr.load(tmp_path / "fr.h5")
    assert isinstance(again, sr.models.FusionRerank)
    histories = test.histories()[:60]
    np.testing.assert_array_equal(again.score(histories), fitted_all.score(histories))
    np.testing.assert_array_equal(again.rank(test, progress=False),
                                  fitted_all.rank(test, progress=False))
    product = sr.models.FusionRerank([sr.models.POP()], ranker=None, top_m=5).fit(
        small_split[0])
    product.save(tmp_path / "pf.h5")
    np.testing.assert_array_equal(sr.load(tmp_path / "pf.h5").score(histories),
                                  product.score(histories))


def test_neural_retriever_fits_per_fold_and_round_trips(small_split, tmp_path):
    train, valid, test = small_split
    gru = dict(dim=16, hidden=16, epochs=2, max_len=20, seed=0)
    model = sr.models.FusionRerank([sr.models.GRU4Rec(**gru), sr.models.ItemCF(top_n=50)],
                                   **CHEAP).fit(train, valid, progress=False)
    assert model.retrievers[0].epochs_done == 2
    assert model.feature_names[:2] == ["gru4rec_score", "gru4rec_rank"]
    model.save(tmp_path / "fr_gru.h5")
    again = sr.load(tmp_path / "fr_gru.h5")
    histories = test.histories()[:40]
    np.testing.assert_array_equal(again.score(histories), model.score(histories))


def test_pipeline_beats_the_worst_retriever(fitted_all, small_split):
    _, _, test = small_split
    ndcg = lambda m: sr.evaluate(m, test, k=(20,), progress=False).loc[("overall", "all"),
                                                                         "NDCG@20"]
    singles = [ndcg(r) for r in fitted_all.retrievers]
    assert ndcg(fitted_all) > min(singles) + 0.02
    # On this data (repeats and co-occurrence) the features carry it past the best one too.
    assert ndcg(fitted_all) > max(singles)


def test_feature_importances_and_plot(fitted_all, small_split, tmp_path):
    imp = fitted_all.feature_importances_
    assert list(imp.sort_values(ascending=False).index) == list(imp.index)
    assert set(imp.index) == set(fitted_all.feature_names)
    assert "edge_weight_mean" in imp.index and "pagerank" in imp.index
    assert imp.sum() > 0
    fig = sr.plot_feature_importances(fitted_all, top=10, path=tmp_path / "imp.png")
    assert (tmp_path / "imp.png").stat().st_size > 0
    assert len(fig.axes[0].patches) == 10
    product = sr.models.FusionRerank([sr.models.POP()], ranker=None).fit(small_split[0])
    with pytest.raises(ValueError, match="no ranker"):
        product.feature_importances()


def test_retriever_features_variant_has_only_retriever_columns(small_split):
    train, _, _ = small_split
    model = sr.models.FusionRerank([sr.models.ItemCF(top_n=50), sr.models.POP()],
                                   features="retriever", **CHEAP).fit(train, progress=False)
    assert model.feature_names == ["itemcf_score", "itemcf_rank", "pop_score", "pop_rank",
                                   "fused_score", "fused_rank"]
    # No hot or graph columns are computed for it.
    assert model.item_table is None
    assert list(model.timings_.index) == ["retrievers", "out_of_fold_rows", "ranker"]


def test_shared_ranker_rows_serve_both_gbdt_variants(small_split):
    train, _, test = small_split
    cf = sr.models.ItemCF(top_n=50).fit(train)
    common = dict(retrievers=[cf, sr.models.POP().fit(train)], refit_retrievers=False, **CHEAP)
    full = sr.models.FusionRerank(features="all", **common)
    rows = full.out_of_fold_rows(train)
    assert rows["feature_names"] == full.feature_names
    full.fit(train, rows=rows, progress=False)
    assert "out_of_fold_rows" not in full.timings_.index
    lean = sr.models.FusionRerank(features="retriever", **common).fit(train, rows=rows,
                                                                       progress=False)
    again = sr.models.FusionRerank(features="retriever", **common).fit(train, progress=False)
    histories = test.histories()[:30]
    np.testing.assert_array_equal(lean.score(histories), again.score(histories))
    with pytest.raises(ValueError, match="lack the features"):
        full.fit(train, rows=again.out_of_fold_rows(train))


def test_one_set_of_fold_fits_serves_models_with_other_candidate_settings(small_split):
    from sessrec.models.fusion_rerank import shared_out_of_fold_rows

    train, _, _ = small_split
    common = dict(retrievers=[sr.models.ItemCF(top_n=50), sr.models.POP()], **CHEAP)
    models = [sr.models.FusionRerank(features="all", **common),
              sr.models.FusionRerank(features="retriever", quota=5, **common)]
    shared = shared_out_of_fold_rows(models, train)
    for model, rows in zip(models, shared):
        alone = model.out_of_fold_rows(train)
        assert rows["feature_names"] == alone["feature_names"] == model.feature_names
        for key in ("features", "label", "group", "fold", "candidates", "targets"):
            np.testing.assert_array_equal(rows[key], alone[key], err_msg=key)
    # Reserved places change the candidates: POP's top-5 are in every quota row's group.
    assert not np.array_equal(shared[0]["candidates"], shared[1]["candidates"])
    with pytest.raises(ValueError, match=r"differs from model 0 in \['folds'\]"):
        shared_out_of_fold_rows([models[0], sr.models.FusionRerank(**{**common, "folds": 3})],
                                train)
    with pytest.raises(TypeError, match="FusionRerank"):
        shared_out_of_fold_rows([sr.models.POP()], train)


def test_given_fitted_retrievers_are_used_and_checked(small_split):
    train, _, test = small_split
    cf = sr.models.ItemCF(top_n=50).fit(train)
    model = sr.models.FusionRerank([cf], ranker=None, refit_retrievers=False).fit(train)
    assert model.retrievers[0] is cf
    other = sr.datasets.synthetic(num_items=50, num_sessions=300, seed=1).split("time")[0]
    foreign = sr.models.ItemCF().fit(other)
    with pytest.raises(ValueError, match="different catalogue"):
        sr.models.FusionRerank([foreign], ranker=None, refit_retrievers=False).fit(train)
    with pytest.raises(ValueError, match="not fitted"):
        sr.models.FusionRerank([sr.models.POP()], ranker=None, refit_retrievers=False).fit(train)


def test_bad_input_is_refused():
    FR = sr.models.FusionRerank
    with pytest.raises(ValueError, match="non-empty list of retrievers"):
        FR([])
    with pytest.raises(ValueError, match="non-empty list of retrievers"):
        FR()
    with pytest.raises(TypeError, match="Recommenders"):
        FR(["itemcf"])
    with pytest.raises(ValueError, match="top_m must be positive"):
        FR([sr.models.POP()], top_m=0)
    with pytest.raises(TypeError, match="top_m"):
        FR([sr.models.POP()], top_m=2.5)
    with pytest.raises(ValueError, match="keep must be positive"):
        FR([sr.models.POP()], keep=0)
    with pytest.raises(ValueError, match="ranker"):
        FR([sr.models.POP()], ranker="catboost")
    with pytest.raises(ValueError, match="features"):
        FR([sr.models.POP()], features="some")
    with pytest.raises(ValueError, match="scale"):
        FR([sr.models.POP()], scale="rank")
    with pytest.raises(ValueError, match="folds must be at least 2"):
        FR([sr.models.POP()], folds=1)
    with pytest.raises(ValueError, match="JSON"):
        FR([FixedScores([1, 2])], recent_share=0.1, graph_itemcf={"top_n": np.int64})
    with pytest.raises(TypeError, match="SessionSet"):
        FR([sr.models.POP()]).fit([[0, 1]])


class TestFusionRerankContract(RecommenderContractMixin):
    make = staticmethod(lambda: sr.models.FusionRerank(
        [sr.models.ItemCF(top_n=50), sr.models.POP()], **CHEAP))
