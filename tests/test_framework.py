"""Mesa without the sub-packages retailsim does not use (sim/framework.py): deferred, not lost."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"


def _probe(code: str, env: dict[str, str] | None = None) -> str:
    """Run ``code`` in a fresh interpreter (the deferral happens only where Mesa is not imported yet)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
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
        "print(hasattr(mesa.space, '__path__'), hasattr(mesa.experimental, '__path__'), 'networkx' in sys.modules)\n"
        "print('MultiGrid' in dir(mesa.space), type(mesa.space).__name__)\n"  # dir() runs the module
        "from unittest import mock\n"
        "with mock.patch('mesa.discrete_space.OrthogonalMooreGrid') as fake:\n"
        "    import mesa.discrete_space\n"
        "    print(mesa.discrete_space.OrthogonalMooreGrid is fake, sys.modules['mesa.discrete_space'] is mesa.discrete_space)\n"
        "print(mesa.discrete_space.OrthogonalMooreGrid.__name__, 'OrthogonalMooreGrid' in vars(mesa.discrete_space))\n"
        "print(mesa.experimental.__doc__ is not None, type(mesa.experimental).__name__)\n"  # help() reads it first
        "from mesa.experimental.continuous_space import ContinuousSpace\n"
        "print(ContinuousSpace.__name__, 'scipy.spatial' in sys.modules)")
    assert out.splitlines() == ["False True False", "True module", "True True", "OrthogonalMooreGrid True",
                                "True module", "ContinuousSpace True"]


def test_a_reloaded_stand_in_runs_once() -> None:
    out = _probe("import importlib, sys\nimport sim.framework, mesa\n"
                 "module = importlib.reload(sys.modules['mesa.space'])\n"
                 "grid = module.MultiGrid\n"
                 "print(hasattr(module, 'no_such_name'), module.MultiGrid is grid, module is mesa.space)")
    assert out == "False True True"  # a name it lacks does not run its code a second time


def test_nothing_is_deferred_when_mesa_came_first() -> None:
    out = _probe("import mesa, sys\nimport sim.framework\nprint(type(sys.modules['mesa.space']).__name__)")
    assert out == "module"


def test_pyarrows_allocator_commits_its_arena_as_used_unless_the_user_chose() -> None:
    """mimalloc reads the setting as pyarrow loads (pandas loads it): ``import sim`` sets it first, and
    keeps a value the user gave (sim/__init__.py)."""
    code = ("import os, sys\n"
            "import sim\n"
            "print(os.environ['MIMALLOC_ARENA_EAGER_COMMIT'], 'pyarrow' in sys.modules)")
    env = {key: value for key, value in os.environ.items() if key != "MIMALLOC_ARENA_EAGER_COMMIT"}
    assert _probe(code, env) == "0 False"
    assert _probe(code, {**env, "MIMALLOC_ARENA_EAGER_COMMIT": "2"}) == "2 False"


HUGE_ARENAS = (
    "import re, sys\n"
    "import pyarrow as pa, pyarrow.parquet as pq\n"
    "pq.write_table(pa.table({'value': list(range(100_000))}), sys.argv[1])\n"
    "arenas, size = 0, 0\n"
    "for line in open('/proc/self/smaps'):\n"
    "    if re.match(r'^[0-9a-f]+-[0-9a-f]+ ', line):\n"
    "        start, end = (int(part, 16) for part in line.split()[0].split('-'))\n"
    "        size = end - start\n"
    "    elif line.startswith('VmFlags:') and ' hg' in line and size >= 1 << 30:\n"
    "        arenas += 1\n"
    "print(arenas)")


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="reads Linux's /proc/self/smaps")
def test_no_arena_of_a_gibibyte_asks_for_huge_pages(tmp_path: Path) -> None:
    """What the setting is for: after a Parquet write, no mapping of 1 GiB or more is marked for huge pages
    (``hg``: madvise MADV_HUGEPAGE), where pyarrow's allocator marked its first arena so by default."""
    env = {key: value for key, value in os.environ.items() if key != "MIMALLOC_ARENA_EAGER_COMMIT"}
    done = subprocess.run([sys.executable, "-c", "import sim\n" + HUGE_ARENAS, str(tmp_path / "t.parquet")],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0"


def test_mesas_logging_names_modules_and_classes_as_before_without_reading_source() -> None:
    """Mesa's logging, given frames without their source (sim/framework.py): the same logger names, the
    same class in its messages, the same frames and function names as ``inspect`` finds."""
    out = _probe(
        "import inspect, logging, sys\n"
        "import sim.framework as framework\n"
        "import mesa\n"
        "print(mesa.mesa_logging is sys.modules['mesa.mesa_logging'], sorted(mesa.mesa_logging._module_loggers))\n"
        "class Handler(logging.Handler):\n"
        "    def emit(self, record):\n"
        "        print(record.name, record.getMessage().split(' with ')[0])\n"
        "logger = mesa.mesa_logging.get_rootlogger()\n"
        "logger.addHandler(Handler())\n"
        "logger.setLevel(logging.DEBUG)\n"
        "class Shop(mesa.Model):\n"
        "    pass\n"
        "Shop(seed=1)\n"
        "def nested():\n"
        "    here = inspect.currentframe()\n"
        "    ours, theirs = framework._outer_frames(here), inspect.getouterframes(here)\n"
        "    print([(a[0] is b[0], a[3] == b[3]) for a, b in zip(ours, theirs)] == [(True, True)] * len(theirs),\n"
        "          len(ours) == len(theirs), ours[0].code_context)\n"
        "nested()\n"
        "print(framework._module_of(inspect.currentframe()) is sys.modules['__main__'],\n"
        "      framework._module_of(mesa.Model) is sys.modules['mesa.model'])\n")
    plain = _probe("import mesa\nprint(sorted(mesa.mesa_logging._module_loggers))")  # Mesa as it imports itself
    assert out.splitlines() == [f"True {plain}", "MESA.mesa.model calling Model.__init__", "True True None",
                                "True True"]
