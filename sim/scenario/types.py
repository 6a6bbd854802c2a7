"""Building blocks of the scenario schema: strict models, bounded numbers, dates, ramps.

Every number a scenario holds is finite and bounded by what its unit can mean (a share between 0
and 1, a fee below $10,000 a year, a utility within +-10 logit units, capital below $1 trillion,
a date between 1900 and 2200); ``docs/safety.md`` lists the bounds. A value outside them is one
clear error line when the file loads, never NaN in the results.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from functools import lru_cache
from importlib import resources
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import numpy as np

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, ValidationInfo,
                      field_validator, model_validator)

CATEGORIES = ("grocery", "discretionary", "health")
LOCALES = ("urban", "suburban", "rural")


class Strict(BaseModel):
    """Base of every scenario block: unknown keys are errors, values are immutable, and a number is
    never a yes or no (YAML reads ``yes``, ``on`` and ``true`` as booleans, which pydantic would take
    as 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _number_not_yes_or_no(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, (bool, list, tuple, dict)) and _yes_or_no_for_number(
                cls.model_fields[info.field_name].annotation, value):
            raise ValueError("a number is needed here, not yes, no, true, false, on or off")
        return value


def bare(annotation: Any) -> Any:
    """``annotation`` without its ``Annotated`` bounds."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _yes_or_no_for_number(annotation: Any, value: Any) -> bool:
    """Whether ``value``, or an item or value inside it, is a boolean where ``annotation`` wants a
    number (a float or an int, alone, or-ed with None, or inside a list, a tuple or a mapping)."""
    annotation = bare(annotation)
    origin = get_origin(annotation)
    if origin in (Union, UnionType):
        options = [bare(option) for option in get_args(annotation) if option is not type(None)]
        if isinstance(value, bool):
            return bool(options) and all(option in (float, int) for option in options)
        return any(_yes_or_no_for_number(option, value) for option in options if get_origin(option) is not None)
    if isinstance(value, bool):
        return annotation in (float, int)
    if origin in (list, tuple) and isinstance(value, (list, tuple)):
        items = [item for item in get_args(annotation) if item is not Ellipsis]
        if origin is tuple and Ellipsis not in get_args(annotation) and len(items) == len(value):
            return any(_yes_or_no_for_number(item, one) for item, one in zip(items, value))
        return bool(items) and any(_yes_or_no_for_number(items[0], one) for one in value)
    if origin is dict and isinstance(value, dict) and len(get_args(annotation)) == 2:
        return any(_yes_or_no_for_number(get_args(annotation)[1], one) for one in value.values())
    return False


_MONTH = re.compile(r"^\d{4}-\d{2}$")


FIRST_DATE, LAST_DATE = dt.date(1900, 1, 1), dt.date(2200, 12, 31)


def parse_date(value: object) -> object:
    """Accept a date, ``YYYY-MM-DD`` or ``YYYY-MM`` (meaning the first day of that month)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if not isinstance(value, (dt.date, str)):
        raise ValueError("expected a date, YYYY-MM-DD or YYYY-MM")
    if isinstance(value, str) and _MONTH.match(value.strip()):
        year, month = value.strip().split("-")
        try:
            return dt.date(int(year), int(month), 1)
        except ValueError:
            raise ValueError(f"'{value}' is not a valid month; use YYYY-MM or YYYY-MM-DD") from None
    return value


def _in_range(value: dt.date) -> dt.date:
    if not FIRST_DATE <= value <= LAST_DATE:
        raise ValueError(f"dates run from {FIRST_DATE} to {LAST_DATE}")
    return value


Date = Annotated[
    dt.date,
    BeforeValidator(parse_date),
    AfterValidator(_in_range),
    PlainSerializer(lambda d: d.isoformat(), return_type=str),
    Field(description="A date: YYYY-MM-DD, or YYYY-MM for the first day of that month"),
]
Share = Annotated[float, Field(ge=0.0, le=1.0, description="A share between 0 and 1")]
# Dollars per order, trip, mile or household-week.
UsdPerOrder = Annotated[float, Field(ge=0.0, le=1_000.0, description="US dollars per order or week, 0 to 1,000")]
# Dollars per household (or associate) per year: fees, perks, tastes.
UsdPerYear = Annotated[float, Field(ge=0.0, le=10_000.0, description="US dollars a year, 0 to 10,000")]
# Capital and programme budgets of a firm.
Capital = Annotated[float, Field(ge=0.0, le=1e12, description="US dollars, 0 to 1 trillion")]
Days = Annotated[float, Field(ge=0.0, le=60.0, description="Days, 0 to 60")]
Years = Annotated[float, Field(ge=0.0, le=100.0, description="Years, 0 to 100")]
Miles = Annotated[float, Field(gt=0.0, le=500.0, description="Miles, above 0 and at most 500")]
# Utilities of the logit choice, in logit units (a utility of 10 makes an option near certain).
Utility = Annotated[float, Field(ge=-10.0, le=10.0, description="Utility in logit units, -10 to 10")]
Gain = Annotated[float, Field(ge=0.0, le=10.0, description="Utility added, in logit units, 0 to 10")]
Elasticity = Annotated[float, Field(ge=0.0, le=5.0, description="An elasticity, 0 to 5")]
Spread = Annotated[float, Field(ge=0.0, le=3.0, description="Standard deviation of a log-normal, 0 to 3")]
Households = Annotated[float, Field(ge=0.0, le=1e9, description="Households, 0 to 1 billion")]
IndexYear = Annotated[int, Field(ge=1900, le=2200, description="A calendar year, 1900 to 2200")]
PriceIndex = Annotated[float, Field(gt=0.0, le=10.0, description="Price index (1.0 = the reference basket), above 0 and at most 10")]


class CategoryValues(Strict):
    """One utility per shopping category (logit units)."""

    grocery: Utility
    discretionary: Utility
    health: Utility

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.grocery, self.discretionary, self.health)


class CategoryPrices(CategoryValues):
    """A price index per category (1.0 = the market's reference basket price)."""

    grocery: PriceIndex = 1.0
    discretionary: PriceIndex = 1.0
    health: PriceIndex = 1.0


class CategoryShares(CategoryValues):
    """One share per category."""

    grocery: Share
    discretionary: Share
    health: Share


def number_of(value: Any) -> float | None:
    """A number given as a number or as text (YAML reads 3e-1 or 131.3e6, with no dot or no sign in
    the exponent, as a string); None for anything else, left to the field's own validation."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def each_category(value: Any) -> Any:
    """One number for a per-category field is the same number for every category."""
    number = number_of(value)
    return value if number is None else dict.fromkeys(CATEGORIES, number)


# A share per category, or one number for all three (how the key was written before it was by category).
SharesByCategory = Annotated[CategoryShares,
                             BeforeValidator(each_category, json_schema_input_type=float | CategoryShares)]


Coverage = Annotated[float, Field(gt=0.0, le=1.0, description="A share of national spending a survey records, "
                                                                  "above 0 and at most 1")]


class CategoryCoverage(CategoryValues):
    """One coverage per category: the share of national spending a survey records."""

    grocery: Coverage
    discretionary: Coverage
    health: Coverage


class CategoryDollars(CategoryValues):
    """Dollars per category (a weekly budget, a cost per day of waiting)."""

    grocery: UsdPerOrder
    discretionary: UsdPerOrder
    health: UsdPerOrder


class FirmDollars(Strict):
    """Dollars per firm, in the order amazon, walmart, kroger, rivals (``vocabulary.FIRMS``)."""

    amazon: UsdPerOrder = 0.0
    walmart: UsdPerOrder = 0.0
    kroger: UsdPerOrder = 0.0
    rivals: UsdPerOrder = 0.0


class CategoryElasticities(CategoryValues):
    """One elasticity per category (absolute values: 0.5 means -0.5)."""

    grocery: Elasticity
    discretionary: Elasticity
    health: Elasticity


class LocaleShares(Strict):
    """One share per locale."""

    urban: Share
    suburban: Share
    rural: Share

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.urban, self.suburban, self.rural)


class LocaleValues(Strict):
    """One distance per locale (miles)."""

    urban: Miles
    suburban: Miles
    rural: Miles

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.urban, self.suburban, self.rural)


class Ramp(Strict):
    """A programme that rolls out linearly from ``initial`` at ``start`` to ``target`` over ``years``."""

    start: Date
    years: Years = 1.0
    initial: Share = 0.0
    target: Share = 0.0

    def level(self, on: dt.date) -> float:
        """The programme's level on a date: 0 before ``start``, then ``initial`` rising to ``target``."""
        if on < self.start:
            return 0.0
        progress = 1.0 if self.years == 0 else min(1.0, (on - self.start).days / (365.25 * self.years))
        return self.initial + (self.target - self.initial) * progress


class Trend(Strict):
    """A quantity that grows by ``per_year`` a year from ``start``, held from ``end`` (if given); 0 before
    ``start``. Used for what ordering online gains a year (``shoppers.online_gain``)."""

    start: Date
    end: Date | None = None
    per_year: float = Field(0.0, ge=-0.1, le=0.1)

    @model_validator(mode="after")
    def _ordered(self) -> Trend:
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"end ({self.end}) must come after start ({self.start})")
        return self

    def level(self, on: dt.date) -> float:
        """The trend's level on a date: ``per_year`` times the years since ``start`` (to ``end``)."""
        last = on if self.end is None else min(on, self.end)
        return self.per_year * max(0, (last - self.start).days) / 365.25


def first_jump(values: dict[int, float], ratio: float) -> tuple[int, int] | None:
    """The first two neighbouring listed years whose values differ by more than ``ratio`` either way
    (values on two bases, or in two units), or None."""
    years = sorted(values)
    return next(((before, after) for before, after in zip(years, years[1:])
                 if not 1 / ratio <= values[after] / values[before] <= ratio), None)


def _year_time(on: dt.date) -> float:
    """A date as a fractional year, each day at its middle (1 July 2024 is 2024.499)."""
    return on.year + (on.timetuple().tm_yday - 0.5) / (366 if calendar.isleap(on.year) else 365)


def _knot_weights(years: list[int], time: float, extend: bool) -> dict[int, float]:
    """Each year's weight in a yearly series at ``time`` (the series is linear in its values): its
    value sits at mid-year, the series is linear between mid-years and held beyond them or, with
    ``extend``, continues its first and last slopes to the start of the first year and the end of
    the last, then holds."""
    mids = [year + 0.5 for year in years]
    if len(years) == 1:
        return {years[0]: 1.0}
    time = min(max(time, years[0]), years[-1] + 1) if extend else min(max(time, mids[0]), mids[-1])
    k = next((k for k in range(1, len(mids)) if time < mids[k]), len(mids) - 1)
    weight = (time - mids[k - 1]) / (mids[k] - mids[k - 1])
    return {years[k - 1]: 1.0 - weight, years[k]: weight}


def yearly(values: dict[int, float], on: dt.date, *, extend: bool = False) -> float:
    """A yearly series on a date: each year's value is placed at mid-year, interpolated linearly
    between mid-years and held before the first and after the last (no forecast); with ``extend``,
    the end slopes run on to the first year's start and the last year's end before it is held."""
    weights = _knot_weights(sorted(values), _year_time(on), extend)
    return sum(values[year] * weight for year, weight in weights.items())


@lru_cache(maxsize=16)
def _knots_for_means(averages: tuple[tuple[int, float], ...]) -> dict[int, float]:
    years = [year for year, _ in averages]
    column = {year: k for k, year in enumerate(years)}
    mean_weights = np.zeros((len(years), len(years)))
    for row, year in enumerate(years):
        days = 366 if calendar.isleap(year) else 365
        for day in range(days):
            on = dt.date(year, 1, 1) + dt.timedelta(days=day)
            for knot, weight in _knot_weights(years, _year_time(on), True).items():
                mean_weights[row, column[knot]] += weight
        mean_weights[row] /= days
    knots = np.linalg.solve(mean_weights, [value for _, value in averages])
    return dict(zip(years, knots.tolist()))


def yearly_averages(averages: dict[int, float], on: dt.date) -> float:
    """A series of annual averages on a date: the ``yearly(..., extend=True)`` path through
    mid-year values chosen so that each year's mean over its days is that year's average.

    Placing the averages themselves at mid-year makes a rising series' years too high (the weeks
    of a year also lean on the years around it) and, once held from the last mid-year, its last
    year too low. Each year's mean weighs its own mid-year value by at least 3/4, so the linear
    system is diagonally dominant and has one solution."""
    return yearly(_knots_for_means(tuple(sorted(averages.items()))), on, extend=True)


@lru_cache(maxsize=1)
def state_codes() -> tuple[str, ...]:
    """The USPS codes of the 50 states and DC (the model's geography, ``sim/model/data/states.csv``)."""
    text = resources.files("sim").joinpath("model/data/states.csv").read_text(encoding="utf-8")
    return tuple(line.split(",", 1)[0] for line in text.splitlines()[1:] if line.strip())


def _state_codes(codes: list[str]) -> list[str]:
    valid = state_codes()
    for code in codes:
        if code not in valid:
            raise ValueError(f"'{code}' is not a state's USPS code; valid: {', '.join(valid)}")
    if len(set(codes)) != len(codes):
        raise ValueError("a state is listed twice")
    return codes


StateCodes = Annotated[list[str], Field(max_length=51), AfterValidator(_state_codes)]
