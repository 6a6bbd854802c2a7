"""Walmart: stores turned into a delivery and service network, and AI for its associates."""

from __future__ import annotations

import datetime as dt

import numpy as np

from ..vocabulary import HEALTH, RURAL, WALMART_ONLINE, WALMART_STORE, WEEKS_PER_YEAR, Offer, Sales
from .base import Firm, Reach
from .states import by_category, flag_code, state_flags, with_flag

# Every service state of a household, as flags: express reach, pharmacy express, then Walmart+.
SERVICE_FLAGS = ("express", "walmart_pharmacy")
STATES = state_flags(len(SERVICE_FLAGS) + 1)
PLUS_BIT = len(SERVICE_FLAGS)


class Walmart(Firm):
    """Walmart's levers, each a block of ``scenario.walmart``.

    - Walmart+: fee and perks; members skip delivery fees, pay less for express, save on fuel.
    - Express (<3 hours) from stores: a household is reached when its nearest store has joined
      the roll-out and lies within the express radius; dark stores reach urban and suburban
      households beyond that and cut the cost of an online order.
    - AI for 1.5 million associates: service quality in stores and online, labour productivity.
    - Health: pharmacy same-day delivery, clinics that can open or close.
    - Stores as service platforms (auto care, lockers) make a store trip worth more.
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
        self.dark_store_share = 0.0
        self._dark_stores_built = 0
        self._metro_households = model.params.population.us_households * (
            1.0 - model.geography.locale_share(RURAL)
        )
        # This week's terms, set in ``prepare``.
        self.express_rollout = self.pharmacy_share = 0.0  # share of stores offering express; of households reached
        self.dark_store_reach = np.zeros(model.geography.n_zones)

    def prepare(self, date: dt.date, offer: Offer) -> None:
        self.start_week()
        p = self.params
        self.ai_level = p.ai.tools.level(date)
        self.operating_cost_this_week += (p.ai.associates * p.ai.cost_per_associate_per_year_usd * self.ai_level
                                          / WEEKS_PER_YEAR)
        prices = self.prices()
        offer.price[WALMART_STORE] = prices
        offer.price[WALMART_ONLINE] = prices
        service = np.asarray(p.assortment.as_tuple()) + p.service_quality + p.ai.service_quality_gain * self.ai_level
        store = service + p.store_services.level * p.store_services.utility_at_full
        if p.health.clinics_open:
            store[HEALTH] += p.health.clinic_utility
        offer.constant[WALMART_STORE] = store
        offer.constant[WALMART_ONLINE] = service + p.online.channel_utility
        self._fulfillment_network(date, offer)
        self.pharmacy_share = p.health.pharmacy_same_day.level(date)  # of households with express delivery
        # Shopping agents, Walmart's partners, change how the households using them weigh every channel.
        offer.agentic_share = p.agentic.adoption.level(date)
        offer.agent_price_focus = p.agentic.price_focus
        self.ad_yield = p.ads.revenue_per_active_household_week_usd * (
            1.0 + (p.ads.dsp_uplift if p.ads.dsp_deal is not None and date >= p.ads.dsp_deal else 0.0)
        )

    def _fulfillment_network(self, date: dt.date, offer: Offer) -> None:
        p = self.params
        self.express_rollout = p.express.roll_out.level(date)
        dark = p.dark_stores
        if dark.count > self._dark_stores_built:
            self.spend_capital((dark.count - self._dark_stores_built) * dark.capex_per_store_usd)
            self._dark_stores_built = dark.count
        self.dark_store_share = min(1.0, dark.count * dark.households_per_dark_store / self._metro_households)
        self.dark_store_reach = np.where(self.model.geography.zone_locale != RURAL, self.dark_store_share, 0.0)

    # -- what it offers each household ----------------------------------------------------------
    def reach(self, households, offer: Offer) -> Reach:
        """Express reaches a household whose nearest store has joined the roll-out and lies within the
        radius, or that a dark store reaches; pharmacy express, a share of those."""
        h = households
        store_express = (h.store_miles <= self.params.express.radius_miles) & (h.rollout_rank < self.express_rollout)
        express = store_express | (h.dark_store_rank < self.dark_store_reach[h.zone])
        flags = {"express": express, "walmart_pharmacy": express & (h.pharmacy_rank < self.pharmacy_share)}
        return Reach(flags, flag_code([flags[name] for name in SERVICE_FLAGS]))

    def service_costs(self, reach: Reach, costs, member: np.ndarray | None) -> dict[int, np.ndarray]:
        """The store trip, and the cheaper of delivery or pickup: the parts Walmart+ changes (members
        save fuel, pay no standard fee and less for express). Fees and days are written over the 8
        service states, as Amazon's are."""
        online = self.params.online
        trip_share = np.asarray(costs.behaviour.trip_share.as_tuple())
        trip = costs.trips[self.store_distance] - self.params.fuel_saving_per_trip_usd * member
        express, pharmacy, plus = STATES
        fee = np.where(
            express,
            np.where(plus, online.member_express_fee_usd, online.express_fee_usd),
            np.where(plus, 0.0, online.nonmember_delivery_fee_usd),
        )
        days = by_category(np.where(express, online.express_days, online.standard_days),
                           np.where(pharmacy, online.express_days, online.standard_days))
        state = with_flag(reach.code, member, PLUS_BIT)
        delivery = fee.take(state) + costs.waiting * days.take(state, axis=1)
        pickup = np.outer(trip_share * costs.behaviour.pickup_trip_share, trip)
        return {WALMART_STORE: np.outer(trip_share, trip), WALMART_ONLINE: np.minimum(delivery, pickup)}

    def online_utility(self, reach: Reach, access) -> dict[int, np.ndarray]:
        """Agents check out easily with Walmart, their partner."""
        return {WALMART_ONLINE: np.where(access.agent, self.params.agentic.partner_utility, 0.0)}

    def scalars(self) -> dict[str, float]:
        return {"walmart_ai_level": self.ai_level, "walmart_dark_store_reach": self.dark_store_share}

    # -- its accounts ----------------------------------------------------------------------------
    def online_revenue(self, sales: Sales) -> float:
        return float(sales.spend[WALMART_ONLINE].sum())

    def fulfillment_cost(self, sales: Sales) -> float:
        p, economics = self.params, self.model.params.economics
        online = float(sales.orders[WALMART_ONLINE].sum()) * p.online.fulfillment_cost_per_order_usd * (
            1.0 - p.dark_stores.fulfillment_cost_discount * self.dark_store_share
        )
        stores = float(sales.visits[WALMART_STORE]) * economics.store_cost_per_trip_usd * (
            1.0 - p.ai.labour_productivity_gain * self.ai_level
        )
        return online + stores
