"""Bounded work: a request over the memory budget raises ValueError naming the budget and how
to change it, before allocating (sr.set_memory_budget, SESSREC_MEMORY_BUDGET)."""

import os
import subprocess
import sys

import numpy as np
import pytest

import sessrec as sr
from sessrec import _core

HOW = "sr.set_memory_budget"


@pytest.fixture
def budget():
    """Restores the process-wide budget after each test."""
    before = sr.get_memory_budget()
    yield
    sr.set_memory_budget(before)


@pytest.fixture(scope="module")
def fitted(small_split):
    train = small_split[0]
    return sr.models.POP().fit(train), small_split


def test_budget_is_set_in_bytes_or_with_a_suffix(budget):
    sr.set_memory_budget("512M")
    assert sr.get_memory_budget() == 512 << 20
    sr.set_memory_budget("2GiB")
    assert sr.get_memory_budget() == 2 << 30
    sr.set_memory_budget(12345)
    assert sr.get_memory_budget() == 12345
    sr.set_memory_budget(0)  # no limit
    assert sr.get_memory_budget() == 2**63 - 1
    for bad in ("lots", "12X", "-5", ""):
        with pytest.raises(ValueError, match="not a memory size"):
            sr.set_memory_budget(bad)
    with pytest.raises(ValueError, match=">= 0"):
        sr.set_memory_budget(-1)


def test_default_budget_comes_from_the_environment():
    code = "import sessrec as sr; print(sr.get_memory_budget())"
    env = dict(os.environ, SESSREC_MEMORY_BUDGET="3G")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert int(out.stdout) == 3 << 30
    env.pop("SESSREC_MEMORY_BUDGET")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert int(out.stdout) == pages // 2


def test_score_matrix_over_budget_is_refused_before_allocating(fitted, budget):
    model, _ = fitted
    n = model.num_items
    sr.set_memory_budget(4 * n * 10)  # ten rows of scores
    assert model.score([[1, 2]] * 10).shape == (10, n)
    with pytest.raises(ValueError) as error:
        model.score([[1, 2]] * 11)
    message = str(error.value)
    assert "11 sessions" in message and "memory budget" in message and HOW in message
    assert "SESSREC_MEMORY_BUDGET" in message
    with pytest.raises(ValueError, match="memory budget"):
        model.recommend_batch([[model.catalog.id(1)]] * 11, k=5)


def test_huge_k_is_cut_to_the_catalogue_or_refused(fitted, budget):
    model, (_, _, test) = fitted
    top = model.recommend([model.catalog.id(1)], k=10**12)  # cut to the catalogue
    assert len(top) == model.num_items - 1
    sr.set_memory_budget("1M")
    scores = np.zeros((2, 10), dtype=np.float32)
    with pytest.raises(ValueError, match="top 1000000000000 items.*memory budget"):
        _core.top_k_from_scores(scores, 10**12)
    # Evaluation at a huge K needs no K-sized memory: the ranks are computed once.
    sr.set_memory_budget(0)
    table = sr.evaluate(model, test, k=10**12, progress=False)
    assert table.metric(f"Hits@{10**12}") == pytest.approx(1.0)


def test_evaluation_block_over_budget_is_refused(fitted, budget):
    model, (_, _, test) = fitted
    sr.set_memory_budget(16)
    with pytest.raises(ValueError, match="ranking over .* items.*memory budget of 16 bytes"):
        sr.evaluate(model, test, k=10, progress=False)


def test_huge_catalogue_full_softmax_is_refused_at_build(small_split, budget):
    """A full-softmax model's item table (with gradient and Adam moments) is checked before it
    is allocated: here 301 rows x dim 16384 x 16 bytes = 75 MiB against a 64 MiB budget."""
    train = small_split[0]
    sr.set_memory_budget("64M")
    model = sr.models.GRU4Rec(dim=16384, hidden=8, epochs=1, loss="ce")
    with pytest.raises(ValueError) as error:
        model.fit(train, progress=False)
    message = str(error.value)
    assert "item_embedding" in message and "memory budget of 64.0 MiB" in message
    assert "smaller dim or catalogue" in message and HOW in message


def test_too_large_training_batch_is_refused(small_split, budget):
    train = small_split[0]
    # 512 sequences x 51 positions x dim 512 x 16 bytes = 204 MiB > 128 MiB; the model's own
    # tables (300 x 512 floats) fit.
    sr.set_memory_budget("128M")
    model = sr.models.SASRec(dim=512, layers=1, heads=1, epochs=1, batch_size=512)
    with pytest.raises(ValueError, match="training batch of 512 sequences.*smaller batch_size"):
        model.fit(train, progress=False)


def test_array_read_over_budget_names_the_file(tmp_path, budget):
    path = tmp_path / "big.h5"
    _core.write_array_file(str(path), {"w": np.zeros((64, 1024), dtype=np.float32)}, {})
    sr.set_memory_budget(64 * 1024)
    with pytest.raises(ValueError) as error:
        _core.read_array_file(str(path))
    assert str(path) in str(error.value) and "memory budget" in str(error.value)
    sr.set_memory_budget(0)
    arrays, _ = _core.read_array_file(str(path))
    assert arrays["w"].shape == (64, 1024)
