"""The embedded UCI Online Retail data (CC BY 4.0; see sessrec/data/ATTRIBUTION.md).

An invoice is a session, its lines in entry order are the events, cancelled invoices
(InvoiceNo starting with "C") are dropped, Description is the item text and the median
UnitPrice the item's price.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

from ._build import build_catalog, build_dataset, parse_numeric, parse_times, read_table
from ._build import require_columns, require_values

FILE = "online_retail_2010-12_2011-06.csv.gz"
ATTRIBUTION = (
    'Daqing Chen, "Online Retail", UCI Machine Learning Repository, '
    "https://doi.org/10.24432/C5BW33 (CC BY 4.0)"
)


def path():
    return resources.files("sessrec.data") / FILE


def load_online_retail(min_session_length: int = 2, source=None):
    source = source or path()
    frame = read_table(source, ",")
    require_columns(
        frame, ["InvoiceNo", "StockCode", "Description", "InvoiceDate", "UnitPrice"], source
    )
    lines = np.arange(len(frame)) + 2
    keep = ~frame["InvoiceNo"].str.startswith("C").to_numpy()
    frame, lines = frame[keep].reset_index(drop=True), lines[keep]
    invoices = require_values(frame, "InvoiceNo", source, lines)
    codes = require_values(frame, "StockCode", source, lines)
    times = parse_times(frame, "InvoiceDate", source, lines, time_format="%m/%d/%y %H:%M")
    price = parse_numeric(frame, "UnitPrice", source, lines)
    # One description and price per stock code: the most frequent description, the median price.
    lines_frame = pd.DataFrame(
        {"item_id": codes, "Description": frame["Description"].str.strip(), "price": price}
    )
    described = lines_frame[lines_frame["Description"] != ""]
    description = (
        described.groupby(["item_id", "Description"]).size().rename("n").reset_index()
        .sort_values(["item_id", "n", "Description"], ascending=[True, False, True])
        .drop_duplicates("item_id")
        .set_index("item_id")["Description"]
    )
    items = pd.DataFrame({"price": lines_frame.groupby("item_id")["price"].median()})
    items["Description"] = description.reindex(items.index).fillna("")
    items = items.reset_index()
    catalog = build_catalog(
        codes, items, "item_id", text_columns=["Description"], numeric_columns=["price"]
    )
    return build_dataset(
        "online_retail",
        source,
        invoices,
        codes,
        catalog,
        times=times,
        min_session_length=min_session_length,
    )
