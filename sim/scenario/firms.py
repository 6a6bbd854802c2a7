"""Scenario blocks for the firms: every mechanism of the articles is a lever with a default (Walmart's
blocks are in ``walmart.py``).

Defaults describe the world of January 2021 and the programmes announced since; sources are in
``docs/MODEL.md`` and ``../shared/FACTS.md``. Programme levels change over time through ``Ramp``
blocks and the scenario's ``events``.
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field, model_validator

from .types import (Capital, CategoryPrices, CategoryShares, CategoryValues, Date, Days, Households, LocaleShares,
                    Ramp, Share, SharesByCategory, StateCodes, Strict, UsdPerOrder, UsdPerYear, Utility)


class AdaptivePricing(Strict):
    """Monthly hill-climbing on operating profit (Heppenstall et al. 2006); off by default."""

    enabled: bool = False
    step: Share = Field(0.005, description="Price-index change per month when adapting")
    floor: float = Field(0.90, gt=0, le=10, description="Lowest price index the firm will set")
    ceiling: float = Field(1.15, gt=0, le=10, description="Highest price index the firm will set")

    @model_validator(mode="after")
    def _ordered(self) -> AdaptivePricing:
        if self.floor > self.ceiling:
            raise ValueError(f"floor ({self.floor}) must not be above ceiling ({self.ceiling})")
        return self


class Membership(Strict):
    """A paid membership programme."""

    fee_annual: UsdPerYear = Field(description="Annual fee in US dollars")
    perks_value_usd: UsdPerYear = Field(description="Yearly value of non-shopping perks to a median-income household")
    launch: Date | None = Field(None, description="Launch date; none means it exists before the start")
    loyalty_usd_per_order: UsdPerOrder = Field(
        0.0, description="Dollars a member acts as if each purchase from the firm were worth beyond its price and "
                         "service: the non-economic (sunk-cost or loyalty) lift of Iyengar, Park & Yu (2022); "
                         "not part of the membership's value when deciding to hold it, nor of welfare")
    churn_floor_per_year: Share | None = Field(
        None, description="Yearly churn of members for whom it clearly pays; none uses memberships.churn_floor_per_year")


class AmazonDelivery(Strict):
    same_day_coverage: LocaleShares = LocaleShares(urban=0.60, suburban=0.40, rural=0.02)
    next_day_coverage: LocaleShares = LocaleShares(urban=0.95, suburban=0.85, rural=0.30)
    metro_same_day_growth_per_year: Share = Field(0.05, description="Urban and suburban same-day coverage added per year (new metros)")
    coverage_date: Date = Field(dt.date(2021, 1, 4), description="The date the coverage shares describe (January 2021, "
                                "as every default); metro same-day grows from it, whatever the horizon's start")
    max_metro_same_day: Share = 0.92
    same_day_days: Days = 0.3
    next_day_days: Days = 1.0
    standard_days: Days = 2.0
    nonmember_extra_days: Days = Field(1.5, description="Extra days of wait without Prime")
    nonmember_fee_usd: UsdPerOrder = Field(3.0, description="Average delivery fee per order without Prime (many orders pass the free-shipping threshold)")
    fulfillment_cost_per_order_usd: UsdPerOrder = Field(
        25.70, description="Fulfilment and shipping cost per order Amazon fulfils (its own and sellers' Fulfilled-by-"
                          "Amazon orders; an order is a household's week of buying in a category): fitted to Amazon "
                          "North America's operating margins 2021-2025 (calibration/accounts.yaml); the filings' "
                          "global ratios give about $31, an upper bound (docs/accounts.md)")


class RuralProject(Strict):
    """A one-off rural investment (for example the $500M Oregon warehouse)."""

    name: str = Field(max_length=100)
    opens: Date
    capex_usd: Capital
    states: StateCodes = Field(default_factory=list, description="USPS codes of the states it serves")
    rural_same_day_gain: Share = Field(0.2, description="Share of uncovered rural households in those states it reaches")


class RuralNetwork(Strict):
    """Amazon's rural same/next-day delivery-station programme."""

    start: Date = dt.date(2024, 6, 1)
    end: Date = dt.date(2026, 12, 31)
    investment_per_year_usd: Capital = Field(1.6e9, description="Capital spent on rural delivery stations per year")
    cost_per_station_usd: float = Field(30e6, ge=1e6, le=1e12, description="A station's capital, $1M to $1T (the "
                                        "fit's range is $12M-$120M; docs/calibration.md)")
    build_lag_weeks: int = Field(20, ge=0, le=260)
    station_area_sq_mi: float = Field(6_000.0, gt=0, le=1e6, description="Square miles of rural land a station "
                                      "serves (Amazon: 1.2M for its 200-station network; docs/MODEL.md 7.3)")
    rural_households_per_town: Households = Field(3_000, gt=0, description="Rural households newly reached "
                                                  "same-day that make a town served (stylised)")
    max_rural_coverage: Share = Field(1.0, description="Cap on a county's rural same-day share (1: none)")
    next_day_area_per_same_day: float = Field(2.0, ge=0, le=10, description="A station's next-day area over "
                                              "its same-day area (stylised)")
    projects: list[RuralProject] = Field(default_factory=list, max_length=1_000)

    @model_validator(mode="after")
    def _ordered(self) -> RuralNetwork:
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) must not be before start ({self.start})")
        return self


class AmazonAI(Strict):
    """Automation (fulfillment, personalization, dynamic pricing) and its talent risk."""

    programme: Ramp = Ramp(start=dt.date(2023, 1, 1), years=4.0, target=1.0)
    fulfillment_cost_reduction: Share = Field(
        0.05, description="Share of fulfilment and shipping cost automation saves at full roll-out: Morgan Stanley "
                          "(Nowak, Oct 2025) expects $2-4B a year by 2027 with a tenth of orders in robotic "
                          "warehouses, $4.9-6.1B at a quarter (the robotic sites cut fulfilment cost per order 20-40%, "
                          "Shreveport 25%): 1.6-3.2% of the model's $124B of US fulfilment and shipping in 2024 by "
                          "2027, 4.0-4.9% at a quarter; 5% in 2027 is above the 2027 estimate (docs/accounts.md)")
    personalization_value_usd_per_order: UsdPerOrder = Field(
        0.8, description="Dollars a discretionary purchase at Amazon is worth more at full roll-out (better "
                         "recommendations; docs/levers.md bounds it by published recommendation lifts)")
    dynamic_pricing_discount: Share = 0.01
    talent_departure_risk_per_year: Share = Field(0.15, description="Chance per year that key AI talent leaves")
    shortfall_on_departure: Share = Field(0.25, description="Share of the programme's effect lost when talent leaves")
    capex_per_year_usd: Capital = 2.0e9


class Marketplace(Strict):
    """Third-party sellers: how they respond to the cost of return fraud (see ``returns``)."""

    third_party_unit_share: Share = Field(0.60, description="Share of units sold by third-party sellers (Amazon: "
                                          "60-62% in 2024-2025), used as their share of shopper spend")
    referral_fee_share: Share = Field(0.15, description="Commission on a seller's sale (Amazon's referral fee: 15% in "
                                      "most categories, 8% on cheap grocery and health items)")
    fba_fee_share: Share = Field(0.30, description="Fulfilment fees, storage included, as a share of the price of a "
                                 "Fulfilled-by-Amazon sale (20-35% of a typical seller's revenue, Marketplace Pulse)")
    seller_pass_through: Share = Field(0.65, description="Share of fraud cost sellers pass into prices")
    fba_base_share: Share = 0.80
    fba_exit_sensitivity: float = Field(6.0, ge=0, le=100, description="Fall in FBA share per unit of fraud cost over sales")
    non_fba_extra_days: Days = 2.0


class AmazonHealth(Strict):
    pharmacy_same_day: Ramp = Field(
        Ramp(start=dt.date(2023, 1, 1), years=3.0, target=0.70),
        description="Share of same-day-covered households that same-day pharmacy reaches: 0.70 puts it at "
                    "eMarketer's ~45% of US consumers by the end of 2025")
    kiosks: int = Field(0, ge=0, le=100_000, description="One Medical pharmacy kiosks in operation")
    households_per_kiosk: Households = 40_000
    kiosk_value_usd_per_order: UsdPerOrder = Field(
        3.0, description="Dollars a health purchase at Amazon is worth more to a household a kiosk reaches "
                         "(a prescription picked up at the clinic visit)")
    pharmacy_days_without_same_day: Days = 2.0


class WholeFoods(Strict):
    """Same-day fresh grocery delivered from Whole Foods Market stores to the urban and suburban
    households near one. Amazon delivers perishables same-day in more than 2,300 US cities (Dec
    2025), free to Prime members on orders over $25 and $12.99 an order for others; Whole Foods
    has about 500 US stores. Off unless ``roll_out`` has a target (see ``docs/MODEL.md``)."""

    roll_out: Ramp = Ramp(start=dt.date(2025, 8, 13), years=0.4, target=0.0)
    stores: int = Field(500, ge=0, le=10_000, description="Whole Foods Market stores delivering same-day (about 500)")
    households_per_store: Households = Field(100_000, description="Urban and suburban households within a store's "
                                             "same-day area (an assumption: 500 stores reach about half of them)")
    nonmember_fee_usd: UsdPerOrder = Field(12.99, description="Fee per fresh-grocery order without Prime")
    fresh_grocery_value_usd_per_order: UsdPerOrder = Field(
        6.0, description="Dollars a weekly grocery order from Amazon is worth more to a household near a store "
                          "(produce, meat and dairy it could not buy there before); an assumption")


class Advertising(Strict):
    revenue_share_of_sales: Share = Field(
        0.088, description="Advertising revenue per dollar shoppers spend at the firm (Amazon: $56.2B on about $639B "
                           "of shopper spend in 2024, $68.6B on $696B in 2025; docs/accounts.md); grows with "
                           "shopping, not with visits alone")
    growth: Ramp | None = Field(None, description="How far the share has come: revenue_share_of_sales x its level "
                                "(none: the share throughout)")
    dsp_deal: Date | None = Field(None, description="Date an ad-exchange deal lifts ad yield")
    dsp_uplift: float = Field(0.025, ge=0, le=10, description="Rise of ad yield after the deal (0.025 = +2.5%): "
                              "a tenth more business for the demand-side platform, about a quarter of Amazon's "
                              "ads (one weak estimate; docs/levers.md)")


class Satellite(Strict):
    """Low-orbit broadband (Kuiper / Leo) raising rural online access."""

    service: Ramp = Ramp(start=dt.date(2026, 6, 1), years=3.0, target=0.5)
    capex_per_year_usd: Capital = 1.5e9
    build_years_before_service: float = Field(1.0, ge=0, le=10, description="Years of capital spending before "
                                              "the service starts (satellites are launched first)")


class Accounts(Strict):
    """A firm's costs beyond its programmes, each a unit cost times a quantity the model simulates
    (docs/accounts.md gives each figure's filing and arithmetic). Defaults are none: each firm's block
    sets its own."""

    goods_cost_index: float = Field(1.0, gt=0, le=2, description="The firm's cost of goods against the market's "
                                    "category cost shares (economics.cost_of_goods_share)")
    store_labour_share_of_sales: Share = Field(0.0, description="Store labour (shelves, tills, in-store picking) "
                                               "per dollar of the firm's sales")
    stores: int = Field(0, ge=0, le=100_000, description="Stores the firm runs")
    store_cost_per_store_year_usd: Capital = Field(0.0, description="Occupancy, depreciation and other operating "
                                                   "costs of a store a year, labour apart")
    overhead_per_year_usd: Capital = Field(0.0, description="Technology, marketing and general costs a year, fixed")
    overhead_share_of_sales: Share = Field(0.0, description="Operating costs per dollar of sales, where the firm is "
                                           "an aggregate whose stores and fixed costs are not counted")
    online_cost_per_order_usd: UsdPerOrder = Field(0.0, description="Picking and delivering an online order")
    content_cost_per_member_year_usd: UsdPerYear = Field(0.0, description="Cost of the membership's perks (video, "
                                                         "music) per member a year")
    excess_fulfillment_cost_share: Share = Field(
        0.0, description="Fulfilment costs beyond the per-order cost, per dollar of the firm's revenue, while an event "
                         "sets it: idle capacity, over-staffing and their write-downs as the firm reported them")


class Amazon(Strict):
    prices: CategoryPrices = Field(
        CategoryPrices(grocery=1.06, discretionary=0.95, health=1.02),
        description="Price indices against Walmart's: general merchandise 0.95 from Profitero's like-for-like "
                    "studies (Walmart.com 6% above Amazon in 2021, about 5% in 2024); grocery and health are "
                    "assumptions (docs/MODEL.md 7.9)")
    assortment: CategoryValues = Field(CategoryValues(grocery=-0.9, discretionary=0.7, health=-0.6), description=(
        "Utility against the other sellers': grocery fitted to the online share of grocery, general merchandise to "
        "Amazon's revenue (calibration/targets.yaml; -0.9, 0.7 unfitted priors); health assumed (docs/MODEL.md 7.9)"))
    service_quality: Utility = 0.0
    pricing: AdaptivePricing = AdaptivePricing()
    # Loyalty: fitted so that it is two thirds of Prime's lift on its members' Amazon buying
    # (Iyengar, Park & Yu 2022); `python benchmarks/demand.py --only lift` prints the split.
    prime: Membership = Membership(fee_annual=119.0, perks_value_usd=20.0, loyalty_usd_per_order=12.0)
    delivery: AmazonDelivery = AmazonDelivery()
    rural: RuralNetwork = RuralNetwork()
    ai: AmazonAI = AmazonAI()
    marketplace: Marketplace = Marketplace()
    health: AmazonHealth = AmazonHealth()
    whole_foods: WholeFoods = WholeFoods()
    ads: Advertising = Field(
        Advertising(revenue_share_of_sales=0.0986,
                    growth=Ramp(start=dt.date(2020, 7, 1), years=5.0, initial=0.446, target=1.0)),
        description="Amazon's advertising grew from about 5.5% of shopper spend in 2021 to 8.8% in 2024 and 9.86% in "
                    "2025 ($31.2B, $56.2B and $68.6B against derived spend of $572B, $639B and $696B; "
                    "docs/accounts.md): 4.4% in mid-2020 (0.446 of 2025's share), rising linearly to all of it "
                    "by mid-2025, then held (each mid-year the year's filed share to 2024; 2025's mean is 9.72%)")
    satellite: Satellite = Satellite()
    accounts: Accounts = Field(Accounts(
        goods_cost_index=1.10, overhead_share_of_sales=0.123, content_cost_per_member_year_usd=64.0),
        description="First-party goods cost 77.6% of sales (1.10 x the market's shares on Amazon's mix); technology, "
                    "marketing and G&A 12.3% of shopper spend (2024's filed retail lines over derived spend; they "
                    "grew with sales from 2021 to 2024); Prime Video and Music 46% of subscription revenue, $64 a "
                    "member (docs/accounts.md)")


class Turnaround(Strict):
    """A leadership change (Kroger's new chief executive, a former Walmart U.S. chief, February 2026)
    phasing in better service and lower prices at Kroger's stores."""

    programme: Ramp = Ramp(start=dt.date(2026, 2, 9), years=2.0, target=0.0)
    service_gain_usd_per_order_at_full: UsdPerOrder = Field(
        1.0, description="Dollars a purchase at a Kroger store is worth more once the turnaround is complete "
                         "(about 2% of a $47 Kroger trip, Numerator)")
    price_cut_at_full: Share = 0.03


class Rivals(Strict):
    """The other grocers and general merchandisers (Costco, Target, Albertsons, local stores) as one
    aggregate."""

    prices: CategoryPrices = CategoryPrices(grocery=1.03, discretionary=1.04, health=1.02)
    assortment: CategoryValues = CategoryValues(grocery=1.0, discretionary=0.9, health=1.0)
    service_quality: Utility = 0.0
    pricing: AdaptivePricing = AdaptivePricing()
    online_share_of_orders: SharesByCategory = Field(
        CategoryShares(grocery=0.10, discretionary=0.30, health=0.10),
        description="Share of its orders placed online, by category (one number: the same in all three): grocery "
                    "and health 10% (Brick Meets Click's grocery figure), general merchandise fitted to US "
                    "e-commerce in the model's categories (calibration/; 0.30 unfitted; docs/MODEL.md 7.5)")
    independent_firms: float = Field(
        2.1, ge=1.0, le=1000.0,
        description="How many equal independent firms the block stands for when its prices are strategic (conduct: "
                    "strategic): each prices for its own sales only. Fitted to Basker & Noel's answer to a Walmart "
                    "entry (1-1.2% for the 17% of volume an incumbent loses, Singh, Hansen & Blattberg 2006), within "
                    "the local concentration USDA ERS measures (1.5 from county, 3.7 from metro HHIs, 2019; "
                    "docs/MODEL.md 7.7b)")
    accounts: Accounts = Field(Accounts(overhead_share_of_sales=0.2486, online_cost_per_order_usd=9.0),
                               description="Operating costs fitted to the filers' 3.9% operating margin (Target, "
                                           "Costco U.S., Albertsons, Dollar General; docs/accounts.md); picking an "
                                           "online order $9 (an assumption)")


class Kroger(Rivals):
    """Kroger and its banners (Ralphs, Fred Meyer, King Soopers, Harris Teeter...): 2,719 stores in 35
    states and DC, 2,254 pharmacies, about 10% of US grocery dollars. Its stores are an option only
    for the households that live near one (``households_reached``)."""

    prices: CategoryPrices = Field(
        CategoryPrices(grocery=1.08, discretionary=1.06, health=1.02),
        description="Price indices against Walmart's: grocery 1.08 between Kroger's own +2-3% on its most popular "
                    "items (FTC v. Kroger, 2024) and shelf checks of +10-17% (BofA 2021, Dataweave 2023); "
                    "general merchandise and health are assumptions (docs/MODEL.md 7.9)")
    assortment: CategoryValues = Field(
        CategoryValues(grocery=0.0, discretionary=-3.0, health=0.0),
        description="Utility of its assortment: grocery fitted to its grocery share and sales without fuel, general "
                    "merchandise (little) set with it, loose (calibration/; 0, -3 unfitted); a pharmacy in most stores")
    online_share_of_orders: Share = Field(0.09, description="Share of its sales ordered online (pickup and "
                                          "delivery, about $13B of $147B)")
    households_reached: Share = Field(
        0.45, description="Share of households with a Kroger-family store among their options (2,719 stores "
                          "in 35 states and DC; an assumption, about 20,000 households per store)")
    turnaround: Turnaround = Turnaround()
    independent_firms: float = Field(1.0, ge=1.0, le=1000.0, description="Kroger prices as one company (1); more "
                                     "asks what its banners would do as separate firms (conduct: strategic)")
    accounts: Accounts = Field(Accounts(
        store_labour_share_of_sales=0.090, stores=2719, store_cost_per_store_year_usd=8.66e6,
        online_cost_per_order_usd=9.0),
        description="Store labour 9.0% of sales (about 409,000 associates at $25 an hour with benefits); 2,719 "
                    "stores; a store's other costs fitted to Kroger's operating margins FY2023-FY2024 "
                    "(calibration/accounts.yaml; OG&A less labour, rent and depreciation give $6.0M; docs/accounts.md)")
