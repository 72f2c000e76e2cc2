"""Parity with PyTorch for a whole MACL training step: the same weights, batch and augmented
views (read back from the core with ``last_views``) -> the same total loss (CE + item-level +
session-level adaptive contrastive terms) and the same gradient of every weight: ID table,
image and text projections, token embeddings, both gates, the weighting MLP and the SASRec
encoder. Skipped without torch."""

import numpy as np
import pytest

import sessrec as sr
from sessrec import _core

torch = pytest.importorskip("torch")
F = torch.nn.functional

from torch_reference import TorchSASRec, padded_batch  # noqa: E402

N, D, H, DT, FI, V = 40, 8, 5, 4, 5, 12
ITEM_WEIGHT, SESSION_WEIGHT, TAU = 0.7, 0.5, 0.2


def make_core(adaptive: bool):
    rng = np.random.default_rng(2)
    image = rng.standard_normal((N, FI)).astype(np.float32)
    image_mask = np.ones(N, np.uint8)
    image_mask[[3, 17]] = 0
    lengths = rng.integers(0, 5, N)  # some items have no tokens: no text
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    tokens = rng.integers(0, V, offsets[-1]).astype(np.int32)
    settings = dict(image=image, image_mask=image_mask, text_source="subword",
                    token_offsets=offsets, tokens=tokens, vocab_size=V, token_dim=DT,
                    categories=rng.integers(0, 3, N).astype(np.int32), item_weight=ITEM_WEIGHT,
                    session_weight=SESSION_WEIGHT, num_negatives=3, cl_temperature=TAU,
                    adaptive=adaptive, weight_hidden=H,
                    text_ops=["delete", "substitute", "insert", "swap"])
    core = _core.MACL(N, dim=D, layers=1, heads=2, ffn_dim=16, max_len=10, dropout=0.0, seed=3,
                      macl=settings)
    params = core.get_parameters()
    for name in params:  # off the initial constants (zero MLP output layer, unit LayerNorm)
        params[name] = params[name] + rng.normal(0, 0.2, params[name].shape).astype(np.float32)
    core.set_parameters(params)
    return core, settings


def adaptive_loss(a, p, neg, mlp):
    ah, ph = F.normalize(a, dim=1), F.normalize(p, dim=1)
    negs = ph[torch.as_tensor(neg, dtype=torch.long)]
    logits = torch.cat([(ah * ph).sum(1, keepdim=True),
                        torch.einsum("bd,bmd->bm", ah, negs)], dim=1) / TAU
    losses = -F.log_softmax(logits, dim=1)[:, 0]
    B = a.shape[0]
    if mlp is None:
        return losses.mean()
    z = torch.cat([ah, ph, negs.mean(1)], dim=1)
    s = F.gelu(z @ mlp[0].T + mlp[1][0]) @ mlp[2].T + mlp[3][0]
    alpha = B * torch.softmax(s[:, 0], dim=0)
    return (alpha * losses).sum() / B


@pytest.mark.parametrize("adaptive", [True, False])
def test_macl_step_matches_torch(adaptive):
    core, settings = make_core(adaptive)
    ds = sr.datasets.synthetic(num_items=N, num_sessions=60, num_topics=4, seed=1,
                               with_queries=False)
    store = ds.sessions
    begin, end = _core.make_training_windows(store, 10, False)
    pick = np.random.default_rng(0).choice(len(begin), size=6, replace=False)
    begin, end = begin[pick], end[pick]
    core.zero_grad()
    step = core.forward_backward(store, begin, end, False)
    grads = core.get_gradients()
    views = core.last_views()
    assert step["item"] > 0 and step["session"] > 0

    P = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
         for k, v in core.get_parameters().items()}
    image_mask = torch.tensor(settings["image_mask"], dtype=torch.float64)

    def fuse(items, image, offsets, tokens):
        items = torch.as_tensor(items, dtype=torch.long)
        a = P["item_embedding"][items + 1]
        m1 = image_mask[items].unsqueeze(1)
        e_img = torch.as_tensor(image, dtype=torch.float64) @ P["macl.image_proj.weight"].T \
            + P["macl.image_proj.bias"][0]
        rows = []
        for r in range(len(items)):
            t = torch.as_tensor(tokens[offsets[r]:offsets[r + 1]], dtype=torch.long)
            rows.append(P["macl.token_embedding"][t].mean(0) if len(t) else
                        torch.zeros(DT, dtype=torch.float64))
        m2 = torch.tensor(np.diff(offsets) > 0, dtype=torch.float64).unsqueeze(1)
        e_txt = torch.stack(rows) @ P["macl.text_proj.weight"].T + P["macl.text_proj.bias"][0]
        u = torch.cat([a, m1 * e_img, m2 * e_txt, m1, m2], dim=1)
        g1 = torch.sigmoid(u @ P["macl.gate.image.weight"].T + P["macl.gate.image.bias"][0])
        g2 = torch.sigmoid(u @ P["macl.gate.text.weight"].T + P["macl.gate.text.bias"][0])
        return a + m1 * g1 * e_img + m2 * g2 * e_txt

    table = torch.cat([
        torch.zeros(1, D, dtype=torch.float64),
        fuse(np.arange(N), settings["image"], settings["token_offsets"], settings["tokens"]),
        fuse(views["row_items"], views["row_image"], views["row_token_offsets"],
             views["row_tokens"]),
    ])
    encoder = TorchSASRec(N, dim=D, layers=1, heads=2, ffn_dim=16, max_len=10).double()
    encoder.load_sessrec(core.get_parameters())
    inputs = torch.as_tensor(views["inputs"], dtype=torch.long)
    T = inputs.shape[1]
    x = encoder.ln(table[inputs] + encoder.position_embedding.weight[:T][None])
    for layer in encoder.layers:
        x = layer(x, inputs > 0)
    B = len(begin)
    _, targets = padded_batch(store.items, begin, end)
    mask = targets >= 0
    ce = F.cross_entropy(x[:B][mask] @ table[1:N + 1].T, targets[mask] - 1)
    mlp = None if not adaptive else [P[f"macl.weight_mlp.{n}"] for n in
                                     ("0.weight", "0.bias", "1.weight", "1.bias")]
    last = torch.as_tensor(views["last"], dtype=torch.long)
    h = x[torch.arange(2 * B), last]
    session = adaptive_loss(h[:B], h[B:], views["session_negatives"], mlp)
    sets = torch.as_tensor(views["item_sets"], dtype=torch.long)
    item = adaptive_loss(table[sets[:, 0] + 1], table[N + 1 + sets[:, 1]],
                         views["item_negatives"], mlp)
    total = ce + ITEM_WEIGHT * item + SESSION_WEIGHT * session
    total.backward()

    assert step["ce"] == pytest.approx(ce.item(), rel=1e-5)
    assert step["item"] == pytest.approx(item.item(), rel=1e-5)
    assert step["session"] == pytest.approx(session.item(), rel=1e-5)
    assert step["loss"] == pytest.approx(total.item(), rel=1e-5)
    reference = {**{k: v.grad for k, v in P.items()}, **encoder.sessrec_gradients()}
    reference["item_embedding"] = P["item_embedding"].grad
    assert set(grads) == set(reference)
    for name, ours in grads.items():
        theirs = reference[name]
        theirs = np.zeros(ours.shape) if theirs is None else theirs.numpy().reshape(ours.shape)
        scale = max(1.0, float(np.abs(theirs).max()))
        assert np.abs(ours - theirs).max() <= 2e-4 * scale, name
