"""The Recommender contract shared by every model: fit, score, recommend, save, load."""

from __future__ import annotations

import copy
import inspect
import json
import numbers
from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np
import pandas as pd

from .. import _core
from ..dataset import SessionSet
from ..io import decode_text, encode_text, read_checked
from ..progress import show_progress
from ..thread_scope import with_model_threads

FORMAT_MODEL = "sessrec-model"
# Version 2: files carry a manifest of CRC-32 checksums (checked on load; version-1 files, which
# have none, still load), and neural models add their training log and resume weights.
FORMAT_VERSION = "2"
CHECKSUMMED_FROM_VERSION = "2"
_REGISTRY: dict[str, type["Recommender"]] = {}


def check_k(k, name: str = "k") -> int:
    """``k`` as an int; TypeError unless it is an integer (not a bool, float or string)."""
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer, got {k!r} ({type(k).__name__})")
    if k <= 0:
        raise ValueError(f"{name} must be positive, got {k}")
    return int(k)


def _item_indices(session, position: int) -> np.ndarray:
    """One history as int64 indices; TypeError for anything but integers (a float would be
    truncated to another item)."""
    items = np.asarray(session)
    if items.size == 0:
        return items.astype(np.int64).reshape(-1)
    if items.dtype.kind not in "iu" or items.ndim != 1:
        first = items.reshape(-1)[0] if items.size else None
        raise TypeError(
            f"session {position}: item indices must be integers (use catalog.index_of for IDs); "
            f"got {first!r} ({items.dtype}{'' if items.ndim == 1 else f', {items.ndim}-D'})"
        )
    return items.astype(np.int64)


def histories_to_arrays(sessions: Sequence[Sequence[int]], num_items: int):
    """Index histories as CSR arrays (items, begin, end); each must be a non-empty sequence of
    integer indices in range (TypeError for other values, ValueError for bad lengths/ranges)."""
    if len(sessions) == 0:
        raise ValueError("no sessions given")
    arrays = [_item_indices(s, i) for i, s in enumerate(sessions)]
    lengths = np.fromiter((len(a) for a in arrays), dtype=np.int64, count=len(arrays))
    if (lengths == 0).any():
        raise ValueError(f"session {int(np.flatnonzero(lengths == 0)[0])} is empty")
    items = np.concatenate(arrays)
    bad = (items < 0) | (items >= num_items)
    if bad.any():
        raise ValueError(
            f"item index {int(items[bad][0])} is outside the catalogue of {num_items} items"
        )
    end = np.cumsum(lengths)
    return items.astype(np.int32), end - lengths, end


class Recommender:
    """Base class. Subclasses implement ``_fit``, and either ``_scorer`` (a C++ scorer, used for
    fused blocked evaluation) or ``_score_arrays``; plus ``_state``/``_set_state`` for files
    (which also make the model pickle: see :meth:`__getstate__`).

    Parameters follow scikit-learn: the constructor stores them in ``self.params``;
    :meth:`get_params`, :meth:`set_params` and :meth:`clone` read, change and copy them. A model
    with a ``threads`` parameter runs its own ``fit``, ``score``, ``recommend`` and ``rank``
    calls with that many OpenMP threads and restores the caller's count afterwards."""

    name = "recommender"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.name] = cls
        # A subclass's own fit/score/rank/recommend_batch run with its threads= too.
        for method in ("fit", "score", "rank", "recommend_batch"):
            if method in cls.__dict__:
                setattr(cls, method, with_model_threads(cls.__dict__[method]))

    def __init__(self, **params):
        self.params = params
        self.catalog: Optional[_core.Catalog] = None

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------------ parameters (sklearn)
    def get_params(self, deep: bool = True) -> dict:
        """The constructor's parameters by name: ``type(model)(**model.get_params())`` builds an
        equal, unfitted model. ``deep`` is accepted for scikit-learn's signature; retrievers or
        networks inside a model are given as the model stores them (specs or models)."""
        signature = inspect.signature(type(self).__init__)
        out, open_ended = {}, False
        for name, parameter in list(signature.parameters.items())[1:]:
            if parameter.kind is parameter.VAR_KEYWORD:
                open_ended = True
            elif parameter.kind is parameter.VAR_POSITIONAL:
                continue
            elif name in self.params:
                out[name] = self.params[name]
            elif hasattr(self, name):  # scikit-learn's convention: kept as an attribute
                out[name] = getattr(self, name)
        if open_ended:  # **kwargs constructors (the neural models) keep every parameter
            out.update({k: v for k, v in self.params.items() if k not in out})
        out.update(self._constructor_arguments())
        return out

    def _constructor_arguments(self) -> dict:
        """Constructor arguments that ``params`` holds only by name (a feature matrix kept as
        model state); subclasses that have such arguments return them here."""
        return {}

    def set_params(self, **params) -> "Recommender":
        """Change parameters by name (scikit-learn's ``set_params``) and return the model. The
        constructor checks the new values (ValueError/TypeError as it would raise, and the model
        is left unchanged); a fitted model becomes unfitted, since its state was fitted under
        the old values. An unknown name is a ValueError naming it."""
        current = self.get_params()
        unknown = sorted(set(params) - set(current))
        if unknown:
            raise ValueError(f"{type(self).__name__} has no parameter {unknown[0]!r}; its "
                             f"parameters are {', '.join(sorted(current))}")
        fresh = type(self)(**{**current, **params})
        self.__dict__.clear()
        self.__dict__.update(fresh.__dict__)
        return self

    def clone(self) -> "Recommender":
        """An unfitted model with equal (deep-copied) parameters (scikit-learn's ``clone``)."""
        return type(self)(**copy.deepcopy(self.get_params()))

    # ------------------------------------------------------------------- pickle, deepcopy
    def __getstate__(self) -> dict:
        """What pickle and ``copy.deepcopy`` keep: the constructor's parameters and, when
        fitted, the catalogue and the state arrays a model file holds (``_state``), so a model
        comes back exactly as :meth:`load` would bring it back (with its full catalogue)."""
        state = {"params": self.get_params()}
        if self.is_fitted:
            state["catalog"] = self.catalog
            state["state"] = self._state()
        return state

    def __setstate__(self, state: dict) -> None:
        fresh = type(self)(**state["params"])
        self.__dict__.update(fresh.__dict__)
        if "state" in state:
            self.catalog = state["catalog"]
            self._set_state(dict(state["state"]))

    # ------------------------------------------------------------------------------ fitting
    @with_model_threads
    def fit(self, train: SessionSet, valid: Optional[SessionSet] = None) -> "Recommender":
        """Fit on the training part of a split. ``valid`` is accepted for a common signature;
        models without early stopping ignore it."""
        if not isinstance(train, SessionSet):
            raise TypeError(f"fit() expects a SessionSet from Dataset.split, got {type(train)}")
        if train.sessions.num_events == 0:
            raise ValueError(f"{train.dataset_name}: the training part has no events")
        self.catalog = train.catalog
        self._fit(train)
        return self

    @property
    def is_fitted(self) -> bool:
        return self.catalog is not None

    def _require_fitted(self):
        if self.catalog is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit() or load()")

    def _fit(self, train: SessionSet) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------------------ scoring
    def _scorer(self) -> Optional[_core.SessionScorer]:
        return None

    def _score_arrays(self, items, begin, end) -> np.ndarray:
        scorer = self._scorer()
        if scorer is None:
            raise NotImplementedError(f"{type(self).__name__} defines no scorer")
        return scorer.score(items, begin, end)

    @property
    def num_items(self) -> int:
        self._require_fitted()
        return len(self.catalog)

    @with_model_threads
    def score(self, sessions: Sequence[Sequence[int]]) -> np.ndarray:
        """Scores of every catalogue item (columns) for each session (rows). Sessions are
        sequences of item *indices* (``catalog.index_of(id)``); see :meth:`recommend` for IDs."""
        self._require_fitted()
        return self._score_arrays(*histories_to_arrays(sessions, self.num_items))

    def item_indices(self, item_ids: Iterable) -> np.ndarray:
        """Dense indices of raw item IDs; raises KeyError naming the first unknown ID."""
        self._require_fitted()
        ids = [str(i) for i in item_ids]
        index = self.catalog.indices_of(ids)
        if (index < 0).any():
            bad = ids[int(np.flatnonzero(index < 0)[0])]
            raise KeyError(f"unknown item ID {bad!r} (not in the catalogue of {self.num_items})")
        return index

    def recommend(
        self, items: Sequence, k: int = 20, exclude_history: bool = True
    ) -> pd.DataFrame:
        """Top-``k`` items for one session given by raw item IDs, best first, as a table with
        item_id, score and (when the catalogue has one) the item text. The session's own items
        are left out unless ``exclude_history=False`` (evaluation, by contrast, keeps them
        competing by default: see :func:`sessrec.evaluate`)."""
        return self.recommend_batch([items], k, exclude_history).drop(columns="session")

    @with_model_threads
    def recommend_batch(
        self, sessions: Sequence[Sequence], k: int = 20, exclude_history: bool = True
    ) -> pd.DataFrame:
        """:meth:`recommend` for several sessions; the table's ``session`` column numbers them."""
        self._require_fitted()
        k = check_k(k)
        if isinstance(sessions, (str, bytes)) or any(isinstance(s, (str, bytes)) for s in sessions):
            raise TypeError("sessions must be sequences of item IDs, not strings")
        indices = [self.item_indices(s) for s in sessions]
        items, begin, end = histories_to_arrays(indices, self.num_items)
        top, top_scores = self._top_k_arrays(items, begin, end, min(k, self.num_items),
                                             exclude_history)
        valid = top >= 0
        rows = np.repeat(np.arange(len(sessions)), valid.sum(axis=1))
        flat = top[valid]
        table = pd.DataFrame(
            {
                "session": rows,
                "rank": np.concatenate([np.arange(1, n + 1) for n in valid.sum(axis=1)]),
                "item_id": [self.catalog.id(int(i)) for i in flat],
                "score": top_scores[valid],
            }
        )
        if "text" in self.catalog.text_fields():
            table["text"] = self.catalog.text_at("text", flat.astype(np.int64))
        return table

    @with_model_threads
    def recommend_arrays(self, sessions, k: int = 20, exclude_history: bool = True):
        """Top-``k`` items for many sessions as arrays, without a table: ``(items, scores)``,
        int32 and float32 [len(sessions), k], best first (ties by smaller index), padded with -1
        and -inf where fewer than ``k`` items remain after excluding the history. ``sessions``
        are sequences of item *indices* (``catalog.indices_of(ids)``), or CSR arrays as one
        ``sr.SessionArrays(items, begin, end)``; ``model.catalog.id(i)`` names an index. Models
        with a sparse path (ItemCF) or a built index (:meth:`NeuralRecommender.build_index`) use
        it; others score in blocks. See :mod:`sessrec.serving`."""
        from ..serving import recommend_arrays

        return recommend_arrays(self, sessions, k, exclude_history)

    def _top_k_arrays(self, items, begin, end, k: int, exclude_history: bool):
        """(int32 [n, k], float32 [n, k]) top-k of index histories: the hook that
        :meth:`recommend_batch` and :meth:`recommend_arrays` call (dense scores in blocks here;
        ItemCF and indexed embedding models override it)."""
        from ..serving import dense_top_k

        return dense_top_k(self, items, begin, end, k, exclude_history)

    # ---------------------------------------------------------------------------- evaluation
    def _check_catalog(self, sset: SessionSet) -> None:
        self._require_fitted()
        if sset.catalog is self.catalog:
            return
        if len(sset.catalog) != len(self.catalog) or sset.catalog.ids() != self.catalog.ids():
            raise ValueError(
                f"{type(self).__name__} was fitted on a catalogue of {len(self.catalog)} items; "
                f"the {sset.role} part of {sset.dataset_name!r} has a different catalogue "
                f"({len(sset.catalog)} items)"
            )

    @with_model_threads
    def rank(
        self,
        sset: SessionSet,
        ties: str = "pessimistic",
        exclude_history: bool = False,
        progress: Optional[bool] = None,
        block_bytes: int = 32 << 20,
    ) -> np.ndarray:
        """1-based rank of every example's target over the whole catalogue, in blocks of about
        ``block_bytes`` of scores, or of the rows the scorer prefers if more (neural models ask for
        64: each block streams their whole item table). ``progress`` None follows
        :func:`sessrec.set_progress`."""
        from tqdm.auto import tqdm

        self._check_catalog(sset)
        ex = sset.examples()
        n = len(ex)
        if n == 0:
            return np.zeros(0)
        begin, end, session = np.asarray(ex.begin), np.asarray(ex.end), np.asarray(ex.session)
        scorer = self._scorer()
        rows_per_block = (_core.rank_block_rows(scorer, block_bytes) if scorer is not None
                          else max(1, block_bytes // (4 * self.num_items)))
        chunk = max(rows_per_block, -(-n // 50))  # at most ~50 progress steps
        items = np.asarray(sset.sessions.items)
        ranks = np.empty(n)
        bar = tqdm(total=n, desc=f"rank {self.name}", unit="ex",
                   disable=not show_progress(progress), leave=False)
        for first in range(0, n, chunk):
            last = min(n, first + chunk)
            if scorer is not None:
                part = _core.ExampleSet(begin[first:last], end[first:last], session[first:last])
                ranks[first:last] = self._rank_examples(
                    scorer, sset.sessions, part, ties, exclude_history, block_bytes
                )
            else:
                for b in range(first, last, rows_per_block):
                    e = min(last, b + rows_per_block)
                    scores = self._score_arrays(items, begin[b:e], end[b:e])
                    ranks[b:e] = _core.ranks_from_scores(
                        scores, items[end[b:e]], (items, begin[b:e], end[b:e]), ties,
                        exclude_history,
                    )
            bar.update(last - first)
        bar.close()
        return ranks

    def _rank_examples(self, scorer, store, examples, ties, exclude_history, block_bytes):
        """Ranks of a block of examples under the model's C++ scorer: the hook :meth:`rank`
        calls (ItemCF overrides it with its exact sparse ranking)."""
        return _core.rank_examples(scorer, store, examples, ties, exclude_history, block_bytes)

    # ---------------------------------------------------------------------------- save/load
    def _state(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    def save(self, path) -> None:
        """Write the fitted model (parameters, state, catalogue IDs and text) to HDF5,
        atomically: a temporary file is written, synced to disk and renamed over ``path`` (its
        folder synced after); on failure it is removed and a ValueError names the cause. The
        file carries a CRC-32 of every dataset and attribute, checked by :meth:`load`."""
        self._require_fitted()
        arrays = {f"state/{k}": v for k, v in self._state().items()}
        arrays.update(encode_text("catalog/ids", self.catalog.ids()))
        if "text" in self.catalog.text_fields():
            arrays.update(encode_text("catalog/text", self.catalog.text("text")))
        attributes = {
            "format": FORMAT_MODEL,
            "format_version": FORMAT_VERSION,
            "class": self.name,
            "params": json.dumps(self.params),
        }
        _core.write_array_file(str(path), arrays, attributes)

    @classmethod
    def load(cls, path) -> "Recommender":
        """Load a model saved with :meth:`save`. Called on the base class (or through
        ``sessrec.load``) it returns whatever model the file holds. A file whose checksums do
        not match, or whose weights are NaN or infinite, raises ValueError naming the file and
        dataset; files from before the checksums (format version 1) load unchecked."""
        arrays, attributes = read_checked(path, FORMAT_MODEL, FORMAT_VERSION,
                                          checksummed_from=CHECKSUMMED_FROM_VERSION)
        for name, array in arrays.items():
            if name.startswith("state/") and array.dtype.kind == "f" and not np.isfinite(array).all():
                raise ValueError(f"{path}: dataset {name!r} holds NaN or infinite values; the "
                                 "model diverged before it was saved, or the file is damaged")
        kind = attributes.get("class")
        if kind not in _REGISTRY:
            raise ValueError(f"{path}: unknown model class {kind!r}")
        model_cls = _REGISTRY[kind]
        if cls is not Recommender and not issubclass(model_cls, cls):
            raise ValueError(f"{path} holds a {kind!r} model, not a {cls.name!r}")
        try:
            params = json.loads(attributes.get("params", "{}"))
            model = model_cls(**params)
            catalog = _core.Catalog(decode_text(arrays, "catalog/ids"))
            if "catalog/text/offsets" in arrays:
                catalog.set_text("text", decode_text(arrays, "catalog/text"))
            model.catalog = catalog
            model._set_state({k[6:]: v for k, v in arrays.items() if k.startswith("state/")})
        except KeyError as missing:
            raise ValueError(f"{path}: the model file lacks {missing}; it is incomplete") from None
        except (TypeError, json.JSONDecodeError) as e:
            raise ValueError(f"{path}: the stored parameters do not fit {kind!r}: {e}") from None
        except ValueError as e:  # arrays that do not fit each other or the model
            raise ValueError(f"{path}: the model file is inconsistent: {e}") from None
        return model


def load(path) -> Recommender:
    """Load any sessrec model file."""
    return Recommender.load(path)


class ScorerView(Recommender):
    """A read-only Recommender over a C++ scorer and a fitted model's catalogue: one network of
    a two-network model, or one part of a fused one, evaluated with the same code as any model.
    It cannot be fitted or saved."""

    name = "view"

    def __init__(self, scorer, catalog, label: str):
        super().__init__(label=label)
        self.catalog = catalog
        self._view_scorer = scorer
        self.name = label

    def _scorer(self):
        return self._view_scorer

    def _fit(self, train):
        raise TypeError(f"{self.name} is a view of a fitted model; fit the model itself")

    def _state(self):
        raise TypeError(f"{self.name} is a view of a fitted model; save the model itself")

    def get_params(self, deep: bool = True) -> dict:
        raise TypeError(f"{self.name} is a view of a fitted model; it has no parameters of its "
                        "own (take them from the model itself)")

    def __getstate__(self):
        raise TypeError(f"{self.name} is a view of a fitted model; pickle the model itself")
