"""How strategic firms review their prices and fees (``conduct: strategic``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from .types import Date, Share, Strict


class CostOfCapital(Strict):
    """Each firm's weighted average cost of capital: what a programme's future gains are discounted at."""

    amazon: Share = Field(0.09, description="2024-25 estimates: 9.36% (ValueSense), 8.3% (Neyman), 9.66% "
                          "(DeepViews); automated model outputs (L)")
    walmart: Share = Field(0.071, description="7.1% (ValueSense, February 2025; L)")


class Strategy(Strict):
    """How strategic firms review their prices and fees (``conduct: strategic``; docs/strategy.md)."""

    firms: list[Literal["amazon", "walmart", "kroger", "rivals"]] = Field(
        ["amazon", "walmart", "kroger", "rivals"], min_length=1, max_length=4,
        description="Firms that set their prices (and fees) as best responses; the others keep the scenario's")
    categories: list[Literal["grocery", "discretionary", "health"]] = Field(
        ["grocery", "discretionary"], max_length=3,
        description="Categories whose prices strategic firms set; health is left out by default: insurers' "
                    "contracts set most prescription prices, and a firm's health demand in the model is "
                    "inelastic (about -0.55), where no price maximises profit (docs/strategy.md)")
    review_weeks: int = Field(13, ge=1, le=520, description="Weeks between price reviews (13: quarterly)")
    max_step: Share = Field(0.02, description="Largest change of a price at one review (0.02 = 2%)")
    floor: float = Field(0.7, gt=0, le=10, description="Lowest multiplier of the scenario's prices")
    ceiling: float = Field(1.5, gt=0, le=10, description="Highest multiplier of the scenario's prices")
    difference: float = Field(0.005, ge=1e-4, le=0.1, description="Relative price step of the derivatives "
                              "(below 0.01% a step is lost in rounding)")
    fees: bool = Field(True, description="Whether strategic firms also choose their membership fees, yearly")
    fees_from: Date = Field(dt.date(2026, 1, 1), description="First fee review (before it, the timeline's fees)")
    fee_steps: list[Annotated[float, Field(ge=-200, le=200)]] = Field(
        [-20.0, -10.0, 10.0, 20.0], min_length=1, max_length=20,
        description="A fee review's menu: changes of the posted fee, dollars (holding it is always on it)")
    fee_hold_years: int = Field(4, ge=1, le=20, description="Years a changed fee is held before the next "
                                "review (4: Amazon's US Prime rises of 2014, 2018 and 2022)")

    budgets: bool = Field(True, description="Whether a strategic Amazon also chooses its rural station budget, "
                          "yearly (docs/strategy.md)")
    budgets_from: Date = Field(dt.date(2026, 1, 1), description="First budget review (before it, the timeline's)")
    budget_multiples: list[Annotated[float, Field(ge=0, le=10)]] = Field(
        [0.0, 0.5, 1.0, 1.5, 2.0], min_length=1, max_length=20,
        description="A budget review's menu: multiples of the scenario's yearly station budget")
    cost_of_capital: CostOfCapital = CostOfCapital()

    @field_validator("firms", "categories", "fee_steps", "budget_multiples")
    @classmethod
    def _each_once(cls, values: list) -> list:
        twice = [value for number, value in enumerate(values) if value in values[:number]]
        if twice:
            raise ValueError(f"{twice[0]!r} is listed twice; list each once")
        return values

    @field_validator("fee_steps")
    @classmethod
    def _steps_change(cls, steps: list[float]) -> list[float]:
        if 0 in steps:
            raise ValueError("0 is not a step: holding the fee is always on the menu; list changes only")
        return steps

    @model_validator(mode="after")
    def _ordered(self) -> Strategy:
        if self.floor > 1.0 or self.ceiling < 1.0:
            raise ValueError(f"floor ({self.floor}) must be at most 1 and ceiling ({self.ceiling}) at least 1")
        return self
