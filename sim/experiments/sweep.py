"""Run a sweep: every design point over common seeds, resumable, on any executor.

Seeds flow downward from the sweep's seed: replicate r of every point uses the same seed, so
points differ only by their parameters (common random numbers) and results do not depend on how
many workers ran them or in which order they finished.
"""

from __future__ import annotations

import json
import math
import time
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import Interrupted, UserError
from ..results import package_version, replace_atomically, scenario_hash, write_json
from ..run import run
from ..scenario import Scenario
from ..scenario.loader import override
from . import sensitivity
from .designs import sample
from .executors import executor
from .outcomes import outcome_value
from .replicates import replicate_seeds
from .store import RunStore, run_key
from .sweepfile import Outcome, Sweep, load_sweep

RUNS, SENSITIVITY, MANIFEST, STORE, REPORT = "runs.parquet", "sensitivity.parquet", "manifest.json", "store", "report.html"
DEFAULT_FOLDER = Path("reports") / "sweeps"


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


def _tasks(sweep: Sweep, base: Scenario, points: pd.DataFrame) -> list[dict]:
    seeds, base_hash = replicate_seeds(sweep.seed, sweep.replicates), scenario_hash(base)
    tasks = []
    for _, point in points.iterrows():
        overrides = {name: _plain(point[name]) for name in sweep.parameters}
        for replicate, seed in enumerate(seeds):
            tasks.append({"key": run_key(base_hash, overrides, seed), "point": int(point["point"]),
                          "replicate": replicate, "seed": seed, "overrides": overrides})
    return tasks


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _claim_folder(folder: Path, fingerprint: str, sweep: Sweep, source: Path) -> None:
    manifest = folder / MANIFEST
    if manifest.is_file():
        started = json.loads(manifest.read_text(encoding="utf-8")).get("fingerprint")
        if started != fingerprint:
            raise UserError(
                f"{folder}: holds results of a different sweep (the design, parameters, outcomes, seed or base "
                f"scenario changed since it started); rerun with a new --out, or delete {folder} to start over"
            )
        return
    folder.mkdir(parents=True, exist_ok=True)
    write_json(manifest, {"fingerprint": fingerprint, "sweep": sweep.model_dump(mode="json"), "file": str(source),
                          "status": "running"})


def run_sweep(path: str | Path, workers: int | None = None, dask: str | None = None, out: str | Path | None = None,
              progress: bool = True) -> SweepResult:
    """Run (or finish) a sweep; returns its runs, one row per run, and its sensitivity indices."""
    sweep, base = load_sweep(path)
    folder = Path(out) if out is not None else DEFAULT_FOLDER / sweep.name
    fingerprint = sweep.fingerprint(base)
    _claim_folder(folder, fingerprint, sweep, Path(path))
    store = RunStore(folder / STORE)
    points = sample(sweep)
    tasks = _tasks(sweep, base, points)
    done = store.finished()
    pending = [task for task in tasks if task["key"] not in done]
    started = time.perf_counter()
    if pending:
        _execute(sweep, base, pending, store, workers, dask, progress, already=len(tasks) - len(pending))
    return _finish(sweep, base, folder, store, points, tasks, fingerprint, time.perf_counter() - started)


def _execute(sweep: Sweep, base: Scenario, pending: list[dict], store: RunStore, workers: int | None,
             dask: str | None, progress: bool, already: int) -> None:
    from tqdm import tqdm

    base_json = base.model_dump(mode="json")
    outcomes = {name: spec.model_dump(mode="json") for name, spec in sweep.outcomes.items()}
    bar = tqdm(total=already + len(pending), initial=already, unit="run", disable=not progress or None,
               desc=sweep.name)
    failures = 0
    with executor(workers, dask) as (pool, count):
        size = max(1, min(8, math.ceil(len(pending) / (count * 8))))
        chunks = iter([pending[i:i + size] for i in range(0, len(pending), size)])
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
            tasks: list[dict], fingerprint: str, seconds: float) -> SweepResult:
    records = [store.get(task["key"]) for task in tasks]
    rows = []
    for task, record in zip(tasks, records):
        row = {"point": task["point"], "replicate": task["replicate"], "seed": task["seed"], "key": task["key"]}
        row.update(task["overrides"])
        row.update(record["outcomes"])
        row["error"] = record["error"]
        rows.append(row)
    runs = pd.DataFrame(rows)
    means = runs.groupby("point", sort=True)[list(sweep.outcomes)].mean()
    indices, notes = sensitivity.analyze(sweep, points, means, sweep.seed)
    failures = int(runs["error"].notna().sum())
    simulated = sum(record.get("simulation_seconds", record["seconds"]) for record in records)
    manifest = {
        "fingerprint": fingerprint, "sweep": sweep.model_dump(mode="json"), "base_scenario": base.model_dump(mode="json"),
        "base_scenario_hash": scenario_hash(base), "seeds": replicate_seeds(sweep.seed, sweep.replicates),
        "points": len(points), "runs": len(runs), "failures": failures, "notes": notes,
        "package_version": package_version(), "status": "complete",
        "simulation_seconds": round(simulated, 3), "wall_seconds_last_session": round(seconds, 3),
    }
    from ..report.sweep import build_sweep_report

    replace_atomically(folder / RUNS, lambda path: runs.to_parquet(path, index=False, compression="zstd"))
    replace_atomically(folder / SENSITIVITY, lambda path: indices.to_parquet(path, index=False, compression="zstd"))
    build_sweep_report(sweep, runs, indices, manifest).write(folder / REPORT)
    replace_atomically(folder / MANIFEST, lambda path: write_json(path, manifest))
    return SweepResult(folder, runs, indices, failures, notes)


def sweep(path: str | Path, workers: int | None = None, dask: str | None = None, out: str | Path | None = None,
          progress: bool = False) -> pd.DataFrame:
    """Run a sweep from Python (a notebook, say) and return its runs as a DataFrame."""
    return run_sweep(path, workers=workers, dask=dask, out=out, progress=progress).runs
