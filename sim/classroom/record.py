"""What the game remembers and hands back: its rounds, the events a teacher may inject, the CSV export.

The events are the articles' shocks, with the values of the shipped scenarios that study them
(named beside each); injected, an event takes effect at the start of the next round, after the
teams' decisions, and stays.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any, Callable

from ..vocabulary import FIRMS


def _fraud_surge(model) -> dict[str, Any]:
    return {"returns.fraud_share_of_returns": 0.25}


def _kroger_turnaround(model) -> dict[str, Any]:
    return {"kroger.turnaround.programme": {"start": model.date.isoformat(), "years": 2.0, "target": 1.0},
            "kroger.turnaround.service_gain_usd_per_order_at_full": 5.0, "kroger.turnaround.price_cut_at_full": 0.05}


def _agentic_commerce(model) -> dict[str, Any]:
    # From the level agents have reached (the baseline's own slow adoption), not back from zero.
    now = model.params.walmart.agentic.adoption.level(model.date)
    return {"walmart.agentic.adoption": {"start": model.date.isoformat(), "years": 3.0, "initial": round(now, 6),
                                         "target": 0.4}}


# key -> (what the pages call it, what happens, where its values come from, its changes at a date)
EVENTS: dict[str, tuple[str, str, str, Callable[[Any], dict[str, Any]]]] = {
    "fraud_surge": ("Return fraud surge", "fraud reaches 25% of returns (sellers pass part of it into Amazon's "
                    "marketplace prices; some leave Fulfilled by Amazon)", "scenarios/levers/return_fraud_surge.yaml",
                    _fraud_surge),
    "kroger_turnaround": ("Kroger turnaround", "Kroger's new chief executive phases in better service and 5% lower "
                          "prices at its stores over two years", "scenarios/kroger_resurgence.yaml",
                          _kroger_turnaround),
    "agentic_commerce": ("Agentic commerce", "AI shopping agents reach 40% of online households within three "
                         "years, checking out most easily with Walmart", "scenarios/agentic_commerce.yaml",
                         _agentic_commerce),
}


@dataclass
class Round:
    """One played round: who ran which firm, what each team submitted, what each firm did (the
    combined decisions and the events, exactly as applied: a rewind replays them), and the results."""

    number: int
    first: dt.date
    last: dt.date
    weeks: int
    teams: dict[str, str]  # team -> firm
    submissions: dict[str, dict[str, Any]]  # team -> path -> value
    applied: dict[str, Any]  # path -> value: the firms' decisions, combined
    events: dict[str, dict[str, Any]] = field(default_factory=dict)  # event key -> its changes
    results: dict[str, Any] = field(default_factory=dict)
    alone: dict[str, Any] | None = None  # the market left alone's results; None: no decision yet, the same

    @property
    def left_alone(self) -> dict[str, Any]:
        """The results of the same weeks had no team decided anything (the market's own trend)."""
        return self.results if self.alone is None else self.alone

    @property
    def run_firms(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.teams.values())))


def _csv(header: list[str], rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def decisions_csv(rounds: list[Round]) -> str:
    """Decisions by round and team (one row a lever), each with its firm's combined value; then the
    events the teacher injected (team ``teacher``, lever ``event``)."""
    rows = []
    for played in rounds:
        span = [played.number, played.first.isoformat(), played.last.isoformat()]
        for team, values in sorted(played.submissions.items()):
            firm = played.teams[team]
            rows += [[*span, team, firm, path, value, played.applied.get(path, "")] for path, value in values.items()]
        for key in played.events:
            rows.append([*span, "teacher", "market", "event", key, ""])
    return _csv(["round", "first_week", "last_week", "team", "firm", "lever", "value", "firm_value"], rows)


def results_csv(rounds: list[Round], before: dict[str, Any] | None = None) -> str:
    """Results by round and firm, tidy (round, firm, metric, value, market); round 0 is the quarter
    before the game (``before``); the market's own figures have firm ``market``. Each round is there
    twice: as played (market ``played``) and as the same weeks went with no team's decision (market
    ``left_alone``), so a decision's effect is the difference of the two."""
    rows = []
    for number, first, last, played, alone in ([(0, "", "", before, before)] if before else []) + [
            (r.number, r.first.isoformat(), r.last.isoformat(), r.results, r.left_alone) for r in rounds]:
        for market, results in (("played", played), ("left_alone", alone)):
            for firm in FIRMS:
                rows += [[number, first, last, firm, metric, value, market]
                         for metric, value in results["firms"][firm].items() if value is not None]
            rows += [[number, first, last, "market", metric, value, market] for metric, value in results["market"].items()]
    return _csv(["round", "first_week", "last_week", "firm", "metric", "value", "market"], rows)
