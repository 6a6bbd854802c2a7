"""The grocers beside Walmart and Amazon: Kroger, and the others (Costco, Target, Albertsons, local
stores) as one aggregate. Both are store chains that take part of their orders online; Kroger also has a
turnaround programme and stores near only part of the country."""

from __future__ import annotations

import datetime as dt

import numpy as np

from ..scenario.types import CategoryShares
from ..vocabulary import KROGER, N_CATEGORIES, RIVALS, Offer, Sales
from .base import Firm, Reach

# Dollars that make a channel no option for a household (no store of the chain nearby): its logit
# weight is exp(-price_utility * this), below e^-1000 for any household whose utility of a dollar is
# above 0.001 (the default median is 0.016), without the NaNs an infinity would bring.
OUT_OF_REACH_USD = 1e6


class Grocer(Firm):
    """A store chain: prices and assortment from its scenario block, the trip to its nearest store,
    and a small online share of its orders."""

    def prepare(self, date: dt.date, offer: Offer) -> None:
        p = self.params
        (channel,) = self.channels
        offer.price[channel] = self.prices() * (1.0 - self.price_cut(date))
        offer.constant[channel] = np.asarray(p.assortment.as_tuple()) + p.service_quality
        self.ad_yield = 0.0

    @property
    def independent_firms(self) -> float:
        """How many equal independent firms its block stands for when it sets prices (docs/MODEL.md 7.7b)."""
        return self.params.independent_firms

    def price_cut(self, date: dt.date) -> float:
        """Share off its prices this week (a programme of its own)."""
        return 0.0

    def service_costs(self, reach, costs, member: np.ndarray | None) -> dict[int, np.ndarray]:
        """The trip to its store, the category's share of it."""
        (channel,) = self.channels
        return {channel: np.outer(costs.behaviour.trip_share.as_tuple(), costs.trips[self.store_distance])}

    def online_fraction(self) -> dict[int, np.ndarray]:
        """The share of its orders placed online (pickup, delivery, its sites), by category."""
        share = self.params.online_share_of_orders  # Kroger's is one number, the other sellers' by category
        by_category = share.as_tuple() if isinstance(share, CategoryShares) else (share,) * N_CATEGORIES
        return dict.fromkeys(self.channels, np.asarray(by_category, dtype=float))

    def fulfillment_cost(self, sales: Sales) -> float:
        """Picking and delivering its online orders (store labour and costs are in its accounts block)."""
        online_orders = sum(float(sales.orders[channel] @ share) for channel, share in self.online_fraction().items())
        return online_orders * self.params.accounts.online_cost_per_order_usd


class Rivals(Grocer):
    """The other grocers and general merchandisers, as one aggregate with its own prices and service."""

    name = "rivals"
    channels = (RIVALS,)
    store_distance = "rival_miles"


class Kroger(Grocer):
    """Kroger and its banners: an option for the households near one of its stores.

    Its turnaround (a new chief executive in February 2026) phases in better service (dollars a
    purchase) and lower prices over its ramp.
    """

    name = "kroger"
    channels = (KROGER,)
    store_distance = "kroger_miles"

    def __init__(self, model) -> None:
        super().__init__(model)
        self.turnaround = 0.0  # how far the turnaround has come this week

    def prepare(self, date: dt.date, offer: Offer) -> None:
        self.turnaround = self.params.turnaround.programme.level(date)
        super().prepare(date, offer)

    def price_cut(self, date: dt.date) -> float:
        return self.params.turnaround.price_cut_at_full * self.turnaround

    def reach(self, households, offer: Offer) -> Reach:
        """The households with one of its stores among their options."""
        return Reach({"kroger_store": households.rival_rank < self.params.households_reached})

    def service_costs(self, reach, costs, member: np.ndarray | None) -> dict[int, np.ndarray]:
        """The trip to its store less the turnaround's better service; no option where no store is near."""
        trip = super().service_costs(reach, costs, member)[KROGER]
        trip -= self.params.turnaround.service_gain_usd_per_order_at_full * self.turnaround
        return {KROGER: np.where(reach.kroger_store, trip, OUT_OF_REACH_USD)}
