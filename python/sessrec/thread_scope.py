"""Thread counts scoped to a block of code instead of set for the whole process.

OpenMP (libgomp) keeps the thread count per calling thread once it is set, so
:func:`threads` changes it for the Python thread that enters the block and puts the previous
value back when the block ends, even on an exception. A model's ``threads=`` parameter runs its
own ``fit``, ``score``, ``recommend`` and ``rank`` calls in such a block; two searches' trials
running in two Python threads each keep their own count.
"""

from __future__ import annotations

import functools
import numbers
from contextlib import contextmanager
from typing import Optional

from . import _core


def _check(n) -> Optional[int]:
    if n is None or (isinstance(n, numbers.Integral) and not isinstance(n, bool) and n == 0):
        return None  # 0 / None: leave the count as it is
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"threads must be a positive integer (or 0/None: unchanged), got {n!r}")
    return int(n)


@contextmanager
def threads(n: Optional[int]):
    """``with sr.threads(2): ...`` runs the block with ``n`` OpenMP threads and restores the
    previous count after it. ``n`` None or 0 leaves the count unchanged."""
    n = _check(n)
    if n is None:
        yield _core.get_num_threads()
        return
    before = _core.get_num_threads()
    _core.set_num_threads(n)
    try:
        yield n
    finally:
        _core.set_num_threads(before)


def with_model_threads(method):
    """Run a model method inside ``threads(model.params["threads"])``."""

    if getattr(method, "thread_scoped", False):
        return method

    @functools.wraps(method)
    def scoped(self, *args, **kwargs):
        with threads(self.params.get("threads")):
            return method(self, *args, **kwargs)

    scoped.thread_scoped = True
    return scoped
