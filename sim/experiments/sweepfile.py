"""Sweep files: a base scenario, the parameters to vary, a design, the outcomes to record.

Validated like scenario files: unknown keys, a range the wrong way round, a path that does not
exist, a value the scenario would refuse, or a sample count the design cannot use are one clear
line naming the file, the place and what would be valid.
"""

from __future__ import annotations

import math
from pathlib import Path
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import ScenarioError
from ..jobs.folders import fingerprint
from ..jobs.inputs import (MAX_MAGNITUDE, MAX_REPLICATES, MAX_RUNS, Bounded, check_fixed, check_parameter, fail,
                           first_repeat)
from ..jobs.outcomes import Outcome, empty_period, is_monthly, recorded_series, recorded_weeks, unrecorded
from ..outputs import PLAIN_NAME
from ..scenario import Scenario, load_scenario
from ..scenario.loader import DOCUMENT, Origins, locate, read_validated, shown, validation_error
from ..scenario.yamlfile import check_depth, not_a_file
from ..scenario.paths import DATED, check_path, drawn_once, events_setting, leaf_keys, model_at
from ..scenario.schema import MAX_SEED, MAX_SHOPPERS
from ..scenario.types import Date, Strict

DESIGNS = ("grid", "random", "lhs", "sobol", "morris")
# MAX_RUNS (design points x replicates) and MAX_REPLICATES are shared with calibrations (jobs.inputs).
MAX_LEVELS = 1_000  # levels of a morris grid (SALib's usual choice is 4 to 10)
MAX_VALUES = 1_000  # listed values of one parameter (each is checked against the scenario at load)
# The runs table's columns besides the parameters' and the outcomes' (sweep._finish writes them).
RUN_COLUMNS = ("point", "replicate", "seed", "key", "draw", "error")


class Distribution(Strict):
    """A distribution to draw a parameter from (random and lhs designs)."""

    kind: Literal["normal", "lognormal", "triangular"]
    mean: float | None = Field(None, ge=-MAX_MAGNITUDE, le=MAX_MAGNITUDE, allow_inf_nan=False)  # normal
    sd: float | None = Field(None, gt=0, le=MAX_MAGNITUDE, allow_inf_nan=False)  # normal
    median: float | None = Field(None, gt=0, le=MAX_MAGNITUDE, allow_inf_nan=False)  # lognormal
    sigma: float | None = Field(None, gt=0, le=10, allow_inf_nan=False)  # lognormal (10: a factor of e^10 a sd)
    low: float | None = Field(None, ge=-MAX_MAGNITUDE, le=MAX_MAGNITUDE, allow_inf_nan=False)  # triangular
    mode: float | None = Field(None, ge=-MAX_MAGNITUDE, le=MAX_MAGNITUDE, allow_inf_nan=False)
    high: float | None = Field(None, ge=-MAX_MAGNITUDE, le=MAX_MAGNITUDE, allow_inf_nan=False)

    @model_validator(mode="after")
    def _complete(self) -> Distribution:
        needs = {"normal": ("mean", "sd"), "lognormal": ("median", "sigma"), "triangular": ("low", "mode", "high")}
        missing = [name for name in needs[self.kind] if getattr(self, name) is None]
        if missing:
            raise ValueError(f"a {self.kind} distribution needs {', '.join(needs[self.kind])} (missing {', '.join(missing)})")
        if self.kind == "triangular" and not (self.low <= self.mode <= self.high and self.low < self.high):
            raise ValueError(f"triangular needs low <= mode <= high and low < high "
                             f"(got {self.low}, {self.mode}, {self.high})")
        return self


class Parameter(Strict):
    """How one scenario value varies: a range, a list of values, or a distribution."""

    model_config = ConfigDict(**Strict.model_config, populate_by_name=True)  # 'from' in files, 'from_' in manifests

    range: tuple[Bounded, Bounded] | None = None
    steps: int | None = Field(None, ge=2, le=MAX_RUNS, description="grid points across the range")
    values: list[Any] | None = Field(None, min_length=1, max_length=MAX_VALUES)
    distribution: Distribution | None = None
    from_: Date | None = Field(None, alias="from", description="The date from which the value holds (an event on "
                               "that date, after the base's own); without it, from the start")

    @field_validator("values")
    @classmethod
    def _plain_values(cls, values: list[Any] | None) -> list[Any] | None:
        for number, value in enumerate(values or []):
            if isinstance(value, (list, tuple, dict, set)) or value is None:
                what = "nothing" if value is None else "a list" if isinstance(value, (list, tuple, set)) else "a mapping"
                raise ValueError(f"values[{number}] is {what}; each value must be one number, word or date")
            if isinstance(value, float) and not (math.isfinite(value) and abs(value) <= MAX_MAGNITUDE):
                raise ValueError(f"values[{number}] is {value}; give a finite number of at most {MAX_MAGNITUDE:.0e}")
        return values

    @model_validator(mode="after")
    def _one_kind(self) -> Parameter:
        given = [name for name in ("range", "values", "distribution") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of range, values or distribution" + (f" (got {', '.join(given)})" if given else ""))
        if self.range is not None and not self.range[0] < self.range[1]:
            raise ValueError(f"range runs the wrong way round: write it low to high, [{self.range[1]}, {self.range[0]}]"
                             if self.range[0] > self.range[1] else f"range is empty ({self.range[0]} to {self.range[1]})")
        return self

    @property
    def kind(self) -> str:
        return "range" if self.range is not None else "values" if self.values is not None else "distribution"


class Sweep(Strict):
    """A sweep: the experiment design over one base scenario."""

    name: str = Field("sweep", pattern=PLAIN_NAME.pattern)
    description: str = ""
    base: str = Field(description="Scenario file the sweep varies (relative to the sweep file)")
    design: Literal["grid", "random", "lhs", "sobol", "morris"]
    samples: int = Field(16, ge=1, le=MAX_RUNS,
                         description="Points (random, lhs), base samples N (sobol), trajectories (morris)")
    levels: int = Field(4, ge=2, le=MAX_LEVELS, description="Grid levels of the morris design")
    replicates: int = Field(1, ge=1, le=MAX_REPLICATES, description="Runs per point, over common seeds")
    seed: int = Field(0, ge=0, le=MAX_SEED)
    shoppers: int | None = Field(None, ge=10, le=MAX_SHOPPERS)
    set: dict[str, Any] = Field(default_factory=dict, description="Fixed overrides of the base scenario")
    parameters: dict[str, Parameter] = Field(min_length=1)
    outcomes: dict[str, Outcome] = Field(min_length=1)

    def fingerprint(self, base: Scenario) -> str:
        """Hash of everything that decides the runs and their rows (not the name or description),
        the model version included."""
        content = self.model_dump(mode="json", exclude={"name", "description", "base"})
        content["base"] = base.model_dump(mode="json")
        return fingerprint(content)

    def points(self) -> int:
        """Design points, computed from the file alone (nothing is sampled): the grid's product of
        its axes, N(D+2) for sobol (first and total order), N(D+1) for morris, N for lhs and random."""
        count = len(self.parameters)
        if self.design == "grid":
            return math.prod(len(p.values) if p.values is not None else p.steps or 1 for p in self.parameters.values())
        return self.samples * {"sobol": count + 2, "morris": count + 1}.get(self.design, 1)

    @property
    def runs(self) -> int:
        return self.points() * self.replicates


SweepLike = str | Path | Mapping[str, Any]


def read_sweep(design: SweepLike) -> tuple[Sweep, Origins, str, Path]:
    """The validated sweep, the line of each key, how errors name it, and the folder its ``base:`` is
    relative to: the file's own, or for a dict laid out like a sweep file (errors name ``<dict>``)
    the working folder."""
    if isinstance(design, Mapping):
        check_depth(design, DOCUMENT)
        try:
            return Sweep.model_validate(dict(design)), {}, DOCUMENT, Path.cwd()
        except ValidationError as exc:
            raise validation_error(exc, {}, DOCUMENT, root=Sweep) from None
    sweep, origins, source = read_validated(Path(design), Sweep)
    return sweep, origins, source, Path(design).parent


def base_file(design: SweepLike, sweep: Sweep) -> Path:
    """The sweep's base scenario file (relative to the sweep file, or to the working folder for a dict)."""
    folder = Path.cwd() if isinstance(design, Mapping) else Path(design).parent
    return (folder / sweep.base).resolve()


def load_sweep(path: SweepLike) -> tuple[Sweep, Scenario]:
    """The validated sweep (a file, or a dict laid out like one) and its base scenario (with the
    sweep's fixed overrides applied)."""
    sweep, origins, source, folder = read_sweep(path)
    _check_size(sweep, origins, source)  # first: before the base scenario is read or anything sampled
    _check_names(sweep, origins, source)
    _check_set(sweep, origins, source)
    base_path = base_file(path, sweep)
    if not base_path.is_file():
        raise fail(origins, source, ("base",), f"scenario file '{sweep.base}' {not_a_file(base_path, folder)}")
    fixed = dict(sweep.set)
    if sweep.shoppers is not None:
        fixed["population.shoppers"] = sweep.shoppers
    try:
        base = load_scenario(base_path, fixed)
    except ScenarioError as error:
        if error.source == "--set":
            raise fail(origins, source, ("set",), f"{error.place}: {error.message}") from None
        raise
    _check_parameters(sweep, base, origins, source)
    _check_design(sweep, origins, source)
    _check_outcomes(sweep, base, origins, source)
    return sweep, base


def _count(number: int) -> str:
    return f"{number:,}" if number < 10**13 else f"{number:.2e}"


def _check_size(sweep: Sweep, origins: Origins, source: str) -> None:
    """Refuse a sweep over :data:`MAX_RUNS` runs before anything is sampled or allocated."""
    points, runs = sweep.points(), sweep.runs
    if runs <= MAX_RUNS:
        return
    fewer = "steps or values" if sweep.design == "grid" else "samples"
    raise fail(origins, source, ("parameters",) if sweep.design == "grid" else ("samples",),
               f"{_count(points)} points x {sweep.replicates} replicate(s) = {_count(runs)} runs is over the limit of "
               f"{MAX_RUNS:,} runs for one sweep; split it into several sweep files (part of a range or of the "
               f"values each), or use fewer {fewer} or replicates")


def _check_names(sweep: Sweep, origins: Origins, source: str) -> None:
    """Each outcome names a column of its own in the runs table (and a folder of ``discover``'s): a
    plain name, not one of the table's other columns (the run's, or a parameter's)."""
    for name in sweep.outcomes:
        if not PLAIN_NAME.match(name):
            where, line = locate(("outcomes", name), origins, source)
            raise ScenarioError(where, "outcomes", f"outcome name {shown(name)} is not a plain name: give 1 to 100 "
                                "letters, digits, '_', '.' or '-', starting with a letter or digit (it names a column "
                                "of runs.parquet and a folder of discover's)", line)
        if name in RUN_COLUMNS or name in sweep.parameters:
            what = "a swept parameter's" if name in sweep.parameters else f"one of {', '.join(RUN_COLUMNS)}"
            raise fail(origins, source, ("outcomes", name), f"the runs table already has a column '{name}' ({what}); "
                       "give the outcome another name")


def _check_set(sweep: Sweep, origins: Origins, source: str) -> None:
    """``set:`` gives no value the sweep varies from the start, nor the households ``shoppers:`` gives
    (the swept values, and ``shoppers:``, won: the fixed value was silently ignored), whether by its
    path or within a block ``set:`` gives whole (``population: {shoppers: 5000}``)."""
    check_fixed(sweep.set, origins, source)
    given = {leaf: key for key, value in sweep.set.items() for leaf in leaf_keys({key: value})}  # leaf -> set's key
    for dotted, parameter in sweep.parameters.items():
        if dotted in given and parameter.from_ is None:
            within = "" if given[dotted] == dotted else f" (within {given[dotted]})"
            raise fail(origins, source, ("set", given[dotted]), f"{dotted}{within} is a parameter of the sweep; remove "
                       "it from set (or give the parameter a from: date, and set holds this value until then)")
    if sweep.shoppers is not None and "population.shoppers" in given:
        raise fail(origins, source, ("set", given["population.shoppers"]), f"population.shoppers is given by "
                   f"shoppers: ({sweep.shoppers}) too; give the number of households once, with shoppers:")
    if sweep.shoppers is not None and "population.shoppers" in sweep.parameters:
        raise fail(origins, source, ("shoppers",), "population.shoppers is a parameter of the sweep; remove shoppers:")


def check_drawn(path: SweepLike, sweep: Sweep, base: Scenario, points) -> None:
    """The smallest and largest value the design drew for each distribution are valid in the
    scenario (ranges and values were checked at load), so no run fails on a value drawn in a tail."""
    for dotted, parameter in sweep.parameters.items():
        if parameter.distribution is None or dotted not in points or not len(points):
            continue
        column = points[dotted]
        extremes = list(dict.fromkeys([column.min().item(), column.max().item()]))
        try:
            check_parameter(base, dotted, extremes, {}, "", check_path_first=False)
        except ScenarioError as error:
            _, origins, source, _ = read_sweep(path)
            raise fail(origins, source, ("parameters", dotted, "distribution"),
                       f"the design draws values from {extremes[0]:.6g} to {extremes[-1]:.6g}, and {error.message}; "
                       "narrow the distribution or use a range") from None


def _check_parameters(sweep: Sweep, base: Scenario, origins: Origins, source: str) -> None:
    for dotted, parameter in sweep.parameters.items():
        held = check_parameter(base, dotted, list(parameter.range or []) + list(parameter.values or []), origins, source)
        if parameter.values is not None:
            _check_kinds(dotted, parameter.values, held, origins, source)
        if parameter.from_ is not None:
            start, end = base.horizon.start, base.horizon.end
            problem = check_path(Scenario, dotted) or drawn_once(dotted) or (None if start <= parameter.from_ <= end else
                                             f"{parameter.from_} is outside the horizon; valid dates run from {start} "
                                             f"to {end}")
            if problem:
                raise fail(origins, source, ("parameters", dotted, "from"), problem)


def _kind(value: Any) -> str:
    return "a yes or no" if isinstance(value, bool) else "a number" if isinstance(value, (int, float)) else "text"


def _check_kinds(dotted: str, values: list[Any], held: list[Any], origins: Origins, source: str) -> None:
    """A parameter's values fill one column of the runs table, as written: each is written as the
    scenario holds it (a number or a yes or no unquoted, not text it would convert, nor a number for a yes
    or no; the schema refuses a yes or no for a number), so all are of one kind, and each once."""
    loc = ("parameters", dotted, "values")
    for number, (value, scenario) in enumerate(zip(values, held)):
        if isinstance(value, str) and not isinstance(scenario, str):
            raise fail(origins, source, loc, f"values[{number}] is the text {shown(value)}, and {dotted} holds "
                       f"{_kind(scenario)}; write it unquoted ({value.strip()})")
        if isinstance(scenario, bool) and not isinstance(value, bool):  # 0 and 1 filled the column with numbers
            raise fail(origins, source, loc, f"values[{number}] is {_kind(value)} ({shown(value)}), and {dotted} holds "
                       f"a yes or no; write it as {str(scenario).lower()}")
    if (twice := first_repeat(held)) is not None:
        raise fail(origins, source, loc, f"values[{twice}] ({shown(values[twice])}) is the same value as "
                   f"values[{held.index(held[twice])}], listed before it: each point would run twice and weigh "
                   "double in discover; list each value once")


def dated(sweep: Sweep) -> dict[str, str]:
    """Each parameter's key in a run's changes: its path, or ``path@DATE`` when it holds from a date."""
    return {name: name if parameter.from_ is None else f"{name}{DATED}{parameter.from_.isoformat()}"
            for name, parameter in sweep.parameters.items()}


def reset_notes(sweep: Sweep, base: Scenario) -> list[str]:
    """A line for each swept parameter that one of the base scenario's events sets again after the
    parameter takes hold: from then on the runs share the event's value, whatever the design tried."""
    notes = []
    for dotted, parameter in sweep.parameters.items():
        # A dated value follows the base's events of its own date; one from the start, none.
        events = [event for event, _key in events_setting(base.events, [dotted], parameter.from_)]
        if events:
            first, last = events[0], events[-1]
            later = f" (and {len(events) - 1} more, the last on {last.date})" if len(events) > 1 else ""
            notes.append(f"parameter {dotted} holds only until {first.date}: the base scenario's event "
                         f"{f'{first.label!r} ' if first.label else ''}sets it then{later}, so every run has the "
                         f"events' value from that date; to vary it after, give the parameter 'from: {last.date}' "
                         "or later")
    return notes


def _check_design(sweep: Sweep, origins: Origins, source: str) -> None:
    kinds = {name: parameter.kind for name, parameter in sweep.parameters.items()}
    if sweep.design in ("sobol", "morris"):
        for name, kind in kinds.items():
            if kind != "range":
                raise fail(origins, source, ("parameters", name), f"the {sweep.design} design needs a range [low, high]")
    if sweep.design == "sobol" and sweep.samples & (sweep.samples - 1):
        lower = 1 << (sweep.samples.bit_length() - 1)
        raise fail(origins, source, ("samples",),
                    f"the sobol design needs a power of 2 (got {sweep.samples}; {lower} or {lower * 2} would do)")
    if sweep.design == "grid":
        for name, parameter in sweep.parameters.items():
            if parameter.kind == "distribution" or (parameter.kind == "range" and parameter.steps is None):
                raise fail(origins, source, ("parameters", name), "the grid design needs values, or a range with steps")
            if problem := _repeated_steps(name, parameter):
                raise fail(origins, source, ("parameters", name, "steps"), problem)


def is_integer(dotted: str) -> bool:
    """Whether the scenario field at ``dotted`` holds whole numbers (a design's values are rounded)."""
    parts = tuple(dotted.split("."))
    model = model_at(Scenario, parts)
    return model is not None and model.model_fields[parts[-1]].annotation is int


def as_whole(values) -> np.ndarray:
    """A design's values for a field of whole numbers (:func:`is_integer`): rounded to the nearest."""
    return np.round(np.asarray(values, dtype=float)).astype(int)


def _repeated_steps(dotted: str, parameter: Parameter) -> str | None:
    """Why a grid's steps across a range of whole numbers repeat a value once rounded (each repeated
    point would run again, and weigh double in discover), with a steps count that would not."""
    if parameter.range is None or parameter.steps is None or not is_integer(dotted):
        return None
    (low, high), values = parameter.range, as_whole(np.linspace(*parameter.range, parameter.steps))
    repeated = sorted({int(value) for value in values[1:][values[1:] == values[:-1]]})
    if not repeated:
        return None
    most = int(high - low) + 1  # the ends are whole numbers (checked): one step a number, and no more
    gives = f" gives {', '.join(map(str, values.tolist()))}" if len(values) <= 12 else ""
    return (f"steps: {parameter.steps} over [{low:g}, {high:g}]{gives}: {dotted} holds whole numbers, so the steps are "
            f"rounded, and {', '.join(map(str, repeated[:5]))}{' ...' if len(repeated) > 5 else ''} would repeat (each "
            f"repeated point runs again); use steps: {most} or fewer ({most} takes every whole number from {low:g} to "
            f"{high:g}), or list the values you want with values:")


def _check_outcomes(sweep: Sweep, base: Scenario, origins: Origins, source: str) -> None:
    start, end = base.horizon.start, base.horizon.end
    recorded, weeks = recorded_series(base), {False: recorded_weeks(base), True: recorded_weeks(base, monthly=True)}
    for name, outcome in sweep.outcomes.items():
        if problem := unrecorded(outcome, recorded):  # every run would measure it as NaN
            raise fail(origins, source, ("outcomes", name), problem)
        for key, date in (("at", outcome.at), *(("over", d) for d in (outcome.over or ()))):
            if date is not None and not start <= date <= end:
                raise fail(origins, source, ("outcomes", name, key),
                            f"{date} is outside the horizon; valid dates run from {start} to {end}")
        monthly = is_monthly(outcome)
        if problem := empty_period(outcome, weeks[monthly], monthly):  # NaN in every run
            raise fail(origins, source, ("outcomes", name, "over"), problem)
        if outcome.locale not in ("all", "urban", "suburban", "rural"):
            raise fail(origins, source, ("outcomes", name, "locale"), "locale must be urban, suburban, rural or all")
