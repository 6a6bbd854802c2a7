"""The firms' answers under strategic conduct: the figures of docs/MODEL.md (7.7b) and docs/strategy.md.

1. A 5% Walmart grocery price cut from January 2026, Walmart itself not strategic: each firm's
   grocery price index at the end of 2026, against the same run without the cut (Basker & Noel
   measured incumbents' cuts of 1-1.2% near a Walmart entry, an entry that costs an incumbent 17% of
   its volume; ``tests/test_conduct.py`` compares the answer per 1% of volume lost).
2. The strategic baseline's price indices at the end of 2030 against fixed conduct's (grocery and
   general merchandise), and each firm's operating margin in 2030 under both; then the same with
   one mechanism taken out at a time: AI shopping agents
   (``walmart.agentic.adoption.target`` 0), the growth of Amazon's advertising yield
   (``amazon.ads.growth`` none) and online's yearly gain on stores after 2025
   (``shoppers.online_gain.end`` 2026-01-01)::

    python benchmarks/answers.py                   # 5,000 households, seed 7
    python benchmarks/answers.py --shoppers 2000 --seed 3
    python benchmarks/answers.py --independent-firms 1   # the other grocers pricing as one firm

One seed, no interval: differences of a few hundredths of a percent are within run noise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

import pandas as pd

import sim
from sim.calibration.setup import ended
from sim.scenario import load_scenario
from sim.scenario.schema import Event

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"
CUT_FROM, CUT_SEEN = dt.date(2026, 1, 5), dt.date(2026, 12, 28)
WITHOUT = {"agents": {"walmart.agentic.adoption.target": 0.0}, "Amazon's ad growth": {"amazon.ads.growth": None},
           "online's gain after 2025": {"shoppers.online_gain.end": "2026-01-01"},
           "the Walmart online regulars' growth": {"shoppers.walmart_online_regular_growth.per_year": 0.0},
           "Walmart online regulars": {"shoppers.walmart_online_regular_share": 0.0,
                                       "shoppers.walmart_online_regular_growth.per_year": 0.0}}


def timeseries(changes: dict, seed: int, end: dt.date | None = None, cut: bool = False) -> pd.DataFrame:
    """One run of the baseline with ``changes``, to ``end`` and with Walmart's grocery cut if asked."""
    scenario = load_scenario(BASELINE, changes)
    if end is not None:
        scenario = ended(scenario, end)
    if cut:
        scenario = scenario.model_copy(update={"events": [*scenario.events,
                                                          Event(date=CUT_FROM, set={"walmart.prices.grocery": 0.95})]})
    return sim.run(scenario, seed=seed).timeseries


def last_prices(rows: pd.DataFrame) -> pd.Series:
    """Each firm's price index by category in the run's last recorded week."""
    rows = rows[(rows.metric == "price_index") & (rows.locale == "all") & (rows.category != "all")]
    return rows[rows.date == rows.date.max()].set_index(["firm", "category"]).value


def margins(rows: pd.DataFrame) -> pd.Series:
    """Each firm's operating margin over the run's last calendar year, percent."""
    last = rows[(rows.date.dt.year == rows.date.max().year) & (rows.category == "all") & (rows.locale == "all")]
    sums = last[last.metric.isin(["operating_profit", "revenue"])].groupby(["firm", "metric"]).value.sum().unstack()
    return (sums.operating_profit / sums.revenue * 100.0).round(1)


def change(after: pd.Series, before: pd.Series) -> pd.Series:
    return ((after / before - 1.0) * 100.0).round(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoppers", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--independent-firms", type=float, default=None,
                        help="rivals.independent_firms for every run (default: the scenario's)")
    args = parser.parse_args()
    start = time.perf_counter()
    size = {"population.shoppers": args.shoppers}
    if args.independent_firms is not None:
        size["rivals.independent_firms"] = args.independent_firms
    answering = {**size, "conduct": "strategic", "strategy.firms": ["amazon", "kroger", "rivals"]}
    cut = change(last_prices(timeseries(answering, args.seed, CUT_SEEN, cut=True)),
                 last_prices(timeseries(answering, args.seed, CUT_SEEN)))
    print("## a 5% Walmart grocery cut from 2026-01: grocery prices at the end of 2026 against no cut (%)")
    print(cut.xs("grocery", level="category").to_string())
    for name, taken in {"strategic baseline": {}, **{f"without {k}": v for k, v in WITHOUT.items()}}.items():
        fixed = timeseries({**size, **taken, "conduct": "fixed"}, args.seed)
        strategic = timeseries({**size, **taken, "conduct": "strategic"}, args.seed)
        table = change(last_prices(strategic), last_prices(fixed)).unstack("category")[["grocery", "discretionary"]]
        table["margin fixed"], table["margin strategic"] = margins(fixed), margins(strategic)
        print(f"## {name}: prices at the end of 2030 against fixed conduct (%); operating margins in 2030 (%)")
        print(table.to_string())
    print(f"({args.shoppers} households, seed {args.seed}, {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
