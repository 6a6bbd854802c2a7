"""Strategic membership fees: the figures of docs/strategy.md and docs/MODEL.md (7.7c).

For the baseline and three what-ifs under ``conduct: strategic``, for every year from 2026, as the
firm sees it in the last week before its January review: its member value V (backed out of its
posted fee at the end of 2025), its long-run members at the posted fee and at $10 more (the
long-run elasticity of membership to the fee), the fee it would post on a menu of $0.50 steps (its
long-run best, unrounded; the shipped menu moves in $10 steps); then the fee it posts in January. The unrounded best says how far a what-if moves a firm's choice even when the menu's
fee holds::

    python benchmarks/fees.py                      # 5,000 households, seed 7, about a minute
    python benchmarks/fees.py --shoppers 2000 --seed 3
    python benchmarks/fees.py --only baseline.yaml --seed 1 2 3 4 5   # how V and the path vary by seed

One seed: no draw enters the long-run members, but the market they are computed on is one run's.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from sim.model.market import RetailMarket
from sim.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
WHAT_IFS = ["baseline.yaml", "levers/walmart_plus_fee_cut.yaml", "levers/prime_fee_up.yaml",
            "levers/amazon_rural_push.yaml"]


def januaries(path: Path, shoppers: int, seed: int) -> list[str]:
    """One line per firm and year from 2026 of a strategic run of ``path``: in the last week of the year
    before (the valuations of its last month start), what the firm sees ahead of its January review;
    then the fee it posts in January."""
    model = RetailMarket(load_scenario(path, {"population.shoppers": shoppers, "conduct": "strategic"}), seed=seed)
    lines, seen = [], {}
    while model.running:
        model.step()
        fees = model.fees
        if model.date.month == 1 and model.date.day <= 7 and seen:
            for firm in fees.firms:
                lines.append(seen.pop(firm.membership) + f"  posts ${firm.membership_terms.fee_annual:5.0f}"
                             + ("  (scripted: the lever)" if fees.held(firm) else ""))
        last_week = model.steps < len(model.dates) and model.dates[model.steps].year > model.date.year
        if not (last_week and fees.member_value):
            continue
        for firm in fees.firms:
            posted = firm.membership_terms.fee_annual
            grid = np.arange(max(posted - 40.0, 0.0), posted + 40.01, 0.5)
            best = grid[int(np.argmax([fees.long_run_profit(firm, fee) for fee in grid]))]
            here, dearer = (float(fees.members(firm, fee).mean()) for fee in (posted, posted + 10.0))
            seen[firm.membership] = (
                f"  {model.dates[model.steps]:%Y}  {firm.membership:12s} V ${fees.member_value[firm.membership]:6.1f}  "
                f"posted ${posted:5.0f}  long-run best ${best:6.1f}  long-run members {here:.3f} "
                f"(at +$10: {dearer:.3f}, elasticity {(dearer / here - 1) / (10 / posted):+.2f})")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoppers", type=int, default=5000)
    parser.add_argument("--seed", type=int, nargs="+", default=[7])
    parser.add_argument("--only", nargs="+", choices=WHAT_IFS, default=WHAT_IFS, help="the what-ifs to run")
    args = parser.parse_args()
    for name in args.only:
        for seed in args.seed:
            started = time.perf_counter()
            lines = januaries(SCENARIOS / name, args.shoppers, seed)
            print(f"{name} (strategic, {args.shoppers} households, seed {seed}, "
                  f"{time.perf_counter() - started:.0f} s)")
            print("\n".join(lines))


if __name__ == "__main__":
    main()
