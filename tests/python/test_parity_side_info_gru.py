"""Parity with PyTorch for SideInfoGRU: the same weights and batch give the same loss, every
parameter gradient (side tables included) and the same scores, with and without the residual
under the full softmax. Skipped when torch is not installed."""

import numpy as np
import pytest

import sessrec as sr
from sessrec import _core

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch_reference import TorchGRU4Rec, full_softmax_loss, padded_batch  # noqa: E402


class TorchSideInfoGRU(TorchGRU4Rec):
    """The KDD Cup 2023 GRU written directly in torch on TorchGRU4Rec's layers: fused =
    mean(item, side embeddings), GRU, dense, plus the causal mean of the fused vectors when
    ``residual``."""

    def __init__(self, num_items, codes, sizes, names, dim, hidden, residual):
        super().__init__(num_items, dim=dim, hidden=hidden)
        self.side = nn.ModuleList(nn.Embedding(s, dim) for s in sizes)
        self.names, self.residual = names, residual
        # codes of item id (index + 1); id 0 (padding) never reaches the side tables
        padded = np.vstack([np.zeros((1, len(sizes)), np.int64), codes.astype(np.int64)])
        self.codes = torch.from_numpy(padded)

    def forward(self, inputs):
        valid = (inputs > 0).unsqueeze(-1).float()
        parts = [self.item_embedding(inputs)]
        for f, table in enumerate(self.side):
            parts.append(table(self.codes[inputs, f]) * valid)
        fused = torch.stack(parts).mean(0)
        h, _ = self.gru(fused)
        out = self.dense(h)
        if self.residual:
            count = valid.cumsum(1).clamp(min=1)
            out = out + fused.cumsum(1) / count
        return out

    def load_sessrec(self, params):
        super().load_sessrec(params)
        with torch.no_grad():
            for name, table in zip(self.names, self.side):
                table.weight.copy_(torch.from_numpy(np.array(params[f"side_embedding.{name}"])))

    def sessrec_gradients(self):
        grads = super().sessrec_gradients()
        for name, table in zip(self.names, self.side):
            grads[f"side_embedding.{name}"] = table.weight.grad
        return grads


@pytest.fixture(scope="module")
def data():
    ds = sr.datasets.synthetic(num_items=120, num_sessions=400, seed=3, mean_session_length=7)
    train, _, _ = ds.split("time")
    return ds, train


def close(ours, theirs, what):
    theirs = theirs.detach().numpy().reshape(ours.shape)
    scale = max(1.0, float(np.abs(theirs).max()))
    assert np.abs(ours - theirs).max() <= 2e-4 * scale, what


@pytest.mark.parametrize("residual,fields", [(True, ("brand", "price")), (False, ("brand",)),
                                             (True, ())])
@pytest.mark.parametrize("prefix", [False, True])
def test_side_info_gru_matches_torch(data, residual, fields, prefix):
    ds, train = data
    model = sr.models.SideInfoGRU(dim=16, hidden=24, max_len=10, dropout=0.0, seed=1,
                                  residual=residual, side_fields=list(fields), price_buckets=6)
    model.build(train)
    core = model.core
    # Side rows drawn larger than their N(0, 0.02) start, so that they matter in the loss.
    params = core.get_parameters()
    rng = np.random.default_rng(5)
    for name in params:
        if name.startswith("side_embedding."):
            params[name] = rng.normal(0, 0.5, params[name].shape).astype(np.float32)
    core.set_parameters(params)
    reference = TorchSideInfoGRU(ds.num_items, model._side_codes, model.side_sizes_,
                                 model.side_fields_, 16, 24, residual)
    reference.load_sessrec(core.get_parameters())

    begin, end = _core.make_training_windows(train.sessions, 10, prefix)
    pick = np.random.default_rng(0).choice(len(begin), size=24, replace=False)
    begin, end = begin[pick], end[pick]
    core.zero_grad()
    loss, n_targets, _ = core.forward_backward(train.sessions, begin, end, prefix)
    inputs, targets = padded_batch(train.sessions.items, begin, end, prefix)
    reference.zero_grad()
    ref_loss = full_softmax_loss(reference(inputs), targets, reference.item_embedding.weight)
    ref_loss.backward()
    assert n_targets == int((targets >= 0).sum())
    assert loss == pytest.approx(float(ref_loss), rel=1e-5)
    grads = core.get_gradients()
    assert set(grads) == set(reference.sessrec_gradients())
    for name, g in reference.sessrec_gradients().items():
        close(grads[name], g, f"gradient of {name}")

    items = np.asarray(train.sessions.items)
    scores = core.score(items, begin, end - 1)
    with torch.no_grad():
        last = torch.from_numpy(end - 1 - begin - 1)
        h = reference(inputs)[torch.arange(len(begin)), last]
        ref_scores = h @ reference.item_embedding.weight[1:].T
    close(scores, ref_scores, "scores")
