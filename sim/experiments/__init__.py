"""Experiments: replicates over common seeds, and sweeps (their files, designs, sensitivity and driver).

The machinery sweeps share with calibrations (folders, workers, the run store, executors) is in
:mod:`sim.jobs`.
"""

__all__ = ["replicate_seeds", "run_replicates"]


def __getattr__(name: str):
    """``replicate_seeds`` and ``run_replicates`` on first use: importing a light module of this
    package (``prim_options`` for the command line) must not load the model."""
    if name in __all__:
        from . import replicates

        return getattr(replicates, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
