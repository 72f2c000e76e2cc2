"""Parity with PyTorch: the same GRU4Rec, SASRec, same weights, same batch -> the same loss,
scores and every parameter gradient. Skipped when torch is not installed."""

import numpy as np
import pytest

import sessrec as sr
from sessrec import _core

torch = pytest.importorskip("torch")
from torch_reference import TorchGRU4Rec, TorchSASRec, full_softmax_loss, padded_batch  # noqa: E402


@pytest.fixture(scope="module")
def data():
    ds = sr.datasets.synthetic(num_items=120, num_sessions=400, seed=3, mean_session_length=7)
    train, _, test = ds.split("time")
    return ds, train, test


def windows(train, max_len, prefix, count=24):
    begin, end = _core.make_training_windows(train.sessions, max_len, prefix)
    pick = np.random.default_rng(0).choice(len(begin), size=count, replace=False)
    return begin[pick], end[pick]


def close(ours, theirs, what):
    theirs = theirs.detach().numpy().reshape(ours.shape)
    scale = max(1.0, float(np.abs(theirs).max()))
    assert np.abs(ours - theirs).max() <= 2e-4 * scale, what


def check(core, reference, train, max_len, prefix):
    reference.load_sessrec(core.get_parameters())
    begin, end = windows(train, max_len, prefix)
    core.zero_grad()
    loss, n_targets, _ = core.forward_backward(train.sessions, begin, end, prefix)
    inputs, targets = padded_batch(train.sessions.items, begin, end, prefix)
    reference.zero_grad()
    out = reference(inputs)
    ref_loss = full_softmax_loss(out, targets, reference.item_embedding.weight)
    ref_loss.backward()
    assert n_targets == int((targets >= 0).sum())
    assert loss == pytest.approx(float(ref_loss), rel=1e-5)
    grads = core.get_gradients()
    for name, g in reference.sessrec_gradients().items():
        close(grads[name], g, f"gradient of {name}")
    # Scores at the last position of each history, evaluation mode.
    items = np.asarray(train.sessions.items)
    hist_begin, hist_end = begin, end - 1
    scores = core.score(items, hist_begin, hist_end)
    reference.eval()
    with torch.no_grad():
        last = torch.from_numpy(hist_end - hist_begin - 1)
        h = reference(inputs)[torch.arange(len(begin)), last]
        ref_scores = h @ reference.item_embedding.weight[1:].T
    close(scores, ref_scores, "scores")


@pytest.mark.parametrize("prefix", [False, True])
def test_gru4rec_matches_torch(data, prefix):
    ds, train, _ = data
    core = _core.GRU4Rec(ds.num_items, dim=16, hidden=24, max_len=10, dropout=0.0, seed=1)
    check(core, TorchGRU4Rec(ds.num_items, dim=16, hidden=24), train, 10, prefix)


@pytest.mark.parametrize("post_ln", [True, False])
def test_sasrec_matches_torch(data, post_ln):
    ds, train, _ = data
    core = _core.SASRec(ds.num_items, dim=16, layers=2, heads=2, ffn_dim=32, max_len=10,
                        dropout=0.0, seed=2, post_ln=post_ln)
    # Non-trivial LayerNorm weights, so their gradients are exercised too.
    params = core.get_parameters()
    rng = np.random.default_rng(5)
    for name in params:
        if "ln" in name:
            params[name] = params[name] + rng.normal(0, 0.1, params[name].shape).astype(np.float32)
    core.set_parameters(params)
    reference = TorchSASRec(ds.num_items, dim=16, layers=2, heads=2, ffn_dim=32, max_len=10,
                            post_ln=post_ln)
    check(core, reference, train, 10, False)


def test_sasrec_relu_ffn_matches_torch(data):
    ds, train, _ = data
    core = _core.SASRec(ds.num_items, dim=8, layers=1, heads=1, ffn_dim=16, max_len=10,
                        dropout=0.0, gelu=False)
    check(core, TorchSASRec(ds.num_items, dim=8, layers=1, heads=1, ffn_dim=16, max_len=10,
                            gelu=False), train, 10, False)
