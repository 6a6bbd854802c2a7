"""Reading scenario YAML: line numbers, ``extends:`` chains, events, and one-line errors.

Files are read defensively, since a scenario may come from anyone: only regular files of at most
``MAX_FILE_BYTES``; duplicate keys, aliases that would expand past ``MAX_NODES`` values, documents
nested deeper than Python can follow, impossible dates and ``extends:`` chains deeper than
``MAX_EXTENDS`` are one error line each, before anything is allocated for a run.
"""

from __future__ import annotations

import copy
import os
import stat
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
MAX_FILE_BYTES = 8 * 2**20  # a scenario with 10,000 events is about 0.8 MB
MAX_NODES = 1_000_000  # values in a document once its aliases are expanded
MAX_EXTENDS = 16  # files in one extends: chain
MAX_DEPTH = 40  # levels of nesting (a scenario needs about 6)
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


# libyaml's parser where PyYAML was built with it (its wheels are): about 10x faster on large files.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SafeLoader(_BaseLoader):
    """PyYAML's safe loader, with impossible dates (2026-02-30) as YAML errors at their line."""

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as error:
            raise yaml.constructor.ConstructorError(None, None, f"'{node.value}' is not a valid date ({error})",
                                                    node.start_mark) from None


SafeLoader.add_constructor("tag:yaml.org,2002:timestamp", SafeLoader.construct_yaml_timestamp)


def _check_nodes(node: yaml.Node, source: str) -> None:
    """Refuse duplicate or non-scalar keys, and aliases that would expand past ``MAX_NODES`` values.

    Counts the document as its aliases expand (a node reached twice counts twice) without
    expanding it, so a "billion laughs" file is refused in microseconds.
    """
    sizes: dict[int, int] = {}
    # Iterative post-order walk: a deeply nested document must not exhaust Python's stack.
    stack: list[tuple[yaml.Node, bool, int]] = [(node, False, 0)]
    while stack:
        current, expanded, depth = stack.pop()
        if id(current) in sizes and sizes[id(current)] >= 0:
            continue
        if isinstance(current, yaml.ScalarNode):
            sizes[id(current)] = 1
            continue
        children = ([v for pair in current.value for v in pair] if isinstance(current, yaml.MappingNode)
                    else list(current.value))
        if not expanded:
            if depth > MAX_DEPTH:
                raise ScenarioError(source, "", f"values are nested over {MAX_DEPTH} levels deep",
                                    current.start_mark.line + 1)
            if sizes.get(id(current)) == -1:
                raise ScenarioError(source, "", "an alias refers to itself (a recursive anchor)",
                                    current.start_mark.line + 1)
            sizes[id(current)] = -1  # in progress
            if isinstance(current, yaml.MappingNode):
                _check_keys(current, source)
            stack.append((current, True, depth))
            stack.extend((child, False, depth + 1) for child in children)
            continue
        total = 1 + sum(sizes[id(child)] for child in children)
        if total > MAX_NODES:
            raise ScenarioError(source, "", f"the document expands to over {MAX_NODES:,} values (aliases "
                                f"repeated within aliases?); write the values out", current.start_mark.line + 1)
        sizes[id(current)] = total


def _check_keys(node: yaml.MappingNode, source: str) -> None:
    seen: dict[str, int] = {}
    for key_node, _ in node.value:
        line = key_node.start_mark.line + 1
        if not isinstance(key_node, yaml.ScalarNode):
            raise ScenarioError(source, "", "a key must be a plain name, not a list or a mapping", line)
        if key_node.value in seen and key_node.value != "<<":
            raise ScenarioError(source, key_node.value, f"duplicate key (first given on line {seen[key_node.value]}); "
                                "give each key once", line)
        seen[key_node.value] = line


def read_text(path: Path, source: str, limit: int = MAX_FILE_BYTES) -> str:
    """A regular file's text (UTF-8, at most ``limit`` bytes); anything else is one ScenarioError."""
    try:
        status = path.stat()
    except FileNotFoundError:
        raise ScenarioError(source, "", "file not found") from None
    except (OSError, RuntimeError) as error:  # RuntimeError: a symbolic-link loop (Python 3.11)
        raise ScenarioError(source, "", f"cannot read the file ({getattr(error, 'strerror', None) or error})") from None
    if stat.S_ISDIR(status.st_mode):
        raise ScenarioError(source, "", "is a folder; give a YAML file")
    if not stat.S_ISREG(status.st_mode):
        raise ScenarioError(source, "", "is not a regular file (a pipe, a device or a socket); give a YAML file")
    if status.st_size > limit:
        raise ScenarioError(source, "", f"the file is {status.st_size / 2**20:.1f} MiB; at most {limit // 2**20} MiB "
                            "are read")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(limit + 1)
    except OSError as error:
        raise ScenarioError(source, "", f"cannot read the file ({error.strerror})") from None
    if len(raw) > limit:
        raise ScenarioError(source, "", f"the file is over {limit // 2**20} MiB; at most {limit // 2**20} MiB are read")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ScenarioError(source, "", f"not UTF-8 text (byte {error.start})") from None


def parse_yaml(text: str, source: str, line_offset: int = 0) -> tuple[Any, yaml.Node | None]:
    """YAML text as Python data and its node tree; every problem is one ScenarioError with its line."""
    loader = SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_nodes(node, source)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        line = mark.line + 1 + line_offset if mark else None
        column = f"column {mark.column + 1}" if mark and not line_offset else ""
        kind = "" if isinstance(error, yaml.constructor.ConstructorError) else "YAML syntax error: "
        raise ScenarioError(source, column, f"{kind}{problem}", line) from None
    except RecursionError:
        raise ScenarioError(source, "", "the document is nested too deeply") from None
    finally:
        loader.dispose()
    return data, node


def read_yaml(path: Path) -> tuple[dict[str, Any], Origins]:
    """One YAML file as a dict, with the line of each key; every problem becomes a ScenarioError."""
    source = display(path)
    data, node = parse_yaml(read_text(path, source), source)
    if data is None:
        raise ScenarioError(source, "", "the file is empty; a scenario file is a mapping of keys to values "
                            "(at least name:)")
    if not isinstance(data, dict):
        raise ScenarioError(source, "", "a scenario file must be a mapping of keys to values")
    origins: Origins = {}
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
    if not isinstance(name, str) or not name.strip():
        raise ScenarioError(source, key, f"must be the path of {what}", line)
    try:
        linked = (path.parent / name).resolve()
        found = linked.is_file()
    except (OSError, RuntimeError):  # RuntimeError: a symbolic-link loop (Python 3.11)
        raise ScenarioError(source, key, f"cannot follow '{name}' (a symbolic-link loop?)", line) from None
    if not found:
        problem = "is a folder, not a file" if linked.is_dir() else "not found"
        raise ScenarioError(source, key, f"file '{name}' {problem} (looked in {display(path.parent)})", line)
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
    if len(chain) >= MAX_EXTENDS:
        line = origins.get(("extends",), ("", None))[1]
        raise ScenarioError(display(path), "extends", f"the extends: chain is over {MAX_EXTENDS} files deep; "
                            "merge some of them", line)
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
    """Each event names real paths, and the scenario stays valid once all events have applied.

    Linear in the number of events: the state is changed in place and, after each event, only the
    blocks holding the keys it set are validated again (every rule that relates two values, such as
    a floor below a ceiling, lives in the block that holds both).
    """
    state = copy.deepcopy({key: value for key, value in data.items() if key != "events"})
    for number, event in enumerate(data.get("events") or []):
        touched: dict[tuple[str, ...], tuple[str, tuple[Any, ...]]] = {}
        for dotted, value in (event.get("set") or {}).items():
            loc = ("events", number, "set", dotted)
            problem = check_path(Scenario, str(dotted))
            if problem:
                source, line = locate(loc, origins, default)
                raise ScenarioError(source, place(loc), problem, line)
            _set_in_place(state, str(dotted), value)
            touched.setdefault(tuple(str(dotted).split("."))[:-1], (str(dotted), loc))
        for block, (dotted, loc) in touched.items():
            _check_block(state, block, dotted, loc, origins, default)


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
        source, line = locate(loc, origins, default)
        inner = validation_error(exc, {}, source, root=model)
        where = ".".join([*block, inner.place]) if inner.place else ".".join(block)
        message = inner.message if where == dotted else f"{where}: {inner.message}"
        raise ScenarioError(source, place(loc), message, line) from None


def _set_in_place(data: dict[str, Any], dotted: str, value: Any) -> None:
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
    """The scenario's levers with an event's changes applied (already validated when the file loaded).

    The result holds no events (the model keeps its own timeline), so applying n events costs n
    small validations rather than n validations of n events.
    """
    data = scenario.model_dump(mode="json", exclude={"events"})
    for dotted, value in changes.items():
        _set_in_place(data, dotted, copy.deepcopy(value))
    return Scenario.model_validate(data)
