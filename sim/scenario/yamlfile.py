"""Reading one YAML file defensively: the text, the data, and the line of every key.

A scenario (or sweep, set-up, targets) file may come from anyone, so only regular files of at most
``MAX_FILE_BYTES`` are read; duplicate keys, aliases that would expand past ``MAX_NODES`` values,
nesting deeper than ``MAX_DEPTH`` and impossible dates are one :class:`ScenarioError` line each,
found before the data is built.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from ..errors import ScenarioError

# Where each key of a document came from: path -> (file, line).
Origins = dict[tuple[Any, ...], tuple[str, int]]
MAX_FILE_BYTES = 8 * 2**20  # a scenario with 10,000 events is about 0.8 MB
MAX_NODES = 1_000_000  # values in a document once its aliases are expanded
MAX_DEPTH = 40  # levels of nesting (a scenario needs about 6)
MAX_INDENT = 200  # spaces before a line's first character: a bound on block nesting before parsing


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
    stack: list[tuple[yaml.Node, bool, tuple[Any, ...]]] = [(node, False, ())]
    while stack:
        current, expanded, path = stack.pop()
        depth = len(path)
        if id(current) in sizes and sizes[id(current)] >= 0:
            continue
        if isinstance(current, yaml.ScalarNode):
            _check_number(current, source, path)
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
                _check_keys(current, source, path)
                stack.append((current, True, path))
                stack.extend((child, False, (*path, key.value)) for key, value in current.value for child in (key, value))
            else:
                stack.append((current, True, path))
                stack.extend((child, False, (*path, index)) for index, child in enumerate(children))
            continue
        total = 1 + sum(sizes[id(child)] for child in children)
        if total > MAX_NODES:
            raise ScenarioError(source, "", f"the document expands to over {MAX_NODES:,} values (aliases "
                                f"repeated within aliases?); write the values out", current.start_mark.line + 1)
        sizes[id(current)] = total


_OCTAL = re.compile(r"^[-+]?0[0-7_]*[1-7][0-7_]*$")  # YAML 1.1's octal (017 is 15; 00 is 0 either way)
NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
MAX_NUMBER_CHARACTERS = 400  # Python reads at most 4,300 digits of an int; no value here needs more than a few dozen


def _check_number(node: yaml.ScalarNode, source: str, path: tuple[Any, ...]) -> None:
    """Refuse the plain numbers YAML 1.1 reads as something else than they look: ``017`` (octal, 15)
    and ``1:19`` (base 60, 79), as ``yes`` is refused where a number is meant."""
    if node.style or node.tag not in NUMBER_TAGS:  # quoted, or not a number: text as written
        return
    if len(node.value) > MAX_NUMBER_CHARACTERS:
        raise ScenarioError(source, dotted(path), f"a number written with {len(node.value):,} characters; every number "
                            f"here fits in {MAX_NUMBER_CHARACTERS} (1e308 is the largest a float holds)",
                            node.start_mark.line + 1)
    if _OCTAL.match(node.value) or ":" in node.value:
        kind = "an octal" if _OCTAL.match(node.value) else "a base-60"
        read = yaml.safe_load(node.value)
        raise ScenarioError(source, dotted(path), f"'{node.value}' is {kind} number to YAML ({read}); write the number "
                            "you mean in plain digits, or quote it if it is text", node.start_mark.line + 1)


def check_depth(value: Any, source: str, place: str = "") -> None:
    """Refuse Python values (a dict given to ``sim.run``, overrides) nested over ``MAX_DEPTH`` levels,
    as a file's are, before anything walks them recursively (a deep dict exhausted Python's stack)."""
    stack = [(value, 0)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, (Mapping, list, tuple)):
            if depth > MAX_DEPTH:
                raise ScenarioError(source, place, f"values are nested over {MAX_DEPTH} levels deep")
            stack.extend((child, depth + 1) for child in (current.values() if isinstance(current, Mapping) else current))


def dotted(path: tuple[Any, ...]) -> str:
    """A place in a document as the errors name it: ``events[3].set.amazon.prime.fee_annual``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _check_keys(node: yaml.MappingNode, source: str, path: tuple[Any, ...] = ()) -> None:
    seen: dict[str, int] = {}
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        if not isinstance(key_node, yaml.ScalarNode):
            raise ScenarioError(source, "", "a key must be a plain name, not a list or a mapping", line)
        if (not key_node.style and ":" in key_node.value and isinstance(value_node, yaml.ScalarNode)
                and value_node.value == "" and not value_node.style):
            # {2024:1} is one plain key, "2024:1", with no value (a plain scalar's style is None, or '' in libyaml)
            raise ScenarioError(source, dotted(path), f"write a space after each ':' of a mapping ('{key_node.value}' "
                                "reads as one key with no value): e.g. {2024: 1, 2025: 1.02}", line)
        if key_node.value in seen and key_node.value != "<<":
            raise ScenarioError(source, dotted((*path, key_node.value)), f"duplicate key (first given on line "
                                f"{seen[key_node.value]}); give each key once", line)
        seen[key_node.value] = line


def not_a_file(path: Path, folder: Path) -> str:
    """Why ``path`` (a file another file names, relative to ``folder``) cannot be read as one: a folder,
    not a regular file, or not found; with where it was looked for."""
    problem = ("is a folder, not a file" if path.is_dir() else
               "is not a regular file (a pipe, a device or a socket)" if path.exists() else "not found")
    return f"{problem} (looked in {display(folder)})"


def check_regular_file(path: Path, source: str, limit: int = MAX_FILE_BYTES) -> None:
    """``path`` (followed through links) is a regular file of at most ``limit`` bytes; else one
    ScenarioError naming ``source``, the file as the user gave it."""
    try:
        status = path.stat()
    except FileNotFoundError:
        raise ScenarioError(source, "", f"file not found{_nearest_file(path)}") from None
    except (OSError, RuntimeError) as error:  # RuntimeError: a symbolic-link loop (Python 3.11)
        raise ScenarioError(source, "", f"cannot read the file ({getattr(error, 'strerror', None) or error})") from None
    if stat.S_ISDIR(status.st_mode):
        raise ScenarioError(source, "", "is a folder; give a YAML file")
    if not stat.S_ISREG(status.st_mode):
        raise ScenarioError(source, "", "is not a regular file (a pipe, a device or a socket); give a YAML file")
    if status.st_size > limit:
        raise ScenarioError(source, "", f"the file is {status.st_size / 2**20:.1f} MiB; at most {limit // 2**20} MiB "
                            "are read")


def _nearest_file(path: Path) -> str:
    """"; did you mean NAME?" for a file of the same folder whose name is close to ``path``'s, else ""."""
    import difflib

    try:
        names = sorted(p.name for p in path.parent.iterdir() if p.suffix == path.suffix and p.is_file())[:1000]
    except OSError:
        return ""
    close = difflib.get_close_matches(path.name, names, n=1, cutoff=0.8)
    return f"; did you mean {path.parent / close[0]}?" if close else ""


def read_text(path: Path, source: str, limit: int = MAX_FILE_BYTES) -> str:
    """A regular file's text (UTF-8, at most ``limit`` bytes); anything else is one ScenarioError."""
    check_regular_file(path, source, limit)
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


def _check_nesting(text: str, source: str) -> None:
    """Refuse, before the parser sees it, nesting that could exhaust the C parser's stack: brackets
    of flow collections deeper than ``MAX_DEPTH`` (outside quotes and comments), or lines indented
    more than ``MAX_INDENT`` spaces (block nesting is at most that deep)."""
    depth = deepest = 0
    quote = ""
    for line_number, line in enumerate(text.splitlines(), start=1):
        if len(line) - len(line.lstrip(" ")) > MAX_INDENT:
            raise ScenarioError(source, "", f"a line is indented over {MAX_INDENT} spaces (nested too deeply)",
                                line_number)
        if "[" not in line and "{" not in line and not depth:
            continue
        for character in line:
            if quote:
                quote = "" if character == quote else quote
            elif character in "'\"":
                quote = character
            elif character == "#":
                break
            elif character in "[{":
                depth += 1
                deepest = max(deepest, depth)
                if deepest > MAX_DEPTH:
                    raise ScenarioError(source, "", f"values are nested over {MAX_DEPTH} levels deep", line_number)
            elif character in "]}":
                depth = max(0, depth - 1)
        quote = ""  # a quote left open at the end of a line: not a flow string, stop tracking it


def _path_at(node: yaml.Node, mark: yaml.Mark) -> tuple[Any, ...]:
    """The path of the value node that starts at ``mark`` (empty when none does)."""
    stack: list[tuple[yaml.Node, tuple[Any, ...]]] = [(node, ())]
    seen: set[int] = set()
    while stack:
        current, path = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if current.start_mark.index == mark.index and isinstance(current, yaml.ScalarNode):
            return path
        if isinstance(current, yaml.MappingNode):
            stack.extend((value, (*path, key.value)) for key, value in current.value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend((item, (*path, index)) for index, item in enumerate(current.value))
    return ()


def _plainer(text: str, mark, problem: str, line: int | None) -> tuple[str, int | None]:
    """The parser's problem with what it most often means: a tab where YAML wants spaces, or a bracket or
    quote still open when the file ends (the parser then points past the last line: point at it)."""
    if mark is None:
        return problem, line
    lines = text.splitlines()
    if mark.line < len(lines) and lines[mark.line][mark.column:mark.column + 1] == "\t":
        return f"{problem} (a tab: YAML indents with spaces only)", line
    if not text[mark.index:].strip():  # nothing but the end of the file after the place it points at
        last = None if line is None else line - mark.line - 1 + max(1, len(lines))
        return f"{problem} (the text ends with a '{{', '[' or quote opened earlier still open)", last
    return problem, line


def parse_yaml(text: str, source: str, line_offset: int = 0) -> tuple[Any, yaml.Node | None]:
    """YAML text as Python data and its node tree; every problem is one ScenarioError with its line."""
    _check_nesting(text, source)
    loader = SafeLoader(text)
    node = None
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_nodes(node, source)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        line = mark.line + 1 + line_offset if mark else None
        if isinstance(error, yaml.constructor.ConstructorError) and node is not None and mark is not None:
            place = dotted(_path_at(node, mark)) or f"column {mark.column + 1}"
            raise ScenarioError(source, place, problem, line) from None
        column = f"column {mark.column + 1}" if mark and not line_offset else ""
        problem, line = _plainer(text, mark, problem, line)
        raise ScenarioError(source, column, f"YAML syntax error: {problem}", line) from None
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


@contextmanager
def named_by(path: Path, origins: Origins, key: str) -> Iterator[None]:
    """A problem with a linked file as a whole (not a mapping, empty, unreadable YAML) also names the file
    and line that linked it: the user may not know which file did."""
    try:
        yield
    except ScenarioError as error:
        if error.place or "(named by " in error.message:
            raise
        line = origins.get((key,), ("", None))[1]
        raise ScenarioError(error.source, error.place, f"{error.message} (named by {display(path)}"
                            f"{f':{line}' if line else ''}, {key}:)", error.line) from None


def same_value(first: Any, second: Any) -> bool:
    """Two values an event sets, alike once read (149 and "149" are both 149)."""
    try:
        return first == second or float(first) == float(second)
    except (TypeError, ValueError):
        return False
