"""Parity of the text encoder with PyTorch: a small randomly initialised ``nn.TransformerEncoder``
(with token and position embeddings), exported by this test to HDF5 under its own state_dict
names and loaded by name, gives the same pooled vectors, token outputs and parameter gradients.
Skipped when torch is not installed."""

import h5py
import numpy as np
import pytest

from sessrec.models import parameter_groups
from sessrec.models.text_encoder import make_text_encoder, torch_transformer_names

torch = pytest.importorskip("torch")
nn = torch.nn

VOCAB, DIM, HEADS, FFN, LAYERS, MAX_TOKENS = 23, 16, 4, 24, 2, 7


class TorchTextEncoder(nn.Module):
    def __init__(self, post_ln, positions, pooling, normalize, eps):
        super().__init__()
        self.post_ln, self.pooling, self.normalize = post_ln, pooling, normalize
        self.token_embedding = nn.Embedding(VOCAB, DIM)
        self.position_embedding = nn.Embedding(MAX_TOKENS, DIM) if positions == "learned" else None
        if positions == "sinusoidal":
            t = np.arange(MAX_TOKENS)[:, None]
            d = np.arange(DIM)[None, :]
            angle = t / np.power(10000.0, (2 * (d // 2)) / DIM)
            table = np.where(d % 2 == 0, np.sin(angle), np.cos(angle))
            self.register_buffer("sinusoids", torch.tensor(table, dtype=torch.float32))
        self.embedding_ln = nn.LayerNorm(DIM, eps=eps) if post_ln else None
        layer = nn.TransformerEncoderLayer(DIM, HEADS, FFN, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=not post_ln,
                                           layer_norm_eps=eps)
        self.encoder = nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False,
                                             norm=None if post_ln else nn.LayerNorm(DIM, eps=eps))

    def forward(self, ids, valid):
        T = ids.shape[1]
        pos = (self.position_embedding.weight[:T] if self.position_embedding is not None
               else self.sinusoids[:T])
        x = self.token_embedding(ids) + pos
        if self.embedding_ln is not None:
            x = self.embedding_ln(x)
        z = self.encoder(x, src_key_padding_mask=~valid)
        if self.pooling == "cls":
            pooled = z[:, 0]
        else:
            w = valid.float().unsqueeze(-1)
            pooled = (z * w).sum(1) / w.sum(1)
        if self.normalize:
            pooled = pooled / pooled.norm(dim=1, keepdim=True)
        return pooled, z


def token_lists(rng, B=5):
    lengths = rng.integers(1, MAX_TOKENS + 1, size=B)
    lengths[0] = MAX_TOKENS  # one full list, one of a single token
    lengths[1] = 1
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    ids = rng.integers(0, VOCAB, size=offsets[-1]).astype(np.int32)
    return offsets, ids, lengths


def padded(offsets, ids, lengths):
    B, T = len(lengths), int(lengths.max())
    out = np.zeros((B, T), dtype=np.int64)
    valid = np.zeros((B, T), dtype=bool)
    for b in range(B):
        out[b, : lengths[b]] = ids[offsets[b]: offsets[b + 1]]
        valid[b, : lengths[b]] = True
    return torch.tensor(out), torch.tensor(valid)


def export(model, path):
    with h5py.File(path, "w") as f:
        for name, value in model.state_dict().items():
            if name != "sinusoids":
                f[name] = value.detach().numpy()


@pytest.mark.parametrize(
    "post_ln,positions,pooling,normalize",
    [(True, "learned", "cls", False), (False, "learned", "mean", True),
     (True, "sinusoidal", "mean", False), (False, "sinusoidal", "cls", True)],
)
def test_text_encoder_matches_torch(tmp_path, post_ln, positions, pooling, normalize):
    torch.manual_seed(0)
    eps = 1e-5
    reference = TorchTextEncoder(post_ln, positions, pooling, normalize, eps)
    with torch.no_grad():  # LayerNorm and bias parameters away from 1/0, so the mapping shows
        for name, p in reference.named_parameters():
            if p.dim() == 1:
                p.add_(0.1 * torch.randn_like(p))
    reference.train()  # dropout is 0; train mode keeps torch off its inference fast path
    path = tmp_path / "torch.h5"
    export(reference, path)

    ours = make_text_encoder(VOCAB, dim=DIM, heads=HEADS, ffn_dim=FFN, layers=LAYERS,
                             max_tokens=MAX_TOKENS, post_ln=post_ln, positions=positions,
                             pooling=pooling, normalize=normalize, ln_eps=eps, dropout=0.0)
    names = torch_transformer_names(LAYERS, post_ln, position_embedding=(
        "position_embedding.weight" if positions == "learned" else None))
    loaded = parameter_groups.import_parameters(ours, path, names, strict=True)
    assert sorted(loaded) == sorted(ours.parameter_names())

    rng = np.random.default_rng(1)
    offsets, ids, lengths = token_lists(rng)
    pooled = ours.forward(offsets, ids)
    tokens = ours.token_outputs()
    ids_t, valid = padded(offsets, ids, lengths)
    ref_pooled, ref_z = reference(ids_t, valid)
    ref_tokens = ref_z[valid]  # packed order: list by list, token by token
    np.testing.assert_allclose(pooled, ref_pooled.detach().numpy(), rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose(tokens, ref_tokens.detach().numpy(), rtol=1e-4, atol=2e-5)

    R = rng.normal(size=pooled.shape).astype(np.float32)
    R2 = rng.normal(size=tokens.shape).astype(np.float32)
    ours.zero_grad()
    ours.forward(offsets, ids, training=True)
    ours.backward(R, R2)
    grads = ours.get_gradients()
    reference.zero_grad()
    loss = (ref_pooled * torch.tensor(R)).sum() + (ref_tokens * torch.tensor(R2)).sum()
    loss.backward()
    theirs = dict(reference.named_parameters())
    for torch_name, our_name in names.items():
        g = theirs[torch_name].grad.detach().numpy().reshape(grads[our_name].shape)
        scale = max(1.0, float(np.abs(g).max()))
        assert np.abs(grads[our_name] - g).max() <= 2e-4 * scale, our_name


def test_import_refuses_a_mismatched_torch_file(tmp_path):
    reference = TorchTextEncoder(True, "learned", "cls", False, 1e-5)
    path = tmp_path / "torch.h5"
    export(reference, path)
    wider = make_text_encoder(VOCAB, dim=2 * DIM, heads=HEADS, ffn_dim=FFN, layers=LAYERS,
                              max_tokens=MAX_TOKENS)
    with pytest.raises(ValueError, match="shape"):
        parameter_groups.import_parameters(wider, path, torch_transformer_names(LAYERS), True)
    deeper = make_text_encoder(VOCAB, dim=DIM, heads=HEADS, ffn_dim=FFN, layers=LAYERS + 1,
                               max_tokens=MAX_TOKENS)
    with pytest.raises(ValueError, match="no dataset 'encoder.layers.2"):
        parameter_groups.import_parameters(deeper, path, torch_transformer_names(LAYERS + 1), True)
    with pytest.raises(TypeError, match="unknown text encoder options"):
        make_text_encoder(VOCAB, hidden=8)


def test_masked_token_loss_matches_torch(tmp_path):
    """Masked-token prediction: the masked lists through the encoder, the head (transform, GELU,
    LayerNorm, decoder tied to the token embedding, output bias) and cross-entropy at the
    selected rows; same loss and every gradient, the tied embedding's included."""
    from sessrec import _core

    torch.manual_seed(1)
    eps = 1e-5
    reference = TorchTextEncoder(True, "learned", "mean", False, eps)
    transform, ln = nn.Linear(DIM, DIM), nn.LayerNorm(DIM, eps=eps)
    decoder_bias = nn.Parameter(0.1 * torch.randn(VOCAB))
    reference.train()
    path = tmp_path / "torch.h5"
    export(reference, path)
    with h5py.File(path, "a") as f:
        f["mlm.transform.weight"] = transform.weight.detach().numpy()
        f["mlm.transform.bias"] = transform.bias.detach().numpy()
        f["mlm.ln.weight"] = ln.weight.detach().numpy()
        f["mlm.ln.bias"] = ln.bias.detach().numpy()
        f["mlm.decoder.bias"] = decoder_bias.detach().numpy()
    ours = make_text_encoder(VOCAB, dim=DIM, heads=HEADS, ffn_dim=FFN, layers=LAYERS,
                             max_tokens=MAX_TOKENS, pooling="mean", ln_eps=eps, dropout=0.0,
                             mlm_head=True)
    names = torch_transformer_names(LAYERS)
    names.update({n: n for n in ("mlm.transform.weight", "mlm.transform.bias", "mlm.ln.weight",
                                 "mlm.ln.bias", "mlm.decoder.bias")})
    parameter_groups.import_parameters(ours, path, names, strict=True)

    rng = np.random.default_rng(2)
    offsets, ids, lengths = token_lists(rng, B=6)
    masked = _core.mask_tokens(offsets=offsets, ids=ids, vocab_size=VOCAB, mask_id=VOCAB - 1,
                               rate=0.4, max_tokens=MAX_TOKENS, seed=3)
    assert len(masked["rows"]) > 0
    ours.zero_grad()
    ours.forward(masked["offsets"], masked["ids"], training=True)
    loss, dtokens = ours.masked_token_loss(masked["rows"], masked["labels"])
    ours.backward(np.zeros((len(lengths), DIM), np.float32), dtokens)
    grads = ours.get_gradients()

    ids_t, valid = padded(masked["offsets"], masked["ids"], lengths)
    _, z = reference(ids_t, valid)
    tokens = z[valid]
    h = ln(torch.nn.functional.gelu(transform(tokens[torch.tensor(masked["rows"])])))
    logits = h @ reference.token_embedding.weight.T + decoder_bias
    ref_loss = torch.nn.functional.cross_entropy(logits, torch.tensor(masked["labels"]).long())
    ref_loss.backward()
    assert abs(loss - ref_loss.item()) <= 1e-5 * max(1.0, abs(loss))
    theirs = dict(reference.named_parameters())
    theirs.update({"mlm.transform.weight": transform.weight, "mlm.transform.bias": transform.bias,
                   "mlm.ln.weight": ln.weight, "mlm.ln.bias": ln.bias,
                   "mlm.decoder.bias": decoder_bias})
    for torch_name, our_name in names.items():
        g = theirs[torch_name].grad.detach().numpy().reshape(grads[our_name].shape)
        scale = max(1.0, float(np.abs(g).max()))
        assert np.abs(grads[our_name] - g).max() <= 2e-4 * scale, our_name
