"""Households' incomes and weekly budgets: their defaults reproduce the published figures they are
sourced from (docs/MODEL.md, 7.8), and one number still sets a per-category elasticity."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.model.market import RetailMarket
from sim.run import resolve
from sim.scenario import Scenario

from .conftest import small

# BLS Consumer Expenditure Survey 2024, mean per consumer unit, dollars a week (docs/MODEL.md, 7.8).
CE_2024_WEEKLY = {"grocery": 8033.85 / 52.14, "discretionary": 5395.5 / 52.14, "health": 890.73 / 52.14}


@pytest.fixture(scope="module")
def households():
    return RetailMarket(small(population__shoppers=20_000)).households


def test_mean_budgets_are_the_consumer_expenditure_surveys(households) -> None:
    means = households.budget.mean(axis=1)
    for k, category in enumerate(("grocery", "discretionary", "health")):
        assert means[k] == pytest.approx(CE_2024_WEEKLY[category], rel=0.02), category


def test_incomes_have_censuss_median_and_gini() -> None:
    """The lognormal's Gini, 2 Phi(sigma / sqrt 2) - 1, is Census's 0.485; the median of all
    households sits within 1% of Census's $83,730 (rural households' is 0.965 of the others')."""
    people = Scenario().population
    assert math.erf(people.income_sigma / 2) == pytest.approx(0.485, abs=0.002)  # = 2 Phi(sigma / sqrt 2) - 1
    income = RetailMarket(small(population__shoppers=20_000)).households.income
    assert np.median(income) == pytest.approx(83_730, rel=0.01)


def test_richer_households_spend_more_on_general_merchandise_than_on_groceries(households) -> None:
    """Budgets rise with income at the CE's slopes: 0.5 for general merchandise, 0.3 for groceries."""
    relative = np.log(households.income / Scenario().population.median_income_usd)
    slopes = [np.polyfit(relative, np.log(households.budget[k]), 1)[0] for k in range(3)]
    assert slopes == pytest.approx([0.3, 0.5, 0.3], abs=1e-9)


@pytest.mark.parametrize("value", [0.4, "4e-1"])
def test_one_number_sets_every_categorys_elasticity(value) -> None:
    elasticity = resolve(Scenario(), {"shoppers.budget_income_elasticity": value}).shoppers.budget_income_elasticity
    assert elasticity.as_tuple() == (0.4, 0.4, 0.4)


def test_the_editor_schema_accepts_one_number_or_three() -> None:
    field = Scenario.model_json_schema()["$defs"]["ShopperBehaviour"]["properties"]["budget_income_elasticity"]
    assert {"type": "number"} in field["anyOf"] and any("$ref" in option for option in field["anyOf"])
