"""Kroger, Target, Costco and local stores as one aggregate competitor."""

from __future__ import annotations

import datetime as dt

import numpy as np

from ..vocabulary import RIVALS, Offer, Sales
from .base import Firm, Reach


class Rivals(Firm):
    """The rest of the market, with its own prices, service and a possible turnaround.

    Kroger's turnaround (a new chief executive in February 2026) phases in better service and
    lower prices over its ramp, at Kroger's stores only: the service for the households whose rival
    store is a Kroger banner (``kroger_share`` of them), the price cut in proportion to Kroger's part
    of the aggregate's sales (the aggregate has one price per category).
    """

    name = "rivals"
    channels = (RIVALS,)
    store_distance = "rival_miles"

    def __init__(self, model) -> None:
        super().__init__(model)
        self.turnaround = 0.0  # how far Kroger's turnaround has come this week

    def prepare(self, date: dt.date, offer: Offer) -> None:
        p = self.params
        turnaround = p.turnaround.programme.level(date)
        self.turnaround = turnaround
        offer.price[RIVALS] = self.prices() * (1.0 - p.turnaround.price_cut_at_full * turnaround * p.kroger_share)
        offer.constant[RIVALS] = np.asarray(p.assortment.as_tuple()) + p.service_quality
        self.ad_yield = 0.0

    def reach(self, households, offer: Offer) -> Reach:
        """The households whose rival store is a Kroger banner."""
        return Reach({"kroger": households.rival_rank < self.params.kroger_share})

    def service_costs(self, reach, costs, member: np.ndarray | None) -> dict[int, np.ndarray]:
        """The trip to a rival store, the category's share of it, less the turnaround's better service
        at a Kroger store."""
        trip = np.outer(costs.behaviour.trip_share.as_tuple(), costs.trips[self.store_distance])
        gain = self.params.turnaround.service_gain_usd_per_order_at_full * self.turnaround
        return {RIVALS: trip - reach.kroger * gain if gain else trip}

    def online_revenue(self, sales: Sales) -> float:
        return float(sales.spend[RIVALS].sum()) * self.params.online_share_of_orders

    def fulfillment_cost(self, sales: Sales) -> float:
        economics = self.model.params.economics
        online_orders = float(sales.orders[RIVALS].sum()) * self.params.online_share_of_orders
        return float(sales.visits[RIVALS]) * economics.store_cost_per_trip_usd + (
            online_orders * economics.rival_online_cost_per_order_usd
        )
