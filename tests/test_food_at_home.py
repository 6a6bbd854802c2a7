"""Real food-at-home spending per household (shoppers.food_at_home_real): the grocery category's
national size by year, USDA ERS's series by default, flat with one year."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import sim
from sim.cli import main
from sim.model.market import RetailMarket, food_at_home_per_household
from sim.scenario.schema import FOOD_AT_HOME_ERS
from sim.vocabulary import GROCERY

SMALL = {"population": {"shoppers": 300}, "horizon": {"start": "2021-01-04", "end": "2021-03-01", "warmup_weeks": 2}}


def test_one_year_holds_grocery_at_the_budgets_size_every_week_and_the_default_is_ers() -> None:
    scenario = sim.Scenario(**SMALL, shoppers={"food_at_home_real": {2024: 1.0}})
    assert all(food_at_home_per_household(scenario, dt.date(year, 3, 1)) == 1.0 for year in range(2019, 2032))
    assert sim.Scenario().shoppers.food_at_home_real == FOOD_AT_HOME_ERS


def test_ers_series_is_per_household_over_2024_and_held_after_its_last_year() -> None:
    """ERS's real food-at-home spending fell 2.8% from 2021 to 2024 in total while households grew 4.1%:
    per household 2021 was about 7% above 2024. A year's mean is its value; after 2024 it is held."""
    scenario = sim.Scenario()
    population = scenario.population

    def mean(year: int) -> float:
        days = [dt.date(year, 1, 1) + dt.timedelta(days=d) for d in range(0, 365, 7)]
        return float(np.mean([food_at_home_per_household(scenario, day) for day in days]))

    def expected(year: int) -> float:  # the year's total over 2024's, times 2024's households over the year's
        return (FOOD_AT_HOME_ERS[year] / FOOD_AT_HOME_ERS[2024]
                * population.households_on(dt.date(2024, 7, 2)) / population.households_on(dt.date(year, 7, 2)))

    for year in (2021, 2022, 2023, 2024):
        assert mean(year) == pytest.approx(expected(year), abs=0.004), year
    assert 1.06 < mean(2021) < 1.08 and mean(2024) == pytest.approx(1.0, abs=0.004)
    # Held at the last year's annual level per household (2024's: 1), not at the path's year-end value.
    assert food_at_home_per_household(scenario, dt.date(2025, 1, 1)) == 1.0
    assert food_at_home_per_household(scenario, dt.date(2029, 6, 1)) == 1.0
    rising = sim.Scenario(shoppers={"food_at_home_real": {2024: 97.17, 2025: 190.0}})
    held = food_at_home_per_household(rising, dt.date(2027, 6, 1))
    assert held == pytest.approx(190.0 / 97.17 * population.households_on(dt.date(2024, 7, 2))
                                 / population.households_on(dt.date(2025, 7, 2)))


def test_grocery_sales_scale_with_it_and_choices_do_not() -> None:
    """The series moves the grocery category's national size, not what households choose: the same
    seed gives the same choices, and the week's grocery sales differ by the factor alone."""
    markets = [RetailMarket(sim.Scenario(**SMALL, shoppers={"food_at_home_real": series}), seed=4)
               for series in ({2024: 1.0}, FOOD_AT_HOME_ERS)]
    for market in markets:
        for _ in range(4):
            market.step()
    flat, ers = markets
    np.testing.assert_array_equal(flat.choice, ers.choice)
    factor = food_at_home_per_household(ers.params, ers.date)
    week = np.ones((2, 3))
    ratio = ers.to_sales(week) / flat.to_sales(week)
    assert ratio[0, GROCERY] == pytest.approx(factor, rel=1e-12) and factor > 1.03
    assert np.all(ratio[:, GROCERY + 1:] == 1.0)


@pytest.mark.parametrize("value, words", [
    ("{2023: 1.0, 2024: 3.0}", "mixes two bases"),
    ("{2024: 0}", "greater than 0"),
])
def test_a_bad_series_is_one_line_at_its_place(tmp_path, capsys, value: str, words: str) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(f"name: f\nshoppers:\n  food_at_home_real: {value}\n", encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "f.yaml" in error and words in error, error


def test_a_set_series_without_2024_is_one_line_and_writes_nothing(tmp_path, capsys) -> None:
    """``--set`` replaces the series (a file's years add to the shipped 2024), so it must hold 2024."""
    out = tmp_path / "out"
    assert main(["run", "scenarios/baseline.yaml", "--set", "shoppers.food_at_home_real={2023: 1}",
                 "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "has no 2024, the year of the households' budgets" in error
    assert not out.exists()
