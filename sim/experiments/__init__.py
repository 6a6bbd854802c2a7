"""Experiments: replicates over common seeds (and, later, sweeps and their executors)."""

from .replicates import replicate_seeds, run_replicates

__all__ = ["replicate_seeds", "run_replicates"]
