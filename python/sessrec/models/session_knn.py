"""V-SKNN, the vector-multiplication session-kNN of session-rec (Ludewig & Jannach 2018).

The current session is a vector with linearly decaying position weights (last item 1, item at
position p of T weighs p/T). Candidate neighbours are the ``sample_size`` most recent training
sessions sharing an item with it; the ``k`` most similar (dot product, or cosine) vote for their
items with their similarity.
"""

from __future__ import annotations

import numpy as np

from .. import _core
from ..io import session_store_arrays
from .base import Recommender


class SessionKNN(Recommender):
    name = "vsknn"

    def __init__(
        self,
        k: int = 100,
        sample_size: int = 500,
        cosine: bool = False,
        popularity_fallback: bool = True,
    ):
        super().__init__(
            k=k, sample_size=sample_size, cosine=cosine, popularity_fallback=popularity_fallback
        )
        self._config = _core.SessionKNNConfig()
        self._config.k, self._config.sample_size = k, sample_size
        self._config.cosine, self._config.popularity_fallback = cosine, popularity_fallback
        self._core = None
        self._train = None

    def _build(self, store):
        times = store.session_start_times() if store.times is not None else np.arange(
            store.num_sessions, dtype=np.int64
        )
        self._core = _core.SessionKNN(self._config, len(self.catalog))
        self._core.fit(store, times)
        self._train = store

    def _fit(self, train):
        self._build(train.sessions)

    def _scorer(self):
        return self._core

    # The neighbour index is rebuilt from the training sessions, which is what the file keeps.
    def _state(self):
        return session_store_arrays(self._train)

    def _set_state(self, arrays):
        store = _core.SessionStore(
            arrays["offsets"],
            arrays["items"],
            actions=arrays.get("actions"),
            times=arrays.get("times"),
            num_items=len(self.catalog),
        )
        self._build(store)
