"""Candidates: a parameter set run over common seeds, scored against the targets.

Each run goes through the shared worker (:func:`sim.jobs.runs.run_tasks`), one task a future, so
a candidate's seeds run side by side on the executor.
"""

from __future__ import annotations

from concurrent.futures import Executor, Future
from typing import Any

import numpy as np

from ..jobs.runs import Runs
from ..jobs.targets import Fit, Target, evaluate_values, simulate_all
from ..results import Result
from .setup import Calibration


def written(value: float) -> float | int:
    """A value as ``calibrated.yaml`` holds it: an integer as it is, anything else to 5 significant digits."""
    if isinstance(value, (int, np.integer)):
        return int(value)
    return float(f"{float(value):.5g}")


class TargetValues:
    """Reads every target's value from a run (picklable: sent to workers as plain JSON)."""

    def __init__(self, targets: list[Target]) -> None:
        self.specs = [target.model_dump(mode="json") for target in targets]
        self.names = [target.id for target in targets]

    def __call__(self, result: Result) -> dict[str, float]:
        return simulate_all([Target.model_validate(target) for target in self.specs], result)


class Candidates:
    """Runs parameter sets over common seeds on an executor and scores them against the targets."""

    def __init__(self, calibration: Calibration, pool: Executor, seeds: list[int]) -> None:
        self.calibration, self.pool, self.seeds = calibration, pool, seeds
        self.runs = Runs(calibration.base.model_dump(mode="json"), TargetValues(calibration.targets), "calibration")

    def overrides(self, values: dict[str, float]) -> dict[str, Any]:
        return {name: parameter.clip(values[name]) for name, parameter in self.calibration.parameters.items()}

    def written(self, values: dict[str, float]) -> dict[str, Any]:
        """The parameter set as ``calibrated.yaml`` will hold it: inside the bounds, 5 significant digits."""
        return {name: written(value) for name, value in self.overrides(values).items()}

    def tasks(self, values: dict[str, float]) -> list[dict]:
        """One task a seed: the candidate's values (clipped to their bounds) as scenario overrides."""
        overrides = self.overrides(values)
        return [{"overrides": overrides, "seed": seed} for seed in self.seeds]

    def submit(self, values: dict[str, float]) -> list[Future]:
        return [self.runs.submit(self.pool, [task]) for task in self.tasks(values)]

    def score(self, futures: list[Future]) -> Fit:
        """The fit of one candidate's runs; a run that failed leaves its error in ``fit.errors``."""
        rows = [row for future in futures for row in future.result()]
        fit = evaluate_values(self.calibration.targets, [row["outcomes"] for row in rows])
        fit.errors = [row["error"] for row in rows if row["error"] is not None]
        return fit

    def __call__(self, values: dict[str, float]) -> Fit:
        return self.score(self.submit(values))
