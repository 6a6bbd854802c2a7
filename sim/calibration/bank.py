"""A stored bank of simulations, and the posterior that rejection ABC with regression adjustment reads from it.

The bank: ``budget`` parameter sets drawn from the prior (a scrambled Sobol sequence over the
bounds, log-uniform where a parameter is on a log scale), each run once at its own seed, every
target's value stored. It lives in the sweeps' run store (one JSON record per run, written whole),
so a bank interrupted at any point resumes where it stopped and a larger ``--budget`` extends it
with the same first simulations. A refit (other tolerances, published values, accepted count,
the out-of-sample split) reads the bank and runs nothing.

The posterior (Beaumont, Zhang & Balding 2002, "Approximate Bayesian computation in population
genetics", Genetics 162): the ``accept`` simulations nearest the published figures (the
calibration's loss: mean squared miss in tolerances), weighted by an Epanechnikov kernel on their
distance, and each parameter adjusted by a weighted linear regression on the misses, on a logit
scale of its bounds (so adjusted values stay inside them). Its honesty is checked on the bank itself
(:mod:`sim.calibration.diagnostics`): simulations taken in turn as synthetic truths, their
posterior from the rest of the bank, and how often the truth lies in the 90% interval.
"""

from __future__ import annotations

import warnings
from concurrent.futures import Executor
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UserError
from ..experiments.replicates import replicate_seeds
from ..jobs.folders import fingerprint, warn
from ..jobs.runs import Runs, execute
from ..jobs.store import RunStore, run_key
from ..jobs.targets import Target
from ..results import replace_atomically, scenario_hash
from .candidates import TargetValues
from .setup import Calibration, FreeParameter

BANK_STORE, BANK = "store", "bank.parquet"
COVERAGE, OUT_OF_SAMPLE, CHECKS = "coverage.csv", "out_of_sample.csv", "checks.csv"
LEVEL = 0.9  # the posterior intervals the coverage check and the reports use (5th-95th percentiles)
EDGE = 1e-6  # how close to a bound the logit scale goes


def accepted_count(budget: int) -> int:
    """Simulations the posterior keeps when ``--population`` does not say: 5% of the bank (at least 20)."""
    return max(20, budget // 20)


# -- the bank -----------------------------------------------------------------------------------
# A target's fields that say what was published and how sure it is, not what a simulation measures:
# every other field (the series, the period, growth_from, yearly...) is part of the measure.
PUBLISHED_FIELDS = {"description", "label", "value", "above", "below", "tolerance", "confidence", "source"}


def bank_fingerprint(calibration: Calibration) -> str:
    """What decides the bank's simulations: the base scenario, size, seed, free parameters and the
    measures each target reads (not the published values, tolerances or sources, which a refit may
    change without running anything again)."""
    measures = [target.model_dump(mode="json", exclude=PUBLISHED_FIELDS) for target in measured(calibration)]
    return fingerprint({"base": calibration.base.model_dump(mode="json"), "shoppers": calibration.setup.shoppers,
                        "seed": calibration.setup.seed,
                        "parameters": {name: p.model_dump(mode="json", exclude={"why"})
                                       for name, p in calibration.parameters.items()},
                        "measures": measures})


def measured(calibration: Calibration) -> list[Target]:
    """What each simulation of the bank measures: the targets, then the checks."""
    return [*calibration.targets, *calibration.checks]


def prior_design(calibration: Calibration, budget: int) -> pd.DataFrame:
    """``budget`` parameter sets from the prior: a scrambled Sobol sequence (seeded by the set-up's
    seed) over the bounds, on a log scale where a parameter has one, as a scenario takes them. The
    first n sets of a larger budget are the n sets of a smaller one."""
    from scipy.stats import qmc

    parameters = calibration.parameters
    with warnings.catch_warnings():  # balance properties need a power of 2; the prefix is what we keep stable
        warnings.simplefilter("ignore", UserWarning)
        unit = qmc.Sobol(len(parameters), scramble=True, seed=calibration.setup.seed).random(budget)
    columns = {}
    for column, (name, parameter) in enumerate(parameters.items()):
        low, high = (np.log(bound) if parameter.log else bound for bound in parameter.range)
        values = low + unit[:, column] * (high - low)
        columns[name] = [parameter.clip(np.exp(value) if parameter.log else value) for value in values]
    return pd.DataFrame(columns)


def bank_tasks(calibration: Calibration, budget: int, wave: int = 0, design: pd.DataFrame | None = None) -> list[dict]:
    """One task a simulation: its parameter set (the prior's for the first wave, ``design`` for a
    later one) and its own seed (derived from the set-up's seed and the wave)."""
    design = prior_design(calibration, budget) if design is None else design
    seeds = replicate_seeds(calibration.setup.seed + 2 + wave, budget)  # + 1 is the check seeds' root
    base_hash = scenario_hash(calibration.base)
    tasks = []
    for index, (values, seed) in enumerate(zip(design.to_dict("records"), seeds)):
        overrides = {name: (int(value) if isinstance(value, (int, np.integer)) else float(value))
                     for name, value in values.items()}
        tasks.append({"key": run_key(base_hash, overrides, seed), "simulation": wave * budget + index, "wave": wave,
                      "seed": seed, "overrides": overrides})
    return tasks


def run_bank(calibration: Calibration, folder: Path, budget: int, pool: Executor, count: int, progress: bool,
             accept: int, waves: int = 1) -> tuple[pd.DataFrame, np.ndarray]:
    """Run the bank's missing simulations (resumable), wave after wave, and return it with each
    simulation's importance weight (:mod:`sim.calibration.waves`): one row per simulation, its wave,
    parameters, seed and every target's value (``target.<id>``); also written to ``bank.parquet``."""
    from .waves import Proposal, importance, wave_design

    bank, proposals = _run_wave(calibration, folder, bank_tasks(calibration, budget), pool, count, progress), {}
    for wave in range(1, waves):
        weights = importance(calibration, bank, proposals)
        proposals[wave] = Proposal(calibration, posterior(calibration, bank, accept, adjust=False, importance=weights))
        tasks = bank_tasks(calibration, budget, wave, wave_design(calibration, proposals[wave], budget, wave))
        bank = pd.concat([bank, _run_wave(calibration, folder, tasks, pool, count, progress)], ignore_index=True)
    replace_atomically(folder / BANK, lambda path: bank.to_parquet(path, index=False))
    return bank, importance(calibration, bank, proposals)


def _run_wave(calibration: Calibration, folder: Path, tasks: list[dict], pool: Executor, count: int,
              progress: bool) -> pd.DataFrame:
    from tqdm import tqdm

    store = RunStore(folder / BANK_STORE)
    names = [target.id for target in measured(calibration)]
    done = store.finished({task["key"] for task in tasks}, names)
    warn(store.damaged)
    pending = [task for task in tasks if task["key"] not in done]
    if pending:
        runs = Runs(calibration.base.model_dump(mode="json"), TargetValues(measured(calibration)), "calibration")
        bar = tqdm(total=len(tasks), initial=len(tasks) - len(pending), unit="simulation",
                   disable=not progress or None, desc=f"{calibration.setup.name} (bank, wave {tasks[0]['wave'] + 1})")
        try:
            execute(runs, iter(pending), len(pending), store.put, pool, count, bar,
                    f"interrupted: finished simulations are kept in {store.folder}; run the same command again to "
                    "finish the bank")
        finally:
            bar.close()
    rows = []
    for task in tasks:
        record = store.get(task["key"], names)
        if record is None:
            warn(store.damaged)
            raise UserError(f"{folder}: the record of simulation {task['simulation']} was lost while the bank ran; "
                            "run the same command again to run it")
        rows.append({"simulation": task["simulation"], "wave": task["wave"], "seed": task["seed"], **task["overrides"],
                     **{f"target.{name}": record["outcomes"][name] for name in names}, "error": record["error"]})
    return pd.DataFrame(rows)


# -- the posterior ------------------------------------------------------------------------------
def misses(targets: list[Target], simulated: pd.DataFrame, observed: dict[str, float] | None = None) -> np.ndarray:
    """Each simulation's miss of each target, in tolerances (n x targets). ``observed`` replaces
    published values (a synthetic truth's); a bound counts only a shortfall or an excess."""
    columns = []
    for target in targets:
        values = simulated[f"target.{target.id}"].to_numpy(dtype=float)
        columns.append(target.misses(values, None if observed is None else observed.get(target.id)))
    return np.column_stack(columns)


def to_unbounded(parameter: FreeParameter, values: np.ndarray) -> np.ndarray:
    """A parameter's values on a logit scale of its bounds (of their logs for a log-scale parameter)."""
    low, high = parameter.range
    values = np.asarray(values, dtype=float)
    if parameter.log:
        values, low, high = np.log(values), np.log(low), np.log(high)
    unit = np.clip((values - low) / (high - low), EDGE, 1 - EDGE)
    return np.log(unit / (1 - unit))


def from_unbounded(parameter: FreeParameter, values: np.ndarray) -> np.ndarray:
    low, high = parameter.range
    if parameter.log:
        low, high = np.log(low), np.log(high)
    result = low + (high - low) / (1 + np.exp(-np.asarray(values, dtype=float)))
    return np.exp(result) if parameter.log else result


def posterior(calibration: Calibration, bank: pd.DataFrame, accept: int, targets: list[Target] | None = None,
              observed: dict[str, float] | None = None, adjust: bool = True,
              importance: np.ndarray | None = None) -> pd.DataFrame:
    """The posterior sample: the ``accept`` simulations nearest the targets, each parameter
    regression-adjusted (unless ``adjust=False``), with kernel weights summing to 1.

    ``targets`` (default: all) are the ones conditioned on; ``observed`` replaces their published
    values. ``importance`` (one per row of the bank) weighs a bank of several waves back to the prior.
    The table has a column per parameter, ``weight``, ``loss`` (the simulation's own) and
    ``simulation`` (its number in the bank), nearest first.
    """
    targets = calibration.targets if targets is None else targets
    finite = np.isfinite(bank[[f"target.{t.id}" for t in targets]].to_numpy(dtype=float)).all(axis=1)
    usable = bank[finite]
    importance = np.ones(len(usable)) if importance is None else np.asarray(importance, dtype=float)[finite]
    if len(usable) <= accept:
        raise UserError(f"the bank has {len(usable)} usable simulations, not more than the {accept} to accept; "
                        "give a larger --budget or a smaller --population")
    miss = misses(targets, usable, observed)
    loss = (miss ** 2).mean(axis=1)
    order = np.argsort(loss, kind="stable")
    kept, bandwidth = order[:accept], np.sqrt(loss[order[accept]])
    weight = 1 - loss[kept] / bandwidth ** 2 if bandwidth > 0 else np.ones(accept)
    weight = np.maximum(weight, 1e-12) * importance[kept]
    weight = weight / weight.sum()
    table = {}
    regressors = miss[kept][:, [t.value is not None for t in targets]]
    design = np.column_stack([np.ones(accept), regressors])
    root = np.sqrt(weight)[:, None]
    for name, parameter in calibration.parameters.items():
        values = to_unbounded(parameter, usable[name].to_numpy(dtype=float)[kept])
        if adjust:
            coefficients = np.linalg.lstsq(design * root, values * root[:, 0], rcond=None)[0]
            values = values - regressors @ coefficients[1:]
        table[name] = from_unbounded(parameter, values)
    return pd.DataFrame(table).assign(weight=weight, loss=loss[kept], simulation=usable["simulation"].to_numpy()[kept])


def coverage_of(calibration: Calibration, truths: list[pd.Series], posterior_of) -> pd.DataFrame:
    """How often a synthetic truth's parameter lies in its 90% posterior interval, by parameter, with
    the interval's mean width as a share of the bounds. ``posterior_of(k, truth, observed)`` is the
    weighted sample for the k-th truth, whose simulated target values (``observed``) stand for the
    published ones."""
    inside = {name: [] for name in calibration.parameters}
    widths = {name: [] for name in calibration.parameters}
    for k, truth in enumerate(truths):
        observed = {t.id: float(truth[f"target.{t.id}"]) for t in calibration.targets if t.value is not None}
        sample = posterior_of(k, truth, observed)
        for name, parameter in calibration.parameters.items():
            low, high = interval(sample, name)
            inside[name].append(low <= float(truth[name]) <= high)
            widths[name].append(share_of_bounds(parameter, low, high))
    return pd.DataFrame([{"parameter": name, "coverage": float(np.mean(inside[name])),
                          "mean_width": float(np.mean(widths[name])), "truths": len(truths)}
                         for name in calibration.parameters])


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, quantiles) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    cumulative = (np.cumsum(weights[order]) - 0.5 * weights[order]) / weights.sum()
    return np.interp(quantiles, cumulative, np.asarray(values, dtype=float)[order])


def interval(sample: pd.DataFrame, column: str) -> tuple[float, float]:
    """The weighted central 90% interval of a posterior column."""
    tail = (1 - LEVEL) / 2
    low, high = weighted_quantiles(sample[column].to_numpy(dtype=float), sample["weight"].to_numpy(), [tail, 1 - tail])
    return float(low), float(high)


def share_of_bounds(parameter: FreeParameter, low: float, high: float) -> float:
    scale = np.log if parameter.log else (lambda x: x)
    return float((scale(high) - scale(low)) / (scale(parameter.range[1]) - scale(parameter.range[0])))


def bank_history(bank_losses: np.ndarray, accept: int) -> pd.DataFrame:
    """Every simulation's loss, nearest first, and the acceptance threshold (for the report)."""
    ordered = np.sort(bank_losses[np.isfinite(bank_losses)])
    return pd.DataFrame({"rank": np.arange(1, len(ordered) + 1), "loss": ordered,
                         "threshold": float(ordered[min(accept, len(ordered) - 1)])})


def write_table(table: pd.DataFrame, path: Path) -> None:
    replace_atomically(path, lambda temporary: table.to_csv(temporary, index=False, lineterminator="\n"))
