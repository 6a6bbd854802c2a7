"""What each page may see, decided on the server: the teacher everything; a team every firm's
results, its own firm's decisions and submissions, and the rivals' decisions only once the teacher
reveals them. A page is built from this view alone, so nothing hidden ever reaches a team's browser.
"""

from __future__ import annotations

from typing import Any

from .levers import FIRM_OF, TEAM_FIRMS
from .record import EVENTS


def view(game, team: str | None) -> dict[str, Any]:
    """The game as ``team`` may see it (``None``: the teacher), as plain data."""
    with game.lock:
        firm = game.teams.get(team) if team is not None else None
        everything = team is None or game.revealed
        rounds = []
        for played in game.rounds:
            rounds.append({
                "number": played.number, "first": played.first, "last": played.last, "results": played.results,
                "alone": played.left_alone,
                "applied": {path: value for path, value in played.applied.items()
                            if everything or FIRM_OF[path] == firm},
                "submissions": {name: values for name, values in played.submissions.items()
                                if everything or played.teams.get(name) == firm},
                "teams": dict(played.teams),
                "events": [EVENTS[key][0] for key in played.events],
            })
        return {
            "version": game.version, "round": game.round, "rewinds": game.rewinds, "finished": game.finished,
            "paused": game.paused, "weeks_this_round": game.market.weeks_next_round(),
            "revealed": game.revealed, "time_left": game.time_left(), "start": game.start,
            "next_week": game.market.next_date(), "weeks_per_round": game.settings.weeks_per_round,
            "teams": [(name, team_firm, name in game.pending) for name, team_firm in game.teams.items()],
            "rounds": rounds, "before": game.before, "firm": firm,
            "mine": dict(game.pending.get(team, {})) if team is not None else None,
            "queued": [EVENTS[key][0] for key in game.queued] if team is None else [],
            "pending": {name: dict(values) for name, values in game.pending.items()} if team is None else {},
        }


def league(seen: dict[str, Any]) -> list[dict[str, Any]]:
    """The league table after the latest round: the three firms teams can run, ranked by what their
    teams' decisions did to their operating margin (points; profit over revenue, so a small firm and a
    large one compare): the margin against the same market left alone over the same weeks, with the
    same events and no team's decision, so the market's own trend does not count. Each row also has
    the firm's share of spend and profit, their effects measured the same way, the changes since the
    quarter before the game (trend included), its teams, and its rank (firms whose effects round to
    the same hundredth of a point share one)."""
    before = seen["before"]["firms"]
    latest, alone = (seen["rounds"][-1]["results"]["firms"], seen["rounds"][-1]["alone"]["firms"]) if seen["rounds"] \
        else (before, before)
    rows = []
    for firm in TEAM_FIRMS:
        now, left = latest[firm], alone[firm]
        rows.append({"firm": firm, "teams": [name for name, f, _ in seen["teams"] if f == firm],
                     "spend_share": now["spend_share"],
                     "share_effect": now["spend_share"] - left["spend_share"],
                     "share_change": now["spend_share"] - before[firm]["spend_share"],
                     "operating_profit_usd_bn": now["operating_profit_usd_bn"],
                     "profit_effect_usd_bn": now["operating_profit_usd_bn"] - left["operating_profit_usd_bn"],
                     "margin_effect": now["operating_margin"] - left["operating_margin"],
                     "margin_change": now["operating_margin"] - before[firm]["operating_margin"],
                     "members_millions": now["members_millions"]})
    rows.sort(key=lambda row: -row["margin_effect"])
    shown = [round(100 * row["margin_effect"], 2) for row in rows]
    for row, points in zip(rows, shown):
        row["rank"] = 1 + sum(other > points for other in shown)
    return rows


def latest_results(seen: dict[str, Any]) -> dict[str, Any]:
    """The latest round's results (the quarter before the game until round 1 is played)."""
    return seen["rounds"][-1]["results"] if seen["rounds"] else seen["before"]

