"""The dashboard's model: the market, built from a lesson preset plus the levers a teacher moved."""

from __future__ import annotations

import datetime as dt
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..model.market import RetailMarket
from ..scenario import Scenario, load_scenario
from ..scenario.loader import override
from ..scenario.paths import get_path
from .levers import LEVERS, dotted

ROOT = Path(__file__).resolve().parents[2]
LESSONS = ROOT / "scenarios" / "lessons"
DEFAULT_SHOPPERS = 2000  # small enough to step smoothly in a browser
# The scenario the dashboard was started with (set by ``retailsim dashboard``).
START = os.environ.get("RETAILSIM_DASHBOARD_SCENARIO", str(ROOT / "scenarios" / "baseline.yaml"))


@lru_cache(maxsize=32)
def preset(path: str) -> Scenario:
    return load_scenario(path)


def presets() -> dict[str, str]:
    """The scenario the dashboard started with, then the lesson presets: name -> file."""
    return {Path(START).stem: START, **{p.stem: str(p) for p in sorted(LESSONS.glob("*.yaml"))}}


def build(scenario_path: str, seed: int, shoppers: int, levers: dict[str, Any]) -> Scenario:
    """The preset with the moved levers applied. A moved lever holds for the whole run: the preset's
    events that would set the same path are dropped."""
    base = preset(scenario_path)
    moved = {dotted(name): value for name, value in levers.items()
             if dotted(name) in LEVERS and value != get_path(base, dotted(name))}
    events = [
        {**event.model_dump(mode="json"), "set": {k: v for k, v in event.set.items() if k not in moved}}
        for event in base.events
    ]
    events = [event for event in events if event["set"]]
    return override(base, {**moved, "events": events, "seed": int(seed), "population.shoppers": int(shoppers)},
                    "dashboard")


class DashboardMarket(RetailMarket):
    """The market as SolaraViz creates it: every parameter by keyword (levers as ``a__b__c``)."""

    def __init__(self, scenario: str = START, seed: int = 2021,
                 shoppers: int = DEFAULT_SHOPPERS, **kwargs: Any) -> None:
        # SolaraViz passes every lever by keyword, and accepts only a var-keyword named kwargs.
        super().__init__(build(presets().get(scenario, scenario), int(seed), int(shoppers), kwargs))
        self.scenario_path = scenario
        # The class starts at the horizon, not in the unrecorded warm-up (about 0.1 s).
        while self.running and self.date < self.scenario.horizon.start - dt.timedelta(days=7):
            self.step()
