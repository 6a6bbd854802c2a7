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
measured at each month's start in the 45 days before ``fees_from``, the last one held. A what-if's
events from ``fees_from`` on therefore change nothing the firm measured. A fee that a scenario's
event sets from ``fees_from`` on is the what-if's lever: that firm's fee is not reviewed from then.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from .memberships import long_run_share

LOOK_BEFORE = dt.timedelta(days=45)  # the month starts before ``fees_from`` at which V is measured
REVIEW_EVERY = dt.timedelta(weeks=52)
ROUNDS = 5  # word of mouth's fixed point: neighbours' long-run shares, five rounds from today's holdings


class FeeConduct:
    """The yearly fee reviews of the strategic firms with a membership, and the member value each holds."""

    def __init__(self, model) -> None:
        self.model = model
        settings = model.params.strategy
        self.firms = [f for f in model.membership_firms if f.name in settings.firms] if settings.fees else []
        self.member_value: dict[str, float] = {}  # membership -> V, constant dollars a member-year
        self.next_review: dict[str, dt.date] = {firm.membership: settings.fees_from for firm in self.firms}
        self.scripted = {firm.membership: scripted_from(model.scenario, firm, settings.fees_from)
                         for firm in self.firms}

    def month(self) -> None:
        """At a month's start: measure the member values in the days before the first review, or review."""
        date, fees_from = self.model.date, self.model.params.strategy.fees_from
        for firm in self.firms:
            name = firm.membership
            if date < fees_from:
                if date + LOOK_BEFORE >= fees_from:
                    self.member_value[name] = self.backed_out(firm)
            elif date >= self.next_review[name] and firm.membership_available(date) and not self.held(firm):
                changed = self.review(firm)
                years = self.model.params.strategy.fee_hold_years if changed else 1
                self.next_review[name] = date + years * REVIEW_EVERY

    def held(self, firm) -> bool:
        """Whether the firm's fee is not reviewed: scripted by the scenario from now, or no value measured
        (the fees' history ends after the horizon starts, or the long-run profit has no maximum at it)."""
        scripted = self.scripted[firm.membership]
        return (scripted is not None and self.model.date >= scripted) or not np.isfinite(
            self.member_value.get(firm.membership, np.nan))

    def review(self, firm) -> bool:
        """Post the fee of the menu that pays most in the long run (ties: the smallest change); whether
        it changed."""
        posted = firm.membership_terms.fee_annual
        steps = sorted({0.0, *self.model.params.strategy.fee_steps}, key=abs)
        menu = [posted + step for step in steps if posted + step >= 0]
        profits = [self.long_run_profit(firm, fee) for fee in menu]
        best = menu[int(np.argmax(profits))]
        if best != posted:
            from ..scenario import apply_changes

            key = f"{firm.name}.{firm.membership}.fee_annual"
            self.model.params = apply_changes(self.model.params, {key: best})
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
        degree = h.neighbours.shape[1]
        for _ in range(ROUNDS):
            neighbours = share[h.neighbours.T].sum(axis=0) / degree if degree else np.zeros(h.n)
            share = long_run_share(net, neighbours, behaviour, floor)
        return share

    def backed_out(self, firm) -> float:
        """The member value V that makes the posted fee the long-run best: from the first-order condition
        members + (fee - content + V) x d members / d fee = 0 (a dollar's central difference); NaN (the
        fee held) where members do not fall with the fee or the profit has no maximum at the posted fee."""
        posted = firm.membership_terms.fee_annual
        level = self.model.price_level
        below, at, above = (float(self.members(firm, posted + d * level).sum()) for d in (-1.0, 0.0, 1.0))
        slope = (above - below) / 2.0  # members per constant dollar
        if slope >= 0:
            return float("nan")
        value = -at / slope - posted / level + firm.params.accounts.content_cost_per_member_year_usd
        step = 10.0 * level
        here = self.long_run_profit(firm, posted, value)
        if max(self.long_run_profit(firm, posted + d, value) for d in (-step, step)) > here:
            return float("nan")
        return value


def scripted_from(scenario, firm, fees_from: dt.date) -> dt.date | None:
    """The first date from ``fees_from`` on at which the scenario's events set the firm's fee, or None."""
    key = f"{firm.name}.{firm.membership}.fee_annual"
    dates = [event.date for event in scenario.events if event.date >= fees_from and key in event.set]
    return min(dates) if dates else None
