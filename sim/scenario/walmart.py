"""Scenario blocks for Walmart: its online service, express delivery, dark stores, AI, health,
store services, AI shopping agents and accounts (the blocks the other firms share are in
``firms.py``). Sources are in ``docs/MODEL.md`` and ``../shared/FACTS.md``.
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from .firms import Accounts, AdaptivePricing, Advertising, Membership
from .types import (Capital, CategoryPrices, CategoryValues, Days, Households, Miles, Ramp, Share, StateCodes,
                    Strict, UsdPerOrder, UsdPerYear, Utility)


class WalmartOnline(Strict):
    """Walmart online as customers see it: pickup at a store, standard delivery, or express (<3 hours)."""

    channel_utility: Utility = Field(-0.8, description="Utility of Walmart's online channel against its stores")
    nonmember_delivery_fee_usd: UsdPerOrder = 7.95
    member_free_delivery_minimum_usd: UsdPerOrder = Field(
        35.0, description="Walmart+ members pay no standard delivery fee on orders of at least this much")
    express_fee_usd: UsdPerOrder = Field(10.0, description="Express (<3 h) fee without Walmart+")
    member_express_fee_usd: UsdPerOrder = Field(6.0, description="Express fee with Walmart+")
    standard_days: Days = 1.0
    express_days: Days = 0.1
    fulfillment_cost_per_order_usd: UsdPerOrder = Field(
        6.0, description="Delivering an online order beyond the store labour that picks it (no public figure; an "
                         "assumption, docs/accounts.md)")


class Express(Strict):
    """Express (<3 hour) delivery from stores: coverage emerges from store distance and roll-out."""

    radius_miles: Miles = Field(15.0, description="Distance from an express store that can be served in 3 hours")
    roll_out: Ramp = Ramp(start=dt.date(2020, 6, 1), years=5.0, initial=0.6, target=1.0)


class DarkStores(Strict):
    """Stores that fulfil online orders only (docs/MODEL.md 7.4): each reaches urban and suburban households
    with express delivery and fulfils up to ``orders_per_week`` of Walmart's online orders more cheaply."""

    count: int = Field(0, ge=0, le=1000, description="Dark stores operating (Walmart has 4,605 US stores)")
    households_per_dark_store: Households = 400_000
    fulfillment_cost_discount: Share = Field(0.3, description="Saving on each online order a dark store fulfils, "
                                             "a share of its delivery cost (the top of Walmart's 20-30%)")
    orders_per_week: float = Field(7_000.0, ge=0.0, le=1e7, description="Online orders a dark store can fulfil a "
                                   "week: 1,000 a day (Takeoff's micro-fulfilment centre for Jewel-Osco; Walmart's "
                                   "Alphabot centre in Mustang, Oklahoma)")
    capex_per_store_usd: Capital = Field(7.6e6, description="Building one: Jewel-Osco's 1,000-order-a-day centre "
                                         "cost $7.6M (Grocery Dive, Dec 2021)")


class WalmartAI(Strict):
    """AI tools for associates: augmentation rather than automation."""

    associates: int = Field(1_500_000, ge=0, le=10_000_000)
    tools: Ramp = Ramp(start=dt.date(2023, 6, 1), years=3.0, target=1.0)
    service_value_usd_per_order: UsdPerOrder = Field(
        0.3, description="Dollars a purchase at Walmart (store or online) is worth more at full roll-out: "
                         "associates who answer and find things faster (bounded in docs/levers.md)")
    labour_productivity_gain: Share = 0.05
    cost_per_associate_per_year_usd: UsdPerYear = 100.0


class WalmartHealth(Strict):
    """Pharmacy same-day delivery, and Walmart Health clinics where they are (51 in five states)."""

    clinics_open: bool = True
    clinics: int = Field(51, ge=0, le=10_000, description="Walmart Health clinics (51 when they closed in 2024)")
    clinic_states: StateCodes = Field(["AR", "FL", "GA", "IL", "TX"], description="States that have the clinics")
    households_per_clinic: Households = Field(
        60_000, description="Households within reach of a clinic (an assumption: a store's trade area)")
    clinic_value_usd_per_order: UsdPerOrder = Field(
        2.5, description="Dollars a health purchase at a Walmart store is worth more to a household a clinic "
                         "reaches (a visit and the prescription at one stop)")
    pharmacy_same_day: Ramp = Field(
        Ramp(start=dt.date(2021, 1, 1), years=3.0, target=0.95),
        description="Share of express-covered households that same-day pharmacy reaches: 0.95 puts it at "
                    "PYMNTS' >86% of households in January 2025")


class StoreServices(Strict):
    """Stores as service platforms: auto care, clinics, pickup lockers."""

    level: Share = Field(0.2, description="Share of stores run as service platforms")
    value_per_trip_usd: UsdPerOrder = Field(
        2.5, description="Dollars a week's store trip is worth more where the store is a service platform (an "
                         "errand done on the same trip): $0.20-1.00 on a ~$47 trip, 0.4-2% of it, is $1-5 on the "
                         "model's weekly trip, which carries the week's ~$260 basket (docs/levers.md)")


class Agentic(Strict):
    """AI shopping agents (Walmart's partnership with Google Gemini)."""

    adoption: Ramp = Ramp(start=dt.date(2026, 1, 1), years=5.0, target=0.10)
    partner_value_usd_per_order: UsdPerOrder = Field(
        1.5, description="Dollars of ease an agent sees in checking out with its partner, per purchase: an "
                         "assumption; with the agents' price focus, agent households' odds of Walmart over Amazon "
                         "online are 1.08-1.27 times other households', within the 1.0-1.4 of ChatGPT's hand-offs "
                         "to retail apps (docs/levers.md)")
    partner_order_share: float = Field(
        0.0, ge=0.0, lt=1.0, description="Share of an agent's online orders it sends to Walmart, its partner, "
                                         "whatever the offers (a what-if: none by default; a routed order earns "
                                         "its value but no taste draw; docs/levers.md)")
    price_focus: float = Field(2.0, gt=0, le=20, description="How much more agents weigh price and speed")


class Walmart(Strict):
    prices: CategoryPrices = CategoryPrices(grocery=1.0, discretionary=1.0, health=1.0)
    assortment: CategoryValues = Field(
        CategoryValues(grocery=0.4, discretionary=-0.2, health=0.0),
        description="Utility of its assortment against the other grocers': grocery fitted to Walmart U.S.'s "
                    "share of US grocery dollars, general merchandise to its revenue (calibration/targets.yaml; 0.4 "
                    "and -0.2 are the unfitted priors); health is an assumption (docs/MODEL.md 7.9)")
    service_quality: Utility = 0.0
    pricing: AdaptivePricing = AdaptivePricing()
    # Loyalty fitted as Prime's (two thirds of the lift; benchmarks/demand.py --only lift).
    walmart_plus: Membership = Membership(fee_annual=98.0, perks_value_usd=90.0, launch=dt.date(2020, 9, 15),
                                          loyalty_usd_per_order=2.6)
    fuel_saving_per_trip_usd: UsdPerOrder = 0.8
    online: WalmartOnline = WalmartOnline()
    express: Express = Express()
    dark_stores: DarkStores = DarkStores()
    ai: WalmartAI = WalmartAI()
    health: WalmartHealth = WalmartHealth()
    store_services: StoreServices = StoreServices()
    agentic: Agentic = Agentic()
    ads: Advertising = Field(Advertising(revenue_share_of_sales=0.0065), description="Walmart Connect: "
                             "$4.4B of global advertising on $674.5B of net sales, FY2025 (docs/accounts.md)")
    accounts: Accounts = Field(Accounts(
        store_labour_share_of_sales=0.116, stores=4605, store_cost_per_store_year_usd=9.07e6),
        description="Store labour 11.6% of sales (1.5 million associates at $17.50 an hour with benefits); "
                    "4,605 stores; a store's other costs fitted to Walmart U.S.'s operating margins FY2022-FY2026 "
                    "(calibration/accounts.yaml; the filing's OSG&A less labour gives $11.1M; docs/accounts.md)")
