"""Running a job's tasks: the worker side (a scenario with overrides and a seed, read into plain
numbers) and the driver loop that keeps a bounded window of chunks in flight and stores each
finished run as it arrives.

A task is a plain dict with at least ``overrides`` (dotted scenario paths to values) and ``seed``;
whatever else it carries (a sweep's point and replicate, its store key) comes back in its row.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import Interrupted
from ..results import Result
from ..run import run
from ..scenario import Scenario
from ..scenario.changes import override


class Reader(Protocol):
    """What a job reads from one run: a number for each of ``names`` (picklable, for workers)."""

    names: list[str]

    def __call__(self, result: Result) -> dict[str, float]: ...


@dataclass(frozen=True)
class Runs:
    """The runs of one job: its base scenario (as JSON), what it reads from each run, and the name
    its overrides go by in error messages ("sweep", "calibration")."""

    base: dict[str, Any]
    read: Reader
    source: str

    def submit(self, pool: Executor, tasks: list[dict]) -> Future:
        """Run ``tasks`` on ``pool``; the future's result is their rows (see :func:`run_tasks`)."""
        return pool.submit(run_tasks, self, tasks)


def run_tasks(runs: Runs, tasks: list[dict]) -> list[dict]:
    """Worker side: run a few tasks and return plain rows (never model objects).

    Each row is the task with ``outcomes`` (what :attr:`Runs.read` read, NaN where the run failed),
    ``error`` (None, or the exception in one line), ``seconds`` and ``simulation_seconds``. A run
    that raises is recorded with its error; the others go on.
    """
    scenario = Scenario.model_validate(runs.base)
    rows = []
    for task in tasks:
        started = time.perf_counter()
        try:
            result = run(override(scenario, task["overrides"], runs.source), seed=task["seed"])
            values, error, simulated = runs.read(result), None, result.manifest["run_seconds"]
        except Exception as exc:  # noqa: BLE001 - recorded with the run, reported by the job
            values, simulated = {name: float("nan") for name in runs.read.names}, 0.0
            error = f"{type(exc).__name__}: {exc}"
        rows.append({**task, "outcomes": values, "error": error, "seconds": time.perf_counter() - started,
                     "simulation_seconds": simulated})
    return rows


def execute(runs: Runs, pending: Iterator[dict], remaining: int, keep: Callable[[dict], None], pool: Executor,
            count: int, bar, interrupted: str) -> int:
    """Run the ``remaining`` tasks of ``pending`` on ``pool`` (``count`` workers), handing each
    finished row to ``keep`` as it arrives; returns how many failed.

    Tasks are cut into chunks as they are sent, never all at once, and at most two chunks a worker
    are in flight, so rows are kept as they finish (an inline executor runs one chunk at a time)
    and an interrupt leaves little work unsaved: it cancels the rest and raises
    :class:`~sim.errors.Interrupted` with the message ``interrupted``.
    """
    failures = 0
    size = max(1, min(8, math.ceil(remaining / (count * 8))))
    chunks = iter(lambda: list(itertools.islice(pending, size)), [])
    futures: set = set()
    try:
        while True:
            while len(futures) < 2 * count and (chunk := next(chunks, None)) is not None:
                futures.add(runs.submit(pool, chunk))
            if not futures:
                return failures
            finished, futures = wait(futures, return_when=FIRST_COMPLETED)
            for future in finished:
                rows = future.result()
                for row in rows:
                    keep(row)
                    failures += row["error"] is not None
                bar.update(len(rows))
                bar.set_postfix(failures=failures)
    except KeyboardInterrupt:
        if not isinstance(pool, ProcessPoolExecutor):  # a local pool's workers are ended, queue and all
            for future in futures:  # (sim.jobs.executors.stop_workers); a cluster's tasks are cancelled
                future.cancel()
        raise Interrupted(interrupted) from None
