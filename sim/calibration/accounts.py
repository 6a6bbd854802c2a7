"""Each firm's least-known unit cost, fitted to its filed operating margins (``calibration/accounts.yaml``).

With fixed conduct no price, fee or service depends on a cost, so the accounts do not move demand
and a firm's margin is an exact linear function of each of its unit costs: runs on common seeds at
the current values and at a step above them give the line, and weighted least squares over the
firm's targets (each miss in tolerances) gives the value. ``python calibration/fit_accounts.py``
fits the baseline's values (they go into ``sim/scenario/firms.py`` by hand); :func:`fit_particles`
fits them again for every particle of a posterior, whose demand differs from the baseline's, so
that ``--parameter-draws`` varies demand without moving the accounts off the filings
(``docs/calibration.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

import numpy as np
import pandas as pd

from ..experiments.replicates import replicate_seeds
from ..jobs.runs import Runs, execute
from ..jobs.targets import Target
from ..scenario import Scenario
from .candidates import TargetValues
from .setup import Calibration, through_last_target

# The one unit cost fitted per firm, the least-known of its accounts (docs/accounts.md, 4.3), and a step.
FITTED = {
    "amazon": ("amazon.delivery.fulfillment_cost_per_order_usd", 1.0),
    "walmart": ("walmart.accounts.store_cost_per_store_year_usd", 1e6),
    "kroger": ("kroger.accounts.store_cost_per_store_year_usd", 1e6),
    "rivals": ("rivals.accounts.overhead_share_of_sales", 0.01),
}
COSTS = [dotted for dotted, _ in FITTED.values()]
WEIGHT = "weight"  # a posterior's weight column (sim.experiments.posterior)
PARTICLE_REPLICATES = 2  # seeds per particle: a margin's run noise (0.1-0.2 points) is a tenth of a tolerance


def current(scenario: Scenario, dotted: str) -> float:
    """A scenario's value at a dotted path."""
    value: Any = scenario
    for key in dotted.split("."):
        value = getattr(value, key)
    return float(value)


def stepped(start: Mapping[str, float]) -> dict[str, float]:
    """Every fitted cost one step above ``start``."""
    return {dotted: start[dotted] + step for dotted, step in FITTED.values()}


def solve(targets: Sequence[Target], low: pd.Series, high: pd.Series, start: Mapping[str, float],
          fitted_on: Callable[[Target], bool] = lambda target: True) -> dict[str, float]:
    """The fitted costs: for each firm, the weighted least-squares value on the line through its
    margins at ``start`` (``low``) and a step above (``high``), over the targets ``fitted_on`` keeps.
    A firm with no such target keeps its value."""
    fitted = {}
    for firm, (dotted, step) in FITTED.items():
        own = [target for target in targets if target.metric.firm == firm and fitted_on(target)]
        if not own:
            fitted[dotted] = start[dotted]
            continue
        ids = [target.id for target in own]
        slope = (high[ids] - low[ids]).to_numpy() / step  # margin per unit of the cost
        weights = np.array([1.0 / target.tolerance for target in own])
        gap = np.array([target.value for target in own]) - low[ids].to_numpy()
        fitted[dotted] = start[dotted] + float(np.sum(weights**2 * slope * gap) / np.sum(weights**2 * slope**2))
    return fitted


def fit_particles(base: Scenario, targets: list[Target], particles: pd.DataFrame, seeds: Sequence[int],
                  pool: Executor, count: int, bar) -> pd.DataFrame:
    """``particles`` (a column per dotted scenario key, and any ``weight``) with each firm's fitted
    unit cost as a column (replaced if there): every particle runs at the base's costs and a step
    above on ``seeds``, through the last date a target reads, on ``pool`` (``count`` workers);
    ``bar`` (tqdm-like) counts the runs."""
    base = through_last_target(base, targets)
    start = {dotted: current(base, dotted) for dotted in COSTS}
    kept = particles.drop(columns=[name for name in COSTS if name in particles.columns])
    values = kept.drop(columns=[name for name in (WEIGHT,) if name in kept.columns])
    tasks = []
    for number, row in enumerate(values.to_dict("records")):
        overrides = {name: (int(value) if pd.api.types.is_integer_dtype(values[name]) else float(value))
                     for name, value in row.items()}
        for side, costs in (("low", start), ("high", stepped(start))):
            tasks += [{"particle": number, "side": side, "overrides": {**overrides, **costs}, "seed": seed}
                      for seed in seeds]
    rows: list[dict] = []
    runs = Runs(base.model_dump(mode="json"), TargetValues(targets), "posterior")
    execute(runs, iter(tasks), len(tasks), rows.append, pool, count, bar,
            "interrupted: the unit costs were not fitted and nothing was written")
    failed = [row for row in rows if row["error"] is not None]
    if failed:
        raise RuntimeError(f"{len(failed)} accounts run(s) failed; the first: {failed[0]['error']}")
    table = pd.DataFrame([{"particle": row["particle"], "side": row["side"], **row["outcomes"]} for row in rows])
    means = table.groupby(["particle", "side"]).mean()
    fitted = [solve(targets, means.loc[(number, "low")], means.loc[(number, "high")], start)
              for number in range(len(values))]
    return pd.concat([kept, pd.DataFrame(fitted, index=particles.index)], axis=1)


def posterior_costs(calibration: Calibration, table: pd.DataFrame, pool: Executor, count: int,
                    progress: bool) -> pd.DataFrame:
    """A posterior table (:func:`sim.calibration.fitting.posterior_table`) with every particle's unit
    costs fitted to the set-up's ``accounts`` targets, on the set-up's check seeds."""
    from tqdm import tqdm

    seeds = replicate_seeds(calibration.setup.seed + 1, PARTICLE_REPLICATES)
    with tqdm(total=2 * len(seeds) * len(table), unit="run", disable=not progress or None,
              desc=f"{calibration.setup.name} (unit costs of {len(table)} particles)") as bar:
        return fit_particles(calibration.base, list(calibration.accounts), table, seeds, pool, count, bar)
