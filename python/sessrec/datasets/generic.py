"""Generic interaction files: CSV/TSV with session, item and optional time and action columns,
plus an optional item file with any text, numeric and categorical columns."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from ._build import (
    build_catalog,
    build_dataset,
    parse_numeric,
    parse_times,
    read_table,
    require_columns,
    require_values,
)


def _separator(path, sep):
    if sep is not None:
        return sep
    suffixes = Path(str(path)).suffixes
    return "\t" if any(s in (".tsv", ".txt", ".tab") for s in suffixes) else ","


def load_items(
    path,
    item_id_column: str = "item_id",
    text_columns: Optional[Sequence[str]] = None,
    numeric_columns: Optional[Sequence[str]] = None,
    categorical_columns: Sequence[str] = (),
    sep: Optional[str] = None,
):
    """Read an item file. Columns not named otherwise are numeric when every non-empty value is
    a number, text otherwise. Returns (frame, text_columns, numeric_columns, categorical)."""
    frame = read_table(path, _separator(path, sep))
    require_columns(frame, [item_id_column, *(text_columns or ()), *(numeric_columns or ()),
                            *categorical_columns], path)
    lines = np.arange(len(frame)) + 2
    require_values(frame, item_id_column, path, lines)
    others = [c for c in frame.columns if c != item_id_column and c not in categorical_columns]
    if numeric_columns is None:
        numeric_columns = [
            c for c in others
            if (text_columns is None or c not in text_columns)
            and (frame[c].str.strip() != "").any()
            and not pd.to_numeric(frame[c].replace("", np.nan), errors="coerce")
            .isna()[frame[c].str.strip() != ""].any()
        ]
    for column in numeric_columns:
        parse_numeric(frame, column, path, lines, allow_empty=True)
    if text_columns is None:
        text_columns = [c for c in others if c not in numeric_columns]
    return frame, list(text_columns), list(numeric_columns), list(categorical_columns)


def load_interactions(
    path,
    session_column: str = "session_id",
    item_column: str = "item_id",
    time_column: Optional[str] = None,
    action_column: Optional[str] = None,
    items_path=None,
    item_id_column: str = "item_id",
    text_columns: Optional[Sequence[str]] = None,
    numeric_columns: Optional[Sequence[str]] = None,
    categorical_columns: Sequence[str] = (),
    time_format: Optional[str] = None,
    sep: Optional[str] = None,
    name: Optional[str] = None,
    min_session_length: int = 2,
):
    """Load a generic interaction file (``.csv`` comma-separated, ``.tsv``/``.txt`` tab-separated
    unless ``sep`` says otherwise; gzip is read transparently).

    A numeric time column is taken as seconds; anything else is parsed as a date (with
    ``time_format`` when given). Raises ValueError naming the file and line for malformed rows,
    unknown columns, empty files and data whose sessions all have a single event.
    """
    frame = read_table(path, _separator(path, sep))
    require_columns(frame, [session_column, item_column, time_column, action_column], path)
    if len(frame) == 0:
        raise ValueError(f"{path}: the file has a header but no rows")
    lines = np.arange(len(frame)) + 2
    sessions = require_values(frame, session_column, path, lines)
    items = require_values(frame, item_column, path, lines)
    times = parse_times(frame, time_column, path, lines, time_format) if time_column else None
    actions = action_names = None
    if action_column:
        require_values(frame, action_column, path, lines)
        codes, uniques = pd.factorize(frame[action_column], sort=True)
        if len(uniques) > 127:
            raise ValueError(f"{path}: {len(uniques)} distinct actions; at most 127 are supported")
        actions, action_names = codes.astype(np.int8), [str(u) for u in uniques]
    item_frame, texts, numerics, categoricals = None, (), (), ()
    if items_path is not None:
        item_frame, texts, numerics, categoricals = load_items(
            items_path, item_id_column, text_columns, numeric_columns, categorical_columns
        )
    catalog = build_catalog(items, item_frame, item_id_column, texts, numerics, categoricals)
    return build_dataset(
        name or Path(str(path)).name.split(".")[0],
        path,
        sessions,
        items,
        catalog,
        times=times,
        actions=actions,
        action_names=action_names,
        min_session_length=min_session_length,
    )
