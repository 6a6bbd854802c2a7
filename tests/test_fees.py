"""Strategic membership fees (``sim/model/fees.py``): the long-run membership rule each firm's choice
rests on, the member value backed out of the posted fee, and what the reviews do with it."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import sim
from sim.model.market import RetailMarket
from sim.model.memberships import decide, long_run_share
from sim.scenario import apply_changes

FEES_FROM = dt.date(2021, 3, 1)


def test_long_run_share_is_where_the_monthly_rules_settle() -> None:
    """The formula against the rules themselves: 40,000 households with their own net values join and
    leave month by month for 100 years; the share holding, by band of net value, is the formula's."""
    behaviour = sim.Scenario().memberships.model_copy(update={"churn_floor_per_year": 0.05,
                                                             "value_churn_per_year": 0.6})
    rng = np.random.default_rng(3)
    net = rng.normal(0.0, 40.0, 40_000)
    neighbours = np.full(net.size, 0.4)
    holds, months = np.zeros(net.size, dtype=bool), np.zeros(net.size, dtype=np.int32)
    for _ in range(1200):
        holds, months = decide(holds, months, net, neighbours, rng.random(net.size), behaviour)
    expected = long_run_share(net, neighbours, behaviour)
    bands = np.digitize(net, [-40.0, -10.0, 10.0, 40.0])
    means = []
    for band in range(5):
        inside = bands == band
        assert abs(holds[inside].mean() - expected[inside].mean()) < 0.02, band
        means.append(expected[inside].mean())
    assert np.all(np.diff(means) > 0.02) and means[-1] > 3 * means[0]  # the more it pays, the more hold it


def test_long_run_share_at_the_edges() -> None:
    behaviour = sim.Scenario().memberships.model_copy(update={"churn_floor_per_year": 0.0,
                                                             "value_churn_per_year": 0.0})
    net = np.array([-50.0, 0.0, 50.0])
    assert np.array_equal(long_run_share(net, np.full(3, 0.5), behaviour), np.ones(3))  # nobody ever leaves
    no_word = behaviour.model_copy(update={"innovation_p_per_year": 0.0})
    assert np.array_equal(long_run_share(net, np.zeros(3), no_word), np.zeros(3))  # nobody ever joins


def market_before_fees(shoppers: int = 1500, **changes) -> RetailMarket:
    """A strategic market stepped to the week before its first fee review (1 March 2021)."""
    scenario = sim.Scenario(population={"shoppers": shoppers}, conduct="strategic",
                            horizon={"start": "2021-01-04", "end": "2021-12-27", "warmup_weeks": 4},
                            strategy={"fees_from": FEES_FROM}, **changes)
    model = RetailMarket(scenario, seed=5)
    while model.dates[model.steps] < FEES_FROM:
        model.step()
    return model


def step_to_review(model: RetailMarket) -> None:
    while not model.date >= FEES_FROM or not model.month_starts():
        model.step()


@pytest.fixture(scope="module")
def before() -> RetailMarket:
    return market_before_fees()


def test_the_member_value_makes_the_posted_fee_the_long_run_best(before) -> None:
    fees = before.fees
    assert [firm.name for firm in fees.firms] == ["amazon", "walmart"]
    for firm in fees.firms:
        value = fees.member_value[firm.membership]
        assert np.isfinite(value) and value > 0, (firm.name, value)
        posted = firm.membership_terms.fee_annual
        here = fees.long_run_profit(firm, posted)
        for step in (-10.0, -1.0, 1.0, 10.0):
            assert fees.long_run_profit(firm, posted + step) < here, (firm.name, step)
        # fewer long-run members at a higher fee, and the profit's slope is zero at the posted fee
        assert fees.members(firm, posted + 10).sum() < fees.members(firm, posted).sum()
        slope = (fees.long_run_profit(firm, posted + 0.5) - fees.long_run_profit(firm, posted - 0.5)) / here
        assert abs(slope) < 2e-3, (firm.name, slope)


def test_a_firms_long_run_members_are_where_the_households_own_reviews_settle() -> None:
    """What a firm expects at its posted fee against the market itself: the households' monthly
    membership reviews (``households_review_memberships``, the model's own draws), repeated for 60
    years on this month's values, end where :meth:`FeeConduct.members` says, firm by firm."""
    model = market_before_fees(shoppers=4000)
    expected = {firm.membership: model.fees.members(firm, firm.membership_terms.fee_annual).mean()
                for firm in model.fees.firms}
    for _ in range(720):
        model.households_review_memberships()
    for name, share in expected.items():
        assert abs(getattr(model.households, name).mean() - share) < 0.03, (name, share)


def test_with_nothing_changed_the_first_review_holds_the_fees() -> None:
    model = market_before_fees()
    step_to_review(model)
    assert model.fees.next_review["prime"] > FEES_FROM  # reviewed
    assert model.params.amazon.prime.fee_annual == model.scenario.amazon.prime.fee_annual
    assert model.params.walmart.walmart_plus.fee_annual == model.scenario.walmart.walmart_plus.fee_annual


@pytest.mark.parametrize("key, delta, direction", [("prime.perks_value_usd", 60.0, 1),
                                                     ("accounts.content_cost_per_member_year_usd", -60.0, -1)])
def test_a_firm_moves_its_fee_with_its_members_demand_and_cost(key: str, delta: float, direction: int) -> None:
    """Once its member value is measured, Prime's perks worth $60 more a year to every household raise
    Amazon's long-run best fee (it raises its fee at its review, along its menu); a member's content
    costing $60 less lowers it (it cuts). Walmart's fee, whose market did not move, holds."""
    model = market_before_fees()
    dotted = f"amazon.{key}"
    now = model.params.amazon.model_dump()
    for part in key.split("."):
        now = now[part]
    model.params = apply_changes(model.params, {dotted: now + delta})
    step_to_review(model)
    change = model.params.amazon.prime.fee_annual - model.scenario.amazon.prime.fee_annual
    assert np.sign(change) == direction and abs(change) in (10.0, 20.0), change
    assert model.params.walmart.walmart_plus.fee_annual == model.scenario.walmart.walmart_plus.fee_annual


def test_after_a_fee_change_the_households_weigh_the_new_fee_the_same_month() -> None:
    """The review moves this month's valuations by the change: what the households then decide on is
    what valuing the memberships afresh at the new fee gives."""
    model = market_before_fees()
    model.params = apply_changes(model.params, {"amazon.prime.perks_value_usd":
                                                model.params.amazon.prime.perks_value_usd + 60.0})
    model.steps += 1  # the review week's phases up to the review (1 March 2021 starts a month)
    model.date = model.dates[model.steps - 1]
    model.apply_events()
    model.firms_prepare_offers()
    assert model.date == FEES_FROM and model.month_starts()
    model.households_shop()  # values the memberships at the fee posted before the review
    valued = {name: values.copy() for name, values in model.membership_value.items()}
    model.fees.month()
    raised = model.params.amazon.prime.fee_annual - model.scenario.amazon.prime.fee_annual
    assert raised > 0
    assert np.allclose(model.membership_value["prime"], valued["prime"] - raised / model.price_level)
    model.value_memberships()  # afresh, on the same offers, at the new fee
    assert np.allclose(model.membership_value["prime"], valued["prime"] - raised / model.price_level)


def test_a_history_that_ends_before_the_run_is_measured_at_its_first_month() -> None:
    scenario = sim.Scenario(population={"shoppers": 1500}, conduct="strategic",
                            horizon={"start": "2021-01-04", "end": "2021-12-27", "warmup_weeks": 4},
                            strategy={"fees_from": "2019-01-01"})
    model = RetailMarket(scenario, seed=5)
    model.step()
    assert model.month_starts() and np.isfinite(model.fees.member_value["prime"])


@pytest.mark.parametrize("scripted", [False, True])
def test_a_fee_the_scenario_sets_from_the_reviews_on_is_the_what_ifs_lever(scripted: bool) -> None:
    """Walmart+'s perks worth $80 more after its member value is measured: Walmart raises its fee at its
    review, unless an event of the scenario sets the fee from the first review on (the what-if's lever)."""
    cut = {"date": "2021-03-01", "label": "cut", "set": {"walmart.walmart_plus.fee_annual": 49}}
    events = [cut] if scripted else []
    model = market_before_fees(events=events)
    model.params = apply_changes(model.params, {"walmart.walmart_plus.perks_value_usd":
                                                model.params.walmart.walmart_plus.perks_value_usd + 80.0})
    step_to_review(model)
    for _ in range(10):
        model.step()
    fee = model.params.walmart.walmart_plus.fee_annual
    assert fee == 49 if scripted else fee > model.scenario.walmart.walmart_plus.fee_annual
    assert model.fees.held(model.walmart) == scripted and not model.fees.held(model.amazon)


def test_an_event_that_sets_the_fee_inside_its_block_is_the_what_ifs_lever_too() -> None:
    from sim.model.fees import scripted_from

    events = [{"date": "2026-03-01", "set": {"amazon.prime": {"fee_annual": 159, "perks_value_usd": 40}}},
              {"date": "2026-02-01", "set": {"amazon.prime.perks_value_usd": 50}},
              {"date": "2027-01-01", "set": {"walmart": {"walmart_plus": {"fee_annual": 49}}}}]
    model = RetailMarket(sim.Scenario(population={"shoppers": 300}, conduct="strategic", events=events), seed=1)
    assert scripted_from(model.scenario, model.amazon, dt.date(2026, 1, 1)) == dt.date(2026, 3, 1)
    assert scripted_from(model.scenario, model.walmart, dt.date(2026, 1, 1)) == dt.date(2027, 1, 1)
    assert scripted_from(model.scenario, model.walmart, dt.date(2027, 6, 1)) is None


def test_an_event_that_turns_the_fees_off_stops_the_reviews() -> None:
    off = {"date": "2021-02-15", "set": {"strategy.fees": False}}
    model = market_before_fees(events=[off])
    model.params = apply_changes(model.params, {"amazon.prime.perks_value_usd":
                                                model.params.amazon.prime.perks_value_usd + 60.0})
    step_to_review(model)
    assert model.fees.firms == []
    assert model.params.amazon.prime.fee_annual == model.scenario.amazon.prime.fee_annual


def test_fees_are_not_reviewed_without_strategic_conduct_or_with_fees_off() -> None:
    assert RetailMarket(sim.Scenario(population={"shoppers": 300}), seed=1).fees is None
    off = RetailMarket(sim.Scenario(population={"shoppers": 300}, conduct="strategic",
                                    strategy={"fees": False}), seed=1)
    assert off.fees.firms == []
