"""Calibration targets and the simulated-moments comparison of runs against them.

A target is a series of the results (a metric with its dimensions, optionally minus another or as a
share of several) at a date or averaged over a period, with a published value (or a lower bound)
and a tolerance. The fit of a set of runs (one scenario over several seeds) reports each target's
simulated mean and spread, its miss in tolerances, and the loss: the mean of squared misses (only
shortfalls count for bounds).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from ..results import Result
from ..errors import ScenarioError
from ..scenario.loader import locate, place, read_validated
from ..scenario.types import Date, Strict
from .outcomes import Cells, MetricSeries, Outcome, outcome_value, unrecorded

DAYS_PER_YEAR = 365.25  # a yearly target's weeks: a filed year holds 52.18 of them


class Target(Strict):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    description: str
    label: str | None = Field(None, min_length=3, max_length=120,
                              description="A few words naming the figure in a report's notes (else the id)")
    metric: MetricSeries
    minus: MetricSeries | None = None
    plus: list[MetricSeries] | None = Field(
        None, min_length=1, description="Series added to the metric (e.g. online grocery: Amazon's grocery share "
                                        "plus Walmart online's)")
    weights: list[float] | None = Field(
        None, min_length=1, description="A multiplier for the metric and each series of plus, in that order (e.g. "
                                        "each category's share of spend at fixed category sizes), before they are "
                                        "added; not with minus or share_of")
    share_of: list[MetricSeries] | None = Field(
        None, min_length=1, description="The metric as a share of these series' sum (e.g. Walmart's online "
                                        "spend over its online and store spend)")
    at: Date | None = None
    over: tuple[Date, Date] | None = None
    growth_from: tuple[Date, Date] | None = Field(
        None, description="The figure as growth: its value over `over` divided by its value over this earlier "
                          "period, less 1 (e.g. revenue growth from 2021 to 2025); NaN when the earlier value is "
                          "not positive")
    yearly: bool = Field(False, description="A flow over a year (revenue, sales): the mean weekly figure times "
                                            "365.25 / 7 weeks, so that the published yearly figure is written as is")
    value: float | None = None
    above: float | None = Field(None, description="A lower bound instead of a value")
    below: float | None = Field(None, description="An upper bound instead of a value")
    tolerance: float = Field(gt=0)
    confidence: Literal["H", "M", "L"]
    source: str = Field(min_length=3)

    @model_validator(mode="after")
    def _complete(self) -> Target:
        if (self.at is None) == (self.over is None):
            raise ValueError("give exactly one of at (a date) or over (a [start, end] period)")
        if sum(part is not None for part in (self.value, self.above, self.below)) != 1:
            raise ValueError("give exactly one of value, above (a lower bound) or below (an upper bound)")
        if sum(part is not None for part in (self.minus, self.plus, self.share_of)) > 1:
            raise ValueError("give at most one of minus, plus or share_of")
        if self.weights is not None:
            if self.minus is not None or self.share_of is not None:
                raise ValueError("weights go with the metric and plus, not with minus or share_of")
            if len(self.weights) != 1 + len(self.plus or []):
                raise ValueError(f"weights has {len(self.weights)} numbers; give one for the metric and one for each "
                                 f"series of plus ({1 + len(self.plus or [])})")
            if not all(math.isfinite(w) and 1e-6 <= w <= 1e6 for w in self.weights):
                raise ValueError("weights must be numbers from 0.000001 to 1,000,000")
        if self.yearly and (self.share_of is not None or self.growth_from is not None):
            raise ValueError("yearly scales a flow to a year; a share or a growth is a ratio, leave yearly out")
        if self.growth_from is not None:
            if self.over is None:
                raise ValueError("growth_from needs over (the later period) rather than at")
            start, end = self.growth_from
            if start > end:
                raise ValueError(f"growth_from runs the wrong way round: write [{end}, {start}]")
            if start >= self.over[0]:
                raise ValueError(f"growth_from ({start}) must start before over ({self.over[0]}): growth is from the "
                                 "earlier period to the later")
        return self

    @property
    def start(self) -> dt.date:
        """The first date the target reads."""
        return min(first for first, _ in self._spans())

    @property
    def end(self) -> dt.date:
        """The last date the target reads."""
        return max(last for _, last in self._spans())

    def _spans(self) -> list[tuple[dt.date, dt.date]]:
        """The periods the target reads (a date as a period of one day)."""
        return [span for span in (self.over, self.growth_from, self.at and (self.at, self.at)) if span]

    def outcome(self, series: MetricSeries, over: tuple[dt.date, dt.date] | None = None) -> Outcome:
        return Outcome(**series.model_dump(), at=self.at if over is None else None, over=over or self.over,
                       aggregate="mean")

    def simulate(self, result: Result) -> float:
        """The model's value of this target in one run."""
        value = self._level(result, None)
        if self.growth_from is not None:
            before = self._level(result, self.growth_from)
            value = value / before - 1.0 if before > 0 else float("nan")
        return value

    def _level(self, result: Result, over: tuple[dt.date, dt.date] | None) -> float:
        """The figure at ``at`` or over ``over`` (default: the target's own period)."""
        weights = self.weights or [1.0] * (1 + len(self.plus or []))
        value = weights[0] * outcome_value(result.timeseries, self.outcome(self.metric, over))
        if self.minus is not None:
            value -= outcome_value(result.timeseries, self.outcome(self.minus, over))
        for weight, series in zip(weights[1:], self.plus or []):
            value += weight * outcome_value(result.timeseries, self.outcome(series, over))
        if self.share_of is not None:
            whole = sum(outcome_value(result.timeseries, self.outcome(series, over)) for series in self.share_of)
            value = value / whole if whole > 0 else float("nan")
        return value * DAYS_PER_YEAR / 7 if self.yearly else value

    @property
    def published(self) -> float:
        """The published value, or the bound."""
        return next(number for number in (self.value, self.above, self.below) if number is not None)

    @property
    def shown(self) -> str:
        """The published value as the fit's table shows it: ``0.12``, ``> 0.0`` or ``< 0.1``."""
        return str(self.value) if self.value is not None else f"{'>' if self.above is not None else '<'} {self.published}"

    def miss(self, simulated: float) -> float:
        """Miss in tolerances: signed for values, a shortfall (or 0) for lower bounds, an excess (or
        0) for upper bounds; NaN for a value that could not be simulated."""
        return float(self.misses(np.array([simulated], dtype=float))[0])

    def within(self, simulated: float) -> bool:
        """Whether a simulated value lands within tolerance; a value that could not be simulated
        (NaN) does not."""
        return bool(abs(self.miss(simulated)) <= 1.0)

    def misses(self, values: np.ndarray, published: float | None = None) -> np.ndarray:
        """:meth:`miss` of many simulated values at once; ``published`` replaces the published value
        (a synthetic truth's; bounds keep theirs)."""
        if self.value is not None:
            return (values - (self.value if published is None else published)) / self.tolerance
        if self.above is not None:
            return np.minimum(0.0, values - self.above) / self.tolerance
        return np.maximum(0.0, values - self.below) / self.tolerance


class Targets(Strict):
    targets: list[Target] = Field(min_length=1)


def _series(target: Target) -> list[tuple[tuple, MetricSeries]]:
    """Every series a target reads, with its place in the target."""
    named = [(("metric",), target.metric)] + ([(("minus",), target.minus)] if target.minus is not None else [])
    for key in ("plus", "share_of"):
        named += [((key, k), series) for k, series in enumerate(getattr(target, key) or ())]
    return named


def load_targets(path: str | Path, horizon: tuple[dt.date, dt.date] | None = None,
                 recorded: Cells | None = None) -> list[Target]:
    """The targets of a file; with ``horizon`` (first and last date), a target that reads a date
    outside it is one line at its place (the model would report a number it never simulated); with
    ``recorded`` (:func:`~sim.jobs.outcomes.recorded_series`), so is a series no run records (its
    target would read NaN, and a calibration's loss be infinite for every candidate)."""
    targets, origins, source = read_validated(path, Targets)
    first_of: dict[str, int] = {}  # results and fits are keyed by id: a second would take the first's place
    for index, target in enumerate(targets.targets):
        if (earlier := first_of.setdefault(target.id, index)) != index:
            where, line = locate(("targets", index, "id"), origins, source)
            raise ScenarioError(where, place(("targets", index, "id")), f"'{target.id}' is the id of "
                                f"{place(('targets', earlier))} too; each target needs an id of its own", line)
    week = dt.timedelta(days=7)  # a date reads its week; a period, the weeks that fall in it
    for index, target in enumerate(targets.targets):
        for loc, series in _series(target) if recorded is not None else ():
            if problem := unrecorded(series, recorded):
                where, line = locate(("targets", index, *loc), origins, source)
                raise ScenarioError(where, place(("targets", index, *loc)), problem, line)
        for first, last in target._spans() if horizon is not None else ():
            if last < horizon[0] - week or first > horizon[1] + week:
                loc = ("targets", index, "at" if target.at == first == last else "over")
                where, line = locate(loc, origins, source)
                reads = first if first == last else f"{first} to {last}"
                raise ScenarioError(where, place(loc), f"target {target.id!r} reads {reads}, outside the scenario's "
                                    f"horizon; valid dates run from {horizon[0]} to {horizon[1]}", line)
    return targets.targets


@dataclass
class Fit:
    """How runs meet the targets: one row per target, and the loss."""

    table: pd.DataFrame
    loss: float
    errors: list[str] = field(default_factory=list)  # runs that failed (their targets are NaN)

    @property
    def all_within(self) -> bool:
        return bool(self.table["within"].all())

    def lines(self) -> list[str]:
        """One line per target: within or not, published, simulated mean and spread, miss in tolerances."""
        width = max([28, *(len(str(name)) for name in self.table["target"])])  # the columns line up

        def published(value) -> str:  # a number as the simulated mean is shown (it read 387500000000.0)
            return f"{value:10.4g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else f"{value!s:>10}"

        return [f"  {'ok  ' if row.within else 'MISS'} {row.target:<{width}} published {published(row.published)}  "
                f"simulated {row.simulated_mean:10.4g} (sd {row.simulated_sd:.2g})  miss {row.miss:+.2f} tolerances"
                for row in self.table.itertuples()]


def standing(misses) -> tuple[int, float, int]:
    """How a fit stands against its targets, from their misses in tolerances: how many it meets (a
    miss of at most one tolerance either way), its largest miss and that target's position. A target
    that could not be measured (NaN) counts as missed, by infinity."""
    miss = np.nan_to_num(np.abs(np.asarray(misses, dtype=float)), nan=np.inf)
    return int((miss <= 1).sum()), float(miss.max()), int(miss.argmax())


def evaluate(targets: list[Target], results: list[Result]) -> Fit:
    """Each target's simulated mean and spread over the runs, its miss, and the loss."""
    return evaluate_values(targets, [simulate_all(targets, result) for result in results])


def simulate_all(targets: list[Target], result: Result) -> dict[str, float]:
    """Every target's value in one run."""
    return {target.id: target.simulate(result) for target in targets}


def evaluate_values(targets: list[Target], runs: list[dict[str, float]]) -> Fit:
    """The fit from each run's target values (as :func:`simulate_all` gives them)."""
    rows = []
    for target in targets:
        values = np.array([run[target.id] for run in runs], dtype=float)
        mean = float(np.mean(values))
        miss = target.miss(mean)
        rows.append({
            "target": target.id, "published": target.value if target.value is not None else target.shown,
            "tolerance": target.tolerance, "simulated_mean": mean,
            "simulated_sd": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
            "miss": miss, "within": target.within(mean), "source": target.source,
        })
    table = pd.DataFrame(rows)
    loss = float(np.mean(table["miss"].to_numpy(dtype=float) ** 2))  # a target that could not be simulated: NaN
    return Fit(table, loss if np.isfinite(loss) else float("inf"))
