"""Run a sweep: every design point over common seeds, resumable, on any executor.

Seeds flow downward from the sweep's seed: replicate r of every point uses the same seed, so
points differ only by their parameters (common random numbers) and results do not depend on how
many workers ran them or in which order they finished.
"""

from __future__ import annotations

import itertools
import math
import time
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from ..errors import Interrupted, UserError
from ..results import package_version, replace_atomically, scenario_hash
from ..run import run
from ..scenario import Scenario
from ..scenario.loader import override
from . import sensitivity
from .designs import sample
from .executors import default_workers, executor
from .folders import claim, hold, model_version, update_manifest, warn
from .outcomes import outcome_value
from .replicates import replicate_seeds
from .store import RunStore, run_key
from .sweepfile import Outcome, Sweep, check_drawn, load_sweep

RUNS, SENSITIVITY, MANIFEST, STORE, REPORT = "runs.parquet", "sensitivity.parquet", "manifest.json", "store", "report.html"
DEFAULT_FOLDER = Path("reports") / "sweeps"
CONTENTS = (RUNS, SENSITIVITY, STORE, REPORT)  # what a sweep folder holds, beside its manifest
MAX_LOCAL_WORKERS = 256


def run_chunk(base: dict[str, Any], outcomes: dict[str, dict], tasks: list[dict]) -> list[dict]:
    """Worker side: run a few tasks and return plain rows (never model objects).

    A run that raises is recorded with its error; the others go on.
    """
    scenario = Scenario.model_validate(base)
    specs = {name: Outcome.model_validate(spec) for name, spec in outcomes.items()}
    rows = []
    for task in tasks:
        started = time.perf_counter()
        try:
            result = run(override(scenario, task["overrides"], "sweep"), seed=task["seed"])
            values = {name: outcome_value(result.timeseries, spec) for name, spec in specs.items()}
            error, simulated = None, result.manifest["run_seconds"]
        except Exception as exc:  # noqa: BLE001 - recorded with the run, reported at the end
            values, error, simulated = {name: float("nan") for name in specs}, f"{type(exc).__name__}: {exc}", 0.0
        rows.append({**task, "outcomes": values, "error": error, "seconds": time.perf_counter() - started,
                     "simulation_seconds": simulated})
    return rows


@dataclass
class SweepResult:
    folder: Path
    runs: pd.DataFrame
    sensitivity: pd.DataFrame
    failures: int
    notes: list[str]


def _tasks(sweep: Sweep, base: Scenario, points: pd.DataFrame) -> Iterator[dict]:
    """The sweep's runs in design order (point-major), made one at a time as they are needed."""
    seeds, base_hash, names = replicate_seeds(sweep.seed, sweep.replicates), scenario_hash(base), list(sweep.parameters)
    for point, *values in zip(points["point"], *(points[name] for name in names)):
        overrides = {name: _plain(value) for name, value in zip(names, values)}
        for replicate, seed in enumerate(seeds):
            yield {"key": run_key(base_hash, overrides, seed), "point": int(point), "replicate": replicate,
                   "seed": seed, "overrides": overrides}


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def check_workers(workers: int | None, dask: str | None) -> None:
    """Worker processes on this machine are bounded (a cluster is for more); one line if not."""
    if workers is not None and dask is None and workers > MAX_LOCAL_WORKERS:
        raise UserError(f"--workers {workers}: at most {MAX_LOCAL_WORKERS} worker processes on one machine "
                        f"(this one has {default_workers()} CPUs); use --dask with a cluster for more")


def run_sweep(path: str | Path, workers: int | None = None, dask: str | None = None, out: str | Path | None = None,
              progress: bool = True) -> SweepResult:
    """Run (or finish) a sweep; returns its runs, one row per run, and its sensitivity indices.

    Everything that can be refused is refused before the folder is touched: the file (its size
    against :data:`~sim.experiments.sweepfile.MAX_RUNS` first, before anything is sampled), the
    values the design drew, the workers, the Dask address (connected to first), and the folder.
    """
    sweep, base = load_sweep(path)
    folder = Path(out) if out is not None else DEFAULT_FOLDER / sweep.name
    check_workers(workers, dask)
    points = sample(sweep)
    check_drawn(path, sweep, base, points)
    fingerprint = sweep.fingerprint(base)
    with executor(workers, dask) as (pool, count):  # a bad --dask address fails here, before the folder
        claim(folder, "sweep", {"fingerprint": fingerprint, "sweep": sweep.model_dump(mode="json"), "file": str(path)},
              CONTENTS, "results of a different sweep (the design, parameters, outcomes, seed or base scenario "
              "changed since it started)")
        with hold(folder):
            store = RunStore(folder / STORE)
            done = store.finished(outcomes=list(sweep.outcomes))
            warn(store.damaged)
            total = sweep.runs
            remaining = sum(task["key"] not in done for task in _tasks(sweep, base, points))
            started = time.perf_counter()
            if remaining:
                pending = (task for task in _tasks(sweep, base, points) if task["key"] not in done)
                _execute(sweep, base, pending, remaining, store, pool, count, progress, already=total - remaining)
            return _finish(sweep, base, folder, store, points, fingerprint, time.perf_counter() - started)


def _execute(sweep: Sweep, base: Scenario, pending: Iterator[dict], remaining: int, store: RunStore, pool, count: int,
             progress: bool, already: int) -> None:
    from tqdm import tqdm

    base_json = base.model_dump(mode="json")
    outcomes = {name: spec.model_dump(mode="json") for name, spec in sweep.outcomes.items()}
    bar = tqdm(total=already + remaining, initial=already, unit="run", disable=not progress or None,
               desc=sweep.name)
    failures = 0
    size = max(1, min(8, math.ceil(remaining / (count * 8))))
    chunks = iter(lambda: list(itertools.islice(pending, size)), [])  # made as they are sent, never all at once
    # A bounded window of chunks in flight: results reach the store as they finish (an inline
    # executor runs one chunk at a time), and an interrupt leaves little work unsaved.
    futures: set = set()
    try:
        while True:
            while len(futures) < 2 * count and (chunk := next(chunks, None)) is not None:
                futures.add(pool.submit(run_chunk, base_json, outcomes, chunk))
            if not futures:
                break
            finished, futures = wait(futures, return_when=FIRST_COMPLETED)
            for future in finished:
                rows = future.result()
                for row in rows:
                    store.put(row)
                    failures += row["error"] is not None
                bar.update(len(rows))
                bar.set_postfix(failures=failures)
    except KeyboardInterrupt:
        for future in futures:
            future.cancel()
        raise Interrupted(f"interrupted: finished runs are kept in {store.folder}; run the same command "
                          "again to finish the sweep") from None
    finally:
        bar.close()


def _finish(sweep: Sweep, base: Scenario, folder: Path, store: RunStore, points: pd.DataFrame,
            fingerprint: str, seconds: float) -> SweepResult:
    rows, simulated, names = [], 0.0, list(sweep.outcomes)
    for task in _tasks(sweep, base, points):
        record = store.get(task["key"], names)
        if record is None:
            warn(store.damaged)
            raise UserError(f"{folder}: the record of run {task['key']} was lost while the sweep ran; run the same "
                            "command again to run it")
        row = {"point": task["point"], "replicate": task["replicate"], "seed": task["seed"], "key": task["key"]}
        row.update(task["overrides"])
        row.update(record["outcomes"])
        row["error"] = record["error"]
        rows.append(row)
        simulated += record.get("simulation_seconds", record.get("seconds", 0.0))
    runs = pd.DataFrame(rows)
    means = runs.groupby("point", sort=True)[names].mean()
    indices, notes = sensitivity.analyze(sweep, points, means, sweep.seed)
    failures = int(runs["error"].notna().sum())
    manifest = {
        "fingerprint": fingerprint, "sweep": sweep.model_dump(mode="json"), "base_scenario": base.model_dump(mode="json"),
        "base_scenario_hash": scenario_hash(base), "seeds": replicate_seeds(sweep.seed, sweep.replicates),
        "points": len(points), "runs": len(runs), "failures": failures, "notes": notes,
        "package_version": package_version(), "model_version": model_version(), "status": "complete",
        "simulation_seconds": round(simulated, 3), "wall_seconds_last_session": round(seconds, 3),
    }
    from ..report.sweep import build_sweep_report

    replace_atomically(folder / RUNS, lambda path: runs.to_parquet(path, index=False, compression="zstd"))
    replace_atomically(folder / SENSITIVITY, lambda path: indices.to_parquet(path, index=False, compression="zstd"))
    build_sweep_report(sweep, runs, indices, manifest).write(folder / REPORT)
    update_manifest(folder, manifest, "sweep")  # last: until it says complete, the folder is resumable
    return SweepResult(folder, runs, indices, failures, notes)


def sweep(path: str | Path, workers: int | None = None, dask: str | None = None, out: str | Path | None = None,
          progress: bool = False) -> pd.DataFrame:
    """Run a sweep from Python (a notebook, say) and return its runs as a DataFrame."""
    return run_sweep(path, workers=workers, dask=dask, out=out, progress=progress).runs
