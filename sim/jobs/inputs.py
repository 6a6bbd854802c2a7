"""What sweep files and calibration set-ups share: the size limits of a job, and the checks of a
scenario value that a job varies.

Each check is one line naming the file, the place and what would be valid (a
:class:`~sim.errors.ScenarioError`), like the checks of scenario files.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import Field, ValidationError

from ..errors import ScenarioError
from ..scenario import Scenario
from ..scenario.loader import Origins, locate, place, shown, validation_error
from ..scenario.paths import PARAMETER_BLOCKS, blocks_given_whole, check_path, get_path, set_path
from ..scenario.types import Strict

# Runs of one job (a sweep's design points x replicates, a calibration's budget x replicates). Each
# finished sweep run is one small file in the run store, the runs table and the design are held in
# memory (about 1 KB a run), and at a second a run a million runs are 12 days of one core: beyond
# that, split the job.
MAX_RUNS = 1_000_000
MAX_REPLICATES = 1_000  # as for ``retailsim run --replicates``
MAX_MAGNITUDE = 1e15  # no scenario value is larger; a range beyond it is a typo (and high - low may overflow)

Bounded = Annotated[float, Field(ge=-MAX_MAGNITUDE, le=MAX_MAGNITUDE, allow_inf_nan=False)]


def fail(origins: Origins, source: str, loc: tuple, message: str) -> ScenarioError:
    """The error at ``loc`` of a validated file, with its line."""
    where, line = locate(loc, origins, source)
    return ScenarioError(where, place(loc), message, line)


def check_fixed(fixed: dict[str, Any], origins: Origins, source: str) -> None:
    """A sweep's or a game's ``set:`` gives no block whole: its other keys would take their defaults, not
    the base scenario's (``memberships: {taste_sd_usd: 50}`` dropped the calibrated Walmart+ liking)."""
    for key, _, first, inner in blocks_given_whole(Scenario, fixed)[:1]:
        raise fail(origins, source, ("set", key), f"sets the block {key} whole, so the keys it does not name take "
                   f"their defaults, not the base scenario's; give each key by its path, e.g. {key}.{first}: "
                   f"{shown(inner)}")


def first_repeat(values: list[Any]) -> int | None:
    """The index of the first value that equals one listed before it (as :func:`check_parameter` returns
    them, so 139 and "139" are one value), or None: a sweep's point or a game's option would run twice."""
    return next((number for number, value in enumerate(values) if value in values[:number]), None)


def check_parameter(base: Scenario, dotted: str, probes: list[Any], origins: Origins, source: str,
                    verb: str = "swept", check_path_first: bool = True) -> list[Any]:
    """``dotted`` names one value of ``base`` that may vary, and each probe value is valid there;
    each probe's value as the scenario holds it (``"139"`` is 139.0)."""
    loc = ("parameters", dotted)
    if check_path_first:
        problem = check_path(Scenario, dotted, PARAMETER_BLOCKS, f"cannot be {verb}; parameters live under", years=True)
        try:
            current = get_path(base, dotted) if problem is None else None
        except KeyError:  # a year the by-year mapping does not hold yet: the sweep adds it
            current = None
        if problem is None and isinstance(current, (dict, Strict)):
            problem = f"'{dotted}' is a block, not a value; name one of its keys"
        elif problem is None and isinstance(current, (list, tuple, set, frozenset)):
            problem = f"'{dotted}' holds a list, not one value, so it cannot be {verb}"
        elif problem is None and (isinstance(current, dt.date) or any(isinstance(v, dt.date) for v in probes)):
            problem = (f"'{dotted}' is a date, and dates cannot be {verb} yet (only numbers and names); "
                       "write a scenario for each date and compare them")
        if problem:
            raise fail(origins, source, loc, problem)
    data = base.model_dump(mode="json")
    validated: dict[str, Any] = {}
    for value in probes:
        if repr(value) in validated:  # listed twice: checked once
            continue
        try:
            validated[repr(value)] = get_path(Scenario.model_validate(set_path(data, dotted, value)), dotted)
        except ValidationError as exc:
            inner = validation_error(exc, {}, source)
            raise fail(origins, source, loc, f"{value!r} is not valid here: {inner.message}") from None
    return [validated[repr(value)] for value in probes]
