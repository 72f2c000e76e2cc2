"""Top-k recommendations for a file of sessions, in shards, here or on a Dask cluster.

``sessrec recommend MODEL.h5 --sessions FILE [--scheduler ADDR] --out top.csv|top.h5``. The
sessions file is either one session per line (item IDs separated by commas or spaces; the
session is numbered by its line among the sessions) or a CSV whose header names
``session_id`` and ``item_id`` (one event per row, in order). Shards of ``shard_size``
sessions are scored with :meth:`Recommender.recommend_batch`; on a cluster the model is sent
once to every worker (it pickles by its arrays) and each shard is a task. The output is a CSV
(session, rank, item_id, score) or, for a ``.h5`` path, a checksummed HDF5 array file
(``session`` and ``item_id`` as strings, ``rank`` and ``score`` as arrays).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

FORMAT_RECOMMENDATIONS = "sessrec-recommendations"


def read_sessions(path) -> tuple[list[str], list[list[str]]]:
    """(session names, sessions) from a sessions file (see the module docstring)."""
    path = Path(path)
    with open(path) as f:
        header = f.readline()
    columns = [c.strip() for c in header.strip().split(",")]
    if "session_id" in columns and "item_id" in columns:
        table = pd.read_csv(path, usecols=["session_id", "item_id"], dtype=str)
        if table.isna().any().any():
            line = int(np.flatnonzero(table.isna().any(axis=1).to_numpy())[0]) + 2
            raise ValueError(f"{path}, line {line}: empty session_id or item_id")
        groups = table.groupby("session_id", sort=False)["item_id"]
        return list(groups.groups), [list(items) for _, items in groups]
    names, sessions = [], []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                names.append(str(len(sessions)))
                sessions.append(line.replace(",", " ").split())
    if not sessions:
        raise ValueError(f"{path}: no sessions (one per line, or a CSV with session_id,item_id)")
    return names, sessions


def _known(model, sessions: list) -> tuple[list, np.ndarray]:
    """Sessions with their unknown item IDs dropped, and which sessions keep any item."""
    ids = [i for s in sessions for i in s]
    index = model.catalog.indices_of(ids) if ids else np.zeros(0, dtype=np.int64)
    known, kept, start = [], [], 0
    for s in sessions:
        mask = index[start:start + len(s)] >= 0
        start += len(s)
        items = [i for i, ok in zip(s, mask) if ok]
        kept.append(bool(items))
        if items:
            known.append(items)
    return known, np.asarray(kept, dtype=bool)


def score_shard(model, names: list, sessions: list, k: int, exclude_history: bool,
                skip_unknown: bool) -> pd.DataFrame:
    """One shard's table: session (its name), rank, item_id, score."""
    if skip_unknown:
        sessions, kept = _known(model, sessions)
        names = [n for n, keep in zip(names, kept) if keep]
        if not sessions:
            return pd.DataFrame({"session": [], "rank": [], "item_id": [], "score": []})
    table = model.recommend_batch(sessions, k=k, exclude_history=exclude_history)
    table["session"] = np.asarray(names, dtype=object)[table["session"].to_numpy()]
    return table[["session", "rank", "item_id", "score"]]


def recommend_file(model, sessions_path, out, k: int = 10, exclude_history: bool = True,
                   scheduler: Optional[str] = None, shard_size: int = 10_000,
                   skip_unknown: bool = False) -> pd.DataFrame:
    """Score every session of ``sessions_path`` with ``model`` (a Recommender or a model file)
    and write the table to ``out`` (.csv or .h5); returns it. ``scheduler``: a Dask scheduler
    address to score the shards on. ``skip_unknown`` drops item IDs the model does not know
    (a session left empty gets no rows) instead of raising KeyError."""
    from .models import load

    if isinstance(model, (str, Path)):
        model = load(model)
    if shard_size < 1:
        raise ValueError(f"shard_size must be positive, got {shard_size}")
    names, sessions = read_sessions(sessions_path)
    shards = [(names[i:i + shard_size], sessions[i:i + shard_size])
              for i in range(0, len(sessions), shard_size)]
    if scheduler:
        from distributed import Client

        with Client(scheduler) as client:
            shared = client.scatter(model, broadcast=True)
            futures = [client.submit(score_shard, shared, n, s, k, exclude_history,
                                     skip_unknown, pure=False) for n, s in shards]
            tables = client.gather(futures)
    else:
        tables = [score_shard(model, n, s, k, exclude_history, skip_unknown) for n, s in shards]
    table = pd.concat(tables, ignore_index=True)
    write_recommendations(table, out)
    return table


def write_recommendations(table: pd.DataFrame, out) -> None:
    out = Path(out)
    if out.suffix in (".h5", ".hdf5"):
        from . import _core
        from .io import encode_text

        arrays = {"rank": table["rank"].to_numpy(dtype=np.int64),
                  "score": table["score"].to_numpy(dtype=np.float32)}
        arrays.update(encode_text("session", table["session"].astype(str)))
        arrays.update(encode_text("item_id", table["item_id"].astype(str)))
        _core.write_array_file(str(out), arrays, {"format": FORMAT_RECOMMENDATIONS,
                                                  "format_version": "1"})
    elif out.suffix == ".csv":
        table.to_csv(out, index=False)
    else:
        raise ValueError(f"{out}: write recommendations to a .csv or .h5 file")


def read_recommendations(path) -> pd.DataFrame:
    """A table written by :func:`write_recommendations` to HDF5."""
    from .io import decode_text, read_checked

    arrays, _ = read_checked(path, FORMAT_RECOMMENDATIONS, "1", checksummed_from="1")
    return pd.DataFrame({"session": decode_text(arrays, "session"), "rank": arrays["rank"],
                         "item_id": decode_text(arrays, "item_id"), "score": arrays["score"]})
