"""POP: every session gets the training popularity of each item."""

from __future__ import annotations

import numpy as np

from .. import _core
from .base import Recommender


class POP(Recommender):
    name = "pop"

    def __init__(self):
        super().__init__()
        self._core = None

    def _fit(self, train):
        self._core = _core.PopularityScorer(np.asarray(train.train_counts, dtype=np.int64))

    def _scorer(self):
        return self._core

    def _state(self):
        return {"counts": np.asarray(self._core.counts)}

    def _set_state(self, arrays):
        counts = arrays["counts"]
        if len(counts) != len(self.catalog):
            raise ValueError("POP state: counts do not match the catalogue")
        self._core = _core.PopularityScorer(counts.astype(np.int64))
