"""Walmart: stores turned into a delivery and service network, and AI for its associates."""

from __future__ import annotations

import datetime as dt

import numpy as np

from ..vocabulary import HEALTH, RURAL, WALMART_ONLINE, WALMART_STORE, WEEKS_PER_YEAR, Offer, Sales
from .base import Firm


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

    def __init__(self, model) -> None:
        super().__init__(model)
        self.ai_level = 0.0
        self.dark_store_share = 0.0
        self._dark_stores_built = 0
        self._metro_households = model.params.population.us_households * (
            1.0 - model.geography.locale_share(RURAL)
        )

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
        offer.walmart_pharmacy_share = p.health.pharmacy_same_day.level(date)
        offer.fuel_saving = p.fuel_saving_per_trip_usd
        offer.agentic_share = p.agentic.adoption.level(date)
        offer.agent_partner_utility = p.agentic.partner_utility
        offer.agent_price_focus = p.agentic.price_focus
        self.ad_yield = p.ads.revenue_per_active_household_week_usd * (
            1.0 + (p.ads.dsp_uplift if p.ads.dsp_deal is not None and date >= p.ads.dsp_deal else 0.0)
        )

    def _fulfillment_network(self, date: dt.date, offer: Offer) -> None:
        p = self.params
        offer.express_rollout = p.express.roll_out.level(date)
        offer.express_radius = p.express.radius_miles
        dark = p.dark_stores
        if dark.count > self._dark_stores_built:
            self.spend_capital((dark.count - self._dark_stores_built) * dark.capex_per_store_usd)
            self._dark_stores_built = dark.count
        self.dark_store_share = min(1.0, dark.count * dark.households_per_dark_store / self._metro_households)
        offer.dark_store_reach = np.where(self.model.geography.zone_locale != RURAL, self.dark_store_share, 0.0)
        online = p.online
        offer.walmart_days = (online.express_days, online.standard_days)
        offer.walmart_delivery_fee = online.nonmember_delivery_fee_usd
        offer.walmart_express_fee = online.express_fee_usd
        offer.walmart_member_express_fee = online.member_express_fee_usd

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

    def membership_revenue(self, sales: Sales) -> float:
        return sales.members["walmart_plus"] * self.params.walmart_plus.fee_annual / WEEKS_PER_YEAR
