"""LangEmb (KDD Cup 2023 §2.1.3): attribute texts joined by [SEP], the decoupled ArcCon
objective with two momentum-filled queues, first-layer mean pooling; learns from text, ranks
items never seen in training, resumes exactly, and refuses bad settings."""

import numpy as np
import pytest

import sessrec as sr
from sessrec.models.lang_emb import PAPER_LAMBDAS, TABLE2_VARIANTS
from sessrec.models.parameter_groups import export_parameters

SMALL = dict(vocab_size=200, dim=24, layers=1, heads=2, ffn_dim=48, max_tokens=48, threads=1,
             queue_capacity=256)


@pytest.fixture(scope="module")
def parts():
    ds = sr.datasets.synthetic(num_items=80, num_sessions=600, seed=2)
    return ds.split("time", valid=0.1, test=0.1)


def test_paper_defaults():
    model = sr.models.LangEmb()
    p = model.params
    assert p["objective"] == "arccon" and p["decoupled"] == list(PAPER_LAMBDAS)
    assert p["momentum"] == 0.999 and p["queue_capacity"] > 10000
    assert p["pooling"] == "mean" and p["pool_layer"] == 0


def test_item_text_joins_attributes_with_sep(parts):
    train = parts[0]
    catalog = train.catalog
    model = sr.models.LangEmb(**SMALL)
    texts = model._item_texts(catalog)
    assert len(texts) == len(catalog)
    own = [f for f in catalog.text_fields() if f != "text"]  # "text": the loaders' join
    expected = [catalog.text(f)[5].strip() for f in own or ["text"]]
    for name in catalog.categorical_fields():
        codes, vocabulary = catalog.categorical(name)
        expected.append(vocabulary[codes[5]])
    assert len(expected) >= 2 and texts[5] == " [SEP] ".join(expected)
    field = catalog.text_fields()[0]
    first = catalog.text(field)[0].strip()
    only = sr.models.LangEmb(attributes=[field], **SMALL)._item_texts(catalog)
    assert only[0] == first
    with pytest.raises(KeyError, match="no text or categorical field 'colour'"):
        sr.models.LangEmb(attributes=["colour"], **SMALL)._item_texts(catalog)


def test_learns_and_ranks_unseen_items(parts):
    train, valid, _ = parts
    model = sr.models.LangEmb(epochs=3, lr=3e-3, **SMALL).fit(train, valid, progress=False)
    # Two queues (sessions' and items' space), both filled by the momentum encoder.
    assert model.core.momentum_encoder is not None
    for side in ("anchor", "positive"):
        assert getattr(model.core.objective, f"{side}_queue").size() > 0

    def hits(m):
        return sr.evaluate(m, valid, k=(10,), progress=False).loc[("overall", "all"), "Hits@10"]

    assert hits(model) > hits(sr.models.POP().fit(train)) + 0.1
    # [SEP] is one token of the trained vocabulary, once per separator of an item's text.
    sep = model.tokenizer._core.piece_id("[SEP]")
    offsets, ids = model._items
    separators = model._item_texts(train.catalog)[0].count(" [SEP] ")
    assert separators >= 1 and list(ids[offsets[0]:offsets[1]]).count(sep) == separators
    scores = model.score([[1, 2, 3]])
    unseen = np.flatnonzero(np.asarray(train.train_counts) == 0)
    assert len(unseen) > 0 and np.isfinite(scores[:, unseen]).all()
    assert len(np.unique(scores[0, unseen])) == len(unseen)


def test_resume_is_exact(parts, tmp_path):
    train, valid, _ = parts
    options = dict(SMALL, epochs=2, decoupled=(0.45, 0.3, 0.125, 0.125), momentum=0.9)
    straight = sr.models.LangEmb(**options).fit(train, valid, progress=False)
    path = tmp_path / "ckpt.h5"
    sr.models.LangEmb(**options).fit(train, valid, epochs=1, progress=False,
                                     checkpoint=str(path))
    resumed = sr.load(path)
    assert isinstance(resumed, sr.models.LangEmb)
    assert resumed.params["decoupled"] == [0.45, 0.3, 0.125, 0.125]
    resumed.fit(train, valid, epochs=1, progress=False)
    assert straight.history_["loss"].tolist() == resumed.history_["loss"].tolist()
    assert np.array_equal(straight.score([[3, 4]]), resumed.score([[3, 4]]))


def test_table2_variants_build_and_differ(parts):
    train = parts[0]
    losses = {}
    for name, overrides in TABLE2_VARIANTS.items():
        model = sr.models.LangEmb(**{**SMALL, "epochs": 1, **overrides}).fit(train,
                                                                              progress=False)
        losses[name] = model.history_["loss"].iloc[-1]
    assert all(np.isfinite(v) for v in losses.values())
    assert len(set(np.round(list(losses.values()), 6))) == len(losses)
    without = sr.models.LangEmb(**{**SMALL, **TABLE2_VARIANTS["w/o DCL"]})
    assert without.params["decoupled"] is None and without.params["queue_capacity"] == 0


def test_starts_from_user_weights(parts, tmp_path):
    train = parts[0]
    donor = sr.models.LangEmb(epochs=1, **SMALL).fit(train, progress=False)
    path = tmp_path / "encoder.h5"
    export_parameters(donor.core.encoder, path, "*", "LangEmb")
    started = sr.models.LangEmb(epochs=0, init_weights=str(path), **SMALL).fit(train,
                                                                             progress=False)
    a, b = donor.core.encoder.get_parameters(), started.core.encoder.get_parameters()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError):
        sr.models.LangEmb(epochs=0, init_weights=str(path), init_names="nothing.*",
                          **SMALL).fit(train, progress=False)


def test_refuses_bad_settings(parts):
    with pytest.raises(TypeError, match="unknown LangEmb parameters"):
        sr.models.LangEmb(hidden=8)
    with pytest.raises(ValueError, match="decoupled"):
        sr.models.LangEmb(decoupled=(0.5, 0.5))
    with pytest.raises(ValueError, match="symmetric"):
        sr.models.LangEmb(symmetric=True)


def test_margin_warmup_ramps_the_arccon_margin(parts):
    train = parts[0]
    slow = sr.models.LangEmb(**{**SMALL, "epochs": 1, "margin_warmup": 10**6}).fit(
        train, progress=False)
    steps = slow.core.steps
    assert steps > 1
    # Set before each step from the steps taken: the last step used (steps - 1) / warmup.
    expected = slow.params["margin"] * (steps - 1) / 10**6
    assert slow.core.objective.config.margin == pytest.approx(expected, rel=1e-5)
    full = sr.models.LangEmb(**{**SMALL, "epochs": 1, "margin_warmup": 1}).fit(train,
                                                                              progress=False)
    assert full.core.objective.config.margin == pytest.approx(full.params["margin"])
    with pytest.raises(ValueError, match="margin_warmup"):
        sr.models.LangEmb(margin_warmup=-1)
