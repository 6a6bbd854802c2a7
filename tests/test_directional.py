"""Stylised facts the model must reproduce: levers move outcomes the way economics says.

Each check runs the same seed twice (common random numbers), so the difference is the lever's.
"""

from __future__ import annotations

import sim

from .conftest import small

SIZE = {"population__shoppers": 3000, "horizon__end": "2022-12-26"}


def late_mean(result: sim.Result, metric: str, **dimensions: str) -> float:
    """Mean over the last 26 weeks of the horizon."""
    return float(result.series(metric, **dimensions).iloc[-26:].mean())


def test_a_higher_prime_fee_lowers_prime_membership() -> None:
    low = sim.run(small(**SIZE, amazon__prime__fee_annual=119), seed=8)
    high = sim.run(small(**SIZE, amazon__prime__fee_annual=199), seed=8)
    assert late_mean(high, "prime_share") < late_mean(low, "prime_share") - 0.02


def test_wider_express_coverage_raises_walmart_grocery_delivery_share() -> None:
    narrow = sim.run(small(**SIZE, walmart__express__radius_miles=5), seed=8)
    wide = sim.run(small(**SIZE, walmart__express__radius_miles=30), seed=8)
    assert late_mean(wide, "walmart_express_coverage") > late_mean(narrow, "walmart_express_coverage") + 0.2
    online = {"category": "grocery", "segment": "walmart_online"}
    assert late_mean(wide, "channel_share", **online) > late_mean(narrow, "channel_share", **online)


def test_more_return_fraud_raises_marketplace_prices_and_pushes_sellers_out_of_fba() -> None:
    calm = sim.run(small(**SIZE, returns__fraud_share_of_returns=0.05), seed=8)
    surge = sim.run(small(**SIZE, returns__fraud_share_of_returns=0.35), seed=8)
    for category in ("grocery", "discretionary", "health"):
        assert late_mean(surge, "price_index", firm="amazon", category=category) > late_mean(
            calm, "price_index", firm="amazon", category=category)
    assert late_mean(surge, "marketplace_fba_share", firm="amazon") < late_mean(calm, "marketplace_fba_share", firm="amazon")
    assert late_mean(surge, "fraud_loss", firm="amazon") > late_mean(calm, "fraud_loss", firm="amazon")


def test_a_walmart_plus_fee_cut_raises_walmart_plus_and_dual_membership() -> None:
    base = sim.run(small(**SIZE), seed=8)
    cut = sim.run(small(**SIZE, walmart__walmart_plus__fee_annual=49), seed=8)
    assert late_mean(cut, "walmart_plus_share") > late_mean(base, "walmart_plus_share") + 0.02
    assert late_mean(cut, "membership_share", segment="both") > late_mean(base, "membership_share", segment="both")


def test_amazon_leads_discretionary_and_walmart_leads_grocery() -> None:
    """The articles' category strengths, at the default parameters."""
    result = sim.run(small(**SIZE), seed=8)
    assert late_mean(result, "spend_share", firm="amazon", category="discretionary") > late_mean(
        result, "spend_share", firm="walmart", category="discretionary")
    assert late_mean(result, "spend_share", firm="walmart", category="grocery") > late_mean(
        result, "spend_share", firm="amazon", category="grocery")
