"""Strategic programme budgets: a strategic Amazon chooses its rural station budget once a year.

With ``conduct: strategic`` and ``strategy.budgets`` (the default), from ``strategy.budgets_from``
(2026-01-01: the budgets before it are history, the timeline's) Amazon reviews, at the first month
start of each year, what to spend on rural stations until its next review, a year on: one of the menu's
multiples (``strategy.budget_multiples``) of the scenario's yearly budget
(``amazon.rural.investment_per_year_usd``), whatever the timeline's programme dates say.

**What it knows.** Each option's stations (its budget over ``cost_per_station_usd``), built where each
reaches the most rural households not yet reached (``sim/firms/rural.py``), on top of every station
already started, taken as live. For each it weighs this week's market with that reach: the
households' expected choices (no draw), memberships as they are.

**What it maximises.** The weekly gain in the objective of its price reviews (operating profit plus
the value of goods sold, ``sim/model/conduct.py``, memberships as they are) plus the long-run profit
of the members the reach brings, as the fee reviews weigh it (``sim/model/fees.py``), held over the
stations' life (``economics.depreciation_years``) from when they go live, discounted at its cost of
capital (``strategy.cost_of_capital``), less the option's capital. The budget is spent through the
year, so the capital is discounted half a year and the gains start half a year after the build lag.
As each station reaches fewer households than the one before, the best budget is where a station's
discounted gain falls to its cost (docs/strategy.md).

A budget that a scenario's event sets from ``budgets_from`` on (``amazon.rural.investment_per_year_usd``,
``start`` or ``end``) is that what-if's lever: Amazon does not review it from then.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from ..vocabulary import WEEKS_PER_YEAR, starts_month
from .choice import Access
from .conduct import category_profits, expected_sales
from .fees import first_set

REVIEW_EVERY = dt.timedelta(weeks=52)
PATHS = [("amazon", "rural", name) for name in ("investment_per_year_usd", "start", "end")]


def objective(model, firm) -> tuple[float, float]:
    """The firm's weekly objective under strategic prices (operating profit + value x goods sold, at the
    market's expected choices), and its operating profit alone."""
    sales = expected_sales(model)
    goods = sales.base_spend[list(firm.channels)].sum(axis=0)
    profit = float(category_profits(firm, sales).sum())
    return profit + float((model.conduct.customer_value[firm.name] * goods).sum()), profit


def member_profit(model, firm) -> float:
    """The firm's long-run yearly profit from its members on this week's offers, as its fee reviews weigh
    it (``sim/model/fees.py``: members x (fee - content cost + the member value V)), a week's worth; 0
    before V is measured."""
    fees = model.fees
    value = fees.member_value.get(firm.membership, float("nan")) if fees is not None else float("nan")
    if not np.isfinite(value):
        return 0.0
    model.value_memberships()  # each household's net value of the membership, on these offers
    return fees.long_run_profit(firm, firm.membership_terms.fee_annual, value) / WEEKS_PER_YEAR


def with_stations(model, stations: float) -> tuple[float, float, float]:
    """Amazon's objective, operating profit and long-run member profit a week were ``stations`` live;
    its reach and its households' membership values as they were afterwards."""
    amazon = model.amazon
    saved = amazon.same_day_reach, amazon.next_day_reach
    values = {name: value.copy() for name, value in model.membership_value.items()}
    try:
        amazon.same_day_reach, amazon.next_day_reach = amazon.delivery_reach(amazon.build_out(stations))
        model.access = Access.of(model.households, model.offer, model.firms)
        return (*objective(model, amazon), member_profit(model, amazon))
    finally:
        amazon.same_day_reach, amazon.next_day_reach = saved
        model.access = Access.of(model.households, model.offer, model.firms)
        model.membership_value.update(values)


def annuity(rate: float, weeks_from: float, years: float) -> float:
    """A dollar a week for ``years`` from ``weeks_from`` weeks on, discounted at ``rate`` a year, today."""
    weekly = (1.0 + rate) ** (1.0 / WEEKS_PER_YEAR) - 1.0
    weeks = np.arange(int(round(years * WEEKS_PER_YEAR))) + weeks_from
    return float(((1.0 + weekly) ** -weeks).sum())


class BudgetConduct:
    """Amazon's yearly rural station budget reviews under strategic conduct, and what each weighed."""

    def __init__(self, model) -> None:
        self.model = model
        settings = model.scenario.strategy
        self.yearly = model.scenario.amazon.rural.investment_per_year_usd  # the scenario's: the menu's unit
        self.next_review = settings.budgets_from
        self.scripted = first_set(model.scenario, PATHS, settings.budgets_from)
        self.reviews: list[dict] = []  # each review: date, options (dollars), present values, choice

    def applies(self) -> bool:
        """Whether Amazon's budget is reviewed this month: strategic budgets, Amazon strategic with a
        measured value of goods sold, not scripted from now, a review due."""
        model, settings = self.model, self.model.params.strategy
        return (settings.budgets and "amazon" in settings.firms and model.conduct is not None
                and "amazon" in model.conduct.customer_value and model.date >= self.next_review
                and (self.scripted is None or model.date < self.scripted))

    def month(self) -> None:
        """At a month's start: review if one is due (then the next at the first month start a year on)."""
        if self.applies():
            self.next_review = self.model.date + REVIEW_EVERY
            self.review()

    def spent_until(self) -> dt.date:
        """The week of the next review: the firms spend a week's capital before its review, so the budget
        chosen now is spent from next week to that week's end (a year on, if it falls past the horizon)."""
        dates = self.model.dates
        later = [i for i in range(1, len(dates))
                 if dates[i] >= self.next_review and starts_month(dates, i)]
        return dates[later[0]] if later else self.next_review

    def review(self) -> None:
        """Spend until the next review the option of the menu worth most (ties: the smaller budget)."""
        model = self.model
        options = sorted({multiple * self.yearly for multiple in model.params.strategy.budget_multiples})
        now = self.weekly_gain(model.amazon.stations_started)
        values = [self.present_value(budget, now) for budget in options]
        best = options[int(np.argmax(values))]
        self.reviews.append({"date": model.date, "options": options, "values": values, "budget": best})
        from ..scenario import apply_changes

        model.params = apply_changes(model.params, {
            "amazon.rural.start": model.date, "amazon.rural.end": self.spent_until(),
            "amazon.rural.investment_per_year_usd": best})

    def weekly_gain(self, stations: float) -> float:
        """What ``stations`` live are worth to Amazon a week: the price reviews' objective with memberships
        as they are, plus the long-run profit from the members the reach brings."""
        objective_now, _profit, members = with_stations(self.model, stations)
        return objective_now + members

    def present_value(self, budget: float, now: float) -> float:
        """What a year's ``budget`` of stations is worth today, against the objective ``now`` with the
        stations already started: the discounted gain over the stations' life, less the capital (both
        from mid-year, as the budget is spent through it)."""
        if budget <= 0:
            return 0.0
        model, amazon = self.model, self.model.amazon
        rural, rate = amazon.params.rural, model.params.strategy.cost_of_capital.amazon
        half = WEEKS_PER_YEAR / 2.0
        gain = self.weekly_gain(amazon.stations_started + budget / rural.cost_per_station_usd) - now
        life = annuity(rate, rural.build_lag_weeks + half, model.params.economics.depreciation_years)
        return gain * life - budget * (1.0 + rate) ** -0.5
