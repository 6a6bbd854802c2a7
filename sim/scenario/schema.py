"""The scenario: one validated object that is the single source of every default.

The command line, the Python API, sweeps, calibration and the dashboard all read their
parameters and defaults from :class:`Scenario`; nothing else declares a default.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from ..bounds import MAX_SEED, MAX_SHOPPERS, MIN_SHOPPERS, PLAIN_NAME_PATTERN

from .firms import Amazon, Kroger, Rivals
from .walmart import Walmart
from .strategy import Strategy
from .types import (
    FIRST_DATE, CategoryCoverage, CategoryDollars, CategoryElasticities, CategoryShares, Date, Elasticity,
    FirmDollars, IndexYear, LocaleShares, LocaleValues, Share, Spread, Strict, Trend, UsdPerOrder, UsdPerYear,
    Years, each_category, first_jump, number_of, yearly, yearly_averages,
)

MAX_HORIZON_YEARS = 100
MAX_EVENTS = 100_000


class Horizon(Strict):
    """Weekly steps from ``start`` to ``end``, after ``warmup_weeks`` of unrecorded spin-up."""

    start: Date = dt.date(2021, 1, 4)
    end: Date = dt.date(2030, 12, 30)
    warmup_weeks: int = Field(26, ge=0, le=104, description="Unrecorded weeks before start that build habits")

    @model_validator(mode="after")
    def _ordered(self) -> Horizon:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        if (self.end - self.start).days > 365.25 * MAX_HORIZON_YEARS:
            raise ValueError(f"the horizon runs {(self.end - self.start).days / 365.25:.0f} years; "
                             f"at most {MAX_HORIZON_YEARS} are allowed")
        if (self.start - FIRST_DATE).days < 7 * self.warmup_weeks:
            raise ValueError(f"the warm-up would start before {FIRST_DATE}")
        return self


# US households by year: Census 2020 count (1 April 2020); American Community Survey 1-year
# estimates 2021-2024; Harvard Joint Center for Housing Studies' main projection (2024 series) for
# 2025, 2035 and 2045. docs/MODEL.md, section 2, gives the sources.
US_HOUSEHOLDS = {2020: 126.82e6, 2021: 127.54e6, 2022: 129.87e6, 2023: 131.33e6, 2024: 132.74e6, 2025: 134.0e6,
                 2035: 143.0e6, 2045: 148.0e6}
# Catchments (households a rural delivery station, kiosk, dark store, clinic or store reaches) are
# areas, counted in this year's households: as households grow the share of them a catchment holds stays.
CATCHMENT_YEAR = 2024


USHouseholds = Annotated[float, Field(ge=1e6, le=1e9, description="US households, 1 million to 1 billion")]


def _flat_count(value: Any) -> Any:
    """A number for ``population.households`` is a flat count: one year, held before and after it."""
    number = number_of(value)
    if number is None:
        return value
    if not (math.isfinite(number) and 1e6 <= number <= 1e9):
        raise ValueError("a flat count of US households is 1 million to 1 billion; 131.3 million is 131.3e6")
    return {CATCHMENT_YEAR: number}


class Population(Strict):
    shoppers: int = Field(20_000, ge=MIN_SHOPPERS, le=MAX_SHOPPERS, description="Simulated households")
    households: Annotated[dict[IndexYear, USHouseholds], BeforeValidator(_flat_count)] = Field(
        default_factory=lambda: dict(US_HOUSEHOLDS), min_length=1, max_length=200,
        description="US households the shoppers stand for: a number (a flat count), or a mapping of years "
                    "(placed at mid-year, interpolated between years, held outside them; in a file, years add "
                    "to the shipped ones): Census 2020, ACS 1-year 2021-2024, then the Harvard Joint Center's "
                    "projection")
    suburban_share_of_nonrural: Share = Field(0.66, description="AHS 2017: 52% suburban, 27% urban, 21% rural")
    median_income_usd: float = Field(
        83_730.0, ge=1_000, le=1_000_000, description="Median household income outside rural areas, US dollars a "
                                                      "year: Census CPS ASEC 2024, $83,730 (all households)")
    income_sigma: Spread = Field(
        0.92, description="Spread of log household income: a lognormal's Gini is 2 Phi(sigma / sqrt 2) - 1, and "
                          "Census's household Gini of 0.485 (CPS 2023) gives 0.92")
    rural_income_ratio: float = Field(
        0.965, gt=0, le=5, description="Rural households' median income over urban households': ACS 2011-2015, "
                                       "$52,386 against $54,296 (Census, 8 Dec 2016)")
    network_degree: int = Field(6, ge=0, le=50, description="Neighbours each household hears from")
    network_same_zone_share: Share = Field(0.7, description="Share of neighbours in the same state and locale")

    @model_validator(mode="after")
    def _counted(self) -> Population:
        jump = first_jump(self.households, MAX_YEARLY_RATIO)
        if jump is not None:
            before, after = jump
            raise ValueError(f"households go from {self.households[before]:,.0f} ({before}) to "
                             f"{self.households[after]:,.0f} ({after}), more than doubling or halving: "
                             "give every year in households (131.3 million is 131.3e6)")
        return self

    def households_on(self, on: dt.date) -> float:
        """US households on a date: the years interpolated between mid-years (one year: a flat count)."""
        return yearly(self.households, on)

    @property
    def catchment_households(self) -> float:
        """The households catchment sizes are counted in (those of ``CATCHMENT_YEAR``, mid-year)."""
        return self.households_on(dt.date(CATCHMENT_YEAR, 7, 2))


class Geography(Strict):
    store_distance_median_miles: LocaleValues = LocaleValues(urban=2.0, suburban=3.5, rural=7.0)
    rival_distance_median_miles: LocaleValues = LocaleValues(urban=1.2, suburban=2.5, rural=6.0)
    distance_sigma: Spread = 0.8
    broadband: LocaleShares = LocaleShares(urban=0.95, suburban=0.93, rural=0.80)


# US real food-at-home spending, 2021 = 100: USDA ERS Food Expenditure Series, real (inflation-adjusted)
# changes of +4% in 2021 and -2% in 2022 (Zeballos & Sinclair, Amber Waves, Sep 2023), -2.6% in 2023 and
# +1.8% in 2024 (ERS Chart of Note, 24 Feb 2025). docs/MODEL.md, 7.8.
FOOD_AT_HOME_ERS = {2020: 96.154, 2021: 100.0, 2022: 98.0, 2023: 95.452, 2024: 97.170}


class ShopperBehaviour(Strict):
    """How households weigh price, time, habit and access when choosing a channel each week."""

    price_utility_per_usd: float = Field(
        0.016, gt=0, le=10, description="Utility of one dollar for a median-income household: set so that each "
                                        "firm's long-run own-price elasticity lies in the store-level range of "
                                        "-1 to -3 (docs/MODEL.md; benchmarks/demand.py measures it)")
    price_income_elasticity: Elasticity = 0.5
    price_sigma: Spread = 0.3
    weekly_budget_usd: CategoryDollars = Field(
        CategoryDollars(grocery=150.0, discretionary=93.0, health=16.5),
        description="A median-income household's weekly spend at reference prices, set so that the mean over "
                    "households is the BLS Consumer Expenditure Survey's 2024 mean per consumer unit: groceries "
                    "and essentials $154, general merchandise $103, drugs and medical supplies $17 a week "
                    "(docs/MODEL.md, 7.8)")
    budget_coverage: Annotated[
        CategoryCoverage, BeforeValidator(each_category, json_schema_input_type=float | CategoryCoverage)] = Field(
        CategoryCoverage(grocery=0.757, discretionary=0.387, health=1.0),
        description="Share of national spending the households' budgets hold, by category: the firms' sales and "
                    "orders are the households' over it, and shares over all categories weigh each at its "
                    "national size (the households choose on the survey's baskets). Grocery: the CE's $6,224 of "
                    "food at home a consumer unit times the model's 132.7M households (2024) over USDA ERS's "
                    "$1,091B; general merchandise: the CE's list, $5,396 a consumer unit times the households, $716B, "
                    "over BEA's spending on the goods the category stands for, $1.85T (furnishings, recreational "
                    "goods without vehicles, other durables without therapeutic appliances, clothing and footwear, "
                    "NIPA Table 2.3.5, Q4 2023; toys, hobbies and pet supplies at the CE/PCE concordance's 0.60); "
                    "health: 1, as no national out-of-pocket drug figure was found to compare; one number sets all "
                    "three, 1 "
                    "for the books at the households' own size (docs/MODEL.md, 7.8)")
    food_at_home_real: dict[IndexYear, Annotated[float, Field(gt=0.0, lt=1e6)]] = Field(
        default_factory=lambda: dict(FOOD_AT_HOME_ERS), min_length=1, max_length=200,
        description="US real food-at-home spending by year, on any base; it must hold 2024. The grocery category's "
                    "national size moves with it per household, over 2024's (the year of the budgets), and is held "
                    "per household outside its years: USDA ERS Food Expenditure Series, 2021 = 100 (real changes "
                    "+4% in 2021, -2% in 2022, -2.6% in 2023, +1.8% in 2024), so 2021's grocery per household, a "
                    "pandemic high, is about 7% above 2024's. One year ({2024: 1}, with --set) holds it flat "
                    "(docs/MODEL.md, 7.8)")
    budget_income_elasticity: Annotated[
        CategoryElasticities, BeforeValidator(each_category, json_schema_input_type=float | CategoryElasticities)] = Field(
        CategoryElasticities(grocery=0.3, discretionary=0.5, health=0.3),
        description="How a household's budget rises with its income, budget ~ (income / median) ^ elasticity: "
                    "the slope across the CE's 2024 income quintiles, food at home 0.32, apparel 0.44, "
                    "furnishings 0.55, drugs about 0.27 (one number sets all three)")
    value_of_time_share_of_wage: float = Field(
        0.5, ge=0, le=5, description="Value of an hour as a share of hourly household income (income / 2,080): US DOT's "
                                     "guidance for local personal travel, 50% (range 35-60%)")
    travel_cost_per_mile_usd: float = Field(0.30, ge=0, le=100, description="US dollars a mile")
    travel_speed_mph: float = Field(25.0, gt=0, le=200, description="Miles an hour")
    minutes_in_store: float = Field(15.0, ge=0, le=240, description="Minutes a store trip takes inside the store")
    pickup_trip_share: Share = Field(0.6, description="Cost of a pickup trip as a share of a store trip (no time "
                                                      "in the aisles)")
    trip_share: CategoryShares = CategoryShares(grocery=0.6, discretionary=0.3, health=0.1)
    own_price_elasticity: CategoryElasticities = Field(
        CategoryElasticities(grocery=0.5, discretionary=1.0, health=0.3),
        description="How much less of a category a household buys when the price it pays rises (absolute "
                    "values): food at home 0.27-0.81 (Andreyeva et al. 2010); see docs/MODEL.md")
    firm_taste_sd_usd: FirmDollars = Field(
        FirmDollars(), description="Spread across households of a lasting liking for each firm, in dollars an "
                                   "order (normal, mean 0): who buys more where. 0, the default, draws none; "
                                   "a non-zero spread lets members' selection show in their spend (CIRP)")
    walmart_online_taste_sd_usd: UsdPerOrder = Field(
        0.0, description="Spread across households of a lasting liking for ordering from Walmart online rather "
                         "than from its stores, in dollars an order (normal, mean 0): who shops Walmart online "
                         "week after week, and so who Walmart+'s free delivery pays for (not fitted: no spread "
                         "the fit reaches meets Walmart+ members' share of Walmart's online spend, "
                         "docs/calibration.md; 0 draws none)")
    walmart_online_regular_share: Share = Field(
        0.0, description="Share of households who are Walmart online regulars at the start of 2021: a latent class "
                         "with a lasting liking for ordering from Walmart online of walmart_online_regular_taste_usd "
                         "an order, on top of the normal spread above (0, with no growth, makes none)")
    walmart_online_regular_growth: Trend = Field(
        Trend(start=dt.date(2021, 1, 1)),
        description="How the regulars' share grows a year (per_year, in shares of households) from start, held from "
                    "end: households become regulars in a fixed order drawn once (Walmart's eCommerce grew from "
                    "14.8% to 20.6% of its sales over fiscal 2024-2026, far faster than e-commerce's share of retail)")
    walmart_online_regular_taste_usd: UsdPerOrder = Field(
        0.0, description="The Walmart online regulars' liking for ordering from Walmart online rather than from "
                         "its stores, in dollars an order")
    fulfilment_taste_usd: UsdPerOrder = Field(
        7.2, gt=0, description="Spread, in dollars an order, of households' liking for pickup, delivery or "
                               "express from one week to the next (the scale of the logit among them): a $5 "
                               "rise of a same-day fee from $5 to $10 halves its demand (AlixPartners 2022), "
                               "so 5 / ln 2")
    wait_cost_per_day_usd: CategoryDollars = Field(
        CategoryDollars(grocery=3.0, discretionary=1.5, health=3.0),
        description="Dollars a day of waiting for delivery, for a median-income household: discretionary so that a "
                    "business day faster lifts online sales about 1.5% (Fisher, Gallino & Xu 2019); grocery and "
                    "health from what a third of shoppers would pay for same-day, $5-10 (AlixPartners 2022)")
    habit_share_of_basket: Share = Field(
        0.12, description="What shopping where one always shops is worth, as a share of the category's weekly "
                          "basket: a switching cost of about 12% of a grocery basket (Richards & Liaukonyte 2023)")
    habit_learning_rate: Share = Field(
        0.125, description="Weight of this week's choice in the habit, per week (a weekly shopping trip): one "
                           "minus Guadagni & Little's (1983) smoothing constant of 0.875 per purchase occasion")
    offline_penalty_usd: UsdPerOrder = Field(
        20.0, description="Dollars an online order costs more without home broadband (a phone's small screen "
                          "and data plan; 15-17% of adults are smartphone-only, Pew)")
    online_gain: Trend = Field(
        Trend(start=dt.date(2021, 1, 1)),
        description="What ordering online gains a year against a store, as a share of the category's basket "
                    "(per_year), from start: the improvements the model does not price one by one (assortment, "
                    "apps, payment, trust) behind e-commerce's steady rise; fitted to the growth of Census's "
                    "e-commerce share of retail from 2021 to 2024 (docs/MODEL.md, 7.1)")

    @model_validator(mode="after")
    def _food_at_home_holds_the_base_year(self) -> ShopperBehaviour:
        check_yearly_index("food_at_home_real", self.food_at_home_real, "the year of the households' budgets",
                           "the shipped ERS years (2021 = 100: 2024 is 97.17), while an event or --set replaces them "
                           "all; give every year on one base")
        return self


class MembershipBehaviour(Strict):
    """Monthly adoption and churn: value of membership plus word of mouth (Bass diffusion)."""

    innovation_p_per_year: Share = Field(0.03, description="Bass p (Sultan, Farley & Lehmann 1990)")
    imitation_q_per_year: Share = Field(0.38, description="Bass q (Sultan, Farley & Lehmann 1990)")
    value_scale_usd: UsdPerYear = Field(40.0, gt=0, description="Dollars of net value that move a decision by one logit unit")
    taste_sd_usd: UsdPerYear = Field(60.0, description="Spread of households' own liking for Prime (and Walmart+'s when its own is unset)")
    walmart_plus_taste_sd_usd: UsdPerYear | None = Field(None, description="Spread of households' own liking for "
        "Walmart+ (unset: taste_sd_usd); its own: members join it to shop (Numerator: free shipping 83%, streaming 4%)")
    taste_correlation: float = Field(
        0.0, ge=-0.95, le=0.95,
        description="Correlation of a household's liking for Prime and for Walmart+ (subscription-minded households)",
    )
    churn_floor_per_year: Share = Field(0.02, description="Yearly churn of members for whom it clearly pays (fitted)")
    value_churn_per_year: Share = Field(0.15, description="Extra churn of members for whom it no longer pays")
    first_year_churn_multiplier: float = Field(
        3.5, gt=0, le=20,
        description="Churn in a member's first year over churn later: CIRP's Prime renewals of 93% after the "
                    "first year and 98% after the second (7% against 2%); Walmart+ is assumed alike")
    walmart_plus_initial_consideration: Share = Field(
        0.25, description="Share of households that consider Walmart+ at launch (Delivery Unlimited's reach)"
    )
    prime_initial_consideration: Share = Field(
        1.0, description="Share of households that had weighed Prime by the first week (the others find it "
                         "through word of mouth): 1 starts Prime at its long-run choice; below 1 it was still "
                         "diffusing in 2021 (63.4% of households, rising to about 68% by 2025)")
    perks_income_elasticity: Elasticity = 0.5

    def spreads_usd(self) -> tuple[float, float]:
        """The spreads of the liking for Prime and for Walmart+ (its own, or the shared one)."""
        own = self.walmart_plus_taste_sd_usd
        return self.taste_sd_usd, self.taste_sd_usd if own is None else own


class Returns(Strict):
    """Online returns and return fraud, market-wide (NRF, Appriss Retail)."""

    online_return_rate: Share = Field(0.19, description="Share of online sales returned")
    fraud_share_of_returns: Share = Field(0.10, description="Share of returns that are fraudulent")
    loss_per_fraud: Share = Field(0.7, description="Share of an item's value lost on a fraudulent return")

    @property
    def fraud_cost_share(self) -> float:
        """Fraud losses as a share of online sales."""
        return self.online_return_rate * self.fraud_share_of_returns * self.loss_per_fraud


# CPI-U, all items, US city average, annual averages (BLS series CUUR0000SA0, 1982-84 = 100;
# docs/growth_evidence.md, 1.1: M, as transcribed; 2025 uses eleven months).
CPI_U = {2020: 258.811, 2021: 270.970, 2022: 292.655, 2023: 304.702, 2024: 313.689, 2025: 321.943}


IndexValue = Annotated[float, Field(gt=0.0, lt=1e6, description="A price index, above 0 and below 1,000,000")]


BASE_YEAR = 2024  # the year whose dollars the model counts in: its prices, budgets and unit costs are 2024's
MAX_YEARLY_RATIO = 2.0  # consecutive years' indexes further apart than this mix two bases


def check_yearly_index(name: str, values: dict[int, float], base_year_is: str, file_years_add_to: str) -> None:
    """A yearly index must hold ``BASE_YEAR`` and stay on one base: one clear error otherwise."""
    if BASE_YEAR not in values:
        raise ValueError(f"{name} has no {BASE_YEAR}, {base_year_is}; add {BASE_YEAR}'s value on the same base as "
                         f"{', '.join(map(str, sorted(values)))}")
    jump = first_jump(values, MAX_YEARLY_RATIO)
    if jump is not None:
        before, after = jump
        raise ValueError(f"{name} moves from {values[before]:g} ({before}) to {values[after]:g} ({after}): it mixes "
                         f"two bases; in a scenario file its years add to {file_years_add_to}")


class PriceLevel(Strict):
    """The price level that turns the model's constant dollars into the nominal dollars firms post.

    Every dollar in the model is a dollar of 2024 (``BASE_YEAR``) except the membership fees, which a
    scenario gives as posted (nominal): a household weighs, and a firm books, a fee divided by the
    level of that week. Each year's index is its annual average: the level is linear between
    mid-years, through mid-year values chosen so that each year's mean is its average
    (``types.yearly_averages``), runs on at the same slope to the first year's start and the last
    year's end, and is held beyond them (no forecast: a scenario can add years). A single year
    gives a flat level of 1."""

    index: dict[IndexYear, IndexValue] = Field(
        default_factory=lambda: dict(CPI_U), min_length=1, max_length=200,
        description=f"Annual-average price index by year, on any one base; it must hold {BASE_YEAR}")

    @model_validator(mode="after")
    def _valid(self) -> PriceLevel:
        check_yearly_index("index", self.index, "the year of the model's dollars",
                           "the shipped CPI-U years, so give every year on their base (2024: 313.689) or replace them "
                           "all with --set")
        return self

    def factor(self, on: dt.date) -> float:
        """The price level on a date over 2024's (1.0 in 2024's dollars)."""
        return yearly_averages(self.index, on) / self.index[BASE_YEAR]


class Economics(Strict):
    cost_of_goods_share: CategoryShares = CategoryShares(grocery=0.76, discretionary=0.68, health=0.72)
    depreciation_years: Years = Field(10.0, gt=0)
    price_level: PriceLevel = PriceLevel()


class Event(Strict):
    """A change of levers at a date, e.g. ``{date: 2026-03, set: {walmart.walmart_plus.fee_annual: 79}}``."""

    date: Date
    label: str = Field("", max_length=200)
    set: dict[str, Any] = Field(min_length=1, max_length=1_000, description="Dotted scenario paths and their new values")


class Scenario(Strict):
    """A complete what-if: the world, the firms' levers, and a timeline of events."""

    name: str = Field("scenario", pattern=PLAIN_NAME_PATTERN,
                      description="Used for the output folder: 1 to 100 letters, digits, '_', '.' or '-', "
                                  "starting with a letter or digit")
    description: str = Field("", max_length=20_000)
    extends: str | None = Field(None, description="Path of a scenario this one overrides (resolved on load)")
    calibration: str | None = Field(
        None, description="Path of a calibrated.yaml whose fitted parameters are this file's defaults (resolved on load)"
    )
    seed: int = Field(2021, ge=0, le=MAX_SEED, description="Seed of the run's random streams")
    horizon: Horizon = Horizon()
    population: Population = Population()
    geography: Geography = Geography()
    shoppers: ShopperBehaviour = ShopperBehaviour()
    memberships: MembershipBehaviour = MembershipBehaviour()
    economics: Economics = Economics()
    returns: Returns = Returns()
    amazon: Amazon = Amazon()
    walmart: Walmart = Walmart()
    kroger: Kroger = Kroger()
    rivals: Rivals = Rivals()
    conduct: Literal["fixed", "strategic"] = Field(
        "fixed", description="fixed: prices follow the scenario; strategic: firms in strategy.firms set their "
                             "category prices as best responses to their rivals' (docs/strategy.md)")
    strategy: Strategy = Strategy()
    events: list[Event] = Field(default_factory=list, max_length=MAX_EVENTS)

    @model_validator(mode="after")
    def _events_in_horizon(self) -> Scenario:
        for number, event in enumerate(self.events):
            if not self.horizon.start <= event.date <= self.horizon.end:
                raise EventOutsideHorizon(number, event.date, self.horizon.start, self.horizon.end)
        return self

    def household_blocks_unlike(self, other: Scenario) -> list[str]:
        """The blocks that draw the households (``population``, ``geography``) in which this scenario
        differs from ``other``: on the same seed the two draw different households. The national count
        of households (``population.households``) only scales them, and is left out."""
        def drawn(scenario: Scenario, block: str) -> dict:
            return getattr(scenario, block).model_dump(exclude={"households"} if block == "population" else None)
        return [block for block in ("population", "geography") if drawn(self, block) != drawn(other, block)]


class EventOutsideHorizon(ValueError):
    """An event dated outside the horizon (kept apart so the loader can name its place)."""

    def __init__(self, number: int, date: dt.date, start: dt.date, end: dt.date) -> None:
        super().__init__(f"date {date} is outside the horizon; valid dates run from {start} to {end}")
        self.number = number
