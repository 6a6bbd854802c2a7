"""The vectorized kernel against the per-agent reference: the same choices and membership decisions."""

from __future__ import annotations

import numpy as np
import pytest

from sim.model.market import RetailMarket

from .conftest import small
from .reference import ReferenceMarket


@pytest.mark.parametrize("levers", [
    {},
    {"walmart__agentic__adoption__start": "2021-01-01", "walmart__agentic__adoption__target": 0.6,
     "amazon__satellite__service__start": "2021-01-01", "amazon__satellite__service__target": 0.5,
     "walmart__dark_stores__count": 40, "amazon__health__kiosks": 300},
], ids=["defaults", "agents-dark-stores-kiosks"])
def test_vectorized_and_per_agent_models_make_the_same_decisions(levers: dict) -> None:
    """Week by week over 29 weeks (seven membership reviews), on 150 households."""
    scenario = small(population__shoppers=150, horizon__end="2021-04-26", horizon__warmup_weeks=12, **levers)
    fast, slow = RetailMarket(scenario, seed=12), ReferenceMarket(scenario, seed=12)
    weeks = reviews = 0
    held = None
    while fast.running:
        fast.step()
        slow.step()
        if held is None:
            held = (fast.households.prime.copy(), fast.households.walmart_plus.copy())
        weeks += 1
        reviews += fast.month_starts()
        assert np.array_equal(fast.choice, slow.choice), f"choices differ in week {weeks}"
        assert np.array_equal(fast.households.prime, slow.households.prime), f"Prime differs in week {weeks}"
        assert np.array_equal(fast.households.walmart_plus, slow.households.walmart_plus), f"Walmart+ in week {weeks}"
        assert np.allclose(fast.households.habit, slow.households.habit, rtol=0, atol=1e-12)
    assert weeks == 29 and reviews == 7
    assert np.array_equal(fast.households.prime_months, slow.households.prime_months)
    assert np.array_equal(fast.households.walmart_plus_months, slow.households.walmart_plus_months)
    # The decisions were not trivial: every channel was chosen, and memberships changed hands.
    assert len(np.unique(fast.choice)) == 4
    assert (held[0] != fast.households.prime).any() or (held[1] != fast.households.walmart_plus).any()
