"""Parity with PyTorch for the contrastive objectives (cpp/sessrec/loss/contrastive.h): InfoNCE
and ArcCon, each variant, with queue negatives and per-example weights -> the same loss,
per-example losses and gradients as a plain torch.nn.functional version under autograd. Then
the Python surface of MemoryQueue and ContrastiveObjective. Skipped without torch."""

import math
import pickle

import numpy as np
import pytest

from sessrec import _core

torch = pytest.importorskip("torch")
F = torch.nn.functional

B, D, QA, QP = 5, 8, 4, 6
VARIANTS = [
    dict(symmetric=False, same_space=False),
    dict(symmetric=True, same_space=False),
    dict(symmetric=False, same_space=True),
    dict(symmetric=True, same_space=True),
]


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(7)
    f32 = lambda *shape: rng.standard_normal(shape).astype(np.float32)  # noqa: E731
    weights = np.array([0.5, 2.0, 1.0, 0.0, 1.5], dtype=np.float32)
    return dict(a=f32(B, D), p=f32(B, D), anchor_queue=f32(QA, D), positive_queue=f32(QP, D),
                weights=weights)


def torch_inputs(batch):
    """The batch in float64; a and p require gradients."""
    return {k: torch.tensor(v, dtype=torch.float64, requires_grad=k in ("a", "p"))
            for k, v in batch.items()}


def torch_direction(x, y, negatives, queue, scale, margin):
    """Per-row loss of x -> y: positive s*cos(theta + m) (InfoNCE: m = 0), negatives s*cos over
    the other rows of `negatives` and every queue row, cross-entropy with the positive as label."""
    x, y, negatives = F.normalize(x), F.normalize(y), F.normalize(negatives)
    cos = x @ negatives.T
    positive = (x * y).sum(1)
    if margin > 0:
        theta = torch.acos(torch.clamp(positive, -1 + 1e-6, 1 - 1e-6))
        positive = torch.cos(torch.clamp(theta + margin, max=math.pi))
    eye = torch.eye(len(x), dtype=torch.bool)
    logits = torch.where(eye, positive[:, None].expand_as(cos), cos)
    if queue is not None:
        logits = torch.cat([logits, x @ F.normalize(queue).T], 1)
    return F.cross_entropy(scale * logits, torch.arange(len(x)), reduction="none")


def torch_loss(a, p, anchor_queue, positive_queue, weights, scale, margin, symmetric, same_space):
    first = torch_direction(a, p, a if same_space else p,
                            anchor_queue if same_space else positive_queue, scale, margin)
    rows = first
    if symmetric:
        second = torch_direction(p, a, p if same_space else a,
                                 positive_queue if same_space else anchor_queue, scale, margin)
        rows = 0.5 * (first + second)
    return (weights * rows).sum() / weights.sum(), rows


def close(ours, theirs, what, tol=2e-5):
    theirs = theirs.detach().numpy().reshape(np.shape(ours))
    scale = max(1.0, float(np.abs(theirs).max()))
    assert np.abs(np.asarray(ours) - theirs).max() <= tol * scale, what


def run_both(batch, op, variant, queues):
    """Our op and the torch reference on the same inputs; compares everything."""
    queue_args = {k: batch[k] for k in ("anchor_queue", "positive_queue")} if queues else {}
    if op == "infonce":
        tau = 0.1
        ours = _core.info_nce(batch["a"], batch["p"], tau, weights=batch["weights"], **queue_args,
                              **variant)
        scale, margin = 1 / tau, 0.0
    else:
        scale, margin = 10.0, 0.35
        ours = _core.arccon(batch["a"], batch["p"], scale, margin, weights=batch["weights"],
                            **queue_args, **variant)
    t = torch_inputs(batch)
    loss, rows = torch_loss(t["a"], t["p"], t["anchor_queue"] if queues else None,
                            t["positive_queue"] if queues else None, t["weights"], scale, margin,
                            **variant)
    loss.backward()
    name = f"{op} {variant} queues={queues}"
    close(ours[0], loss, name + " loss")
    close(ours[1], rows, name + " per-example losses")
    close(ours[2], t["a"].grad, name + " da")
    close(ours[3], t["p"].grad, name + " dp")
    return ours


@pytest.mark.parametrize("op", ["infonce", "arccon"])
@pytest.mark.parametrize("queues", [False, True])
@pytest.mark.parametrize("variant", VARIANTS, ids=["plain", "symmetric", "same", "symmetric-same"])
def test_op_matches_torch(batch, op, variant, queues):
    run_both(batch, op, variant, queues)


def test_kdd_four_term_loss_matches_torch(batch):
    """KDD Cup 2023 Eq. 6, 0.35:0.35:0.15:0.15, as two symmetric calls of ours."""
    scale, margin, lam = 10.0, 0.35, (0.35, 0.35, 0.15, 0.15)
    common = dict(weights=batch["weights"], anchor_queue=batch["anchor_queue"],
                  positive_queue=batch["positive_queue"], symmetric=True)
    cross = _core.arccon(batch["a"], batch["p"], scale, margin, same_space=False, **common)
    same = _core.arccon(batch["a"], batch["p"], scale, margin, same_space=True, **common)
    ours = [0.7 * c + 0.3 * s for c, s in zip(cross, same)]

    t = torch_inputs(batch)
    s_, t_, qs, qt, w = t["a"], t["p"], t["anchor_queue"], t["positive_queue"], t["weights"]
    terms = [torch_direction(s_, t_, t_, qt, scale, margin),  # L(x_s, x_t)
             torch_direction(t_, s_, s_, qs, scale, margin),  # L(x_t, x_s)
             torch_direction(s_, t_, s_, qs, scale, margin),  # L(x_s, x_s)
             torch_direction(t_, s_, t_, qt, scale, margin)]  # L(x_t, x_t)
    loss = sum(lam_k * (w * term).sum() / w.sum() for lam_k, term in zip(lam, terms))
    loss.backward()
    close(ours[0], loss, "four-term loss")
    close(ours[2], s_.grad, "four-term d sessions")
    close(ours[3], t_.grad, "four-term d targets")


def test_arccon_near_the_acos_boundary_matches_torch(batch):
    """A positive almost aligned with its anchor and one almost opposite (theta + m > pi)."""
    near = dict(batch)
    p = batch["p"].copy()
    p[0] = batch["a"][0] + 1e-2 * p[0]
    p[1] = -batch["a"][1] + 1e-2 * p[1]
    near["p"] = p
    run_both(near, "arccon", VARIANTS[0], queues=True)


def test_weights_reduce_to_the_weighted_mean(batch):
    loss, rows, _, _ = _core.info_nce(batch["a"], batch["p"], 0.1, weights=batch["weights"])
    w = batch["weights"]
    assert loss == pytest.approx(float((w * rows).sum() / w.sum()), rel=1e-5)
    plain = _core.info_nce(batch["a"], batch["p"], 0.1)[0]
    assert plain == pytest.approx(float(rows.mean()), rel=1e-5)
    with pytest.raises(ValueError):
        _core.info_nce(batch["a"], batch["p"], 0.1, weights=np.zeros(B, np.float32))
    with pytest.raises(ValueError):
        _core.arccon(batch["a"], batch["p"], 10.0, math.pi)
    with pytest.raises(ValueError):
        _core.info_nce(batch["a"], batch["p"][:, :3], 0.1)


def test_memory_queue_fifo_state_and_pickle():
    q = _core.MemoryQueue(3, 2)
    rows = np.array([[3, 4], [0, 2], [-5, 0], [0, -1]], np.float32)
    q.enqueue(rows)  # 4 rows into 3 slots: rows 1, 2, 3 remain; row 3 in slot 0
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    np.testing.assert_allclose(q.values(), unit[[3, 1, 2]])
    assert (len(q), q.write_position) == (3, 1)
    copy = pickle.loads(pickle.dumps(q))
    restored = _core.MemoryQueue(3, 2)
    restored.set_state(q.get_state())
    for other in (copy, restored):
        other.enqueue(rows[:1])
        np.testing.assert_array_equal(other.values(), unit[[3, 0, 2]])
    with pytest.raises(ValueError):
        q.enqueue(np.ones((2, 5), np.float32))
    with pytest.raises(ValueError):
        _core.MemoryQueue(0, 2)


def test_objective_owns_its_queues(batch):
    config = _core.ContrastiveConfig(kind="arccon", scale=10.0, margin=0.35, symmetric=True,
                                     queue_capacity=4)
    objective = _core.ContrastiveObjective(config, D)
    assert objective.name == "arccon"
    first = objective.forward_backward(batch["a"], batch["p"], batch["weights"])
    keys_a, keys_p = batch["anchor_queue"][:3], batch["positive_queue"][:3]
    objective.enqueue(anchor_keys=keys_a, positive_keys=keys_p)
    loss, da, dp = objective.forward_backward(batch["a"], batch["p"], batch["weights"])
    ours = _core.arccon(batch["a"], batch["p"], 10.0, 0.35, weights=batch["weights"],
                        anchor_queue=keys_a, positive_queue=keys_p, symmetric=True)
    assert loss == pytest.approx(ours[0], rel=1e-5) and loss > first[0] - 1e-6
    np.testing.assert_allclose(objective.example_losses, ours[1], rtol=1e-5)
    np.testing.assert_allclose(da, ours[2], rtol=1e-4, atol=1e-6)

    state = objective.get_state()
    assert sorted(state) == ["anchor_queue", "positive_queue"]
    resumed = _core.ContrastiveObjective(config, D)
    resumed.set_state(state)
    assert resumed.forward_backward(batch["a"], batch["p"], batch["weights"])[0] == loss
    with pytest.raises(ValueError):
        objective.enqueue(positive_keys=keys_p)  # the anchors' queue needs its keys too
    with pytest.raises(ValueError):
        _core.ContrastiveConfig(temprature=0.1)
    assert _core.ContrastiveObjective(_core.ContrastiveConfig(), D).get_state() == {}


@pytest.mark.parametrize("lam", [(0.45, 0.3, 0.125, 0.125), (0.5, 0.5, 0.0, 0.0),
                                 (0.0, 0.0, 0.0, 1.0)])
def test_decoupled_objective_matches_torch(batch, lam):
    """ContrastiveConfig(decoupled=...): KDD Cup 2023 Eq. 6 with any four weights, each term
    against its own space's queue, -> the torch four-term reference (loss, per-example losses,
    gradients). Unequal lambda1/lambda2 cannot be written as symmetric calls."""
    scale, margin = 10.0, 0.35
    config = _core.ContrastiveConfig(kind="arccon", scale=scale, margin=margin,
                                     queue_capacity=8, decoupled=list(lam))
    objective = _core.ContrastiveObjective(config, D)
    reads_anchors, reads_positives = lam[1] > 0 or lam[2] > 0, lam[0] > 0 or lam[3] > 0
    assert (objective.anchor_queue is not None) == reads_anchors
    assert (objective.positive_queue is not None) == reads_positives
    rows_each = min(QA, QP)
    objective.enqueue(anchor_keys=batch["anchor_queue"][:rows_each],
                      positive_keys=batch["positive_queue"][:rows_each])
    loss, da, dp = objective.forward_backward(batch["a"], batch["p"], batch["weights"])

    t = torch_inputs(batch)
    s_, t_, w = t["a"], t["p"], t["weights"]
    qs, qt = t["anchor_queue"][:rows_each], t["positive_queue"][:rows_each]
    terms = [torch_direction(s_, t_, t_, qt, scale, margin),  # L(x_s, x_t)
             torch_direction(t_, s_, s_, qs, scale, margin),  # L(x_t, x_s)
             torch_direction(s_, t_, s_, qs, scale, margin),  # L(x_s, x_s)
             torch_direction(t_, s_, t_, qt, scale, margin)]  # L(x_t, x_t)
    rows = sum(lam_k * term for lam_k, term in zip(lam, terms))
    total = (w * rows).sum() / w.sum()
    total.backward()
    close(loss, total, "decoupled loss")
    close(objective.example_losses, rows, "decoupled per-example losses")
    close(da, s_.grad, "decoupled d sessions")
    close(dp, t_.grad, "decoupled d targets")


def test_decoupled_config_is_checked():
    for bad in ([0.5, 0.5], [0.5, -0.1, 0.3, 0.3], [0.0, 0.0, 0.0, 0.0],
                [float("nan"), 0.3, 0.3, 0.3]):
        with pytest.raises(ValueError, match="decoupled"):
            _core.ContrastiveConfig(decoupled=bad).validate()
    with pytest.raises(ValueError, match="symmetric"):
        _core.ContrastiveConfig(decoupled=[0.35, 0.35, 0.15, 0.15], symmetric=True).validate()
