"""Item text features, reused by every text method.

* :class:`Tokenizer`: a sentencepiece model trained on the catalogue's text in C++, encoding the
  whole catalogue into a CSR token array in parallel; it is saved with the models that use it.
* :func:`lsa_features`: TF-IDF over subword tokens plus a randomised truncated SVD, in C++.
* :func:`word_vector_features`: averaged GloVe/word2vec vectors read from a text file.
* :func:`matrix_features`: a user-supplied matrix (NumPy, or an HDF5 dataset), e.g. sentence
  embeddings computed elsewhere, aligned to the catalogue and validated.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from . import _core


def _texts(catalog, field: str) -> list[str]:
    fields = catalog.text_fields()
    if field not in fields:
        raise KeyError(f"the catalogue has no text field {field!r}; its fields are {fields}")
    return catalog.text(field)


class Tokenizer:
    """Subword tokenizer (sentencepiece unigram or BPE). Ids 0 and 1 are <pad> and <unk>."""

    def __init__(self, core: _core.Tokenizer):
        self._core = core

    @classmethod
    def train(
        cls,
        catalog,
        field: str = "text",
        vocab_size: int = 8000,
        model_type: str = "unigram",
        character_coverage: float = 0.9995,
        lowercase: bool = True,
        special_tokens: Sequence[str] = (),
        seed: int = 0,
        num_threads: int = 1,
    ) -> "Tokenizer":
        """Train on a catalogue's ``field`` (or on a list of strings). ``vocab_size`` is an
        upper bound: small catalogues get fewer pieces."""
        texts = catalog if isinstance(catalog, list) else _texts(catalog, field)
        return cls(
            _core.Tokenizer.train(texts, vocab_size, model_type, character_coverage, lowercase,
                                  list(special_tokens), seed, num_threads)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> "Tokenizer":
        return cls(_core.Tokenizer.load(bytes(data)))

    def to_bytes(self) -> bytes:
        return self._core.serialized()

    @property
    def vocab_size(self) -> int:
        return self._core.vocab_size

    def encode(self, text: str) -> list[int]:
        return self._core.encode(text)

    def pieces(self, text: str) -> list[str]:
        return [self._core.piece(i) for i in self._core.encode(text)]

    def encode_catalog(self, catalog, field: str = "text"):
        """(offsets, ids): the tokens of item i are ids[offsets[i]:offsets[i+1]]."""
        texts = catalog if isinstance(catalog, list) else _texts(catalog, field)
        return self._core.encode_all(texts)

    def __getstate__(self):
        return self.to_bytes()

    def __setstate__(self, state):
        self._core = _core.Tokenizer.load(state)


def lsa_features(
    catalog,
    dim: int = 64,
    field: str = "text",
    tokenizer: Optional[Tokenizer] = None,
    vocab_size: int = 8000,
    power_iterations: int = 3,
    normalize: bool = True,
    seed: int = 0,
) -> np.ndarray:
    """[num_items, dim] LSA features of a catalogue's text (a tokenizer is trained when none is
    given). Items without text get zero rows; dim is capped by the number of items and pieces."""
    tokenizer = tokenizer or Tokenizer.train(catalog, field, vocab_size=vocab_size, seed=seed)
    offsets, ids = tokenizer.encode_catalog(catalog, field)
    return _core.lsa_features(offsets, ids, tokenizer.vocab_size, dim=dim,
                              power_iterations=power_iterations, normalize=normalize, seed=seed)


def word_vector_features(catalog, path, field: str = "text"):
    """(features [num_items, dim], covered [num_items] bool): the mean of the word vectors of
    each item's words; items with no known word get a zero row and covered False."""
    features, covered, _ = _core.average_word_vectors(str(path), _texts(catalog, field))
    return features, covered.astype(bool)


def matrix_features(catalog, matrix, ids: Optional[Sequence] = None, dataset: str = "features"):
    """Validate and align a user-supplied item matrix.

    ``matrix`` is a 2-D array, or a path to an HDF5 file whose ``dataset`` holds it. Without
    ``ids`` its rows must follow the catalogue order; with ``ids`` (one raw item ID per row) the
    rows are reordered to the catalogue, and every catalogue item must be present.
    """
    if isinstance(matrix, (str, bytes)) or hasattr(matrix, "__fspath__"):
        import h5py

        path = str(matrix)
        try:
            with h5py.File(path, "r") as f:
                if dataset not in f:
                    raise KeyError(f"{path}: no dataset {dataset!r}; it holds {list(f.keys())}")
                matrix = f[dataset][()]
        except OSError as e:
            raise ValueError(f"{path}: cannot read HDF5 ({e})") from None
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim != 2:
        raise ValueError(f"item features must be a 2-D matrix, got shape {matrix.shape}")
    if not np.isfinite(matrix).all():
        row = int(np.flatnonzero(~np.isfinite(matrix).all(axis=1))[0])
        raise ValueError(f"item features: row {row} holds NaN or infinite values")
    n = len(catalog)
    if ids is None:
        if matrix.shape[0] != n:
            raise ValueError(
                f"item features have {matrix.shape[0]} rows; the catalogue has {n} items "
                "(pass ids= to align rows by item ID)"
            )
        return matrix
    ids = [str(i) for i in ids]
    if len(ids) != matrix.shape[0]:
        raise ValueError(f"{len(ids)} ids for {matrix.shape[0]} feature rows")
    index = catalog.indices_of(ids)
    out = np.full((n, matrix.shape[1]), np.nan, dtype=np.float32)
    known = index >= 0
    out[index[known]] = matrix[known]
    missing = np.flatnonzero(np.isnan(out).any(axis=1))
    if len(missing):
        raise ValueError(
            f"item features are missing for {len(missing)} catalogue items, e.g. "
            f"{catalog.id(int(missing[0]))!r}"
        )
    return out


# UBM's interaction tokens build on Tokenizer (imported last: that module imports this one).
from .text_interactions import InteractionTokenizer, InteractionTokens  # noqa: E402
