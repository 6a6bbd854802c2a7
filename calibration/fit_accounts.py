"""Fit each firm's least-known unit cost to its filed operating margins (calibration/accounts.yaml).

    python calibration/fit_accounts.py [--replicates 3] [--shoppers 5000] [--seed 11] [--fit-through 2023]

With fixed conduct no price, fee or service depends on a cost, so the accounts do not move demand and
a firm's margin is an exact linear function of each of its unit costs: two runs on common seeds (the
baseline's value and a step above it) give the line, and weighted least squares over the firm's
targets (each miss in tolerances) gives the value. A third run at the fitted values checks the
prediction. The script prints the fitted values and the fit; it writes nothing: the values go into
the firms' scenario defaults (``sim/scenario/firms.py``) by hand, with the date, in docs/accounts.md.
``--fit-through YEAR`` fits only the targets whose period ends by the end of YEAR and shows how the
fit predicts the later ones (an out-of-sample test).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from sim.calibration import evaluate, load_targets
from sim.experiments import replicate_seeds, run_replicates
from sim.run import resolve
from sim.scenario import load_scenario

HERE = Path(__file__).resolve().parent
# The one unit cost fitted per firm, the least-known of its accounts (docs/accounts.md, 4.3), and a step.
FITTED = {
    "amazon": ("amazon.delivery.fulfillment_cost_per_order_usd", 1.0),
    "walmart": ("walmart.accounts.store_cost_per_store_year_usd", 1e6),
    "kroger": ("kroger.accounts.store_cost_per_store_year_usd", 1e6),
    "rivals": ("rivals.accounts.overhead_share_of_sales", 0.01),
}


def current(scenario, dotted: str) -> float:
    value = scenario
    for key in dotted.split("."):
        value = getattr(value, key)
    return float(value)


def fitted_on(target, through: int | None) -> bool:
    return through is None or (target.at or target.over[1]).year <= through


def margins(targets, scenario, overrides: dict[str, float], seeds: list[int]):
    fit = evaluate(targets, run_replicates([resolve(scenario, overrides)], seeds))
    return fit.table.set_index("target")["simulated_mean"], fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=3)
    parser.add_argument("--shoppers", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=11, help="root seed (the demand fit used 0 and 1)")
    parser.add_argument("--fit-through", type=int, metavar="YEAR", help="fit on targets ending by this year only")
    args = parser.parse_args()
    targets = load_targets(HERE / "accounts.yaml")
    scenario = load_scenario(HERE.parent / "scenarios" / "baseline.yaml", {"population.shoppers": args.shoppers})
    seeds = replicate_seeds(args.seed, args.replicates)
    start = {dotted: current(scenario, dotted) for dotted, _ in FITTED.values()}
    low, _ = margins(targets, scenario, start, seeds)
    high, _ = margins(targets, scenario, {dotted: value + FITTED[firm][1] for firm, (dotted, _) in FITTED.items()
                                          for value in [start[dotted]]}, seeds)
    fitted = {}
    for firm, (dotted, step) in FITTED.items():
        own = [t for t in targets if t.metric.firm == firm and fitted_on(t, args.fit_through)]
        if not own:
            fitted[dotted] = start[dotted]
            print(f"{dotted}: {start[dotted]:.6g} kept (no target of {firm}'s to fit)")
            continue
        ids = [t.id for t in own]
        slope = (high[ids] - low[ids]).to_numpy() / step  # margin per unit of the cost
        weights = np.array([1.0 / t.tolerance for t in own])
        gap = np.array([t.value for t in own]) - low[ids].to_numpy()
        change = float(np.sum(weights**2 * slope * gap) / np.sum(weights**2 * slope**2))
        fitted[dotted] = start[dotted] + change
        print(f"{dotted}: {start[dotted]:.6g} -> {fitted[dotted]:.6g}")
    predicted = {t.id: low[t.id] + (high[t.id] - low[t.id]) / FITTED[t.metric.firm][1]
                 * (fitted[FITTED[t.metric.firm][0]] - start[FITTED[t.metric.firm][0]]) for t in targets}
    _, check = margins(targets, scenario, fitted, seeds)
    print("\n".join(line + ("" if fitted_on(t, args.fit_through) else "   (not fitted: predicted)")
                    for line, t in zip(check.lines(), targets)))
    worst = max(abs(check.table.set_index("target")["simulated_mean"][t] - value) for t, value in predicted.items())
    print(f"largest gap between the linear prediction and the check run: {worst:.2e} (exactly linear: ~1e-15)")


if __name__ == "__main__":
    main()
