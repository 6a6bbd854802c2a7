"""Run a sweep: every design point over common seeds, resumable, on any executor.

Seeds flow downward from the sweep's seed: replicate r of every point uses the same seed, so
points differ only by their parameters (common random numbers) and results do not depend on how
many workers ran them or in which order they finished.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Iterator

import numpy as np
import pandas as pd

from ..errors import UserError
from ..jobs.executors import check_workers, executor
from ..jobs.folders import claim, complete, hold, model_version, other_model, warn
from ..jobs.folders import fingerprint as folder_fingerprint
from ..jobs.outcomes import OutcomeValues
from ..jobs.runs import Runs, execute
from ..jobs.store import RunStore, run_key
from ..outputs import kind_of, read_manifest, unreadable_manifest
from ..results import replace_atomically, scenario_hash
from ..scenario import Scenario
from ..scenario.loader import DOCUMENT
from ..scenario.paths import DATED
from . import sensitivity
from .designs import checked_sample
from .replicates import replicate_seeds
from .posterior import (check_draws, check_posterior_given, describe, draw_changes, find_posterior, load_posterior,
                        own_keys)
from .sweepfile import MAX_RUNS, Sweep, SweepLike, base_file, dated, load_sweep, reset_notes

RUNS, SENSITIVITY, MANIFEST, STORE, REPORT = "runs.parquet", "sensitivity.parquet", "manifest.json", "store", "report.html"
DEFAULT_FOLDER = Path("reports") / "sweeps"
CONTENTS = (RUNS, SENSITIVITY, STORE, REPORT)  # what a sweep folder holds, beside its manifest


@dataclass
class SweepResult:
    folder: Path
    runs: pd.DataFrame
    sensitivity: pd.DataFrame
    failures: int
    notes: list[str]
    reused: dict[str, int] = field(default_factory=dict)  # runs taken from other sweeps' stores, by folder


def _tasks(sweep: Sweep, base: Scenario, points: pd.DataFrame, draws: list[dict] | None = None) -> Iterator[dict]:
    """The sweep's runs in design order (point-major; then draw-major over parameter draws, each
    draw's values under the point's), made one at a time as they are needed."""
    seeds, base_hash, keys = replicate_seeds(sweep.seed, sweep.replicates), scenario_hash(base), dated(sweep)
    for point, *values in zip(points["point"], *(points[name] for name in keys)):
        overrides = {keys[name]: _plain(value) for name, value in zip(keys, values)}
        for draw, drawn in enumerate(draws or [None]):
            changes = overrides if drawn is None else {**drawn, **overrides}
            for replicate, seed in enumerate(seeds):
                task = {"key": run_key(base_hash, changes, seed), "point": int(point), "replicate": replicate,
                        "seed": seed, "overrides": changes}
                yield task if drawn is None else {**task, "draw": draw}


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def run_sweep(path: SweepLike, workers: int | None = None, dask: str | None = None, out: str | Path | None = None,
              progress: bool = True, parameter_draws: int | None = None,
              posterior: str | Path | None = None, reuse: Sequence[str | Path] = ()) -> SweepResult:
    """Run (or finish) a sweep; returns its runs, one row per run, and its sensitivity indices.

    Everything that can be refused is refused before the folder is touched: the file (its size
    against :data:`~sim.experiments.sweepfile.MAX_RUNS` first, before anything is sampled), the
    values the design drew, the parameter draws and their posterior, the workers, the Dask address
    (connected to first), and the folder. With ``parameter_draws=K`` every point runs over K draws
    from the calibration's posterior (as ``compare`` does), each over the same seeds; a row's
    ``draw`` says which. ``reuse`` names other sweep folders (of the same model version and
    outcomes) whose stored runs this sweep needs too: they are copied, not run again.
    """
    check_posterior_given(posterior, parameter_draws)
    sweep, base = load_sweep(path)
    folder = Path(out) if out is not None else DEFAULT_FOLDER / sweep.name
    plan = None if parameter_draws is None else _plan_draws(path, sweep, base, parameter_draws, posterior)
    check_workers(workers, dask)
    points = checked_sample(path, sweep, base)
    sources = reusable(reuse, sweep, folder)
    warn(reset_notes(sweep, base))  # before the runs: a parameter the base's events set again varies little
    fingerprint = sweep.fingerprint(base)
    draws = None if plan is None else plan["values"]
    if plan is not None:  # a folder holds the runs of one set of draws
        fingerprint = folder_fingerprint({"sweep": fingerprint, "draws": plan["manifest"], "values": draws})
    with executor(workers, dask) as (pool, count):  # a bad --dask address fails here, before the folder
        file = DOCUMENT if isinstance(path, Mapping) else str(path)
        identity = {"fingerprint": fingerprint, "sweep": sweep.model_dump(mode="json"), "file": file}
        if plan is not None:
            identity["parameter_draws"] = plan["manifest"]
        claim(folder, "sweep", identity, CONTENTS, "results of a different sweep (the design, parameters, outcomes, "
              "seed, base scenario or parameter draws changed since it started)")
        with hold(folder):
            store = RunStore(folder / STORE)
            done = store.finished(outcomes=list(sweep.outcomes))
            warn(store.damaged)
            reused = adopt(sources, store, (task for task in _tasks(sweep, base, points, draws)
                                            if task["key"] not in done), list(sweep.outcomes), done)
            total = sweep.runs * len(draws or [None])
            remaining = sum(task["key"] not in done for task in _tasks(sweep, base, points, draws))
            started = time.perf_counter()
            if remaining:
                pending = (task for task in _tasks(sweep, base, points, draws) if task["key"] not in done)
                _execute(sweep, base, pending, remaining, store, pool, count, progress, already=total - remaining)
            result = _finish(sweep, base, folder, store, points, fingerprint, time.perf_counter() - started, plan)
            result.reused = reused
            return result


def reusable(folders: Iterable[str | Path], sweep: Sweep, out: Path) -> list[RunStore]:
    """The run stores of the sweep folders ``folders`` (``--reuse``), read only, each checked before
    any work: a sweep folder of retailsim's, not ``out`` itself, of this model version, recording
    every outcome of ``sweep`` as ``sweep`` defines it. A run's key names its base scenario, values
    and seed, so a stored run with this sweep's key is this sweep's run."""
    stores, outcomes = [], Sweep.model_dump(sweep, mode="json")["outcomes"]
    for folder in map(Path, [folders] if isinstance(folders, (str, Path)) else folders):
        option = f"--reuse {folder}"
        if not folder.is_dir():
            raise UserError(f"{option}: {'is not a folder' if folder.exists() else 'no such folder'}")
        kind = kind_of(folder)
        if kind != "sweep":
            found = unreadable_manifest(folder, "of a sweep") if kind is None else f"is retailsim's {kind} folder"
            raise UserError(f"{option}: {found}, not a sweep's; give a folder written by retailsim sweep")
        if out.exists() and os.path.samefile(folder, out):
            raise UserError(f"{option}: is the sweep's own folder (--out); its runs are resumed without --reuse")
        manifest = read_manifest(folder) or {}
        if (made := other_model(manifest)) is not None:
            raise UserError(f"{option}: was run with {made}, and this is {model_version()}; runs of two model "
                            "versions are never mixed")
        theirs = (manifest.get("sweep") or {}).get("outcomes") or {}
        for name, outcome in outcomes.items():
            if theirs.get(name) != outcome:
                how = "defines outcome" if name in theirs else "has no outcome"
                raise UserError(f"{option}: {how} '{name}' {'differently' if name in theirs else ''}".rstrip()
                                + "; runs are reused only where every outcome of this sweep is recorded as it defines it")
        if not (folder / STORE).is_dir():
            raise UserError(f"{option}: holds no stored runs (no {STORE}/ folder: deleted once the sweep was "
                            "complete?), so there is nothing to reuse")
        stores.append(RunStore(folder / STORE, read_only=True))
    return stores


def adopt(sources: list[RunStore], store: RunStore, pending: Iterator[dict], outcomes: list[str],
          done: set[str]) -> dict[str, int]:
    """Copy into ``store`` every pending run that one of ``sources`` holds finished without error (the
    first that does), adding its key to ``done``; returns how many each source gave, by folder."""
    given = {str(source.folder.parent): 0 for source in sources}
    for task in pending if sources else ():
        for source in sources:
            record = source.get(task["key"], outcomes)
            if record is not None and record["error"] is None:
                folder = str(source.folder.parent)
                store.put({**record, **{name: task[name] for name in ("point", "replicate", "draw") if name in task},
                           "reused_from": folder})
                done.add(task["key"])
                given[folder] += 1
                break
    return given


def _plan_draws(path: SweepLike, sweep: Sweep, base: Scenario, draws: int, posterior: str | Path | None) -> dict:
    """The draws' values for every point (less the keys the base file, the sweep's ``set:`` or its
    parameters give), checked before any work: the count, the runs it makes, the posterior."""
    draws = check_draws(draws)
    if sweep.runs * draws > MAX_RUNS:
        raise UserError(f"--parameter-draws {draws}: {sweep.runs:,} runs x {draws} draws is over the limit of "
                        f"{MAX_RUNS:,} runs for one sweep; use fewer draws, samples or replicates")
    source = base_file(path, sweep)
    loaded = load_posterior(find_posterior(source, posterior), base)
    particles = loaded.draw(draws, sweep.seed)
    # A parameter swept from a date leaves the draw's value in place until then.
    own = own_keys(source, sweep.set) | {name for name, parameter in sweep.parameters.items() if parameter.from_ is None}
    return {"values": [draw_changes(loaded.values(particle), own) for particle in particles],
            "manifest": describe(loaded, particles)}


def _execute(sweep: Sweep, base: Scenario, pending: Iterator[dict], remaining: int, store: RunStore, pool, count: int,
             progress: bool, already: int) -> None:
    """Run the pending runs on the executor, each finished one stored at once (see :func:`sim.jobs.runs.execute`)."""
    from tqdm import tqdm

    runs = Runs(base.model_dump(mode="json"), OutcomeValues(sweep.outcomes), "sweep")
    bar = tqdm(total=already + remaining, initial=already, unit="run", disable=not progress or None,
               desc=sweep.name)
    try:
        execute(runs, pending, remaining, store.put, pool, count, bar, f"interrupted: finished runs are kept in "
                f"{store.folder}; run the same command again to finish the sweep")
    finally:
        bar.close()


def _finish(sweep: Sweep, base: Scenario, folder: Path, store: RunStore, points: pd.DataFrame,
            fingerprint: str, seconds: float, plan: dict | None = None) -> SweepResult:
    rows, simulated, names, reused = [], 0.0, list(sweep.outcomes), {}
    for task in _tasks(sweep, base, points, None if plan is None else plan["values"]):
        record = store.get(task["key"], names)
        if record is None:
            warn(store.damaged)
            raise UserError(f"{folder}: the record of run {task['key']} was lost while the sweep ran; run the same "
                            "command again to run it")
        row = {"point": task["point"], "replicate": task["replicate"], "seed": task["seed"], "key": task["key"]}
        if "draw" in task:
            row["draw"] = task["draw"]
        row.update({key.partition(DATED)[0]: value for key, value in task["overrides"].items()})
        row.update(record["outcomes"])
        row["error"] = record["error"]
        rows.append(row)
        simulated += record.get("simulation_seconds", record.get("seconds", 0.0))
        if record.get("reused_from"):
            reused[record["reused_from"]] = reused.get(record["reused_from"], 0) + 1
    runs = pd.DataFrame(rows)
    means = runs.groupby("point", sort=True)[names].mean()
    indices, notes = sensitivity.analyze(sweep, points, means, sweep.seed)
    notes = reset_notes(sweep, base) + notes
    failures = int(runs["error"].notna().sum())
    manifest = {
        "fingerprint": fingerprint, "sweep": sweep.model_dump(mode="json"), "base_scenario": base.model_dump(mode="json"),
        "base_scenario_hash": scenario_hash(base), "seeds": replicate_seeds(sweep.seed, sweep.replicates),
        "points": len(points), "runs": len(runs), "failures": failures, "notes": notes,
        "simulation_seconds": round(simulated, 3), "wall_seconds_last_session": round(seconds, 3),
    }
    if plan is not None:
        manifest["parameter_draws"] = plan["manifest"]
    if reused:  # runs copied from other sweeps' stores (--reuse), by folder: simulated there, not here
        manifest["reused_runs"] = dict(sorted(reused.items()))
    from ..report.sweep import build_sweep_report

    replace_atomically(folder / RUNS, lambda path: runs.to_parquet(path, index=False, compression="zstd"))
    replace_atomically(folder / SENSITIVITY, lambda path: indices.to_parquet(path, index=False, compression="zstd"))
    build_sweep_report(sweep, runs, indices, manifest).write(folder / REPORT)
    complete(folder, manifest, "sweep")  # last: until it says complete, the folder is resumable
    return SweepResult(folder, runs, indices, failures, notes)


def sweep(path: SweepLike, workers: int | None = None, dask: str | None = None, out: str | Path | None = None,
          progress: bool = False, parameter_draws: int | None = None,
          posterior: str | Path | None = None, reuse: Sequence[str | Path] = ()) -> pd.DataFrame:
    """Run a sweep from Python (a notebook, say) and return its runs as a DataFrame.

    ``path`` is a sweep file or a dict laid out like one (its ``base:`` relative to the working
    folder; errors name ``<dict>``). ``parameter_draws=K`` runs every point over K draws from the
    calibration's posterior (``posterior``, default beside the base's calibrated file); the
    ``draw`` column says which. ``reuse`` names sweep folders whose stored runs it takes instead
    of running them again (a sweep extended with more replicates, say). With ``workers`` above 1, call it from a script's
    ``if __name__ == "__main__":`` block (or a notebook): the worker processes import the script."""
    from ..run import file_or_dict, whole

    file_or_dict("path", path, "a sweep file")
    whole("workers", workers, 1)
    return run_sweep(path, workers=workers, dask=dask, out=out, progress=progress, parameter_draws=parameter_draws,
                     posterior=posterior, reuse=reuse).runs
