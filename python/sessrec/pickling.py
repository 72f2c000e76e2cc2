"""Pickling of the C++ data objects (SessionStore, Catalog, ExampleSet) by their arrays.

Registered with :mod:`copyreg` when sessrec is imported, so that a Dataset, a SessionSet and a
model (see :meth:`sessrec.models.Recommender.__getstate__`) pickle and deep-copy as plain
Python objects: each C++ object is rebuilt from the same NumPy arrays its HDF5 file would hold.
Objects shared inside one pickle (the catalogue of a split's three parts) stay shared.
"""

from __future__ import annotations

import copyreg

import numpy as np

from . import _core
from .io import session_store_arrays


def _store(offsets, items, actions, times, num_items):
    return _core.SessionStore(offsets, items, actions=actions, times=times, num_items=num_items)


def _reduce_store(store: _core.SessionStore):
    arrays = {k: np.array(v) for k, v in session_store_arrays(store).items()}
    items = arrays["items"]
    num_items = int(items.max()) + 1 if len(items) else 0
    return _store, (arrays["offsets"], items, arrays.get("actions"), arrays.get("times"),
                    num_items)


def _catalog(ids, text, numeric, categorical):
    catalog = _core.Catalog(ids)
    for name, values in text.items():
        catalog.set_text(name, values)
    for name, values in numeric.items():
        catalog.set_numeric(name, values)
    for name, (codes, vocab) in categorical.items():
        catalog.set_categorical(name, codes, vocab)
    return catalog


def _reduce_catalog(catalog: _core.Catalog):
    text = {f: catalog.text(f) for f in catalog.text_fields()}
    numeric = {f: catalog.numeric(f) for f in catalog.numeric_fields()}
    categorical = {f: catalog.categorical(f) for f in catalog.categorical_fields()}
    return _catalog, (catalog.ids(), text, numeric, categorical)


def _reduce_examples(examples: _core.ExampleSet):
    return _core.ExampleSet, (np.array(examples.begin), np.array(examples.end),
                              np.array(examples.session))


def register() -> None:
    copyreg.pickle(_core.SessionStore, _reduce_store)
    copyreg.pickle(_core.Catalog, _reduce_catalog)
    copyreg.pickle(_core.ExampleSet, _reduce_examples)
