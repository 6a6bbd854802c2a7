"""What every firm has: a price level, a weekly profit and loss, and an optional pricing rule."""

from __future__ import annotations

import datetime as dt
import mesa
import numpy as np

from ..vocabulary import LEDGER_LINES, N_CATEGORIES, WEEKS_PER_YEAR, Offer, Sales

__all__ = ["LEDGER_LINES", "Firm", "Sales"]


class Firm(mesa.Agent):
    """A platform or retailer: few of them, so plain readable Python rather than arrays."""

    name: str = ""
    channels: tuple[int, ...] = ()

    def __init__(self, model: mesa.Model) -> None:
        super().__init__(model)
        self.price_multiplier = 1.0  # set by adaptive pricing, 1.0 otherwise
        self._price_direction = -1.0
        self._last_month_profit: float | None = None
        self.month_profit = 0.0
        self.capex_to_date = 0.0
        self.capex_this_week = 0.0
        self.operating_cost_this_week = 0.0
        self.ad_yield = 0.0
        self.ledger = dict.fromkeys(LEDGER_LINES, 0.0)
        self.revenue_by_category = np.zeros(N_CATEGORIES)

    @property
    def params(self):
        """This firm's block of the scenario as it stands this week (after events)."""
        return getattr(self.model.params, self.name)

    def prices(self) -> np.ndarray:
        """Price index per category: the scenario's prices times the adaptive multiplier."""
        return np.asarray(self.params.prices.as_tuple()) * self.price_multiplier

    def prepare(self, date: dt.date, offer: Offer) -> None:
        """Advance this week's programmes and write what shoppers will see into ``offer``."""
        raise NotImplementedError

    def fulfillment_cost(self, sales: Sales) -> float:
        raise NotImplementedError

    def online_revenue(self, sales: Sales) -> float:
        raise NotImplementedError

    def fraud_exposure(self) -> float:
        """Share of online revenue whose fraudulent returns this firm bears itself."""
        return 1.0

    def membership_revenue(self, sales: Sales) -> float:
        return 0.0

    def book(self, sales: Sales) -> None:
        """Book the week's profit and loss from the week's sales."""
        economics, returns = self.model.params.economics, self.model.params.returns
        channels = list(self.channels)
        self.revenue_by_category = sales.spend[channels].sum(axis=0)
        revenue = float(self.revenue_by_category.sum())
        goods = float((sales.base_spend[channels] * np.asarray(economics.cost_of_goods_share.as_tuple())).sum())
        fraud = self.online_revenue(sales) * returns.fraud_cost_share * self.fraud_exposure()
        depreciation = self.capex_to_date / (economics.depreciation_years * WEEKS_PER_YEAR)
        fees = self.membership_revenue(sales)
        ads = sales.active[self.name] * self.ad_yield
        fulfillment = self.fulfillment_cost(sales)
        profit = revenue - goods - fulfillment + fees + ads - fraud - self.operating_cost_this_week - depreciation
        self.ledger = {
            "revenue": revenue, "cost_of_goods": goods, "fulfillment_cost": fulfillment,
            "membership_revenue": fees, "ad_revenue": ads, "fraud_loss": fraud,
            "operating_cost": self.operating_cost_this_week, "capex": self.capex_this_week,
            "depreciation": depreciation, "operating_profit": profit,
        }
        self.month_profit += profit

    def spend_capital(self, dollars: float) -> None:
        self.capex_this_week += dollars
        self.capex_to_date += dollars

    def adapt_prices(self) -> None:
        """Monthly hill-climbing on profit: keep moving prices the same way while profit rises.

        The satisficing rule of Heppenstall, Evans & Birkin (2006); switched on per firm with
        ``pricing.enabled``. The multiplier stays within ``pricing.floor`` and ``pricing.ceiling``.
        """
        rule = self.params.pricing
        if rule.enabled:
            if self._last_month_profit is not None and self.month_profit < self._last_month_profit:
                self._price_direction = -self._price_direction
            self.price_multiplier = float(
                np.clip(self.price_multiplier * (1.0 + self._price_direction * rule.step), rule.floor, rule.ceiling)
            )
        self._last_month_profit, self.month_profit = self.month_profit, 0.0

    def start_week(self) -> None:
        self.capex_this_week = 0.0
        self.operating_cost_this_week = 0.0
