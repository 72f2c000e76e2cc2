"""RecBole atomic files, as RecBole and the tools around it (e.g. UniSRec) write them.

* ``NAME.inter`` with rows (``session_id`` or ``user_id``, ``item_id``, optional ``timestamp``):
  one interaction per row; a session (or user) is its rows in time order (file order for ties).
  Other fields (``rating:float`` ...) are ignored.
* ``NAME.train.inter`` / ``NAME.valid.inter`` / ``NAME.test.inter`` with rows
  (``item_id_list:token_seq``, ``item_id:token``), pre-split: a history and its next item.

  - With a ``user_id`` (or ``session_id``) field, the rows of one user, in any order (shortest
    or longest prefix first, users interleaved) and with histories cut to their last items,
    are rebuilt into one sequence: the first row's history plus every row's target, in
    position order (train rows, then valid rows, then test rows; see :mod:`.prefix_rows`).
    Training gets that sequence once, as one session named by the user; each valid and test
    row stays one example (``split("given")`` evaluates its last position), named
    ``"valid:<user>:<line>"``. A row whose history contradicts its user's other rows (valid
    and test rows included) is a ``ValueError`` naming its file and line.
  - Without such a field, a training row that extends the previous row by one item continues
    its session; every valid and test row is its own session (``"valid:<row>"``).
* ``NAME.item`` and the UniSRec-style ``NAME.text``: item side information. ``token_seq`` and
  text columns become text fields, ``float`` columns numeric fields, other ``token`` columns
  categorical fields. Items listed only there enter the catalogue without interactions, as in
  RecBole.
* ``NAME.item2index`` / ``NAME.user2index`` (UniSRec-style): the interaction files name items
  (users) by index and these files map each original ID to its index: two tab-separated
  columns, ``original_id<TAB>index``, one a line, with or without a header line (a first line
  whose index is not an integer while every other index is, e.g. ``item_id:token<TAB>index``).
  When present, catalogue items and training sessions carry the original IDs, and side files
  may be keyed by original IDs (the usual case) or by indices. An index missing from the map is
  a ``ValueError`` with the counts; interaction files that already use original IDs are kept.

Every side file is checked against the interactions: one that shares no item ID with them is a
``ValueError`` (the keys are of another kind, e.g. a missing ``item2index``); one that covers
only part of the interaction items, or names items no interaction has, gives a ``UserWarning``
with the counts. Headers are ``field:type``; the type suffix is required, as in RecBole. Files
may be gzip-compressed (``NAME.inter.gz`` ...).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from ..dataset import SPLIT_LABELS
from ._build import (
    build_catalog,
    build_dataset,
    first_bad_line,
    parse_times,
    read_table,
    require_values,
)
from .prefix_rows import concatenated_ranges, rebuild_sequences

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


# ---------------------------------------------------------------------- item2index, user2index
class IndexMap:
    """An ``original_id<TAB>index`` file: ``original[index]`` gives the original ID."""

    def __init__(self, path: Path):
        frame = read_table(path, "\t", quoting=3, header=None)
        if frame.shape[1] != 2:
            raise ValueError(
                f"{path}: expected two tab-separated columns (original ID, index), "
                f"found {frame.shape[1]}"
            )
        frame.columns = ["original", "index"]
        lines = np.arange(len(frame)) + 1
        is_integer = frame["index"].str.strip().str.fullmatch(r"-?\d+").to_numpy(dtype=bool)
        if len(frame) > 1 and not is_integer[0] and is_integer[1:].all():
            frame, lines = frame.iloc[1:].reset_index(drop=True), lines[1:]  # a header line
        if len(frame) == 0:
            raise ValueError(f"{path}: the file has no rows")
        original = require_values(frame, "original", path, lines)
        index = require_values(frame, "index", path, lines)
        for column, values in (("index", index), ("original", original)):
            repeated = pd.Series(values).duplicated().to_numpy()
            if repeated.any():
                at = np.flatnonzero(repeated)[0]
                raise ValueError(
                    f"{path}, line {int(lines[at])}: {column} {values[at]!r} appears twice"
                )
        self.path = path
        self.original = pd.Series(original, index=pd.Index(index, dtype=object), dtype=object)

    @classmethod
    def find(cls, folder: Path, name: str, kind: str) -> Optional["IndexMap"]:
        path = _find(folder, name, f".{kind}2index")
        return None if path is None else cls(path)

    def translate(self, indices: np.ndarray, what: str) -> np.ndarray:
        """Original IDs of ``indices`` (distinct values); every index must be in the map.
        Values that are all original IDs already are returned as they are."""
        found = self.original.reindex(pd.Index(indices, dtype=object))
        missing = found.isna().to_numpy()
        if missing.any() and pd.Index(indices, dtype=object).isin(self.original.to_numpy()).all():
            return np.asarray(indices, dtype=object)
        if missing.any():
            raise ValueError(
                f"{self.path}: {int(missing.sum())} of the {len(indices)} {what} indices in the "
                f"interaction files are missing from it (e.g. {indices[missing][0]!r})"
            )
        return found.to_numpy(dtype=object)


# ------------------------------------------------------------------------------- side files
def _check_coverage(path, side_ids: pd.Series, interaction_ids: pd.Index, item_map) -> None:
    side = pd.Index(side_ids.unique())
    shared = int(side.isin(interaction_ids).sum())
    if shared == 0:
        hint = (
            "if the interaction files name items by index, put NAME.item2index "
            "(original ID<TAB>index per line) next to them"
            if item_map is None
            else f"neither the original IDs nor the indices of {item_map.path.name} match"
        )
        raise ValueError(
            f"{path}: none of its {len(side)} item IDs occurs in the interactions, which name "
            f"{len(interaction_ids)} items (e.g. {interaction_ids[0]!r} there, {side[0]!r} "
            f"here); {hint}"
        )
    if shared < len(interaction_ids):
        warnings.warn(
            f"{path}: {len(interaction_ids) - shared} of the {len(interaction_ids)} interaction "
            "items have no row in this file; their fields stay empty",
            UserWarning,
            stacklevel=4,
        )
    if shared < len(side):
        warnings.warn(
            f"{path}: {len(side) - shared} of its {len(side)} items occur in no interaction "
            "file; they enter the catalogue without interactions",
            UserWarning,
            stacklevel=4,
        )


def _item_side(folder: Path, name: str, interaction_ids: pd.Index, item_map, indices: pd.Index):
    """Side files joined on the catalogue's item IDs (original IDs when item2index exists)."""
    frames, texts, numerics, categoricals = [], [], [], []
    for suffix in (".item", ".text"):
        path = _find(folder, name, suffix)
        if path is None:
            continue
        frame, types = _read_atomic(path)
        if ITEM_FIELD not in frame.columns:
            raise ValueError(f"{path}: no field 'item_id:token'; fields are {list(types)}")
        require_values(frame, ITEM_FIELD, path, np.arange(len(frame)) + 2)
        if item_map is not None:
            keys = frame[ITEM_FIELD]
            if keys.isin(indices).sum() > keys.isin(interaction_ids).sum():  # keyed by index
                frame[ITEM_FIELD] = keys.map(item_map.original).fillna(keys)
        _check_coverage(path, frame[ITEM_FIELD], interaction_ids, item_map)
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


# ---------------------------------------------------------------------- interaction files
def _read_single(path: Path, user_map):
    frame, types = _read_atomic(path)
    lines = np.arange(len(frame)) + 2
    session_field = next((f for f in SESSION_FIELDS if f in types), None)
    if session_field is None or ITEM_FIELD not in types:
        raise ValueError(
            f"{path}: needs 'session_id:token' (or 'user_id:token') and 'item_id:token'; "
            f"fields are {list(types)}"
        )
    if len(frame) == 0:
        raise ValueError(f"{path}: the file has a header but no rows")
    sessions = require_values(frame, session_field, path, lines)
    item_ids = require_values(frame, ITEM_FIELD, path, lines)
    if user_map is not None:
        codes, values = pd.factorize(sessions)
        sessions = user_map.translate(np.asarray(values, dtype=object), "user")[codes]
    times = parse_times(frame, TIME_FIELD, path, lines) if TIME_FIELD in types else None
    return sessions, item_ids, times


def _read_pre_split_rows(paths: dict):
    """All rows of the pre-split files, concatenated in file order."""
    parts = []
    for role, path in paths.items():
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
        require_values(frame, ITEM_FIELD, path, lines)
        targets = frame[ITEM_FIELD].str.strip().to_numpy(dtype=object)
        history = frame[LIST_FIELD].str.strip()
        if (history == "").any():
            line = first_bad_line((history == "").to_numpy(), lines)
            raise ValueError(f"{path}, line {line}: empty item_id_list")
        key_field = next((f for f in SESSION_FIELDS if f in types), None)
        keys = require_values(frame, key_field, path, lines) if key_field else None
        parts.append(dict(role=role, path=path, lines=lines, targets=targets,
                          history=history.to_numpy(dtype=object), key_field=key_field, keys=keys))
    return parts


def _groups(parts) -> tuple[np.ndarray, list]:
    """Group code per row, and the key (or None) of each group code.

    Rows with a user/session field are grouped by it across the three files. Without one, a
    training row continues the previous training row when its history is that row's whole
    sequence, and a valid or test row is a group of its own.
    """
    keyed = [p["keys"] for p in parts if p["keys"] is not None]
    key_codes, key_values = pd.factorize(np.concatenate(keyed)) if keyed else (None, [])
    group_keys = list(key_values)
    groups, used = [], 0
    for part in parts:
        n = len(part["targets"])
        if part["keys"] is not None:
            groups.append(key_codes[used : used + n])
            used += n
            continue
        if part["role"] == "train":
            history = part["history"]
            sequence = history + " " + part["targets"]
            continues = history[1:] == sequence[:-1]
            chain = np.concatenate([[0], np.cumsum(~continues)])
        else:
            chain = np.arange(n)
        groups.append(len(group_keys) + chain)
        group_keys.extend([None] * (int(chain.max()) + 1))
    return np.concatenate(groups).astype(np.int64), group_keys


def _contradiction(parts, row: int, key) -> ValueError:
    """The error for a row whose history does not fit its group's sequence."""
    for part in parts:
        n = len(part["targets"])
        if row < n:
            break
        row -= n
    whose = f"{part['key_field']} {key!r}" if key is not None else "its session"
    return ValueError(
        f"{part['path']}, line {int(part['lines'][row])}: item_id_list "
        f"{part['history'][row]!r} contradicts the other rows of {whose}: it is not the "
        "end of the sequence they give before this row's target"
    )


def _read_pre_split(paths: dict, user_map):
    """Session keys, item tokens and split labels of the pre-split files."""
    parts = _read_pre_split_rows(paths)
    history = np.concatenate([p["history"] for p in parts])
    targets = np.concatenate([p["targets"] for p in parts]).astype(object)
    row_file = np.concatenate([np.full(len(p["targets"]), i) for i, p in enumerate(parts)])
    row_index = np.concatenate([np.arange(len(p["targets"])) for p in parts])
    joined = " ".join(history)
    flat_history = np.asarray(joined.split(), dtype=object)
    irregular = ("  ", "\r", "\x0b", "\x0c")
    if joined.isascii() and not any(w in joined for w in irregular):
        # Tokens are separated by one space each: counting spaces is fast.
        history_length = pd.Series(history).str.count(" ").to_numpy(dtype=np.int64) + 1
    else:
        history_length = pd.Series(history).str.count(r"\s+").to_numpy(dtype=np.int64) + 1
    history_offsets = np.concatenate([[0], np.cumsum(history_length)]).astype(np.int64)
    codes, tokens = pd.factorize(np.concatenate([flat_history, targets]))
    history_codes, target_codes = codes[: len(flat_history)], codes[len(flat_history) :]
    group, group_keys = _groups(parts)
    block = np.concatenate([np.full(len(p["targets"]), SPLIT_LABELS[p["role"]]) for p in parts])

    rebuilt = rebuild_sequences(group, block, history_offsets, history_codes, target_codes)
    if not rebuilt.row_consistent.all():
        bad = int(np.flatnonzero(~rebuilt.row_consistent)[0])
        raise _contradiction(parts, bad, group_keys[int(group[bad])])

    # Training: each group's sequence up to its last training row, once.
    is_train = block == SPLIT_LABELS["train"]
    train_rows = np.bincount(rebuilt.row_sequence[is_train], minlength=len(rebuilt.groups))
    with_train = np.flatnonzero(train_rows > 0)
    train_length = rebuilt.first_history_length[with_train] + train_rows[with_train]
    train_codes = rebuilt.tokens[concatenated_ranges(rebuilt.offsets[with_train], train_length)]
    key_of_group = np.asarray(group_keys, dtype=object)
    if user_map is not None:
        named = np.flatnonzero(key_of_group != None)  # noqa: E711 (elementwise)
        key_of_group[named] = user_map.translate(key_of_group[named], "user")
    train_group = rebuilt.groups[with_train]
    train_names = np.where(
        key_of_group[train_group] != None,  # noqa: E711
        key_of_group[train_group].astype(str),
        np.char.add("train:", np.arange(len(with_train)).astype(str)),
    ).astype(object)

    # Valid and test: every row its own example, its history followed by its target.
    held_out = np.flatnonzero(~is_train)
    lengths = history_length[held_out] + 1
    held_codes = np.empty(int(lengths.sum()), dtype=codes.dtype)
    ends = np.cumsum(lengths) - 1
    is_target = np.zeros(len(held_codes), dtype=bool)
    is_target[ends] = True
    held_codes[is_target] = target_codes[held_out]
    held_codes[~is_target] = history_codes[
        concatenated_ranges(history_offsets[held_out], history_length[held_out])
    ]
    roles = np.array([p["role"] for p in parts], dtype=object)[row_file[held_out]]
    held_key = key_of_group[group[held_out]]
    lines = np.concatenate([p["lines"] for p in parts])[held_out].astype(str)
    held_names = np.where(
        held_key != None,  # noqa: E711
        roles + ":" + held_key.astype(str) + ":" + lines.astype(object),
        roles + ":" + row_index[held_out].astype(str).astype(object),
    )

    sessions = np.concatenate([np.repeat(train_names, train_length),
                               np.repeat(held_names, lengths)])
    item_codes = np.concatenate([train_codes, held_codes])
    labels = np.concatenate([np.full(len(train_codes), SPLIT_LABELS["train"]),
                             np.repeat(block[held_out], lengths)]).astype(np.int8)
    return sessions, np.asarray(tokens, dtype=object), item_codes, labels


def load_recbole(folder, name: Optional[str] = None, min_session_length: int = 2):
    """Load RecBole atomic files from ``folder`` (its name is the dataset name by default).

    See the module documentation for the files read, how pre-split rows become sessions, and
    the checks made.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: not a folder of RecBole atomic files")
    name = name or folder.name
    single = _find(folder, name, ".inter")
    pre_split = {role: _find(folder, name, f".{role}.inter") for role in SPLIT_LABELS}
    if single is None and pre_split["train"] is None:
        raise ValueError(
            f"{folder}: found neither {name}.inter nor {name}.train.inter"
        )
    item_map = IndexMap.find(folder, name, "item")
    user_map = IndexMap.find(folder, name, "user")

    times = labels = None
    if single is not None:
        sessions, item_tokens, times = _read_single(single, user_map)
        codes, tokens = pd.factorize(item_tokens)
        tokens = np.asarray(tokens, dtype=object)
        source = single
    else:
        sessions, tokens, codes, labels = _read_pre_split(pre_split, user_map)
        source = folder
    indices = pd.Index(tokens, dtype=object)
    if item_map is not None:
        tokens = item_map.translate(tokens, "item")
    item_ids = tokens[codes]
    interaction_ids = pd.Index(pd.unique(tokens), dtype=object)
    items, texts, numerics, categoricals = _item_side(folder, name, interaction_ids, item_map,
                                                      indices)
    catalog = build_catalog(item_ids, items, ITEM_FIELD, texts, numerics, categoricals)
    return build_dataset(
        name,
        source,
        sessions,
        item_ids,
        catalog,
        times=times,
        session_split=labels,
        split_targets="all" if labels is None else "last",
        min_session_length=min_session_length,
    )
