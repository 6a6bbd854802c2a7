"""Game files: the players (firms), each with a few levers and their options, on a base scenario,
and the payoff (a firm's money metric summed over calendar years).

Validated like sweep files, with the same checks of each lever and value: an unknown lever key
(with a "did you mean"), a value the scenario would refuse, a firm that does not exist, an empty
option list or a table over :data:`MAX_CELLS` cells is one clear line naming the file, the place
and what would be valid, before anything runs.

The players' choices take effect together on the first day of the payoff period, as one event on
top of the base scenario's timeline (an earlier event of the base that sets the same lever is
superseded; a later one is refused, since it would undo the choice).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator

from ..errors import ScenarioError
from ..jobs.folders import fingerprint
from ..jobs.inputs import MAX_REPLICATES, check_fixed, check_parameter, fail, first_repeat
from ..outputs import PLAIN_NAME
from ..scenario import Scenario, load_scenario
from ..scenario.loader import DOCUMENT, Origins, place, read_validated, validation_error
from ..scenario.yamlfile import not_a_file
from ..scenario.paths import suggest
from ..scenario.schema import MAX_SEED, MAX_SHOPPERS
from ..scenario.types import Strict
from ..vocabulary import FIRMS, LEDGER_LINES
from .sweepfile import Parameter

# Cells of one payoff table (profiles of the players' strategies). Each cell is `replicates` runs,
# and the report draws every cell: 512 is a 3-player game of 8 strategies each, or 23 x 22.
MAX_CELLS = 512
DEFAULT_BASE = "scenarios/baseline.yaml"  # the working folder's, else the shipped one (as ``targets`` reads it)


class Payoff(Strict):
    """What each firm earns in a cell: a money metric (a profit-and-loss line) summed over calendar years."""

    metric: str = Field("operating_profit", description="A firm-level money metric: " + ", ".join(LEDGER_LINES))
    period: tuple[int, int] = Field((2026, 2030), description="Calendar years, '2026-2030', 2026 or [2026, 2030]")

    @field_validator("metric")
    @classmethod
    def _money(cls, metric: str) -> str:
        if metric not in LEDGER_LINES:
            raise ValueError(f"'{metric}' is not a firm's money metric; {suggest(metric, list(LEDGER_LINES))}")
        return metric

    @field_validator("period", mode="before")
    @classmethod
    def _years(cls, period: Any) -> Any:
        if isinstance(period, bool):
            raise ValueError("expected years as 2026-2030, 2026 or [2026, 2030]")
        if isinstance(period, int):
            period = [period, period]
        elif isinstance(period, str):
            first, dash, last = period.strip().partition("-")
            try:
                period = [int(first), int(last) if dash else int(first)]
            except ValueError:
                raise ValueError(f"expected years as 2026-2030, 2026 or [2026, 2030], got '{period[:40]}'") from None
        if isinstance(period, (list, tuple)) and len(period) == 2 and all(isinstance(y, int) for y in period):
            if not 1900 <= period[0] <= period[1] <= 2200:
                raise ValueError(f"expected a first year no later than the last, within 1900-2200, got {list(period)}")
        return period

    def dates(self) -> tuple[dt.date, dt.date]:
        return dt.date(self.period[0], 1, 1), dt.date(self.period[1], 12, 31)


class Game(Strict):
    """A game: the players' lever menus on one base scenario, and what they are paid."""

    name: str = Field("game", pattern=PLAIN_NAME.pattern)
    description: str = ""
    base: str | None = Field(None, description="Scenario file (relative to the game file; default: the baseline)")
    players: dict[str, dict[str, list[Any]]] = Field(
        description="firm -> {lever (a dotted scenario path under the firm's block) -> its options}")
    payoff: Payoff = Payoff()
    replicates: int = Field(3, ge=1, le=MAX_REPLICATES, description="Runs per cell, over common seeds")
    seed: int = Field(0, ge=0, le=MAX_SEED)
    shoppers: int | None = Field(None, ge=10, le=MAX_SHOPPERS)
    set: dict[str, Any] = Field(default_factory=dict, description="Fixed overrides of the base scenario")

    def fingerprint(self, base: Scenario) -> str:
        """Hash of everything that decides the runs (not the name or description), the model version included."""
        content = self.model_dump(mode="json", exclude={"name", "description", "base"})
        content["base"] = base.model_dump(mode="json")
        return fingerprint(content)

    def strategies(self, player: str) -> list[dict[str, Any]]:
        """A player's strategies: every combination of its levers' options, in file order."""
        levers = self.players[player]
        return [dict(zip(levers, values)) for values in itertools.product(*levers.values())]

    def profiles(self) -> list[tuple[int, ...]]:
        """Every profile (one strategy index per player), the last player's index changing fastest."""
        return list(itertools.product(*(range(len(self.strategies(p))) for p in self.players)))

    def cells(self) -> int:
        return math.prod(math.prod(len(options) for options in levers.values()) for levers in self.players.values())

    def choices(self, profile: tuple[int, ...]) -> dict[str, Any]:
        """The lever values of a profile: dotted path -> value, players in file order."""
        chosen: dict[str, Any] = {}
        for player, index in zip(self.players, profile):
            chosen.update(self.strategies(player)[index])
        return chosen

    def lever_date(self, base: Scenario) -> dt.date:
        """When the players' choices take effect: the first day of the payoff period (or of the horizon)."""
        return max(self.payoff.dates()[0], base.horizon.start)


GameLike = str | Path | Mapping[str, Any]


def read_game(design: GameLike) -> tuple[Game, Origins, str, Path]:
    """The validated game, the line of each key, how errors name it, and the folder ``base:`` is relative to."""
    if isinstance(design, Mapping):
        try:
            return Game.model_validate(dict(design)), {}, DOCUMENT, Path.cwd()
        except ValidationError as exc:
            raise validation_error(exc, {}, DOCUMENT, root=Game) from None
    game, origins, source = read_validated(Path(design), Game)
    return game, origins, source, Path(design).parent


def load_game(path: GameLike) -> tuple[Game, Scenario]:
    """The validated game (a file, or a dict laid out like one) and its base scenario (with the
    game's fixed overrides applied); every check runs here, before any work."""
    game, origins, source, folder = read_game(path)
    _check_players(game, origins, source)  # first: the table's size, before the base scenario is read
    base = _base(game, origins, source, folder)
    _check_period(game, base, origins, source)
    for player, levers in game.players.items():
        for dotted, options in levers.items():
            _check_lever(game, base, player, dotted, options, origins, source)
    return game, base


def _base(game: Game, origins: Origins, source: str, folder: Path) -> Scenario:
    if game.base is None:
        from ..shipped import project_or_shipped

        base_path = project_or_shipped(DEFAULT_BASE)
    else:
        base_path = (folder / game.base).resolve()
        if not base_path.is_file():
            raise fail(origins, source, ("base",), f"scenario file '{game.base}' {not_a_file(base_path, folder)}")
    check_fixed(game.set, origins, source)
    fixed = dict(game.set)
    if game.shoppers is not None:
        fixed["population.shoppers"] = game.shoppers
    try:
        return load_scenario(base_path, fixed)
    except ScenarioError as error:
        if error.source == "--set":
            raise fail(origins, source, ("set",), f"{error.place}: {error.message}") from None
        raise


def _check_players(game: Game, origins: Origins, source: str) -> None:
    """Known firms, at least two, each lever under its own firm's block with a non-empty list of
    distinct plain options; the table no larger than :data:`MAX_CELLS`."""
    for player, levers in game.players.items():
        if player not in FIRMS:
            raise fail(origins, source, ("players", player),
                       f"unknown firm '{player}'; {suggest(player, list(FIRMS))} (players are firms: {', '.join(FIRMS)})")
        if not levers:
            raise fail(origins, source, ("players", player), "no levers; name at least one, e.g. "
                       f"{player}.<block>.<key>: [option, option]")
        for dotted, options in levers.items():
            loc = ("players", player, dotted)
            if dotted.split(".")[0] != player:
                other = dotted.split(".")[0]
                raise fail(origins, source, loc, f"a player's levers live under its own block: write {player}.<...>"
                           + (f", or list this lever under the player '{other}'" if other in FIRMS else ""))
            if not options:
                raise fail(origins, source, loc, "the option list is empty; give at least one value, e.g. [49, 79, 98]")
            try:
                Parameter.model_validate({"values": options})  # the sweep's rules for listed values
            except ValidationError as exc:
                raise fail(origins, source, loc, exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
            twice = [value for number, value in enumerate(options) if value in options[:number]]
            if twice:
                raise fail(origins, source, loc, f"option {twice[0]!r} is listed twice; list each option once")
            if dotted in game.set:
                raise fail(origins, source, ("set", dotted), "is a lever of the game; remove it from set")
    if len(game.players) < 2:
        raise fail(origins, source, ("players",), f"a game needs at least two players (firms: {', '.join(FIRMS)}); "
                   "for one firm's options use a sweep (retailsim sweep)")
    if game.cells() > MAX_CELLS:
        sizes = " x ".join(str(len(game.strategies(p))) for p in game.players)
        raise fail(origins, source, ("players",), f"the payoff table has {sizes} = {game.cells():,} cells, over the "
                   f"limit of {MAX_CELLS}; give fewer options or levers (a player's strategies are every combination "
                   "of its levers' options)")


def _check_period(game: Game, base: Scenario, origins: Origins, source: str) -> None:
    """The payoff's years lie within the horizon, whole (a week counts in its year by its first day, as the
    reports' periods read): a sum over part of a year read as the year's (2023 summed its first quarter)."""
    start, end = base.horizon.start, base.horizon.end
    first = start.year if start <= dt.date(start.year, 1, 7) else start.year + 1
    last = end.year if end >= dt.date(end.year, 12, 25) else end.year - 1
    years = f"{game.payoff.period[0]}-{game.payoff.period[1]}"
    whole = f"choose years from {first} to {last}, or" if first <= last else "it holds no whole year:"
    if not start.year <= game.payoff.period[0] <= game.payoff.period[1] <= end.year:
        raise fail(origins, source, ("payoff", "period"), f"{years} is outside the base scenario's horizon "
                   f"({start} to {end}); {whole} a horizon that covers them")
    if not first <= game.payoff.period[0] <= game.payoff.period[1] <= last:
        raise fail(origins, source, ("payoff", "period"), f"{years} is not whole in the base scenario's horizon "
                   f"({start} to {end}): its payoff would sum part of a year; {whole} a horizon that covers them")


def _check_lever(game: Game, base: Scenario, player: str, dotted: str, options: list[Any], origins: Origins,
                 source: str) -> None:
    """The lever is a value of the scenario and each option valid there (the sweep's checks), and
    no event of the base scenario sets it once the players have chosen."""
    loc = ("players", player, dotted)
    try:
        values = check_parameter(base, dotted, options, {("parameters", dotted): origins.get(loc, (source, None))},
                                 source, verb="chosen")
    except ScenarioError as error:  # the sweep's check, placed where the game file names the lever
        raise ScenarioError(error.source, place(loc), error.message, error.line) from None
    if (twice := first_repeat(values)) is not None:  # the same value written two ways (139 and "139")
        again, first = options[twice], options[values.index(values[twice])]
        raise fail(origins, source, loc, f"option {again!r} is the same value as {first!r}, listed before it; "
                   "list each option once")
    chosen = game.lever_date(base)
    for event in base.events:
        if dotted in event.set and event.date >= chosen:
            label = f" ({event.label})" if event.label else ""
            raise fail(origins, source, loc, f"the base scenario's event of {event.date}{label} sets this lever after "
                       f"the players choose it on {chosen}; start the payoff period after that event, or use a base "
                       "scenario without it")
    strategy = base.strategy
    if (dotted.endswith(".fee_annual") and base.conduct == "strategic" and strategy.fees
            and player in strategy.firms and chosen < strategy.fees_from):
        raise fail(origins, source, loc, f"under strategic conduct {player} chooses this fee itself from "
                   f"strategy.fees_from ({strategy.fees_from}), and a fee chosen on {chosen} is history to it; start "
                   f"the payoff period in {strategy.fees_from.year} or later, or set strategy.fees: false")
