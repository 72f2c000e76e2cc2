"""sessrec: session-based next-item recommendation with item IDs and item text.

    import sessrec as sr
    ds = sr.datasets.load("online_retail")
    train, valid, test = ds.split("time", valid=0.1, test=0.1)
    model = sr.models.ItemCF().fit(train)
    print(sr.evaluate(model, test, k=(10, 20)))
"""

import os

# OpenMP threads that finish a parallel region spin for a while before they sleep (libgomp:
# up to ~300,000 polls, far longer under OMP_WAIT_POLICY=ACTIVE). One process on an idle
# machine gains a little from that; several sessrec processes on one machine (parallel search
# trials, a benchmark beside a test run) each burn the cores the others need. PASSIVE makes
# idle threads sleep at once. It must be set before the OpenMP runtime starts, i.e. before
# _core is imported; a value the user set is kept. Measured 2026-12-02 on a 2-core machine
# with other jobs running (load ~5): two processes at once, each fitting a 2-thread SASRec
# (2 epochs, 6,000 synthetic sessions), evaluating it and building an ItemCF, took 11.3-12.0 s
# each with libgomp's default wait and 0.6-0.8 s with PASSIVE (4 pairs each); one process
# alone took 0.57-0.69 s against 0.61-0.64 s.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from . import _core, datasets, models, pickling, tasks, text  # noqa: E402
from .dataset import Dataset, SessionSet
from .evaluation import compare, evaluate
from .models import load
from .models.training_log import RunLog, TrainingDiverged
from .progress import get_progress, set_progress
from .search_study import search
from .serving import SessionArrays
from .thread_scope import threads
from .plots import plot_alterrec_curves, plot_feature_importances, plot_long_tail
from .representation import alignment_uniformity
from .task_metrics import classification_metrics, regression_metrics

__version__ = "0.1.0"

pickling.register()  # Datasets, SessionSets and models pickle and deep-copy


def set_num_threads(n: int) -> None:
    """Threads used by the C++ core (OpenMP).

    What depends on it: POP, ItemCF and session-kNN (V-SKNN) fit and score bitwise identically
    whatever the thread count. Neural models (GRU4Rec, SASRec, MeanPool, the text towers,
    NFRec, AlterRec) are bitwise identical for the same seed *and* the same thread count; across
    thread counts their floating-point sums are split differently, so weights and scores differ
    by rounding. Measured on online_retail (dim 32, 2 epochs, 500 test sessions): trained and
    scored at 1 vs 2 threads, scores differed by at most 3.8e-6 for GRU4Rec, 1.2e-6 for SASRec
    and 1.2e-7 for MeanPool (relative to the largest score: under 5e-7); the same weights scored
    at 1 vs 2 threads differed by at most 4.8e-7. The top-20 lists were the same for all 200
    sessions compared, but items whose scores nearly tie can swap ranks, so evaluation metrics
    can move in their last digits. Fix the thread count (or ``threads=`` of a neural model) to
    reproduce a run exactly. (The figures were measured before the linear layers moved to oneDNN
    and attention to matrix products, 2026-12-02; tests/python/test_threads.py checks the
    guarantees, not these figures.)

    The count belongs to the calling Python thread (OpenMP keeps it per thread): another thread
    keeps its own. A model's ``threads=`` and ``with sr.threads(n):`` change it only for a call
    or a block and put it back afterwards."""
    _core.set_num_threads(int(n))


def set_matmul_precision(precision: str) -> None:
    """The precision of the neural layers' matrix products, process-wide: "float32" (default)
    or "bfloat16" (inputs rounded to bfloat16, float32 accumulation; on CPUs with AMX several
    times faster: BERT-mini text-encoder training, 128 token lists of 16-64 tokens per step, ran
    1.55x faster than float32 on one core of an Intel Xeon with AMX). Losses
    follow the float32 ones closely but not bit for bit; needs sessrec built with oneDNN
    (``make`` installs libdnnl-dev). See bench/RESULTS.md, "Text encoder training vs PyTorch"."""
    _core.set_matmul_precision(precision)


def get_matmul_precision() -> str:
    return _core.matmul_precision()


def get_num_threads() -> int:
    return _core.get_num_threads()


def set_memory_budget(budget) -> None:
    """The most memory one request may ask for at once: a score matrix (``score``,
    ``recommend_batch``, a block of ``evaluate``), a parameter table with its gradient and Adam
    moments (a full-softmax model over a huge catalogue), a training batch, an array read from a
    file. A request over it raises ValueError before allocating, naming what needed how much.
    ``budget`` is bytes or a string such as ``"16G"`` or ``"512M"``; 0 turns the checks off. The
    default is the environment variable ``SESSREC_MEMORY_BUDGET`` (same forms) or, without it,
    half of the machine's physical memory. Process-wide."""
    if isinstance(budget, str):
        budget = _core.parse_memory_size(budget, "set_memory_budget")
    _core.set_memory_budget(int(budget))


def get_memory_budget() -> int:
    """The memory budget in bytes (see :func:`set_memory_budget`)."""
    return _core.memory_budget()


__all__ = [
    "datasets",
    "models",
    "tasks",
    "text",
    "Dataset",
    "SessionSet",
    "evaluate",
    "compare",
    "load",
    "TrainingDiverged",
    "plot_long_tail",
    "plot_alterrec_curves",
    "plot_feature_importances",
    "classification_metrics",
    "regression_metrics",
    "alignment_uniformity",
    "set_num_threads",
    "get_num_threads",
    "set_matmul_precision",
    "set_memory_budget",
    "get_memory_budget",
    "get_matmul_precision",
    "set_progress",
    "get_progress",
    "threads",
    "RunLog",
    "search",
]
