"""Strategic membership fees: each strategic firm chooses its membership's fee once a year.

With ``conduct: strategic`` and ``strategy.fees`` (the default), from ``strategy.fees_from``
(2026-01-01: the fees before it are history, the timeline's) every strategic firm with a membership
reviews its posted fee once a year, at a month's start, choosing from a menu (``strategy.fee_steps``
around the posted fee, and holding it) the fee that maximises its long-run yearly profit from its
members, against its rivals' current fees. A fee it changes it holds for ``strategy.fee_hold_years``
(4: Amazon raised its US Prime fee in 2014, 2018 and 2022, and Walmart+ has been $98 since 2020);
reviewed yearly, a fee whose best lay near the middle of two menu options went back and forth.

**What a firm knows.** Its long-run members at a fee: for every household, the share of time it
would hold the membership under the model's own monthly join and churn rules at that fee, for ever
(:func:`~sim.model.memberships.long_run_share`), with its neighbours' holdings at their own long-run
shares (word of mouth). No draw, so the choice carries no run noise. The long run and not a short
look-ahead: members in the model leave slowly when a fee rises, so over any look-ahead up to five
years the highest fee of any menu paid most (``docs/strategy.md``), which no strategist would take
for an answer.

**What it maximises.** Long-run members times (fee - content cost per member + ``V``), where ``V``
is what a member is worth to the firm beyond the fee: extra shopping, advertising, the flywheel. No
filing gives it, so, as for prices (``sim/model/conduct.py``: Nevo 2000), it is backed out so that
the fee the firm posts at the end of its history is its best (the first-order condition in the fee),
measured at each month's start in the 45 days before ``fees_from``, the last one held (or at the
run's first month start, if the history ends before it). A what-if's
events from ``fees_from`` on therefore change nothing the firm measured. A fee that a scenario's
event sets from ``fees_from`` on is the what-if's lever: that firm's fee is not reviewed from then.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from .memberships import long_run_share, neighbour_share

LOOK_BEFORE = dt.timedelta(days=45)  # the month starts before ``fees_from`` at which V is measured
REVIEW_EVERY = dt.timedelta(weeks=52)
ROUNDS = 5  # word of mouth's fixed point: neighbours' long-run shares, five rounds from today's holdings


class FeeConduct:
    """The yearly fee reviews of the strategic firms with a membership, and the member value each holds."""

    def __init__(self, model) -> None:
        self.model = model
        fees_from = model.scenario.strategy.fees_from
        self.member_value: dict[str, float] = {}  # membership -> V, constant dollars a member-year
        self.next_review: dict[str, dt.date] = {}  # membership -> its next review (from fees_from)
        self.scripted = {firm.membership: scripted_from(model.scenario, firm, fees_from)
                         for firm in model.membership_firms}

    @property
    def firms(self) -> list:
        """The firms whose fees are strategic this month (``strategy`` as it stands, after events)."""
        settings = self.model.params.strategy
        return [f for f in self.model.membership_firms if f.name in settings.firms] if settings.fees else []

    def month(self) -> None:
        """At a month's start: measure the member values in the days before the first review (or at the
        first month start, if the fees' history ends before the run's first week), or review."""
        date, settings = self.model.date, self.model.params.strategy
        for firm in self.firms:
            name = firm.membership
            if date < settings.fees_from:
                if date + LOOK_BEFORE >= settings.fees_from and firm.membership_available(date):
                    self.member_value[name] = self.backed_out(firm)
                continue
            if name not in self.member_value and firm.membership_available(date):
                self.member_value[name] = self.backed_out(firm)  # no month start of the history in the run
            if date >= self.next_review.get(name, settings.fees_from) and firm.membership_available(date) \
                    and not self.held(firm):
                years = settings.fee_hold_years if self.review(firm) else 1
                self.next_review[name] = date + years * REVIEW_EVERY

    def held(self, firm) -> bool:
        """Whether the firm's fee is not reviewed: scripted by the scenario from now, or no value measured
        (the fees' history ends after the horizon starts, or the long-run profit has no maximum at it)."""
        scripted = self.scripted[firm.membership]
        return (scripted is not None and self.model.date >= scripted) or not np.isfinite(
            self.member_value.get(firm.membership, np.nan))

    def menu(self, firm) -> list[float]:
        """The posted fees a review weighs: the posted fee first, then each step's (``strategy.fee_steps``)
        by size, a cut before a rise of the same size; none below zero."""
        posted = firm.membership_terms.fee_annual
        steps = sorted({0.0, *self.model.params.strategy.fee_steps}, key=lambda step: (abs(step), step))
        return [posted + step for step in steps if posted + step >= 0]

    def review(self, firm) -> bool:
        """Post the fee of the menu that pays most in the long run (ties: the first of :meth:`menu`);
        whether it changed. The households' valuations of this month, made at the fee posted before,
        move by the change, so that their review this month weighs the new fee."""
        posted, menu = firm.membership_terms.fee_annual, self.menu(firm)
        best = menu[int(np.argmax([self.long_run_profit(firm, fee) for fee in menu]))]
        if best != posted:
            from ..scenario import apply_changes

            key = f"{firm.name}.{firm.membership}.fee_annual"
            self.model.params = apply_changes(self.model.params, {key: best})
            self.model.membership_value[firm.membership] -= (best - posted) / self.model.price_level
        return best != posted

    def long_run_profit(self, firm, posted_fee: float, value: float | None = None) -> float:
        """The firm's yearly profit from its members in the long run at ``posted_fee`` (dollars, US):
        members x (fee - content cost + the member value V), in the model's constant dollars."""
        value = self.member_value[firm.membership] if value is None else value
        fee = posted_fee / self.model.price_level
        margin = fee - firm.params.accounts.content_cost_per_member_year_usd + value
        return float(self.members(firm, posted_fee).sum() * margin * self.model.weight)

    def members(self, firm, posted_fee: float) -> np.ndarray:
        """Each household's long-run chance of holding the firm's membership at ``posted_fee``."""
        model, name = self.model, firm.membership
        h, behaviour = model.households, model.params.memberships
        # this month's net value (shopping gain, perks, less the posted fee) plus own taste, at the candidate fee
        net = (model.membership_value[name] + getattr(h, f"{name}_taste") + firm.membership_fee()
               - posted_fee / model.price_level)
        floor = firm.membership_terms.churn_floor_per_year
        share = getattr(h, name).astype(float)
        for _ in range(ROUNDS):
            share = long_run_share(net, neighbour_share(share, h.neighbours), behaviour, floor)
        return share

    def backed_out(self, firm) -> float:
        """The member value V that makes the posted fee the long-run best: from the first-order condition
        members + (fee - content + V) x d members / d fee = 0 (a dollar's central difference); NaN (the
        fee held) where members do not fall with the fee, or where another fee of the menu would pay more
        (the profit has no maximum at the posted fee)."""
        posted = firm.membership_terms.fee_annual
        level = self.model.price_level
        below, at, above = (float(self.members(firm, posted + d * level).sum()) for d in (-1.0, 0.0, 1.0))
        slope = (above - below) / 2.0  # members per constant dollar
        if slope >= 0:
            return float("nan")
        value = -at / slope - posted / level + firm.params.accounts.content_cost_per_member_year_usd
        here = self.long_run_profit(firm, posted, value)
        if any(self.long_run_profit(firm, fee, value) > here for fee in self.menu(firm)[1:]):
            return float("nan")
        return value


def scripted_from(scenario, firm, fees_from: dt.date) -> dt.date | None:
    """The first date from ``fees_from`` on at which the scenario's events set the firm's fee, or None;
    an event may set it by its dotted path or inside a block it sets (``{amazon.prime: {fee_annual: 159}}``)."""
    return first_set(scenario, [(firm.name, firm.membership, "fee_annual")], fees_from)


def first_set(scenario, paths: list[tuple[str, ...]], since: dt.date) -> dt.date | None:
    """The first date from ``since`` on at which the scenario's events set any of ``paths``, or None."""
    dates = [event.date for event in scenario.events
             if event.date >= since and any(sets(path, key, value) for path in paths for key, value in event.set.items())]
    return min(dates) if dates else None


def sets(path: tuple[str, ...], key: str, value) -> bool:
    """Whether an event's ``key: value`` sets the scenario's ``path``: by its dotted path, or inside a block."""
    parts = key.split(".")
    if list(path[:len(parts)]) != parts:
        return False
    for part in path[len(parts):]:
        if not isinstance(value, dict) or part not in value:
            return False
        value = value[part]
    return True
