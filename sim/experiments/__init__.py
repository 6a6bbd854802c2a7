"""Experiments: replicates over common seeds, and sweeps (their files, designs, sensitivity and driver).

The machinery sweeps share with calibrations (folders, workers, the run store, executors) is in
:mod:`sim.jobs`.
"""

from .replicates import replicate_seeds, run_replicates

__all__ = ["replicate_seeds", "run_replicates"]
