"""Reading scenario YAML: line numbers, ``extends:`` chains, events, and one-line errors."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, Mapping, TypeVar

import yaml
from pydantic import ValidationError

from ..errors import ScenarioError
from .paths import PARAMETER_BLOCKS, check_path, model_at, set_path, suggest
from .schema import EventOutsideHorizon, Scenario

T = TypeVar("T")
# Where each key of the merged document came from: path -> (file, line).
Origins = dict[tuple[Any, ...], tuple[str, int]]
COMMAND_LINE = "--set"
DIRECTIVES = {"extends", "calibration"}  # resolved by the loader, never part of a loaded scenario
DEFAULTS = Scenario().model_dump(mode="json", exclude=DIRECTIVES)


def _lines(node: yaml.Node, path: tuple[Any, ...], source: str, origins: Origins) -> None:
    """Record the line of every key and list item below ``node``."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = path + (key_node.value,)
            origins[child] = (source, key_node.start_mark.line + 1)
            _lines(value_node, child, source, origins)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            origins[path + (index,)] = (source, item.start_mark.line + 1)
            _lines(item, path + (index,), source, origins)


def display(path: Path) -> str:
    """A path as the user would write it: relative to the working folder when inside it."""
    relative = os.path.relpath(path)
    return path.as_posix() if relative.startswith("..") else relative


def read_yaml(path: Path) -> tuple[dict[str, Any], Origins]:
    """One YAML file as a dict, with the line of each key; syntax errors become ScenarioError."""
    source = display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(source, "", "file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError(source, "", f"cannot read the file ({error})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        line = mark.line + 1 if mark else None
        column = f"column {mark.column + 1}" if mark else ""
        raise ScenarioError(source, column, f"YAML syntax error: {problem}", line) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(source, "", "a scenario file must be a mapping of keys to values")
    origins: Origins = {}
    if node is not None:
        _lines(node, (), source, origins)
    return data, origins


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
    if not isinstance(name, str):
        raise ScenarioError(source, key, f"must be the path of {what}", line)
    linked = (path.parent / name).resolve()
    if not linked.is_file():
        raise ScenarioError(source, key, f"file '{name}' not found (looked in {display(path.parent)})", line)
    return linked


def calibrated_layer(path: Path) -> tuple[dict[str, Any], Origins]:
    """The fitted parameters of a ``calibrated.yaml`` as a partial scenario, with their lines."""
    data, origins = read_yaml(path)
    parameters = data.get("parameters")
    source = display(path)
    if not isinstance(parameters, dict):
        raise ScenarioError(source, "parameters", "a calibrated file needs a mapping of dotted paths to values",
                            origins.get(("parameters",), ("", None))[1])
    layer: dict[str, Any] = {}
    layer_origins: Origins = {}
    for dotted, value in parameters.items():
        where = origins.get(("parameters", dotted), (source, None))
        problem = check_path(Scenario, str(dotted), PARAMETER_BLOCKS, "cannot be calibrated; parameters live under")
        if problem:
            raise ScenarioError(source, f"parameters.{dotted}", problem, where[1])
        layer = set_path(layer, str(dotted), value)
        layer_origins[tuple(str(dotted).split("."))] = where
    return layer, layer_origins


def _resolve(path: Path, chain: tuple[Path, ...], calibrated: bool = True) -> tuple[dict[str, Any], Origins]:
    """A file merged over its ``extends:`` ancestors, and over its ``calibration:`` parameters."""
    data, origins = read_yaml(path)
    calibration = _linked_file(path, data, origins, "calibration", "a calibrated.yaml")
    if calibration is not None and calibrated:
        layer, layer_origins = calibrated_layer(calibration)
        data, origins = _merge(layer, data), {**layer_origins, **origins}
    parent = _linked_file(path, data, origins, "extends", "another scenario file")
    if parent is None:
        return data, origins
    if parent in chain:
        cycle = " -> ".join(p.name for p in (*chain, parent))
        line = origins.get(("extends",), ("", None))[1]
        raise ScenarioError(display(path), "extends", f"cycle of extends: {cycle}", line)
    base, base_origins = _resolve(parent, (*chain, parent), calibrated)
    offset = len(base.get("events") or []) if isinstance(data.get("events"), list) else 0
    return _merge(base, data), {**base_origins, **_shift_events(origins, offset)}


def place(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def locate(loc: tuple[Any, ...], origins: Origins, default: str) -> tuple[str, int | None]:
    """The file and line of the deepest known key on ``loc``."""
    for depth in range(len(loc), 0, -1):
        if loc[:depth] in origins:
            return origins[loc[:depth]]
    return default, None


def validation_error(exc: ValidationError, origins: Origins, default: str, root: type = Scenario) -> ScenarioError:
    """The first validation error as a one-line ScenarioError (unknown keys before the rest)."""
    first = sorted(exc.errors(), key=lambda error: error["type"] != "extra_forbidden")[0]
    loc, kind = tuple(first["loc"]), first["type"]
    message = first["msg"].removeprefix("Value error, ")
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, EventOutsideHorizon):
        loc = ("events", cause.number, "date")
    elif kind == "extra_forbidden":
        model = model_at(root, loc)
        choices = list(model.model_fields) if model else []
        message = f"unknown key '{loc[-1]}'; {suggest(str(loc[-1]), choices)}"
    elif kind == "missing":
        message = "required key is missing"
    elif not isinstance(first.get("input"), (dict, list)):
        message = f"{message} (got {first.get('input')!r})"
    source, line = locate(loc, origins, default)
    return ScenarioError(source, place(loc), message, line)


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
    """Each event names real paths, and the scenario stays valid once all events have applied."""
    state = data
    for number, event in enumerate(data.get("events") or []):
        for dotted, value in (event.get("set") or {}).items():
            loc = ("events", number, "set", dotted)
            source, line = locate(loc, origins, default)
            problem = check_path(Scenario, str(dotted))
            if problem:
                raise ScenarioError(source, place(loc), problem, line)
            state = set_path(state, str(dotted), value)
            try:
                Scenario.model_validate(state)
            except ValidationError as exc:
                inner = validation_error(exc, {}, source)
                message = inner.message if inner.place == dotted else f"{inner.place}: {inner.message}"
                raise ScenarioError(source, place(loc), message, line) from None


def load_scenario(path: str | Path, overrides: Mapping[str, Any] | None = None, calibrated: bool = True) -> Scenario:
    """Load, merge and validate a scenario file; ``overrides`` are dotted paths set on top.

    ``calibrated=False`` ignores ``calibration:`` files (the fitting itself starts from the
    uncalibrated scenario). Raises :class:`ScenarioError` with the file, the place and what would
    be valid.
    """
    path = Path(path)
    data, origins = _resolve(path.resolve(), (path.resolve(),), calibrated)
    # A partial block in a file changes only the keys it names; the rest keep their defaults.
    data = _merge(DEFAULTS, data)
    for dotted, value in (overrides or {}).items():
        data = set_path(data, dotted, value)
        origins[tuple(dotted.split("."))] = (COMMAND_LINE, 0)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, origins, display(path)) from None
    _check_events(scenario.model_dump(mode="json"), origins, display(path))
    return scenario


def override(scenario: Scenario, changes: Mapping[str, Any], source: str = COMMAND_LINE) -> Scenario:
    """A validated scenario with dotted-path ``changes`` set on top (errors name ``source``)."""
    data = scenario.model_dump(mode="json")
    origins: Origins = {}
    for dotted, value in changes.items():
        data = set_path(data, dotted, value)
        origins[tuple(dotted.split("."))] = (source, 0)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, origins, source) from None


def apply_changes(scenario: Scenario, changes: Mapping[str, Any]) -> Scenario:
    """The scenario with an event's changes applied (already validated when the file loaded)."""
    data = scenario.model_dump(mode="json")
    for dotted, value in changes.items():
        data = set_path(data, dotted, value)
    return Scenario.model_validate(data)
