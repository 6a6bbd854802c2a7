"""What a job reads from a run: a series of the results (a metric with its dimensions), and one
number from it, at a date or aggregated over a period (a sweep's outcome; a calibration target is
made of them)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from ..vocabulary import DIMENSION_VALUES, METRICS, MONEY_METRICS, starts_month
from ..results import DIMENSIONS, Result, select_values
from ..scenario.paths import suggest
from ..scenario.types import Date, Strict


class MetricSeries(Strict):
    """One series of the results: a metric with its dimensions (dimensions not named are ``all``)."""

    metric: str
    firm: str = "all"
    category: str = "all"
    locale: str = "all"
    segment: str = "all"
    nominal: bool = Field(False, description="Read a money metric in each week's nominal dollars (times the "
                                             "price_level series) instead of the model's constant dollars")

    @model_validator(mode="after")
    def _known(self) -> MetricSeries:
        if self.metric not in METRICS:
            raise ValueError(f"unknown metric '{self.metric}'; {suggest(self.metric, list(METRICS))}")
        if self.nominal and self.metric not in MONEY_METRICS:
            raise ValueError(f"nominal applies to money metrics ({', '.join(MONEY_METRICS)}), not '{self.metric}'")
        for dimension, valid in DIMENSION_VALUES.items():
            if getattr(self, dimension) not in valid:
                raise ValueError(f"{dimension} '{getattr(self, dimension)}' is not one of {', '.join(sorted(valid))}")
        return self


Cells = dict[str, set[tuple[str, ...]]]


def recorded_series(scenario) -> Cells:
    """Every series a run of ``scenario`` records, metric -> its cells (firm, category, locale, segment):
    read from the layouts of a small model of it (milliseconds), so what is checked is what is recorded.
    A state's cells stand for every state's (a small model has households in only some)."""
    from ..model.market import RetailMarket
    from ..scenario.changes import override

    model = RetailMarket(override(scenario, {"population.shoppers": 100}, "the series check"))
    cells = model.collector.recorder.cells()
    present = {model.geography.state_codes[i] for i in model.collector.states_present}
    for metric, labels in cells.items():
        labels |= {(firm, category, state, segment) for firm, category, locale, segment in labels if locale in present
                   for state in model.geography.state_codes}
    return cells


# Metrics recorded only in the first week of each month (sim/model/collect.py; so are the series by state,
# which outcomes do not read).
MONTHLY = ("established_churn",)


def recorded_weeks(scenario, monthly: bool = False) -> list:
    """The dates of the weeks a run of ``scenario`` records: every weekly step from ``horizon.start``
    (the model's calendar, warm-up left out); ``monthly``, the first step of each month
    (:func:`~sim.vocabulary.starts_month`, as the model's monthly steps)."""
    from ..model.market import RetailMarket

    steps = RetailMarket.calendar(scenario.horizon)
    firsts = [day for k, day in enumerate(steps) if not monthly or starts_month(steps, k)]
    return [day for day in firsts if day >= scenario.horizon.start]


def is_monthly(series: MetricSeries) -> bool:
    """Whether ``series`` is recorded in the first week of each month only (see :data:`MONTHLY`)."""
    return series.metric in MONTHLY


def unrecorded(series: MetricSeries, cells: Cells) -> str | None:
    """Why no run records ``series`` (a dimension its metric does not have, or a combination it does not
    record), naming what the metric is recorded by; None if it is recorded."""
    labels = tuple(getattr(series, d) for d in DIMENSIONS)
    have = cells.get(series.metric)
    if have is None or labels in have:
        return None
    given = ", ".join(f"{d} {value}" for d, value in zip(DIMENSIONS, labels) if value != "all")
    given = f"for {given}" if given else "as a total (firm, category, locale and segment all)"
    by = []
    for index, dimension in enumerate(DIMENSIONS):
        values = {cell[index] for cell in have}
        states = {value for value in values if len(value) == 2 and value.isupper()} if dimension == "locale" else set()
        if values - {"all"}:
            by.append(f"{dimension} ({', '.join(sorted(values - states - {'all'}))}{' or a state' if states else ''}"
                      f"{', or all' if 'all' in values else ''})")
    return f"{series.metric} is not recorded {given}; it is recorded by {' and '.join(by) or 'nothing'}"


class Outcome(MetricSeries):
    """A series at a date or aggregated over a period."""

    at: Date | None = None
    over: tuple[Date, Date] | None = None
    aggregate: Literal["mean", "sum", "min", "max", "last"] = "mean"

    @model_validator(mode="after")
    def _when(self) -> Outcome:
        if (self.at is None) == (self.over is None):
            raise ValueError("give exactly one of at (a date) or over (a [start, end] period)")
        if self.over is not None and self.over[0] > self.over[1]:
            raise ValueError(f"over runs the wrong way round: write [{self.over[1]}, {self.over[0]}]")
        return self


def empty_period(outcome: Outcome, weeks: list, monthly: bool = False) -> str | None:
    """Why ``outcome``'s ``over:`` period holds none of the recorded ``weeks`` (every run would read it
    as NaN), naming the recorded weeks either side; None if it holds one, or reads a date. ``monthly``:
    ``weeks`` are the first of each month, as the outcome's series is recorded."""
    if outcome.over is None or any(outcome.over[0] <= week <= outcome.over[1] for week in weeks):
        return None
    first, last = outcome.over
    before, after = [week for week in weeks if week < first][-1:], [week for week in weeks if week > last][:1]
    nearest = (f"the nearest are {before[0]} and {after[0]}" if before and after
               else f"the last is {before[0]}" if before else f"the first is {after[0]}")
    wider = f"[{(before or [first])[0]}, {(after or [last])[0]}]"
    every = ("this series in the first week of each month" if monthly else
             f"one week every 7 days, on {weeks[0]:%A}s from {weeks[0]}")
    return (f"no recorded week falls in {first} to {last}: runs record {every}, and {nearest}; widen the period "
            f"to hold one (over: {wider}) or read one date with at:")


def outcome_value(timeseries: pd.DataFrame, outcome: Outcome) -> float:
    """The metric at a date (the last recorded week on or before it) or aggregated over a period."""
    dates, values = select_values(timeseries, outcome.metric, firm=outcome.firm, category=outcome.category,
                                  locale=outcome.locale, segment=outcome.segment)
    if not len(values):
        return float("nan")
    dates = pd.DatetimeIndex(dates)
    if outcome.nominal:
        values = values * _price_levels(timeseries, dates)
    if outcome.at is not None:
        before = np.flatnonzero(dates <= pd.Timestamp(outcome.at))
        return float(values[before[-1]] if len(before) else values[0])
    start, end = (pd.Timestamp(d) for d in outcome.over)
    window = values[(dates >= start) & (dates <= end)]
    if not len(window):
        return float("nan")
    return float({"mean": np.mean, "sum": np.sum, "min": np.min, "max": np.max, "last": lambda v: v[-1]}[
        outcome.aggregate](window))


class MissingSeries(ValueError):
    """A run's results lack a series an outcome needs (results written before the model recorded it)."""


def _price_levels(timeseries: pd.DataFrame, dates: pd.DatetimeIndex) -> np.ndarray:
    """The ``price_level`` series at ``dates``; results written before the model recorded it have
    none, and reading them in nominal dollars is refused rather than answered with NaN."""
    level_dates, level = select_values(timeseries, "price_level")
    if not len(level):
        raise MissingSeries("these results have no price_level series (written before it was recorded), so money "
                         "cannot be read in nominal dollars: run the scenario again, or drop nominal")
    by_date = pd.Series(level, index=pd.DatetimeIndex(level_dates))
    return by_date.reindex(dates).to_numpy(dtype=float)


class OutcomeValues:
    """Reads named outcomes from a run (picklable: sent to workers as plain JSON, validated there)."""

    def __init__(self, outcomes: dict[str, Outcome]) -> None:
        self.specs = {name: outcome.model_dump(mode="json") for name, outcome in outcomes.items()}
        self.names = list(outcomes)

    def __call__(self, result: Result) -> dict[str, float]:
        outcomes = {name: Outcome.model_validate(spec) for name, spec in self.specs.items()}
        return {name: outcome_value(result.timeseries, outcome) for name, outcome in outcomes.items()}
