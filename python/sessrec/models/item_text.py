"""The item tower's text inputs: from the catalogue text to what a C++ encoder's item tower takes.

``text_inputs`` computes them once per model (they are saved with it, under ``text/``);
``tower_spec`` turns them and the tower parameters into the encoder's ``tower`` argument.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

# The item towers that read text: the text-only tower and the two NFRec fusions.
TEXT_TOWERS = ("text", "sum", "concat")


def text_inputs(catalog, params: dict, user_features: Optional[np.ndarray]) -> dict:
    """The text inputs of the item tower for ``catalog``, by ``params["text"]``: "matrix" and
    "lsa" give ``features`` [num_items, F] (float32); "subword" the catalogue's sentencepiece
    tokens (``token_offsets``, ``tokens``, ``vocab_size``) and the ``tokenizer`` itself.
    ``user_features`` is the matrix of ``text="matrix"``."""
    from .. import text as text_features

    source = params["text"]
    if source == "matrix":
        if user_features is None:
            raise ValueError("text='matrix' needs the feature matrix itself")
        return {"features": text_features.matrix_features(catalog, user_features)}
    if source == "lsa":
        features = text_features.lsa_features(
            catalog, dim=params["text_dim"], field=params["text_field"],
            vocab_size=params["vocab_size"], seed=params["seed"],
        )
        return {"features": np.ascontiguousarray(features, dtype=np.float32)}
    tokenizer = text_features.Tokenizer.train(
        catalog, params["text_field"], vocab_size=params["vocab_size"], seed=params["seed"]
    )
    offsets, ids = tokenizer.encode_catalog(catalog, params["text_field"])
    return {
        "token_offsets": np.asarray(offsets, dtype=np.int64),
        "tokens": np.asarray(ids, dtype=np.int32),
        "vocab_size": np.array([tokenizer.vocab_size], dtype=np.int64),
        "tokenizer": np.frombuffer(tokenizer.to_bytes(), dtype=np.uint8),
    }


def tower_spec(params: dict, inputs: Optional[dict]) -> Optional[dict]:
    """The ``tower`` argument of a C++ encoder: None for free ID embeddings (items="id"), else
    the tower's kind, MLP and LayerNorm settings and, for the towers that read text, its inputs
    (from :func:`text_inputs`; RuntimeError when they are not computed yet)."""
    if params["items"] == "id":
        return None
    norm = bool(params.get("tower_norm", True))
    spec = {"kind": params["items"], "hidden": params["text_hidden"],
            "dropout": params["text_dropout"], "text_layernorm": norm, "id_layernorm": norm}
    if params["items"] in TEXT_TOWERS:
        if inputs is None:
            raise RuntimeError("text inputs are not prepared")
        if "features" in inputs:
            spec.update(text_source="features", features=inputs["features"])
        else:
            spec.update(
                text_source="subword", token_offsets=inputs["token_offsets"],
                tokens=inputs["tokens"], vocab_size=int(inputs["vocab_size"][0]),
                token_dim=params["token_dim"],
            )
    return spec
