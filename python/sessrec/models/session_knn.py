"""V-SKNN, the vector-multiplication session-kNN of session-rec (Ludewig & Jannach 2018).

Checked against session-rec's ``algorithms/knn/vsknn.py`` (``VMContextKNN``); every default
below is session-rec's except ``k`` and ``sample_size``, where session-rec's docstring says 100
and 500 (its signature has no default for ``k`` and 1000 for ``sample_size``):

* ``weighting="div"``: the item at position p of the last T clicks weighs p/T (``same``,
  ``linear``, ``log``, ``quadratic`` as in session-rec; ``linear`` is max(0, 1 - 0.1 (T - p)),
  which equals session-rec's for T <= 10, where session-rec zeroes every position after the
  10th).
* Candidates: training sessions sharing an item with the session; if more than
  ``sample_size`` (0 = all), the most recent (``sampling="recent"``, by each session's last
  event time) or a random sample (``"random"``, seeded by ``seed`` and the session's items).
* ``similarity="vec"``: sum of the query weights of the shared items over the number of
  distinct query items; ``"cosine"`` divides by the query's weight norm and sqrt(|n|)
  instead; ``"jaccard"`` is |q & n| / |q | n| without weights.
* The ``k`` most similar vote: each item of a neighbour gains its similarity, times
  ``1 + idf_weighting * ln(#sessions / #events of the item)`` (``idf_weighting=0`` is
  session-rec's ``False``), times ``weighting_score`` of the step (1-based, from the end) of
  the latest session item the neighbour contains (``"div"``: 1/step).
* ``remind=False`` leaves the session's own items unscored; ``last_n_clicks`` (None = all)
  builds the query from the last clicks only (candidates still come from the whole session).

Not carried over: ``dwelling_time`` and ``weighting_time`` (the scorer sees no timestamps),
``extend`` (scoring does not change the model), ``push_reminders``/``add_reminders``,
``normalize`` (dividing by the maximum changes no ranking) and ``last_n_days`` (filter the
training part instead). Items with no score fall back to popularity, below every scored item.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .. import _core
from ..io import session_store_arrays
from .base import Recommender


def session_end_times(store) -> np.ndarray:
    """Last event time of each session (session-rec's recency), or the store order without
    times."""
    if store.times is None:
        return np.arange(store.num_sessions, dtype=np.int64)
    times = np.asarray(store.times, dtype=np.int64)
    offsets = np.asarray(store.offsets)
    lengths = np.diff(offsets)
    end = np.zeros(store.num_sessions, dtype=np.int64)
    full = lengths > 0
    end[full] = np.maximum.reduceat(times, offsets[:-1][full])
    return end


class SessionKNN(Recommender):
    name = "vsknn"

    def __init__(
        self,
        k: int = 100,
        sample_size: int = 500,
        sampling: str = "recent",
        similarity: str = "vec",
        weighting: str = "div",
        weighting_score: str = "div",
        idf_weighting: float = 0.0,
        remind: bool = True,
        last_n_clicks: Optional[int] = None,
        seed: int = 0,
        popularity_fallback: bool = True,
    ):
        super().__init__(
            k=k,
            sample_size=sample_size,
            sampling=sampling,
            similarity=similarity,
            weighting=weighting,
            weighting_score=weighting_score,
            idf_weighting=idf_weighting,
            remind=remind,
            last_n_clicks=last_n_clicks,
            seed=seed,
            popularity_fallback=popularity_fallback,
        )
        self._config = _core.SessionKNNConfig()
        for name, value in self.params.items():
            if name == "last_n_clicks":
                value = 0 if value is None else value
            setattr(self._config, name, value)
        # Refuse a bad value now rather than at fit().
        _core.SessionKNN(self._config, 1)
        self._core = None
        self._train = None

    def _build(self, store):
        self._core = _core.SessionKNN(self._config, len(self.catalog))
        self._core.fit(store, session_end_times(store))
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
