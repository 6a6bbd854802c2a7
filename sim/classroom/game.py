"""The classroom game: teams, rounds, decisions and the teacher's controls over one shared market.

One :class:`Game` lives in the server process and every browser session talks to it; it takes a
lock for every change and counts its changes (``version``) so that each page knows when to redraw.
Everything a browser sends is checked here, on the server: the join code, the team's name and
firm, that a team sets only its own firm's levers, each value's kind and range.

Several teams may run the same firm. Their decisions combine by a rule the pages state: **each
lever is the median of the values the firm's teams submitted that round** (half the teams wanted
at least this, half at most); a lever no team submitted keeps its value. A team that does not
submit leaves its firm's levers to the others (or as they were).
"""

from __future__ import annotations

import copy
import datetime as dt
import hmac
import re
import statistics
import threading
import time
from dataclasses import dataclass
from typing import Any

from ..scenario import Scenario
from ..scenario.paths import get_path
from .levers import GAME_LEVERS, TEAM_FIRMS, GameError, check_value, firm_name, specs
from .market import ClassroomMarket
from .record import EVENTS, Round, decisions_csv, results_csv

TEAM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _-]{0,23}")


@dataclass(frozen=True)
class Settings:
    """A game's set-up: the scenario, the first week, a round's weeks, the codes and the limits.

    ``roster`` (team -> firm), when given, is the only teams that may join; otherwise a team picks
    its firm, within ``teams_per_firm`` and ``max_teams``. ``round_minutes`` 0 means no timer."""

    scenario: Scenario
    start: dt.date
    weeks_per_round: int = 13
    join_code: str = "000000"
    roster: tuple[tuple[str, str], ...] = ()
    max_teams: int = 9
    teams_per_firm: int = 3
    round_minutes: float = 0.0


def combine(values: list[Any]) -> Any:
    """Several teams' values of one lever as their firm's: the median (a whole number for a count,
    the majority for a switch, a tie keeping it on)."""
    if isinstance(values[0], bool):
        return sum(values) * 2 >= len(values)
    middle = statistics.median(values)
    return int(round(middle)) if all(isinstance(v, int) for v in values) else float(middle)


class Game:
    """The shared market and everything the class has done in it. Methods raise :class:`GameError`
    (one line for the page) when a request is refused."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.version = 0
        self.rewinds = 0  # how many times the teacher rewound: a round number alone does not tell pages apart
        self.teams: dict[str, str] = {}  # team -> firm
        self.paused = self.revealed = False
        self.rounds: list[Round] = []
        self.pending: dict[str, dict[str, Any]] = {}
        self.queued: list[str] = []  # events for the next round
        s = settings
        self.market = ClassroomMarket(s.scenario, s.start, s.weeks_per_round)
        self._first = copy.deepcopy(self.market)  # the market at the first round: rewinds replay from here
        # The same market left alone: the same weeks, households and events, with no team's decision.
        # It is the game's market until a decision is first applied (None), then goes its own way.
        self.alone: ClassroomMarket | None = None
        self.start = self.market.next_date()
        self.before_start = self.start - dt.timedelta(weeks=s.weeks_per_round)  # where the charts begin
        self.specs = specs(self.market.model.params)  # the levers' ranges, fixed for the game
        self.before = self.market.results(settings.weeks_per_round)  # the quarter before round 1
        self._open_round(clock=False)  # round 1's clock starts when the first team joins, not at the server's start

    def _open_round(self, clock: bool = True) -> None:
        self.pending, self.queued = {}, []
        self.deadline: float | None = None
        self.left_when_paused: float | None = None
        if clock:
            self._start_clock()

    def _start_clock(self) -> None:
        """The round's minutes from now (``--minutes``; none without): held while the game is paused."""
        minutes = self.settings.round_minutes
        if minutes:
            self.deadline = time.monotonic() + 60 * minutes
            if self.paused:  # it runs from the teacher's resume
                self.left_when_paused = 60.0 * minutes

    def _touch(self) -> None:
        self.version += 1
        self.changed.notify_all()

    @property
    def round(self) -> int:
        """The round being decided (1 at the start)."""
        return len(self.rounds) + 1

    @property
    def finished(self) -> bool:
        return self.market.finished

    # -- the teams -----------------------------------------------------------------------------
    def join(self, name: object, firm: object, code: object) -> str:
        """Join (or rejoin) the game as team ``name`` running ``firm``; the team's firm."""
        with self.lock:
            if not isinstance(code, str) or not hmac.compare_digest(code.strip().upper().encode(),
                                                                    self.settings.join_code.encode()):
                raise GameError("that is not this game's join code: ask your teacher for it")
            if not isinstance(name, str) or not TEAM_NAME.fullmatch(name.strip()):
                raise GameError("a team name is 1 to 24 letters, digits, spaces, '-' or '_', starting with a letter "
                                "or digit")
            name = self.team_name(name)
            roster = dict(self.settings.roster)  # its names are apart whatever their capitals (--teams)
            if roster:
                if name not in roster:
                    raise GameError(f"no team is called {name!r} in this game: the teams are {', '.join(roster)}")
                firm = roster[name]
            if firm not in TEAM_FIRMS:
                raise GameError(f"a team runs one of {', '.join(firm_name(f) for f in TEAM_FIRMS)}")
            if name in self.teams:
                if self.teams[name] != firm:
                    raise GameError(f"team {name} already runs {firm_name(self.teams[name])}")
                return firm  # a team that reloaded its page
            if len(self.teams) >= self.settings.max_teams:
                raise GameError(f"the game is full ({self.settings.max_teams} teams)")
            if sum(1 for f in self.teams.values() if f == firm) >= self.settings.teams_per_firm:
                raise GameError(f"{firm_name(firm)} already has {self.settings.teams_per_firm} teams: choose "
                                "another firm")
            self.teams[name] = firm
            if not self.rounds and len(self.teams) == 1:  # the class has begun: round 1's clock starts
                self._start_clock()
            self._touch()
            return firm

    def remove(self, team: object) -> None:
        """The teacher takes a team out of the game (a name typed wrong, a team that left): its
        submission for this round goes with it; the rounds it played keep it. Its page shows the join
        form again, so it may rejoin. A firm left with no team keeps its levers as its teams left them,
        and takes the scenario's own changes to them dated from the next round on (those dated while a
        team ran it were the team's to make)."""
        with self.lock:
            if team not in self.teams:
                raise GameError(f"no team is called {str(team)[:30]!r} in this game")
            del self.teams[team]
            self.pending.pop(team, None)
            self._touch()

    def team_name(self, name: str) -> str:
        """The name a team is known by: ``name`` as it first joined (or as the teacher's roster writes
        it), whatever its capitals ("red" is team Red: two teams that differ only so are one)."""
        name = name.strip()
        known = [*self.teams, *(team for team, _firm in self.settings.roster)]
        return next((team for team in known if team.casefold() == name.casefold()), name)

    def submit(self, team: object, values: dict[str, Any]) -> None:
        """Team ``team``'s decisions for this round (dotted path -> value), each checked; a second
        submission replaces the first."""
        with self.lock:
            if team not in self.teams:
                raise GameError("this page has not joined the game: join with your team's name and the code")
            self._open_for_decisions()
            firm, checked = self.teams[team], {}
            if not isinstance(values, dict) or not values:
                raise GameError("no decisions were sent")
            for path, value in values.items():
                if path not in GAME_LEVERS[firm]:
                    raise GameError(f"team {team} runs {firm_name(firm)}: it cannot set {str(path)[:60]}")
                checked[path] = check_value(self.specs[firm][path], value)
            self.pending[team] = checked
            self._touch()

    def _open_for_decisions(self) -> None:
        if self.finished:
            raise GameError("the game is over: the market has reached the end of the scenario")
        if self.paused:
            raise GameError("the teacher has paused the game: decisions open again when it resumes")
        if self.time_left() == 0:
            raise GameError(f"time is up for round {self.round}: the teacher will advance the market")

    def time_left(self) -> float | None:
        """Seconds left to submit this round (None without a timer)."""
        if self.deadline is None:
            return None
        if self.left_when_paused is not None:
            return self.left_when_paused
        return max(0.0, self.deadline - time.monotonic())

    def current(self, firm: str) -> dict[str, Any]:
        """The firm's levers as they stand (what the market runs on now)."""
        return {path: get_path(self.market.model.params, path) for path in GAME_LEVERS[firm]}

    # -- the teacher ---------------------------------------------------------------------------
    def advance(self, seen_round: int | None = None, seen_rewinds: int | None = None) -> Round:
        """Close the round: combine each firm's submissions, apply them and the injected events,
        and play the round's weeks. ``seen_round`` and ``seen_rewinds``: the round the teacher's page
        showed, and the rewinds it had seen; a second press (a double click, two teacher pages) that
        arrives after the round was advanced, or rewound, is refused, not a round played without the
        teams' decisions."""
        with self.lock:
            if seen_round is not None and seen_round != self.round:
                raise GameError(f"round {seen_round} has already been advanced: the teams are deciding round "
                                f"{self.round}")
            if seen_rewinds is not None and seen_rewinds != self.rewinds:
                raise GameError(f"the game was rewound since this page showed it: the teams are deciding round "
                                f"{self.round} again")
            if self.finished:
                raise GameError("the game is over: the market has reached the end of the scenario")
            if self.paused:
                raise GameError("resume the game before advancing the market")
            applied = {}
            for firm in TEAM_FIRMS:
                sent = [values for team, values in self.pending.items() if self.teams[team] == firm]
                for path in GAME_LEVERS[firm]:
                    values = [each[path] for each in sent if path in each]
                    if values:
                        applied[path] = combine(values)
            self._decide(applied)
            events = {key: EVENTS[key][3](self.market.model) for key in self.queued}
            played = Round(self.round, *self._play(events, tuple(sorted(set(self.teams.values())))),
                           teams=dict(self.teams), submissions=dict(self.pending), applied=applied, events=events)
            played.results = self.market.results(played.weeks)
            played.alone = self.alone.results(played.weeks) if self.alone is not None else None
            self.rounds.append(played)
            self._open_round()
            self._touch()
            return played

    def _decide(self, applied: dict[str, Any]) -> None:
        """Apply the firms' decisions to the game's market; the first time there are any, the market
        left alone starts as a copy of the game's from just before them."""
        if applied and self.alone is None:
            self.alone = copy.deepcopy(self.market)
        self.market.apply(applied)

    def _play(self, events: dict[str, dict[str, Any]], run_firms: tuple[str, ...]) -> tuple[dt.date, dt.date, int]:
        """The round's events and weeks in the game's market and in the market left alone (the teams
        run the same firms in both, so the scenario's events on their levers are held back in both)."""
        spans = []
        for market in filter(None, (self.alone, self.market)):
            for changes in events.values():
                market.apply(changes)
            spans.append(market.play(run_firms))
        return spans[-1]

    def rewind(self, to_round: object) -> None:
        """Back to the start of round ``to_round`` (1 to the current round): the market is rebuilt and
        the recorded rounds before it replayed from a copy of the market at the first round (the
        model is deterministic for a scenario and seed, its random streams copied with it); the
        later rounds are forgotten."""
        with self.lock:
            try:
                target = int(str(to_round))
            except ValueError:
                raise GameError(f"rewind to a round from 1 to {self.round}") from None
            if not 1 <= target <= self.round:
                raise GameError(f"rewind to a round from 1 to {self.round}")
            kept = self.rounds[:target - 1]
            self.market, self.alone = copy.deepcopy(self._first), None
            for played in kept:
                self._decide(played.applied)
                self._play(played.events, played.run_firms)
            self.rounds = kept
            self.paused = False
            self.rewinds += 1
            self._open_round(clock=bool(self.teams))
            self._touch()

    def pause(self, paused: bool = True) -> None:
        """Pause (no decisions, no advancing, the timer stopped) or resume."""
        with self.lock:
            if paused and not self.paused:
                self.left_when_paused = self.time_left()
            elif not paused and self.paused and self.left_when_paused is not None:
                self.deadline, self.left_when_paused = time.monotonic() + self.left_when_paused, None
            self.paused = bool(paused)
            self._touch()

    def reveal(self, shown: bool = True) -> None:
        """Show every team what the rival firms decided (or hide it again)."""
        with self.lock:
            self.revealed = bool(shown)
            self._touch()

    def inject(self, key: object) -> None:
        """Queue one of :data:`EVENTS` for the next round."""
        with self.lock:
            if key not in EVENTS:
                raise GameError(f"unknown event: choose one of {', '.join(EVENTS)}")
            if key not in self.queued:
                self.queued.append(key)
            self._touch()

    def export(self) -> tuple[str, str]:
        """The game's history as two CSV texts: decisions by round and team, results by round and firm."""
        with self.lock:
            return decisions_csv(self.rounds), results_csv(self.rounds, self.before)

    def wait(self, seen: int, seconds: float) -> int:
        """Block until the version passes ``seen`` or ``seconds`` pass; the version."""
        with self.changed:
            self.changed.wait_for(lambda: self.version != seen, timeout=seconds)
            return self.version
