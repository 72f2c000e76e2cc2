"""UBM pre-training (sessrec.models.UBM) on small synthetic data: both stages lower their losses,
a resumed run equals an uninterrupted one bit for bit, an interrupted epoch is undone, save/load
round-trips, session vectors, the no_loss ablation switches, bad input is refused."""

import numpy as np
import pytest

import sessrec as sr
from sessrec.models.ubm import UBM
from sessrec.text_interactions import InteractionTokenizer

TINY = dict(dim=16, layers=1, session_layers=1, heads=2, ffn_dim=32, max_interactions=8,
            max_tokens_per_interaction=16, vocab_size=300, stage1_batch_size=32,
            stage2_batch_size=16, lr=3e-3, temperature=0.1, seed=1)


@pytest.fixture(scope="module")
def ds():
    return sr.datasets.synthetic(num_items=80, num_sessions=120, seed=3)


@pytest.fixture(scope="module")
def tokenizer(ds):
    return InteractionTokenizer(max_interactions=8, max_tokens_per_interaction=16,
                                vocab_size=300).fit(ds)


def make(tokenizer, **extra):
    return UBM(**{**TINY, "tokenizer": tokenizer, **extra})


def test_both_stages_lower_their_losses(ds, tokenizer):
    model = make(tokenizer, stage1_epochs=4, stage2_epochs=4)
    model.pretrain(ds, stage=1, progress=False)
    model.pretrain(ds, stage=2, progress=False)
    h = model.history_
    assert list(h["stage"]) == [1] * 4 + [2] * 4
    s1, s2 = h[h.stage == 1], h[h.stage == 2]
    assert s1["loss"].iloc[-1] < s1["loss"].iloc[0]
    assert s2["loss"].iloc[-1] < s2["loss"].iloc[0]
    assert np.allclose(s1["loss"], s1["l1"] + s1["l2"])
    assert np.allclose(s2["loss"], s2["l3"] + s2["l4"])
    vectors = model.encode_sessions(ds)
    assert vectors.shape == (ds.sessions.num_sessions, 16)
    assert np.isfinite(vectors).all()
    assert (h["tokens_per_s"] > 0).all()
    # A session's vector does not depend on the others encoded with it (packed, chunked).
    tokens = model.tokenizer.sessions(ds)
    alone = model.core.encode_sessions(tokens.session_offsets, tokens.token_offsets, tokens.ids,
                                       np.array([7, 3], dtype=np.int64))
    np.testing.assert_allclose(alone, vectors[[7, 3]], rtol=1e-5, atol=1e-6)


def test_stage1_leaves_the_session_encoder_alone(ds, tokenizer):
    model = make(tokenizer)
    model.pretrain(ds, stage=1, progress=False)
    fresh = make(tokenizer)
    fresh._build()
    ours, theirs = model.core.get_parameters(), fresh.core.get_parameters()
    for name in ours:
        same = np.array_equal(ours[name], theirs[name])
        assert same == name.startswith("session."), name


def test_resume_is_exact(ds, tokenizer, tmp_path):
    whole = make(tokenizer, stage1_epochs=2, stage2_epochs=2)
    whole.pretrain(ds, stage=1, progress=False).pretrain(ds, stage=2, progress=False)

    path = tmp_path / "ubm.h5"
    part = make(tokenizer, stage1_epochs=2, stage2_epochs=2)
    part.pretrain(ds, stage=1, epochs=1, progress=False, checkpoint=path)
    again = UBM.load(path)
    again.pretrain(ds, stage=1, progress=False)
    again.pretrain(ds, stage=2, epochs=1, progress=False, checkpoint=path)
    again = UBM.load(path)
    again.pretrain(ds, stage=2, progress=False)
    assert again.epochs_done == [2, 2]
    a, b = whole.core.get_parameters(), again.core.get_parameters()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    np.testing.assert_array_equal(whole.history_["loss"], again.history_["loss"])
    # A finished stage runs nothing more.
    again.pretrain(ds, stage=2, progress=False)
    assert len(again.history_) == 4


def test_save_load_encodes_the_same(ds, tokenizer, tmp_path):
    model = make(tokenizer).pretrain(ds, stage=2, progress=False)
    model.save(tmp_path / "m.h5")
    loaded = UBM.load(tmp_path / "m.h5")
    np.testing.assert_array_equal(model.encode_sessions(ds), loaded.encode_sessions(ds))
    train, _, _ = ds.split("time", valid=0.1, test=0.1)
    assert loaded.encode_sessions(train).shape == (train.sessions.num_sessions, 16)


def test_no_loss_ablation(ds, tokenizer):
    model = make(tokenizer, no_loss=(1, 4))
    model.pretrain(ds, stage=1, progress=False).pretrain(ds, stage=2, progress=False)
    h = model.history_
    assert "l1" not in h or h["l1"].isna().all()
    assert np.allclose(h[h.stage == 1]["loss"], h[h.stage == 1]["l2"])
    assert np.allclose(h[h.stage == 2]["loss"], h[h.stage == 2]["l3"])
    with pytest.raises(ValueError, match="both of its losses"):
        make(tokenizer, no_loss=(3, 4)).pretrain(ds, stage=2, progress=False)


def test_bad_input_is_refused(ds, tokenizer, tmp_path):
    with pytest.raises(ValueError, match="stage must be 1 or 2"):
        make(tokenizer).pretrain(ds, stage=3)
    with pytest.raises(ValueError, match="no_loss"):
        UBM(no_loss=(5,))
    with pytest.raises(ValueError, match="denominator"):
        UBM(denominator="positives")
    with pytest.raises(ValueError, match="batch sizes >= 2"):
        UBM(stage1_batch_size=1)
    with pytest.raises(TypeError, match="Dataset"):
        UBM(**TINY).pretrain(ds.split("time", valid=0.1, test=0.1)[0], stage=1)
    with pytest.raises(RuntimeError, match="pretrain or load"):
        make(tokenizer).encode_sessions(ds)
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(ValueError):
        UBM.load(bad)
    with pytest.raises(ValueError, match="dim"):
        make(tokenizer, dim=15, heads=2)._build()


class _FailingCore:
    """The core, except that its second training step raises (an interruption mid-epoch)."""

    def __init__(self, core):
        self.core, self.calls = core, 0

    def train_stage2(self, *args):
        self.calls += 1
        if self.calls == 2:
            raise KeyboardInterrupt
        return self.core.train_stage2(*args)

    @property
    def steps(self):
        return self.core.steps

    @steps.setter
    def steps(self, value):
        self.core.steps = value

    def __getattr__(self, name):
        return getattr(self.core, name)


def test_an_interrupted_epoch_leaves_the_model_as_it_was(ds, tokenizer):
    model = make(tokenizer)
    model._build()
    before = model.core.get_parameters()
    core = model.core
    model._core = _FailingCore(core)
    with pytest.raises(KeyboardInterrupt):
        model.pretrain(ds, stage=2, progress=False)
    model._core = core
    assert core.steps == 0 and model.epochs_done == [0, 0] and len(model.history_) == 0
    for name, value in core.get_parameters().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)
    # and it then trains as a fresh model does
    model.pretrain(ds, stage=2, progress=False)
    fresh = make(tokenizer).pretrain(ds, stage=2, progress=False)
    np.testing.assert_array_equal(model.history_["loss"], fresh.history_["loss"])
