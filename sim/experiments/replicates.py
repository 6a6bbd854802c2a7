"""Replicates: the same scenarios over the same K seeds (common random numbers).

Seeds flow downward from one root: replicate 0 uses the root seed itself (so one replicate is the
plain run), replicate k > 0 a seed spawned from it. Every scenario of a comparison runs over the
same seeds, so a difference between scenarios is the levers', not the noise's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from ..model.market import RetailMarket
from ..results import Result
from ..run import run
from ..scenario import Scenario
from .stored import StoredRuns


# Runs side by side pay for a pool (its server imports the model: about a second) and take about 40%
# off the time of runs one after another on 2 cores (docs/performance.md); from about 5 million
# household-weeks in all, such as ten 2,000-household runs of the baseline, that is worth it.
MIN_SIDE_BY_SIDE_HOUSEHOLD_WEEKS = 5_000_000


def replicate_seeds(root: int, replicates: int) -> list[int]:
    """``replicates`` seeds derived from ``root`` (the first is ``root``)."""
    if replicates < 1:
        raise ValueError("replicates must be at least 1")
    children = np.random.SeedSequence(root).spawn(replicates - 1)
    return [int(root)] + [int(child.generate_state(1, dtype=np.uint32)[0]) for child in children]


def run_replicates(scenarios: Sequence[Scenario], seeds: Sequence[int],
                   on_run: Callable[[Scenario, int], None] | None = None,
                   progress: Callable[[object], None] | None = None, cores: int = 1,
                   stored: StoredRuns | None = None) -> list[Result]:
    """Run every scenario at every seed; the results in order (scenario-major). A run ``stored`` holds
    (saved by this model version: :mod:`sim.experiments.stored`) is loaded instead.

    On one core, one after another: ``on_run`` is told before each run, and ``progress`` after every
    weekly step (with the model). With ``cores`` above 1, several runs go side by side, one a
    process (:func:`side_by_side`), or a single run shares its households among that many
    processes (:func:`sim.run`); side by side, ``on_run`` is told as each run's results are awaited,
    in order, and ``progress`` is called once for each of a run's weeks (with None) when it is done.
    The results are the same to the bit either way."""
    wanted = [(scenario, seed) for scenario in scenarios for seed in seeds]
    loaded = [None if stored is None else stored.take(scenario, seed) for scenario, seed in wanted]
    runs = [pair for pair, result in zip(wanted, loaded) if result is None]
    for (scenario, _seed), result in zip(wanted, loaded):
        if result is not None and progress is not None:
            for _week in range(len(RetailMarket.calendar(scenario.horizon))):
                progress(None)
    workers = side_by_side(cores, runs)
    if workers > 1:
        made = iter(_in_pool(runs, workers, on_run, progress))
    else:
        made = iter([_one(scenario, seed, on_run, progress, cores) for scenario, seed in runs])
    return [next(made) if result is None else result for result in loaded]


def _one(scenario: Scenario, seed: int, on_run: Callable[[Scenario, int], None] | None,
         progress: Callable[[object], None] | None, cores: int) -> Result:
    if on_run is not None:
        on_run(scenario, seed)
    return run(scenario, seed, progress=progress, cores=cores)


def side_by_side(cores: int, runs: Sequence[tuple[Scenario, int]]) -> int:
    """How many of ``runs`` go side by side on ``cores``, one a process: where there are several and
    together they are worth a pool (:data:`MIN_SIDE_BY_SIDE_HOUSEHOLD_WEEKS`), never more than the
    CPUs, nor with a run above :data:`~sim.model.cores.MAX_SHARED_HOUSEHOLDS` (each process holds
    its run's model). Else 1, and each run shares its households among the cores instead."""
    from ..model.cores import MAX_SHARED_HOUSEHOLDS
    from ..processes import available_cores

    if len(runs) < 2 or cores < 2 or any(s.population.shoppers > MAX_SHARED_HOUSEHOLDS for s, _seed in runs):
        return 1
    work = sum(s.population.shoppers * len(RetailMarket.calendar(s.horizon)) for s, _seed in runs)
    return 1 if work < MIN_SIDE_BY_SIDE_HOUSEHOLD_WEEKS else min(len(runs), cores, available_cores())


def _in_pool(runs: list[tuple[Scenario, int]], workers: int, on_run: Callable[[Scenario, int], None] | None,
             progress: Callable[[object], None] | None) -> list[Result]:
    """``runs`` on a pool of ``workers`` processes (forked from a server that has the model loaded)."""
    from ..jobs.executors import executor

    results = []
    with executor(workers) as (pool, _count):
        futures = [pool.submit(run, scenario, seed) for scenario, seed in runs]
        for (scenario, seed), future in zip(runs, futures):  # interrupted, or a run failed: the pool
            if on_run is not None:  # ends its workers at once (sim.jobs.executors.stop_workers)
                on_run(scenario, seed)
            results.append(future.result())
            if progress is not None:
                for _week in RetailMarket.calendar(scenario.horizon):
                    progress(None)
    return results


def run_draws(draws: Sequence[Sequence[Scenario]], seeds: Sequence[int], particles: Sequence[int],
              on_run: Callable[[Scenario, int], None] | None = None,
              progress: Callable[[object], None] | None = None, cores: int = 1,
              stored: StoredRuns | None = None) -> list[Result]:
    """Every draw's scenarios at every seed (:func:`run_replicates`, draw by draw); each run's
    manifest records its draw number (``parameter_draw``) and posterior particle. A particle drawn
    twice is run once: its runs would be the same, number for number."""
    results: list[Result] = []
    done: dict[int, list[Result]] = {}
    for number, (particle, scenarios) in enumerate(zip(particles, draws)):
        if particle not in done:
            done[particle] = run_replicates(scenarios, seeds, on_run, progress, cores, stored)
        results += [replace(run, manifest={**run.manifest, "parameter_draw": number, "posterior_particle": particle})
                    for run in done[particle]]
    return results
