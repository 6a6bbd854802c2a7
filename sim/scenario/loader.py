"""Loading scenarios: ``extends:`` chains, ``calibration:`` layers, events, and one-line errors.

Each file is read by :mod:`sim.scenario.yamlfile` (regular files, bounded size, aliases and
nesting, no duplicate keys, real dates); ``extends:`` chains deeper than ``MAX_EXTENDS`` files are
refused; events are checked in time linear in their number.
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any, Mapping, TypeVar

from pydantic import ValidationError

from ..bounds import PLAIN_NAME_PATTERN
from ..errors import COMMAND_LINE, ScenarioError
from .paths import (PARAMETER_BLOCKS, check_path, drawn_once, explain, model_at, renamed,
                    set_path, suggest)
from .inherited import fit_to_horizon
from .schema import EventOutsideHorizon, Scenario
from .yamlfile import (Origins, check_depth, check_regular_file, display, named_by, not_a_file, parse_yaml,
                       read_yaml, same_value)

__all__ = ["COMMAND_LINE", "DOCUMENT", "Origins", "display", "load_document", "load_scenario", "parse_yaml",
           "read_validated", "read_yaml", "set_in_place"]
T = TypeVar("T")
MAX_EXTENDS = 16  # files in one extends: chain
DIRECTIVES = {"extends", "calibration"}  # resolved by the loader, never part of a loaded scenario
DEFAULTS = Scenario().model_dump(mode="json", exclude=DIRECTIVES)
# Files a scenario's ``calibration:`` may name by mistake, told by a top-level key of theirs.
OTHER_FILES = {"design": "a sweep file", "targets": "a calibration set-up or targets file", "players": "a game file",
               "extends": "a scenario file"}


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """``top`` over ``base``: blocks merge key by key, events accumulate, other values replace."""
    merged = copy.deepcopy(base)
    for key, value in top.items():
        if key == "events" and isinstance(value, list) and isinstance(merged.get(key), list):
            merged[key] = merged[key] + copy.deepcopy(value)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _shift_events(origins: Origins, offset: int) -> Origins:
    """Renumber a child's event positions after the events it inherits."""
    if offset == 0:
        return origins
    return {
        (path[0], path[1] + offset, *path[2:]) if len(path) > 1 and path[0] == "events" else path: where
        for path, where in origins.items()
    }


def _linked_file(path: Path, data: dict[str, Any], origins: Origins, key: str, what: str) -> Path | None:
    """The file a directive (``extends:``, ``calibration:``) names, relative to ``path``; checked."""
    name = data.pop(key, None)
    if name is None:
        return None
    source, line = display(path), origins.get((key,), ("", None))[1]
    if not isinstance(name, str) or not name.strip():
        raise ScenarioError(source, key, f"must be the path of {what}", line)
    try:
        linked = (path.parent / name).resolve()
        found = linked.is_file()
    except (OSError, RuntimeError):  # RuntimeError: a symbolic-link loop (Python 3.11)
        raise ScenarioError(source, key, f"cannot follow '{name}' (a symbolic-link loop?)", line) from None
    if not found:
        raise ScenarioError(source, key, f"file '{name}' {not_a_file(linked, path.parent)}", line)
    return linked


def calibrated_layer(path: Path) -> tuple[dict[str, Any], Origins]:
    """The fitted parameters of a ``calibrated.yaml`` as a partial scenario, with their lines."""
    data, origins = read_yaml(path)
    parameters = data.get("parameters")
    source = display(path)
    other = next((kind for key, kind in OTHER_FILES.items() if key in data), None)
    if other:  # a sweep's parameters are ranges, a set-up's bounds: not values
        raise ScenarioError(source, "", f"is {other}, not the calibrated parameters that 'calibration:' names "
                            "(the file retailsim calibrate writes, such as calibration/calibrated.yaml)")
    if not isinstance(parameters, dict):
        raise ScenarioError(source, "parameters", "a calibrated file needs a mapping of dotted paths to values",
                            origins.get(("parameters",), ("", None))[1])
    layer: dict[str, Any] = {}
    layer_origins: Origins = {}
    for dotted, value in parameters.items():
        where = origins.get(("parameters", dotted), (source, None))
        problem = check_path(Scenario, str(dotted), PARAMETER_BLOCKS, "cannot be calibrated; parameters live under",
                             years=True)
        if problem:
            raise ScenarioError(source, f"parameters.{dotted}", problem, where[1])
        layer = set_path(layer, str(dotted), value)
        layer_origins[tuple(str(dotted).split("."))] = where
    return layer, layer_origins


def _resolve(path: Path, chain: tuple[Path, ...], calibrated: bool = True) -> tuple[dict[str, Any], Origins, list[str]]:
    """A file merged over its ``extends:`` ancestors, and over its ``calibration:`` parameters; with the
    files of its chain as errors name them, the first ancestor first."""
    data, origins = read_yaml(path)
    calibration = _linked_file(path, data, origins, "calibration", "a calibrated.yaml")
    if calibration is not None and calibrated:
        with named_by(path, origins, "calibration"):
            layer, layer_origins = calibrated_layer(calibration)
        data, origins = _merge(layer, data), {**layer_origins, **origins}
    parent = _linked_file(path, data, origins, "extends", "another scenario file")
    if parent is None:
        return data, origins, [display(path)]
    if parent in chain:
        cycle = " -> ".join(p.name for p in (*chain, parent))
        line = origins.get(("extends",), ("", None))[1]
        raise ScenarioError(display(path), "extends", f"cycle of extends: {cycle}", line)
    if len(chain) >= MAX_EXTENDS:
        line = origins.get(("extends",), ("", None))[1]
        raise ScenarioError(display(path), "extends", f"the extends: chain is over {MAX_EXTENDS} files deep; "
                            "merge some of them", line)
    with named_by(path, origins, "extends"):
        base, base_origins, files = _resolve(parent, (*chain, parent), calibrated)
    offset = len(base.get("events") or []) if isinstance(data.get("events"), list) else 0
    return _merge(base, data), {**base_origins, **_shift_events(origins, offset)}, [*files, display(path)]


def place(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def local_place(loc: tuple[Any, ...], origins: Origins, source: str) -> str:
    """``place(loc)``, with an event numbered as the file ``source`` numbers it: a scenario that extends
    another holds its parent's events first, and the user reads the events of the file named."""
    if len(loc) > 1 and loc[0] == "events" and isinstance(loc[1], int):
        before = sum(1 for path, where in origins.items()
                     if len(path) == 2 and path[0] == "events" and isinstance(path[1], int)
                     and path[1] < loc[1] and where[0] != source)
        loc = ("events", loc[1] - before, *loc[2:])
    return place(loc)


def locate(loc: tuple[Any, ...], origins: Origins, default: str) -> tuple[str, int | None]:
    """The file and line of the deepest known key on ``loc``.

    A rule about a whole block (a floor above its ceiling, a horizon too long) is blamed on
    ``--set`` when ``--set`` changed a key inside that block: that is what the user just typed."""
    for path, where in origins.items():
        if where[0] == COMMAND_LINE and len(path) > len(loc) and path[:len(loc)] == loc:
            return where
    for depth in range(len(loc), 0, -1):
        if loc[:depth] in origins:
            return origins[loc[:depth]]
    return default, None


def shown(value, most: int = 80) -> str:
    """A value as a user wrote it: a date as YAML writes it, anything else as Python's repr; at most
    ``most`` characters (a 200,000-character description made a 200 KB error line)."""
    text = value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else repr(value)
    return text if len(text) <= most else f"{text[:most - 20]}... ({len(text):,} characters)"


def validation_error(exc: ValidationError, origins: Origins, default: str, root: type = Scenario,
                     block: tuple[str, ...] | None = None) -> ScenarioError:
    """The first validation error as a one-line ScenarioError (unknown keys before the rest).
    ``block``: where ``root`` sits in a scenario, if it is one of its blocks (renamed keys are named)."""
    def order(error: dict) -> tuple:  # unknown keys first, then the first problem down the file
        line = locate(tuple(error["loc"]), origins, default)[1]
        return (error["type"] != "extra_forbidden", line is None, line or 0)

    first = sorted(exc.errors(), key=order)[0]
    loc, kind = tuple(first["loc"]), first["type"]
    message = first["msg"].removeprefix("Value error, ")
    if kind == "string_pattern_mismatch" and (first.get("ctx") or {}).get("pattern") == PLAIN_NAME_PATTERN:
        message = "must be 1 to 100 letters, digits, '_', '.' or '-', starting with a letter or digit (it names a folder)"
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, EventOutsideHorizon):
        loc = ("events", cause.number, "date")
        ends = [where for key in (("horizon", "start"), ("horizon", "end"), ("horizon",)) if (where := origins.get(key))]
        if ends and ends[0][0] != locate(loc, origins, default)[0]:  # a child file moved the horizon under it
            message += f" (the horizon is set in {ends[0][0]}" + (f":{ends[0][1]}" if ends[0][1] else "") + ")"
    elif kind == "extra_forbidden":
        model = model_at(root, loc)
        choices = [field.alias or name for name, field in model.model_fields.items()] if model else []
        within = () if root is Scenario else block
        message = renamed(".".join(map(str, (*within, *loc)))) if within is not None else None
        message = message or explain(root, loc, kind) or f"unknown key '{loc[-1]}'; {suggest(str(loc[-1]), choices)}"
    elif (plainer := explain(root, loc, kind)) is not None:
        message = plainer if isinstance(first.get("input"), dict) else f"{plainer} (got {shown(first.get('input'))})"
    elif kind == "missing":
        message = "required key is missing"
    elif not isinstance(first.get("input"), dict) or not first.get("input"):  # a list or a number: shown, shortened
        message = f"{message} (got {shown(first.get('input'))})"
    return error_at(loc, origins, default, message)


def error_at(loc: tuple[Any, ...], origins: Origins, default: str, message: str) -> ScenarioError:
    """``message`` as one line at ``loc``: the file and line that hold it, an event numbered as its file does."""
    source, line = locate(loc, origins, default)
    return ScenarioError(source, local_place(loc, origins, source), message, line)


def read_validated(path: str | Path, root: type[T]) -> tuple[T, Origins, str]:
    """A YAML file validated against ``root`` (sweeps, targets, calibration set-ups), with the line
    of every key and the file as errors name it; a bad file is one ScenarioError line."""
    path = Path(path).resolve()
    source = display(path)
    data, origins = read_yaml(path)
    try:
        return root.model_validate(data), origins, source
    except ValidationError as exc:
        raise validation_error(exc, origins, source, root=root) from None


def _check_events(data: dict[str, Any], origins: Origins, default: str) -> None:
    """Each event names real paths, and the scenario stays valid once all events have applied.

    Linear in the number of events: the state is changed in place and, after each event, only the
    blocks holding the keys it set are validated again (every rule that relates two values, such as
    a floor below a ceiling, lives in the block that holds both).
    """
    state = copy.deepcopy({key: value for key, value in data.items() if key != "events"})
    same_day: dict[tuple, Any] = {}  # (date, path, file) -> the value one file's first event there sets
    for number, event in enumerate(data.get("events") or []):
        touched: dict[tuple[str, ...], tuple[str, tuple[Any, ...]]] = {}
        clashes: list[tuple[tuple[Any, ...], str]] = []
        for dotted, value in (event.get("set") or {}).items():
            loc = ("events", number, "set", dotted)
            held_in = origins.get(("events", number), (default, None))[0]  # the file that holds the event
            earlier = same_day.setdefault((str(event.get("date")), str(dotted), held_in), value)
            if not same_value(earlier, value):  # said once the values are known to be valid
                clashes.append((loc, f"an earlier event of this file on {event.get('date')} sets it to "
                                     f"{earlier!r}, this one to {value!r}: which holds would depend on their order; "
                                     "keep one"))
            problem = check_path(Scenario, str(dotted)) or drawn_once(str(dotted))
            if problem:
                raise error_at(loc, origins, default, problem)
            set_in_place(state, str(dotted), value)
            touched.setdefault(tuple(str(dotted).split("."))[:-1], (str(dotted), loc))
        for block, (dotted, loc) in touched.items():
            _check_block(state, block, dotted, loc, origins, default)
        for loc, problem in clashes[:1]:
            raise error_at(loc, origins, default, problem)


def _check_block(state: dict[str, Any], block: tuple[str, ...], dotted: str, loc: tuple[Any, ...],
                 origins: Origins, default: str) -> None:
    """Validate the block at ``block`` (a path of keys) of ``state`` after an event set ``dotted``."""
    model = model_at(Scenario, (*block, "value"))
    node: Any = state
    for part in block:
        node = node[part]
    try:
        model.model_validate(node)
    except ValidationError as exc:
        source = locate(loc, origins, default)[0]
        inner = validation_error(exc, {}, source, root=model, block=block)
        where = ".".join([*block, inner.place]) if inner.place else ".".join(block)
        message = inner.message if where == dotted else f"{where}: {inner.message}"
        if inner.message == "required key is missing" and where.startswith(dotted + "."):  # a block set whole
            message += (f" (an event sets the block {dotted} whole; to change one of its keys, set it by its "
                        f"path: {where.rsplit('.', 1)[0]}.KEY: VALUE)")
        raise error_at(loc, origins, default, message) from None


def set_in_place(data: dict[str, Any], dotted: str, value: Any) -> None:
    node = data
    for part in dotted.split(".")[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[dotted.split(".")[-1]] = value


def load_scenario(path: str | Path, overrides: Mapping[str, Any] | None = None, calibrated: bool = True) -> Scenario:
    """Load, merge and validate a scenario file; ``overrides`` are dotted paths set on top.

    ``calibrated=False`` ignores ``calibration:`` files (the fitting itself starts from the
    uncalibrated scenario). Raises :class:`ScenarioError` with the file, the place and what would
    be valid.
    """
    path = Path(path)
    check_regular_file(path, display(path))  # named as the user gave it, even through a link
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symbolic-link loop (Python 3.11)
        raise ScenarioError(display(path), "", "cannot follow the symbolic link (a loop?)") from None
    data, origins, files = _resolve(resolved, (resolved,), calibrated)
    return _validated(data, origins, display(path), overrides, files)


def _validated(data: dict[str, Any], origins: Origins, source: str, overrides: Mapping[str, Any] | None,
               files: list[str] | None = None) -> Scenario:
    """A scenario document over the defaults, with ``overrides`` on top, validated (events too); ``files``:
    its ``extends:`` chain, the first ancestor first (for events inherited across a moved horizon)."""
    # A partial block in a file changes only the keys it names; the rest keep their defaults.
    given = data
    data = _merge(DEFAULTS, data)
    check_depth(dict(overrides or {}), COMMAND_LINE)
    for dotted, value in (overrides or {}).items():
        if dotted.split(".")[0] in ("extends", "calibration"):  # read with the file, before any override
            raise ScenarioError(COMMAND_LINE, dotted, f"is read with the scenario file and cannot be set on top of it; "
                                f"write {dotted.split('.')[0]}: in a scenario file instead")
        data = set_path(data, dotted, value)
        path = tuple(dotted.split("."))  # what the file held below it is replaced, so no longer its
        origins = {key: where for key, where in origins.items() if key[:len(path)] != path}
        origins[path] = (COMMAND_LINE, 0)
    def refuse(loc: tuple, problem: str) -> None:
        raise error_at(loc, origins, source, problem)

    data, origins = fit_to_horizon(data, origins, [*(files or []), COMMAND_LINE], refuse)  # across a moved horizon
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, origins, source) from None
    state = scenario.model_dump(mode="json")  # JSON turns an event's NaN into None: its values as written
    state["events"] = [{**event, "set": dict(given.set)} for event, given in zip(state["events"], scenario.events)]
    _check_events(state, origins, source)
    _check_reviews(scenario, given, overrides or {}, origins, source)
    return scenario


def _check_reviews(scenario: Scenario, given: dict[str, Any], overrides: Mapping[str, Any], origins: Origins,
                   source: str) -> None:
    """A first review the file (or an override) dates after the horizon's end would never happen:
    one line at its place. (The defaults may lie beyond a short horizon: reviews are then off.)"""
    strategy = given.get("strategy")
    named = {f"strategy.{key}" for key in strategy} if isinstance(strategy, dict) else set()
    for dotted, value in overrides.items():
        named |= {f"strategy.{key}" for key in value} if dotted == "strategy" and isinstance(value, dict) else {dotted}
    for key in ("fees_from", "budgets_from"):
        date = getattr(scenario.strategy, key)
        if f"strategy.{key}" in named and date > scenario.horizon.end:
            where, line = locate(("strategy", key), origins, source)
            raise ScenarioError(where, f"strategy.{key}", f"{date} is after the horizon's end ({scenario.horizon.end}), "
                                f"so no review would happen; choose a date up to {scenario.horizon.end}", line)


def load_layer(layer: dict[str, Any], origins: Origins, source: str) -> Scenario:
    """A partial scenario (such as a calibrated file's layer) over the defaults, validated; errors
    name ``source`` and the layer's lines."""
    return _validated(copy.deepcopy(layer), origins, source, None)


DOCUMENT = "<dict>"  # how errors name a scenario given as a Python mapping


def load_document(document: Mapping[str, Any], overrides: Mapping[str, Any] | None = None,
                  source: str = DOCUMENT) -> Scenario:
    """A scenario from a mapping laid out like a scenario file (``sim.run({...})``), validated as a
    file is; errors name ``source`` (``<dict>``) and the place. ``extends:`` and ``calibration:``
    name files, so they are refused here: load the file and pass ``overrides`` instead."""
    if not isinstance(document, Mapping):
        raise ScenarioError(source, "", f"a scenario document must be a mapping (got {type(document).__name__})")
    for key in document:
        if not isinstance(key, str):
            raise ScenarioError(source, "", f"keys must be strings (got {shown(key)})")
        if key in DIRECTIVES:
            raise ScenarioError(source, key, "a dict cannot name another file; give the file's path to sim.run "
                                "and change it with overrides={...}")
    check_depth(dict(document), source)
    return _validated(copy.deepcopy(dict(document)), {}, source, overrides)
