"""Ctrl-C stops long C++ loops: the core polls between blocks and the bindings raise
KeyboardInterrupt. Each case runs in a subprocess that gets SIGINT once the long call began."""

import signal
import subprocess
import sys
import textwrap
import time

import pytest

# The uninterrupted calls below take minutes; an interrupted one must end within this bound
# (generous: the machine may be busy).
DEADLINE_SECONDS = 30

# The child restores Python's Ctrl-C handler: a process started in the background by a
# non-interactive shell (as CI may start the test run) inherits SIGINT ignored, and Python then
# installs no KeyboardInterrupt handler at all. An interactive user always has it.
SETUP = """
import signal
signal.signal(signal.SIGINT, signal.default_int_handler)
import numpy as np
import sessrec as sr
from sessrec import _core

def store_of(sessions, num_items):
    lengths = [len(s) for s in sessions]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return _core.SessionStore(offsets, np.concatenate(sessions).astype(np.int32),
                              num_items=num_items)
"""

ITEMCF_BUILD = """
rng = np.random.default_rng(0)
num_items = 2000
huge = rng.integers(0, num_items, 300_000)  # one session: 9*10^10 pair updates with window=0
store = store_of([huge, rng.integers(0, num_items, 20), rng.integers(0, num_items, 20)],
                 num_items)
ds = sr.Dataset("huge", store, _core.Catalog([str(i) for i in range(num_items)]))
train, _, _ = ds.split("time", valid=0.34, test=0.34)
print("started", flush=True)
sr.models.ItemCF(window=0).fit(train)
print("finished", flush=True)
"""

RANK_EXAMPLES = """
rng = np.random.default_rng(0)
num_items = 100_000
store = store_of(list(rng.integers(0, num_items, (200_000, 6))), num_items)
model = _core.ItemCF(_core.ItemCFConfig(), num_items)
model.fit(store)
begin = np.repeat(np.arange(200_000) * 6, 5)
end = begin + np.tile(np.arange(1, 6), 200_000)
examples = _core.ExampleSet(begin, end, np.repeat(np.arange(200_000), 5))
print("started", flush=True)
_core.rank_examples(model, store, examples, "pessimistic", False, 32 << 20)  # one call
print("finished", flush=True)
"""

SESSION_KNN_SCORING = """
rng = np.random.default_rng(0)
num_items, sessions, length = 300, 300_000, 10
store = store_of(list(rng.integers(0, num_items, (sessions, length))), num_items)
ds = sr.Dataset("many", store, _core.Catalog([str(i) for i in range(num_items)]))
train, _, _ = ds.split("time", valid=0.01, test=0.01)
model = sr.models.SessionKNN(sample_size=0).fit(train)  # every session sharing an item
histories = [rng.integers(0, num_items, 50) for _ in range(3000)]
print("started", flush=True)
model.score(histories)  # one C++ call: tens of milliseconds per row
print("finished", flush=True)
"""


ITEMCF_SPARSE_TOP_K = """
rng = np.random.default_rng(0)
num_items = 20_000
store = store_of(list(rng.integers(0, num_items, (100_000, 20))), num_items)
model = _core.ItemCF(_core.ItemCFConfig(), num_items)
model.fit(store)
ranking = _core.ItemCFSparseRanking(model)
rows = 2_000_000  # 50-item histories: about a minute uninterrupted on 2 cores, one call
items = rng.integers(0, num_items, 4_000_000).astype(np.int32)
begin = rng.integers(0, 4_000_000 - 50, rows).astype(np.int64)
print("started", flush=True)
ranking.top_k(items, begin, begin + 50, 20, True)
print("finished", flush=True)
"""

def interrupt(body: str) -> tuple[float, str]:
    """Run SETUP + body, SIGINT it a second after it prints "started"; (seconds to exit, stderr)."""
    script = SETUP + textwrap.dedent(body)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.strip() == "started", process.stderr.read()
        time.sleep(1.0)
        sent = time.monotonic()
        process.send_signal(signal.SIGINT)
        try:
            _, stderr = process.communicate(timeout=DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {DEADLINE_SECONDS} s after Ctrl-C")
        return time.monotonic() - sent, stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_itemcf_build_on_a_huge_session_stops_on_ctrl_c():
    _, stderr = interrupt(ITEMCF_BUILD)
    assert stderr.rstrip().endswith("KeyboardInterrupt"), stderr[-2000:]


def test_session_knn_scoring_stops_on_ctrl_c():
    _, stderr = interrupt(SESSION_KNN_SCORING)
    assert stderr.rstrip().endswith("KeyboardInterrupt"), stderr[-2000:]


def test_blocked_ranking_stops_on_ctrl_c():
    _, stderr = interrupt(RANK_EXAMPLES)
    assert stderr.rstrip().endswith("KeyboardInterrupt"), stderr[-2000:]


def test_itemcf_sparse_top_k_stops_on_ctrl_c():
    _, stderr = interrupt(ITEMCF_SPARSE_TOP_K)
    assert stderr.rstrip().endswith("KeyboardInterrupt"), stderr[-2000:]

