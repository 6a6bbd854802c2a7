"""``retailsim validate``: scenario, sweep and game files alike (and calibration set-ups and targets files),
each checked as the command that runs it would."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import ScenarioError
from .scenario import Scenario, load_scenario
from .scenario.yamlfile import MAX_FILE_BYTES, read_yaml


TOP_KEYS = re.compile(r"^(design|parameters|players)[ \t]*:", re.MULTILINE)


def top_keys(path: Path) -> set[str]:
    """Which of the keys that tell a sweep (``design:`` and ``parameters:``) or a game (``players:``)
    from a scenario (which has none of them) the file has at the top level.

    A look at the text, not a parse (a scenario of 10,000 events is parsed once, by its loader);
    anything but a readable regular file of at most ``MAX_FILE_BYTES`` is left to the scenario
    loader, which names its problem."""
    path = Path(path)
    try:
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return set()
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError):
        return set()
    return {found.group(1) for found in TOP_KEYS.finditer(text)}


def is_sweep_file(path: Path) -> bool:
    """A sweep file has top-level ``design:`` and ``parameters:`` keys."""
    return {"design", "parameters"} <= top_keys(path)


def is_game_file(path: Path) -> bool:
    """A game file has a top-level ``players:`` key (and no sweep design)."""
    return "players" in top_keys(path) and not is_sweep_file(path)


def validate_file(path: Path) -> str:
    """The ``ok`` line of one valid scenario, sweep or game file (or calibration set-up, calibrated
    parameters or targets file); a bad one raises its one-line UserError."""
    if is_sweep_file(path):
        return _validate_other(path, "sweep")
    if is_game_file(path):
        return _validate_other(path, "game")
    try:
        scenario = load_scenario(path)
    except ScenarioError as error:  # perhaps another kind of file, written in a way the look missed
        if error.place in Scenario.model_fields or "." in error.place or "[" in error.place:
            raise  # a scenario's own key: a scenario file (a big one is not parsed twice)
        kind = _parsed_kind(path)
        if kind is None:
            raise
        return _validate_other(path, kind)
    return f"{path}: ok ({scenario.name}, {len(scenario.events)} events)"


def _parsed_kind(path: Path) -> str | None:
    """The kind of a file that is not a scenario, told by its parsed top-level keys (quoted keys,
    a flow mapping, a sweep without its design, a calibration set-up or a targets file)."""
    try:
        data, _ = read_yaml(Path(path))
    except ScenarioError:
        return None
    keys = set(data) if isinstance(data, dict) else set()
    if "players" in keys:
        return "game"
    if {"parameters", "fingerprint", "method"} <= keys:
        return "calibrated parameters"
    if {"targets", "parameters"} <= keys:
        return "calibration set-up"
    if "design" in keys or "parameters" in keys:
        return "sweep"
    if keys == {"targets"}:
        return "targets"
    return None


def _validate_other(path: Path, kind: str) -> str:
    if kind == "game":
        from .experiments.gamefile import load_game

        game, base = load_game(path)
        cells = 1
        for player in game.players:
            cells *= len(game.strategies(player))
        return (f"{path}: ok (game {game.name}: {' x '.join(game.players)}, {cells} cells x {game.replicates} "
                f"replicate(s) over {base.name})")
    if kind == "sweep":
        from .experiments.sweepfile import load_sweep, reset_notes
        from .jobs.folders import warn

        sweep, base = load_sweep(path)
        if any(parameter.distribution is not None for parameter in sweep.parameters.values()):
            from .experiments.designs import checked_sample

            checked_sample(path, sweep, base)  # the values the design draws, as sweep checks them
        warn([f"{path}: {note}" for note in reset_notes(sweep, base)])
        return (f"{path}: ok (sweep {sweep.name}: {sweep.design}, {sweep.points():,} points x {sweep.replicates} "
                f"replicate(s) = {sweep.runs:,} runs over {base.name})")
    if kind == "calibration set-up":
        from .calibration.setup import load_setup

        calibration = load_setup(path)
        return (f"{path}: ok (calibration set-up {calibration.setup.name}: {len(calibration.setup.parameters)} "
                f"parameters, {len(calibration.targets)} targets)")
    if kind == "calibrated parameters":
        from .scenario.loader import calibrated_layer, load_layer

        layer, origins = calibrated_layer(Path(path))
        load_layer(layer, origins, str(path))
        return f"{path}: ok (calibrated parameters: {len(origins)} values)"
    from .jobs.targets import load_targets

    return f"{path}: ok ({len(load_targets(path))} targets)"


@contextmanager
def named_kind(path: object, expected: str) -> Iterator[None]:
    """Inside it, a ScenarioError from loading ``path`` as an ``expected`` file becomes :func:`wrong_kind`'s
    line when the file is another kind (each command that reads a file given on the command line)."""
    try:
        yield
    except ScenarioError as error:
        raise wrong_kind(path, expected, error) from None


# The command that takes each kind of file (the others are read through a scenario's ``calibration:``).
COMMANDS = {"sweep": "sweep", "game": "game", "calibration set-up": "calibrate"}


def wrong_kind(path: object, expected: str, error: ScenarioError) -> ScenarioError:
    """``error`` (from loading ``path`` as a ``expected`` file: "scenario" or "sweep"), or, when the file
    is another kind, one line that names it and the command that runs it (a sweep given to ``run`` said
    "base: unknown key", a scenario given to ``sweep`` "extends: unknown key")."""
    if not isinstance(path, (str, Path)) or not Path(path).is_file():
        return error
    kind = _parsed_kind(Path(path))
    if kind == "sweep" and not is_sweep_file(Path(path)):  # a set-up whose 'targets:' is misspelled, say
        return error
    if kind is None and expected != "scenario":
        try:
            load_scenario(path)
            kind = "scenario"
        except ScenarioError:
            return error
    if kind is None or kind == expected:
        return error
    command = "run" if kind == "scenario" else COMMANDS.get(kind)
    how = f": run it with retailsim {command} {path}" if command else ""
    return ScenarioError(str(path), "", f"is a {kind} file, not a {expected}{how}")
