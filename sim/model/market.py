"""``RetailMarket``: the Mesa model. One step is one week; ``step()`` lists the phases."""

from __future__ import annotations

import datetime as dt

import mesa
import numpy as np

from ..firms import Amazon, Rivals, Walmart
from ..scenario import Scenario, apply_changes
from ..streams import Streams
from ..vocabulary import AMAZON, N_CATEGORIES, N_CHANNELS, N_LOCALES, RIVALS, Offer, Sales
from .choice import (Access, HouseholdCosts, draw, exponentials, price_weight,
                     update_habit, utilities)
from .allocator import keep_freed_memory
from .collect import Collector
from .geography import Geography
from .memberships import decide, established_churn, membership_values, neighbour_share
from .population import draw_households
from .tally import ANY_WALMART, Tally, cell_base, one_hot, tally

WEEK = dt.timedelta(days=7)
PART_SIZE = 1 << 16  # households per part of the weekly computation


class RetailMarket(mesa.Model):
    """Households choosing where to shop each week, and firms competing for them.

    The calendar runs weekly from ``horizon.start`` (after ``horizon.warmup_weeks`` of unrecorded
    spin-up) to ``horizon.end``. ``self.params`` is the scenario as it stands this week, after
    the events dated so far; ``self.scenario`` is the scenario as loaded.
    """

    def __init__(self, scenario: Scenario, seed: int | None = None) -> None:
        keep_freed_memory()
        self.seed = scenario.seed if seed is None else int(seed)
        self.streams = Streams(self.seed)
        super().__init__(seed=self.streams.child_seed("mesa"))
        self.scenario = self.params = scenario
        self.dates = self.calendar(scenario.horizon)
        self.date = self.dates[0]
        self._events = sorted(scenario.events, key=lambda event: event.date)

        self.geography = Geography.build(scenario)
        self.households = draw_households(scenario, self.geography, self.streams)
        self.weight = scenario.population.us_households / self.households.n
        self.locale_one_hot = one_hot(self.households.locale, N_LOCALES)
        self.cells = cell_base(self.households.locale)
        self.amazon, self.walmart, self.rivals = Amazon(self), Walmart(self), Rivals(self)
        self.firms = (self.amazon, self.walmart, self.rivals)
        self.offer = Offer(self.geography.n_zones)
        self.access: Access | None = None
        n = self.households.n
        self.choice = np.zeros((N_CATEGORIES, n), dtype=np.int8)
        self.spend = np.zeros((N_CATEGORIES, n))
        self.surplus = np.zeros(n)
        self.tally: Tally | None = None
        self.prime_value, self.plus_value = np.zeros(n), np.zeros(n)  # net dollars a year, before taste
        self.churn = {"prime": float("nan"), "walmart_plus": float("nan")}  # yearly, members past year one
        self._category_offsets = (np.arange(N_CATEGORIES) * N_CHANNELS)[:, None]
        self._costs: HouseholdCosts | None = None
        self.collector = Collector(self)
        self._plus_was_launched = False

    @staticmethod
    def calendar(horizon) -> list[dt.date]:
        """The dates of every weekly step, warm-up included."""
        first = horizon.start - horizon.warmup_weeks * WEEK
        return [first + k * WEEK for k in range((horizon.end - first) // WEEK + 1)]

    # -- the week -------------------------------------------------------------------------
    def step(self) -> None:
        """One week, in the order of the model documentation's process overview."""
        self.date = self.dates[self.steps - 1]
        self.apply_events()
        self.firms_prepare_offers()
        if self.steps == 1:
            self.initial_prime()
        if self._plus_launched() and not self._plus_was_launched:
            self.launch_walmart_plus()
        self.households_shop()
        self.firms_book_accounts()
        if self.month_starts():
            self.households_review_memberships()
            self.firms_adapt_prices()
        self.households_learn()
        if self.date >= self.scenario.horizon.start:
            self.collector.weekly(self.month_starts())
        self.running = self.steps < len(self.dates)

    def run_model(self, progress=None) -> None:
        """Step to the end of the horizon; ``progress`` is called with each finished step."""
        while self.running:
            self.step()
            if progress is not None:
                progress(self)

    # -- phases ---------------------------------------------------------------------------
    def apply_events(self) -> None:
        """Events take effect at the first weekly step on or after their date."""
        while self._events and self._events[0].date <= self.date:
            self.params = apply_changes(self.params, self._events.pop(0).set)

    def firms_prepare_offers(self) -> None:
        for firm in self.firms:
            firm.prepare(self.date, self.offer)
        self.access = Access.of(self.households, self.offer)

    def households_shop(self) -> None:
        """Every household picks a channel per category (one logit draw each). In the first week of
        a month each also values its memberships on the same offers (reviewed after the books)."""
        h = self.households
        uniform = self.streams["shopping.choice"].random((N_CATEGORIES, h.n))
        valuing = self.month_starts()
        prices = self.offer.price.T.ravel()  # (categories x channels): each household's price by its choice
        for part, households, access, costs, top, weights, total in self._exponentials():
            if valuing:
                self.prime_value[part], self.plus_value[part] = membership_values(
                    households, self.offer, access, self.params, costs, weights)
            weights /= total
            self.choice[:, part] = draw(weights, uniform[:, part])
            self.spend[:, part] = households.budget * prices.take(self.choice[:, part] + self._category_offsets)
            self.surplus[part] = (top + np.log(total)).sum(axis=0) / price_weight(households, self.offer, access)
        self.tally = tally(h.locale, self.cells, self.choice, self.spend, h.budget)

    def households_learn(self) -> None:
        """Habits move towards this week's choices (after the week's decisions that use them)."""
        update_habit(self.households.habit, self.choice, self.params.shoppers.habit_learning_rate)

    def firms_book_accounts(self) -> None:
        sales = self._sales()
        for firm in self.firms:
            firm.book(sales)

    def initial_prime(self) -> None:
        """Before the first week, each household holds Prime when it pays for it.

        Prime has existed since 2005, so the start approximates its long-run choice: hold it if its
        net value plus own taste is positive.
        """
        h = self.households
        self._value_memberships()
        h.prime = self.prime_value + h.prime_taste > 0

    def launch_walmart_plus(self) -> None:
        """In its launch week (or the first week, if launched earlier), Walmart+ is weighed by the
        households that considered it (the reach of its predecessor), who join if it pays."""
        h = self.households
        self._value_memberships()
        h.walmart_plus = h.walmart_plus_consider & (self.plus_value + h.walmart_plus_taste > 0)
        self._plus_was_launched = True

    def households_review_memberships(self) -> None:
        """Once a month every household reconsiders both memberships (one uniform draw each)."""
        h, behaviour = self.households, self.params.memberships
        prime_value, plus_value = self.prime_value, self.plus_value
        uniform = self.streams["memberships.decisions"].random((2, h.n))
        prime_neighbours = neighbour_share(h.prime, h.neighbours)
        plus_neighbours = neighbour_share(h.walmart_plus, h.neighbours)
        before = (h.prime, h.prime_months, h.walmart_plus, h.walmart_plus_months)
        h.prime, h.prime_months = decide(h.prime, h.prime_months, prime_value + h.prime_taste,
                                         prime_neighbours, uniform[0], behaviour)
        h.walmart_plus, h.walmart_plus_months = decide(h.walmart_plus, h.walmart_plus_months,
                                                       plus_value + h.walmart_plus_taste, plus_neighbours,
                                                       uniform[1], behaviour, available=self._plus_launched())
        self.churn = {"prime": established_churn(before[0], before[1], h.prime),
                      "walmart_plus": established_churn(before[2], before[3], h.walmart_plus)}

    def firms_adapt_prices(self) -> None:
        for firm in self.firms:
            firm.adapt_prices()

    # -- helpers --------------------------------------------------------------------------
    def month_starts(self) -> bool:
        """True in the first week of a calendar month."""
        return self.steps == 1 or self.dates[self.steps - 2].month != self.date.month

    def date_in_week(self, day: dt.date, week_start: dt.date) -> bool:
        return week_start <= day < week_start + WEEK

    def _plus_launched(self) -> bool:
        launch = self.params.walmart.walmart_plus.launch
        return launch is None or launch <= self.date

    def household_costs(self) -> HouseholdCosts:
        """Households' fixed cost terms under this week's behaviour (recomputed only when an event
        changes the shoppers' behaviour)."""
        behaviour = self.params.shoppers
        if self._costs is None or self._costs.behaviour is not behaviour:
            self._costs = HouseholdCosts.of(self.households, behaviour, self.params.population.median_income_usd)
        return self._costs

    def _utilities(self, prime: np.ndarray, walmart_plus: np.ndarray) -> np.ndarray:
        """All households' utilities at once (for checks and small populations; the weekly phases
        work part by part)."""
        return utilities(self.households, self.offer, self.access, self.household_costs(), prime, walmart_plus)

    def _exponentials(self):
        """This week's utilities, part by part: (slice, households, access, costs, max, exp weights, sum).

        Parts of ``PART_SIZE`` households keep every temporary array a few megabytes, whatever the
        population: at a million households whole-population temporaries were mapped and unmapped
        by the allocator every time.
        """
        h, costs = self.households, self.household_costs()
        for start in range(0, h.n, PART_SIZE):
            part = slice(start, min(start + PART_SIZE, h.n))
            households, access, part_costs = h.part(part), self.access.part(part), costs.part(part)
            value = utilities(households, self.offer, access, part_costs, households.prime, households.walmart_plus)
            yield (part, households, access, part_costs, *exponentials(value, overwrite=True))

    def _value_memberships(self) -> None:
        """Value both memberships for every household on this week's offers (no shopping)."""
        for part, households, access, costs, _top, weights, _total in self._exponentials():
            self.prime_value[part], self.plus_value[part] = membership_values(
                households, self.offer, access, self.params, costs, weights)

    def _sales(self) -> Sales:
        """This week's purchases by channel and category, scaled to US households."""
        h, week, w = self.households, self.tally, self.weight
        users = week.users.sum(axis=1) * w
        return Sales(
            spend=week.spend.sum(axis=0).T * w,
            orders=week.orders.sum(axis=0).T * w,
            visits=users[:N_CHANNELS],
            active={"amazon": users[AMAZON], "walmart": users[ANY_WALMART], "rivals": users[RIVALS]},
            members={"prime": float(h.prime.sum()) * w, "walmart_plus": float(h.walmart_plus.sum()) * w},
            base_spend=week.base_spend.sum(axis=0).T * w,
        )
