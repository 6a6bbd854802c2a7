"""The calibration set-up: which scenario values are free, within which bounds, and how candidates run.

``calibration/setup.yaml`` names the base scenario (loaded without its ``calibration:`` file, so
a fit never starts from an earlier fit), the targets file, where the fit is written, the size and
seeds of each candidate's runs, and the free parameters with their bounds and the reason for them.
It is validated like scenario and sweep files: one line naming the file, the place and what is valid.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, model_validator

from ..jobs.folders import fingerprint
from ..jobs.inputs import MAX_REPLICATES, Bounded, check_parameter, fail
from ..jobs.outcomes import recorded_series
from ..jobs.targets import Target, load_targets
from ..outputs import PLAIN_NAME
from ..scenario.schema import MAX_SEED, MAX_SHOPPERS
from ..scenario import Scenario, load_scenario
from ..scenario.loader import display, read_validated
from ..scenario.types import Strict


class FreeParameter(Strict):
    """A scenario value the calibration fits: its bounds (the prior's support) and why they are so."""

    range: tuple[Bounded, Bounded]
    log: bool = Field(False, description="Search (and put the prior) on a log scale")
    integer: bool = False
    why: str = Field(min_length=3, description="Where the bounds come from")

    @model_validator(mode="after")
    def _bounds(self) -> FreeParameter:
        low, high = self.range
        if not low < high:
            raise ValueError(f"range runs the wrong way round: write it low to high, [{high}, {low}]"
                             if low > high else f"range is empty ({low} to {high})")
        if self.log and low <= 0:
            raise ValueError(f"a log-scale range must be positive (got {low})")
        return self

    def clip(self, value: float) -> float | int:
        """A value inside the bounds, rounded for integer parameters (for the scenario)."""
        value = min(max(float(value), self.range[0]), self.range[1])
        return int(round(value)) if self.integer else value


class Setup(Strict):
    name: str = Field("calibration", pattern=PLAIN_NAME.pattern)
    base: str = Field(description="Scenario to calibrate (relative to this file)")
    targets: str = Field(description="Targets file (relative to this file)")
    calibrated: str = Field(description="Where the fitted parameters are written (relative to this file)")
    checks: str | None = Field(None, description="Published figures the fit is not given (a targets file, relative "
                                                 "to this file): the bank's posterior predicts them")
    accounts: str | None = Field(None, description="The firms' filed margins (a targets file, relative to this "
                                                   "file): a posterior's particles get each firm's unit cost "
                                                   "fitted to them (sim.calibration.accounts)")
    shoppers: int = Field(5000, ge=10, le=MAX_SHOPPERS, description="Households in each candidate run")
    replicates: int = Field(3, ge=1, le=MAX_REPLICATES, description="Seeds per candidate (common to all candidates)")
    check_replicates: int = Field(5, ge=1, le=MAX_REPLICATES,
                                  description="Fresh seeds on which the chosen parameters are checked")
    seed: int = Field(0, ge=0, le=MAX_SEED - 1)  # the check seeds derive from seed + 1
    parameters: dict[str, FreeParameter] = Field(min_length=1)


@dataclass(frozen=True)
class Calibration:
    """A loaded set-up: the file's settings, the uncalibrated base scenario and the targets."""

    setup: Setup
    base: Scenario
    targets: list[Target]
    source: Path
    calibrated_path: Path
    targets_path: Path
    checks: tuple[Target, ...] = ()  # figures the fit is not given; only the bank measures them
    accounts: tuple[Target, ...] = ()  # filed margins a posterior's unit costs are fitted to
    accounts_base: Scenario | None = None  # the base run through the last date they read (None without them)

    @property
    def parameters(self) -> dict[str, FreeParameter]:
        return self.setup.parameters

    def fingerprint(self) -> str:
        """Hash of what decides every candidate's loss (not the output path or the check seeds),
        the model version included."""
        content = self.setup.model_dump(mode="json", exclude={"calibrated", "check_replicates", "base", "targets",
                                                                 "accounts"})
        content["base"] = self.base.model_dump(mode="json")
        content["targets"] = [target.model_dump(mode="json") for target in self.targets]
        return fingerprint(content)


WRITTEN_MARK = "# Written by `retailsim calibrate`"  # a calibrated.yaml's first line: calibrate may replace it
# ABC's and the bank's particles, beside calibrated.yaml, where --parameter-draws reads them
# (sim.experiments.posterior.POSTERIOR: the same name; importing it here would load the model).
POSTERIOR = "posterior.csv"


def _not_ours(calibrated: Path, inputs: dict[str, Path]) -> str | None:
    """Why ``retailsim calibrate`` may not write ``calibrated`` (or the posterior beside it), or None:
    it replaces only a calibrated.yaml it wrote (its first line) and a posterior it wrote (its columns:
    dotted parameters, then ``weight``); never one of the set-up's own files."""
    for key, path in inputs.items():
        if path.exists() and calibrated.exists() and calibrated.samefile(path):
            return f"'{display(calibrated)}' is the set-up's {key} file; name a new file for calibrate to write"
    if calibrated.exists():
        first = _first_line(calibrated)
        if first is None or not first.startswith(WRITTEN_MARK):
            return (f"'{display(calibrated)}' exists and was not written by retailsim calibrate (its first line is not "
                    f"'{WRITTEN_MARK} ...'); name a new file, or move this one away")
    posterior = calibrated.parent / POSTERIOR
    if posterior.exists():
        columns = (_first_line(posterior) or "").split(",")
        if columns[-1] != "weight" or not all("." in column for column in columns[:-1]):
            return (f"'{display(posterior)}' beside it exists and is not a posterior retailsim calibrate wrote (dotted "
                    "parameter columns, then weight): calibrate writes its posterior there; move it away")
    return None


def _first_line(path: Path) -> str | None:
    try:
        with path.open("rb") as stream:
            return stream.readline(4096).decode("utf-8", errors="replace").rstrip("\r\n") if path.is_file() else None
    except OSError:
        return None


def load_setup(path: str | Path, writes: bool = True) -> Calibration:
    """The set-up, its base scenario and targets, checked; ``writes`` (a calibration that will write its
    ``calibrated:`` file and posterior) also checks that those are calibrate's own to replace."""
    path = Path(path)
    setup, origins, source = read_validated(path, Setup)
    folder = path.resolve().parent
    inputs = {"set-up": path.resolve(), **{key: folder / getattr(setup, key) for key in ("base", "targets", "checks",
                                                                                         "accounts") if getattr(setup, key)}}
    problem = _not_ours(folder / setup.calibrated, inputs) if writes else None
    if problem:
        raise fail(origins, source, ("calibrated",), problem + " (--no-write leaves it alone)")
    for key in ("base", "targets", "checks", "accounts"):
        if getattr(setup, key) is not None and not (folder / getattr(setup, key)).is_file():
            raise fail(origins, source, (key,), f"file '{getattr(setup, key)}' not found (looked in {display(folder)})")
    base = load_scenario(folder / setup.base, {"population.shoppers": setup.shoppers}, calibrated=False)
    for dotted, parameter in setup.parameters.items():
        check_parameter(base, dotted, [parameter.clip(bound) for bound in parameter.range], origins, source,
                        verb="calibrated")
    targets_path = folder / setup.targets
    horizon, recorded = (base.horizon.start, base.horizon.end), recorded_series(base)
    targets = load_targets(targets_path, horizon, recorded)
    checks = load_targets(folder / setup.checks, horizon, recorded) if setup.checks is not None else []
    repeated = sorted({check.id for check in checks} & {target.id for target in targets})
    if repeated:
        raise fail(origins, source, ("checks",), f"'{repeated[0]}' is a target too: a check is a figure the fit is "
                                                 "not given, so give it another id or leave it out of the checks")
    accounts = load_targets(folder / setup.accounts, horizon, recorded) if setup.accounts is not None else []
    return Calibration(setup, through_last_target(base, [*targets, *checks]), targets, path.resolve(),
                       folder / setup.calibrated, targets_path, tuple(checks), tuple(accounts),
                       through_last_target(base, accounts) if accounts else None)


def ended(base: Scenario, end: dt.date) -> Scenario:
    """The base scenario ended on ``end``, its later events dropped (unchanged if it ends sooner).
    The model runs forward, so nothing after ``end`` can change a week before it."""
    if end >= base.horizon.end:
        return base
    return base.model_copy(update={"horizon": base.horizon.model_copy(update={"end": end}),
                                   "events": [event for event in base.events if event.date <= end]})


def through_last_target(base: Scenario, targets) -> Scenario:
    """The base scenario ended a week after the last date any target reads: later weeks cannot move
    a target, and with targets up to 2025 they were nearly half of every candidate's run."""
    return ended(base, max(target.end for target in targets) + dt.timedelta(days=7))
