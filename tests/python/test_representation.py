"""sr.alignment_uniformity against a hand case and a NumPy reference."""

import math

import numpy as np
import pytest

import sessrec as sr


def reference(x, y, alpha=2, t=2):
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    y = y / np.linalg.norm(y, axis=1, keepdims=True)

    def uniform(z):
        d2 = ((z[:, None, :] - z[None, :, :]) ** 2).sum(-1)
        i, j = np.triu_indices(len(z), k=1)
        return math.log(np.exp(-t * d2[i, j]).mean())

    ux, uy = uniform(x), uniform(y)
    return {
        "alignment": (np.linalg.norm(x - y, axis=1) ** alpha).mean(),
        "uniformity": (ux + uy) / 2,
        "uniformity_x": ux,
        "uniformity_y": uy,
    }


def test_hand_case():
    # x rows (1,0), (0,1), (-1,0) scaled by 3; every y row (0,5) -> (0,1) after normalising.
    # Squared pair distances 2, 0, 2 -> alignment 4/3. x pairs d^2 = 2, 4, 2 ->
    # uniformity_x = log((2 e^-4 + e^-8) / 3); y rows coincide -> uniformity_y = log 1 = 0.
    x = 3 * np.array([[1.0, 0], [0, 1], [-1, 0]])
    y = np.array([[0, 5.0]] * 3)
    r = sr.alignment_uniformity(x, y)
    assert set(r) == {"alignment", "uniformity", "uniformity_x", "uniformity_y"}
    ux = math.log((2 * math.exp(-4) + math.exp(-8)) / 3)
    assert r["alignment"] == pytest.approx(4 / 3)
    assert r["uniformity_x"] == pytest.approx(ux)
    assert r["uniformity_y"] == pytest.approx(0, abs=1e-12)
    assert r["uniformity"] == pytest.approx(ux / 2)


@pytest.mark.parametrize("alpha, t", [(2, 2), (1, 1), (3, 0.5)])
def test_matches_numpy_reference(alpha, t):
    rng = np.random.default_rng(int(alpha * 10 + t))
    x = rng.normal(size=(300, 24)).astype(np.float32)
    y = x + 0.5 * rng.normal(size=x.shape).astype(np.float32)
    got = sr.alignment_uniformity(x, y, alpha=alpha, t=t)
    want = reference(x.astype(np.float64), y.astype(np.float64), alpha, t)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-10, abs=1e-12), key


def test_errors():
    x = np.eye(3)
    with pytest.raises(ValueError, match=r"x is \[3, 3\] but y is \[2, 3\]"):
        sr.alignment_uniformity(x, x[:2])
    with pytest.raises(ValueError, match="2-D"):
        sr.alignment_uniformity(x[0], x[0])
    with pytest.raises(ValueError, match="at least 2 rows"):
        sr.alignment_uniformity(x[:1], x[:1])
    z = x.copy()
    z[1] = 0
    with pytest.raises(ValueError, match="y row 1 is all zeros"):
        sr.alignment_uniformity(x, z)
    z[1, 0] = np.nan
    with pytest.raises(ValueError, match="x row 1"):
        sr.alignment_uniformity(z, x)
    with pytest.raises(ValueError, match="alpha"):
        sr.alignment_uniformity(x, x, alpha=0)
