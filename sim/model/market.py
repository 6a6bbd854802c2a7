"""``RetailMarket``: the Mesa model. One step is one week; ``step()`` lists the phases."""

from __future__ import annotations

import datetime as dt

import numpy as np

from ..firms import FIRM_TYPES
from ..framework import mesa
from ..scenario import Scenario, apply_changes
from ..scenario.schema import BASE_YEAR
from ..scenario.types import yearly_averages
from ..streams import Streams, uniform_again, uniform_columns
from ..vocabulary import (FIRMS, GROCERY, N_CATEGORIES, N_CHANNELS, N_LOCALES, WEEK, WEEKS_PER_YEAR, Offer, Sales,
                          starts_month)
from .choice import (Access, HouseholdCosts, decision_utilities, draw, exponentials, members_of,
                     update_habit, utilities, welfare)
from .allocator import keep_freed_memory
from .collect import Collector
from .conduct import PriceConduct
from .budgets import BudgetConduct
from .fees import FeeConduct
from .geography import Geography
from .cores import Cores
from .memberships import decide, established_churn, membership_perks, membership_values, neighbour_share
from .population import draw_households
from .tally import FIRST_FIRM_ROW, Tally, cell_base, one_hot, tally


def food_at_home_per_household(scenario: Scenario, on: dt.date) -> float:
    """US real food-at-home spending per household on a date over 2024's, the year of the budgets
    (``shoppers.food_at_home_real`` over ``population.households``): each year's mean is its annual
    value; before the first year and after the last, the level is that year's annual value per
    household (at mid-year), held (one year: flat, 1)."""
    index, population = scenario.shoppers.food_at_home_real, scenario.population
    if len(index) == 1:
        return 1.0

    def per_household(year: int) -> float:
        return index[year] / population.households_on(dt.date(year, 7, 2))

    first, last = min(index), max(index)
    if on.year < first or on.year > last:
        return per_household(first if on.year < first else last) / per_household(BASE_YEAR)
    return yearly_averages(index, on) / population.households_on(on) / per_household(BASE_YEAR)

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
        self.price_level = scenario.economics.price_level.factor(self.date)  # nominal over constant dollars

        self.geography = Geography.build(scenario)
        self.households = draw_households(scenario, self.geography, self.streams)
        self.us_households = self.weight = 0.0
        self.national_scale = np.ones(N_CATEGORIES)
        self.count_households()
        # What a catchment (a station's, kiosk's, dark store's or clinic's households) is counted in:
        # a fixed year's households, so the share of households a catchment holds stays as they grow.
        self.catchment_households = scenario.population.catchment_households
        self.locale_one_hot = one_hot(self.households.locale, N_LOCALES)
        self.cells = cell_base(self.households.locale)
        self.firms = tuple(kind(self) for kind in FIRM_TYPES)
        for firm in self.firms:  # model.amazon, model.walmart, ... for readers and tests
            setattr(self, firm.name, firm)
        self.membership_firms = tuple(firm for firm in self.firms if firm.membership)
        self.offer = Offer(self.geography.n_zones)
        self.access: Access | None = None
        n = self.households.n
        self.choice = np.zeros((N_CATEGORIES, n), dtype=np.int8)
        self.spend = np.zeros((N_CATEGORIES, n))
        self.quantity = np.zeros((N_CATEGORIES, n))  # the baskets bought, at reference prices
        self.surplus = np.zeros(n)
        self.tally: Tally | None = None
        names = [firm.membership for firm in self.membership_firms]
        self.membership_value = {name: np.zeros(n) for name in names}  # net dollars a year, before taste
        self.churn = dict.fromkeys(names, float("nan"))  # yearly, members past year one
        self._net: dict[str, tuple] = {}  # membership -> (its terms, perks and liking a year): see _net_yearly
        self._launched: set[str] = set()  # memberships whose launch households have weighed
        self._category_offsets = (np.arange(N_CATEGORIES) * N_CHANNELS)[:, None]
        self._costs: HouseholdCosts | None = None
        self.conduct = PriceConduct(self) if scenario.conduct == "strategic" else None
        self.fees = FeeConduct(self) if scenario.conduct == "strategic" else None
        self.budgets = BudgetConduct(self) if scenario.conduct == "strategic" else None
        self.cores: Cores | None = None  # the copies of a run on several cores (sim.model.cores)
        self.records = True  # False in those copies: they keep no data and count no surplus
        self.collector = Collector(self)

    def count_households(self) -> None:
        """This week's US households (``population.households``) and how many each simulated
        household stands for."""
        self.us_households = self.params.population.households_on(self.date)
        self.weight = self.us_households / self.households.n
        # National dollars per dollar of a household's survey budget, by category (shoppers.budget_coverage);
        # grocery's moves with real food-at-home spending per household (shoppers.food_at_home_real).
        shoppers = self.params.shoppers
        self.national_scale = 1.0 / np.asarray(shoppers.budget_coverage.as_tuple())
        self.national_scale[GROCERY] *= food_at_home_per_household(self.params, self.date)

    def to_sales(self, week: np.ndarray) -> np.ndarray:
        """Simulated households' (channels, categories) dollars or orders as the firms' US sales: times
        the households each one stands for (``weight``) over the share of national spending the budgets'
        survey records, category by category (``national_scale``, from ``shoppers.budget_coverage``)."""
        return week * (self.weight * self.national_scale)

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
        self.price_level = self.params.economics.price_level.factor(self.date)
        self.count_households()
        self.firms_prepare_offers()
        if self.steps == 1:
            self.settle_habits()  # before the first launches weigh the memberships, and again after
        self.launch_memberships()
        if self.steps == 1:
            self.settle_habits()
        self.households_shop()
        self.firms_book_accounts()
        if self.month_starts():
            if self.fees is not None:
                self.fees.month()  # strategic fees: posted before the households weigh them
                self.budgets.month()  # and Amazon's rural station budget, for the year from now
            self.households_review_memberships()
            self.firms_adapt_prices()
        self.households_learn()
        if self.records and self.date >= self.scenario.horizon.start:
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
        """Firms write their offers; under strategic conduct, at a review, they then set their prices."""
        for firm in self.firms:
            firm.prepare(self.date, self.offer)
        shoppers = self.params.shoppers
        self.offer.online_gain = shoppers.online_gain.level(self.date)
        self.offer.walmart_regulars = min(1.0, max(0.0, shoppers.walmart_online_regular_share
                                                   + shoppers.walmart_online_regular_growth.level(self.date)))
        self.offer.walmart_regular_usd = shoppers.walmart_online_regular_taste_usd
        self.access = Access.of(self.households, self.offer, self.firms)
        if self.conduct is not None and self.conduct.due(self.date):
            self.conduct.review()

    def households_shop(self) -> None:
        """Every household picks a channel per category (one logit draw each). In the first week of
        a month each also values its memberships on the same offers (reviewed after the books). On
        several cores (:mod:`sim.model.cores`) each copy shops for its own households, then they
        exchange them."""
        h, stream = self.households, self.streams["shopping.choice"]
        valuing = self.month_starts()
        prices = self.offer.price.T  # (categories, channels): each household's price by its choice
        elasticity = np.asarray(self.params.shoppers.own_price_elasticity.as_tuple())[:, None]
        # Each household buys less of a category the more it pays for it (its own-price elasticity):
        # the factor for each of the few (category, channel) prices, then each household's by its choice.
        response = (prices ** -elasticity).ravel()
        prices = prices.ravel()
        if self.cores is None:
            self._shop(slice(0, h.n), stream.random((N_CATEGORIES, h.n)), valuing, response, prices)
        else:  # each copy draws its own households' numbers (the others' skipped: the same numbers)
            state = stream.bit_generator.state
            self._shop(self.cores.own, uniform_columns(stream, N_CATEGORIES, h.n, self.cores.own), valuing,
                       response, prices)
            missing = self.cores.exchange(self, valuing)  # households no copy gave (one has gone)
            uniform = uniform_again(state, N_CATEGORIES, h.n) if missing else None
            for span in missing:
                self._shop(span, uniform, valuing, response, prices)
        if self.records:  # the surplus is only recorded (copies of a run on several cores skip it)
            self.surplus += self._membership_dollars()
        self.tally = tally(h.locale, self.cells, self.choice, self.spend, self.quantity)

    def _shop(self, households: slice, uniform: np.ndarray, valuing: bool, response: np.ndarray,
              prices: np.ndarray) -> None:
        """:meth:`households_shop` for a range of households: their choices, baskets, spending and
        surplus (and membership values, if ``valuing``)."""
        for part, part_households, access, costs, lean, top, weights, total in self._exponentials(households):
            if valuing:
                self._store_values(part, membership_values(part_households, access, self.params, costs,
                                                           weights, lean, self.firms))
            self.surplus[part] = welfare(top, weights, total, lean, part_households.price_utility)
            weights /= total
            self.choice[:, part] = draw(weights, uniform[:, part])
            chosen = self.choice[:, part] + self._category_offsets
            self.quantity[:, part] = part_households.budget * response.take(chosen)
            self.spend[:, part] = self.quantity[:, part] * prices.take(chosen)

    def _membership_dollars(self) -> np.ndarray:
        """Each household's perks, own liking, less fees of the memberships it holds, dollars a week
        (the same terms its membership decisions weigh)."""
        h, dollars = self.households, 0.0
        for firm in self.membership_firms:
            dollars = dollars + getattr(h, firm.membership) * self._net_yearly(firm) / WEEKS_PER_YEAR
        return dollars

    def _net_yearly(self, firm) -> np.ndarray:
        """Each household's perks and own liking less the fee of ``firm``'s membership, dollars a year.
        Perks and liking are kept until the terms they depend on change (perks rise with income: a power
        per household); the fee, whose value in constant dollars moves with the price level every
        week, is taken off each time."""
        terms = (firm.membership_terms, self.params.population.median_income_usd,
                 self.params.memberships.perks_income_elasticity)
        held = self._net.get(firm.membership)
        if held is None or held[0] != terms:
            liked = membership_perks(firm, self.households, self.params) + getattr(self.households,
                                                                                  f"{firm.membership}_taste")
            held = self._net[firm.membership] = (terms, liked)
        return held[1] - firm.membership_fee()

    def settle_habits(self, rounds: int = 10) -> None:
        """Start each household's habits where its choices would leave them: the choice shares that
        the first week's offers give with those very habits (a fixed point, reached by repeating
        ``habit = P(habit)``; habit moves a choice probability by less than a tenth of its own change,
        so ten rounds settle it to well under 1e-6). Habits that started at zero made the first
        recorded year drift by points as they formed; the warm-up then only has to absorb the noise
        of real choices."""
        for _ in range(rounds):
            for part, _households, _access, _costs, _lean, _top, weights, total in self._exponentials():
                self.households.habit[:, :, part] = weights / total

    def households_learn(self) -> None:
        """Habits move towards this week's choices (after the week's decisions that use them)."""
        update_habit(self.households.habit, self.choice, self.params.shoppers.habit_learning_rate)

    def firms_book_accounts(self) -> None:
        sales = self._sales()
        for firm in self.firms:
            firm.book(sales)

    def launch_memberships(self) -> None:
        """In its launch week (or the first week, if launched before it), each membership is weighed by
        the households that consider it (all, unless the households have a ``<name>_consider``
        column: Walmart+'s is the reach of its predecessor), who join if it pays.

        A membership that exists before the start (Prime, since 2005) starts at its long-run choice:
        held where its net value plus own taste is positive. The households' columns of a membership
        are named after it: ``<name>``, ``<name>_months``, ``<name>_taste``."""
        h = self.households
        for firm in self.membership_firms:
            name = firm.membership
            if name in self._launched or not firm.membership_available(self.date):
                continue
            self.value_memberships()
            joins = self.membership_value[name] + getattr(h, f"{name}_taste") > 0
            consider = getattr(h, f"{name}_consider", None)
            setattr(h, name, joins if consider is None else consider & joins)
            self._launched.add(name)

    def households_review_memberships(self) -> None:
        """Once a month every household reconsiders each membership (one uniform draw each)."""
        h, behaviour = self.households, self.params.memberships
        uniform = self.streams["memberships.decisions"].random((len(self.membership_firms), h.n))
        for row, firm in enumerate(self.membership_firms):
            name = firm.membership
            held, months = getattr(h, name), getattr(h, f"{name}_months")
            neighbours = neighbour_share(held, h.neighbours)
            now, months_now = decide(held, months, self.membership_value[name] + getattr(h, f"{name}_taste"),
                                     neighbours, uniform[row], behaviour,
                                     available=firm.membership_available(self.date),
                                     floor=firm.membership_terms.churn_floor_per_year)
            setattr(h, name, now)
            setattr(h, f"{name}_months", months_now)
            self.churn[name] = established_churn(held, months, now)

    def firms_adapt_prices(self) -> None:
        for firm in self.firms:
            firm.adapt_prices()

    # -- helpers --------------------------------------------------------------------------
    def month_starts(self) -> bool:
        """True in the first week of a calendar month."""
        return starts_month(self.dates, self.steps - 1)

    def date_in_week(self, day: dt.date, week_start: dt.date) -> bool:
        return week_start <= day < week_start + WEEK

    def household_costs(self) -> HouseholdCosts:
        """Households' fixed cost terms under this week's behaviour (recomputed only when an event
        changes the shoppers' behaviour)."""
        behaviour = self.params.shoppers
        if self._costs is None or self._costs.behaviour is not behaviour:
            distances = tuple(firm.store_distance for firm in self.firms if firm.store_distance)
            self._costs = HouseholdCosts.of(self.households, behaviour, self.params.population.median_income_usd,
                                            distances)
        return self._costs

    def _utilities(self, **members: np.ndarray) -> np.ndarray:
        """All households' utilities at once, with memberships as they are or as given by name (for
        checks and small populations; the weekly phases work part by part)."""
        held = {**members_of(self.households, self.firms), **members}
        return utilities(self.households, self.offer, self.access, self.household_costs(), self.firms, held)

    def _exponentials(self, households: slice | None = None):
        """This week's utilities, part by part: (slice, households, access, costs, lean, max, exp
        weights, sum); of every household, or of a contiguous range of them.

        Parts of ``PART_SIZE`` households keep every temporary array a few megabytes, whatever the
        population: at a million households whole-population temporaries were mapped and unmapped
        by the allocator every time.
        """
        h, costs = self.households, self.household_costs()
        first, end = (0, h.n) if households is None else (households.start, households.stop)
        for start in range(first, end, PART_SIZE):
            part = slice(start, min(start + PART_SIZE, end))
            households, access, part_costs = h.part(part), self.access.part(part), costs.part(part)
            value, lean = decision_utilities(households, self.offer, access, part_costs, self.firms,
                                             members_of(households, self.firms))
            yield (part, households, access, part_costs, lean, *exponentials(value, overwrite=True))

    def value_memberships(self) -> None:
        """Value every membership for every household on this week's offers (no shopping): the monthly
        membership reviews use it, and so do the strategic budget reviews (what a member is worth at
        another reach)."""
        for part, households, access, costs, lean, _top, weights, _total in self._exponentials():
            self._store_values(part, membership_values(households, access, self.params, costs,
                                                       weights, lean, self.firms))

    def _store_values(self, part: slice, values: dict[str, np.ndarray]) -> None:
        for name, value in values.items():
            self.membership_value[name][part] = value

    def _sales(self) -> Sales:
        """This week's purchases by channel and category, scaled to US sales (:meth:`to_sales`);
        visits, users and members to US households."""
        h, week, w = self.households, self.tally, self.weight
        users = week.users.sum(axis=1) * w
        return Sales(
            spend=self.to_sales(week.spend.sum(axis=0).T),
            orders=self.to_sales(week.orders.sum(axis=0).T),
            visits=users[:N_CHANNELS],
            active={name: users[FIRST_FIRM_ROW + k] for k, name in enumerate(FIRMS)},
            members={firm.membership: float(getattr(h, firm.membership).sum()) * w for firm in self.membership_firms},
            base_spend=self.to_sales(week.base_spend.sum(axis=0).T),
        )
