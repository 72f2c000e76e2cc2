"""Amazon-M2 / KDD Cup 2023 files.

``sessions_*.csv`` has a ``prev_items`` list column (numpy-style, e.g. "['B09W9FND7K'
'B09JSPLN1M']"), ``locale`` and, in the training file, ``next_item``: each row becomes one
session, prev_items followed by next_item. ``products_*.csv`` has id, locale, title, price, brand,
color, size, model, material, author, desc. An ASIN listed under several locales keeps its first
row among the selected locales.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from .. import _core
from ._build import build_catalog, build_dataset, first_bad_line, read_table, require_columns

PRODUCT_TEXT = ["title", "brand", "color", "size", "model", "material", "author", "desc"]
COMBINED_TEXT = ["title", "brand", "color", "size", "model", "material", "author"]


def load_amazon_m2(
    sessions_path,
    products_path=None,
    locales: Optional[Sequence[str]] = None,
    name: str = "amazon_m2",
    min_session_length: int = 2,
):
    frame = read_table(sessions_path, ",")
    require_columns(frame, ["prev_items", "locale"], sessions_path)
    if len(frame) == 0:
        raise ValueError(f"{sessions_path}: the file has a header but no rows")
    lines = np.arange(len(frame)) + 2
    if locales is not None:
        keep = frame["locale"].isin(list(locales)).to_numpy()
        frame, lines = frame[keep].reset_index(drop=True), lines[keep]
        if len(frame) == 0:
            raise ValueError(f"{sessions_path}: no session in locales {list(locales)}")
    offsets, tokens = _core.parse_list_column(frame["prev_items"].tolist(), str(sessions_path), 2)
    lengths = np.diff(offsets)
    prev = np.asarray(tokens, dtype=object)
    if "next_item" in frame.columns:
        nxt = frame["next_item"].to_numpy(dtype=object)
        empty = frame["next_item"].str.strip().to_numpy() == ""
        if empty.any():
            line = first_bad_line(empty, lines)
            raise ValueError(f"{sessions_path}, line {line}: empty 'next_item'")
        # Interleave: each session's previous items, then its next item.
        total = lengths + 1
        item_ids = np.empty(int(total.sum()), dtype=object)
        ends = np.cumsum(total) - 1
        is_next = np.zeros(len(item_ids), dtype=bool)
        is_next[ends] = True
        item_ids[is_next] = nxt
        item_ids[~is_next] = prev
    else:
        total, item_ids = lengths, prev
    session_keys = np.repeat(np.arange(len(frame)), total)
    products = texts = numerics = categoricals = None
    if products_path is not None:
        products = read_table(products_path, ",")
        require_columns(products, ["id", "locale", "title"], products_path)
        if locales is not None:
            products = products[products["locale"].isin(list(locales))]
        texts = [c for c in PRODUCT_TEXT if c in products.columns]
        numerics = ["price"] if "price" in products.columns else []
        categoricals = [c for c in ("brand", "locale") if c in products.columns]
    catalog = build_catalog(
        item_ids,
        products,
        "id",
        texts or (),
        numerics or (),
        categoricals or (),
        combined_text=[c for c in COMBINED_TEXT if texts and c in texts],
    )
    return build_dataset(
        name, Path(str(sessions_path)), session_keys, item_ids, catalog,
        min_session_length=min_session_length,
    )
