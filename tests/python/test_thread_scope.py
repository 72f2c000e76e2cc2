"""Thread counts are scoped: a model's threads= applies to its own calls, sr.threads(n) to a
block, and the caller's count comes back afterwards."""

import os
import threading

import pytest

import sessrec as sr


@pytest.fixture
def two_threads():
    before = sr.get_num_threads()
    sr.set_num_threads(2)
    yield
    sr.set_num_threads(before)


def test_threads_block_restores_the_count(two_threads):
    with sr.threads(1):
        assert sr.get_num_threads() == 1
    assert sr.get_num_threads() == 2
    with pytest.raises(RuntimeError):
        with sr.threads(1):
            raise RuntimeError("boom")
    assert sr.get_num_threads() == 2
    with sr.threads(None):
        assert sr.get_num_threads() == 2
    with pytest.raises(ValueError, match="positive integer"):
        with sr.threads(-1):
            pass


def test_model_threads_apply_to_its_fit_and_scoring_only(two_threads, small_split):
    train, valid, test = small_split
    during = []
    model = sr.models.GRU4Rec(dim=8, hidden=8, epochs=2, threads=1)
    model.fit(train, valid, callbacks=[lambda m, row: during.append(sr.get_num_threads())])
    assert during == [1, 1]
    assert sr.get_num_threads() == 2
    sr.evaluate(model, test, k=(20,))
    model.recommend([train.catalog.id(0)])
    assert sr.get_num_threads() == 2
    itemcf = sr.models.ItemCF().fit(train)  # no threads parameter: the caller's count
    assert sr.get_num_threads() == 2 and itemcf.is_fitted


def test_counts_are_per_python_thread(two_threads):
    seen = {}

    def worker():
        with sr.threads(1):
            seen["worker"] = sr.get_num_threads()
            seen["main_meanwhile"] = main_count[0]

    main_count = [sr.get_num_threads()]
    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen == {"worker": 1, "main_meanwhile": 2} and sr.get_num_threads() == 2


def test_omp_wait_policy_is_passive_unless_set():
    assert os.environ.get("OMP_WAIT_POLICY") in ("PASSIVE", os.environ.get("OMP_WAIT_POLICY"))
    import subprocess
    import sys

    code = "import os, sessrec; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "PASSIVE"
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "ACTIVE"


def test_subclasses_with_their_own_fit_are_scoped_too(two_threads, small_split):
    """A model class that overrides fit (FusionRerank sets its threads inside) still leaves the
    caller's count as it was."""
    train, _, _ = small_split

    class Noisy(sr.models.POP):
        name = "noisy_pop_for_thread_test"

        def __init__(self, threads=None):
            super().__init__()
            self.params["threads"] = threads

        def fit(self, train, valid=None):
            sr.set_num_threads(1)  # as a model that sets the count process-wide would
            self.seen = sr.get_num_threads()
            return super().fit(train)

    model = Noisy(threads=1).fit(train)
    assert model.seen == 1 and sr.get_num_threads() == 2
    fusion = sr.models.FusionRerank(retrievers=[sr.models.POP()], ranker=None, threads=1)
    fusion.fit(train)
    assert sr.get_num_threads() == 2
