"""The dashboard's model: the market, built from a lesson preset plus the levers a teacher moved.

A browser chooses a preset by *name* only: the scenario the dashboard started with and the lessons
in ``scenarios/lessons/`` (shipped: see :mod:`sim.shipped`). Any other value is refused before any
file is opened.
"""

from __future__ import annotations

import datetime as dt
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..model.market import RetailMarket
from ..scenario import Scenario, load_scenario
from ..scenario.changes import override
from ..scenario.paths import get_path
from ..shipped import baseline, lessons_folder
from .levers import LEVERS, dotted

LESSONS = lessons_folder()
DEFAULT_SHOPPERS = 2000  # small enough to step smoothly in a browser
# The scenario the dashboard was started with and its model size (set by ``retailsim dashboard``
# through ``configure``; the variables serve ``solara run sim.dashboard.app``).
START = os.environ.get("RETAILSIM_DASHBOARD_SCENARIO", str(baseline()))
SHOPPERS = int(os.environ.get("RETAILSIM_DASHBOARD_SHOPPERS", DEFAULT_SHOPPERS))


class UnknownPreset(UserError):
    """A preset value that is not one of the server's preset names (nothing was opened)."""


def configure(scenario: str | Path, shoppers: int) -> None:
    """Set the start scenario (an already validated file) and the households of every model."""
    global START, SHOPPERS
    START, SHOPPERS = str(scenario), int(shoppers)
    preset.cache_clear()


@lru_cache(maxsize=32)
def preset(path: str) -> Scenario:
    return load_scenario(path)


def start_name() -> str:
    return Path(START).stem


def presets() -> dict[str, str]:
    """The scenario the dashboard started with, then the lesson presets: name -> file.

    Only lists the lessons folder; opens no file. A lesson that did not load when the server
    started (:func:`check_lessons`) is left out."""
    lessons = {p.stem: str(p) for p in sorted(LESSONS.glob("*.yaml")) if p.stem not in (start_name(), *LEFT_OUT)}
    return {start_name(): START, **lessons}


LEFT_OUT: set[str] = set()  # lessons whose files did not load when the server started


def check_lessons() -> list[str]:
    """Load every lesson preset once, as the server starts; each that does not load (a teacher's file
    with a typo, say) is left out of the menu, with one line saying why."""
    lines = []
    for name, path in presets().items():
        if name == start_name():
            continue
        try:
            preset(path)
        except UserError as problem:
            LEFT_OUT.add(name)
            lines.append(f"lesson preset {name} left out: {problem}")
    return lines


def preset_file(name: object) -> str:
    """The file of a preset *name*; anything else (a path, a URL, a non-string) is refused without
    opening a file, in a message that repeats at most a short excerpt of the value."""
    table = presets()
    if isinstance(name, str) and name in table:
        return table[name]
    shown = repr(name) if len(repr(name)) <= 40 else repr(name)[:37] + "..."
    raise UnknownPreset(f"unknown lesson preset {shown}: choose one of {', '.join(table)}")


def build(scenario_path: str, seed: int, shoppers: int, levers: dict[str, Any]) -> Scenario:
    """The preset file with the moved levers applied. A moved lever holds for the whole run: the
    preset's events that would set the same path are dropped."""
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


def whole_number(value: object, what: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        shown = repr(value) if len(repr(value)) <= 24 else repr(value)[:21] + "..."
        raise UserError(f"{what} must be a whole number, got {shown}") from None


class DashboardMarket(RetailMarket):
    """The market as the dashboard's page creates it: every parameter by keyword (levers as ``a__b__c``).

    ``scenario`` is a preset name (default: the scenario the dashboard started with)."""

    def __init__(self, scenario: str | None = None, seed: int | str = 2021,
                 shoppers: int | None = None, **kwargs: Any) -> None:
        # The page passes the moved levers by keyword (``a__b__c``), only those moved.
        name = start_name() if scenario is None else scenario
        file = preset_file(name)  # before anything is opened
        households = SHOPPERS if shoppers is None else whole_number(shoppers, "shoppers")
        super().__init__(build(file, whole_number(seed, "the seed"), households, kwargs))
        self.preset_name = name
        # The class starts at the horizon, not in the unrecorded warm-up (about 0.1 s).
        while self.running and self.date < self.scenario.horizon.start - dt.timedelta(days=7):
            self.step()
