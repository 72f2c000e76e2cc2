"""Item text features: tokenizer, LSA, word vectors, user matrices."""

import pickle

import h5py
import numpy as np
import pytest

import sessrec as sr


def test_tokenizer_on_catalogue(retail):
    tok = sr.text.Tokenizer.train(retail.catalog, vocab_size=2000, special_tokens=["[CLS]"])
    assert 100 < tok.vocab_size <= 2000
    offsets, ids = tok.encode_catalog(retail.catalog)
    assert len(offsets) == retail.num_items + 1
    assert ids.min() >= 0 and ids.max() < tok.vocab_size
    assert tok.encode("white hanging heart") == tok.encode("WHITE HANGING HEART")
    again = pickle.loads(pickle.dumps(tok))
    assert again.encode("t-light holder") == tok.encode("t-light holder")
    assert sr.text.Tokenizer.from_bytes(tok.to_bytes()).vocab_size == tok.vocab_size
    with pytest.raises(KeyError, match="no text field"):
        sr.text.Tokenizer.train(retail.catalog, field="colour")


def test_lsa_groups_topics(small):
    features = sr.text.lsa_features(small.catalog, dim=16, vocab_size=500)
    assert features.shape == (small.num_items, 16)
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), 1.0, atol=1e-4)
    topic, _ = small.catalog.categorical("topic")
    sims = features @ features.T
    same = topic[:, None] == topic[None, :]
    np.fill_diagonal(same, False)
    different = topic[:, None] != topic[None, :]
    # Items of one latent topic share title words, so their LSA vectors are closer.
    assert sims[same].mean() > sims[different].mean() + 0.2
    again = sr.text.lsa_features(small.catalog, dim=16, vocab_size=500)
    np.testing.assert_array_equal(features, again)


def test_word_vectors(tmp_path, retail):
    path = tmp_path / "glove.txt"
    path.write_text("white 1 0 0\nheart 0 1 0\nholder 0 0 1\n")
    features, covered = sr.text.word_vector_features(retail.catalog, path)
    assert features.shape == (retail.num_items, 3)
    i = retail.catalog.index_of("85123A")  # WHITE HANGING HEART T-LIGHT HOLDER
    np.testing.assert_allclose(features[i], [1 / 3, 1 / 3, 1 / 3], rtol=1e-6)
    assert covered[i] and not covered.all()
    path.write_text("white 1 0 0\nheart 0 1\n")
    with pytest.raises(ValueError, match="glove.txt, line 2"):
        sr.text.word_vector_features(retail.catalog, path)


def test_matrix_features_validation(small, tmp_path):
    n = small.num_items
    m = np.random.default_rng(0).normal(size=(n, 8)).astype(np.float32)
    np.testing.assert_array_equal(sr.text.matrix_features(small.catalog, m), m)
    ids = small.catalog.ids()
    order = np.random.default_rng(1).permutation(n)
    aligned = sr.text.matrix_features(small.catalog, m[order], ids=[ids[i] for i in order])
    np.testing.assert_array_equal(aligned, m)
    with pytest.raises(ValueError, match=f"{n - 1} rows; the catalogue has {n}"):
        sr.text.matrix_features(small.catalog, m[:-1])
    with pytest.raises(ValueError, match="missing for 1 catalogue items"):
        sr.text.matrix_features(small.catalog, m[1:], ids=ids[1:])
    bad = m.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="row 3"):
        sr.text.matrix_features(small.catalog, bad)
    with h5py.File(tmp_path / "f.h5", "w") as f:
        f["emb"] = m
    np.testing.assert_array_equal(
        sr.text.matrix_features(small.catalog, tmp_path / "f.h5", dataset="emb"), m
    )
    with pytest.raises(KeyError, match="no dataset 'features'"):
        sr.text.matrix_features(small.catalog, tmp_path / "f.h5")
