"""Shared fixtures: small scenarios that run in well under a second."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sim.run import resolve
from sim.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
SHIPPED = sorted(SCENARIOS.glob("*.yaml")) + sorted(SCENARIOS.glob("lessons/*.yaml"))

SMALL = {
    "population.shoppers": 400,
    "horizon.start": "2021-01-04",
    "horizon.end": "2021-06-28",
    "horizon.warmup_weeks": 4,
}


def small(base: Scenario | Path | str | None = None, **changes: Any) -> Scenario:
    """A small, short version of a scenario (default: the built-in defaults), with dotted changes.

    Keyword names use ``__`` for dots: ``small(amazon__prime__fee_annual=150)``.
    """
    overrides = {**SMALL, **{key.replace("__", "."): value for key, value in changes.items()}}
    return resolve(base if base is not None else Scenario(), overrides)


@pytest.fixture
def tiny_yaml(tmp_path: Path) -> Path:
    """A scenario file small enough for command-line tests."""
    path = tmp_path / "tiny.yaml"
    path.write_text(
        "name: tiny\n"
        "population: {shoppers: 300}\n"
        "horizon: {start: 2021-01-04, end: 2021-04-26, warmup_weeks: 2}\n"
        "events:\n"
        "  - {date: 2021-03, label: Walmart+ fee cut, set: {walmart.walmart_plus.fee_annual: 79}}\n",
        encoding="utf-8",
    )
    return path
