"""SideInfoGRU: the customised GRU of the KDD Cup 2023 5th-place solution (Zhang et al. 2023,
§2.1.2), a GRU over items fused with their side information (price, brand, any categorical
field of the catalogue), with a sequence-level residual. The network is the C++
``_core.SideInfoGRU`` (cpp/sessrec/models/side_info_gru.h); this file turns catalogue fields into
the per-item codes it embeds."""

from __future__ import annotations

import json
from typing import Optional, Sequence

import numpy as np

from .. import _core
from .neural import NeuralRecommender

# The numeric catalogue field used by default (bucketed); every categorical field is used too.
DEFAULT_NUMERIC_FIELDS = ("price",)


def bucket_codes(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Rows of ``values`` in a bucketed table: 0 for a missing (non-finite) value, else
    1 + the number of ``edges`` at or below it."""
    values = np.asarray(values, dtype=np.float64)
    codes = 1 + np.searchsorted(edges, values, side="right")
    codes[~np.isfinite(values)] = 0
    return codes.astype(np.int32)


def quantile_edges(values: np.ndarray, seen: np.ndarray, buckets: int) -> np.ndarray:
    """The inner edges of ``buckets`` quantile buckets of the finite ``values`` of the items in
    ``seen`` (all finite values when no seen item has one); repeated edges merge buckets."""
    finite = np.isfinite(values)
    pool = values[finite & seen]
    if pool.size == 0:
        pool = values[finite]
    if pool.size == 0 or buckets == 1:
        return np.zeros(0)
    return np.unique(np.quantile(pool, np.arange(1, buckets) / buckets))


class SideInfoGRU(NeuralRecommender):
    """The KDD Cup 2023 5th-place GRU (Zhang et al. 2023, §2.1.2): "we utilize mean pooling on
    the embeddings of the items as well as their associated side information (such as price and
    brand) to derive fused embeddings. Subsequently, these embeddings are fed into a GRU layer
    for the extraction of sequential features. [...] This block conducts mean pooling on the
    initial fused embeddings prior to the GRU layer. It is then added to the output of the GRU
    layer to generate the final sequential representation."

    For each of the last ``max_len`` items (the paper's last N), the item's ID embedding and one
    embedding per side field are averaged into a fused vector; dropout, a GRU of ``hidden``
    units and a dense layer back to ``dim`` follow, as in :class:`GRU4Rec`; with
    ``residual=True`` the mean of the fused vectors (of the positions up to each one, so the
    last position's is the mean over the whole window) is added to the output. The session
    vector is scored against the tied item ID embeddings, as GRU4Rec's; Figure 2 shows one
    shared embedding lookup and no side information on the output side (see the C++ header).
    Losses are GRU4Rec's: ``loss="ce"`` (full softmax) or ``"sampled"``.

    Side fields (``side_fields``): None uses every categorical field of the training
    catalogue and its numeric ``price`` field if there is one; a list names catalogue fields
    (categorical, or numeric ones, which are bucketed). ``side_data`` adds fields given as
    arrays aligned to the catalogue, ``{name: values}``: integer values are categorical codes
    (-1 = missing), float values are bucketed (NaN = missing); a name also in the catalogue
    uses the array. Every table has its own "missing" row (row 0). A numeric field is cut into
    ``price_buckets`` quantile buckets of the values of the items seen in training (the edges
    are in ``side_edges_``). With no side field the model is GRU4Rec plus the residual (and
    GRU4Rec itself with ``residual=False``: same weights, same dropout masks).

    After ``fit`` or ``load``: ``side_fields_`` (the fields used, in table order),
    ``side_sizes_`` (rows per table) and ``side_edges_`` (bucket edges per numeric field).
    Unknown field names and arrays of the wrong length raise ValueError at ``fit``.

    Measured (bench/RESULTS.md, "SideInfoGRU (issue 11)"): side fields raise test NDCG@20 over
    GRU4Rec on online_retail (price) and on the synthetic data (brand, price); split by history
    (seed 0), the gain is on histories that hold items never seen in training, whose ID rows are
    untrained but whose side rows are not. Without side fields the residual alone does not
    help."""

    name = "side_info_gru"

    def __init__(self, hidden: int = 64, residual: bool = True,
                 side_fields: Optional[Sequence[str]] = None, side_data: Optional[dict] = None,
                 price_buckets: int = 20, lr: float = 1e-2, **kwargs):
        if not isinstance(residual, bool):
            raise ValueError(f"residual must be True or False, got {residual!r}")
        if isinstance(price_buckets, bool) or not isinstance(price_buckets, int) or price_buckets < 1:
            raise ValueError(f"price_buckets must be a positive integer, got {price_buckets!r}")
        if side_fields is not None:
            if isinstance(side_fields, str) or not all(isinstance(f, str) for f in side_fields):
                raise ValueError(f"side_fields must be a list of field names, got {side_fields!r}")
            side_fields = list(side_fields)
            if len(set(side_fields)) != len(side_fields):
                raise ValueError(f"side_fields names a field twice: {side_fields}")
        # Arrays are model state (their codes are saved with the weights); params keep the names.
        # A list of names is what a saved model's parameters hold: the codes come from its file.
        self._side_arrays: Optional[dict] = None
        if isinstance(side_data, dict):
            self._side_arrays = {str(k): np.asarray(v) for k, v in side_data.items()}
            side_data = sorted(self._side_arrays)
        elif side_data is not None:
            if isinstance(side_data, str) or not all(isinstance(f, str) for f in side_data):
                raise ValueError("side_data must be a dict {field name: array aligned to the "
                                 f"catalogue}}, got {side_data!r}")
            side_data = list(side_data)
        if kwargs.get("items", "id") != "id":
            raise ValueError(f"SideInfoGRU embeds item IDs (items='id'); got items={kwargs['items']!r}")
        super().__init__(hidden=hidden, residual=residual, side_fields=side_fields,
                         side_data=side_data, price_buckets=price_buckets, lr=lr, **kwargs)
        self.side_fields_: Optional[list] = None
        self.side_sizes_: Optional[list] = None
        self.side_edges_: dict = {}
        self._side_codes: Optional[np.ndarray] = None  # [num_items, F] int32

    def _constructor_arguments(self) -> dict:
        # Side arrays are state; the parameters only name their fields.
        extra = super()._constructor_arguments()
        if self._side_arrays is not None:
            extra["side_data"] = self._side_arrays
        return extra

    # ------------------------------------------------------------------------- side codes
    def _resolve_side(self, train) -> None:
        """Codes of every item in every side field, from the training catalogue and
        ``side_data``; sets ``side_fields_``, ``side_sizes_``, ``side_edges_``."""
        catalog, n = train.catalog, len(train.catalog)
        arrays = self._side_arrays or {}
        if self.params["side_data"] and not arrays:
            raise ValueError(f"side_data names {self.params['side_data']} but holds no arrays; "
                             "pass side_data={name: array aligned to the catalogue}")
        categorical, numeric = catalog.categorical_fields(), catalog.numeric_fields()
        names = self.params["side_fields"]
        if names is None:
            names = list(categorical) + [f for f in DEFAULT_NUMERIC_FIELDS if f in numeric]
        unknown = [f for f in names if f not in categorical and f not in numeric and f not in arrays]
        if unknown:
            raise ValueError(f"side_fields: {unknown} are not fields of the catalogue of "
                             f"{train.dataset_name!r} (categorical: {list(categorical)}, numeric: "
                             f"{list(numeric)}) nor keys of side_data")
        names = list(names) + [f for f in sorted(arrays) if f not in names]
        seen = np.asarray(train.train_counts) > 0
        codes, sizes, edges = [], [], {}
        for field in names:
            rows = None
            if field in arrays:
                values = arrays[field]
                if values.ndim != 1 or len(values) != n:
                    raise ValueError(f"side_data[{field!r}] has shape {values.shape}; the "
                                     f"catalogue has {n} items (one value per item)")
                if values.dtype.kind in "iub":
                    values = values.astype(np.int64)
                    if (values < -1).any():
                        raise ValueError(f"side_data[{field!r}]: integer codes must be >= 0 or "
                                         f"-1 (missing); item {int(np.flatnonzero(values < -1)[0])}"
                                         f" has {int(values[values < -1][0])}")
                    kind = "categorical"
                elif values.dtype.kind == "f":
                    kind = "numeric"
                else:
                    raise ValueError(f"side_data[{field!r}] must hold integer codes or floats, "
                                     f"got dtype {values.dtype}")
            elif field in categorical:
                values, vocab = catalog.categorical(field)
                values, kind = np.asarray(values, dtype=np.int64), "categorical"
                rows = len(vocab) + 1  # a row per vocabulary entry, used or not, and missing
            else:
                values, kind = np.asarray(catalog.numeric(field), dtype=np.float64), "numeric"
            if kind == "categorical":
                codes.append((values + 1).astype(np.int32))
                sizes.append(rows or int(values.max(initial=-1)) + 2)
            else:
                edges[field] = quantile_edges(values.astype(np.float64), seen,
                                              self.params["price_buckets"])
                codes.append(bucket_codes(values, edges[field]))
                sizes.append(len(edges[field]) + 2)
        self.side_fields_, self.side_sizes_, self.side_edges_ = names, sizes, edges
        self._side_codes = (np.stack(codes, axis=1) if codes
                            else np.zeros((n, 0), dtype=np.int32)).astype(np.int32)

    def _ensure_core(self, train):
        if self._core is None and self._side_codes is None:
            self._resolve_side(train)
        super()._ensure_core(train)

    def _build_core(self, num_items):
        p = self.params
        return _core.SideInfoGRU(num_items, self.side_fields_, self.side_sizes_,
                                 self._side_codes.reshape(-1), hidden=p["hidden"],
                                 residual=p["residual"], **self._core_arguments())

    # ---------------------------------------------------------------------- checkpoints
    def state_arrays(self) -> dict:
        """The neural model's state plus the side codes: side/codes [num_items, F], side/sizes,
        side/fields (JSON names) and side/edges/<field> for bucketed fields."""
        arrays = super().state_arrays()
        arrays["side/codes"] = self._side_codes
        arrays["side/sizes"] = np.asarray(self.side_sizes_, dtype=np.int64)
        arrays["side/fields"] = np.frombuffer(json.dumps(self.side_fields_).encode(), np.uint8)
        arrays.update({f"side/edges/{k}": np.asarray(v, np.float64)
                       for k, v in self.side_edges_.items()})
        return arrays

    def load_state_arrays(self, arrays: dict) -> None:
        self.side_fields_ = json.loads(arrays["side/fields"].tobytes().decode())
        self.side_sizes_ = [int(s) for s in arrays["side/sizes"]]
        self._side_codes = np.asarray(arrays["side/codes"], dtype=np.int32).reshape(
            len(self.catalog), len(self.side_fields_))
        self.side_edges_ = {k[11:]: v for k, v in arrays.items() if k.startswith("side/edges/")}
        super().load_state_arrays(arrays)
