"""What every firm has, and the protocol by which it offers its channels to households.

Every week a firm ``prepare``s its programmes and writes its prices and channel constants into the
shared :class:`~sim.vocabulary.Offer`. The model's kernel then asks each firm, over the columns
of a range of households, for:

- ``reach``: which of its services reach each household (its own flags, and a state code of
  those that set its costs);
- ``service_costs``: the dollars, beyond the basket, of using each of its channels (fees,
  waiting, trips), for members or non-members of its membership, less the dollars a service of its
  own is worth where it exists (a clinic in its states, a kiosk, a store that is a service platform);
- ``agent_values``: the dollars of ease that shopping agents see in its channels (an easy checkout),
  and ``agent_routes``: the share of agents' online orders they send to it whatever the offers;
- its membership (``membership`` names the scenario block and the households' columns).

It books a weekly profit and loss from the week's sales and reports its own metrics (``reach_metrics``
and ``scalars``). The kernel names no firm: it only gathers these terms.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from ..framework import mesa
from ..vocabulary import (COST_LINES, LEDGER_LINES, N_CATEGORIES, ONLINE_CHANNELS, REVENUE_LINES, WEEKS_PER_YEAR, Offer,
                          Sales)

__all__ = ["LEDGER_LINES", "Firm", "Reach", "Sales"]


@dataclass
class Reach:
    """Which of a firm's services reach each household this week (booleans, one per household), and
    the flags that set its service costs packed into one state code per household (``states.py``).
    Flags read as attributes: ``reach.same_day``."""

    flags: dict[str, np.ndarray] = field(default_factory=dict)
    code: np.ndarray | None = None

    def part(self, households: slice) -> Reach:
        """The same flags and code for a contiguous range of households (views, not copies)."""
        return Reach({name: flag[households] for name, flag in self.flags.items()},
                     None if self.code is None else self.code[households])

    def __getattr__(self, name: str) -> np.ndarray:
        flags = self.__dict__.get("flags", {})
        if name in flags:
            return flags[name]
        raise AttributeError(name)


class Firm(mesa.Agent):
    """A platform or retailer: few of them, so plain readable Python rather than arrays."""

    name: str = ""
    channels: tuple[int, ...] = ()
    membership: str | None = None  # its membership's scenario block, and the households' columns of it
    store_distance: str | None = None  # the households' column of miles to its nearest store, if it has stores
    reach_metrics: dict[str, str] = {}  # metric -> the reach flag whose share of households it records

    def __init__(self, model: mesa.Model) -> None:
        super().__init__(model)
        self.price_multiplier = 1.0  # set by adaptive pricing, 1.0 otherwise
        self.strategic_multiplier = np.ones(N_CATEGORIES)  # set by strategic conduct's reviews, 1.0 otherwise
        self._price_direction = -1.0
        self._last_month_profit: float | None = None
        self.month_profit = 0.0
        self.capex_to_date = 0.0
        self.capex_this_week = 0.0
        self.operating_cost_this_week = 0.0
        self.ad_yield = 0.0  # advertising revenue per dollar its shoppers spend, this week
        self.ledger = dict.fromkeys(LEDGER_LINES, 0.0)
        self.gmv_by_category = np.zeros(N_CATEGORIES)

    @property
    def params(self):
        """This firm's block of the scenario as it stands this week (after events)."""
        return getattr(self.model.params, self.name)

    @property
    def independent_firms(self) -> float:
        """How many equal independent firms this block stands for when it sets its prices (one)."""
        return 1.0

    def prices(self) -> np.ndarray:
        """Price index per category: the scenario's prices times the adaptive and strategic multipliers."""
        return np.asarray(self.params.prices.as_tuple()) * self.price_multiplier * self.strategic_multiplier

    def prepare(self, date: dt.date, offer: Offer) -> None:
        """Advance this week's programmes and write what shoppers will see into ``offer``."""
        raise NotImplementedError

    # -- what it offers each household ----------------------------------------------------------
    def reach(self, households, offer: Offer) -> Reach:
        """Which of its services reach each household this week (after ``prepare``)."""
        return Reach()

    def service_costs(self, reach: Reach, costs, member: np.ndarray | None) -> dict[int, np.ndarray]:
        """Dollars beyond the basket of using each of its channels: channel -> (categories, households).

        ``costs`` holds the households' fixed dollar terms (``waiting`` a day, ``trips`` by distance
        column, ``behaviour``); ``member`` says who holds its membership (None if it has none)."""
        return {}

    def agent_values(self, reach: Reach, access) -> dict[int, np.ndarray]:
        """Dollars of ease a shopping agent sees in its channels: channel -> (households,), zero for
        households that shop themselves. A lean of the agent's choices, not value to the household."""
        return {}

    def agent_routes(self, reach: Reach, access) -> dict[int, np.ndarray]:
        """Share of a shopping agent's online orders it sends to the firm's channels whatever the
        offers (a partner's routing): channel -> (households,), zero for households that shop themselves."""
        return {}

    # -- its membership --------------------------------------------------------------------------
    @property
    def membership_terms(self):
        """Its membership's scenario block (fee, perks, launch), or None."""
        return getattr(self.params, self.membership) if self.membership else None

    def membership_fee(self) -> float:
        """Its membership's yearly fee in the model's constant dollars: the posted (nominal) fee over
        this week's price level (``economics.price_level``)."""
        return self.membership_terms.fee_annual / self.model.price_level

    def membership_available(self, date: dt.date) -> bool:
        """Whether its membership can be held at ``date`` (launched, or launched before the start)."""
        launch = self.membership_terms.launch
        return launch is None or launch <= date

    # -- its accounts and metrics ----------------------------------------------------------------
    def scalars(self) -> dict[str, float]:
        """Its one-number-a-week metrics (metric -> value), as the registry in ``vocabulary`` names them."""
        return {}

    def fulfillment_cost(self, sales: Sales) -> float:
        """Picking and delivering its online orders (dollars this week)."""
        raise NotImplementedError

    def online_fraction(self) -> dict[int, np.ndarray]:
        """Share of each of its channels' spend ordered online, by category (1 for an online channel, 0 for a
        store); a firm may give one number for all categories."""
        return {channel: np.full(N_CATEGORIES, float(channel in ONLINE_CHANNELS)) for channel in self.channels}

    def online_revenue(self, sales: Sales) -> float:
        """Its shoppers' spend ordered online this week (dollars)."""
        return sum(float(sales.spend[channel] @ np.broadcast_to(share, N_CATEGORIES))
                   for channel, share in self.online_fraction().items())

    def fraud_exposure(self) -> float:
        """Share of online revenue whose fraudulent returns this firm bears itself."""
        return 1.0

    def own_share(self) -> float:
        """Share of its shoppers' spend on goods it sells itself (the rest is sellers', at a marketplace)."""
        return 1.0

    def seller_fees(self, gmv: float) -> float:
        """Commissions and fulfilment fees from the sellers of its marketplace (dollars this week)."""
        return 0.0

    def labour_saving(self) -> float:
        """Share of store labour its programmes save this week."""
        return 0.0

    def advertising_yield(self, date: dt.date) -> float:
        """Advertising revenue per dollar its shoppers spend this week: the ``ads`` block's share, as far
        as its growth has come, lifted by the ad-exchange deal once it is signed."""
        ads = self.params.ads
        growth = ads.growth.level(date) if ads.growth is not None else 1.0
        deal = ads.dsp_uplift if ads.dsp_deal is not None and date >= ads.dsp_deal else 0.0
        return ads.revenue_share_of_sales * growth * (1.0 + deal)

    def membership_revenue(self, sales: Sales) -> float:
        if self.membership is None:
            return 0.0
        return sales.members[self.membership] * self.membership_fee() / WEEKS_PER_YEAR

    def book(self, sales: Sales) -> None:
        """Book the week's profit and loss from the week's sales."""
        self.gmv_by_category = sales.spend[list(self.channels)].sum(axis=0)
        self.ledger = self.accounts(sales)
        self.month_profit += self.ledger["operating_profit"]

    def accounts(self, sales: Sales, candidate: bool = False) -> dict[str, float]:
        """The profit and loss of a week's ``sales`` (changes nothing): each line a unit cost of the
        firm's ``accounts`` block (or a programme's) times a quantity of the week. Every line is linear
        in the sales, or does not depend on them (``sim/model/conduct.py`` relies on it).

        ``candidate``: sales a pricing decision weighs rather than books. Excess capacity (idle
        warehouses, over-staffing) is reported as a share of revenue, but it is not a cost of a sale:
        a candidate's is the share of the last booked week's revenue, the same at every candidate."""
        economics, returns, accounts = self.model.params.economics, self.model.params.returns, self.params.accounts
        channels = list(self.channels)
        gmv = float(sales.spend[channels].sum())
        own = self.own_share()
        goods_at_cost = float((sales.base_spend[channels] * np.asarray(economics.cost_of_goods_share.as_tuple())).sum())
        members = sales.members[self.membership] if self.membership else 0.0
        ledger = {
            "gmv": gmv, "sales": own * gmv, "seller_fees": self.seller_fees(gmv),
            "membership_revenue": self.membership_revenue(sales), "ad_revenue": gmv * self.ad_yield,
            "cost_of_goods": own * accounts.goods_cost_index * goods_at_cost,
            "fulfillment_cost": self.fulfillment_cost(sales),
            "store_labour": accounts.store_labour_share_of_sales * gmv * (1.0 - self.labour_saving()),
            "store_costs": accounts.stores * accounts.store_cost_per_store_year_usd / WEEKS_PER_YEAR,
            "overhead": accounts.overhead_per_year_usd / WEEKS_PER_YEAR + accounts.overhead_share_of_sales * gmv,
            "content_cost": members * accounts.content_cost_per_member_year_usd / WEEKS_PER_YEAR,
            "fraud_loss": self.online_revenue(sales) * returns.fraud_cost_share * self.fraud_exposure(),
            "operating_cost": self.operating_cost_this_week,
            "depreciation": self.capex_to_date / (economics.depreciation_years * WEEKS_PER_YEAR),
            "capex": self.capex_this_week,
        }
        ledger["revenue"] = sum(ledger[line] for line in REVENUE_LINES)
        excess_on = self.ledger["revenue"] if candidate else ledger["revenue"]
        ledger["fulfillment_cost"] += accounts.excess_fulfillment_cost_share * excess_on
        ledger["operating_profit"] = ledger["revenue"] - sum(ledger[line] for line in COST_LINES)
        return {line: ledger[line] for line in LEDGER_LINES}

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
