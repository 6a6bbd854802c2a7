"""Mesa without the sub-packages retailsim does not use (sim/framework.py): deferred, not lost."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"


def _probe(code: str) -> str:
    """Run ``code`` in a fresh interpreter (the deferral happens only where Mesa is not imported yet)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_run_does_not_load_meshes_graphs_or_spatial_trees() -> None:
    out = _probe("import sys, sim\n"
                 f"sim.run({str(BASELINE)!r}, shoppers=300)\n"
                 "print(sorted(m for m in ('networkx', 'scipy.spatial', 'mesa', 'mesa.model') if m in sys.modules))\n"
                 "print(type(sys.modules['mesa.space']).__name__)")
    assert out.splitlines() == ["['mesa', 'mesa.model']", "Deferred"]


def test_the_deferred_sub_packages_work_as_before_when_used() -> None:
    out = _probe(
        "import sys, inspect\n"
        "import sim.framework\n"
        "import mesa\n"
        "inspect.getmodule(inspect)\n"  # what Mesa's logging does: it must not load them
        "print('networkx' in sys.modules)\n"
        "from mesa.space import MultiGrid\n"
        "print(MultiGrid.__module__, type(sys.modules['mesa.space']).__name__, mesa.space.MultiGrid is MultiGrid)\n"
        "from mesa.experimental.continuous_space import ContinuousSpace\n"
        "print(ContinuousSpace.__name__, type(mesa.experimental).__name__)\n"
        "import mesa.discrete_space as grids\n"
        "print(grids.OrthogonalMooreGrid.__name__, 'networkx' in sys.modules, 'scipy.spatial' in sys.modules)\n"
        "print('__file__' in dir(mesa.discrete_space))")
    assert out.splitlines() == ["False", "mesa.space module True", "ContinuousSpace module",
                                "OrthogonalMooreGrid True True", "True"]


def test_nothing_is_deferred_when_mesa_came_first() -> None:
    out = _probe("import mesa, sys\nimport sim.framework\nprint(type(sys.modules['mesa.space']).__name__)")
    assert out == "module"
