"""The opt-in bfloat16 products (``_core.set_matmul_precision``): process-wide, refused values,
and training that follows the float32 run closely without being identical to it."""

import numpy as np
import pytest

import sessrec as sr
from sessrec import _core


@pytest.fixture
def restore_precision():
    yield
    _core.set_matmul_precision("float32")


def test_refuses_unknown_precisions(restore_precision):
    assert _core.matmul_precision() == "float32"
    with pytest.raises(ValueError, match="float32' or 'bfloat16"):
        _core.set_matmul_precision("fp16")


@pytest.mark.skipif(not _core.gemm_uses_onednn(), reason="bfloat16 products need oneDNN")
def test_bfloat16_training_follows_float32(restore_precision):
    ds = sr.datasets.synthetic(num_items=120, num_sessions=500, seed=7)
    train, _, _ = ds.split("time", valid=0.1, test=0.1)

    def run():
        m = sr.models.SASRec(dim=32, layers=2, heads=2, ffn_dim=64, epochs=2, seed=1, threads=1)
        return m.fit(train, progress=False)

    full = run()
    _core.set_matmul_precision("bfloat16")
    assert _core.matmul_precision() == "bfloat16"
    half = run()
    _core.set_matmul_precision("float32")
    a, b = full.history_["loss"].to_numpy(), half.history_["loss"].to_numpy()
    assert not np.array_equal(a, b)  # the bfloat16 path ran
    np.testing.assert_allclose(b, a, rtol=0.02)
    histories = [[1, 2, 3], [5, 6]]
    np.testing.assert_allclose(half.score(histories), full.score(histories), rtol=0.1, atol=0.1)
