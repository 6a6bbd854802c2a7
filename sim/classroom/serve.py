"""Start the classroom game: every option checked first, then the solo dashboard's server
(``sim/dashboard/serve.py``: loopback by default, an access code for any other host, nothing
fetched from the network, clean stops) serving the game's page, ``sim.classroom.app``.

Two secrets beside the access code: the **teacher key**, in the teacher page's address (printed at
start, for the teacher only: it alone advances, pauses, rewinds...), and the **join code**, which
the teacher shows the class and every team types to join.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from pathlib import Path
from typing import Callable

from ..dashboard.serve import FORBIDDEN, Options, check, gated_solara, serve
from ..errors import UserError
from ..scenario import load_scenario
from ..scenario.types import parse_date
from . import state
from .game import TEAM_NAME, Game, Settings
from .levers import TEAM_FIRMS
from .market import WEEKS

DEFAULT_SHOPPERS = 5000  # a shared market steps once a round, for everyone: it can afford more households
DEFAULT_START = dt.date(2025, 1, 1)
MAX_TEAMS = 30  # each team's page is a live session of the server (docs/teaching.md's timings)
JOIN_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread on a projector
JOIN_FORM = re.compile(r"[A-Za-z0-9]{4,12}")
TITLE = "retailsim classroom"
FORBIDDEN_PAGE = FORBIDDEN.replace(b"`retailsim dashboard`", b"`retailsim classroom`").replace(b"dashboard", b"game")


def parse_roster(text: str | None) -> tuple[tuple[str, str], ...]:
    """``"Red=amazon,Blue=walmart"`` as ((team, firm), ...), each checked."""
    if not text:
        return ()
    roster = []
    for item in text.split(","):
        name, _, firm = item.partition("=")
        name, firm = name.strip(), firm.strip().lower()
        if not TEAM_NAME.fullmatch(name) or firm not in TEAM_FIRMS:
            raise UserError(f"--teams: expected NAME=FIRM,... with FIRM one of {', '.join(TEAM_FIRMS)} and NAME 1-24 "
                            f"letters, digits, spaces, '-' or '_', got '{item.strip()[:40]}'")
        if name.casefold() in {team.casefold() for team, _firm in roster}:
            raise UserError(f"--teams: team {name} is named twice (names are the same whatever their capitals)")
        roster.append((name, firm))
    return tuple(roster)


def parse_start(text: str | None, scenario, weeks: int) -> dt.date:
    """The game's first week: on or after ``text`` (default January 2025), with a round of history
    before it and a round of horizon after it."""
    try:
        start = parse_date(text) if text else DEFAULT_START
        if not isinstance(start, dt.date):
            start = dt.date.fromisoformat(start)
    except ValueError:
        raise UserError(f"--start: expected a date, YYYY-MM-DD or YYYY-MM, got '{str(text)[:20]}'") from None
    horizon = scenario.horizon
    earliest = horizon.start + dt.timedelta(weeks=weeks)
    latest = horizon.end - dt.timedelta(weeks=weeks)
    if not earliest <= start <= latest:
        raise UserError(f"--start: the game can start from {earliest} to {latest} (a round after the scenario's "
                        f"start, a round before its end), got {start}")
    return start


def settings(options: Options, round_length: str = "quarter", start: str | None = None, teams: str | None = None,
             max_teams: int = 9, teams_per_firm: int | None = None, minutes: float = 0.0,
             join_code: str | None = None) -> Settings:
    """The game's set-up from checked options (each problem one :class:`UserError` line). ``teams_per_firm``
    None: 3, or as many as the roster puts on one firm."""
    if round_length not in WEEKS:
        raise UserError(f"--round: expected one of {', '.join(WEEKS)}, got '{str(round_length)[:20]}'")
    roster = parse_roster(teams)
    if not 1 <= max_teams <= MAX_TEAMS:
        raise UserError(f"--max-teams: expected 1 to {MAX_TEAMS} (each team's page is a live session of this "
                        f"server), got {max_teams}")
    if teams_per_firm is not None and teams_per_firm < 1:
        raise UserError("--teams-per-firm: expected 1 or more")
    if roster and len(roster) > max_teams:
        raise UserError(f"--teams names {len(roster)} teams, more than --max-teams {max_teams}")
    on_firm = {firm: sum(f == firm for _, f in roster) for firm in TEAM_FIRMS}
    crowded = [firm for firm, count in on_firm.items() if teams_per_firm is not None and count > teams_per_firm]
    if crowded:
        raise UserError(f"--teams puts {on_firm[crowded[0]]} teams on {crowded[0]}, more than --teams-per-firm "
                        f"{teams_per_firm}")
    teams_per_firm = max(3, *on_firm.values()) if teams_per_firm is None else teams_per_firm
    if not 0 <= minutes <= 180:
        raise UserError(f"--minutes: expected 0 (no timer) to 180, got {minutes:g}")
    if join_code is not None and not JOIN_FORM.fullmatch(join_code):
        raise UserError("--join-code: expected 4 to 12 letters or digits")
    scenario = load_scenario(options.scenario, {"population.shoppers": options.shoppers})
    weeks = WEEKS[round_length]
    code = join_code.upper() if join_code else "".join(secrets.choice(JOIN_LETTERS) for _ in range(6))
    return Settings(scenario, parse_start(start, scenario, weeks), weeks, code, roster, max_teams, teams_per_firm,
                    minutes)


def lines(options: Options, game_settings: Settings, teacher_key: str) -> list[str]:
    """What ``retailsim classroom`` prints once it listens: the teacher's address, the students'."""
    access = f"code={options.access_code}&" if options.access_code else ""
    students = f"{options.url}?code={options.access_code}" if options.access_code else options.url
    return [f"classroom: teacher page {options.url}?{access}teacher={teacher_key}  (for you only; Ctrl-C to stop)",
            f"classroom: students open {students} and join with code {game_settings.join_code}"]


def application(game_settings: Settings, teacher_key: str) -> Callable[[Options], Callable]:
    """The server's app factory: the game is built (its market stepped to the first round) once the
    port is bound, then Solara serves ``sim.classroom.app`` behind the access gate."""
    def build(options: Options) -> Callable:
        state.configure(Game(game_settings), teacher_key, lines(options, game_settings, teacher_key)[1])
        return gated_solara(options, "sim.classroom.app", TITLE, FORBIDDEN_PAGE)

    return build


def start(scenario: Path | None = None, host: str = "127.0.0.1", port: object = 8765, shoppers: int | None = None,
          access_code: str | None = None, **game: object) -> int:
    """``retailsim classroom``: check everything, then serve the game until a stop signal."""
    from ..shipped import baseline

    options = check(scenario or baseline(), host, port, shoppers or DEFAULT_SHOPPERS, access_code)
    game_settings = settings(options, **game)
    teacher_key = secrets.token_urlsafe(12)
    return serve(options, name="classroom", lines=lines(options, game_settings, teacher_key),
                 app=application(game_settings, teacher_key))
