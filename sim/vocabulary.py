"""The shared vocabulary: the names every floor of the package speaks, and nothing that computes.

Channels, categories, locales, firms and membership segments, by name and by the index each has
in the model's arrays; calendar facts; the offer protocol (what firms tell households each week);
the week's sales; the profit-and-loss lines; and the registry of metric names. Firms and the model
core both import this module; it imports only the scenario's building blocks. Wherever an array
is indexed by one of these, use the names here rather than numbers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from .scenario.types import CATEGORIES, LOCALES

# -- calendar facts ---------------------------------------------------------------------------
WEEKS_PER_YEAR = 52  # the model steps weekly; yearly dollars are 52 weeks
WEEK = dt.timedelta(days=7)  # one step


def starts_month(dates: list[dt.date], step: int) -> bool:
    """Whether the weekly step ``step`` of ``dates`` (a run's calendar) is the first of a calendar month:
    the first step of all counts as one. Monthly decisions and records fall on these steps."""
    return step == 0 or dates[step - 1].month != dates[step].month
HOURS_WORKED_PER_YEAR = 2080  # 52 weeks of 40 hours: an hourly wage from a yearly income
MONTHS_PER_YEAR = 12

# -- what households choose among -------------------------------------------------------------
CHANNELS = ("amazon", "walmart_store", "walmart_online", "kroger", "rivals")
AMAZON, WALMART_STORE, WALMART_ONLINE, KROGER, RIVALS = range(len(CHANNELS))
N_CHANNELS = len(CHANNELS)
ONLINE_CHANNELS = (AMAZON, WALMART_ONLINE)  # households without broadband pay the offline penalty on these
GROCERY, DISCRETIONARY, HEALTH = range(len(CATEGORIES))
N_CATEGORIES = len(CATEGORIES)
URBAN, SUBURBAN, RURAL = range(len(LOCALES))
N_LOCALES = len(LOCALES)

# -- who sells ----------------------------------------------------------------------------------
# "rivals" are the other grocers and general merchandisers (Costco, Target, Albertsons, local stores).
FIRMS = ("amazon", "walmart", "kroger", "rivals")
FIRM_OF_CHANNEL = np.array([FIRMS.index("amazon"), FIRMS.index("walmart"), FIRMS.index("walmart"),
                            FIRMS.index("kroger"), FIRMS.index("rivals")])
# Households' memberships, each a firm's (its scenario block and the households' columns): membership
# k is bit k of a household's segment index, Prime + 2 x Walmart+.
MEMBERSHIPS = ("prime", "walmart_plus")
SEGMENTS = ("none", "prime_only", "walmart_plus_only", "both")

# The profit-and-loss lines every firm books each week, in US dollars (national scale). ``gmv`` is
# what shoppers spend at the firm's channels (at Amazon, sellers' goods too); ``revenue`` is what the
# firm books, the sum of ``REVENUE_LINES`` (its own sales first); operating profit is revenue less the
# sum of ``COST_LINES`` (docs/MODEL.md, "Profit and loss"; docs/accounts.md for every unit cost).
REVENUE_LINES = ("sales", "seller_fees", "membership_revenue", "ad_revenue")
COST_LINES = ("cost_of_goods", "fulfillment_cost", "store_labour", "store_costs", "overhead", "content_cost",
              "fraud_loss", "operating_cost", "depreciation")
LEDGER_LINES = ("revenue", "gmv", *REVENUE_LINES, *COST_LINES, "capex", "operating_profit")


@dataclass(frozen=True)
class Sales:
    """A week's purchases: dollars and orders at national size (``RetailMarket.to_sales``), visits,
    active shoppers and members in US households."""

    spend: np.ndarray  # (channels, categories) dollars
    orders: np.ndarray  # (channels, categories) household-category purchases, at national size
    visits: np.ndarray  # (channels,) households that used the channel at all
    active: dict[str, float]  # households that bought anything from each firm
    members: dict[str, float]  # households holding each membership
    base_spend: np.ndarray  # (channels, categories) the same baskets at reference prices


@dataclass
class Offer:
    """What the market offers this week, as every household sees it: the shared protocol.

    Each firm writes its channels' rows of ``price`` and ``constant`` in ``prepare``; a firm whose
    programme changes the world every channel lives in writes that too (broadband, shopping
    agents). Everything else a firm offers (which households it reaches, its fees, waits and
    trips, its membership) it keeps and computes itself (``sim/firms/base.py``)."""

    n_zones: int
    price: np.ndarray = field(default=None)  # (channels, categories) price index
    constant: np.ndarray = field(default=None)  # (channels, categories) utility of assortment and service
    broadband: np.ndarray = field(default=None)  # (zones,) share online: the others pay the offline penalty
    agentic_share: float = 0.0  # of online households, delegating their shopping to AI agents
    agent_price_focus: float = 1.0  # how much harder agents weigh money
    online_gain: float = 0.0  # what ordering online gains against a store, a share of the basket
    walmart_regulars: float = 0.0  # share of households that are Walmart online regulars this week
    walmart_regular_usd: float = 0.0  # their liking for Walmart online, dollars an order

    def __post_init__(self) -> None:
        if self.broadband is None:
            self.broadband = np.ones(self.n_zones)
        if self.price is None:
            self.price = np.ones((N_CHANNELS, N_CATEGORIES))
        if self.constant is None:
            self.constant = np.zeros((N_CHANNELS, N_CATEGORIES))


# -- the metric registry ------------------------------------------------------------------------
ALL = "all"
# Share of households each service reaches, in the order the results list them: the firms declare
# which of their reach flags each counts (``Firm.reach_metrics``); the last two are the market's.
REACH = (
    "amazon_same_day_reach", "amazon_next_day_reach", "walmart_express_coverage", "amazon_pharmacy_same_day_reach",
    "walmart_pharmacy_same_day_reach", "broadband_access", "ai_agent_share",
)
# One number a week per firm: metric -> the firm that records it (its ``scalars()``).
FIRM_SCALARS = {
    "amazon_rural_stations": "amazon", "amazon_rural_towns_served": "amazon", "marketplace_fba_share": "amazon",
    "marketplace_price_markup": "amazon", "amazon_ai_level": "amazon", "walmart_ai_level": "walmart",
    "walmart_dark_store_reach": "walmart", "walmart_dark_store_orders": "walmart",
    "amazon_rural_stations_beyond_cap": "amazon",
    "prime_fee_usd": "amazon", "walmart_plus_fee_usd": "walmart", "amazon_rural_budget_usd": "amazon",
}
METRICS = (
    "spend_share", "channel_share", "online_share", "online_spend", "membership_share", "prime_share",
    "walmart_plus_share", *REACH, "price_index", *LEDGER_LINES, "consumer_surplus", "member_spend_ratio",
    "member_online_share",
    *FIRM_SCALARS, "established_churn", "price_level",
)
# Each metric's unit, as the exported tables give it beside the values (docs/results.md says more).
SHARE = "share (0-1)"
WEEKLY_DOLLARS = "US$ a week, national, constant 2024 dollars"
METRIC_UNITS = {
    **dict.fromkeys(("spend_share", "channel_share", "online_share", "membership_share", "prime_share",
                     "walmart_plus_share", *REACH, "member_online_share", "marketplace_fba_share",
                     "walmart_dark_store_reach", "walmart_dark_store_orders"), SHARE),
    **dict.fromkeys(LEDGER_LINES, WEEKLY_DOLLARS),
    "online_spend": WEEKLY_DOLLARS,
    "price_index": "index (1.0 = reference basket price)",
    "consumer_surplus": "US$ per household a week, constant 2024 dollars",
    "member_spend_ratio": "ratio (member over non-member)",
    "marketplace_price_markup": "share of price (0-1)",
    "amazon_ai_level": "level (0-1)", "walmart_ai_level": "level (0-1)",
    "amazon_rural_stations": "stations", "amazon_rural_stations_beyond_cap": "stations",
    "amazon_rural_towns_served": "towns", "amazon_rural_budget_usd": "US$ a year, nominal",
    "prime_fee_usd": "US$ a year, nominal", "walmart_plus_fee_usd": "US$ a year, nominal",
    "established_churn": "share of established members a year (0-1)",
    "price_level": "index (1.0 = 2024)",
}
# Metrics in the model's constant dollars, which an outcome can read in nominal dollars (``nominal: true``).
MONEY_METRICS = (*LEDGER_LINES, "consumer_surplus", "online_spend")
DIMENSION_VALUES = {
    "firm": {*FIRMS, ALL},
    "category": {*CATEGORIES, ALL},
    "segment": {*SEGMENTS, *CHANNELS, "prime", "walmart_plus", ALL},
}
