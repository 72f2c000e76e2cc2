"""The synthetic generator: seeded, topical, Zipf-popular, with actions and query text."""

import numpy as np

import sessrec as sr


def test_seeded_and_structured():
    a = sr.datasets.synthetic(num_items=400, num_sessions=3000, seed=11)
    b = sr.datasets.synthetic(num_items=400, num_sessions=3000, seed=11)
    np.testing.assert_array_equal(a.sessions.items, b.sessions.items)
    assert a.catalog.text("title") == b.catalog.text("title")
    counts = np.sort(a.sessions.item_counts(400))[::-1]
    assert counts[0] > 10 * np.median(counts)  # Zipf: a long tail
    actions = np.asarray(a.sessions.actions)
    assert set(np.unique(actions)) == {0, 1, 2, 3}
    queries = np.asarray(a.queries, dtype=object)
    assert all(q for q in queries[actions == 0]) and not any(queries[actions != 0])
    # Sessions stay mostly within a topic, so consecutive items share topics far above chance.
    topic, _ = a.catalog.categorical("topic")
    items = np.asarray(a.sessions.items)
    offsets = np.asarray(a.sessions.offsets)
    same = topic[items[:-1]] == topic[items[1:]]
    inside = np.ones(len(items) - 1, dtype=bool)
    inside[offsets[1:-1] - 1] = False
    assert same[inside].mean() > 0.6


def test_titles_hold_topic_words():
    ds = sr.datasets.synthetic(num_items=200, num_sessions=500, seed=2, num_topics=5)
    topic, _ = ds.catalog.categorical("topic")
    titles = ds.catalog.text("title")
    words = [set(t.split()[1:]) for t in titles]
    same = np.mean([len(words[i] & words[j]) > 0 for i in range(0, 200, 7) for j in range(200)
                    if topic[i] == topic[j] and i != j])
    other = np.mean([len(words[i] & words[j]) > 0 for i in range(0, 200, 7) for j in range(200)
                     if topic[i] != topic[j]])
    assert same > other + 0.3
