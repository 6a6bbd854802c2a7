"""Amazon: Prime, a delivery network pushed into rural America, automation, a marketplace."""

from __future__ import annotations

import datetime as dt

import numpy as np

from ..vocabulary import AMAZON, DISCRETIONARY, GROCERY, HEALTH, RURAL, URBAN, WEEK, WEEKS_PER_YEAR, Offer, Sales
from .base import Firm, Reach
from .rural import BuildOut, RuralLand
from .states import by_category, flag_code, state_flags, with_flag

# Every service state of a household, as flags: same-day, next-day, pharmacy same-day, then Prime.
SERVICE_FLAGS = ("same_day", "next_day", "amazon_pharmacy")
STATES = state_flags(len(SERVICE_FLAGS) + 1)
PRIME_BIT = len(SERVICE_FLAGS)


class Amazon(Firm):
    """Amazon's levers, each a block of ``scenario.amazon``.

    - Prime: fee and perks; members skip delivery fees and wait less.
    - Delivery: same-day coverage grows in metros; the rural station programme turns capital into
      stations after a build lag, and stations into rural same/next-day reach and towns served;
      one-off projects (the Oregon warehouse) add reach in the states they serve.
    - AI: automation lowers fulfillment cost, personalization lifts discretionary shopping,
      dynamic pricing trims prices; each year key talent may leave and the programme loses part
      of its effect (a draw from the ``amazon.ai_talent`` stream).
    - Marketplace: return fraud costs sellers, who raise prices and leave Fulfilled by Amazon.
    - Health: same-day pharmacy and One Medical kiosks. Ads: revenue per active household.
    - Whole Foods: same-day fresh grocery from the stores to the urban and suburban households near
      one (off in the baseline).
    - Satellites: broadband for rural households that had none.
    """

    name = "amazon"
    channels = (AMAZON,)
    membership = "prime"
    reach_metrics = {"amazon_same_day_reach": "same_day", "amazon_next_day_reach": "next_day",
                     "amazon_pharmacy_same_day_reach": "amazon_pharmacy"}

    def __init__(self, model) -> None:
        super().__init__(model)
        self.ai_effectiveness = 1.0
        self.ai_level = 0.0
        self._stations_started: list[float] = []  # cumulative stations started, one entry a week
        self.stations_live = 0.0
        self.towns_served = 0.0
        self.fba_share = 1.0
        self.marketplace_markup = 0.0
        self._last_talent_year: int | None = None
        geography = model.geography
        # Catchments are counted in a fixed year's households (``model.catchment_households``).
        self._rural_land = RuralLand(geography, model.catchment_households)
        self._built: tuple | None = None  # the last build-out and its terms
        self._urban_households = model.catchment_households * geography.locale_share(URBAN)
        self._metro_households = model.catchment_households * (1.0 - geography.locale_share(RURAL))
        zeros = np.zeros(geography.n_zones)
        # This week's terms, set in ``prepare``: shares of each zone reached, days and fees.
        self.same_day_reach, self.next_day_reach, self.kiosk_reach = zeros, zeros, zeros
        self.pharmacy_share = self.extra_days = 0.0
        self.stations_beyond_cap = 0.0
        self.whole_foods_reach: np.ndarray | None = None  # None while the stores deliver nothing

    def prepare(self, date: dt.date, offer: Offer) -> None:
        self.start_week()
        p = self.params
        self._talent_lottery(date)
        self.ai_level = p.ai.programme.level(date) * self.ai_effectiveness
        if p.ai.programme.start <= date:
            self.operating_cost_this_week += p.ai.capex_per_year_usd / WEEKS_PER_YEAR
        self._marketplace()
        offer.price[AMAZON] = (
            self.prices() * (1.0 - p.ai.dynamic_pricing_discount * self.ai_level) * (1.0 + self.marketplace_markup)
        )
        offer.constant[AMAZON] = np.asarray(p.assortment.as_tuple()) + p.service_quality
        self._delivery(date, offer)
        self._health(date, offer)
        self._whole_foods(date)
        self._satellites(date, offer)
        self.ad_yield = self.advertising_yield(date)

    def _talent_lottery(self, date: dt.date) -> None:
        """Once a year, draw whether key AI talent leaves (drawn every year, used only if it does)."""
        if date.year == self._last_talent_year:
            return
        self._last_talent_year = date.year
        leaves = self.model.streams["amazon.ai_talent"].random() < self.params.ai.talent_departure_risk_per_year
        if leaves and date >= self.params.ai.programme.start:
            self.ai_effectiveness *= 1.0 - self.params.ai.shortfall_on_departure

    def _marketplace(self) -> None:
        market, fraud_cost = self.params.marketplace, self.model.params.returns.fraud_cost_share
        self.marketplace_markup = market.third_party_unit_share * market.seller_pass_through * fraud_cost
        self.fba_share = float(np.clip(market.fba_base_share - market.fba_exit_sensitivity * fraud_cost, 0.0, 1.0))

    def _rural_stations(self, date: dt.date) -> None:
        """Spend the station programme's capital this week; stations go live after the build lag."""
        rural = self.params.rural
        if not self._stations_started:
            self._stations_started = self._stations_before(date)
        started = self.stations_started
        if rural.start <= date <= rural.end:
            weekly = rural.investment_per_year_usd / WEEKS_PER_YEAR
            self.spend_capital(weekly)
            started += weekly / rural.cost_per_station_usd
        self._stations_started.append(started)
        lagged = len(self._stations_started) - 1 - rural.build_lag_weeks
        self.stations_live = self._stations_started[lagged] if lagged >= 0 else 0.0

    def _stations_before(self, date: dt.date) -> list[float]:
        """The programme's weeks before a run's first week, for a run that starts after the programme
        began: stations started each week (cumulative) and their capital, spent as the run would have
        spent it on its terms of the first week (events before it included). Nothing for a run that
        starts before the programme (the baseline's)."""
        rural, started, history = self.params.rural, 0.0, []
        for week in range((date - rural.start).days // 7, 0, -1):  # each week on or after the start
            if date - week * WEEK <= rural.end:
                weekly = rural.investment_per_year_usd / WEEKS_PER_YEAR
                self.capex_to_date += weekly  # depreciated from the first week on, as capital built before it
                started += weekly / rural.cost_per_station_usd
            history.append(started)
        return history

    @property
    def stations_started(self) -> float:
        """Stations started so far, live or still being built."""
        return self._stations_started[-1] if self._stations_started else 0.0

    def build_out(self, stations: float) -> BuildOut:
        """Where ``stations`` live stations reach (``sim/firms/rural.py``), from the rural shares before
        the programme."""
        rural, delivery = self.params.rural, self.params.delivery
        terms = (stations, rural.station_area_sq_mi, delivery.same_day_coverage.rural,
                 delivery.next_day_coverage.rural, rural.next_day_area_per_same_day, rural.max_rural_coverage)
        if self._built is None or self._built[0] != terms:  # the same stations, week after week, once built
            self._built = (terms, self._rural_land.build_out(*terms))
        return self._built[1]

    def _delivery(self, date: dt.date, offer: Offer) -> None:
        p, geography = self.params, self.model.geography
        delivery, locale = p.delivery, geography.zone_locale
        years = max(0.0, (date - delivery.coverage_date).days / 365.25)  # a calendar date, not the run's start
        same_day = np.asarray(delivery.same_day_coverage.as_tuple())[locale]
        next_day = np.asarray(delivery.next_day_coverage.as_tuple())[locale]
        metro = locale != RURAL
        same_day[metro] = np.minimum(
            np.maximum(delivery.max_metro_same_day, same_day[metro]),
            same_day[metro] + delivery.metro_same_day_growth_per_year * years,
        )
        self._before_stations = (same_day, next_day, date)
        self._rural_stations(date)
        built = self.build_out(self.stations_live)
        self.same_day_reach, self.next_day_reach = self.delivery_reach(built)
        base, rural = p.delivery.same_day_coverage.rural, p.rural
        self.towns_served = self._rural_land.reached(built.same_day, base) / rural.rural_households_per_town
        self.stations_beyond_cap = built.beyond_cap
        for project in p.rural.projects:
            if self.model.date_in_week(project.opens, date):
                self.spend_capital(project.capex_usd)
        market = p.marketplace
        # Sellers outside Fulfilled by Amazon ship slower.
        self.extra_days = market.third_party_unit_share * (1.0 - self.fba_share) * market.non_fba_extra_days

    def delivery_reach(self, built: BuildOut) -> tuple[np.ndarray, np.ndarray]:
        """This week's same-day and next-day shares of each zone with the stations ``built`` (and the
        rural projects open by this week)."""
        before_same, before_next, date = self._before_stations
        rural = self.model.geography.zone_locale == RURAL
        same_day = np.where(rural, self._rural_land.zone_shares(built.same_day, before_same), before_same)
        next_day = np.where(rural, self._rural_land.zone_shares(built.next_day, before_next), before_next)
        for project in self.params.rural.projects:
            if date >= project.opens:
                reach = rural & self.model.geography.zones_in(project.states)
                same_day[reach] += (1.0 - same_day[reach]) * project.rural_same_day_gain
        return same_day, np.maximum(next_day, same_day)

    def _health(self, date: dt.date, offer: Offer) -> None:
        health, locale = self.params.health, self.model.geography.zone_locale
        self.pharmacy_share = health.pharmacy_same_day.level(date)  # of households with same-day delivery
        kiosk_share = min(1.0, health.kiosks * health.households_per_kiosk / self._urban_households)
        self.kiosk_reach = np.where(locale == URBAN, kiosk_share, 0.0)

    def _whole_foods(self, date: dt.date) -> None:
        """Share of each urban and suburban zone near a Whole Foods store that delivers same-day."""
        stores = self.params.whole_foods
        share = min(1.0, stores.roll_out.level(date) * stores.stores * stores.households_per_store
                    / self._metro_households)
        metro = self.model.geography.zone_locale != RURAL
        self.whole_foods_reach = np.where(metro, share, 0.0) if share > 0 else None

    def _satellites(self, date: dt.date, offer: Offer) -> None:
        service = self.params.satellite.service
        base = np.asarray(self.model.params.geography.broadband.as_tuple())[self.model.geography.zone_locale]
        rural = self.model.geography.zone_locale == RURAL
        offer.broadband = np.where(rural, base + (1.0 - base) * service.level(date), base)
        building_from = service.start - dt.timedelta(days=365 * self.params.satellite.build_years_before_service)
        if building_from <= date and service.level(date) < service.target:
            self.spend_capital(self.params.satellite.capex_per_year_usd / WEEKS_PER_YEAR)

    # -- what it offers each household ----------------------------------------------------------
    def reach(self, households, offer: Offer) -> Reach:
        h, zone = households, households.zone
        same_day = h.amazon_rank < self.same_day_reach[zone]
        next_day = same_day | (h.amazon_rank < self.next_day_reach[zone])
        pharmacy = same_day & (h.pharmacy_rank < self.pharmacy_share)
        flags = {"same_day": same_day, "next_day": next_day, "amazon_pharmacy": pharmacy,
                 "kiosk": h.pharmacy_rank < self.kiosk_reach[zone]}
        if self.whole_foods_reach is not None:
            # The stores, like Amazon's same-day network, sit in the densest parts of the metros: the
            # households near one are the first in Amazon's reach order.
            flags["whole_foods"] = h.amazon_rank < self.whole_foods_reach[zone]
        return Reach(flags, flag_code([flags[name] for name in SERVICE_FLAGS]))

    def service_costs(self, reach: Reach, costs, member: np.ndarray | None) -> dict[int, np.ndarray]:
        """Fees and waiting, per category and household: the part Prime changes (members pay no fee
        and wait less). Written once over the 16 service states, then each household's picks its own."""
        delivery = self.params.delivery
        same_day, next_day, pharmacy, prime = STATES
        days = np.where(same_day, delivery.same_day_days,
                        np.where(next_day, delivery.next_day_days, delivery.standard_days))
        days = days + self.extra_days + np.where(prime, 0.0, delivery.nonmember_extra_days)
        health_days = np.where(pharmacy, delivery.same_day_days, self.params.health.pharmacy_days_without_same_day)
        fee, days = np.where(prime, 0.0, delivery.nonmember_fee_usd), by_category(days, health_days)
        state = with_flag(reach.code, member, PRIME_BIT)
        cost = fee.take(state) + costs.waiting * days.take(state, axis=1)
        if "whole_foods" in reach.flags:
            cost[GROCERY] = self._fresh_grocery(reach.whole_foods, costs.waiting[GROCERY], member, cost[GROCERY])
        # What its own services are worth: recommendations on discretionary purchases, a kiosk at the
        # clinic for health.
        cost[DISCRETIONARY] -= self.params.ai.personalization_value_usd_per_order * self.ai_level
        cost[HEALTH] -= reach.kiosk * self.params.health.kiosk_value_usd_per_order
        return {AMAZON: cost}

    def _fresh_grocery(self, near: np.ndarray, waiting: np.ndarray, member: np.ndarray,
                       cost: np.ndarray) -> np.ndarray:
        """Grocery from a Whole Foods store nearby comes the same day, free for Prime members and for a
        fee otherwise; households near one take the cheaper of that and Amazon's usual delivery, and
        gain the fresh produce, meat and dairy Amazon's grocery lacked (dollars an order)."""
        stores = self.params.whole_foods
        fresh = np.where(member, 0.0, stores.nonmember_fee_usd) + waiting * self.params.delivery.same_day_days
        return np.where(near, np.minimum(fresh, cost) - stores.fresh_grocery_value_usd_per_order, cost)

    def scalars(self) -> dict[str, float]:
        return {"amazon_rural_stations": self.stations_live, "amazon_rural_towns_served": self.towns_served,
                "marketplace_fba_share": self.fba_share, "marketplace_price_markup": self.marketplace_markup,
                "amazon_ai_level": self.ai_level, "amazon_rural_stations_beyond_cap": self.stations_beyond_cap,
                "prime_fee_usd": self.membership_terms.fee_annual, "amazon_rural_budget_usd": self.rural_budget()}

    def rural_budget(self) -> float:
        """The station budget spent this week, dollars a year (0 outside the programme's dates)."""
        rural = self.params.rural
        return rural.investment_per_year_usd if rural.start <= self.model.date <= rural.end else 0.0

    # -- its accounts ----------------------------------------------------------------------------
    def fraud_exposure(self) -> float:
        """Amazon bears fraud on its own (first-party) sales; sellers bear the rest."""
        return 1.0 - self.params.marketplace.third_party_unit_share

    def own_share(self) -> float:
        """Amazon sells the first-party share of its shoppers' spend; sellers sell the rest."""
        return 1.0 - self.params.marketplace.third_party_unit_share

    def seller_fees(self, gmv: float) -> float:
        """Commission on every seller's sale, and fulfilment fees on the sales Amazon fulfils for them."""
        market = self.params.marketplace
        return market.third_party_unit_share * gmv * (market.referral_fee_share + self.fba_share * market.fba_fee_share)

    def fulfillment_cost(self, sales: Sales) -> float:
        """Fulfilment and shipping of the orders Amazon fulfils: its own and its sellers' Fulfilled-by-Amazon
        ones (sellers ship the rest themselves), less what automation saves."""
        market = self.params.marketplace
        fulfilled = 1.0 - market.third_party_unit_share * (1.0 - self.fba_share)
        return float(sales.orders[AMAZON].sum()) * fulfilled * self.params.delivery.fulfillment_cost_per_order_usd * (
            1.0 - self.params.ai.fulfillment_cost_reduction * self.ai_level
        )
