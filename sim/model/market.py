"""``RetailMarket``: the Mesa model. One step is one week; ``step()`` lists the phases."""

from __future__ import annotations

import datetime as dt

import mesa
import numpy as np

from ..firms import Amazon, Rivals, Sales, Walmart
from ..scenario import Scenario, apply_changes
from ..streams import Streams
from .choice import (
    AMAZON,
    RIVALS,
    WALMART_ONLINE,
    WALMART_STORE,
    Access,
    Offer,
    amazon_service_cost,
    draw,
    logit,
    logsum,
    patience,
    price_weight,
    update_habit,
    utilities,
    walmart_service_cost,
)
from .allocator import keep_freed_memory
from .collect import Collector
from .geography import Geography
from .memberships import decide, neighbour_share, perks_value, shopping_value
from .population import N_CATEGORIES, draw_households
from .shoppers import Shopper
from .tally import N_LOCALES, Tally, one_hot, tally

WEEK = dt.timedelta(days=7)


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
        Shopper.create_agents(self, self.households.n, index=np.arange(self.households.n))
        self.amazon, self.walmart, self.rivals = Amazon(self), Walmart(self), Rivals(self)
        self.firms = (self.amazon, self.walmart, self.rivals)
        self.offer = Offer(self.geography.n_zones)
        self.access: Access | None = None
        self.choice = np.zeros((N_CATEGORIES, self.households.n), dtype=np.int64)
        self.spend = np.zeros((N_CATEGORIES, self.households.n))
        self.surplus = np.zeros(self.households.n)
        self.tally: Tally | None = None
        self.value = np.zeros((4, N_CATEGORIES, self.households.n))
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
        """Every household picks a channel per category (one logit draw each), then habits update."""
        h, behaviour = self.households, self.params.shoppers
        self.value = self._utilities(h.prime, h.walmart_plus)
        probability, expected_best = logit(self.value)
        uniform = self.streams["shopping.choice"].random((N_CATEGORIES, h.n))
        self.choice = draw(probability, uniform)
        self.spend = h.budget * self.offer.price[self.choice, np.arange(N_CATEGORIES)[:, None]]
        self.surplus = expected_best.sum(axis=0) / price_weight(h, self.offer, self.access)
        self.tally = tally(h.locale, self.locale_one_hot, self.choice, self.spend, h.budget)
        update_habit(h.habit, self.choice, behaviour.habit_learning_rate)

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
        self.value = self._utilities(h.prime, h.walmart_plus)
        prime_value, _ = self._membership_values()
        h.prime = prime_value + h.prime_taste > 0

    def launch_walmart_plus(self) -> None:
        """In its launch week (or the first week, if launched earlier), Walmart+ is weighed by the
        households that considered it (the reach of its predecessor), who join if it pays."""
        h = self.households
        self.value = self._utilities(h.prime, h.walmart_plus)
        _, plus_value = self._membership_values()
        h.walmart_plus = h.walmart_plus_consider & (plus_value + h.walmart_plus_taste > 0)
        self._plus_was_launched = True

    def households_review_memberships(self) -> None:
        """Once a month every household reconsiders both memberships (one uniform draw each)."""
        h, behaviour = self.households, self.params.memberships
        prime_value, plus_value = self._membership_values()
        uniform = self.streams["memberships.decisions"].random((2, h.n))
        prime_neighbours = neighbour_share(h.prime, h.neighbours)
        plus_neighbours = neighbour_share(h.walmart_plus, h.neighbours)
        h.prime, h.prime_months = decide(h.prime, h.prime_months, prime_value + h.prime_taste,
                                         prime_neighbours, uniform[0], behaviour)
        h.walmart_plus, h.walmart_plus_months = decide(h.walmart_plus, h.walmart_plus_months,
                                                       plus_value + h.walmart_plus_taste, plus_neighbours,
                                                       uniform[1], behaviour, available=self._plus_launched())

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

    def _utilities(self, prime: np.ndarray, walmart_plus: np.ndarray) -> np.ndarray:
        return utilities(self.households, self.offer, self.access, self.params.shoppers, prime, walmart_plus,
                         self.params.population.median_income_usd)

    def _membership_values(self) -> tuple[np.ndarray, np.ndarray]:
        """Net dollars a year of Prime and of Walmart+ to each household, before its own taste.

        A membership changes only the fee, wait and trip costs of its firm's channels, so the
        values with and without it are this week's utilities with those costs swapped.
        """
        h, p, offer, access = self.households, self.params, self.offer, self.access
        waiting = patience(h, p.shoppers, p.population.median_income_usd)
        weight = price_weight(h, offer, access)
        yes, no = np.ones(h.n, dtype=bool), np.zeros(h.n, dtype=bool)

        def logsum_with(swaps: dict[int, np.ndarray]) -> np.ndarray:
            value = self.value.copy()
            for channel, extra_cost in swaps.items():
                value[channel] -= weight * extra_cost
            return logsum(value)

        amazon_now = amazon_service_cost(h, offer, access, waiting, h.prime)
        prime_gain = shopping_value(
            logsum_with({AMAZON: amazon_service_cost(h, offer, access, waiting, yes) - amazon_now}),
            logsum_with({AMAZON: amazon_service_cost(h, offer, access, waiting, no) - amazon_now}), weight)
        store_now, online_now = walmart_service_cost(h, offer, access, p.shoppers, waiting, h.walmart_plus)
        store_yes, online_yes = walmart_service_cost(h, offer, access, p.shoppers, waiting, yes)
        store_no, online_no = walmart_service_cost(h, offer, access, p.shoppers, waiting, no)
        plus_gain = shopping_value(
            logsum_with({WALMART_STORE: store_yes - store_now, WALMART_ONLINE: online_yes - online_now}),
            logsum_with({WALMART_STORE: store_no - store_now, WALMART_ONLINE: online_no - online_now}), weight)
        median, elasticity = p.population.median_income_usd, p.memberships.perks_income_elasticity
        prime = prime_gain + perks_value(p.amazon.prime.perks_value_usd, h.income, median, elasticity)
        plus = plus_gain + perks_value(p.walmart.walmart_plus.perks_value_usd, h.income, median, elasticity)
        return prime - p.amazon.prime.fee_annual, plus - p.walmart.walmart_plus.fee_annual

    def _sales(self) -> Sales:
        """This week's purchases by channel and category, scaled to US households."""
        h, week, w = self.households, self.tally, self.weight
        users = week.users.sum(axis=1) * w
        return Sales(
            spend=week.spend.sum(axis=0).T * w,
            orders=week.orders.sum(axis=0).T * w,
            visits=users[:4],
            active={"amazon": users[AMAZON], "walmart": users[4], "rivals": users[RIVALS]},
            members={"prime": float(h.prime.sum()) * w, "walmart_plus": float(h.walmart_plus.sum()) * w},
            base_spend=week.base_spend.sum(axis=0).T * w,
        )
