"""Serving from an item index: the part of a model that scores ``<q, e_i>`` over an item table
and may answer top-k from a :class:`sessrec.item_index.ItemIndex` instead of exact scores.

A model mixes :class:`IndexedServing` in before :class:`~.base.Recommender` and defines two
methods: ``_exact_item_table()`` (the float32 table [num_items, dim] its scores use) and
``_session_queries(items, begin, end)`` (the vectors q with score_i = <q, e_i>). Its state hooks
add :meth:`_index_state` to what they save and call :meth:`_restore_index` on load, and training
calls :meth:`_drop_index_for_training`. The neural encoders (:mod:`.neural`) and TextContrastive
do so.
"""

from __future__ import annotations

import warnings


class IndexedServing:
    _index = None

    def build_index(self, kind: str = "int8", **settings):
        """Serve :meth:`recommend`, :meth:`recommend_batch` and :meth:`recommend_arrays` from an
        approximate index over the item table, with exact float32 re-scoring of its candidates
        (:class:`sessrec.item_index.ItemIndex`): ``kind`` "int8" (per-row scaled codes), "bf16"
        or "hnsw" (hnswlib graph for inner products); ``settings``: ``pool`` (candidates
        re-scored, default 256), and for hnsw ``M``, ``ef_construction``, ``ef``, ``seed``.
        Evaluation (:meth:`rank`, :func:`sessrec.evaluate`) stays exact. The index is a snapshot
        of the current weights: it is saved and pickled with the model, dropped by ``fit``
        (build it again after training), and removed with :meth:`drop_index`."""
        from ..item_index import ItemIndex

        self._require_fitted()
        self._index = ItemIndex(self._exact_item_table(), kind, **settings)
        return self

    def drop_index(self):
        """Serve exactly again (the default)."""
        self._index = None
        return self

    @property
    def index(self):
        """The serving index built by :meth:`build_index`, or None (exact serving)."""
        return self._index

    def _top_k_arrays(self, items, begin, end, k, exclude_history):
        if self._index is None:
            return super()._top_k_arrays(items, begin, end, k, exclude_history)
        return self._index.search(self._session_queries(items, begin, end), k,
                                  (items, begin, end) if exclude_history else None)

    def _index_state(self) -> dict:
        """The index's arrays under ``serving_index/`` (empty without an index)."""
        if self._index is None:
            return {}
        return {f"serving_index/{k}": v for k, v in self._index.state().items()}

    def _restore_index(self, arrays: dict) -> None:
        """Rebuild the index saved by :meth:`_index_state`, if the arrays hold one (the model's
        weights must be set first)."""
        from ..item_index import index_from_state

        saved = {k[14:]: v for k, v in arrays.items() if k.startswith("serving_index/")}
        self._index = index_from_state(self._exact_item_table(), saved) if saved else None

    def _drop_index_for_training(self) -> None:
        if self._index is not None:
            warnings.warn(f"{self.name}: training changes the item table, so the serving index "
                          "was dropped; call build_index() again after fit", stacklevel=4)
            self._index = None
