"""Candidates: a parameter set run over common seeds, scored against the targets."""

from __future__ import annotations

from concurrent.futures import Executor, Future
from typing import Any

from ..run import run
from ..scenario import Scenario
from ..scenario.loader import override
from .setup import Calibration
from .targets import Fit, Target, evaluate_values, simulate_all


def simulate_targets(base: dict[str, Any], overrides: dict[str, Any], seed: int, targets: list[dict]) -> dict[str, float]:
    """Worker side: one run of the base scenario with ``overrides``; every target's value (NaN if it failed)."""
    specs = [Target.model_validate(target) for target in targets]
    try:
        result = run(override(Scenario.model_validate(base), overrides, "calibration"), seed=seed)
    except Exception as error:  # noqa: BLE001 - a candidate that cannot run gets an infinite loss, not a crash
        return {**{target.id: float("nan") for target in specs}, "error": f"{type(error).__name__}: {error}"}
    return simulate_all(specs, result)


class Candidates:
    """Runs parameter sets over common seeds on an executor and scores them against the targets."""

    def __init__(self, calibration: Calibration, pool: Executor, seeds: list[int]) -> None:
        self.calibration, self.pool, self.seeds = calibration, pool, seeds
        self.base = calibration.base.model_dump(mode="json")
        self.targets = [target.model_dump(mode="json") for target in calibration.targets]

    def overrides(self, values: dict[str, float]) -> dict[str, Any]:
        return {name: parameter.clip(values[name]) for name, parameter in self.calibration.parameters.items()}

    def submit(self, values: dict[str, float]) -> list[Future]:
        overrides = self.overrides(values)
        return [self.pool.submit(simulate_targets, self.base, overrides, seed, self.targets) for seed in self.seeds]

    def score(self, futures: list[Future]) -> Fit:
        """The fit of one candidate's runs; a run that failed leaves its error in ``fit.errors``."""
        runs = [future.result() for future in futures]
        fit = evaluate_values(self.calibration.targets, runs)
        fit.errors = [run["error"] for run in runs if "error" in run]
        return fit

    def __call__(self, values: dict[str, float]) -> Fit:
        return self.score(self.submit(values))
