"""Size limits checked before any work: a job too large for one command is refused up front.

The figures, and how to go beyond them, are in ``docs/safety.md``. Per-field bounds (fees,
shares, counts, the horizon of at most a century) live in the scenario schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .errors import UserError

if TYPE_CHECKING:  # only for the annotations: the limits load without the schema
    from .scenario import Scenario

# Runs of one ``run`` or ``compare`` (scenarios x replicates). Their tables are held in memory for
# the report: about 4.5 MB a ten-year run.
MAX_RUNS = 1_000
# Recorded weeks summed over those runs: the same memory bound for long horizons (about 8 KB a
# run-week, so the limit is about 5 GB).
MAX_RUN_WEEKS = 600_000
# Households x weekly steps x runs: the work itself. About 4 million household-weeks a second on
# one core, so the limit is an hour or two; larger jobs belong in a sweep on several workers.
MAX_HOUSEHOLD_WEEKS = 20_000_000_000
# Replicates asked on the command line (checked before the scenario is read).
MAX_REPLICATES = MAX_RUNS


def weeks(scenario: Scenario) -> int:
    """Weekly steps of a run, warm-up included (as ``RetailMarket.calendar`` counts them)."""
    horizon = scenario.horizon
    return (horizon.end - horizon.start).days // 7 + 1 + horizon.warmup_weeks


def check_workload(scenarios: Sequence[Scenario], replicates: int) -> None:
    """Refuse, with its size and how to proceed, a job over the limits; silent otherwise."""
    runs = len(scenarios) * replicates
    if runs > MAX_RUNS:
        raise UserError(f"{runs:,} runs ({len(scenarios)} scenario(s) x {replicates:,} replicates) is over the limit of "
                        f"{MAX_RUNS:,} for one command; use fewer --replicates, or a sweep (retailsim sweep) for more")
    run_weeks = replicates * sum(weeks(s) for s in scenarios)
    if run_weeks > MAX_RUN_WEEKS:
        raise UserError(f"{run_weeks:,} run-weeks of results is over the limit of {MAX_RUN_WEEKS:,} held in memory by one "
                        "command; shorten the horizon or use fewer --replicates")
    work = replicates * sum(weeks(s) * s.population.shoppers for s in scenarios)
    if work > MAX_HOUSEHOLD_WEEKS:
        raise UserError(f"{work:.2g} household-weeks (households x weeks x runs) is over the limit of "
                        f"{MAX_HOUSEHOLD_WEEKS:.0e} for one command (hours of work); use fewer --shoppers or "
                        "--replicates, or a sweep on several workers (retailsim sweep --dask)")
