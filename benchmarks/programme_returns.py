"""What a delivery build-out returns on the model's own demand: why programme budgets are not strategic.

The figures of docs/strategy.md ("Why programme budgets are not chosen"). A strategic baseline run
(prices reviewed, so each firm's value of a dollar of goods sold is measured), stopped each January
from 2024 and each July, weighs one more piece of each firm's delivery network in that week's market:

- Amazon: five more rural stations live (``amazon.rural``), on top of every station already started;
- Walmart: one more dark store (``walmart.dark_stores``).

For each it prints the gain in the firm's strategic objective (operating profit plus the value of
goods sold, ``sim/model/conduct.py``) a week, and its ratio to the capital over the asset's life
(``economics.depreciation_years``), undiscounted and at a 9% cost of capital: a ratio above 1 pays.
Then, in January 2026, Amazon's gain from a quarter, a half ... twice the yearly budget of stations:
straight lines up to the rural coverage cap, flat after it::

    python benchmarks/programme_returns.py              # 5,000 households, seed 7, about 10 s
    python benchmarks/programme_returns.py --shoppers 20000 --seed 3

No draw enters the weighing (the households' expected choices), but the market is one run's.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from sim.model.choice import Access
from sim.model.conduct import category_profits, expected_sales
from sim.model.market import RetailMarket
from sim.scenario import load_scenario
from sim.vocabulary import RURAL, WEEKS_PER_YEAR

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"
COST_OF_CAPITAL = 0.09  # Amazon's WACC in 2024-25 estimates: 8.3-9.7% (docs/strategy.md)
STATIONS = 5.0
MULTIPLES = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)


def objective(model, firm) -> float:
    """The firm's weekly objective under strategic prices: operating profit + value x goods sold."""
    sales = expected_sales(model)
    goods = sales.base_spend[list(firm.channels)].sum(axis=0)
    return float(category_profits(firm, sales).sum() + (model.conduct.customer_value[firm.name] * goods).sum())


def with_reach(model, firm, change) -> tuple[float, float]:
    """The firm's objective, and Amazon's rural households with same-day (US), after ``change(firm)``
    sets its reach for this week; its reach as it was afterwards."""
    saved = {name: getattr(firm, name) for name in ("same_day_reach", "next_day_reach", "dark_store_share",
                                                    "dark_store_reach") if hasattr(firm, name)}
    try:
        change(firm)
        model.access = Access.of(model.households, model.offer, model.firms)
        geography, amazon = model.geography, model.amazon
        rural = geography.zone_locale == RURAL
        reached = float((amazon.same_day_reach[rural] * geography.zone_share[rural]).sum() * model.us_households)
        return objective(model, firm), reached
    finally:
        for name, value in saved.items():
            setattr(firm, name, value)
        model.access = Access.of(model.households, model.offer, model.firms)


def stations(model, count: float):
    """A change that puts ``count`` stations live (Amazon's reach as its network would give it)."""
    def change(amazon) -> None:
        amazon.same_day_reach, amazon.next_day_reach = amazon.delivery_reach(amazon.stations_share(count))
    return change


def dark_stores(model, count: int):
    """A change that opens ``count`` dark stores (Walmart's reach and share as they would give)."""
    def change(walmart) -> None:
        dark = walmart.params.dark_stores
        walmart.dark_store_share = min(1.0, count * dark.households_per_dark_store / walmart._metro_households)
        metro = model.geography.zone_locale != RURAL
        walmart.dark_store_reach = np.where(metro, walmart.dark_store_share, 0.0)
    return change


def returns(gain_a_week: float, capital: float, model, lag_weeks: int) -> str:
    """A week's gain over the capital, undiscounted and at the cost of capital, over the asset's life."""
    life = int(round(model.params.economics.depreciation_years * WEEKS_PER_YEAR))
    weekly = (1.0 + COST_OF_CAPITAL) ** (1.0 / WEEKS_PER_YEAR) - 1.0
    annuity = float(((1.0 + weekly) ** -np.arange(lag_weeks, lag_weeks + life)).sum())
    return f"return {gain_a_week * life / capital:4.2f} undiscounted, {gain_a_week * annuity / capital:4.2f} at 9%"


def week(model) -> list[str]:
    amazon, walmart = model.amazon, model.walmart
    rural = amazon.params.rural
    built = amazon.stations_started
    base, _ = with_reach(model, amazon, stations(model, built))
    more, _ = with_reach(model, amazon, stations(model, built + STATIONS))
    station = (more - base) / STATIONS
    count = walmart.params.dark_stores.count
    here, _ = with_reach(model, walmart, dark_stores(model, count))
    plus, _ = with_reach(model, walmart, dark_stores(model, count + 1))
    rural_zones = model.geography.zone_locale == RURAL
    return [f"  {model.date}  Amazon: {built:5.0f} stations started ({amazon.stations_to_cap():.0f} reach the "
            f"{rural.max_rural_coverage:.0%} cap), rural same-day {amazon.same_day_reach[rural_zones].mean():.2f}, "
            f"next-day {amazon.next_day_reach[rural_zones].mean():.2f}; "
            f"a station adds ${station:9,.0f} a week, "
            + returns(station, rural.cost_per_station_usd, model, rural.build_lag_weeks),
            f"  {model.date}  Walmart: {count} dark stores; one more adds ${plus - here:9,.0f} a week, "
            + returns(plus - here, walmart.params.dark_stores.capex_per_store_usd, model, 0)]


def budgets(model) -> list[str]:
    """Amazon's gain from multiples of a year's station budget, on top of the stations started."""
    amazon = model.amazon
    rural = amazon.params.rural
    built = amazon.stations_started
    base, reached = with_reach(model, amazon, stations(model, built))
    lines = [f"  January {model.date.year}: a year's budget (${rural.investment_per_year_usd / 1e9:.1f}bn) is "
             f"{rural.investment_per_year_usd / rural.cost_per_station_usd:.0f} stations; "
             f"{amazon.stations_to_cap() - built:.0f} more reach the cap"]
    for multiple in MULTIPLES:
        added = multiple * rural.investment_per_year_usd / rural.cost_per_station_usd
        gain, now = with_reach(model, amazon, stations(model, built + added))
        lines.append(f"    x{multiple:4.2f}: {added:5.0f} stations, objective +${gain - base:10,.0f} a week, "
                     f"rural households with same-day +{(now - reached) / 1e6:5.2f}M")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoppers", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    started = time.perf_counter()
    scenario = load_scenario(BASELINE, {"population.shoppers": args.shoppers, "conduct": "strategic"})
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
