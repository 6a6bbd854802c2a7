"""Walmart's dark stores (``sim/firms/walmart.py``, docs/MODEL.md 7.4): each reaches urban and suburban
households with express delivery and fulfils up to its capacity of Walmart's online orders, on which
it saves a share of the delivery cost. Capacity, not reach, bounds the saving."""

from __future__ import annotations

import pytest

import sim
from sim.model.market import RetailMarket
from sim.vocabulary import RURAL, WALMART_ONLINE


def stepped(count: int, weeks: int = 3, **dark) -> RetailMarket:
    """A small market with ``count`` dark stores from the start, stepped ``weeks`` weeks; ``before``: the
    online orders of the week before the last (from which the last week's share was set)."""
    scenario = sim.Scenario(population={"shoppers": 800}, horizon={"start": "2026-01-05", "end": "2026-06-29",
                                                                   "warmup_weeks": 2},
                            walmart={"dark_stores": {"count": count, **dark}})
    model = RetailMarket(scenario, seed=3)
    for _ in range(weeks):
        model.before = model.walmart._online_orders
        model.step()
    return model


def saving(model: RetailMarket) -> float:
    """What dark stores saved Walmart this week: its delivery cost without them, less the ledger's."""
    orders = float(model._sales().orders[WALMART_ONLINE].sum())
    return orders * model.params.walmart.online.fulfillment_cost_per_order_usd - model.walmart.ledger["fulfillment_cost"]


def test_the_stores_fulfil_up_to_their_capacity_against_last_weeks_orders() -> None:
    model = stepped(40)
    walmart, dark = model.walmart, model.params.walmart.dark_stores
    metro = 1.0 - model.geography.locale_share(RURAL)
    assert model.before > 0 and walmart.dark_store_share == pytest.approx(40 * dark.households_per_dark_store
                                                                           / walmart._metro_households)
    # This week's share was set before it, from the orders of the week before; capacity binds.
    assert walmart.dark_store_orders == pytest.approx(40 * dark.orders_per_week / model.before, rel=1e-12)
    assert walmart.dark_store_orders < walmart.dark_store_share * metro
    walmart.prepare(model.date, model.offer)  # next week's, from this week's orders
    assert walmart.dark_store_orders == pytest.approx(40 * dark.orders_per_week / walmart._online_orders, rel=1e-12)


def test_capacity_bounds_the_saving_and_reach_bounds_it_once_capacity_is_ample() -> None:
    """At the sourced 7,000 orders a week, each store saves its capacity's worth (so 40 stores save twice
    what 20 do); with room for every order, the stores save on their households' orders only."""
    dark = sim.Scenario().walmart.dark_stores
    cost = sim.Scenario().walmart.online.fulfillment_cost_per_order_usd
    per_store = dark.orders_per_week * dark.fulfillment_cost_discount * cost
    twenty, forty = stepped(20), stepped(40)
    for model, count in ((twenty, 20), (forty, 40)):
        orders = float(model._sales().orders[WALMART_ONLINE].sum())
        assert saving(model) == pytest.approx(count * per_store * orders / model.before, rel=1e-9)
        assert 0.8 * count * per_store < saving(model) < 1.2 * count * per_store
    ample = stepped(20, orders_per_week=1e7)
    metro = 1.0 - ample.geography.locale_share(RURAL)
    orders = float(ample._sales().orders[WALMART_ONLINE].sum())
    reach_bound = ample.walmart.dark_store_share * metro * orders * dark.fulfillment_cost_discount * cost
    assert saving(ample) == pytest.approx(reach_bound, rel=1e-9)
    assert saving(ample) > 10 * saving(twenty)


def test_no_dark_store_saves_nothing_and_the_share_is_recorded() -> None:
    model = stepped(0)
    assert model.walmart.dark_store_orders == 0.0 and saving(model) == pytest.approx(0.0, abs=1e-6)
    result = sim.run(sim.Scenario(population={"shoppers": 300}, horizon={"end": "2021-03-01", "warmup_weeks": 2},
                                  walmart={"dark_stores": {"count": 30}}), seed=1)
    shares = result.timeseries.query("metric == 'walmart_dark_store_orders'")["value"]
    assert len(shares) > 0 and (shares > 0).all() and (shares < 0.05).all()
