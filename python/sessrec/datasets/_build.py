"""Turning parsed rows into a Dataset: catalogue, session grouping and input checks.

Every loader ends here, so every loader gets the same checks and the same error messages: they
name the source file and, where a single row is at fault, its line.
"""

from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from .. import _core
from ..dataset import Dataset

# Seconds outside [-2**63, 2**63) do not fit the int64 time column.
INT64_TIME_LIMIT = float(2**63)


def gzip_error(path, error: Exception) -> ValueError:
    """The documented error for a damaged ``.gz`` file: truncated, corrupt, or not gzip at all."""
    if isinstance(error, EOFError):
        return ValueError(f"{path}: truncated gzip file ({error})")
    return ValueError(f"{path}: not a gzip file, or a damaged one ({error})")


def read_bytes(path) -> bytes:
    """The file's bytes, gunzipped when its name ends in ``.gz``."""
    data = (path if hasattr(path, "read_bytes") else Path(path)).read_bytes()
    if str(path).endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (EOFError, gzip.BadGzipFile, zlib.error) as e:
            raise gzip_error(path, e) from None
    return data


def refuse_nul(data: bytes, path, sep: str) -> None:
    """A NUL byte would cut an ID short (pandas' parser and the C++ catalogue both stop at it)
    and merge distinct IDs: refuse it, naming the line and, when the header says, the column."""
    at = data.find(b"\x00")
    if at < 0:
        return
    line = data.count(b"\n", 0, at) + 1
    begin = data.rfind(b"\n", 0, at) + 1
    field = data[begin:at].count(sep.encode())
    header = data[: data.find(b"\n")].decode("utf-8", "replace").rstrip("\r").split(sep)
    column = f" in {header[field]!r}" if line > 1 and field < len(header) else ""
    raise ValueError(f"{path}, line {line}: NUL byte{column}")


def read_table(path, sep: str, **kwargs) -> pd.DataFrame:
    """pandas.read_csv with every value as a string and errors that name the file.

    Plain and ``.gz`` files are read here first, so that a damaged gzip file and a NUL byte
    are refused with the file (and line) named; other compressions go to pandas directly.
    """
    source = path
    if not any(str(path).endswith(s) for s in (".bz2", ".zip", ".xz", ".zst")):
        data = read_bytes(path)
        refuse_nul(data, path, sep)
        source = io.BytesIO(data)
    try:
        return pd.read_csv(
            source, sep=sep, dtype=str, keep_default_na=False, na_values=[], **kwargs
        )
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: the file is empty") from None
    except pd.errors.ParserError as e:
        raise ValueError(f"{path}: malformed row: {e}") from None
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 text ({e})") from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise gzip_error(path, e) from None


def require_columns(frame: pd.DataFrame, columns: Sequence[str], source) -> None:
    missing = [c for c in columns if c is not None and c not in frame.columns]
    if missing:
        raise ValueError(
            f"{source}: no column {missing[0]!r}; the columns are {list(frame.columns)}"
        )


def first_bad_line(bad: np.ndarray, lines: np.ndarray) -> int:
    return int(lines[np.flatnonzero(bad)[0]])


def require_values(frame: pd.DataFrame, column: str, source, lines: np.ndarray) -> np.ndarray:
    """The column as strings; an empty cell is an error naming its line."""
    values = frame[column].to_numpy(dtype=object)
    empty = frame[column].str.strip().to_numpy() == ""
    if empty.any():
        raise ValueError(f"{source}, line {first_bad_line(empty, lines)}: empty {column!r}")
    return values


def parse_numeric(frame, column, source, lines, allow_empty=False) -> np.ndarray:
    raw = frame[column]
    numbers = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    empty = raw.str.strip().to_numpy() == ""
    bad = np.isnan(numbers) & ~(empty & allow_empty)
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise ValueError(
            f"{source}, line {int(lines[i])}: {column!r} is {raw.iloc[i]!r}, not a number"
        )
    return numbers


def parse_times(frame, column, source, lines, time_format: Optional[str] = None) -> np.ndarray:
    """Timestamps as int64 seconds: numbers are taken as seconds, anything else as a date.

    Numbers that are not finite or do not fit int64 seconds (``inf``, ``1e19``, ``nan``) are
    refused with their line rather than cast.
    """
    raw = frame[column]
    numbers = pd.to_numeric(raw, errors="coerce")
    if time_format is None and numbers.notna().mean() >= 0.5:  # mostly numbers: epoch seconds
        seconds = numbers.to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore"):
            fits = (seconds >= -INT64_TIME_LIMIT) & (seconds < INT64_TIME_LIMIT)
        if not fits.all():
            i = np.flatnonzero(~fits)[0]
            why = "not a time" if np.isnan(seconds[i]) else "beyond the int64 range of seconds"
            raise ValueError(
                f"{source}, line {int(lines[i])}: {column!r} is {raw.iloc[i]!r}, {why}"
            )
        return np.floor(seconds).astype(np.int64)
    parsed = pd.to_datetime(raw, format=time_format, errors="coerce")
    bad = parsed.isna().to_numpy()
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise ValueError(
            f"{source}, line {int(lines[i])}: {column!r} is {raw.iloc[i]!r}, not a time"
        )
    return (parsed.astype("int64").to_numpy() // 1_000_000_000).astype(np.int64)


def build_catalog(
    interaction_item_ids: np.ndarray,
    items: Optional[pd.DataFrame] = None,
    item_id_column: str = "item_id",
    text_columns: Sequence[str] = (),
    numeric_columns: Sequence[str] = (),
    categorical_columns: Sequence[str] = (),
    combined_text: Optional[Sequence[str]] = None,
) -> _core.Catalog:
    """Catalogue of every item seen in the interactions or listed in ``items``.

    ``items`` rows are matched on ``item_id_column`` (the first row of a repeated ID wins);
    items without a row get empty text, NaN numbers and missing (-1) categories. The text field
    ``"text"`` joins the ``combined_text`` fields (default: all text fields) with spaces; it is
    the field that text models read by default.
    """
    ids = pd.unique(pd.Series(interaction_item_ids, dtype=object))
    if items is not None:
        items = items.drop_duplicates(subset=[item_id_column], keep="first")
        extra = items[item_id_column][~items[item_id_column].isin(ids)].to_numpy(dtype=object)
        ids = np.concatenate([ids, extra])
    catalog = _core.Catalog(list(ids))
    if items is None:
        return catalog
    aligned = items.set_index(item_id_column).reindex(pd.Index(ids, dtype=object))
    texts = {}
    for column in text_columns:
        texts[column] = aligned[column].fillna("").astype(str)
        catalog.set_text(column, texts[column].tolist())
    joined = [texts[c] for c in (combined_text or text_columns) if c in texts]
    if joined and "text" not in texts:
        combined = joined[0].str.strip()
        for more in joined[1:]:
            combined = (combined + " " + more.str.strip()).str.strip()
        catalog.set_text("text", combined.tolist())
    for column in numeric_columns:
        values = pd.to_numeric(aligned[column], errors="coerce").to_numpy(dtype=np.float32)
        catalog.set_numeric(column, values)
    for column in categorical_columns:
        codes, vocab = pd.factorize(aligned[column].replace("", np.nan), use_na_sentinel=True)
        catalog.set_categorical(column, codes.astype(np.int32), [str(v) for v in vocab])
    return catalog


def build_dataset(
    name: str,
    source,
    session_keys: np.ndarray,
    item_ids: np.ndarray,
    catalog: _core.Catalog,
    times: Optional[np.ndarray] = None,
    actions: Optional[np.ndarray] = None,
    action_names: Optional[Sequence[str]] = None,
    queries: Optional[np.ndarray] = None,
    session_split: Optional[np.ndarray] = None,
    split_targets: str = "all",
    min_session_length: int = 2,
) -> Dataset:
    """Group interaction rows into sessions and check the result.

    Sessions are ordered by start time (by first appearance without times); events inside a
    session by time, ties kept in file order. ``session_split`` gives one label per row (all rows
    of a session must agree). Sessions shorter than ``min_session_length`` are dropped.
    """
    n_rows = len(item_ids)
    if n_rows == 0:
        raise ValueError(f"{source}: no interaction rows")
    if min_session_length < 1:
        raise ValueError(f"min_session_length must be >= 1, got {min_session_length}")
    item_index = pd.Index(catalog.ids()).get_indexer(pd.Index(item_ids, dtype=object))
    if (item_index < 0).any():  # cannot happen when the catalogue came from these rows
        bad = item_ids[np.flatnonzero(item_index < 0)[0]]
        raise KeyError(f"{source}: item {bad!r} is not in the catalogue")
    session_code, session_values = pd.factorize(np.asarray(session_keys))
    n_sessions = len(session_values)
    if times is not None:
        start = np.full(n_sessions, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(start, session_code, times)
        order = np.lexsort((np.arange(n_rows), times, session_code, start[session_code]))
        session_rank_key = start
    else:
        order = np.lexsort((np.arange(n_rows), session_code))
        session_rank_key = np.arange(n_sessions)
    sorted_sessions = session_code[order]
    # Sessions appear in the order of their sort key; renumber them accordingly.
    session_order = np.lexsort((np.arange(n_sessions), session_rank_key))
    lengths = np.bincount(session_code, minlength=n_sessions)[session_order]
    if (lengths < min_session_length).all():
        raise ValueError(
            f"{source}: every session has fewer than {min_session_length} events "
            f"(all {n_sessions} sessions have length {int(lengths.max())} or less); "
            "session-based recommendation needs sessions of two or more events"
        )
    if session_split is not None:
        labels = np.asarray(session_split, dtype=np.int8)
        per_session = np.full(n_sessions, -1, dtype=np.int8)
        per_session[session_code] = labels
        if (per_session[session_code] != labels).any():
            raise ValueError(f"{source}: a session has rows in more than one split")
    keep = lengths >= min_session_length
    kept_sessions = session_order[keep]
    keep_row = np.zeros(n_sessions, dtype=bool)
    keep_row[kept_sessions] = True
    order = order[keep_row[sorted_sessions]]
    offsets = np.concatenate([[0], np.cumsum(lengths[keep])]).astype(np.int64)
    store = _core.SessionStore(
        offsets,
        item_index[order].astype(np.int32),
        actions=None if actions is None else np.asarray(actions, dtype=np.int8)[order],
        times=None if times is None else np.asarray(times, dtype=np.int64)[order],
        num_items=len(catalog),
    )
    return Dataset(
        name,
        store,
        catalog,
        session_ids=np.asarray(session_values)[kept_sessions],
        session_split=None if session_split is None else per_session[kept_sessions],
        action_names=action_names,
        queries=None if queries is None else list(np.asarray(queries, dtype=object)[order]),
        split_targets=split_targets,
    )
