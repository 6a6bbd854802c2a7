"""retailsim: an agent-based simulator of retail platform competition, built on Mesa.

The Python API mirrors the command line::

    import sim
    result = sim.run("scenarios/baseline.yaml", seed=1)
    result.timeseries          # tidy DataFrame: date, metric, firm, category, locale, segment, value
    result.series("spend_share", firm="amazon", category="discretionary")
"""

from .errors import ScenarioError, UserError
from .experiments.sweep import sweep
from .results import Result, package_version
from .run import run
from .scenario import Scenario, load_scenario

__version__ = package_version()

__all__ = ["Result", "Scenario", "ScenarioError", "UserError", "__version__", "load_scenario", "run", "sweep"]
