"""This machine's processes: the CPUs a process may use, and copies that end with the process that
made them. Plain ``os`` and ``ctypes``: importable from any floor of the package without loading a
library (the command line reads the CPUs before anything heavy is imported)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal

_PR_SET_PDEATHSIG = 1


def available_cores() -> int:
    """The CPUs this process may run on (its affinity where the system has one)."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def die_with_parent() -> None:
    """Ask Linux to end this process when the one that started it ends (killed, or crashed): a forked
    copy of a run, or a pool's worker, is no use without it. Nothing elsewhere."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
