"""Parameter groups of a neural network: which parameters train and at what learning rate, and
moving weights between networks and files by name (stage hand-over, warm starts, weights trained
elsewhere).

Groups are named with shell-style patterns over the network's parameter names ("tower.*",
"layers.0.*", "item_embedding"; see ``model.parameter_table()`` for the names). A frozen
parameter keeps its value: the optimizer skips it and it adds nothing to the gradient norm (its
gradient is still computed). A group's learning rate replaces the model's ``lr`` for it, and
follows the same schedule.

Parameter files (:func:`export_parameters`) are HDF5 files with one float32 dataset per
parameter at the root, named exactly as the parameter and shaped [rows, cols], and the root
attributes ``format`` = "sessrec-parameters", ``format_version`` = "1" and ``class`` (the model
that wrote it); like every file sessrec writes they carry CRC-32 checksums. Files written by
other tools (h5py, a PyTorch ``state_dict`` dumped dataset by dataset) are read as they are:
float64 arrays are cast to float32, and a 1-D array fills a [1, n] parameter (biases, LayerNorm
weights).
"""

from __future__ import annotations

import fnmatch
from typing import Optional, Union

import numpy as np
import pandas as pd

from .. import _core

FORMAT_PARAMETERS = "sessrec-parameters"
FORMAT_PARAMETERS_VERSION = "1"


def check_settings(freeze, lr_groups) -> tuple[list[str], dict[str, float]]:
    """The ``freeze`` and ``lr_groups`` model parameters in canonical form (a list of patterns;
    a dict of pattern -> positive learning rate), or ValueError/TypeError."""
    if isinstance(freeze, str):
        freeze = [freeze]
    freeze = list(freeze or [])
    if not all(isinstance(p, str) and p for p in freeze):
        raise TypeError(f"freeze must be a list of name patterns, got {freeze!r}")
    lr_groups = dict(lr_groups or {})
    for pattern, lr in lr_groups.items():
        if not isinstance(pattern, str) or not pattern:
            raise TypeError(f"lr_groups keys must be name patterns, got {pattern!r}")
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not np.isfinite(lr) or lr < 0:
            raise ValueError(f"lr_groups[{pattern!r}] must be a learning rate >= 0, got {lr!r}")
    return freeze, {k: float(v) for k, v in lr_groups.items()}


def apply(core, params: dict) -> None:
    """Put a model's ``freeze`` and ``lr_groups`` on its core, from scratch: everything trains at
    the base rate, then each frozen pattern is frozen and each learning-rate group scaled, in
    order (a later group wins where two overlap). A pattern that matches no parameter is a
    ValueError listing the names there are."""
    core.set_frozen("*", False)
    core.set_lr_scale("*", 1.0)
    for pattern in params.get("freeze") or []:
        core.set_frozen(pattern, True)
    base = float(params["lr"])
    for pattern, lr in (params.get("lr_groups") or {}).items():
        core.set_lr_scale(pattern, float(lr) / base)


def table(core, base_lr: float) -> pd.DataFrame:
    """One row per parameter: rows, cols, frozen, lr (the base rate times its scale)."""
    groups = core.parameter_groups()
    return pd.DataFrame(
        [
            dict(name=name, rows=g["shape"][0], cols=g["shape"][1], frozen=g["frozen"],
                 lr=base_lr * g["lr_scale"])
            for name, g in groups.items()
        ]
    ).set_index("name")


def export_parameters(core, path, pattern: str, model_name: str) -> list[str]:
    """Write the parameters matching ``pattern`` to ``path``; returns their names."""
    values = core.get_parameters()
    names = [n for n in core.parameter_names() if fnmatch.fnmatchcase(n, pattern)]
    if not names:
        raise ValueError(f"no parameter matches {pattern!r}; the parameters are: "
                         f"{', '.join(core.parameter_names())}")
    attributes = {"format": FORMAT_PARAMETERS, "format_version": FORMAT_PARAMETERS_VERSION,
                  "class": model_name}
    _core.write_array_file(str(path), {n: values[n] for n in names}, attributes)
    return names


def read_parameters(path) -> dict[str, np.ndarray]:
    """The float arrays of a parameter file (sessrec's own, checked; or another tool's)."""
    arrays, attributes, checksummed = _core.read_verified_array_file(str(path))
    kind = attributes.get("format")
    if kind is not None and kind != FORMAT_PARAMETERS:
        raise ValueError(f"{path}: a {kind!r} file, not a parameter file (sessrec.load reads "
                         "model files)")
    if kind == FORMAT_PARAMETERS:
        version = attributes.get("format_version", "?")
        if version != FORMAT_PARAMETERS_VERSION:
            raise ValueError(f"{path}: parameter file version {version!r} is not one this "
                             f"sessrec reads ({FORMAT_PARAMETERS_VERSION})")
        if not checksummed:
            raise ValueError(f"{path}: sessrec parameter files carry checksums, and this one "
                             "has none: the file is damaged")
    out = {}
    for name, array in arrays.items():
        if array.dtype.kind != "f":
            continue
        if not np.isfinite(array).all():
            raise ValueError(f"{path}: dataset {name!r} holds NaN or infinite values")
        out[name] = array.astype(np.float32, copy=False)
    return out


def import_parameters(core, path, names: Union[None, str, dict], strict: bool) -> list[str]:
    """Set parameters of ``core`` from the file at ``path``; returns the names it set.

    ``names``: None takes every dataset named like one of the core's parameters; a pattern
    takes the parameters matching it, each of which the file must hold; a dict maps dataset
    names of the file to parameter names. ``strict`` (with ``names=None``) requires the file to
    hold every parameter of the core and nothing else. Nothing is set unless everything fits:
    a missing name or a shape that differs is a ValueError naming it."""
    arrays = read_parameters(path)
    shapes = {n: g["shape"] for n, g in core.parameter_groups().items()}
    if names is None:
        pairs = {n: n for n in arrays if n in shapes}
        if strict:
            missing = sorted(set(shapes) - set(arrays))
            unexpected = sorted(set(arrays) - set(shapes))
            if missing or unexpected:
                raise ValueError(f"{path}: strict import: parameters missing from the file: "
                                 f"{missing[:5]}; datasets that are no parameter: "
                                 f"{unexpected[:5]}")
        elif not pairs:
            raise ValueError(f"{path}: no dataset is named like a parameter of this model "
                             f"(datasets: {sorted(arrays)[:5]}; parameters: {sorted(shapes)[:5]})")
    elif isinstance(names, str):
        wanted = [n for n in shapes if fnmatch.fnmatchcase(n, names)]
        if not wanted:
            raise ValueError(f"no parameter matches {names!r}; the parameters are: "
                             f"{', '.join(shapes)}")
        missing = [n for n in wanted if n not in arrays]
        if missing:
            raise ValueError(f"{path}: the file lacks {missing[:5]}")
        pairs = {n: n for n in wanted}
    elif isinstance(names, dict):
        pairs = dict(names)
        for source, target in pairs.items():
            if source not in arrays:
                raise ValueError(f"{path}: no dataset {source!r} (datasets: {sorted(arrays)[:5]})")
            if target not in shapes:
                raise ValueError(f"no parameter {target!r}; the parameters are: "
                                 f"{', '.join(shapes)}")
    else:
        raise TypeError(f"names must be None, a pattern or a dict, got {type(names).__name__}")
    values = {}
    for source, target in pairs.items():
        array, shape = arrays[source], tuple(shapes[target])
        if array.ndim == 1 and shape[0] == 1:
            array = array.reshape(1, -1)
        if array.shape != shape:
            raise ValueError(f"{path}: dataset {source!r} has shape {array.shape}; parameter "
                             f"{target!r} is {shape}")
        values[target] = np.ascontiguousarray(array)
    core.set_parameters(values, require_all=False)
    return sorted(values)

