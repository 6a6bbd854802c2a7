"""Moved: targets and their evaluation live in :mod:`sim.jobs.targets` (the report reads them too,
and may not import calibration). This module keeps older imports working."""

from ..jobs.targets import Fit, Target, Targets, evaluate, evaluate_values, load_targets, simulate_all

__all__ = ["Fit", "Target", "Targets", "evaluate", "evaluate_values", "load_targets", "simulate_all"]
