"""The process-wide default for progress bars.

Every ``progress=`` argument of sessrec defaults to None, which means "as set here";
``sr.set_progress(False)`` silences the bars of every fit, evaluation and ranking that is not
given ``progress=True`` explicitly (experiment runs and searches, logs in files, CI). The
starting value is True unless the environment variable ``SESSREC_PROGRESS`` is ``0``.
"""

from __future__ import annotations

import os
from typing import Optional

_enabled = os.environ.get("SESSREC_PROGRESS", "1").strip().lower() not in ("0", "false", "no")


def set_progress(enabled: bool) -> None:
    """Show (True) or hide (False) progress bars wherever ``progress=`` is left at None."""
    global _enabled
    if not isinstance(enabled, (bool, int)):
        raise TypeError(f"set_progress expects True or False, got {enabled!r}")
    _enabled = bool(enabled)


def get_progress() -> bool:
    return _enabled


def show_progress(progress: Optional[bool]) -> bool:
    """Whether to draw a bar: ``progress`` when given, else the process-wide setting."""
    return _enabled if progress is None else bool(progress)
