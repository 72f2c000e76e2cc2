"""MACL's item inputs: the image and text modalities of a catalogue as the C++ core takes them.

:func:`check_matrix` validates a user matrix (NumPy or an HDF5 path) when the model is made;
:func:`modality_inputs` aligns everything to the catalogue when the network is built. The
result is a dict of arrays, saved with the model under ``macl/`` (so a loaded model needs
neither the matrices nor the catalogue text again).
"""

from __future__ import annotations

from typing import Optional

import numpy as np


def check_matrix(name: str, matrix, dataset: str = "features") -> np.ndarray:
    """``matrix`` (2-D array or HDF5 path) as float32 [rows, F]; ValueError naming ``name`` for
    a matrix that is not 2-D, is empty, or holds NaN or infinite values."""
    if isinstance(matrix, (str, bytes)) or hasattr(matrix, "__fspath__"):
        import h5py

        path = str(matrix)
        try:
            with h5py.File(path, "r") as f:
                if dataset not in f:
                    raise ValueError(f"MACL {name}: {path} has no dataset {dataset!r}; it holds "
                                     f"{list(f.keys())}")
                matrix = f[dataset][()]
        except OSError as e:
            raise ValueError(f"MACL {name}: cannot read HDF5 file {path} ({e})") from None
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[1] == 0:
        raise ValueError(f"MACL {name} features must be a 2-D matrix [items, dim], got shape "
                         f"{matrix.shape}")
    bad = ~np.isfinite(matrix)
    if bad.any():
        row, col = (int(v[0]) for v in np.nonzero(bad))
        raise ValueError(f"MACL {name} features: row {row}, column {col} is "
                         f"{matrix[row, col]} (NaN or infinite); mark a missing item with "
                         f"{name}_mask or leave it out of {name}_ids instead")
    return np.ascontiguousarray(matrix)


def align(name: str, catalog, matrix: np.ndarray, ids, mask) -> tuple[np.ndarray, np.ndarray]:
    """(features [num_items, F], mask [num_items] uint8) in catalogue order. Without ``ids`` the
    rows must follow the catalogue; with ``ids`` (one raw item ID per row) items without a row
    lack the modality. ``mask`` (bool per catalogue item) marks further missing items."""
    n = len(catalog)
    if ids is None:
        if matrix.shape[0] != n:
            raise ValueError(f"MACL {name} features have {matrix.shape[0]} rows; the catalogue "
                             f"has {n} items (pass {name}_ids= to align rows by item ID)")
        out, present = matrix, np.ones(n, dtype=np.uint8)
    else:
        ids = [str(i) for i in ids]
        if len(ids) != matrix.shape[0]:
            raise ValueError(f"MACL {name}_ids has {len(ids)} IDs for {matrix.shape[0]} "
                             f"{name} feature rows")
        index = np.asarray(catalog.indices_of(ids))
        known = index >= 0
        out = np.zeros((n, matrix.shape[1]), dtype=np.float32)
        out[index[known]] = matrix[known]
        present = np.zeros(n, dtype=np.uint8)
        present[index[known]] = 1
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != (n,):
            raise ValueError(f"MACL {name}_mask has shape {mask.shape}; one flag per catalogue "
                             f"item ({n}) expected")
        present = present & mask.astype(bool).astype(np.uint8)
    return np.ascontiguousarray(out, dtype=np.float32), present.astype(np.uint8)


def modality_inputs(catalog, params: dict, image: Optional[np.ndarray],
                    text: Optional[np.ndarray], image_mask=None, text_mask=None) -> dict:
    """The arrays of the core's ``macl`` settings for ``catalog``: ``image`` and ``image_mask``
    when there is an image matrix; by ``params["text"]`` either ``text`` and ``text_mask``
    (a user matrix, or "lsa": items without text are masked) or the sentencepiece tokens
    (``token_offsets``, ``tokens``, ``vocab_size``) for "subword"; ``categories`` for mixing
    image features within a category."""
    from .. import text as text_features

    out: dict = {}
    use = params["modalities"]
    if "image" in use:
        if image is None:
            raise ValueError("MACL: modalities include 'image' but no image features were given "
                             "(image=None); pass a matrix or drop 'image' from modalities")
        out["image"], out["image_mask"] = align("image", catalog, image, params["image_ids"],
                                                image_mask)
    source = params["text"] if "text" in use else "none"
    if source == "matrix":
        if text is None:
            raise ValueError("MACL: text='matrix' needs the text feature matrix itself")
        out["text"], out["text_mask"] = align("text", catalog, text, params["text_ids"],
                                              text_mask)
    elif source == "lsa":
        features = np.ascontiguousarray(text_features.lsa_features(
            catalog, dim=params["text_dim"], field=params["text_field"],
            vocab_size=params["vocab_size"], seed=params["seed"]), dtype=np.float32)
        out["text"] = features
        out["text_mask"] = (np.abs(features).sum(axis=1) > 0).astype(np.uint8)
    elif source == "subword":
        tokenizer = text_features.Tokenizer.train(catalog, params["text_field"],
                                                  vocab_size=params["vocab_size"],
                                                  seed=params["seed"])
        offsets, ids = tokenizer.encode_catalog(catalog, params["text_field"])
        out["token_offsets"] = np.asarray(offsets, dtype=np.int64)
        out["tokens"] = np.asarray(ids, dtype=np.int32)
        out["vocab_size"] = np.array([tokenizer.vocab_size], dtype=np.int64)
    categories = params["categories"]
    if categories is not None:
        if categories not in catalog.categorical_fields():
            raise ValueError(f"MACL categories: the catalogue has no categorical field "
                             f"{categories!r}; it has {catalog.categorical_fields()}")
        out["categories"] = np.asarray(catalog.categorical(categories)[0], dtype=np.int32)
    return out


def core_settings(params: dict, inputs: dict) -> dict:
    """The core's ``macl`` dict: the arrays of :func:`modality_inputs` and the loss and
    augmentation settings of ``params``."""
    settings = {k: v for k, v in inputs.items() if k != "vocab_size"}
    if "token_offsets" in inputs:
        settings.update(text_source="subword", vocab_size=int(inputs["vocab_size"][0]),
                        token_dim=params["token_dim"])
    elif "text" in inputs:
        settings["text_source"] = "features"
    settings.update(
        item_weight=params["item_weight"], session_weight=params["session_weight"],
        num_negatives=params["cl_negatives"], cl_temperature=params["cl_temperature"],
        adaptive=params["weighting"] == "adaptive", weight_hidden=params["weight_hidden"],
        augmentation=params["augmentation"], max_item_sets=params["max_item_sets"],
        image_ops=list(params["image_ops"]), text_ops=list(params["text_ops"]),
        id_ops=list(params["id_ops"]), noise_std=params["noise_std"],
        feature_dropout=params["feature_dropout"], mix_ratio=params["mix_ratio"],
        token_rate=params["token_rate"], neighbours=params["neighbours"],
        crop_ratio=params["crop_ratio"], mask_ratio=params["mask_ratio"],
        reorder_ratio=params["reorder_ratio"],
    )
    return settings
