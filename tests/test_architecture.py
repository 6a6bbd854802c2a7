"""The package's shape: floors that import only downwards, and modules small enough to read.

From the ground up (``docs/DEVELOPING.md``): ``errors``, ``scenario``, ``vocabulary``, then
``firms`` and ``model``, then ``run``/``results``, then experiments, calibration, reports, the
dashboard and the command line. Imports needed only for type hints (under ``TYPE_CHECKING``) do
not count: they never run.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sim"
MAX_MODULE_LINES = 410
MAX_FUNCTION_LINES = 60


def _unit(module: str) -> str:
    """The top-level unit of ``sim.x.y``: ``x`` (a sub-package or a module of ``sim``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "sim"


def _runtime_imports(tree: ast.Module) -> list[ast.ImportFrom]:
    """Relative imports that run (not those under ``if TYPE_CHECKING:``)."""
    skipped = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
               and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
               for node in ast.walk(block)}
    return [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level
            and id(node) not in skipped]


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
            if _unit(target) != _unit(module):
                graph[_unit(module)].add(_unit(target))
    return graph


def test_no_two_units_of_the_package_import_each_other() -> None:
    graph = import_graph()
    cycles = sorted((a, b) for a in graph for b in graph[a] if a < b and a in graph.get(b, ()))
    assert cycles == []


def test_the_lower_floors_import_nothing_above_them() -> None:
    graph = import_graph()
    assert graph["scenario"] <= {"errors", "bounds"}
    assert graph["bounds"] == set()
    assert graph["vocabulary"] <= {"scenario"}
    assert graph["framework"] == set()
    assert graph["firms"] <= {"vocabulary", "scenario", "errors", "streams", "framework"}
    assert graph["model"] <= {"vocabulary", "scenario", "firms", "streams", "errors", "processes", "framework"}
    upper = {"report", "experiments", "calibration", "jobs", "dashboard", "cli", "run"}
    assert not (graph["model"] | graph["firms"]) & upper


def test_modules_and_functions_stay_readable() -> None:
    long_modules, long_functions = [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(PACKAGE.parent).as_posix()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            long_modules.append(name)
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES:
                    long_functions.append(f"{name}:{node.name}")
    assert long_modules == [] and long_functions == []
