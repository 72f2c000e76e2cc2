"""Classification and regression metrics of the UBM downstream tasks (computed in C++).

Li et al. (2024), §4.1.2: purchase intention prediction uses "accuracy, Area Under Receiver
Operating Characteristic (AUROC), F1 score and Cohen's Kappa (CK)"; remaining length prediction
uses "Mean Absolute Error (MAE), Mean Squared Error (MSE) and Mean Squared Log Error (MSLE)" and
"the R^2 score". Definitions and edge cases: ``cpp/sessrec/eval/task_metrics.h``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import _core


def _vector(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def classification_metrics(y_true, y_score, threshold: float = 0.5) -> pd.Series:
    """Accuracy, AUROC, F1 and Cohen's kappa of binary labels against scores.

    ``y_true`` holds 0/1 labels, ``y_score`` a score per example (e.g. a sigmoid output). A
    score ``>= threshold`` predicts 1; accuracy, F1 and kappa come from that 2x2 confusion
    matrix. The AUROC uses the scores alone: the Mann-Whitney statistic with tied scores given
    their average rank (a positive tied with a negative counts one half). F1 is 0 when there is
    neither a positive label nor a positive prediction.

    Raises ValueError for empty input, different lengths, NaN or infinite values, labels other
    than 0 and 1, and a single class in ``y_true`` (the AUROC is undefined); the message names
    the array and index.
    """
    values = _core.classification_metrics(
        _vector(y_true, "y_true"), _vector(y_score, "y_score"), float(threshold)
    )
    return pd.Series(
        {key: values[key] for key in ("accuracy", "auroc", "f1", "cohen_kappa")},
        name="classification",
    )


def regression_metrics(y_true, y_pred) -> pd.Series:
    """MAE, MSE, MSLE and R^2 of predictions against targets.

    MSLE is ``mean((log1p(y_true) - log1p(y_pred))**2)`` and refuses negative values in either
    array. R^2 is ``1 - SS_res / SS_tot``; for a constant target (SS_tot = 0) it is 1.0 when
    every prediction is exact and 0.0 otherwise (scikit-learn's ``force_finite`` convention).

    Raises ValueError for empty input, different lengths and NaN or infinite values, naming the
    array and index.
    """
    values = _core.regression_metrics(_vector(y_true, "y_true"), _vector(y_pred, "y_pred"))
    return pd.Series({key: values[key] for key in ("mae", "mse", "msle", "r2")}, name="regression")
