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
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ScenarioError, UserError
from ..experiments.replicates import replicate_seeds
from ..jobs.folders import warn
from ..jobs.runs import Runs, execute
from ..jobs.store import RunStore, run_key
from ..jobs.targets import Target
from ..results import scenario_hash
from ..run import resolve
from ..scenario import Scenario
from ..scenario.paths import get_path
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
STORE = "accounts_store"  # the unit-cost fit's runs, in a calibration folder
PARTICLE_REPLICATES = 2  # seeds per particle: a margin's run noise (0.1-0.2 points) is a tenth of a tolerance


def costs_of(scenario: Scenario) -> dict[str, float]:
    """The scenario's values of the fitted costs."""
    return {dotted: float(get_path(scenario, dotted)) for dotted in COSTS}


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
                  pool: Executor, count: int, bar, interrupted: str, store: RunStore | None = None) -> pd.DataFrame:
    """``particles`` (a column per dotted scenario key, and any ``weight``) with each firm's fitted
    unit cost as a column (replaced if there): every particle of positive weight runs at the base's
    costs and a step above on ``seeds``, through the last date a target reads, on ``pool`` (``count``
    workers); ``bar`` (tqdm-like) counts the runs, and ``store`` (if given) keeps them, so a refit
    runs only what it has not run. A particle whose margins no valid cost can meet (a negative store
    cost, say) keeps the base's costs and gets weight 0."""
    if base.conduct != "fixed":
        raise UserError("unit costs are fitted under fixed conduct (with strategic prices a cost moves demand); "
                        "fit them on a scenario with conduct: fixed")
    base = through_last_target(base, targets)
    start = costs_of(base)
    kept = particles.drop(columns=[name for name in COSTS if name in particles.columns])
    values = kept.drop(columns=[name for name in (WEIGHT,) if name in kept.columns])
    weights = kept[WEIGHT] if WEIGHT in kept.columns else pd.Series(1.0, index=kept.index)
    fitted = [dict(start) for _ in range(len(values))]
    live = [number for number in range(len(values)) if weights.iloc[number] > 0]
    means = _margins(base, targets, values, live, start, seeds, pool, count, bar, interrupted, store)
    for number in live:
        costs = solve(targets, means.loc[(number, "low")], means.loc[(number, "high")], start)
        if _valid(base, costs):
            fitted[number] = costs
        else:
            weights.iloc[number] = 0.0
    if WEIGHT in kept.columns:
        kept = kept.assign(**{WEIGHT: weights.to_numpy()})
    return pd.concat([kept, pd.DataFrame(fitted, index=particles.index)], axis=1)


def _margins(base: Scenario, targets: list[Target], values: pd.DataFrame, live: list[int], start: Mapping[str, float],
             seeds: Sequence[int], pool: Executor, count: int, bar, interrupted: str,
             store: RunStore | None) -> pd.DataFrame:
    """Every live particle's mean target values at the start costs (``low``) and a step above (``high``)."""
    records, base_hash, names = values.to_dict("records"), scenario_hash(base), [target.id for target in targets]
    tasks = []
    for number in live:
        overrides = {name: (int(value) if pd.api.types.is_integer_dtype(values[name]) else float(value))
                     for name, value in records[number].items()}
        for side, costs in (("low", start), ("high", stepped(start))):
            tasks += [{"particle": number, "side": side, "overrides": {**overrides, **costs}, "seed": seed,
                       "key": run_key(base_hash, {**overrides, **costs}, seed)} for seed in seeds]
    done = store.finished({task["key"] for task in tasks}, names) if store is not None else set()
    pending = [task for task in tasks if task["key"] not in done]
    bar.update(len(tasks) - len(pending))
    rows: list[dict] = [{**store.get(task["key"], names), **task} for task in tasks if task["key"] in done]

    def keep(row: dict) -> None:
        rows.append(row)
        if store is not None:
            store.put(row)

    runs = Runs(base.model_dump(mode="json"), TargetValues(targets), "posterior")
    execute(runs, iter(pending), len(pending), keep, pool, count, bar, interrupted)
    failed = [row for row in rows if row["error"] is not None]
    if failed:
        raise UserError(f"{len(failed)} accounts run(s) of the unit-cost fit failed; the first, particle "
                        f"{failed[0]['particle'] + 1}: {failed[0]['error']}")
    table = pd.DataFrame([{"particle": row["particle"], "side": row["side"], **row["outcomes"]} for row in rows],
                         columns=["particle", "side", *(target.id for target in targets)])
    return table.groupby(["particle", "side"]).mean()


def _valid(base: Scenario, costs: Mapping[str, float]) -> bool:
    """Whether fitted costs are values the scenario takes (finite, within each field's bounds)."""
    if not all(np.isfinite(value) for value in costs.values()):
        return False
    try:
        resolve(base, dict(costs))
    except ScenarioError:
        return False
    return True


def refused(table: pd.DataFrame, fitted: pd.DataFrame) -> tuple[int, int]:
    """Particles of positive weight in ``table``, and how many of them :func:`fit_particles` gave weight 0."""
    live = table[WEIGHT] > 0
    return int(live.sum()), int((live & (fitted[WEIGHT] == 0)).sum())


def posterior_costs(calibration: Calibration, table: pd.DataFrame, pool: Executor, count: int,
                    progress: bool, folder: Path) -> pd.DataFrame:
    """A posterior table (:func:`sim.calibration.fitting.posterior_table`) with every particle's unit
    costs fitted to the set-up's ``accounts`` targets, on the set-up's check seeds; the runs are kept
    in ``folder``/:data:`STORE`, so a refit reruns none. Particles no valid cost fits get weight 0,
    with a warning; if none is left, one line says so."""
    from tqdm import tqdm

    seeds = replicate_seeds(calibration.setup.seed + 1, PARTICLE_REPLICATES)
    live = int((table[WEIGHT] > 0).sum())
    with tqdm(total=2 * len(seeds) * live, unit="run", disable=not progress or None,
              desc=f"{calibration.setup.name} (unit costs of {live} particles)") as bar:
        fitted = fit_particles(calibration.accounts_base, list(calibration.accounts), table, seeds, pool, count, bar,
                               "interrupted: the bank and the unit costs' runs so far are kept; run the same command "
                               "again to finish", RunStore(folder / STORE))
    live, dropped = refused(table, fitted)
    if dropped == live:
        raise UserError(f"no particle's margins can meet {calibration.setup.accounts} with valid unit costs")
    if dropped:
        warn([f"{dropped} of {live} particles: no valid unit cost meets their filed margins; given weight 0"])
    return fitted
