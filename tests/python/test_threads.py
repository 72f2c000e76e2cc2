"""What sr.set_num_threads promises (see its docstring): the non-neural models are bitwise
independent of the thread count; neural models are bitwise reproducible for a fixed seed and
thread count, and differ only by float rounding across thread counts."""

import numpy as np
import pytest

import sessrec as sr

HISTORIES = [[1, 2, 3], [4], [5, 6, 7, 8, 9], [10, 1], [7] * 12]


@pytest.fixture
def threads():
    before = sr.get_num_threads()
    yield
    sr.set_num_threads(before)


def fit_and_score(make, train, n):
    sr.set_num_threads(n)
    model = make()
    model.fit(train) if not hasattr(model, "epochs_done") else model.fit(train, progress=False)
    return model.score(HISTORIES)


@pytest.mark.parametrize("make", [sr.models.POP, sr.models.ItemCF, sr.models.SessionKNN],
                         ids=["pop", "itemcf", "vsknn"])
def test_non_neural_models_do_not_depend_on_the_thread_count(small_split, threads, make):
    one, two = (fit_and_score(make, small_split[0], n) for n in (1, 2))
    np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("cls", [sr.models.GRU4Rec, sr.models.SASRec])
def test_neural_models_repeat_bitwise_and_differ_by_rounding_across_thread_counts(
        small_split, threads, cls):
    def make():
        return cls(dim=16, epochs=2, seed=3)

    one = fit_and_score(make, small_split[0], 1)
    np.testing.assert_array_equal(one, fit_and_score(make, small_split[0], 1))
    two = fit_and_score(make, small_split[0], 2)
    np.testing.assert_array_equal(two, fit_and_score(make, small_split[0], 2))
    np.testing.assert_allclose(one, two, rtol=0, atol=1e-5 * np.abs(one).max())
