"""Replicates: the same scenarios over the same K seeds (common random numbers).

Seeds flow downward from one root: replicate 0 uses the root seed itself (so one replicate is the
plain run), replicate k > 0 a seed spawned from it. Every scenario of a comparison runs over the
same seeds, so a difference between scenarios is the levers', not the noise's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from ..results import Result
from ..run import run
from ..scenario import Scenario


def replicate_seeds(root: int, replicates: int) -> list[int]:
    """``replicates`` seeds derived from ``root`` (the first is ``root``)."""
    if replicates < 1:
        raise ValueError("replicates must be at least 1")
    children = np.random.SeedSequence(root).spawn(replicates - 1)
    return [int(root)] + [int(child.generate_state(1, dtype=np.uint32)[0]) for child in children]


def run_replicates(scenarios: Sequence[Scenario], seeds: Sequence[int],
                   on_run: Callable[[Scenario, int], None] | None = None,
                   progress: Callable[[object], None] | None = None, cores: int = 1) -> list[Result]:
    """Run every scenario at every seed, in order (scenario-major); ``on_run`` is told before each
    run, and ``progress`` after every weekly step; each run on ``cores`` processes (:func:`sim.run`)."""
    results = []
    for scenario in scenarios:
        for seed in seeds:
            if on_run is not None:
                on_run(scenario, seed)
            results.append(run(scenario, seed, progress=progress, cores=cores))
    return results


def run_draws(draws: Sequence[Sequence[Scenario]], seeds: Sequence[int], particles: Sequence[int],
              on_run: Callable[[Scenario, int], None] | None = None,
              progress: Callable[[object], None] | None = None, cores: int = 1) -> list[Result]:
    """Every draw's scenarios at every seed (:func:`run_replicates`, draw by draw); each run's
    manifest records its draw number (``parameter_draw``) and posterior particle. A particle drawn
    twice is run once: its runs would be the same, number for number."""
    results: list[Result] = []
    done: dict[int, list[Result]] = {}
    for number, (particle, scenarios) in enumerate(zip(particles, draws)):
        if particle not in done:
            done[particle] = run_replicates(scenarios, seeds, on_run, progress, cores)
        results += [replace(run, manifest={**run.manifest, "parameter_draw": number, "posterior_particle": particle})
                    for run in done[particle]]
    return results
