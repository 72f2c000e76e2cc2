"""RecBole atomic files.

* ``NAME.inter`` with rows (session or user, item, timestamp): one interaction per row.
* ``NAME.train.inter`` / ``NAME.valid.inter`` / ``NAME.test.inter`` with rows
  (``item_id_list:token_seq``, ``item_id:token``): a history and its next item, pre-split.
  Training rows that only extend the previous row by one item are the prefix expansion of one
  session and are merged back into it; valid and test rows stay one example each
  (``split("given")`` evaluates their last position).
* ``NAME.item`` and the UniSRec-style ``NAME.text``: item side information. ``token_seq`` and
  text columns become text fields, ``float`` columns numeric fields, other ``token`` columns
  categorical fields.

Headers are ``field:type``; the type suffix is required, as in RecBole.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from ..dataset import SPLIT_LABELS
from ._build import build_catalog, build_dataset, read_table, require_values

SESSION_FIELDS = ("session_id", "user_id")
ITEM_FIELD = "item_id"
LIST_FIELD = "item_id_list"
TIME_FIELD = "timestamp"


def _read_atomic(path) -> tuple[pd.DataFrame, dict[str, str]]:
    frame = read_table(path, "\t", quoting=3)  # RecBole files are unquoted TSV
    types = {}
    renamed = {}
    for column in frame.columns:
        if ":" not in column:
            raise ValueError(
                f"{path}, line 1: header field {column!r} lacks its ':type' suffix "
                "(RecBole atomic files name fields as name:token, name:float, ...)"
            )
        name, kind = column.rsplit(":", 1)
        if kind not in ("token", "token_seq", "float", "float_seq"):
            raise ValueError(f"{path}, line 1: field {column!r} has unknown type {kind!r}")
        types[name] = kind
        renamed[column] = name
    return frame.rename(columns=renamed), types


def _find(folder: Path, name: str, suffix: str) -> Optional[Path]:
    for candidate in (folder / f"{name}{suffix}", folder / f"{name}{suffix}.gz"):
        if candidate.exists():
            return candidate
    return None


def _item_side(folder: Path, name: str):
    frames, texts, numerics, categoricals = [], [], [], []
    for suffix in (".item", ".text"):
        path = _find(folder, name, suffix)
        if path is None:
            continue
        frame, types = _read_atomic(path)
        if ITEM_FIELD not in frame.columns:
            raise ValueError(f"{path}: no field 'item_id:token'; fields are {list(types)}")
        for column, kind in types.items():
            if column == ITEM_FIELD:
                continue
            if kind == "float":
                numerics.append(column)
            elif kind == "token_seq" or suffix == ".text":
                texts.append(column)
            elif kind == "token":
                categoricals.append(column)
        frames.append(frame.drop_duplicates(ITEM_FIELD).set_index(ITEM_FIELD))
    if not frames:
        return None, (), (), ()
    items = frames[0]
    for more in frames[1:]:
        items = items.join(more[[c for c in more.columns if c not in items.columns]], how="outer")
    items = items.fillna("").reset_index().rename(columns={"index": ITEM_FIELD})
    return items, texts, numerics, categoricals


def load_recbole(folder, name: Optional[str] = None, min_session_length: int = 2):
    """Load RecBole atomic files from ``folder`` (its name is the dataset name by default)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: not a folder of RecBole atomic files")
    name = name or folder.name
    items, texts, numerics, categoricals = _item_side(folder, name)
    single = _find(folder, name, ".inter")
    pre_split = {role: _find(folder, name, f".{role}.inter") for role in SPLIT_LABELS}
    if single is None and pre_split["train"] is None:
        raise ValueError(
            f"{folder}: found neither {name}.inter nor {name}.train.inter"
        )
    if single is not None:
        frame, types = _read_atomic(single)
        lines = np.arange(len(frame)) + 2
        session_field = next((f for f in SESSION_FIELDS if f in types), None)
        if session_field is None or ITEM_FIELD not in types:
            raise ValueError(
                f"{single}: needs 'session_id:token' (or 'user_id:token') and 'item_id:token'; "
                f"fields are {list(types)}"
            )
        sessions = require_values(frame, session_field, single, lines)
        item_ids = require_values(frame, ITEM_FIELD, single, lines)
        times = None
        if TIME_FIELD in types:
            from ._build import parse_times

            times = parse_times(frame, TIME_FIELD, single, lines)
        catalog = build_catalog(item_ids, items, ITEM_FIELD, texts, numerics, categoricals)
        return build_dataset(name, single, sessions, item_ids, catalog, times=times,
                             min_session_length=min_session_length)

    session_keys, item_ids, labels = [], [], []
    for role, path in pre_split.items():
        if path is None:
            continue
        frame, types = _read_atomic(path)
        if LIST_FIELD not in types or ITEM_FIELD not in types:
            raise ValueError(
                f"{path}: needs 'item_id_list:token_seq' and 'item_id:token'; "
                f"fields are {list(types)}"
            )
        if len(frame) == 0:
            raise ValueError(f"{path}: the file has a header but no rows")
        lines = np.arange(len(frame)) + 2
        targets = require_values(frame, ITEM_FIELD, path, lines)
        history = frame[LIST_FIELD].str.strip()
        if (history == "").any():
            raise ValueError(
                f"{path}, line {int(lines[np.flatnonzero(history == '')[0]])}: empty item_id_list"
            )
        sequence = history + " " + frame[ITEM_FIELD].str.strip()
        if role == "train":
            # Row r continues row r-1 when its history is row r-1's whole sequence.
            continues = (history.to_numpy()[1:] == sequence.to_numpy()[:-1])
            row_session = np.concatenate([[0], np.cumsum(~continues)])
            last_of_session = np.append(row_session[1:] != row_session[:-1], True)
            sequence = sequence[last_of_session]
        tokens = sequence.str.split()
        lengths = tokens.str.len().to_numpy()
        flat = np.concatenate(tokens.to_numpy()) if len(tokens) else np.array([], dtype=object)
        keys = np.repeat(np.arange(len(tokens)), lengths)
        session_keys.append(np.char.add(f"{role}:", keys.astype(str)))
        item_ids.append(flat.astype(object))
        labels.append(np.full(len(flat), SPLIT_LABELS[role], dtype=np.int8))
        del targets
    sessions = np.concatenate(session_keys)
    item_ids = np.concatenate(item_ids)
    catalog = build_catalog(item_ids, items, ITEM_FIELD, texts, numerics, categoricals)
    return build_dataset(
        name,
        folder,
        sessions,
        item_ids,
        catalog,
        session_split=np.concatenate(labels),
        split_targets="last",
        min_session_length=min_session_length,
    )
