"""``retailsim validate``: scenario and sweep files alike, each checked as the command that runs it would."""

from __future__ import annotations

import re
from pathlib import Path

from .scenario import load_scenario
from .scenario.yamlfile import MAX_FILE_BYTES


SWEEP_KEYS = re.compile(r"^(design|parameters)[ \t]*:", re.MULTILINE)


def is_sweep_file(path: Path) -> bool:
    """A sweep file has top-level ``design:`` and ``parameters:`` keys (a scenario has neither).

    A look at the text, not a parse (a scenario of 10,000 events is parsed once, by its loader);
    anything but a readable regular file of at most ``MAX_FILE_BYTES`` is left to the scenario
    loader, which names its problem."""
    path = Path(path)
    try:
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return False
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return {found.group(1) for found in SWEEP_KEYS.finditer(text)} == {"design", "parameters"}


def validate_file(path: Path) -> str:
    """The ``ok`` line of one valid scenario or sweep file; a bad one raises its one-line UserError."""
    if is_sweep_file(path):
        from .experiments.sweepfile import load_sweep

        sweep, base = load_sweep(path)
        return (f"{path}: ok (sweep {sweep.name}: {sweep.design}, {sweep.points():,} points x {sweep.replicates} "
                f"replicate(s) = {sweep.runs:,} runs over {base.name})")
    scenario = load_scenario(path)
    return f"{path}: ok ({scenario.name}, {len(scenario.events)} events)"
