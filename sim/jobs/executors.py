"""Where the runs of sweeps and calibrations execute: in this process, a local process pool, or a Dask cluster.

All three are ``concurrent.futures`` executors (Dask's through ``Client.get_executor()``), so the
drivers have one code path whatever the backend.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.context
import multiprocessing.forkserver
import re
import signal
import threading
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Iterator

from ..errors import UserError
from ..processes import available_cores, die_with_parent


class InlineExecutor(Executor):
    """Runs each task at once, in this process (one worker, nothing to spawn)."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # handed to the caller through the future, like a pool would
            future.set_exception(error)
        return future


def _process_context() -> multiprocessing.context.BaseContext:
    """Start workers from a fork server that has already imported the model.

    An explicit context, because importing Mesa 3.3 sets the process-wide start method to
    ``spawn`` (``mesa/batchrunner.py``), which made every worker start a fresh interpreter and
    import everything again. A fork server forks workers from one clean process with ``sim``
    preloaded: fast, and without the hazards of forking a parent that runs threads.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # The server's own ending with this process, then the worker side and the model it runs.
    context.set_forkserver_preload(["sim.jobs.pool_server", "sim.jobs.runs"])
    # Started with Ctrl-C ignored (inherited, and kept by the workers it forks): the first process
    # alone answers an interrupt, and ends the workers (stop_workers). Else Ctrl-C while the server
    # imports the model printed its traceback, and each worker's run raised one of its own.
    with _interrupts_ignored():
        multiprocessing.forkserver.ensure_running()
    return context


def stop_workers(pool: ProcessPoolExecutor) -> None:
    """End a local pool's workers now (interrupted, or failed): leaving the pool would otherwise wait
    for every run a worker has started or taken from the queue, seconds to minutes. Python 3.14's
    ``terminate_workers`` does this; 3.11's pool keeps its processes in ``_processes``. The pool then
    fails what is left (``BrokenProcessPool``); a future cancelled before that would make 3.11's pool
    fail on it instead (``InvalidStateError`` in its thread), so callers leave them to it."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # gone once shut down
    for process in processes:
        with contextlib.suppress(Exception):
            process.kill()
    pool.shutdown(wait=False)


def default_workers() -> int:
    return available_cores()


MAX_LOCAL_WORKERS = 256


def check_workers(workers: int | None, dask: str | None) -> None:
    """Worker processes on this machine are bounded (a cluster is for more); one line if not."""
    if workers is not None and dask is None and workers > MAX_LOCAL_WORKERS:
        raise UserError(f"--workers {workers}: at most {MAX_LOCAL_WORKERS} worker processes on one machine "
                        f"(this one has {default_workers()} CPUs); use --dask with a cluster for more")


CONNECT_TIMEOUT = "5s"  # a scheduler answers in milliseconds; a wrong address should not keep the user waiting
ADDRESS = re.compile(r"^(?:(?:tcp|tls|ws|wss|ucx)://)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}))"
                     r":(?P<port>[0-9]{1,5})/?$")


def check_address(address: str) -> None:
    """A Dask scheduler address looks like ``tcp://HOST:PORT`` (or ``local``); one line if not."""
    found = ADDRESS.match(address)
    if found is None or not 1 <= int(found["port"]) <= 65535:
        raise UserError(f"--dask {address[:80]}: not a scheduler address; give 'local' or one like "
                        "tcp://10.0.0.5:8786 (host and port 1-65535)")


# Worker processes start by importing the script that made them (forkserver, like spawn); a script
# that starts a job at its top level would start it again in each of them.
UNGUARDED = ("worker processes import the script that starts the job: in a script, call what starts it (sim.sweep, "
             "sim.compare with cores, say) from under 'if __name__ == \"__main__\":' (or run it in one process: "
             "workers=1, or cores=1 for sim.compare)")


@contextmanager
def _interrupts_ignored() -> Iterator[None]:
    """Ignore Ctrl-C while worker processes start, so that they ignore it too (a process started with
    SIGINT ignored keeps it so: Python installs no KeyboardInterrupt handler), then handle it again here.
    Without it each Dask worker printed its own traceback before the command's one line."""
    if threading.current_thread() is not threading.main_thread():  # signals are the main thread's
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def executor(workers: int | None = None, dask: str | None = None) -> Iterator[tuple[Executor, int]]:
    """An executor and its number of workers.

    ``dask`` is ``None`` (local processes), ``"local"`` (start a Dask LocalCluster with ``workers``
    single-threaded worker processes) or a scheduler address such as ``tcp://10.0.0.5:8786``.
    """
    if dask is None:
        workers = workers or default_workers()
        if workers == 1:
            yield InlineExecutor(), 1
            return
        if getattr(multiprocessing.current_process(), "_inheriting", False):  # a worker still importing its
            raise UserError(UNGUARDED)  # parent's script, which starts the job again at its top level
        try:
            with ProcessPoolExecutor(max_workers=workers, mp_context=_process_context(),
                                     initializer=die_with_parent) as pool:
                try:
                    yield pool, workers
                except BaseException:
                    stop_workers(pool)
                    raise
        except BrokenProcessPool:
            raise UserError("a worker process died (killed, out of memory, or it failed to start: see any lines above)"
                            ) from None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - a dependency of the package
        raise UserError("--dask needs the 'distributed' package: pip install distributed") from None
    if dask == "local":
        with _interrupts_ignored():  # the workers inherit it: Ctrl-C is this process's to handle (it closes them)
            cluster = LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=40)
        client = Client(cluster)
    else:
        cluster = None
        check_address(dask)
        try:
            client = Client(dask, timeout=CONNECT_TIMEOUT)
        except Exception as error:  # noqa: BLE001 - OSError, TimeoutError, ValueError...: one line, whatever it is
            reason = str(error).splitlines()[0][:120] if str(error) else type(error).__name__
            raise UserError(f"--dask {dask}: cannot reach a Dask scheduler there ({reason}); start one with "
                            "'dask scheduler', or use --dask local") from None
    try:
        count = len(client.scheduler_info().get("workers", {})) or (workers or 1)
        yield client.get_executor(), count
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
