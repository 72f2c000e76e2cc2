"""HDF5 files of named arrays (through the C++ core): helpers shared by datasets and models."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from . import _core


def encode_text(prefix: str, strings) -> dict[str, np.ndarray]:
    """Strings as CSR arrays ``prefix/offsets`` and ``prefix/bytes``."""
    offsets, data = _core.encode_strings(list(strings))
    return {f"{prefix}/offsets": offsets, f"{prefix}/bytes": data}


def decode_text(arrays: dict, prefix: str) -> list[str]:
    return _core.decode_strings(arrays[f"{prefix}/offsets"], arrays[f"{prefix}/bytes"])


def session_store_arrays(store: _core.SessionStore) -> dict[str, np.ndarray]:
    arrays = {"offsets": np.asarray(store.offsets), "items": np.asarray(store.items)}
    if store.actions is not None:
        arrays["actions"] = np.asarray(store.actions)
    if store.times is not None:
        arrays["times"] = np.asarray(store.times)
    return arrays


def read_checked(path: str | Path, expected_format: str, max_version: str,
                 checksummed_from: Optional[str] = None):
    """Read an array file and check that it is a sessrec file of the expected kind. Every file
    sessrec writes carries checksums, verified here whatever its version; a file whose format
    version is ``checksummed_from`` or newer must have them (a damaged manifest cannot pass for
    an older file)."""
    arrays, attributes, checksummed = _core.read_verified_array_file(str(path))
    found = attributes.get("format")
    if found != expected_format:
        raise ValueError(
            f"{path}: not a {expected_format} file (format attribute is {found!r})"
        )
    version = attributes.get("format_version", "?")
    if not version.isdigit() or int(version) > int(max_version):
        raise ValueError(
            f"{path}: format version {version!r} is newer than this sessrec reads ({max_version})"
        )
    if checksummed_from is not None and int(version) >= int(checksummed_from) and not checksummed:
        raise ValueError(f"{path}: format version {version} files carry checksums, and this one "
                         "has none: the file is damaged")
    return arrays, attributes
