"""Changing a loaded scenario: ``override`` (dotted paths, and ``path@DATE`` changes that become events:
the command line's ``--set``, a sweep's parameters, a classroom team's levers) and ``apply_changes``
(an event's changes, as the model applies them week by week)."""

from __future__ import annotations

import copy
import re
from typing import Any, Mapping

from pydantic import ValidationError

from ..errors import COMMAND_LINE, ScenarioError
from .loader import set_in_place, validation_error
from .paths import DATED, check_path, dated_label, drawn_once, set_path
from .schema import Scenario
from .yamlfile import Origins, check_depth

__all__ = ["apply_changes", "override"]


def override(scenario: Scenario, changes: Mapping[str, Any], source: str = COMMAND_LINE) -> Scenario:
    """A validated scenario with dotted-path ``changes`` set on top (errors name ``source``). A change
    keyed ``path@DATE`` is an event on that date, after the scenario's own (a sweep's dated parameter),
    so it holds from then whatever the scenario's events set before it."""
    check_depth(dict(changes), source)
    data = scenario.model_dump(mode="json")
    origins: Origins = {}
    dated: dict[str, str] = {}  # an added event's date, by place -> the change's key, for errors
    for key, value in changes.items():
        dotted, dated_key, date = key.partition(DATED)
        if dated_key and not re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", date):  # pydantic would read 1772323200 as a Unix time
            given = f"'{date}' is not a date" if date else "no date"
            raise ScenarioError(source, key, f"{given} after '{DATED}'; give one as YEAR-MONTH-DAY (or YEAR-MONTH), "
                                             f"e.g. {dotted}{DATED}2026-01-01")
        if date:
            problem = check_path(Scenario, dotted) or drawn_once(dotted)
            if problem:
                raise ScenarioError(source, key, problem)
            try:  # the value must be one the scenario takes, as if set from the start
                Scenario.model_validate(set_path(scenario.model_dump(mode="json"), dotted, value))
            except ValidationError as exc:
                raise ScenarioError(source, key, validation_error(exc, {}, source).message) from None
            data["events"] = [*data.get("events", []), {"date": date, "label": dated_label(dotted, date),
                                                        "set": {dotted: value}}]
            dated[f"events[{len(data['events']) - 1}].date"] = key
            continue
        data = set_path(data, dotted, value)
        origins[tuple(dotted.split("."))] = (source, 0)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        error = validation_error(exc, origins, source)
        if error.place in dated:
            raise ScenarioError(source, dated[error.place], error.message) from None
        raise error from None


def apply_changes(scenario: Scenario, changes: Mapping[str, Any]) -> Scenario:
    """The scenario's levers with an event's changes applied (already validated when the file loaded).

    The result holds no events (the model keeps its own timeline), so applying n events costs n
    small validations rather than n validations of n events.
    """
    data = scenario.model_dump(mode="json", exclude={"events"})
    for dotted, value in changes.items():
        set_in_place(data, dotted, copy.deepcopy(value))
    return Scenario.model_validate(data)
