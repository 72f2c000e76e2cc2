"""Item towers (text-only, NFRec), hard-negative mining and AlterRec."""

import numpy as np
import pandas as pd
import pytest

import sessrec as sr
from sessrec import _core


def ranks_by_score(scores):
    """0-based rank of every item per row: best first, ties by index (the C++ order)."""
    order = np.lexsort((np.arange(scores.shape[1])[None, :].repeat(len(scores), 0), -scores))
    ranks = np.empty_like(order)
    rows = np.arange(len(scores))[:, None]
    ranks[rows, order] = np.arange(scores.shape[1])[None, :]
    return ranks


def test_mined_candidates_follow_the_rank_window():
    rng = np.random.default_rng(0)
    rows, n = 40, 200
    scores = rng.normal(size=(rows, n)).astype(np.float32)
    scores[:, 10] = scores[:, 11]  # a tie, broken by index
    targets = rng.integers(1, n + 1, size=rows).astype(np.int32)
    cand, label = _core.mine_candidates(scores, n, targets, k1=5, k2=50, num_hard=20,
                                        num_random=10, num_aug=3, aug_weight=0.25, seed=3)
    assert cand.shape == label.shape == (rows, 1 + 3 + 20 + 10)
    ranks = ranks_by_score(scores)
    for r in range(rows):
        assert cand[r, 0] == targets[r] and label[r, 0] == 1.0
        best = [i + 1 for i in np.argsort(ranks[r])[:4] if i + 1 != targets[r]][:3]
        assert list(cand[r, 1:4]) == best
        assert np.all(label[r, 1:4] == 0.25)
        hard = cand[r, 4:24]
        kept = hard[hard > 0]
        assert len(set(kept)) == len(kept)  # without replacement
        assert np.all((ranks[r, kept - 1] >= 5) & (ranks[r, kept - 1] < 50))
        assert targets[r] not in kept
        assert len(kept) >= 19  # only the target itself is ever dropped
        rand = cand[r, 24:]
        assert np.all((rand == -1) | ((rand >= 1) & (rand <= n)))
        assert targets[r] not in rand
        assert np.all(label[r, 4:] == 0)
    again, _ = _core.mine_candidates(scores, n, targets, k1=5, k2=50, num_hard=20, num_random=10,
                                     num_aug=3, aug_weight=0.25, seed=3)
    np.testing.assert_array_equal(cand, again)


def test_without_teacher_every_negative_is_random_and_windows_must_fit():
    targets = np.array([1, 2, 3], dtype=np.int32)
    cand, label = _core.mine_candidates(None, 30, targets, k1=5, k2=5000, num_hard=8,
                                        num_random=4, num_aug=2)
    assert cand.shape == (3, 13)  # no augmentation without a teacher; hard slots become random
    scores = np.tile(np.arange(30, dtype=np.float32)[::-1], (3, 1))  # item i has rank i
    # A window beyond the catalogue is refused, never cut silently (AlterRec fits it, and says so).
    with pytest.raises(ValueError, match="k2=5000 does not fit a catalogue of 30 items"):
        _core.mine_candidates(scores, 30, targets, k1=5, k2=5000, num_hard=100, num_random=0)
    cand, _ = _core.mine_candidates(scores, 30, targets, k1=5, k2=30, num_hard=100,
                                    num_random=0)
    # The window holds ranks 5..29, and the 75 hard negatives it cannot supply are drawn at
    # random instead, so every row keeps 100 negatives.
    assert cand.shape[1] == 1 + 100
    hard = cand[:, 1:26]
    for r in range(3):
        assert sorted(hard[r][hard[r] > 0]) == [i for i in range(6, 31) if i != targets[r]]


@pytest.mark.parametrize("bad", [dict(k1=5, k2=5), dict(num_hard=0, num_random=0),
                                 dict(num_aug=5), dict(aug_weight=-1.0)])
def test_mining_settings_are_validated(bad):
    settings = dict(k1=5, k2=50, num_hard=4, num_random=4, num_aug=0, aug_weight=0.1)
    settings.update(bad)
    with pytest.raises(ValueError, match="mining"):
        _core.mine_candidates(np.zeros((1, 60), np.float32), 60, np.array([1], np.int32),
                              **settings)


@pytest.mark.parametrize("fusion", ["sum", "concat"])
def test_nfrec_scores_decompose_into_id_and_text_parts(small_split, fusion):
    train, _, test = small_split
    model = sr.models.NFRec(fusion, dim=16, layers=1, heads=2, ffn_dim=32, epochs=1, max_len=20,
                            text_dim=16).fit(train, progress=False)
    sessions = [[1, 2, 3], [4], [5, 6]]
    whole = model.score(sessions)
    parts = model.part("id").score(sessions) + model.part("text").score(sessions)
    np.testing.assert_allclose(whole, parts, rtol=1e-4, atol=1e-4)
    assert not np.allclose(model.part("id").score(sessions), model.part("text").score(sessions))
    table = sr.evaluate(model.part("text"), test, k=(10,), progress=False)
    assert 0 <= table.loc[("overall", "all"), "Hits@10"] <= 1


def test_part_needs_a_fused_model(small_split):
    train, _, _ = small_split
    model = sr.models.TextOnly(encoder="meanpool", dim=8, epochs=1, text_dim=8)
    model.fit(train, progress=False)
    with pytest.raises(ValueError, match="no ID/text parts"):
        model.part("id")


def test_text_tower_inputs_are_validated(small):
    n = len(small.catalog)
    with pytest.raises(ValueError, match="rows"):
        sr.models.TextOnly(text=np.zeros((n - 1, 4), np.float32), epochs=1).fit(
            small.split("time", valid=0.1, test=0.1)[0], progress=False)
    with pytest.raises(ValueError, match="items must be"):
        sr.models.SASRec(items="image")
    with pytest.raises(ValueError, match="2-D"):
        sr.models.TextOnly(text=np.zeros(5))
    with pytest.raises(ValueError, match="only used with items="):
        sr.models.SASRec(text=np.zeros((n, 4), np.float32))
    with pytest.raises(ValueError, match="feature matrix has"):
        _core.SASRec(n, tower={"kind": "text", "features": np.zeros((n, 3), np.float32)[:-1]})
    with pytest.raises(ValueError, match="unknown setting"):
        _core.SASRec(n, tower={"kind": "text", "colour": 1})


def test_user_matrix_features_round_trip(small_split, tmp_path):
    train, _, _ = small_split
    n = len(train.catalog)
    features = np.random.default_rng(0).normal(size=(n, 12)).astype(np.float32)
    model = sr.models.TextOnly(encoder="meanpool", dim=8, epochs=1, text=features)
    model.fit(train, progress=False)
    model.save(tmp_path / "m.h5")
    again = sr.load(tmp_path / "m.h5")
    np.testing.assert_allclose(again.score([[1, 2]]), model.score([[1, 2]]), rtol=1e-5)


def test_text_models_reach_cold_targets_where_id_models_cannot():
    """Cold items occur only in test sessions; titles share topic words with warm items."""
    data = sr.datasets.synthetic(num_items=400, num_sessions=4000, seed=1, cold_share=0.15,
                                 cold_period=0.15, topic_drift=0.05, with_queries=False)
    train, valid, test = data.split("time", valid=0.05, test=0.15)
    common = dict(dim=32, max_len=20, epochs=4, seed=0)
    text = sr.models.TextOnly(encoder="meanpool", text="subword", vocab_size=300, **common)
    ids = sr.models.MeanPool(**common)
    text.fit(train, progress=False)
    ids.fit(train, progress=False)
    cold_text = sr.evaluate(text, test, k=(20,), progress=False).loc[("cold", "cold"), "Hits@20"]
    cold_ids = sr.evaluate(ids, test, k=(20,), progress=False).loc[("cold", "cold"), "Hits@20"]
    assert cold_text > 0.05
    assert cold_text > 3 * cold_ids


def test_alterrec_schedule_follows_algorithm_1():
    model = sr.models.AlterRec(m_random=2, m_gap=3, m_max=12)
    got = [model.schedule(e) for e in range(12)]
    assert got == [("id", False), ("id", False), ("text", False), ("text", False),
                   ("id", True), ("id", True), ("id", True), ("text", True), ("text", True),
                   ("text", True), ("id", True), ("id", True)]
    random_only = sr.models.AlterRec(m_random=1, m_gap=1, negatives="random")
    assert all(not hard for _, hard in (random_only.schedule(e) for e in range(6)))
    assert sr.models.AlterRec().mining_window(3634) == dict(
        k1=45, k2=908, num_hard=431, num_random=432, num_aug=0, aug_weight=0.5,
        separate_positives=True)
    assert sr.models.AlterRec(p=4).mining_window(100_000)["k1"] == 50


def test_alterrec_trains_in_turn_and_records_each_network(small_split):
    train, valid, test = small_split
    model = sr.models.AlterRec(dim=16, layers=1, heads=2, ffn_dim=32, max_len=20, text_dim=16,
                               m_random=1, m_gap=1, m_max=4, k1=5, k2=60, p=2, seed=0)
    model.fit(train, valid, progress=False)
    h = model.history_
    assert list(h["network"]) == ["id", "text", "id", "text"]
    assert list(h["negatives"]) == ["random", "random", "hard", "hard"]
    assert (h.loc[h["negatives"] == "hard", "mining_seconds"] > 0).all()
    for name in ("id", "text", "fused"):
        assert f"valid_{name}_NDCG@20" in h
    # The blend is alpha * y_ID + (1 - alpha) * y_text of the two networks' own scores, with
    # alpha chosen on the validation part (the default alpha="valid").
    assert model.alpha_ in sr.models.alterrec.ALPHA_GRID
    assert set(h["alpha"]) <= set(sr.models.alterrec.ALPHA_GRID)
    sessions = [[1, 2, 3], [7]]
    a = model.alpha_
    y_text = model.network("text").score(sessions)
    blend = np.where(model.text_only_items_.astype(bool), y_text,
                     a * model.network("id").score(sessions) + (1 - a) * y_text)
    np.testing.assert_allclose(model.score(sessions), blend, rtol=1e-5, atol=1e-5)
    # Same seed, same threads: the same model.
    again = sr.models.AlterRec(dim=16, layers=1, heads=2, ffn_dim=32, max_len=20, text_dim=16,
                               m_random=1, m_gap=1, m_max=4, k1=5, k2=60, p=2, seed=0)
    again.fit(train, valid, progress=False)
    np.testing.assert_array_equal(again.score(sessions), model.score(sessions))


def test_alterrec_alpha_search_agrees_with_evaluate(small_split):
    """The alpha grid's ranks come from the networks' score matrices in Python; they must give
    what sr.evaluate gives through the C++ blend: alpha 0 = the text network, and the chosen
    alpha and alpha 1 = the fitted blend at those weights; the chosen one is the grid's best."""
    train, valid, _ = small_split
    small = dict(dim=16, layers=1, heads=2, ffn_dim=32, max_len=20, text_dim=16, m_random=1,
                 m_gap=1, m_max=3, k1=5, k2=60, seed=3)
    model = sr.models.AlterRec(**small).fit(train, valid, progress=False)
    grid = model.validation_by_alpha(valid)
    assert sorted(grid) == list(sr.models.alterrec.ALPHA_GRID)

    def ndcg(m):
        return sr.evaluate(m, valid, k=(20,), progress=False).loc[("overall", "all"), "NDCG@20"]

    assert grid[0.0] == pytest.approx(ndcg(model.network("text")), abs=1e-9)
    assert grid[model.alpha_] == pytest.approx(ndcg(model), abs=1e-3)
    assert grid[model.alpha_] == max(grid.values())
    chosen, model.alpha_ = model.alpha_, 1.0  # the ID network, and text for untrained items
    assert grid[1.0] == pytest.approx(ndcg(model), abs=1e-9)
    model.alpha_ = chosen
    # A fixed alpha stays fixed, is reported in the history and is saved with the model.
    fixed = sr.models.AlterRec(alpha=0.3, **small).fit(train, valid, progress=False)
    assert fixed.alpha_ == 0.3 and set(fixed.history_["alpha"]) == {0.3}
    with pytest.warns(UserWarning, match="validation"):
        sr.models.AlterRec(**small).fit(train, epochs=1, progress=False)


def test_alterrec_rejects_bad_settings():
    with pytest.raises(ValueError, match="k1 < k2"):
        sr.models.AlterRec(k1=10, k2=10)
    with pytest.raises(ValueError, match="negatives"):
        sr.models.AlterRec(negatives="semi")
    with pytest.raises(ValueError, match="alpha"):
        sr.models.AlterRec(alpha=1.5)


def test_alterrec_curves_plot(small_split, tmp_path):
    train, valid, _ = small_split
    model = sr.models.AlterRec(dim=8, layers=1, heads=1, ffn_dim=16, max_len=10, text_dim=8,
                               m_random=1, m_gap=1, m_max=3, k1=5, k2=40)
    with pytest.raises(RuntimeError, match="not fitted"):
        model.network("id")
    model.fit(train, valid, progress=False)
    fig = sr.plot_alterrec_curves(model, tmp_path / "fig5.png")
    assert (tmp_path / "fig5.png").stat().st_size > 0
    assert len(fig.axes[0].lines) == 3
    with pytest.raises(ValueError, match="validation"):
        sr.plot_alterrec_curves(sr.models.AlterRec().fit(train, epochs=0, progress=False))


def test_alterrec_resumes_mid_schedule_exactly(small_split, tmp_path):
    """Saved after 3 of 5 epochs (mid-way through the hard-negative phase) and loaded, AlterRec
    continues the schedule and ends with the weights of an uninterrupted run: the epoch counter,
    both networks' Adam states, step counters (the mining RNG) and alpha are all in the file."""
    train, _, _ = small_split
    small = dict(dim=16, layers=1, heads=2, ffn_dim=32, max_len=20, text_dim=16, m_random=1,
                 m_gap=1, m_max=5, k1=5, k2=60, p=2, alpha=0.4, seed=2)
    straight = sr.models.AlterRec(**small).fit(train, progress=False)
    first = sr.models.AlterRec(**small).fit(train, epochs=3, progress=False)
    first.save(tmp_path / "alter.h5")
    resumed = sr.load(tmp_path / "alter.h5")
    assert resumed.epochs_done == 3 and resumed.alpha_ == 0.4
    resumed.fit(train, progress=False)  # the remaining m_max - 3 epochs
    assert list(resumed.history_["network"]) == list(straight.history_["network"])
    for name in ("id", "text"):
        a = straight.networks[name]._core.get_parameters()
        b = resumed.networks[name]._core.get_parameters()
        assert all(np.array_equal(a[k], b[k]) for k in a), name


def test_alterrec_resume_with_early_stopping_continues_from_the_last_epoch(small_split, tmp_path):
    """With validation, the model in memory (and sr.load of its file) scores with the best
    epoch's weights and alpha, while fit continues from the last epoch's, with the saved history
    and patience: a loaded model ends where the uninterrupted one does."""
    train, valid, _ = small_split
    small = dict(dim=16, layers=1, heads=2, ffn_dim=32, max_len=20, text_dim=16, m_random=1,
                 m_gap=1, m_max=6, k1=5, k2=60, seed=0, lr=1e-2, patience=10)
    first = sr.models.AlterRec(**small).fit(train, valid, epochs=4, progress=False)
    assert first.early_stopping_.resume is not None  # epoch 3 beat epoch 4: best != last
    first.save(tmp_path / "alter.h5")
    loaded = sr.load(tmp_path / "alter.h5")
    pd.testing.assert_frame_equal(loaded.history_, first.history_)
    assert loaded.early_stopping_.state() == first.early_stopping_.state()
    sessions = [[1, 2, 3], [4]]
    np.testing.assert_array_equal(loaded.score(sessions), first.score(sessions))
    assert loaded.alpha_ == first.alpha_
    first.fit(train, valid, progress=False)
    loaded.fit(train, valid, progress=False)
    timing = ["seconds", "examples_per_s", "mining_seconds"]
    pd.testing.assert_frame_equal(loaded.history_.drop(columns=timing),
                                  first.history_.drop(columns=timing))
    assert len(loaded.history_) == 6
    np.testing.assert_array_equal(loaded.score(sessions), first.score(sessions))
    best = loaded.history_["valid_fused_NDCG@20"].to_numpy()
    assert loaded.early_stopping_.state()["score"] == best.max()


def test_alterrec_blend_recommends_items_never_seen_in_training():
    """Items absent from the training part are scored by the text network alone, so the blend
    reaches cold targets even when it leans on the ID network (alpha near 1)."""
    data = sr.datasets.synthetic(num_items=400, num_sessions=4000, seed=1, cold_share=0.15,
                                 cold_period=0.15, topic_drift=0.05, with_queries=False)
    train, valid, test = data.split("time", valid=0.05, test=0.15)
    model = sr.models.AlterRec(dim=16, layers=1, heads=2, ffn_dim=32, max_len=20, text_dim=16,
                               text="subword", vocab_size=300, m_random=2, m_gap=1, m_max=5,
                               k1=5, k2=60, alpha=0.9, seed=0).fit(train, progress=False)
    cold = np.flatnonzero(np.asarray(train.train_counts) == 0)
    warm = np.flatnonzero(np.asarray(train.train_counts) > 0)
    assert len(cold) > 0 and list(np.flatnonzero(model.text_only_items_)) == list(cold)
    sessions = [[int(warm[0]), int(warm[1])], [int(warm[2])]]
    fused = model.score(sessions)
    y_id, y_text = model.network("id").score(sessions), model.network("text").score(sessions)
    np.testing.assert_allclose(fused[:, cold], y_text[:, cold], rtol=1e-6)
    np.testing.assert_allclose(fused[:, warm], 0.9 * y_id[:, warm] + 0.1 * y_text[:, warm],
                               rtol=1e-5, atol=1e-5)
    table = sr.evaluate(model, test, k=(20,), progress=False)
    assert table.loc[("cold", "cold"), "Hits@20"] > 0.05


def test_blend_and_temperature_inputs_are_checked(small_split):
    train, _, _ = small_split
    with pytest.raises(ValueError, match="temperature"):
        sr.models.TextOnly(temperature=0)
    with pytest.raises(ValueError, match="temperature"):
        sr.models.AlterRec(temperature_text=-1.0)
    with pytest.raises(ValueError, match="alpha"):
        sr.models.AlterRec(alpha="best")
    model = sr.models.AlterRec(dim=8, layers=1, heads=1, ffn_dim=16, max_len=10, text_dim=8,
                               m_random=1, m_gap=1, m_max=2, k1=5, k2=40, alpha=0.5)
    model.fit(train, progress=False)
    ids, text = (model.networks[n]._core for n in ("id", "text"))
    with pytest.raises(ValueError, match="b_only has 3 flags"):
        _core.BlendScorer(ids, text, 0.5, [1, 0, 1])
    # Default temperatures: sqrt(dim) for item towers, 1 for free ID embeddings.
    assert sr.models.TextOnly(dim=16).temperature == 4.0
    assert sr.models.SASRec(dim=16).temperature == 1.0
    assert sr.models.SASRec(dim=16, temperature=0.5).temperature == 0.5
