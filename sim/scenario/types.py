"""Building blocks of the scenario schema: strict models, bounded numbers, dates, ramps."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

CATEGORIES = ("grocery", "discretionary", "health")
LOCALES = ("urban", "suburban", "rural")


class Strict(BaseModel):
    """Base of every scenario block: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


_MONTH = re.compile(r"^\d{4}-\d{2}$")


def parse_date(value: object) -> object:
    """Accept a date, ``YYYY-MM-DD`` or ``YYYY-MM`` (meaning the first day of that month)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str) and _MONTH.match(value.strip()):
        year, month = value.strip().split("-")
        try:
            return dt.date(int(year), int(month), 1)
        except ValueError:
            raise ValueError(f"'{value}' is not a valid month; use YYYY-MM or YYYY-MM-DD") from None
    return value


Date = Annotated[
    dt.date,
    BeforeValidator(parse_date),
    PlainSerializer(lambda d: d.isoformat(), return_type=str),
    Field(description="A date: YYYY-MM-DD, or YYYY-MM for the first day of that month"),
]
Share = Annotated[float, Field(ge=0.0, le=1.0, description="A share between 0 and 1")]
Money = Annotated[float, Field(ge=0.0, description="US dollars, not negative")]
Positive = Annotated[float, Field(gt=0.0)]
NonNegative = Annotated[float, Field(ge=0.0)]


class CategoryValues(Strict):
    """One number per shopping category."""

    grocery: float
    discretionary: float
    health: float

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.grocery, self.discretionary, self.health)


class CategoryPrices(CategoryValues):
    """A price index per category (1.0 = the market's reference basket price)."""

    grocery: Positive = 1.0
    discretionary: Positive = 1.0
    health: Positive = 1.0


class LocaleShares(Strict):
    """One share per locale."""

    urban: Share
    suburban: Share
    rural: Share

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.urban, self.suburban, self.rural)


class LocaleValues(Strict):
    """One positive number per locale."""

    urban: Positive
    suburban: Positive
    rural: Positive

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.urban, self.suburban, self.rural)


class Ramp(Strict):
    """A programme that rolls out linearly from ``initial`` at ``start`` to ``target`` over ``years``."""

    start: Date
    years: NonNegative = 1.0
    initial: Share = 0.0
    target: Share = 0.0

    def level(self, on: dt.date) -> float:
        """The programme's level on a date: 0 before ``start``, then ``initial`` rising to ``target``."""
        if on < self.start:
            return 0.0
        progress = 1.0 if self.years == 0 else min(1.0, (on - self.start).days / (365.25 * self.years))
        return self.initial + (self.target - self.initial) * progress
