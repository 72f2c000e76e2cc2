"""Datasets (sessions plus catalogue) and their splits.

A :class:`Dataset` holds every session of a source in a C++ ``SessionStore`` and every item in a
C++ ``Catalog``. :meth:`Dataset.split` cuts it into :class:`SessionSet` parts (train, valid,
test) that share the catalogue; each part knows the item counts of its training part, which the
evaluation uses for the long-tail and cold-start breakdowns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from . import _core

FORMAT_DATASET = "sessrec-dataset"
# Version 2: the file must carry its CRC-32 manifest (version-1 caches, which have none, load).
FORMAT_VERSION = "2"
SPLIT_LABELS = {"train": 0, "valid": 1, "test": 2}


@dataclass
class SessionSet:
    """One part of a split: sessions, the shared catalogue, and how examples are drawn.

    Every position ``t >= 1`` of a session is an example (history ``items[:t]`` -> target
    ``items[t]``) when ``targets == "all"``; only the last position when ``targets == "last"``.
    Histories are cut to the last ``max_history`` items (0 = no limit).
    """

    sessions: _core.SessionStore
    catalog: _core.Catalog
    role: str
    train_counts: np.ndarray
    targets: str = "all"
    max_history: int = 50
    dataset_name: str = ""
    session_index: Optional[np.ndarray] = None  # rows of the source Dataset
    _examples: Optional[_core.ExampleSet] = field(default=None, repr=False)

    def __len__(self) -> int:
        return self.sessions.num_sessions

    @property
    def num_items(self) -> int:
        return len(self.catalog)

    def examples(self) -> _core.ExampleSet:
        """The (history, target) examples of this part, built once in C++."""
        if self._examples is None:
            self._examples = _core.make_examples(self.sessions, self.targets, self.max_history)
        return self._examples

    def target_items(self) -> np.ndarray:
        return np.asarray(self.sessions.items)[np.asarray(self.examples().end)]

    def histories(self) -> list[np.ndarray]:
        """Histories as a list of index arrays (for small sets and inspection only)."""
        ex = self.examples()
        items = np.asarray(self.sessions.items)
        return [items[b:e] for b, e in zip(ex.begin, ex.end)]

    def num_examples(self) -> int:
        return len(self.examples())

    def __repr__(self) -> str:
        return (
            f"SessionSet({self.dataset_name!r}, role={self.role!r}, sessions={len(self)}, "
            f"events={self.sessions.num_events}, targets={self.targets!r}, "
            f"max_history={self.max_history})"
        )


class Dataset:
    """Sessions plus catalogue. Build one with :mod:`sessrec.datasets`."""

    def __init__(
        self,
        name: str,
        sessions: _core.SessionStore,
        catalog: _core.Catalog,
        session_ids: Optional[np.ndarray] = None,
        session_split: Optional[np.ndarray] = None,
        action_names: Optional[Sequence[str]] = None,
        queries: Optional[list[str]] = None,
        split_targets: str = "all",
    ):
        self.name = name
        self.sessions = sessions
        self.catalog = catalog
        n = sessions.num_sessions
        self.session_ids = (
            np.arange(n, dtype=np.int64) if session_ids is None else np.asarray(session_ids)
        )
        if len(self.session_ids) != n:
            raise ValueError(f"{name}: {len(self.session_ids)} session IDs for {n} sessions")
        if session_split is not None:
            session_split = np.asarray(session_split, dtype=np.int8)
            if len(session_split) != n:
                raise ValueError(f"{name}: {len(session_split)} split labels for {n} sessions")
        self.session_split = session_split
        self.action_names = list(action_names) if action_names is not None else None
        if queries is not None and len(queries) != sessions.num_events:
            raise ValueError(f"{name}: {len(queries)} queries for {sessions.num_events} events")
        self.queries = queries
        # How a pre-split file's valid/test sessions are evaluated ("last" for RecBole rows).
        self.split_targets = split_targets

    # ----------------------------------------------------------------------------- inspection
    @property
    def num_items(self) -> int:
        return len(self.catalog)

    def item_text(self, field: str = "text") -> list[str]:
        return self.catalog.text(field)

    def items_with_text(self) -> np.ndarray:
        """Mask of the items whose text is non-empty in at least one text field."""
        has_text = np.zeros(self.num_items, dtype=bool)
        for name in self.catalog.text_fields():
            has_text |= pd.Series(self.catalog.text(name)).str.strip().to_numpy() != ""
        return has_text

    def stats(self) -> pd.Series:
        """Sizes of the dataset as a pandas Series (``items_with_text``: items whose text is
        non-empty in at least one text field)."""
        lengths = np.diff(np.asarray(self.sessions.offsets))
        counts = self.sessions.item_counts(self.num_items)
        return pd.Series(
            {
                "sessions": int(self.sessions.num_sessions),
                "events": int(self.sessions.num_events),
                "items": int(self.num_items),
                "items_with_events": int((counts > 0).sum()),
                "items_with_text": int(self.items_with_text().sum()),
                "mean_session_length": float(lengths.mean()) if len(lengths) else 0.0,
                "max_session_length": int(lengths.max()) if len(lengths) else 0,
                "text_fields": ",".join(self.catalog.text_fields()),
                "has_times": self.sessions.times is not None,
                "has_actions": self.sessions.actions is not None,
            },
            name=self.name,
        )

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, sessions={self.sessions.num_sessions}, "
            f"events={self.sessions.num_events}, items={self.num_items})"
        )

    # --------------------------------------------------------------------------------- splits
    def split(
        self,
        how: str = "time",
        valid: float = 0.1,
        test: float = 0.1,
        k: int = 5,
        fold: int = 0,
        seed: int = 0,
        max_history: int = 50,
        targets: str = "all",
    ) -> tuple[SessionSet, SessionSet, SessionSet]:
        """Split into (train, valid, test).

        ``how``:
          * ``"time"``: sessions ordered by start time; the last ``test`` share is the test part,
            the ``valid`` share before it the validation part.
          * ``"leave_one_out"``: every session's last item is its test target, the one before it
            its validation target; training sees the rest.
          * ``"kfold"``: sessions shuffled with ``seed`` into ``k`` folds; fold ``fold`` is the
            test part and a ``valid`` share of the rest is the validation part.
          * ``"given"``: the train/valid/test labels stored with a pre-split source.

        ``targets`` says which positions of a validation or test session are evaluated:
        ``"all"`` (default) every position (history ``items[:t]`` -> ``items[t]``), ``"last"``
        only the last one, as the KDD Cup 2023 solution validated on the last item of each
        held-out session. It applies to ``"time"`` and ``"kfold"``; leave-one-out always
        evaluates the last position, and ``"given"`` evaluates the way its source says (the
        last position of each pre-split RecBole row) or, with ``"last"``, the last position.
        Training always keeps every position.

        No test target is ever part of the training data: the parts hold disjoint sessions, and
        leave-one-out removes the held-out positions from the training sessions.
        """
        from . import splits

        return splits.split_dataset(
            self, how, valid, test, k, fold, seed, max_history, targets=targets
        )

    # ---------------------------------------------------------------------------- HDF5 cache
    def save(self, path: str | Path) -> None:
        """Cache the processed dataset to HDF5 (written atomically)."""
        from .io import encode_text, session_store_arrays

        arrays = {f"sessions/{k}": v for k, v in session_store_arrays(self.sessions).items()}
        arrays.update(encode_text("catalog/ids", self.catalog.ids()))
        for f in self.catalog.text_fields():
            arrays.update(encode_text(f"catalog/text/{f}", self.catalog.text(f)))
        for f in self.catalog.numeric_fields():
            arrays[f"catalog/numeric/{f}"] = self.catalog.numeric(f)
        for f in self.catalog.categorical_fields():
            codes, vocab = self.catalog.categorical(f)
            arrays[f"catalog/categorical/{f}/codes"] = codes
            arrays.update(encode_text(f"catalog/categorical/{f}/vocab", vocab))
        if self.session_ids.dtype.kind in "iu":
            arrays["session_ids"] = self.session_ids.astype(np.int64)
        else:
            arrays.update(encode_text("session_ids_text", [str(s) for s in self.session_ids]))
        if self.session_split is not None:
            arrays["session_split"] = self.session_split
        if self.queries is not None:
            arrays.update(encode_text("queries", self.queries))
        attributes = {
            "format": FORMAT_DATASET,
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "action_names": json.dumps(self.action_names),
            "split_targets": self.split_targets,
        }
        _core.write_array_file(str(path), arrays, attributes)

    @classmethod
    def load(cls, path: str | Path) -> "Dataset":
        """Reload a dataset cached with :meth:`save`."""
        from .io import decode_text, read_checked

        arrays, attributes = read_checked(path, FORMAT_DATASET, FORMAT_VERSION,
                                          checksummed_from=FORMAT_VERSION)
        try:
            sessions = _core.SessionStore(
                arrays["sessions/offsets"],
                arrays["sessions/items"],
                actions=arrays.get("sessions/actions"),
                times=arrays.get("sessions/times"),
                num_items=len(arrays["catalog/ids/offsets"]) - 1,
            )
            catalog = _core.Catalog(decode_text(arrays, "catalog/ids"))
            prefixes = {name.split("/")[2] for name in arrays if name.startswith("catalog/text/")}
            for f in sorted(prefixes):
                catalog.set_text(f, decode_text(arrays, f"catalog/text/{f}"))
            for name in arrays:
                if name.startswith("catalog/numeric/"):
                    catalog.set_numeric(name.split("/", 2)[2], arrays[name])
            cats = {n.split("/")[2] for n in arrays if n.startswith("catalog/categorical/")}
            for f in sorted(cats):
                catalog.set_categorical(
                    f,
                    arrays[f"catalog/categorical/{f}/codes"],
                    decode_text(arrays, f"catalog/categorical/{f}/vocab"),
                )
            if "session_ids" in arrays:
                session_ids = arrays["session_ids"]
            else:
                session_ids = np.array(decode_text(arrays, "session_ids_text"), dtype=object)
            queries = decode_text(arrays, "queries") if "queries/offsets" in arrays else None
        except KeyError as missing:
            raise ValueError(f"{path}: cached dataset lacks {missing}; the file is incomplete")
        except ValueError as error:  # arrays that disagree (offsets, item range, lengths)
            raise ValueError(f"{path}: the cached dataset is inconsistent: {error}") from None
        return cls(
            attributes.get("name", Path(path).stem),
            sessions,
            catalog,
            session_ids=session_ids,
            session_split=arrays.get("session_split"),
            action_names=json.loads(attributes.get("action_names", "null")),
            queries=queries,
            split_targets=attributes.get("split_targets", "all"),
        )
