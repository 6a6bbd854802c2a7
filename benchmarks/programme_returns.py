"""What a delivery build-out returns on the model's own demand: what Amazon's budget reviews weigh.

The figures of docs/strategy.md ("Strategic programme budgets"). A strategic baseline run with the
timeline's budgets (prices reviewed, so each firm's value of a dollar of goods sold is measured;
``strategy.budgets`` off, so the programme is the timeline's), stopped each January
from 2024 and each July, weighs one more piece of each firm's delivery network in that week's market
(memberships as they are that week):

- Amazon: five more rural stations, with every station already started live (the network as the
  stations started so far will make it; the printed reach is that network's);
- Walmart: one more dark store (``walmart.dark_stores``: its reach, and the orders it can fulfil).

For each it prints the gain a week in the firm's strategic objective (operating profit plus the
value of goods sold, ``sim/model/conduct.py``) and in its operating profit alone, and each one's
ratio to the capital over the asset's life (``economics.depreciation_years``), discounted at the
firm's cost of capital (Amazon 9%, Walmart 7.1%): a ratio above 1 pays. Then, in January 2026,
Amazon's gain from a quarter, a half ... twice the yearly budget of stations: each station is built
where it reaches the most rural households not yet reached (``sim/firms/rural.py``), so each
multiple adds less than the one before::

    python benchmarks/programme_returns.py              # 5,000 households, seed 7, about 3 s
    python benchmarks/programme_returns.py --shoppers 20000 --seed 3

No draw enters the weighing (the households' expected choices), but the market is one run's.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from sim.model.budgets import annuity, objective
from sim.model.choice import Access
from sim.model.market import RetailMarket
from sim.scenario import load_scenario
from sim.vocabulary import RURAL

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"
STATIONS = 5.0
MULTIPLES = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)


def with_reach(model, firm, change) -> tuple[tuple[float, float], np.ndarray, np.ndarray]:
    """The firm's objective and profit after ``change(firm)`` sets its reach for this week, and Amazon's
    same-day and next-day shares of each zone then; its reach as it was afterwards."""
    saved = {name: getattr(firm, name) for name in ("same_day_reach", "next_day_reach", "dark_store_share",
                                                    "dark_store_reach", "dark_store_orders") if hasattr(firm, name)}
    try:
        change(firm)
        model.access = Access.of(model.households, model.offer, model.firms)
        return objective(model, firm), model.amazon.same_day_reach, model.amazon.next_day_reach
    finally:
        for name, value in saved.items():
            setattr(firm, name, value)
        model.access = Access.of(model.households, model.offer, model.firms)


def stations(count: float):
    """A change that puts ``count`` stations live (Amazon's reach as its network would give it)."""
    def change(amazon) -> None:
        amazon.same_day_reach, amazon.next_day_reach = amazon.delivery_reach(amazon.build_out(count))
    return change


def dark_stores(count: int):
    """A change that opens ``count`` dark stores (Walmart's reach, and the share of its online orders
    they fulfil, as they would give)."""
    def change(walmart) -> None:
        walmart.place_dark_stores(count)
    return change


def returns(gains: tuple[float, float], capital: float, model, firm: str, lag_weeks: int) -> str:
    """A week's gain in the objective and in profit, each over the capital, discounted over the asset's life."""
    rate = getattr(model.params.strategy.cost_of_capital, firm)  # each firm's WACC (docs/strategy.md)
    life = annuity(rate, lag_weeks, model.params.economics.depreciation_years)
    gain, profit = gains
    return (f"${gain:9,.0f} a week (profit ${profit:9,.0f}); return {gain * life / capital:4.2f} "
            f"(profit {profit * life / capital:4.2f}) at {rate:.1%}")


def rural_mean(model, shares: np.ndarray) -> float:
    """A zone share's mean over rural households (zones weighed by their households)."""
    geography = model.geography
    rural = geography.zone_locale == RURAL
    return float((shares[rural] * geography.zone_share[rural]).sum() / geography.zone_share[rural].sum())


def week(model) -> list[str]:
    amazon, walmart = model.amazon, model.walmart
    rural = amazon.params.rural
    built = amazon.stations_started
    base, same_day, next_day = with_reach(model, amazon, stations(built))
    more, _, _ = with_reach(model, amazon, stations(built + STATIONS))
    station = tuple((m - b) / STATIONS for m, b in zip(more, base))
    count = walmart.params.dark_stores.count
    here, _, _ = with_reach(model, walmart, dark_stores(count))
    plus, _, _ = with_reach(model, walmart, dark_stores(count + 1))
    store = tuple(p - h for p, h in zip(plus, here))
    return [f"  {model.date}  Amazon: {built:5.0f} stations started, with all live rural same-day "
            f"{rural_mean(model, same_day):.2f}, "
            f"next-day {rural_mean(model, next_day):.2f}; a station adds "
            + returns(station, rural.cost_per_station_usd, model, "amazon", rural.build_lag_weeks),
            f"  {model.date}  Walmart: {count} dark stores; one more adds "
            + returns(store, walmart.params.dark_stores.capex_per_store_usd, model, "walmart", 0)]


def budgets(model) -> list[str]:
    """Amazon's gain from multiples of a year's station budget, on top of the stations started."""
    amazon = model.amazon
    rural = amazon.params.rural
    built = amazon.stations_started
    (base, _), same_day, _ = with_reach(model, amazon, stations(built))
    reached = rural_mean(model, same_day)
    lines = [f"  January {model.date.year}: a year's budget (${rural.investment_per_year_usd / 1e9:.1f}bn) is "
             f"{rural.investment_per_year_usd / rural.cost_per_station_usd:.0f} stations"]
    for multiple in MULTIPLES:
        added = multiple * rural.investment_per_year_usd / rural.cost_per_station_usd
        (gain, _), now, _ = with_reach(model, amazon, stations(built + added))
        lines.append(f"    x{multiple:4.2f}: {added:5.0f} stations, objective +${gain - base:10,.0f} a week, "
                     f"rural same-day {reached:.3f} -> {rural_mean(model, now):.3f}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoppers", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    started = time.perf_counter()
    scenario = load_scenario(BASELINE, {"population.shoppers": args.shoppers, "conduct": "strategic",
                                        "strategy.budgets": False})  # the timeline's budgets, weighed
    model = RetailMarket(scenario, seed=args.seed)
    lines: list[str] = []
    while model.running:
        model.step()
        if model.month_starts() and model.date.month in (1, 7) and model.date.year >= 2024:
            lines += week(model)
            if model.date.year == 2026 and model.date.month == 1:
                lines += budgets(model)
    print(f"Delivery build-outs in a strategic baseline ({args.shoppers:,} households, seed {args.seed}):")
    print("\n".join(lines))
    print(f"({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
