"""``retailsim validate``: scenario and sweep files alike, each checked as the command that runs it would."""

from __future__ import annotations

from pathlib import Path

from .errors import UserError
from .scenario import load_scenario
from .scenario.loader import read_yaml


def is_sweep_file(path: Path) -> bool:
    """A sweep file has a ``design:`` and ``parameters:`` (a scenario has neither); a file that cannot
    be read is left to the scenario loader, which names its problem."""
    try:
        data, _ = read_yaml(Path(path))
    except (UserError, OSError):
        return False
    return isinstance(data, dict) and "design" in data and "parameters" in data


def validate_file(path: Path) -> str:
    """The ``ok`` line of one valid scenario or sweep file; a bad one raises its one-line UserError."""
    if is_sweep_file(path):
        from .experiments.sweepfile import load_sweep

        sweep, base = load_sweep(path)
        return (f"{path}: ok (sweep {sweep.name}: {sweep.design}, {sweep.points():,} points x {sweep.replicates} "
                f"replicate(s) = {sweep.runs:,} runs over {base.name})")
    scenario = load_scenario(path)
    return f"{path}: ok ({scenario.name}, {len(scenario.events)} events)"
