"""Fit each firm's least-known unit cost to its filed operating margins (calibration/accounts.yaml).

    python calibration/fit_accounts.py [--replicates 3] [--shoppers 5000] [--seed 11] [--fit-through 2023]
    python calibration/fit_accounts.py --posterior calibration/posterior.csv [--workers 2]

With fixed conduct no price, fee or service depends on a cost, so the accounts do not move demand and
a firm's margin is an exact linear function of each of its unit costs: two runs on common seeds (the
baseline's value and a step above it) give the line, and weighted least squares over the firm's
targets (each miss in tolerances) gives the value (``sim.calibration.accounts``). A third run at the
fitted values checks the prediction. The script prints the fitted values and the fit; it writes
nothing: the values go into the firms' scenario defaults (``sim/scenario/firms.py``) by hand, with
the date, in docs/accounts.md. ``--fit-through YEAR`` fits only the targets whose period ends by the
end of YEAR and shows how the fit predicts the later ones (an out-of-sample test).

``--posterior FILE`` instead fits the unit costs of every particle of a posterior (whose demand
differs from the baseline's) and writes them into FILE as four columns, so that
``--parameter-draws`` keeps each draw's accounts on the filings. ``retailsim calibrate --method
bank`` does this itself when its set-up names ``accounts:``; this is for a posterior made before.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from sim.calibration import evaluate, load_targets
from sim.calibration.accounts import (COSTS, FITTED, PARTICLE_REPLICATES, costs_of, fit_particles, refused, solve,
                                     stepped)
from sim.errors import UserError
from sim.experiments import replicate_seeds, run_replicates
from sim.experiments.posterior import load_posterior
from sim.jobs.executors import executor
from sim.results import replace_atomically
from sim.run import resolve
from sim.scenario import load_scenario

HERE = Path(__file__).resolve().parent


def fitted_on(target, through: int | None) -> bool:
    return through is None or (target.at or target.over[1]).year <= through


def margins(targets, scenario, overrides: dict[str, float], seeds: list[int]):
    fit = evaluate(targets, run_replicates([resolve(scenario, overrides)], seeds))
    return fit.table.set_index("target")["simulated_mean"], fit


def fit_baseline(targets, scenario, seeds: list[int], through: int | None) -> None:
    start = costs_of(scenario)
    low, _ = margins(targets, scenario, start, seeds)
    high, _ = margins(targets, scenario, stepped(start), seeds)
    fitted = solve(targets, low, high, start, lambda target: fitted_on(target, through))
    for firm, (dotted, _) in FITTED.items():
        kept = not any(t.metric.firm == firm and fitted_on(t, through) for t in targets)
        print(f"{dotted}: {start[dotted]:.6g} " + (f"kept (no target of {firm}'s to fit)" if kept
                                                   else f"-> {fitted[dotted]:.6g}"))
    predicted = {t.id: low[t.id] + (high[t.id] - low[t.id]) / FITTED[t.metric.firm][1]
                 * (fitted[FITTED[t.metric.firm][0]] - start[FITTED[t.metric.firm][0]]) for t in targets}
    _, check = margins(targets, scenario, fitted, seeds)
    print("\n".join(line + ("" if fitted_on(t, through) else "   (not fitted: predicted)")
                    for line, t in zip(check.lines(), targets)))
    worst = max(abs(check.table.set_index("target")["simulated_mean"][t] - value) for t, value in predicted.items())
    print(f"largest gap between the linear prediction and the check run: {worst:.2e} (exactly linear: ~1e-15)")


def fit_posterior(targets, scenario, path: Path, seeds: list[int], workers: int | None) -> None:
    from tqdm import tqdm

    load_posterior(path, scenario)  # one line, before any run, if it is not a posterior the baseline takes
    table = pd.read_csv(path)
    live = int((table["weight"] > 0).sum())
    with executor(workers) as (pool, count), tqdm(total=2 * len(seeds) * live, unit="run") as bar:
        fitted = fit_particles(scenario, targets, table, seeds, pool, count, bar,
                               f"interrupted: {path} is as it was")
    live, dropped = refused(table, fitted)
    if dropped == live:
        raise UserError(f"no particle's margins can meet the filings with valid unit costs; {path} is as it was")
    replace_atomically(path, lambda temporary: fitted.to_csv(temporary, index=False, lineterminator="\n"))
    spread = fitted.loc[fitted["weight"] > 0, COSTS].describe(percentiles=[0.05, 0.5, 0.95])
    print(f"wrote {path}: {live - dropped} particles' unit costs ({dropped} given weight 0: no valid cost meets "
          "their margins); 5th, 50th, 95th percentiles, unweighted:")
    print(spread.loc[["5%", "50%", "95%"]].T.to_string(float_format=lambda value: f"{value:.6g}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, help=f"seeds (default 3; {PARTICLE_REPLICATES} with --posterior)")
    parser.add_argument("--shoppers", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=11, help="root seed (the demand fit used 0 and 1)")
    parser.add_argument("--fit-through", type=int, metavar="YEAR", help="fit on targets ending by this year only")
    parser.add_argument("--posterior", type=Path, metavar="FILE", help="fit every particle of this posterior CSV")
    parser.add_argument("--workers", type=int, help="worker processes with --posterior (default: the CPUs)")
    args = parser.parse_args()
    targets = load_targets(HERE / "accounts.yaml")
    scenario = load_scenario(HERE.parent / "scenarios" / "baseline.yaml", {"population.shoppers": args.shoppers})
    if args.posterior is not None and args.fit_through is not None:
        parser.error("--fit-through is for the baseline's out-of-sample test, not with --posterior")
    try:
        if args.posterior is not None:
            seeds = replicate_seeds(args.seed, args.replicates or PARTICLE_REPLICATES)
            fit_posterior(targets, scenario, args.posterior, seeds, args.workers)
        else:
            fit_baseline(targets, scenario, replicate_seeds(args.seed, args.replicates or 3), args.fit_through)
    except UserError as error:
        print(f"fit_accounts.py: error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
