"""retailsim: an agent-based simulator of retail platform competition, built on Mesa.

The Python API mirrors the command line::

    import sim
    result = sim.run("scenarios/baseline.yaml", seed=1)
    result.timeseries          # tidy DataFrame: date, metric, firm, category, locale, segment, value
    result.series("spend_share", firm="amazon", category="discretionary")
"""

from __future__ import annotations

import os
import sys
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING

# pyarrow's allocator (mimalloc, which pandas loads with pyarrow) reserves a 1 GiB arena at its first
# allocation and, committing it at once, asks the kernel for transparent huge pages on all of it
# (madvise MADV_HUGEPAGE). Where the kernel's defragmentation setting for such pages is "madvise" (its
# default), the first page faults in it may wait while the kernel compacts memory: the first Parquet
# write in a process then took 0.12-0.37 s instead of 0.03 s, in 2 to 9 of every 10 to 12 fresh
# processes, by sitting (docs/performance.md). Committing the arena as it is used avoids it. mimalloc
# reads the setting once, as pyarrow loads, so it is set here, before anything imports pandas; a value
# the user set is kept.
os.environ.setdefault("MIMALLOC_ARENA_EAGER_COMMIT", "0")

from .errors import ScenarioError, UserError

if TYPE_CHECKING:  # for type checkers and editors; at run time these load on first use (see __getattr__)
    from .comparison import Comparison, compare
    from .experiments.discover import discover
    from .experiments.game import game
    from .experiments.sweep import sweep
    from .results import Result
    from .run import run
    from .scenario import Scenario, load_scenario

# The public names that need the model, pandas or pydantic, loaded on first use: ``import sim`` (and
# ``retailsim --version``) stays fast, and each command imports only what it needs.
_LAZY = {"Result": ".results", "Scenario": ".scenario", "load_scenario": ".scenario", "run": ".run",
         "sweep": ".experiments.sweep", "compare": ".comparison", "Comparison": ".comparison",
         "discover": ".experiments.discover", "game": ".experiments.game"}

__all__ = ["Comparison", "Result", "Scenario", "ScenarioError", "UserError", "__version__", "compare", "discover",
           "game", "load_scenario", "run", "sweep"]


def _package_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("retailsim")
    except metadata.PackageNotFoundError:
        return "unknown"


def __getattr__(name: str):
    if name == "__version__":
        value = _package_version()
    elif name in _LAZY:
        value = getattr(import_module(_LAZY[name], __name__), name)
    else:
        raise AttributeError(f"module 'sim' has no attribute '{name}'")
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(ModuleType):
    """``sim`` itself: importing the submodule ``sim.run`` leaves ``sim.run`` the function, as it always was."""

    def __setattr__(self, name: str, value) -> None:
        if name in _LAZY and isinstance(value, ModuleType):
            return  # the import system naming a submodule; it stays in sys.modules
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
