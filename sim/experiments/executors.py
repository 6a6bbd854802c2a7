"""Where sweep runs execute: in this process, a local process pool, or a Dask cluster.

All three are ``concurrent.futures`` executors (Dask's through ``Client.get_executor()``), so the
sweep driver has one code path whatever the backend.
"""

from __future__ import annotations

import os
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Iterator

from ..errors import UserError


class InlineExecutor(Executor):
    """Runs each task at once, in this process (one worker, nothing to spawn)."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # handed to the caller through the future, like a pool would
            future.set_exception(error)
        return future


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


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
        with ProcessPoolExecutor(max_workers=workers) as pool:
            yield pool, workers
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - a dependency of the package
        raise UserError("--dask needs the 'distributed' package: pip install distributed") from None
    if dask == "local":
        cluster = LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=40)
        client = Client(cluster)
    else:
        cluster = None
        try:
            client = Client(dask, timeout="10s")
        except OSError as error:
            raise UserError(f"--dask {dask}: cannot reach a Dask scheduler there ({error})") from None
    try:
        count = len(client.scheduler_info().get("workers", {})) or (workers or 1)
        yield client.get_executor(), count
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
