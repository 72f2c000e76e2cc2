"""Parity with PyTorch for MACL's new operations: the masked gated fusion
(cpp/sessrec/nn/masked_gated_fusion.h) and the adaptive contrastive loss with its weighting MLP
(cpp/sessrec/loss/adaptive_info_nce.h) on a tiny batch -> the same outputs, loss, weights and
gradients as a plain torch version under autograd. Skipped without torch."""

import numpy as np
import pytest

from sessrec import _core

torch = pytest.importorskip("torch")
F = torch.nn.functional


def f32(rng, *shape, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(np.float32)


def test_masked_gated_fusion_matches_torch():
    rng = np.random.default_rng(3)
    N, D, K = 5, 4, 2
    U = (1 + K) * D + K
    a, dout = f32(rng, N, D), f32(rng, N, D)
    x = [f32(rng, N, D) for _ in range(K)]
    mask = [np.array([1, 0, 1, 1, 0], np.uint8), np.array([1, 1, 0, 1, 0], np.uint8)]
    W = [f32(rng, D, U, scale=0.5) for _ in range(K)]
    b = [f32(rng, D) for _ in range(K)]
    out, da, dx, dW, db = _core.masked_gated_fusion(a, x, mask, W, b, dout)

    ta = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    tx = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in x]
    tW = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in W]
    tb = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in b]
    tm = [torch.tensor(m, dtype=torch.float64).unsqueeze(1) for m in mask]
    u = torch.cat([ta] + [m * v for m, v in zip(tm, tx)] + tm, dim=1)
    e = ta + sum(m * torch.sigmoid(u @ w.T + bb) * v for m, v, w, bb in zip(tm, tx, tW, tb))
    (e * torch.tensor(dout, dtype=torch.float64)).sum().backward()
    np.testing.assert_allclose(out, e.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(da, ta.grad.numpy(), rtol=1e-4, atol=1e-5)
    for k in range(K):
        np.testing.assert_allclose(dx[k], tx[k].grad.numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(dW[k], tW[k].grad.numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(db[k], tb[k].grad.numpy(), rtol=1e-4, atol=1e-5)


def torch_adaptive_info_nce(a, p, neg, tau, mlp):
    """The loss as cpp/sessrec/loss/adaptive_info_nce.h defines it, in torch."""
    ah, ph = F.normalize(a, dim=1), F.normalize(p, dim=1)
    negs = ph[torch.as_tensor(neg, dtype=torch.long)]  # [B, M, D]
    logits = torch.cat([(ah * ph).sum(1, keepdim=True),
                        torch.einsum("bd,bmd->bm", ah, negs)], dim=1) / tau
    losses = -F.log_softmax(logits, dim=1)[:, 0]
    B = a.shape[0]
    if mlp is None:
        alpha = torch.ones(B, dtype=a.dtype)
    else:
        z = torch.cat([ah, ph, negs.mean(1)], dim=1)
        s = F.gelu(z @ mlp["W1"].T + mlp["b1"]) @ mlp["W2"].T + mlp["b2"]
        alpha = B * torch.softmax(s[:, 0], dim=0)
    return (alpha * losses).sum() / B, alpha, losses


@pytest.mark.parametrize("adaptive", [True, False])
def test_adaptive_info_nce_matches_torch(adaptive):
    rng = np.random.default_rng(5)
    B, M, D, H, tau = 6, 3, 4, 5, 0.2
    a, p = f32(rng, B, D), f32(rng, B, D)
    neg = np.array([[(i + 1 + j) % B for j in range(M)] for i in range(B)], dtype=np.int32)
    mlp = None
    if adaptive:
        mlp = {"W1": f32(rng, H, 3 * D, scale=0.5), "b1": f32(rng, H, scale=0.3),
               "W2": f32(rng, 1, H), "b2": f32(rng, 1)}
    loss, alpha, losses, da, dp, grads = _core.adaptive_info_nce(a, p, neg, tau, mlp)

    t = lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True)  # noqa: E731
    ta, tp = t(a), t(p)
    tmlp = None if mlp is None else {k: t(v) for k, v in mlp.items()}
    tloss, talpha, tlosses = torch_adaptive_info_nce(ta, tp, neg, tau, tmlp)
    tloss.backward()
    assert loss == pytest.approx(tloss.item(), rel=1e-5)
    np.testing.assert_allclose(alpha, talpha.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(losses, tlosses.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(da, ta.grad.numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(dp, tp.grad.numpy(), rtol=1e-4, atol=1e-6)
    if adaptive:
        assert np.ptp(alpha) > 1e-3  # the weights are not all equal
        for k in ("W1", "b1", "W2", "b2"):
            np.testing.assert_allclose(grads[k].reshape(mlp[k].shape), tmlp[k].grad.numpy(),
                                       rtol=1e-4, atol=1e-6, err_msg=k)
    else:
        np.testing.assert_array_equal(alpha, np.ones(B, np.float32))
