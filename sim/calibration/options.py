"""The calibrate command's options, checked in one line each before any work: the budget, the
population, optuna's batch, the bank's and the emulator's split year and waves, and the point a
search or an emulator starts from."""

from __future__ import annotations

import math
from pathlib import Path

import yaml

from ..errors import UserError
from ..jobs.inputs import MAX_RUNS
from ..scenario.loader import display
from .diagnostics import split_targets
from .setup import Calibration
from .waves import MAX_WAVES

METHODS = ("optuna", "abc", "bank", "emulator")
DEFAULT_BUDGET = {"optuna": 300, "abc": 600, "bank": 2000, "emulator": 500}
WAVED = ("bank", "emulator")  # the methods that run waves of single-seed simulations and test out of sample
# Candidates of one optuna search: TPE and CMA-ES cost grows with the candidates they weigh (and
# every batch replays the scored ones), so beyond this proposing costs more than simulating.
MAX_OPTUNA_BUDGET = 20_000
MAX_BATCH = 1_000  # optuna candidates asked at once (more than the workers of any cluster)
MAX_POPULATION = 100_000  # ABC particles a generation
MIN_BANK = 10  # simulations in a bank: fewer leave nothing to accept and compare


def read_calibrated(path: str | Path) -> dict:
    """An earlier fit's file (``calibrated.yaml``) as YAML reads it."""
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def defaults(calibration: Calibration, method: str, budget: int | None, population: int | None,
             start_from: str | Path | None, folder: Path | None = None
             ) -> tuple[int, int, dict[str, float | int] | None]:
    """The budget, the population and the starting point a method uses, each default filled in. The
    emulator's default point is the committed fit; if the run in ``folder`` wrote that fit (its margin
    point), the point that run started from, so that the same command resumes it."""
    from ..outputs import read_manifest
    from .bank import accepted_count

    committed = method == "emulator" and start_from is None
    if committed:
        start_from = calibration.calibrated_path  # the emulators' design is drawn around the committed fit
    start = starting_point(calibration, start_from, method) if start_from is not None else None
    manifest = (read_manifest(folder) or {}) if committed and folder is not None else {}
    if manifest.get("moved_to") == start and isinstance(manifest.get("start"), dict):
        start = manifest["start"]
    budget = DEFAULT_BUDGET[method] if budget is None else budget
    if population is None:
        population = {"abc": 24, "emulator": min(200, budget)}.get(method) or accepted_count(budget)
    return budget, population, start


def starting_point(calibration: Calibration, path: str | Path, method: str) -> dict[str, float | int]:
    """The free parameters' values in an earlier fit's file, inside the set-up's bounds (one-line errors)."""
    if method not in ("optuna", "emulator"):
        raise UserError("--start-from: only the optuna and emulator methods start from a point (ABC draws from "
                        "the priors)")
    path = Path(path)
    try:
        document = read_calibrated(path)
    except (OSError, yaml.YAMLError) as error:
        reason = getattr(error, "strerror", None) or type(error).__name__
        raise UserError(f"--start-from {display(path)}: cannot be read ({reason})") from None
    values = document.get("parameters") if isinstance(document, dict) else None
    if not isinstance(values, dict):
        raise UserError(f"--start-from {display(path)}: has no 'parameters:' mapping (a calibrated.yaml has one)")
    start = {}
    for name, parameter in calibration.parameters.items():
        value = values.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            start[name] = parameter.clip(value)
        elif name in values:
            raise UserError(f"--start-from {display(path)}: {name} is {str(value)[:40]!r}, not a finite number")
    if not start:
        raise UserError(f"--start-from {display(path)}: names none of the set-up's free parameters "
                        f"({', '.join(calibration.parameters)})")
    return start


def bank_options(method: str, fit_through: int | None, waves: int | None) -> tuple[int, int]:
    """The bank's (or the emulator's) split year and waves (defaults 2023 and 1); either given to another
    method is refused."""
    for flag, value in (("--fit-through", fit_through), ("--waves", waves)):
        if value is not None and method not in WAVED:
            raise UserError(f"{flag}: only the bank and emulator methods use it (--method bank or emulator); "
                            f"{method} would ignore it")
    return 2023 if fit_through is None else fit_through, 1 if waves is None else waves


def check_sizes(calibration: Calibration, method: str, budget: int, population: int, batch: int,
                fit_through: int, waves: int) -> None:
    """Refuse, before any work and in one line, a budget, population, batch or (bank) split year out of bounds."""
    limit = MAX_OPTUNA_BUDGET if method == "optuna" else MAX_RUNS
    if not 1 <= budget <= limit:
        unit = {"optuna": "candidates", "abc": "particles", "bank": "simulations", "emulator": "simulations a wave"}[method]
        raise UserError(f"--budget {budget}: give 1 to {limit:,} ({unit} for {method})")
    if method == "emulator":
        if budget < MIN_BANK:
            raise UserError(f"--budget {budget}: the emulators need at least {MIN_BANK} simulations a wave (500 is "
                            "the default)")
        if not 2 <= population <= budget:
            raise UserError(f"--population {population}: give 2 to {budget:,} particles (at most a wave's "
                            f"{budget:,} simulations)")
    if method in WAVED:
        if method == "bank" and budget < MIN_BANK:
            raise UserError(f"--budget {budget}: a bank needs at least {MIN_BANK} simulations (2,000 is the default)")
        if method == "bank" and not 2 <= population < budget:
            raise UserError(f"--population {population}: give 2 to {budget - 1:,} simulations to accept (fewer than "
                            f"the bank's {budget:,})")
        split_targets(calibration.targets, fit_through)
        if not 1 <= waves <= MAX_WAVES or budget * (waves + (method == "emulator")) > MAX_RUNS:
            raise UserError(f"--waves {waves}: give 1 to {MAX_WAVES} waves of --budget simulations, at most "
                            f"{MAX_RUNS:,} simulations in all")
        return
    runs = budget * calibration.setup.replicates
    if runs > MAX_RUNS:
        raise UserError(f"--budget {budget:,} x {calibration.setup.replicates} replicates = {runs:,} runs is over the "
                        f"limit of {MAX_RUNS:,} for one calibration; use a smaller --budget or fewer replicates")
    if method == "abc" and not 1 <= population <= min(MAX_POPULATION, budget):
        raise UserError(f"--population {population}: give 1 to {min(MAX_POPULATION, budget):,} (at most the budget, "
                        f"{budget:,} particles, and {MAX_POPULATION:,})")
    if method == "optuna" and not 1 <= batch <= MAX_BATCH:
        raise UserError(f"--batch {batch}: give 1 to {MAX_BATCH:,} candidates asked at once")


