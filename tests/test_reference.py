"""The vectorized kernel against the per-agent reference: the same choices, habits, membership
decisions and consumer surplus."""

from __future__ import annotations

import numpy as np
import pytest

from sim.model.market import RetailMarket

from .conftest import small
from .reference import ReferenceMarket


@pytest.mark.parametrize("levers", [
    {},
    # Agents from before the first review (members among them), so values are checked with agents.
    {"walmart__agentic__adoption__start": "2020-06-01", "walmart__agentic__adoption__years": 1.0,
     "walmart__agentic__adoption__target": 0.6,
     "amazon__satellite__service__start": "2021-01-01", "amazon__satellite__service__target": 0.5,
     "walmart__dark_stores__count": 40, "amazon__health__kiosks": 300,
     # Services that reach some households and not others: Whole Foods fresh grocery, clinics in their
     # states (enough of them to reach a good part of those states), half the stores service platforms,
     # Kroger's turnaround under way; members pay no delivery fee from $300 a week (so some do pay).
     "amazon__whole_foods__roll_out__start": "2020-09-01", "amazon__whole_foods__roll_out__target": 1.0,
     "walmart__health__clinics": 300, "walmart__store_services__level": 0.5,
     "kroger__turnaround__programme__start": "2020-06-01", "kroger__turnaround__programme__target": 1.0,
     "walmart__online__member_free_delivery_minimum_usd": 300.0,
     # Households' lasting liking for each firm (dollars off each of its orders).
     "shoppers__firm_taste_sd_usd__amazon": 25.0, "shoppers__firm_taste_sd_usd__walmart": 15.0,
     "shoppers__firm_taste_sd_usd__rivals": 5.0, "shoppers__walmart_online_taste_sd_usd": 20.0,
     # A growing class of Walmart online regulars.
     "shoppers__walmart_online_regular_share": 0.2, "shoppers__walmart_online_regular_taste_usd": 40.0,
     "shoppers__walmart_online_regular_growth__per_year": 0.1},
], ids=["defaults", "agents-dark-stores-kiosks-services"])
def test_vectorized_and_per_agent_models_make_the_same_decisions(levers: dict) -> None:
    """Week by week over 29 weeks (seven membership reviews), on 150 households, from the same start
    (memberships launched and habits settled household by household in the reference)."""
    scenario = small(population__shoppers=150, horizon__end="2021-04-26", horizon__warmup_weeks=12, **levers)
    fast, slow = RetailMarket(scenario, seed=12), ReferenceMarket(scenario, seed=12)
    weeks = reviews = 0
    held = None
    while fast.running:
        fast.step()
        slow.step()
        if held is None:
            held = (fast.households.prime.copy(), fast.households.walmart_plus.copy())
            assert np.array_equal(held[0], slow.households.prime), "launched differently"
            assert np.array_equal(held[1], slow.households.walmart_plus), "launched differently"
        weeks += 1
        if fast.month_starts():
            reviews += 1
            # Each household's value of each membership (before its taste), agents' included: the
            # loyalty of a member whose agent shops is not taken out of a lean it never had.
            for name in ("prime", "walmart_plus"):
                slow_values = np.array([shopper.values[name] for shopper in slow.reference_shoppers])
                assert np.allclose(fast.membership_value[name], slow_values, rtol=1e-9, atol=1e-6), \
                    f"{name} values differ in week {weeks}"
        assert np.array_equal(fast.choice, slow.choice), f"choices differ in week {weeks}"
        assert np.array_equal(fast.households.prime, slow.households.prime), f"Prime differs in week {weeks}"
        assert np.array_equal(fast.households.walmart_plus, slow.households.walmart_plus), f"Walmart+ in week {weeks}"
        assert np.allclose(fast.households.habit, slow.households.habit, rtol=0, atol=1e-12)
        assert np.allclose(fast.surplus, slow.surplus, rtol=1e-10, atol=1e-9), f"surplus differs in week {weeks}"
        assert np.allclose(fast.spend, slow.spend, rtol=1e-12) and np.allclose(fast.quantity, slow.quantity, rtol=1e-12)
    assert weeks == 29 and reviews == 7
    assert np.array_equal(fast.households.prime_months, slow.households.prime_months)
    assert np.array_equal(fast.households.walmart_plus_months, slow.households.walmart_plus_months)
    # The decisions were not trivial: every channel was chosen, and memberships changed hands.
    assert len(np.unique(fast.choice)) == fast.choice.max() + 1 == 5
    assert (held[0] != fast.households.prime).any() or (held[1] != fast.households.walmart_plus).any()
    if levers:  # the scoped services reached some households and missed others
        flags = fast.access.flags()
        for flag in ("whole_foods", "clinic", "store_services", "kroger_store", "agent", "kiosk"):
            assert 0 < flags[flag].sum() < fast.households.n, flag
