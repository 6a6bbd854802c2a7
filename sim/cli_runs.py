"""What several commands share: the scenario changes their options give, and running scenarios over
seeds (and parameter draws) behind one progress bar."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from .cli_args import parse_assignment

if TYPE_CHECKING:
    from pathlib import Path

    from .experiments.stored import StoredRuns
    from .results import Result
    from .scenario import Scenario


def scenario_changes(args: argparse.Namespace) -> dict[str, Any]:
    """The scenario changes a command's --set and --shoppers give, by dotted key."""
    changes = dict(parse_assignment(item) for item in args.set)
    if args.shoppers is not None:
        changes["population.shoppers"] = args.shoppers
    return changes


class Progress:
    """A progress bar over all weekly steps of all runs (silent when stderr is not a terminal)."""

    def __init__(self, scenarios: list[Scenario], runs_each: int, quiet: bool) -> None:
        self.bar = None
        if not quiet:
            from tqdm import tqdm

            from .model.market import RetailMarket

            weeks = sum(len(RetailMarket.calendar(s.horizon)) for s in scenarios) * runs_each
            self.bar = tqdm(total=weeks, unit="wk", file=sys.stderr, disable=None)

    def step(self, _model) -> None:
        if self.bar is not None:
            self.bar.update()

    def describe(self, scenario: Scenario, seed: int) -> None:
        if self.bar is not None:
            self.bar.set_description(f"{scenario.name} seed {seed}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_all(scenarios: list[Scenario], seeds: list[int], quiet: bool, plan: Any = None,
            cores: int = 1, stored: StoredRuns | None = None) -> list[Result]:
    """Every scenario at every seed (of every parameter draw in ``plan``), with one progress bar; each run
    on ``cores`` processes. A run that ``stored`` holds is loaded instead (then a line says how many were)."""
    from .experiments.replicates import run_draws, run_replicates

    if plan is not None and not quiet:
        print(plan.count(len(seeds)), file=sys.stderr)
    progress = Progress(scenarios, len(seeds) * (1 if plan is None else len(set(plan.particles))), quiet)
    try:
        if plan is not None:
            results = run_draws(plan.scenarios, seeds, plan.particles, on_run=progress.describe,
                                progress=progress.step, cores=cores, stored=stored)
        else:
            results = run_replicates(scenarios, seeds, on_run=progress.describe, progress=progress.step, cores=cores,
                                     stored=stored)
    finally:
        progress.close()
    for line in [] if stored is None else stored.lines():
        print(line)
    return results


def stored_runs(folders: list[Path]) -> StoredRuns | None:
    """The runs saved in the ``--reuse`` folders (None without any), read before any run."""
    from .experiments.stored import StoredRuns

    return StoredRuns.of(folders)
