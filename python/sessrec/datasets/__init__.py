"""Dataset loaders. ``load(name_or_path)`` picks the right one; each returns a Dataset."""

from __future__ import annotations

from pathlib import Path

from ..dataset import Dataset
from .amazon_m2 import load_amazon_m2
from .generic import load_interactions, load_items
from .online_retail import ATTRIBUTION as ONLINE_RETAIL_ATTRIBUTION
from .online_retail import load_online_retail
from .recbole import load_recbole
from .synthetic import synthetic

EMBEDDED = ("online_retail",)


def load(name_or_path, **kwargs) -> Dataset:
    """Load a dataset by name or path.

    * ``"online_retail"``: the embedded UCI Online Retail data (works offline).
    * ``"synthetic"``: :func:`synthetic` with ``kwargs``.
    * a ``.h5`` file: a dataset cached with :meth:`Dataset.save`.
    * a folder: RecBole atomic files.
    * a file whose header has ``prev_items``: Amazon-M2 sessions (``products_path=`` optional).
    * any other CSV/TSV: :func:`load_interactions` with ``kwargs``.
    """
    if name_or_path == "online_retail":
        return load_online_retail(**kwargs)
    if name_or_path == "synthetic":
        return synthetic(**kwargs)
    path = Path(name_or_path)
    if not path.exists():
        raise ValueError(
            f"{name_or_path!r} is neither a known dataset name ({', '.join(EMBEDDED)}, synthetic) "
            "nor an existing path"
        )
    if path.is_dir():
        return load_recbole(path, **kwargs)
    if path.suffix in (".h5", ".hdf5"):
        return Dataset.load(path)
    import gzip
    import zlib

    from ._build import gzip_error

    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", errors="replace") as f:
            header = f.readline()
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise gzip_error(path, e) from None
    if "prev_items" in header:
        return load_amazon_m2(path, **kwargs)
    return load_interactions(path, **kwargs)


__all__ = [
    "load",
    "load_online_retail",
    "load_interactions",
    "load_items",
    "load_recbole",
    "load_amazon_m2",
    "synthetic",
    "ONLINE_RETAIL_ATTRIBUTION",
]
