"""Parity of UBM (cpp/sessrec/models/ubm.h) with PyTorch: the same weights in a PyTorch two-level
model (an ``nn.TransformerEncoder`` over each interaction's tokens, its [CLS] output plus
sinusoids into a second ``nn.TransformerEncoder``, mean over the session) give the same session
vectors, and each of l1..l4 alone (with the positive in InfoNCE's denominator, and for l1 and l4
also without it, as the paper prints it) gives the same loss and the same gradient of every parameter,
on the views (masks, swaps) that the C++ core draws for a fixed step. Dropout is off (its masks
are hashes the reference cannot draw). Skipped when torch is not installed."""

import numpy as np
import pytest

from sessrec import _core
from sessrec.models.text_encoder import torch_transformer_names

torch = pytest.importorskip("torch")
nn = torch.nn

VOCAB, DIM, HEADS, FFN, LAYERS, SESSION_LAYERS = 20, 8, 2, 12, 2, 1
MAX_TOKENS, MAX_INTERACTIONS, TAU, EPS = 6, 5, 0.2, 1e-5
CLS, MASK, ACTIONS, MARKER = 1, 2, (3, 4), 5


def make_core(losses, denominator="all"):
    return _core.UBMModel(
        vocab_size=VOCAB, dim=DIM, heads=HEADS, ffn_dim=FFN, interaction_layers=LAYERS,
        session_layers=SESSION_LAYERS, max_tokens=MAX_TOKENS, max_interactions=MAX_INTERACTIONS,
        post_ln=True, gelu=True, dropout=0.0, ln_eps=EPS, positions="learned", temperature=TAU,
        positive_in_denominator=denominator == "all", losses=list(losses), mask_rate=0.4, replace_mask=0.5, replace_random=0.25,
        mask_id=MASK, protected_ids=[0, CLS, MASK, MARKER], action_ids=list(ACTIONS), seed=4)


def sessions(rng, lengths=(3, 1, 4, 2, 5)):
    """Two-level CSR of random interactions: [CLS] action marker text..., some longer than
    MAX_TOKENS."""
    token_lengths = rng.integers(3, MAX_TOKENS + 3, size=sum(lengths))
    ids = []
    for n in token_lengths:
        ids += [CLS, int(rng.choice(ACTIONS)), MARKER] + list(rng.integers(6, VOCAB, size=n - 3))
    so = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    to = np.concatenate([[0], np.cumsum(token_lengths)]).astype(np.int64)
    return so, to, np.asarray(ids, dtype=np.int32)


def sinusoids(T, D):
    t, d = np.arange(T)[:, None], np.arange(D)[None, :]
    angle = t / np.power(10000.0, (2 * (d // 2)) / D)
    return torch.tensor(np.where(d % 2 == 0, np.sin(angle), np.cos(angle)), dtype=torch.float32)


class TorchUBM(nn.Module):
    def __init__(self):
        super().__init__()
        self.token_embedding = nn.Embedding(VOCAB, DIM)
        self.position_embedding = nn.Embedding(MAX_TOKENS, DIM)
        self.embedding_ln = nn.LayerNorm(DIM, eps=EPS)

        def stack(layers):
            layer = nn.TransformerEncoderLayer(DIM, HEADS, FFN, dropout=0.0, activation="gelu",
                                               batch_first=True, layer_norm_eps=EPS)
            return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)

        self.encoder = stack(LAYERS)
        self.session_encoder = stack(SESSION_LAYERS)
        self.register_buffer("sinusoids", sinusoids(MAX_INTERACTIONS, DIM))

    def interactions(self, offsets, ids):
        """[CLS] outputs [B, DIM] of the token lists, each cut to MAX_TOKENS."""
        lists = [ids[offsets[b]:offsets[b + 1]][:MAX_TOKENS] for b in range(len(offsets) - 1)]
        T = max(len(x) for x in lists)
        padded = torch.zeros(len(lists), T, dtype=torch.long)
        valid = torch.zeros(len(lists), T, dtype=torch.bool)
        for b, x in enumerate(lists):
            padded[b, :len(x)] = torch.tensor(x.astype(np.int64))
            valid[b, :len(x)] = True
        x = self.embedding_ln(self.token_embedding(padded) + self.position_embedding.weight[:T])
        return self.encoder(x, src_key_padding_mask=~valid)[:, 0]

    def forward(self, session_offsets, token_offsets, ids):
        """Session vectors h' [S, DIM]."""
        b = self.interactions(token_offsets, ids)
        lengths = np.diff(session_offsets)
        S, L = len(lengths), int(lengths.max())
        x = torch.zeros(S, L, DIM)
        valid = torch.zeros(S, L, dtype=torch.bool)
        for s in range(S):
            n = int(lengths[s])
            x[s, :n] = b[session_offsets[s]:session_offsets[s + 1]] + self.sinusoids[:n]
            valid[s, :n] = True
        o = self.session_encoder(x, src_key_padding_mask=~valid)
        w = valid.float().unsqueeze(-1)
        return (o * w).sum(1) / w.sum(1)


def info_nce(a, p, denominator):
    a = a / a.norm(dim=1, keepdim=True)
    p = p / p.norm(dim=1, keepdim=True)
    logits = a @ p.T / TAU
    if denominator == "all":
        return nn.functional.cross_entropy(logits, torch.arange(len(a)))
    # As Eq. 1-4 print it: the positive left out of the denominator.
    eye = torch.eye(len(a), dtype=torch.bool)
    negatives = logits.masked_fill(eye, float("-inf")).logsumexp(dim=1)
    return (negatives - logits.diagonal()).mean()


def names():
    """{torch name: sessrec name} of every parameter of both levels."""
    out = torch_transformer_names(LAYERS, True)
    session = torch_transformer_names(SESSION_LAYERS, True, encoder="session_encoder.")
    out.update({k: "session." + v for k, v in session.items() if k.startswith("session_encoder.")})
    return out


def shared_weights(core, rng):
    """Random weights of order 1 in the core, copied into a fresh TorchUBM."""
    values = {}
    for name, v in core.get_parameters().items():
        w = rng.normal(scale=0.3, size=v.shape).astype(np.float32)
        if name.endswith("ln1.weight") or name.endswith("ln2.weight") or "_ln.weight" in name:
            w += 1.0
        values[name] = w
    core.set_parameters(values)
    reference = TorchUBM()
    reference.train()  # dropout is 0; train mode keeps torch off its inference fast path
    mapping = names()
    assert sorted(mapping.values()) == sorted(values)
    with torch.no_grad():
        for torch_name, p in reference.named_parameters():
            p.copy_(torch.tensor(values[mapping[torch_name]]).reshape(p.shape))
    return reference, mapping


def compare_gradients(core, reference, mapping):
    ours = core.get_gradients()
    theirs = dict(reference.named_parameters())
    moved = 0
    for torch_name, our_name in mapping.items():
        g = theirs[torch_name].grad
        g = np.zeros(ours[our_name].shape, np.float32) if g is None else \
            g.detach().numpy().reshape(ours[our_name].shape)
        scale = max(1.0, float(np.abs(g).max()))
        assert np.abs(ours[our_name] - g).max() <= 2e-4 * scale, our_name
        moved += np.abs(g).max() > 1e-6
    return moved


def test_session_vectors_match_torch():
    rng = np.random.default_rng(0)
    core = make_core([True] * 4)
    reference, _ = shared_weights(core, rng)
    so, to, ids = sessions(rng)
    ours = core.encode_sessions(so, to, ids, np.arange(len(so) - 1))
    theirs = reference(so, to, ids).detach().numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=2e-5)


@pytest.mark.parametrize("loss,denominator", [(1, "all"), (2, "all"), (1, "negatives")])
def test_stage1_loss_and_gradients_match_torch(loss, denominator):
    rng = np.random.default_rng(loss)
    core = make_core([k == loss for k in (1, 2, 3, 4)], denominator)
    reference, mapping = shared_weights(core, rng)
    so, to, ids = sessions(rng)
    first = np.array([0, 1, 3, 4, 5, 7, 8, 9, 11, 12], dtype=np.int64)
    offsets, views = core.stage1_views(so, to, ids, first, first + 1, step=5)
    N = len(first)
    assert len(offsets) - 1 == (4 if loss == 1 else 2) * N
    core.zero_grad()
    ours, parts, _, _, _ = core.stage1_loss(offsets, views, N, training=False, backward=True)
    b = reference.interactions(offsets, views)
    theirs = (info_nce(b[:2 * N], b[2 * N:], denominator) if loss == 1
              else info_nce(b[:N], b[N:2 * N], denominator))
    theirs.backward()
    assert ours == pytest.approx(float(theirs), rel=1e-4, abs=1e-5)
    assert parts[loss - 1] == pytest.approx(ours)
    moved = compare_gradients(core, reference, mapping)
    assert moved > 10  # the interaction encoder's parameters get gradients, the session's none
    assert all(not np.any(v) for k, v in core.get_gradients().items() if k.startswith("session."))


@pytest.mark.parametrize("loss,denominator", [(3, "all"), (4, "all"), (4, "negatives")])
def test_stage2_loss_and_gradients_match_torch(loss, denominator):
    rng = np.random.default_rng(loss)
    core = make_core([k == loss for k in (1, 2, 3, 4)], denominator)
    reference, mapping = shared_weights(core, rng)
    so, to, ids = sessions(rng)
    rows = np.arange(len(so) - 1, dtype=np.int64)
    vso, vto, vids = core.stage2_views(so, to, ids, rows, step=5)
    N = len(rows)
    assert len(vso) - 1 == 2 * N
    core.zero_grad()
    ours, parts, _, _, _ = core.stage2_loss(vso, vto, vids, N, training=False, backward=True)
    h = reference(vso, vto, vids)
    theirs = info_nce(h[:N], h[N:], denominator)
    theirs.backward()
    assert ours == pytest.approx(float(theirs), rel=1e-4, abs=1e-5)
    assert parts[loss - 1] == pytest.approx(ours)
    assert compare_gradients(core, reference, mapping) == len(mapping)
