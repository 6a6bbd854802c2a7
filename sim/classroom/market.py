"""The game's one shared market: the model, stepped a round at a time, with the teams' decisions.

The scenario's own events that set a game lever (the Prime fee rise of February 2022, Walmart's
dark stores...) are held back from the model and applied here, week by week, only for the firms no
team runs: a firm a team runs follows its team's decisions, the others follow the scenario. Every
other event runs as in ``retailsim run``. Nothing here draws a random number: the model's seeded
streams do, so the same decisions replay the same market (that is how the game rewinds).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from ..model.market import RetailMarket
from ..scenario import Scenario, apply_changes
from ..scenario.changes import override
from ..vocabulary import FIRMS
from .levers import FIRM_OF

WEEKS = {"quarter": 13, "year": 52}  # a round's length
BILLIONS_A_YEAR = 52.0 / 1e9  # weekly dollars -> $bn a year


def _held(key: str) -> bool:
    """Whether an event's key sets a game lever (the lever itself or a block holding one)."""
    return any(path == key or path.startswith(key + ".") for path in FIRM_OF)


def split_events(scenario: Scenario) -> tuple[list[dict], list[tuple[dt.date, str, Any]]]:
    """The scenario's events without their game-lever entries (as dicts), and those entries
    (date, key, value), in date order."""
    kept, held = [], []
    for event in scenario.events:
        rest = {key: value for key, value in event.set.items() if not _held(key)}
        held += [(event.date, key, value) for key, value in event.set.items() if _held(key)]
        if rest:
            kept.append({**event.model_dump(mode="json"), "set": rest})
    return kept, sorted(held, key=lambda entry: entry[0])


class ClassroomMarket:
    """The model and the scenario's held-back lever events; ``play`` steps a round."""

    def __init__(self, scenario: Scenario, start: dt.date, weeks_per_round: int) -> None:
        kept, self.held = split_events(scenario)
        self.model = RetailMarket(override(scenario, {"events": kept}, "classroom"))
        self.weeks_per_round = weeks_per_round
        self.membership_of = {firm.name: firm.membership for firm in self.model.firms if firm.membership}
        while self.model.running and self.next_date() < start:
            self.week(())

    def next_date(self) -> dt.date:
        """The date of the next weekly step (the last date when the horizon is over)."""
        dates = self.model.dates
        return dates[min(self.model.steps, len(dates) - 1)]

    @property
    def finished(self) -> bool:
        return not self.model.running

    def weeks_next_round(self) -> int:
        """The weeks the next round will play: a round's, or fewer where the horizon ends first."""
        return max(0, min(self.weeks_per_round, len(self.model.dates) - self.model.steps))

    def apply(self, changes: dict[str, Any]) -> None:
        """Set dotted scenario paths from now on (validated by the schema)."""
        if changes:
            self.model.params = apply_changes(self.model.params, changes)

    def week(self, run_firms: tuple[str, ...]) -> None:
        """One weekly step; first the held scenario events now due for the firms no team runs."""
        due = {}
        while self.held and self.held[0][0] <= self.next_date():
            _, key, value = self.held.pop(0)
            if key.split(".")[0] not in run_firms:
                due[key] = value
        self.apply(due)
        self.model.step()

    def play(self, run_firms: tuple[str, ...]) -> tuple[dt.date, dt.date, int]:
        """A round (fewer weeks if the horizon ends first): its first and last week, and its weeks."""
        first, weeks = self.next_date(), 0
        while self.model.running and weeks < self.weeks_per_round:
            self.week(run_firms)
            weeks += 1
        return first, self.model.date, weeks

    def results(self, weeks: int) -> dict[str, Any]:
        """The last ``weeks`` weeks in brief: per firm its share of spend, members (millions),
        revenue and operating profit ($bn a year, accounts fitted to the filings) and margin; for
        the market, consumer welfare ($ a household a week) and the memberships' shares."""
        recorder, households = self.model.collector.recorder, self.model.us_households

        def mean(metric: str, **labels: str) -> float:
            values = recorder.series(metric, **labels)[1][-weeks:]
            return float(np.mean(values)) if len(values) else float("nan")

        firms = {}
        for firm in FIRMS:
            revenue = mean("revenue", firm=firm) * BILLIONS_A_YEAR
            profit = mean("operating_profit", firm=firm) * BILLIONS_A_YEAR
            membership = self.membership_of.get(firm)
            firms[firm] = {"spend_share": mean("spend_share", firm=firm), "revenue_usd_bn": revenue,
                           "operating_profit_usd_bn": profit,
                           "operating_margin": profit / revenue if revenue else float("nan"),
                           "members_millions": mean(f"{membership}_share") * households / 1e6 if membership else None}
        market = {"consumer_surplus_usd": mean("consumer_surplus"),
                  "both_memberships": mean("membership_share", segment="both"),
                  "prime_share": mean("prime_share"), "walmart_plus_share": mean("walmart_plus_share")}
        return {"firms": firms, "market": market}

    def weekly(self, metric: str, since: dt.date, **labels: str) -> tuple[list[str], list[float]]:
        """A metric's weekly values from ``since`` on (dates as text), for the charts."""
        dates, values = self.model.collector.recorder.series(metric, **labels)
        keep = [i for i, date in enumerate(dates) if date >= since]
        return [dates[i].isoformat() for i in keep], [float(values[i]) for i in keep]
