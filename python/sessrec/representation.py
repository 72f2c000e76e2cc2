"""Alignment and uniformity of representations (Wang & Isola 2020), computed in C++."""

from __future__ import annotations

import numpy as np

from . import _core


def alignment_uniformity(x, y, alpha: float = 2, t: float = 2) -> dict:
    """Alignment and uniformity of positive pairs ``x[i], y[i]`` (arrays ``[n, d]``).

    Every row is L2-normalised first (the properties live on the unit hypersphere), so raw
    encoder outputs can be passed; an all-zero row is an error. As UBM (Li et al. 2024, §4.6)
    adapts them from Wang & Isola::

        alignment   = mean_i ||x_i - y_i||^alpha
        uniformity  = log mean_{i<j} exp(-t ||x_i - x_j||^2)

    Returns ``{"alignment", "uniformity", "uniformity_x", "uniformity_y"}`` where uniformity is
    ``(uniformity_x + uniformity_y) / 2``, as in Wang & Isola's loss; the mean runs over the
    n(n-1)/2 distinct pairs of each side. Smaller is better for both. The O(n^2 d) pair sum runs
    in C++ over OpenMP threads, with the same result at any thread count. Needs n >= 2; raises
    ValueError for shape mismatches, NaN or infinite values and non-positive ``alpha`` or ``t``.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return dict(_core.alignment_uniformity(x, y, float(alpha), float(t)))
