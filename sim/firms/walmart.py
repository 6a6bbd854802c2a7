"""Walmart: stores turned into a delivery and service network, and AI for its associates."""

from __future__ import annotations

import datetime as dt

import numpy as np

from ..vocabulary import HEALTH, N_CATEGORIES, RURAL, WALMART_ONLINE, WALMART_STORE, WEEKS_PER_YEAR, Offer, Sales
from .base import Firm, Reach
from .states import by_category, flag_code, state_flags, with_flag

# Every service state of a household, as flags: express reach, pharmacy express, then Walmart+.
SERVICE_FLAGS = ("express", "walmart_pharmacy")
STATES = state_flags(len(SERVICE_FLAGS) + 1)
PLUS_BIT = len(SERVICE_FLAGS)
# Each category's row of ``Walmart.online_cost``'s table in each state (2 * express reaches the
# order + Walmart+), as a cell of (rows, categories): row * categories + category.
ONLINE_CELL = ((2 * by_category(STATES[0], STATES[1]).astype(np.intp) + STATES[PLUS_BIT]) * N_CATEGORIES
               + np.arange(N_CATEGORIES)[:, None])


class Walmart(Firm):
    """Walmart's levers, each a block of ``scenario.walmart``.

    - Walmart online as customers see it: pickup at the store, standard delivery, or express (<3
      hours) where it reaches; each household weighs the three each week (a logit among them).
    - Walmart+: fee and perks; members pay no delivery fee on orders of $35 or more, less for
      express, and save on fuel.
    - Express from stores: a household is reached when its nearest store has joined the roll-out
      and lies within the express radius; dark stores reach urban and suburban households beyond
      that and cut the cost of an online order.
    - AI for 1.5 million associates: a few cents to dollars of better service per purchase, labour
      productivity.
    - Health: pharmacy same-day delivery; clinics, worth something only to the households near one
      in the states that had them.
    - Stores as service platforms (auto care, lockers) make a trip to such a store worth more.
    - Agentic commerce: a share of households delegate shopping to AI agents that weigh price and
      speed harder and check out easily with Walmart, its partner.
    """

    name = "walmart"
    channels = (WALMART_STORE, WALMART_ONLINE)
    membership = "walmart_plus"
    store_distance = "store_miles"
    reach_metrics = {"walmart_express_coverage": "express", "walmart_pharmacy_same_day_reach": "walmart_pharmacy"}

    def __init__(self, model) -> None:
        super().__init__(model)
        self.ai_level = 0.0
        self.dark_store_share = 0.0  # of urban and suburban households, reached by dark stores
        self.dark_store_orders = 0.0  # of Walmart's online orders, fulfilled by dark stores this week
        self._online_orders = 0.0  # last week's online orders (US scale), which this week's share is set from
        self._dark_stores_built = 0
        # Catchments are counted in a fixed year's households (``model.catchment_households``).
        self._metro_share = 1.0 - model.geography.locale_share(RURAL)  # of US households: urban and suburban
        self._metro_households = model.catchment_households * self._metro_share
        # This week's terms, set in ``prepare``.
        self.express_rollout = self.pharmacy_share = 0.0  # share of stores offering express; of households reached
        self.dark_store_reach = np.zeros(model.geography.n_zones)
        self._no_clinics = np.zeros(model.geography.n_zones)
        self.clinic_reach = self._no_clinics  # share of each zone a clinic reaches
        self._clinic_states: tuple[str, ...] | None = None
        self._clinic_zones = self._no_clinics.astype(bool)
        self._clinic_households = 0.0
        self._locate_clinics()

    def _locate_clinics(self) -> None:
        """The zones of the states that have clinics, and their households (US scale)."""
        states = tuple(self.params.health.clinic_states)
        if states != self._clinic_states:
            geography = self.model.geography
            self._clinic_states, self._clinic_zones = states, geography.zones_in(list(states))
            self._clinic_households = float(geography.zone_share[self._clinic_zones].sum()
                                            * self.model.catchment_households)

    def prepare(self, date: dt.date, offer: Offer) -> None:
        self.start_week()
        p = self.params
        self.ai_level = p.ai.tools.level(date)
        self._locate_clinics()
        self.operating_cost_this_week += (p.ai.associates * p.ai.cost_per_associate_per_year_usd * self.ai_level
                                          / WEEKS_PER_YEAR)
        prices = self.prices()
        offer.price[WALMART_STORE] = prices
        offer.price[WALMART_ONLINE] = prices
        service = np.asarray(p.assortment.as_tuple()) + p.service_quality
        offer.constant[WALMART_STORE] = service
        offer.constant[WALMART_ONLINE] = service + p.online.channel_utility
        self._fulfillment_network(date, offer)
        clinics = p.health
        self.clinic_reach = np.where(self._clinic_zones, min(1.0, clinics.clinics * clinics.households_per_clinic
                                                             / self._clinic_households), 0.0) \
            if clinics.clinics_open and self._clinic_households > 0 else self._no_clinics
        self.pharmacy_share = p.health.pharmacy_same_day.level(date)  # of households with express delivery
        # Shopping agents, Walmart's partners, change how the households using them weigh every channel.
        offer.agentic_share = p.agentic.adoption.level(date)
        offer.agent_price_focus = p.agentic.price_focus
        self.ad_yield = self.advertising_yield(date)

    def _fulfillment_network(self, date: dt.date, offer: Offer) -> None:
        p = self.params
        self.express_rollout = p.express.roll_out.level(date)
        dark = p.dark_stores
        if dark.count > self._dark_stores_built:
            self.spend_capital((dark.count - self._dark_stores_built) * dark.capex_per_store_usd)
            self._dark_stores_built = dark.count
        self.place_dark_stores(dark.count)

    def place_dark_stores(self, count: int) -> None:
        """This week's terms of ``count`` dark stores: whom they reach, and the share of the online orders
        they fulfil."""
        self.dark_store_share, self.dark_store_reach = self.dark_stores_reach(count)
        self.dark_store_orders = self.dark_store_fulfilment(count, self.dark_store_share)

    def dark_store_fulfilment(self, count: int, reach: float) -> float:
        """The share of Walmart's online orders ``count`` dark stores fulfil: the orders of the households
        they reach (``reach`` of urban and suburban households, ordering as much as the average
        household), up to their capacity, against last week's orders. Set before the week, so that
        the week's ledger stays linear in its orders. Before any week's orders are known, the reach."""
        if count <= 0:
            return 0.0
        reached = reach * self._metro_share
        if self._online_orders <= 0:
            return reached
        return min(reached, count * self.params.dark_stores.orders_per_week / self._online_orders)

    def dark_stores_reach(self, count: int) -> tuple[float, np.ndarray]:
        """The share of urban and suburban households ``count`` dark stores reach, and each zone's share."""
        dark = self.params.dark_stores
        share = min(1.0, count * dark.households_per_dark_store / self._metro_households)
        return share, np.where(self.model.geography.zone_locale != RURAL, share, 0.0)

    # -- what it offers each household ----------------------------------------------------------
    def reach(self, households, offer: Offer) -> Reach:
        """Express reaches a household whose nearest store has joined the roll-out and lies within the
        radius, or that a dark store reaches; pharmacy express, a share of those."""
        h = households
        store_express = (h.store_miles <= self.params.express.radius_miles) & (h.rollout_rank < self.express_rollout)
        express = store_express | (h.dark_store_rank < self.dark_store_reach[h.zone])
        flags = {"express": express, "walmart_pharmacy": express & (h.pharmacy_rank < self.pharmacy_share),
                 "store_services": h.service_rank < self.params.store_services.level,
                 "clinic": h.service_rank < self.clinic_reach[h.zone]}
        return Reach(flags, flag_code([flags[name] for name in SERVICE_FLAGS]))

    def service_costs(self, reach: Reach, costs, member: np.ndarray | None) -> dict[int, np.ndarray]:
        """The store trip, and online the households' pick of pickup, standard delivery or express:
        the parts Walmart+ changes (members save fuel, pay no standard fee on orders of $35 or more
        and less for express); less what Walmart's services are worth (associates' AI tools on every
        purchase, a clinic for health, a store that is a service platform)."""
        p, behaviour = self.params, costs.behaviour
        trip_share = np.asarray(behaviour.trip_share.as_tuple())
        trip = costs.trips[self.store_distance] - p.fuel_saving_per_trip_usd * member
        store = np.outer(trip_share, trip - reach.store_services * p.store_services.value_per_trip_usd)
        store[HEALTH] -= reach.clinic * p.health.clinic_value_usd_per_order
        service = p.ai.service_value_usd_per_order * self.ai_level
        return {WALMART_STORE: store - service, WALMART_ONLINE: self.online_cost(reach, costs, member) - service}

    def online_options(self, reach: Reach, costs, member: np.ndarray) -> np.ndarray:
        """Dollars of each way to get an online order, (pickup, delivery, express) x categories x
        households; express is infinite where it does not reach (for health: pharmacy express)."""
        express, pharmacy, plus = STATES
        state = with_flag(reach.code, member, PLUS_BIT)
        fast = by_category(express, pharmacy).take(state, axis=1)
        express_fee = np.where(plus, self.params.online.member_express_fee_usd,
                               self.params.online.express_fee_usd).take(state)
        return self._options(costs, member, fast, express_fee)

    def _options(self, costs, member: np.ndarray, fast: np.ndarray, express_fee: np.ndarray) -> np.ndarray:
        """:meth:`online_options` from each household's flags: ``member`` (households,) and ``fast``
        (express reaches the order) and ``express_fee``, (categories, households); or the same with
        a leading axis of states, broadcast (``member`` (states, 1), the others (states, 1, 1))."""
        online, behaviour = self.params.online, costs.behaviour
        trip_share = np.asarray(behaviour.trip_share.as_tuple())
        trip = costs.trips[self.store_distance] - self.params.fuel_saving_per_trip_usd * member
        free = member & (costs.basket >= online.member_free_delivery_minimum_usd)
        options = np.empty((3, *np.broadcast_shapes(fast.shape, costs.waiting.shape)))
        options[0] = (trip_share * behaviour.pickup_trip_share)[:, None] * trip[..., None, :]
        options[1] = np.where(free, 0.0, online.nonmember_delivery_fee_usd)[..., None, :] + costs.waiting * online.standard_days
        options[2] = np.where(fast, express_fee + costs.waiting * online.express_days, np.inf)
        return options

    def online_cost(self, reach: Reach, costs, member: np.ndarray) -> np.ndarray:
        """Expected dollars of the cheapest way to get an online order (the soft minimum of
        :meth:`online_options`), (categories, households).

        For a household and category it depends only on its fixed terms (trip, waiting, basket) and
        two flags: express reaches the order, and Walmart+. So it is computed for the four
        combinations of every household once (while those terms and Walmart's online terms hold) and
        each household's flags pick its own each week: the same numbers, without nine exponentials
        per household every week and at every membership valuation."""
        table = self._online_table(costs)  # (rows, categories, households), row = 2 * fast + member
        state = with_flag(reach.code, member, PLUS_BIT)
        n = len(state)
        return table.reshape(-1).take(ONLINE_CELL.take(state, axis=1) * n + np.arange(n))

    def _online_table(self, costs) -> np.ndarray:
        terms = (self.params.online, self.params.fuel_saving_per_trip_usd)
        key = ("walmart.online", costs.span)
        held = costs.derived.get(key)
        if held is None or held[0] != terms:
            online = self.params.online
            member = np.array([False, True, False, True])[:, None]  # the rows: 2 * fast + member
            fast = np.array([False, False, True, True])[:, None, None]
            express_fee = np.where(member, online.member_express_fee_usd, online.express_fee_usd)[..., None]
            options = self._options(costs, member, fast, express_fee)
            held = costs.derived[key] = (terms, soft_minimum(options, costs.behaviour.fulfilment_taste_usd))
        return held[1]

    def agent_values(self, reach: Reach, access) -> dict[int, np.ndarray]:
        """Agents check out easily with Walmart, their partner."""
        return {WALMART_ONLINE: np.where(access.agent, self.params.agentic.partner_value_usd_per_order, 0.0)}

    def agent_routes(self, reach: Reach, access) -> dict[int, np.ndarray]:
        """Agents send a share of their online orders to Walmart, their partner, whatever the offers."""
        share = self.params.agentic.partner_order_share
        return {WALMART_ONLINE: np.where(access.agent, share, 0.0)} if share else {}

    def scalars(self) -> dict[str, float]:
        return {"walmart_ai_level": self.ai_level, "walmart_dark_store_reach": self.dark_store_share,
                "walmart_dark_store_orders": self.dark_store_orders, "walmart_plus_fee_usd": self.membership_terms.fee_annual}

    # -- its accounts ----------------------------------------------------------------------------
    def fulfillment_cost(self, sales: Sales) -> float:
        """Delivering online orders (store labour picks them), less what dark stores save on the share of
        them they fulfil (``dark_store_orders``, set before the week)."""
        p = self.params
        return float(sales.orders[WALMART_ONLINE].sum()) * p.online.fulfillment_cost_per_order_usd * (
            1.0 - p.dark_stores.fulfillment_cost_discount * self.dark_store_orders
        )

    def book(self, sales: Sales) -> None:
        """Book the week, and remember its online orders: next week's dark-store share is set from them."""
        super().book(sales)
        self._online_orders = float(sales.orders[WALMART_ONLINE].sum())

    def labour_saving(self) -> float:
        """Associates' AI tools make store labour more productive."""
        return self.params.ai.labour_productivity_gain * self.ai_level


def soft_minimum(options: np.ndarray, scale: float) -> np.ndarray:
    """Expected cost of the cheapest of several options (axis 0) to a household whose liking for
    each varies by a Gumbel term of ``scale`` dollars: ``-scale * log(sum(exp(-cost / scale)))``
    (the inclusive value of a nested logit, in dollars). The minimum as ``scale`` goes to 0."""
    low = options.min(axis=0)
    return low - scale * np.log(np.exp(-(options - low) / scale).sum(axis=0))
