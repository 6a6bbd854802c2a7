"""Strategic programme budgets (``sim/model/budgets.py``): a strategic Amazon's yearly choice of its rural
station budget, over a menu, by what each option's stations are worth against their capital."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import sim
from sim.model.budgets import annuity, with_stations
from sim.model.market import RetailMarket
from sim.scenario import apply_changes

REVIEW = dt.date(2024, 9, 2)  # the first month start on or after budgets_from


def reviewed(cost: float | None = None, shoppers: int = 1500, budgets: bool = True, **changes) -> RetailMarket:
    """A strategic market with the rural programme under way from June 2024 ($14M a station), stepped past
    its first budget review (September 2024); ``cost``: a station's cost from the week before it."""
    scenario = sim.Scenario(population={"shoppers": shoppers}, conduct="strategic",
                            horizon={"start": "2024-05-06", "end": "2024-12-30", "warmup_weeks": 4},
                            strategy={"budgets_from": dt.date(2024, 9, 1), "budgets": budgets},
                            amazon={"rural": {"cost_per_station_usd": 14e6}}, **changes)
    model = RetailMarket(scenario, seed=5)
    while model.date is None or model.date <= REVIEW:
        if cost is not None and model.dates[model.steps] == REVIEW:
            model.params = apply_changes(model.params, {"amazon.rural.cost_per_station_usd": cost})
        model.step()
    return model


@pytest.fixture(scope="module")
def model() -> RetailMarket:
    return reviewed()


def test_the_review_spends_the_option_worth_most_for_a_year(model: RetailMarket) -> None:
    review, = model.budgets.reviews
    yearly = model.scenario.amazon.rural.investment_per_year_usd
    assert review["date"] == REVIEW
    assert review["options"] == [m * yearly for m in (0.0, 0.5, 1.0, 1.5, 2.0)] and review["values"][0] == 0.0
    assert review["budget"] == review["options"][int(np.argmax(review["values"]))]
    rural = model.params.amazon.rural
    assert (rural.start, rural.end) == (REVIEW, REVIEW + dt.timedelta(days=364))  # to the next review's week
    assert rural.investment_per_year_usd == review["budget"] == model.amazon.rural_budget()


def test_more_stations_are_worth_more_each_less_than_the_one_before(model: RetailMarket) -> None:
    """On 10,000 households (fewer make the reach move by whole households): the objective rises with
    the stations, by less for each further block, and the reach is put back afterwards."""
    big = reviewed(shoppers=10_000)
    before = big.amazon.same_day_reach.copy(), {k: v.copy() for k, v in big.membership_value.items()}
    started = big.amazon.stations_started
    worth = [sum(with_stations(big, started + extra)[::2]) for extra in (0.0, 60.0, 120.0, 180.0)]
    gains = np.diff(worth)
    assert (gains > 0).all() and gains[0] > gains[1] > gains[2]
    assert np.array_equal(big.amazon.same_day_reach, before[0])
    assert all(np.array_equal(big.membership_value[k], v) for k, v in before[1].items())


def test_cheaper_stations_buy_more_stations() -> None:
    """The same market (the stations started before the review at $14M), its stations costing from the
    review on $3M to $100M: the stations bought never rise with their cost (the budget may: cheap
    stations saturate the reach sooner); at $100M none pays; at $14M (the fitted cost) the best lies
    inside the menu."""
    costs = (3e6, 5e6, 14e6, 100e6)
    chosen = [reviewed(cost).budgets.reviews[0]["budget"] for cost in costs]
    stations = [budget / cost for budget, cost in zip(chosen, costs)]
    yearly = sim.Scenario().amazon.rural.investment_per_year_usd
    assert stations == sorted(stations, reverse=True) and stations[0] > stations[2] > 0
    assert 0.0 < chosen[2] < 2.0 * yearly and chosen[-1] == 0.0


def test_a_budget_a_what_if_sets_is_not_reviewed() -> None:
    """An event from ``budgets_from`` on that sets the budget (here inside the block it sets) is the
    what-if's lever: no review overrides it; nor is there one with ``strategy.budgets`` off."""
    model = reviewed(events=[{"date": "2024-09-01", "set": {"amazon.rural": {"investment_per_year_usd": 3.2e9}}}])
    assert model.budgets.reviews == [] and model.params.amazon.rural.investment_per_year_usd == 3.2e9
    off = reviewed(budgets=False)
    assert off.budgets.reviews == []


def test_the_discounting() -> None:
    """A dollar a week for a year, from now, at 0%: 52 dollars; a later start or a positive rate is worth less."""
    assert annuity(0.0, 0, 1.0) == pytest.approx(52.0)
    assert annuity(0.09, 0, 1.0) < 52.0 and annuity(0.09, 26, 1.0) == pytest.approx(
        annuity(0.09, 0, 1.0) * 1.09 ** -0.5, rel=1e-3)
