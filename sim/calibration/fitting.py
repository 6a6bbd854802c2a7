"""Fit the free parameters to the targets: simulated method of moments (optuna), ABC-SMC (pyabc), or
rejection ABC with regression adjustment on a stored bank of simulations (``bank``).

Every candidate parameter set runs the base scenario over the set-up's common seeds; its loss is
the mean squared miss of the targets in tolerances (:func:`sim.jobs.targets.evaluate_values`).

- ``optuna``: a TPE search over the first 60% of the budget, then CMA-ES warm-started from the best
  tenth of the candidates; they are asked a batch at a time, run on the sweep executors (inline, process
  pool or Dask) and told their losses. The study lives in a journal file, so an interrupted
  calibration resumes where it stopped.
- ``abc``: pyabc's ABC-SMC with uniform (or log-uniform) priors over the bounds and the same loss
  as its distance; it returns a weighted posterior sample, stored in an SQLite database (resumable).
- ``bank``: ``budget`` prior draws, each run once and stored (resumable, extendable); the posterior
  is read from the bank without running anything again, and checked on the bank's own simulations
  as synthetic truths (coverage) and on a fit to the early targets alone (out of sample). See
  :mod:`sim.calibration.bank`.

The chosen parameters (optuna's best candidate, or the posterior's closest particle or simulation) are run
once more on fresh seeds, and that out-of-sample fit is what ``calibrated.yaml`` records.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ..errors import Interrupted, UserError
from ..experiments.replicates import replicate_seeds
from ..jobs.executors import check_workers, executor
from ..jobs.folders import claim, complete, hold, warn
from ..jobs.targets import Fit
from ..results import replace_atomically
from ..versions import package_version
from .accounts import COSTS, STORE as ACCOUNTS_STORE, posterior_costs
from .bank import (BANK, BANK_STORE, CHECKS, COVERAGE, OUT_OF_SAMPLE, bank_fingerprint, interval,
                   share_of_bounds, write_table)
from .diagnostics import checks_document, diagnostic_lines, fit_bank
from .emulator import EMULATOR, fit_emulator
from .options import METHODS, WAVED, bank_options, check_sizes, defaults
from .candidates import Candidates, written
from .searches import ABC_DATABASE, OPTUNA_JOURNAL, run_abc, run_optuna
from .setup import POSTERIOR, WRITTEN_MARK, Calibration, FreeParameter, load_setup

DEFAULT_FOLDER = Path("reports") / "calibration"
TRIALS, MANIFEST, REPORT = "trials.parquet", "manifest.json", "report.html"
# What a calibration folder holds beside its manifest (the study, its lock and recovered torn line,
# SQLite's side files for ABC).
CONTENTS = (TRIALS, REPORT, POSTERIOR, OPTUNA_JOURNAL, OPTUNA_JOURNAL + ".lock", OPTUNA_JOURNAL + ".torn", ABC_DATABASE,
            ABC_DATABASE + "-journal", ABC_DATABASE + "-wal", ABC_DATABASE + "-shm", BANK, BANK_STORE, ACCOUNTS_STORE,
            COVERAGE, OUT_OF_SAMPLE, CHECKS, EMULATOR)


@dataclass
class CalibrationResult:
    """A finished calibration: every candidate, the choice, its out-of-sample fit, and identification."""

    folder: Path
    method: str
    trials: pd.DataFrame  # one row per candidate: its parameters, loss and target means
    chosen: dict[str, Any]
    fit: Fit  # of the chosen parameters, on fresh seeds
    identification: pd.DataFrame  # per parameter: how tightly the targets pin it (see _profile, _posterior_ranges)
    posterior: pd.DataFrame | None  # ABC and bank: the posterior's particles and weights
    history: pd.DataFrame  # optuna: best loss by candidate; ABC: epsilon by generation; bank: losses in order
    calibrated_path: Path | None
    diagnostics: dict[str, Any] | None = None  # bank: coverage, out_of_sample, tradeoffs (tables), fit_through

    @property
    def simulated(self) -> int:
        """Parameter sets simulated by the search (each over the set-up's seeds)."""
        return int(self.history["simulations"].iloc[-1]) if self.method == "abc" else len(self.trials)

    def lines(self) -> list[str]:
        """What ``retailsim calibrate`` prints: the fit on fresh seeds, and how the targets pin each parameter."""
        table = self.fit.table
        unit = "simulations in the bank" if self.method in WAVED else "candidates"
        lines = [f"{self.method}: {self.simulated} {unit}; chosen parameters on fresh seeds: loss "
                 f"{self.fit.loss:.3f}, {int(table['within'].sum())} of {len(table)} targets within tolerance",
                 *self.fit.lines(), *diagnostic_lines(self.diagnostics),
                 f"how tightly the targets pin each parameter ({self.identification['basis'].iloc[0]}):"]
        for row in self.identification.to_dict("records"):
            detail = (f"moves {row['moves_most']} by {row['shift']:.2f} tolerances" if "shift" in row
                      else f"{row['share_of_bounds']:.0%} of its bounds")
            lines.append(f"  {row['parameter']:<48} {self.chosen[row['parameter']]:<12.5g} {row['reading']} ({detail})")
        if self.calibrated_path is not None and self.method == "emulator":
            lines.append(f"calibrated: {self.calibrated_path} " + ("(rewritten: the margin point replaced the fit)"
                         if self.diagnostics["moved"] else "(kept as it was; the posterior written beside it)"))
        elif self.calibrated_path is not None:
            lines.append(f"calibrated: {self.calibrated_path}")
        return [*lines, f"report: {self.folder / 'report.html'}"]


def calibrate(setup_path: str | Path, method: str = "optuna", budget: int | None = None, workers: int | None = None,
              dask: str | None = None, out: str | Path | None = None, population: int | None = None, batch: int = 4,
              write: bool = True, progress: bool = True, start_from: str | Path | None = None,
              fit_through: int | None = None, waves: int | None = None) -> CalibrationResult:
    """Fit the set-up's free parameters; write ``calibrated.yaml`` (unless ``write=False``) and a report.

    ``budget`` counts candidates (optuna) or simulated particles (ABC), each run over the set-up's
    seeds; the same command in the same ``out`` folder resumes and extends to the budget. ``start_from``
    (optuna only) names an earlier fit (a ``calibrated.yaml``) whose parameters are the first candidate
    scored: a refit after a model change starts from where the last one ended. ``population`` is ABC's
    particles a generation (default 24), or the simulations the bank's posterior accepts (default 5%
    of the bank). ``fit_through`` (bank) is the last year of the targets the out-of-sample test fits;
    the later ones are predicted. ``waves`` (bank) runs that many waves of ``budget`` simulations,
    each later one drawn near the posterior so far."""
    if method not in METHODS:
        raise UserError(f"--method {method}: not a method; use one of {', '.join(METHODS)}")
    defaulted = [flag for flag, value in (("--budget", budget), ("--population", population),
                                          ("--fit-through", fit_through), ("--waves", waves)) if value is None]
    fit_through, waves = bank_options(method, fit_through, waves)
    calibration = load_setup(setup_path, writes=write)
    folder = Path(out) if out is not None else DEFAULT_FOLDER / f"{calibration.setup.name}-{method}"
    budget, population, start = defaults(calibration, method, budget, population, start_from, folder)
    with defaults_named(defaulted):
        check_sizes(calibration, method, budget, population, batch, fit_through, waves)
    check_workers(workers, dask)
    seeds = replicate_seeds(calibration.setup.seed, calibration.setup.replicates)
    with executor(workers, dask) as (pool, count):  # a bad --dask address fails here, before the folder
        identity = {"fingerprint": folder_fingerprint(calibration, method), "method": method,
                    "setup": str(calibration.source), **({"start": start} if start is not None else {})}
        claim(folder, "calibration", identity, CONTENTS,
              "a different calibration (the set-up, targets, base scenario, method or --start-from changed since "
              "it started)")
        with hold(folder):
            candidates = Candidates(calibration, pool, seeds)
            try:
                if method in WAVED:
                    arguments = (calibration, folder, budget, population, pool, count, progress, fit_through, waves)
                    trials, chosen, history, posterior, diagnostics = (
                        fit_bank(*arguments) if method == "bank" else fit_emulator(*arguments, start, candidates))
                else:
                    diagnostics = None
                    trials, chosen, history, posterior = (
                        run_optuna(calibration, candidates, folder, budget, batch, progress, warn, start)
                        if method == "optuna" else
                        run_abc(calibration, candidates, folder, budget, population, pool, count, progress))
            except KeyboardInterrupt:
                raise Interrupted(f"interrupted: the calibration so far is kept in {folder}; run the same command "
                                  "again to resume it") from None
            posterior = _with_costs(calibration, posterior, pool, count, progress, folder)
            # The values as calibrated.yaml will hold them (5 significant digits) are the ones checked.
            chosen = candidates.written(chosen)
            check_seeds = replicate_seeds(calibration.setup.seed + 1, calibration.setup.check_replicates)
            fit = Candidates(calibration, pool, check_seeds)(chosen)
            identification = (_posterior_ranges(calibration, posterior, (diagnostics or {}).get("at_edge"))
                              if posterior is not None
                              else _profile(calibration, candidates, chosen))
            result = CalibrationResult(folder, method, trials, chosen, fit, identification, posterior,
                                       history, calibration.calibrated_path if write else None, diagnostics)
            _finish(calibration, result, budget, seeds, check_seeds, start)
    return result


@contextmanager
def defaults_named(defaulted: list[str]):
    """A refusal of a value the user did not give names it as the default it is (it read as if given)."""
    try:
        yield
    except UserError as error:
        text = str(error)
        raise UserError(text.replace(":", " (the default for this set-up):", 1) if text.split(" ", 1)[0] in defaulted
                        else text) from None


def _with_costs(calibration: Calibration, posterior: pd.DataFrame | None, pool, count: int, progress: bool,
                folder: Path) -> pd.DataFrame | None:
    """The posterior with each particle's unit costs fitted to the set-up's ``accounts`` (if it names
    them), so that parameter draws keep every firm's margins on the filings."""
    if posterior is None or not calibration.accounts:
        return posterior
    costs = posterior_costs(calibration, posterior_table(calibration, posterior), pool, count, progress, folder)
    return posterior.assign(**{name: costs[name].to_numpy() for name in [*COSTS, "weight"]})


def folder_fingerprint(calibration: Calibration, method: str) -> str:
    """What a calibration folder may be resumed with: the whole set-up, or for a bank only what
    decides its simulations (a refit with other published values or tolerances reads the same bank)."""
    return bank_fingerprint(calibration) if method in WAVED else calibration.fingerprint()


# -- what the fit says --------------------------------------------------------------------------
def _posterior_ranges(calibration: Calibration, posterior: pd.DataFrame,
                      at_edge: dict[str, float] | None = None) -> pd.DataFrame:
    """ABC, the bank and the emulator: each parameter's weighted 5th-95th posterior percentiles
    (interpolated), as a share of its bounds.

    Near 0: the targets pin it down; near 0.9 (a uniform prior's share): they leave it loose. The
    emulator's posterior stays where its design reached (``at_edge``: each parameter's share of particles
    near that edge): a parameter with a tenth or more there is bounded by the design, not the targets.
    """
    rows = []
    for name, parameter in calibration.parameters.items():
        low, high = interval(posterior, name)  # the same weighted percentiles as the coverage check's
        share = share_of_bounds(parameter, low, high)
        reading = "pinned" if share < 0.3 else "partly pinned" if share < 0.6 else "loose"
        if at_edge is not None and at_edge[name] >= 0.1:
            reading = f"held by the design's reach ({at_edge[name]:.0%} of particles at its edge)"
        rows.append({"parameter": name, "plausible_low": low, "plausible_high": high, "share_of_bounds": share,
                     "reading": reading, "basis": f"posterior 5-95% ({len(posterior)} particles"
                     f"{', within the region the design reached' if at_edge is not None else ''})"})
    return pd.DataFrame(rows)


PROFILE_STEP = 0.1  # of each parameter's bounds (on its search scale)


def _profile(calibration: Calibration, candidates: Candidates, chosen: dict[str, float]) -> pd.DataFrame:
    """optuna: what moving one parameter a tenth of its bounds either way does, the others held at
    the chosen values (on the search's seeds; one at a time, so a parameter that others can
    compensate for looks tighter here than in an ABC posterior).

    ``shift`` is the largest change of any target's miss, in tolerances: 1 or more means the targets
    pin the parameter down, under a quarter means they leave it loose. ``loss_rise`` is the change of
    the loss (the mean over targets), averaged over the two moves.
    """
    base = candidates(chosen)
    base_miss = base.table.set_index("target")["miss"]
    moves = {}
    for name, parameter in calibration.parameters.items():
        for direction in (-1, 1):
            moved = dict(chosen)
            moved[name] = _step(parameter, chosen[name], direction)
            moves[name, direction] = (moved[name], candidates.submit(moved))
    rows = []
    for name, parameter in calibration.parameters.items():
        fits = [candidates.score(moves[name, direction][1]) for direction in (-1, 1)]
        shifts = pd.concat([(fit.table.set_index("target")["miss"] - base_miss).abs() for fit in fits], axis=1).max(axis=1)
        shift = float(shifts.max())
        rows.append({"parameter": name, "plausible_low": moves[name, -1][0], "plausible_high": moves[name, 1][0],
                     "share_of_bounds": share_of_bounds(parameter, moves[name, -1][0], moves[name, 1][0]),
                     "loss_rise": float(np.mean([fit.loss - base.loss for fit in fits])), "shift": shift,
                     "moves_most": str(shifts.idxmax()),
                     "reading": "pinned" if shift >= 1.0 else "partly pinned" if shift >= 0.25 else "loose",
                     "basis": f"largest change of a target's miss, in tolerances, when moved {PROFILE_STEP:.0%} of "
                              "its bounds either way"})
    return pd.DataFrame(rows)


def _step(parameter: FreeParameter, value: float, direction: int) -> float:
    low, high = parameter.range
    if parameter.log:
        moved = math.exp(math.log(value) + direction * PROFILE_STEP * math.log(high / low))
    else:
        moved = value + direction * PROFILE_STEP * (high - low)
    return parameter.clip(moved)


def _finish(calibration: Calibration, result: CalibrationResult, budget: int, seeds: list[int],
            check_seeds: list[int], start: dict[str, float | int] | None = None) -> None:
    from ..report.calibration import build_calibration_report

    folder = result.folder
    document = calibrated_document(calibration, result, budget, seeds, check_seeds)
    replace_atomically(folder / TRIALS, lambda path: result.trials.to_parquet(path, index=False))
    build_calibration_report(calibration, result, document).write(folder / REPORT)
    if result.posterior is not None:
        write_posterior(calibration, result.posterior, folder / POSTERIOR)
    if result.diagnostics:
        for name, file in (("coverage", COVERAGE), ("out_of_sample", OUT_OF_SAMPLE), ("checks", CHECKS),
                           ("emulator", EMULATOR)):
            if name in result.diagnostics:
                write_table(result.diagnostics[name], folder / file)
    rewrite = result.calibrated_path is not None and (result.method != "emulator" or result.diagnostics["moved"])
    manifest = {"fingerprint": folder_fingerprint(calibration, result.method), "method": result.method,
                "setup": str(calibration.source), "budget": budget, "candidates": len(result.trials), "loss": result.fit.loss,
                "calibrated": str(result.calibrated_path) if result.calibrated_path else None,
                **({"start": start} if start is not None else {}),  # a resume compares it, as it does while running
                # the emulator's margin point, which this run writes to calibrated.yaml: a resume finds it there
                **({"moved_to": dict(result.chosen)} if rewrite and result.method == "emulator" else {})}
    complete(folder, manifest, "calibration")
    if rewrite:  # after the folder is complete, so that a kill before it leaves calibrated.yaml as it was
        write_calibrated(result.calibrated_path, document)
    if result.calibrated_path is not None and result.posterior is not None:  # where --parameter-draws finds it
        write_posterior(calibration, result.posterior, result.calibrated_path.parent / POSTERIOR)


def calibrated_document(calibration: Calibration, result: CalibrationResult, budget: int, seeds: list[int],
                        check_seeds: list[int]) -> dict[str, Any]:
    """The content of ``calibrated.yaml``: parameters, the fit of every target, loss, provenance."""
    fit = {row.target: {"published": row.published, "tolerance": row.tolerance,
                        "simulated_mean": float(f"{float(row.simulated_mean):.6g}"),
                        "simulated_sd": float(f"{float(row.simulated_sd):.4g}"), "miss": round(float(row.miss), 3),
                        "within": bool(row.within)} for row in result.fit.table.itertuples()}
    identification = {}
    for row in result.identification.to_dict("records"):
        entry = {"range": [written(row["plausible_low"]), written(row["plausible_high"])],
                 "share_of_bounds": round(float(row["share_of_bounds"]), 3), "reading": row["reading"]}
        if "shift" in row:
            entry.update(shift=round(float(row["shift"]), 3), moves_most=row["moves_most"],
                         loss_rise=round(float(row["loss_rise"]), 3))
        identification[row["parameter"]] = entry
    basis = result.identification["basis"].iloc[0] if len(result.identification) else ""
    return {
        "method": {"optuna": "simulated method of moments, optuna TPE then CMA-ES", "abc": "ABC-SMC (pyabc), closest particle",
                   "bank": "rejection ABC with regression adjustment on a bank of simulations, nearest simulation",
                   "emulator": "emulators of the targets around the committed fit: the nearest point with a margin"}[
            result.method],
        "date": dt.date.today().isoformat(),
        "version": package_version(),
        "setup": _relative(calibration.source, calibration.calibrated_path.parent),
        "fingerprint": calibration.fingerprint(),
        "budget": budget,
        "candidates": result.simulated,
        "runs_per_candidate": (f"1 seed x {calibration.setup.shoppers} households" if result.method in WAVED
                               else f"{len(seeds)} seeds x {calibration.setup.shoppers} households"),
        "check": f"{len(check_seeds)} fresh seeds x {calibration.setup.shoppers} households",
        "loss": round(result.fit.loss, 4),
        "within": f"{int(result.fit.table['within'].sum())} of {len(result.fit.table)} targets",
        "parameters": dict(result.chosen),
        "fit": fit,
        "identification_basis": basis,
        "identification": identification,
        **checks_document(result.diagnostics),
    }


def posterior_table(calibration: Calibration, posterior: pd.DataFrame) -> pd.DataFrame:
    """ABC's last population as ``--parameter-draws`` reads it: a column per free parameter (its
    dotted key; values as a scenario takes them, integers rounded) and ``weight`` (summing to 1)."""
    table = pd.DataFrame({name: [parameter.clip(value) for value in posterior[name]]
                          for name, parameter in calibration.parameters.items()})
    for name in COSTS:  # each particle's unit costs, where they were fitted (sim.calibration.accounts)
        if name in posterior.columns:
            table[name] = posterior[name].to_numpy(dtype=float)
    table["weight"] = posterior["weight"].to_numpy(dtype=float) / float(posterior["weight"].sum())
    return table


def write_posterior(calibration: Calibration, posterior: pd.DataFrame, path: Path) -> None:
    write_table(posterior_table(calibration, posterior), path)


def _relative(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path, start)).as_posix()


HEADER = WRITTEN_MARK + """ ({method}); do not edit by hand, rerun the calibration.
# `parameters` are the defaults of every scenario that names this file in `calibration:`
# (scenarios/baseline.yaml does, and so every what-if that extends it). `fit` is the chosen
# parameters' fit on fresh seeds; `identification` says how tightly the targets pin each one.
"""


def write_calibrated(path: Path, document: dict[str, Any]) -> None:
    text = HEADER.format(method=document["method"]) + yaml.safe_dump(document, sort_keys=False, width=110)
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_atomically(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))

