"""Calibration: the targets the baseline must reproduce, and how well a set of runs meets them."""

from ..jobs.targets import Fit, Target, evaluate, load_targets

__all__ = ["Fit", "Target", "evaluate", "load_targets"]
