"""UBM interaction tokens (sessrec.text_interactions) on synthetic data."""

import pickle

import numpy as np
import pytest

import sessrec as sr
from sessrec.text_interactions import ACTION_TOKENS, InteractionTokenizer

ACTION_BY_NAME = {"search": "[SEARCH]", "view": "[VIEW]", "add_to_cart": "[ADD]", "buy": "[BUY]"}


@pytest.fixture(scope="module")
def ds():
    return sr.datasets.synthetic(num_items=150, num_sessions=200, seed=3)


@pytest.fixture(scope="module")
def tok(ds):
    return InteractionTokenizer().fit(ds)


def pieces_of(tok, text):
    return [tok.tokenizer._core.piece(i) for i in tok.tokenizer.encode(text)]


def expected_item_text(tok, ds, item, max_title=32):
    """[TITLE] title [BRAND] brand [TOPIC] topic, from the Python tokenizer."""
    out = []
    title = tok.tokenizer.encode(ds.catalog.text("title")[item])[:max_title]
    if title:
        out += [tok.token_id("[TITLE]")] + title
    for field in ("brand", "topic"):
        codes, vocabulary = ds.catalog.categorical(field)
        value = tok.tokenizer.encode(vocabulary[codes[item]]) if codes[item] >= 0 else []
        if value:
            out += [tok.token_id(f"[{field.upper()}]")] + value
    return out


def test_special_tokens_are_single_pieces(tok):
    assert tok.fields == [("title", "[TITLE]"), ("brand", "[BRAND]"), ("topic", "[TOPIC]")]
    for token in ("[CLS]", "[SEP]", "[MASK]", *ACTION_TOKENS, "[TITLE]", "[CATEGORY]",
                  "[BRAND]", "[TOPIC]"):
        assert token in tok.special_tokens
        # sentencepiece puts its whitespace piece before the text; the token itself is one piece.
        assert [p for p in pieces_of(tok, token) if p != "▁"] == [token]
        assert tok.tokenizer._core.piece(tok.token_id(token)) == token
    assert len({tok.token_id(t) for t in tok.special_tokens}) == len(tok.special_tokens)


def test_interactions_are_action_then_query_or_item_text(tok, ds):
    out = tok.sessions(ds)
    assert len(out) == ds.sessions.num_sessions
    actions = np.asarray(ds.sessions.actions)
    items = np.asarray(ds.sessions.items)
    cls = tok.token_id("[CLS]")
    searches = 0
    for i in range(out.num_interactions):
        e = int(out.events[i])
        assert out.items[i] == items[e]
        name = ds.action_names[actions[e]]
        head = [cls, tok.token_id(ACTION_BY_NAME[name])]
        if ds.queries[e]:
            assert name == "search"
            expected = head + tok.tokenizer.encode(ds.queries[e])
            searches += 1
        else:
            expected = head + expected_item_text(tok, ds, int(items[e]))
        assert out.interaction(i).tolist() == expected[:64]
    assert searches > 10


def test_session_and_token_limits(ds):
    small = InteractionTokenizer(max_interactions=3, max_title_tokens=2,
                                 max_tokens_per_interaction=7).fit(ds)
    out = small.sessions(ds)
    offsets = np.asarray(ds.sessions.offsets)
    lengths = np.diff(offsets)
    assert (np.diff(out.session_offsets) == np.minimum(lengths, 3)).all()
    # The most recent events, oldest first.
    for s in range(len(out)):
        events = out.events[out.session_offsets[s] : out.session_offsets[s + 1]]
        assert events.tolist() == list(range(max(offsets[s], offsets[s + 1] - 3), offsets[s + 1]))
    assert np.diff(out.token_offsets).max() <= 7
    items = np.asarray(ds.sessions.items)
    for i in range(out.num_interactions):
        e = int(out.events[i])
        if not ds.queries[e]:
            expected = expected_item_text(small, ds, int(items[e]), max_title=2)
            assert out.interaction(i).tolist()[2:] == expected[:5]
    default = InteractionTokenizer().fit(ds).sessions(ds)
    assert np.diff(default.session_offsets).max() <= 32
    assert np.diff(default.token_offsets).max() <= 64


def test_without_cls_and_candidates_without_action(tok, ds):
    bare = InteractionTokenizer(cls=False).fit(ds)
    out = bare.sessions(ds)
    action_ids = {bare.token_id(t) for t in ACTION_TOKENS}
    assert all(out.interaction(i)[0] in action_ids for i in range(out.num_interactions))
    candidates = tok.items([4, 0, 7])
    assert len(candidates) == 3 and candidates.num_interactions == 3
    assert candidates.items.tolist() == [4, 0, 7] and (candidates.events == -1).all()
    for r, item in enumerate([4, 0, 7]):
        assert candidates.interaction(r).tolist() == \
            [tok.token_id("[CLS]")] + expected_item_text(tok, ds, item)[:63]
    assert len(tok.items()) == ds.num_items


def test_split_parts_read_their_source_events(tok, ds):
    train, valid, test = ds.split("time", valid=0.1, test=0.2)
    whole = tok.sessions(ds)
    for part in (train, test):
        out = tok.sessions(part)  # the fitted dataset, found by name
        assert len(out) == len(part)
        for s in range(0, len(part), 7):
            source = int(part.session_index[s])
            assert [a.tolist() for a in out.session(s)] == \
                [a.tolist() for a in whole.session(source)]
    # Leave-one-out training sessions are their source sessions without the last two events.
    loo_train, _, _ = ds.split("leave_one_out")
    out = tok.sessions(loo_train, dataset=ds)
    source = np.asarray(ds.sessions.offsets)
    index = np.asarray(loo_train.session_index)
    begin, end = source[index], np.maximum(source[index + 1] - 2, source[index])
    expected = tok.prefixes(ds, begin, end)
    for name in ("session_offsets", "token_offsets", "ids", "items"):
        np.testing.assert_array_equal(getattr(out, name), getattr(expected, name))
    assert (ds.queries and any(ds.queries[e] for e in expected.events))


def test_histories_are_example_prefixes(tok, ds):
    _, _, test = ds.split("time", valid=0.1, test=0.2)
    ex = test.examples()
    out = tok.histories(test)
    assert len(out) == len(ex)
    for r in range(0, len(ex), 13):
        events = out.events[out.session_offsets[r] : out.session_offsets[r + 1]]
        assert events.tolist() == list(range(max(ex.begin[r], ex.end[r] - 32), ex.end[r]))


def test_round_trip_serialisation(tok, ds):
    again = InteractionTokenizer.from_bytes(tok.to_bytes())
    assert again.params == tok.params and again.fields == tok.fields
    assert again.special_tokens == tok.special_tokens
    for a, b in zip(again.item_text, tok.item_text):
        np.testing.assert_array_equal(a, b)
    first, second = tok.sessions(ds), again.sessions(ds)
    for name in ("session_offsets", "token_offsets", "ids", "items", "events"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))
    unpickled = pickle.loads(pickle.dumps(tok))
    np.testing.assert_array_equal(unpickled.items().ids, tok.items().ids)
    with pytest.raises(ValueError, match="not InteractionTokenizer bytes"):
        InteractionTokenizer.from_bytes(b"not a tokenizer")
    with pytest.raises(ValueError, match="not InteractionTokenizer bytes"):
        InteractionTokenizer.from_bytes(tok.to_bytes()[:-40])


def test_dataset_without_actions_or_queries_is_all_views(ds):
    store = ds.sessions
    plain = sr.Dataset(
        "plain",
        sr._core.SessionStore(np.asarray(store.offsets), np.asarray(store.items),
                              num_items=ds.num_items),
        ds.catalog,
    )
    tok = InteractionTokenizer().fit(plain)
    out = tok.sessions(plain)
    heads = out.ids[out.token_offsets[:-1] + 1]
    assert (heads == tok.token_id("[VIEW]")).all()
    items = np.asarray(store.items)
    for i in range(0, out.num_interactions, 17):
        assert out.interaction(i).tolist()[2:] == \
            expected_item_text(tok, plain, int(items[out.events[i]]))[:62]


def test_bad_input_is_refused(ds):
    with pytest.raises(ValueError, match="max_interactions must be >= 1"):
        InteractionTokenizer(max_interactions=0)
    with pytest.raises(ValueError, match="max_tokens_per_interaction must be >= 2"):
        InteractionTokenizer(max_tokens_per_interaction=1)
    with pytest.raises(KeyError, match="title_field 'name'"):
        InteractionTokenizer(title_field="name").fit(ds)
    with pytest.raises(ValueError, match="maps to '\\[CLICK\\]'"):
        InteractionTokenizer(action_tokens={"view": "[CLICK]"})
    with pytest.raises(RuntimeError, match="fit"):
        InteractionTokenizer().sessions(ds)
    odd = sr.Dataset("odd", ds.sessions, ds.catalog,
                     action_names=["search", "view", "wishlist", "buy"])
    with pytest.raises(ValueError, match="wishlist"):
        InteractionTokenizer().fit(odd)
    mapped = InteractionTokenizer(action_tokens={"wishlist": "[ADD]"}).fit(odd)
    out = mapped.sessions(odd)
    add = np.flatnonzero(np.asarray(ds.sessions.actions)[out.events] == 2)
    assert (out.ids[out.token_offsets[add] + 1] == mapped.token_id("[ADD]")).all()
    bare = sr.Dataset("bare", ds.sessions, sr._core.Catalog(ds.catalog.ids()),
                      action_names=ds.action_names)
    with pytest.raises(ValueError, match="bare: no text or categorical field and no queries"):
        InteractionTokenizer().fit(bare)
    tok = InteractionTokenizer().fit(ds)
    with pytest.raises(ValueError, match="runs past the end of session 0"):
        tok.prefixes(ds, [0], [int(ds.sessions.offsets[1]) + 1])
    with pytest.raises(ValueError, match="candidate 0 is item"):
        tok.items([ds.num_items])
    with pytest.raises(TypeError, match="Dataset or SessionSet"):
        tok.sessions([[0, 1]])


def test_fields_of_a_catalogue_with_category_and_attributes():
    ids = ["a", "b", "c"]
    catalog = sr._core.Catalog(ids)
    titles = ["red ceramic mug", "blue tea cup", "garden hose"]
    colors = ["red", "", "green"]
    catalog.set_text("title", titles)
    catalog.set_text("color", colors)
    catalog.set_text("text", [f"{t} {c}".strip() for t, c in zip(titles, colors)])
    catalog.set_categorical("Category", np.array([0, 0, 1], dtype=np.int32), ["kitchen", "garden"])
    catalog.set_categorical("size", np.array([1, -1, 0], dtype=np.int32), ["small", "large"])
    store = sr._core.SessionStore(np.array([0, 3]), np.array([0, 1, 2], dtype=np.int32),
                                  num_items=3)
    shop = sr.Dataset("shop", store, catalog)
    tok = InteractionTokenizer(vocab_size=40).fit(shop)
    assert tok.fields == [("title", "[TITLE]"), ("Category", "[CATEGORY]"),
                          ("color", "[COLOR]"), ("size", "[SIZE]")]
    enc, tid = tok.tokenizer.encode, tok.token_id
    offsets, ids_ = tok.item_text
    assert ids_[offsets[0]:offsets[1]].tolist() == (
        [tid("[TITLE]")] + enc("red ceramic mug") + [tid("[CATEGORY]")] + enc("kitchen")
        + [tid("[COLOR]")] + enc("red") + [tid("[SIZE]")] + enc("large"))
    # Item 1 has no colour and no size: no marker for them.
    assert ids_[offsets[1]:offsets[2]].tolist() == (
        [tid("[TITLE]")] + enc("blue tea cup") + [tid("[CATEGORY]")] + enc("kitchen"))
    chosen = InteractionTokenizer(vocab_size=40, title_field="text", category_field=None,
                                  attributes=["size"]).fit(shop)
    assert chosen.fields == [("text", "[TITLE]"), ("Category", "[CATEGORY]"), ("size", "[SIZE]")]
    catalog.set_text("cls", titles)
    with pytest.raises(ValueError, match="clash"):
        InteractionTokenizer(vocab_size=40).fit(sr.Dataset("shop", store, catalog))
