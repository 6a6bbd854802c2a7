"""Events a scenario inherits across a horizon another file moved: the world as of the new start.

The baseline's events run from 2021 (Prime's fee rise in February 2022, Walmart's dark stores...). A
what-if that extends it with a later or shorter horizon (``horizon: {start: 2026-01-05}``, or ``--set
horizon.end=...``) inherits events its horizon does not hold. Refusing them left no way to run a
shorter horizon of the baseline but dropping every event (``--set events=[]``), and with them the world
they built. So an event outside the horizon as finally set, written in a file that comes before the one
that set the bound it falls outside (in the ``extends:`` chain, the first ancestor first, then
``--set``), is fitted to it:

- before the start: its changes are applied to the values the run starts from, in date order (as the
  world stands at the start), except a value that the file that set the start, or a later one, sets
  itself (its own value holds from its start);
- after the end: dropped (the run never reaches it).

An event outside the horizon in the file that set the bound, or in a later one, is still refused, with
its place: a date mistyped in one's own file is caught.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from ..errors import COMMAND_LINE
from .paths import check_path, drawn_once, set_path
from .schema import Event, Horizon, Scenario
from .yamlfile import Origins


def fit_to_horizon(data: dict[str, Any], origins: Origins, order: list[str],
                   refuse: Callable[[tuple, str], None]) -> tuple[dict[str, Any], Origins]:
    """``data`` with the events fitted to the horizon's bounds that were set after them: ``order`` is the
    ``extends:`` chain, the first ancestor first, then the command line; an event of a file before the one
    that set a bound is fitted to it. ``origins`` is renumbered to match. Unchanged if no event is.
    ``refuse(place, problem)`` raises for an event to fold that sets a path no event may set (named for
    its path, where its date would be the only thing said)."""
    events = data.get("events")
    if not isinstance(events, list) or not events:
        return data, origins
    rank = {name: position for position, name in enumerate(order)}
    start, end = (rank.get(_setter(origins, bound), -1) for bound in ("start", "end"))  # -1: the defaults
    if start < 0 and end < 0:  # the horizon is the defaults': every event is checked as written
        return data, origins
    try:
        horizon = Horizon.model_validate(data.get("horizon") or {})
    except ValidationError:
        return data, origins  # the horizon's own error is reported when the scenario is validated
    kept, folded = [], []
    for number, raw in enumerate(events):
        where = origins.get(("events", number))
        written = rank.get(where[0], len(order)) if where is not None else len(order)  # unknown: checked as written
        try:
            date = Event.model_validate(raw).date
        except (ValidationError, TypeError):
            date = None  # its own error is reported when the scenario is validated
        if date is not None and date < horizon.start and written < start:
            for dotted in raw["set"]:
                if problem := check_path(Scenario, str(dotted)) or drawn_once(str(dotted)):
                    refuse(("events", number, "set", dotted), problem)
            folded.append((date, number, raw))
        elif not (date is not None and date > horizon.end and written < end):
            kept.append(number)
    if len(kept) == len(events):
        return data, origins
    for _date, _number, raw in sorted(folded, key=lambda item: item[:2]):
        for dotted, value in raw["set"].items():
            if rank.get(_origin(origins, str(dotted)), -1) < start:  # a file that moved the start, or a later one,
                data = set_path(data, str(dotted), value)        # keeps the value it sets itself
    data = {**data, "events": [events[number] for number in kept]}
    moved = {old: new for new, old in enumerate(kept)}
    return data, {_renumber(path, moved): where for path, where in origins.items()
                  if not (len(path) > 1 and path[0] == "events" and path[1] not in moved)}


def _setter(origins: Origins, bound: str) -> str | None:
    """The file (or the command line) that set the horizon's ``bound``, if any did."""
    where = origins.get(("horizon", bound)) or origins.get(("horizon",))
    return where[0] if where else None


def _origin(origins: Origins, dotted: str) -> str | None:
    """The file that set the value at ``dotted`` itself (a year of a series: or the series whole), if any
    did. Not a file's block holding it: a file that names one key of a block sets only that key (blocks
    merge). But ``--set`` replaces a block it names whole, so every value inside is the command line's."""
    path = tuple(dotted.split("."))
    where = origins.get(path) or (origins.get(path[:-1]) if path[-1].isdigit() else None)
    if where is None:
        where = next((origins[path[:depth]] for depth in range(len(path) - 1, 0, -1)
                      if origins.get(path[:depth], ("",))[0] == COMMAND_LINE), None)
    return where[0] if where else None


def _renumber(path: tuple, moved: dict[int, int]) -> tuple:
    return (path[0], moved[path[1]], *path[2:]) if len(path) > 1 and path[0] == "events" else path
