"""V-SKNN, the vector-multiplication session-kNN of session-rec (Ludewig & Jannach 2018).

Checked line by line against session-rec's ``algorithms/knn/vsknn.py`` (``VMContextKNN``).
session-rec's defaults are ``k=100, sample_size=500`` (its docstring; its signature has no
default for ``k`` and 1000 for ``sample_size``), ``weighting="div"``, ``weighting_score="div"``,
``similarity="vec"``, ``idf_weighting=False`` (0 here), ``remind=True``, ``sampling="recent"``.

Ours differ in six of them, tuned on validation (bench/run_vsknn_bench.py, bench/RESULTS.md
"V-SKNN: checked against session-rec and tuned on validation"): ``k=200, sample_size=1000,
weighting="log", weighting_score="quadratic", similarity="cosine", idf_weighting=5``. Validation
NDCG@20 with session-rec's defaults -> ours: online_retail 0.088 -> 0.148, yoochoose_100k
0.409 -> 0.431 (Hits@20 0.227 -> 0.345 and 0.630 -> 0.650). ``remind=False`` lifts
online_retail much further (invoices rarely repeat an item) but loses on yoochoose's clicks, so
it stays session-rec's ``True``.

* ``weighting``: the item at position p of the last T clicks weighs ``div`` p/T, ``same`` 1,
  ``log`` 1/log10(T - p + 1.7), ``quadratic`` (p/T)^2 or ``linear`` max(0, 1 - 0.1 (T - p)),
  which equals session-rec's for T <= 10 (session-rec zeroes every position after the 10th and
  goes negative). A repeated item keeps its latest weight.
* Candidates: training sessions sharing an item with the session; if more than
  ``sample_size`` (0 = all), the most recent (``sampling="recent"``, by each session's last
  event time) or a random sample (``"random"``, seeded by ``seed`` and the session's items).
* ``similarity``: ``"vec"`` is the sum of the query weights of the shared items over the number of
  distinct query items; ``"cosine"`` divides by the query's weight norm and sqrt(|n|)
  instead; ``"jaccard"`` is |q & n| / |q | n| without weights.
* The ``k`` most similar vote: each item of a neighbour gains its similarity, times
  ``1 + idf_weighting * ln(#sessions / #events of the item)`` (``idf_weighting=0`` is
  session-rec's ``False``), times ``weighting_score`` of the step (1-based, from the end) of
  the latest session item the neighbour contains: ``div`` 1/step, ``same`` 1, ``log``
  1/log10(step + 1.7), ``quadratic`` 1/step^2, ``linear`` max(0, 1 - 0.1 step) (session-rec
  goes negative after step 10).
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
        k: int = 200,
        sample_size: int = 1000,
        sampling: str = "recent",
        similarity: str = "cosine",
        weighting: str = "log",
        weighting_score: str = "quadratic",
        idf_weighting: float = 5.0,
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
