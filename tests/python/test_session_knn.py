"""V-SKNN through the Python API: parameters reach the core, recency is session-rec's (the
last event of a session), hand-worked scores."""

import numpy as np
import pytest

import sessrec as sr
from sessrec.models.session_knn import session_end_times

# session-rec's defaults (k and sample_size from its docstring); ours are tuned.
SESSION_REC = dict(k=100, sample_size=500, similarity="vec", weighting="div",
                   weighting_score="div", idf_weighting=0.0)


@pytest.fixture()
def tiny(tmp_path):
    """Training sessions A = [a b] (times 0..10), B = [b c] (times 5..6), then a held-out one.
    A starts first but ends last."""
    path = tmp_path / "tiny.tsv"
    path.write_text(
        "session\titem\ttime\n"
        "A\ta\t0\nA\tb\t10\n"
        "B\tb\t5\nB\tc\t6\n"
        "Z\ta\t20\nZ\tc\t21\n"
    )
    ds = sr.datasets.load_interactions(path, session_column="session", item_column="item",
                                       time_column="time")
    train, _, _ = ds.split("time", valid=0.0, test=1 / 3)
    assert train.sessions.num_sessions == 2
    return train


def index(train, *ids):
    return [train.catalog.index_of(i) for i in ids]


def test_recency_is_the_last_event_time(tiny):
    np.testing.assert_array_equal(session_end_times(tiny.sessions), [10, 6])
    # sample_size=1 keeps the most recent candidate: A (ends at 10), not B (starts later).
    m = sr.models.SessionKNN(**{**SESSION_REC, "sample_size": 1}, popularity_fallback=False)
    m.fit(tiny)
    a, b, c = index(tiny, "a", "b", "c")
    scores = m.score([[b]])[0]
    assert scores[a] == pytest.approx(1.0) and scores[c] == 0.0


def test_defaults_are_the_tuned_ones_and_reach_the_core(tiny):
    m = sr.models.SessionKNN()
    tuned = dict(k=200, sample_size=1000, similarity="cosine", weighting="log",
                 weighting_score="quadratic", idf_weighting=5.0, remind=True, sampling="recent")
    assert {name: m.params[name] for name in tuned} == tuned
    assert {name: getattr(m._config, name) for name in tuned} == tuned


def test_session_rec_defaults(tiny):
    # Query [c b]: b -> 1 (step 1), c -> 1/2; |q| = 2. sim(A) = 1/2, sim(B) = 3/4, both step 1.
    m = sr.models.SessionKNN(popularity_fallback=False, **SESSION_REC).fit(tiny)
    a, b, c = index(tiny, "a", "b", "c")
    scores = m.score([[c, b]])[0]
    assert scores[[a, b, c]] == pytest.approx([0.5, 1.25, 0.75])


def test_options_reach_the_core(tiny):
    a, b, c = index(tiny, "a", "b", "c")
    # Query [b a]: a -> 1, b -> 1/2. A: sim 3/4, step 1. B: sim 1/4, step 2.
    def scores(**kw):
        m = sr.models.SessionKNN(popularity_fallback=False, **{**SESSION_REC, **kw}).fit(tiny)
        return m.score([[b, a]])[0][[a, b, c]]

    assert scores() == pytest.approx([0.75, 0.875, 0.125])
    assert scores(weighting_score="quadratic") == pytest.approx([0.75, 0.8125, 0.0625])
    assert scores(weighting="same", weighting_score="same") == pytest.approx([1.0, 1.5, 0.5])
    assert scores(similarity="jaccard", weighting_score="same") == pytest.approx(
        [1.0, 1 + 1 / 3, 1 / 3])
    # idf: 2 sessions; events a 1, b 2, c 1 -> idf ln 2, 0, ln 2.
    assert scores(idf_weighting=1.0) == pytest.approx(
        [0.75 * (1 + np.log(2)), 0.875, 0.125 * (1 + np.log(2))])
    assert scores(remind=False) == pytest.approx([0.0, 0.0, 0.125])
    assert scores(last_n_clicks=1) == pytest.approx([1.0, 1.0, 0.0])


def test_bad_options_are_refused_at_construction():
    with pytest.raises(ValueError, match="decay"):
        sr.models.SessionKNN(weighting="exp")
    with pytest.raises(ValueError, match="similarity"):
        sr.models.SessionKNN(similarity="dice")
    with pytest.raises(ValueError, match="sampling"):
        sr.models.SessionKNN(sampling="oldest")


def test_save_and_load_keep_the_options(tiny, tmp_path):
    a, b, c = index(tiny, "a", "b", "c")
    m = sr.models.SessionKNN(weighting="log", weighting_score="quadratic", idf_weighting=2.0,
                             similarity="cosine").fit(tiny)
    m.save(tmp_path / "m.h5")
    loaded = sr.models.load(tmp_path / "m.h5")
    assert loaded.params == m.params
    np.testing.assert_allclose(loaded.score([[b, a]]), m.score([[b, a]]))
