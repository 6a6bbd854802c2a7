"""Kroger, Target, Costco and local stores as one aggregate competitor."""

from __future__ import annotations

import datetime as dt

import numpy as np

from ..vocabulary import RIVALS, Offer, Sales
from .base import Firm


class Rivals(Firm):
    """The rest of the market, with its own prices, service and a possible turnaround.

    The turnaround (a new chief executive, as at Kroger in February 2026) phases in better
    service and lower prices over its ramp.
    """

    name = "rivals"
    channels = (RIVALS,)
    store_distance = "rival_miles"

    def prepare(self, date: dt.date, offer: Offer) -> None:
        p = self.params
        turnaround = p.turnaround.programme.level(date)
        offer.price[RIVALS] = self.prices() * (1.0 - p.turnaround.price_cut_at_full * turnaround)
        service = p.service_quality + p.turnaround.service_gain_at_full * turnaround
        offer.constant[RIVALS] = np.asarray(p.assortment.as_tuple()) + service
        self.ad_yield = 0.0

    def service_costs(self, reach, costs, member: np.ndarray | None) -> dict[int, np.ndarray]:
        """The trip to a rival store, the category's share of it."""
        return {RIVALS: np.outer(costs.behaviour.trip_share.as_tuple(), costs.trips[self.store_distance])}

    def online_revenue(self, sales: Sales) -> float:
        return float(sales.spend[RIVALS].sum()) * self.params.online_share_of_orders

    def fulfillment_cost(self, sales: Sales) -> float:
        economics = self.model.params.economics
        online_orders = float(sales.orders[RIVALS].sum()) * self.params.online_share_of_orders
        return float(sales.visits[RIVALS]) * economics.store_cost_per_trip_usd + (
            online_orders * economics.rival_online_cost_per_order_usd
        )
