"""Item indexes for serving embedding models over large catalogues.

An embedding model scores item i for a session as ``<q, e_i>`` (q the session vector divided by
the temperature, e_i row i of the item table). Exact top-k reads the whole float32 table for
every session: about 30 ms for one session over a million items at dim 64. An
:class:`ItemIndex` answers from a cheaper structure and re-scores a candidate pool exactly:

* ``"int8"``: the table as int8 codes with a float scale per row (a quarter of the bytes);
* ``"bf16"``: the table as bfloat16 (half of the bytes);
* ``"hnsw"``: an HNSW graph for inner products (hnswlib, Debian's python3-hnswlib), which visits
  a few thousand items instead of all.

The ``pool`` best candidates (plus room for the history items that are excluded) are re-scored
with float32 dot products (:func:`sessrec._core.exact_rescore_top_k`), so the returned scores
are exact and the top-k is exactly the true one whenever the true top-k lies in the pool
(always for int8/bf16 when ``pool`` reaches the catalogue size). Exact search stays the default
of :meth:`~sessrec.models.base.Recommender.recommend_arrays` and of every evaluation.

An index is saved with its model (the hnsw graph as the bytes hnswlib writes; the quantised
tables are rebuilt on load, deterministically, from the model's item table).
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Optional

import numpy as np

from . import _core

KINDS = ("int8", "bf16", "hnsw")


class ItemIndex:
    """An approximate index over the rows of ``items`` [num_items, dim] (float32).

    ``pool``: candidates re-scored exactly per session (at least ``k`` plus the history length
    is used). hnsw: ``M`` (graph degree), ``ef_construction`` and ``ef`` (search breadth, at
    least the pool), ``seed``."""

    def __init__(self, items: np.ndarray, kind: str = "int8", pool: int = 256, M: int = 16,
                 ef_construction: int = 200, ef: int = 256, seed: int = 0,
                 hnsw_bytes: Optional[np.ndarray] = None):
        if kind not in KINDS:
            raise ValueError(f"index kind must be one of {', '.join(KINDS)}, got {kind!r}")
        for name, value in (("pool", pool), ("M", M), ("ef_construction", ef_construction),
                            ("ef", ef)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        items = np.ascontiguousarray(items, dtype=np.float32)
        if items.ndim != 2 or items.shape[0] == 0 or items.shape[1] == 0:
            raise ValueError(f"the item table must be [num_items > 0, dim > 0], got {items.shape}")
        if not np.isfinite(items).all():
            raise ValueError("the item table holds NaN or infinite values")
        self.kind = kind
        self.settings = dict(kind=kind, pool=int(pool), M=int(M),
                             ef_construction=int(ef_construction), ef=int(ef), seed=int(seed))
        self.items = items  # the exact table the candidates are re-scored against
        self._quantised = None
        self._hnsw = None
        if kind in ("int8", "bf16"):
            self._quantised = _core.QuantisedItemTable(items, kind)
        else:
            self._hnsw = _hnsw_index(items, self.settings, hnsw_bytes)

    @property
    def num_items(self) -> int:
        return self.items.shape[0]

    @property
    def dim(self) -> int:
        return self.items.shape[1]

    def candidates(self, queries: np.ndarray, pool: int) -> np.ndarray:
        """The ``pool`` approximately best items per query, int32 [len(queries), pool] (-1
        pads)."""
        pool = min(pool, self.num_items)
        if self._quantised is not None:
            return self._quantised.top_candidates(queries, pool)
        self._hnsw.set_ef(max(self.settings["ef"], pool))
        labels, _ = self._hnsw.knn_query(queries, k=pool, num_threads=_core.get_num_threads())
        return labels.astype(np.int32)

    def search(self, queries: np.ndarray, k: int, exclude=None):
        """Top-``k`` items per query by exact re-scored inner product: (int32 [n, k], float32
        [n, k]), best first, -1/-inf padding. ``exclude``: (items, begin, end) histories whose
        items are left out."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise ValueError(f"queries must be [n, {self.dim}], got {queries.shape}")
        if k > self.num_items:
            raise ValueError(f"k={k} is larger than the catalogue of {self.num_items} items")
        longest = 0
        if exclude is not None:
            begin, end = np.asarray(exclude[1]), np.asarray(exclude[2])
            longest = int((end - begin).max()) if len(end) else 0
        pool = max(self.settings["pool"], k) + longest
        candidates = self.candidates(queries, pool)
        return _core.exact_rescore_top_k(queries, self.items, candidates, k, exclude)

    # ------------------------------------------------------------------------- saving
    def state(self) -> dict:
        """Arrays that restore the index with :func:`index_from_state` (the item table is the
        model's and is not included)."""
        out = {"spec": np.frombuffer(json.dumps(self.settings).encode(), dtype=np.uint8).copy()}
        if self._hnsw is not None:
            out["hnsw"] = _hnsw_to_bytes(self._hnsw)
        return out


def index_from_state(items: np.ndarray, arrays: dict) -> ItemIndex:
    settings = json.loads(bytes(np.asarray(arrays["spec"], dtype=np.uint8)).decode())
    return ItemIndex(items, hnsw_bytes=arrays.get("hnsw"), **settings)


def exact_top_k(items: np.ndarray, queries: np.ndarray, k: int, block_bytes: int = 64 << 20):
    """Exact top-``k`` inner products by full scoring (blocks of queries, float32 products):
    the reference an index is measured against. (int32 [n, k], float32 [n, k])."""
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    rows = max(1, block_bytes // (4 * items.shape[0]))
    parts = [_core.top_k_from_scores(queries[i:i + rows] @ items.T, k)
             for i in range(0, len(queries), rows)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def exact_recall(index: ItemIndex, queries: np.ndarray, k: int = 20) -> float:
    """Recall@k of ``index.search`` against exact search over the same table (the share of the
    true top-k items that the index returns)."""
    truth, _ = exact_top_k(index.items, queries, k)
    found, _ = index.search(queries, k)
    hits = sum(len(np.intersect1d(t, f)) for t, f in zip(truth, found))
    return hits / truth.size


# --------------------------------------------------------------------------------- hnswlib
def _hnswlib():
    try:
        import hnswlib
    except ImportError:
        raise ImportError("index kind 'hnsw' needs hnswlib (Debian: apt-get install "
                          "python3-hnswlib; `make deps` installs it)") from None
    return hnswlib


def _hnsw_index(items: np.ndarray, settings: dict, saved: Optional[np.ndarray]):
    hnswlib = _hnswlib()
    index = hnswlib.Index(space="ip", dim=items.shape[1])
    if saved is not None:
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "index.bin")
            np.asarray(saved, dtype=np.uint8).tofile(path)
            index.load_index(path, max_elements=items.shape[0])
        if index.get_current_count() != items.shape[0]:
            raise ValueError(f"the saved hnsw index holds {index.get_current_count()} items, the "
                             f"model {items.shape[0]}")
    else:
        index.init_index(max_elements=items.shape[0], M=settings["M"],
                         ef_construction=settings["ef_construction"],
                         random_seed=settings["seed"])
        index.add_items(items, np.arange(items.shape[0]), num_threads=_core.get_num_threads())
    index.set_ef(settings["ef"])
    return index


def _hnsw_to_bytes(index) -> np.ndarray:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "index.bin")
        index.save_index(path)
        return np.fromfile(path, dtype=np.uint8)
