"""This machine's processes: the CPUs a process may use, quiet copies of this process that end with
it, and independent pieces of work shared out among such copies. Plain ``os``, ``ctypes`` and
``pickle``: importable from any floor of the package without loading a library (the command line
reads the CPUs before anything heavy is imported)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import select
import signal
import sys
import time
from typing import Any, Callable

_PR_SET_PDEATHSIG = 1
# How long share_out waits for a copy once its own tasks are done: this many times what they took, and
# at least MIN_WAIT_SECONDS. A copy still silent then is taken for hung (a lock held across the fork
# by another thread, say): it is ended and its tasks are computed here. Copies do as much work as this
# process, so only a hang (or a machine that starves one process for minutes) reaches the limit.
WAIT_FACTOR = 10.0
MIN_WAIT_SECONDS = 60.0


def available_cores() -> int:
    """The CPUs this process may run on (its affinity where the system has one)."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def die_with_parent() -> None:
    """Ask Linux to end this process when the one that started it ends (killed, or crashed): a forked
    copy of a run, or a pool's worker, is no use without it. Nothing elsewhere."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def can_fork() -> bool:
    """Whether copies of this process can be made here (Linux: ``fork``)."""
    return sys.platform.startswith("linux")


def fork_copy() -> int:
    """Fork a quiet copy of this process: 0 in the copy, its pid in this one.

    The copy ends when this process ends (:func:`die_with_parent`), or at once if this one has already
    gone; it writes nothing to the terminal (what is buffered is flushed first, so it cannot write it
    again). A copy must end with ``os._exit``. Raises ``OSError`` if no process can be had."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    first = os.getpid()
    # Ctrl-C waits until each process is ready for it: the copy inside the guard below, which ends
    # it (a copy must never return to its caller's code, whose next step is this process's).
    interrupts = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        pid = os.fork()
    finally:
        if os.getpid() == first:
            signal.pthread_sigmask(signal.SIG_SETMASK, interrupts)
    if pid == 0:
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, interrupts)
            die_with_parent()
            if os.getppid() != first:  # the first process ended before the request above was made
                os._exit(0)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            os.close(devnull)
            sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (the copy ends with os._exit)
        except BaseException:  # noqa: BLE001 (no file descriptor left, an interrupt: the copy ends)
            os._exit(1)
    return pid


def share_out(tasks: list[Callable[[], Any]], cores: int = 1) -> list[Any]:
    """Each task's value, in order, computed on up to ``cores`` processes: this one and forked copies
    (Linux), each taking every ``cores``-th task, which send their values back pickled through a pipe.

    The tasks must be independent and their values picklable; a copy sees this process's memory as
    it was at the fork, so what the tasks share is best computed before. A copy that fails or dies
    changes nothing but time: its tasks are computed here again (and raise here, if they raise); so
    does a copy that hangs (silent for :data:`WAIT_FACTOR` times this process's own share of the work,
    and at least :data:`MIN_WAIT_SECONDS`), which is ended."""
    cores = max(1, min(cores, available_cores(), len(tasks))) if can_fork() else 1
    copies: list[tuple[int, int, list[int]]] = []  # (pid, read end, task indexes)
    try:
        try:
            for index in range(1, cores):
                mine = list(range(index, len(tasks), cores))
                copies.append((*_fork_tasks(tasks, mine), mine))
        except OSError:  # no process or pipe to be had: the tasks not yet handed out are done here
            pass
        handed = {k for _pid, _read, mine in copies for k in mine}
        began = time.monotonic()
        values: dict[int, Any] = {k: tasks[k]() for k in range(len(tasks)) if k not in handed}
        deadline = time.monotonic() + max(MIN_WAIT_SECONDS, WAIT_FACTOR * (time.monotonic() - began))
        for pid, read, mine in copies:
            got = _receive(read, deadline)
            for k in mine:
                values[k] = got[k] if k in got else tasks[k]()
    finally:
        for pid, read, _mine in copies:
            end_copy(pid, read)
    return [values[k] for k in range(len(tasks))]


def _fork_tasks(tasks: list[Callable[[], Any]], mine: list[int]) -> tuple[int, int]:
    read, write = os.pipe()
    try:
        pid = fork_copy()
    except OSError:
        os.close(read)
        os.close(write)
        raise
    if pid == 0:
        try:
            os.close(read)
            payload = pickle.dumps({k: tasks[k]() for k in mine}, protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write, "wb") as stream:
                stream.write(payload)
        finally:
            os._exit(0)
    os.close(write)
    return pid, read


def _receive(read: int, deadline: float) -> dict[int, Any]:
    """What a copy sent (all of it, or nothing if it failed, or had not finished sending by
    ``deadline``, a ``time.monotonic()``)."""
    chunks = []
    while True:
        if not readable(read, deadline):
            return {}  # silent too long: taken for hung (the caller ends it)
        chunk = os.read(read, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    try:
        return pickle.loads(b"".join(chunks))
    except Exception:  # noqa: BLE001 (a copy that failed sent nothing, or half)
        return {}


def readable(fd: int, deadline: float) -> bool:
    """Wait until ``fd`` can be read (data, or the other end closed) or ``deadline`` (a
    ``time.monotonic()``) passes; False if it passed first."""
    waiting = select.poll()
    waiting.register(fd, select.POLLIN)
    return bool(waiting.poll(max(0, int((deadline - time.monotonic()) * 1000))))


def end_copy(pid: int, *fds: int) -> None:
    """Close this process's ends of a copy's pipes (``fds``), end the copy if it has not ended, and reap it."""
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
