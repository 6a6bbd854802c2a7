"""Exact expectations for the choice and membership rules on tiny hand-made populations."""

from __future__ import annotations

import datetime as dt
import math
from types import SimpleNamespace

import numpy as np
import pytest

from sim.firms import FIRM_TYPES, Reach
from sim.firms.states import flag_code
from sim.firms.walmart import soft_minimum
from sim.model import choice
from sim.model.choice import Access
from sim.model.memberships import (adoption_probability, churn_probability, decide, membership_values,
                                   neighbour_share, shopping_value)
from sim.model.population import Households
from sim.model.tally import cell_base, tally
from sim.scenario import Scenario, apply_changes
from sim.vocabulary import (AMAZON, DISCRETIONARY, GROCERY, HEALTH, KROGER, N_CATEGORIES, N_CHANNELS, RIVALS, WALMART_ONLINE,
                            WALMART_STORE, Offer)

# Travel 25 mph, $0.30 a mile, 15 minutes in the store; trip shares .6/.3/.1; waits $3/$1.5/$3 a day
# (median income); pickup 60% of a trip; fulfilment taste $4; habit 12% of the basket; offline $20.
BEHAVIOUR = Scenario().shoppers
MEMBERS = Scenario().memberships  # Bass p .03, q .38; value scale $40; churn floor .02, value churn .15
PU = 0.016  # the median household's utility of a dollar
BUDGET = np.array([150.0, 90.0, 20.0])  # a week's basket, grocery / discretionary / health
WAIT = np.array([3.0, 1.5, 3.0])  # dollars a day of waiting, at the median income
SHARE = np.array([0.6, 0.3, 0.1])  # each category's share of a store trip
# Return trips at $18 an hour: 2 x miles x $0.30, plus (2 x miles / 25 mph + 0.25 h) x $18.
WALMART_TRIP = 2 * 5 * 0.30 + (2 * 5 / 25 + 0.25) * 18  # 5 miles: 3.00 + 11.70 = 14.70
RIVAL_TRIP = 2 * 2 * 0.30 + (2 * 2 / 25 + 0.25) * 18  # 2 miles: 1.20 + 7.38 = 8.58
KROGER_TRIP = 2 * 3 * 0.30 + (2 * 3 / 25 + 0.25) * 18  # 3 miles: 1.80 + 8.82 = 10.62


def households(n: int = 1, **columns) -> Households:
    """``n`` identical median households (overridable column by column): near a Kroger store
    (``rival_rank`` 0), not at a service-platform store nor near a clinic (``service_rank`` 1)."""
    ones, zeros = np.ones(n), np.zeros(n)
    base = dict(
        zone=np.zeros(n, dtype=np.int64), state=np.zeros(n, dtype=np.int64), locale=np.zeros(n, dtype=np.int64),
        income=75_000 * ones, price_utility=PU * ones, value_of_time=18.0 * ones,
        budget=BUDGET[:, None] * ones, store_miles=5.0 * ones, rival_miles=2.0 * ones, kroger_miles=3.0 * ones,
        amazon_rank=zeros, rollout_rank=zeros, dark_store_rank=ones, pharmacy_rank=zeros, access_rank=zeros,
        tech_rank=ones, rival_rank=zeros, service_rank=ones, prime_taste=zeros, walmart_plus_taste=zeros,
        walmart_plus_consider=zeros.astype(bool), prime_consider=np.ones(n, dtype=bool),
        neighbours=np.zeros((n, 0), dtype=np.int64),
    )
    base.update(columns)
    return Households(**base)


DISTANCES = ("store_miles", "kroger_miles", "rival_miles")


def offer() -> Offer:
    return Offer(n_zones=1)


def firms(scenario: Scenario | None = None, n_zones: int = 1) -> tuple:
    """The four firms on a scenario's terms (its defaults: Amazon's $3 non-member fee and 1.5 extra
    days, same-day 0.3 / next-day 1 / standard 2 days; Walmart's fees $7.95, $10, $6 with Walmart+,
    members' delivery free from $35, express 0.1 day, standard 1 day, 15-mile radius), without a
    model, and everything reached: same-day Amazon and pharmacy, Walmart express from every store;
    no kiosk, clinic, Whole Foods store, AI tools or turnaround yet."""
    made = []
    for kind in FIRM_TYPES:
        firm = object.__new__(kind)
        firm.model = SimpleNamespace(params=scenario or Scenario(), price_level=1.0)
        firm.price_multiplier, firm.strategic_multiplier = 1.0, np.ones(N_CATEGORIES)
        made.append(firm)
    amazon, walmart, kroger, _rivals = made
    zeros, ones = np.zeros(n_zones), np.ones(n_zones)
    amazon.same_day_reach, amazon.next_day_reach, amazon.kiosk_reach = ones, ones, zeros
    amazon.pharmacy_share, amazon.extra_days, amazon.ai_level = 1.0, 0.0, 0.0
    amazon.whole_foods_reach = None  # no store delivers
    walmart.express_rollout, walmart.pharmacy_share, walmart.dark_store_reach = 1.0, 1.0, zeros
    walmart.clinic_reach, walmart.ai_level = zeros, 0.0
    kroger.turnaround = 0.0
    return tuple(made)


def members(prime: np.ndarray, walmart_plus: np.ndarray) -> dict[str, np.ndarray]:
    return {"prime": prime, "walmart_plus": walmart_plus}


def softmin(options, scale: float = 7.2) -> float:
    """The soft minimum written out: -scale x log(sum of exp(-option / scale))."""
    return -scale * math.log(sum(math.exp(-option / scale) for option in options))


def test_channel_costs_by_hand() -> None:
    h, o, market = households(), offer(), firms()
    access = Access.of(h, o, market)
    member, plain = np.array([True]), np.array([False])
    costs = choice.HouseholdCosts.of(h, BEHAVIOUR, 75_000, DISTANCES)
    assert costs.basket[0] == 260.0  # 150 + 90 + 20
    cost = choice.channel_costs(h, o, access, costs, market, members(member, plain))
    # Prime member with same-day: basket plus 0.3 days of waiting; no fee.
    assert cost[AMAZON, :, 0] == pytest.approx([150 + 3 * 0.3, 90 + 1.5 * 0.3, 20 + 3 * 0.3])
    assert cost[WALMART_STORE, :, 0] == pytest.approx([150 + 0.6 * WALMART_TRIP, 90 + 0.3 * WALMART_TRIP,
                                                       20 + 0.1 * WALMART_TRIP])
    # Walmart online without Walmart+, the three ways to get an order:
    #   pickup   60% of the category's share of the trip: 0.36 x 14.70 = 5.292, 2.646, 0.882
    #   delivery $7.95 + a day of waiting:              10.95, 9.45, 10.95
    #   express  $10 + 0.1 day of waiting:              10.30, 10.15, 10.30
    # and the household's expected cost of its pick, a logit among them with a $7.20 spread of taste
    # (5 / ln 2, AlixPartners): grocery -7.2 log(e^-0.735 + e^-1.5208 + e^-1.4306)
    # = -7.2 log(0.4795 + 0.2185 + 0.2392) = -7.2 log(0.9372) = 0.467, below the cheapest option
    # (5.29): the option to pick is worth something.
    pickup = 0.6 * SHARE * WALMART_TRIP
    delivery = 7.95 + WAIT * 1.0
    express = 10 + WAIT * 0.1
    online = [softmin([pickup[c], delivery[c], express[c]]) for c in range(3)]
    assert BEHAVIOUR.fulfilment_taste_usd == 7.2
    assert online[0] == pytest.approx(0.467, abs=5e-4)
    assert cost[WALMART_ONLINE, :, 0] == pytest.approx(BUDGET + online)
    assert cost[KROGER, :, 0] == pytest.approx(BUDGET + SHARE * KROGER_TRIP)
    assert cost[RIVALS, :, 0] == pytest.approx(BUDGET + SHARE * RIVAL_TRIP)

    no_prime = choice.channel_costs(h, o, access, costs, market, members(plain, plain))
    assert no_prime[AMAZON, 0, 0] == pytest.approx(150 + 3.0 + 3 * (0.3 + 1.5))
    # With Walmart+: $0.80 of fuel off the trip (14.70 -> 13.90), delivery free on a $260 week, express $6.
    plus = choice.channel_costs(h, o, access, costs, market, members(plain, member))
    trip = WALMART_TRIP - 0.8
    assert plus[WALMART_STORE, :, 0] == pytest.approx(BUDGET + SHARE * trip)
    online = [softmin([0.6 * SHARE[c] * trip, WAIT[c] * 1.0, 6 + WAIT[c] * 0.1]) for c in range(3)]
    assert plus[WALMART_ONLINE, :, 0] == pytest.approx(BUDGET + online)


def test_soft_minimum() -> None:
    """At most the cheapest option; the cheapest as the spread goes to zero; n equal options are
    worth scale x log(n) less than one; an option out of reach (infinite) counts for nothing."""
    options = np.array([[5.0], [7.0], [9.0]])
    assert soft_minimum(options, 4.0)[0] == pytest.approx(softmin([5, 7, 9], 4.0))
    assert soft_minimum(options, 4.0)[0] < 5.0
    assert soft_minimum(options, 1e-3)[0] == pytest.approx(5.0)
    assert soft_minimum(np.full((3, 1), 6.0), 2.0)[0] == pytest.approx(6.0 - 2.0 * math.log(3))
    assert soft_minimum(np.array([[5.0], [7.0], [np.inf]]), 4.0)[0] == pytest.approx(softmin([5, 7], 4.0))


def test_express_only_where_it_reaches_and_for_health_only_with_pharmacy_express() -> None:
    """Express is no option where it does not reach; for health it also needs pharmacy express."""
    h, o = households(3, rollout_rank=np.array([0.0, 0.0, 1.0]), pharmacy_rank=np.array([0.0, 0.9, 0.0])), offer()
    market = firms()
    walmart = market[1]
    walmart.express_rollout, walmart.pharmacy_share = 0.5, 0.5  # households 0 and 1 reached; pharmacy: 0 only
    reach = walmart.reach(h, o)
    assert reach.express.tolist() == [True, True, False] and reach.walmart_pharmacy.tolist() == [True, False, False]
    costs = choice.HouseholdCosts.of(h, BEHAVIOUR, 75_000, DISTANCES)
    options = walmart.online_options(reach, costs, np.zeros(3, bool))
    assert options[2, :, 0] == pytest.approx(10 + WAIT * 0.1)
    assert options[2, :HEALTH, 1] == pytest.approx(10 + WAIT[:HEALTH] * 0.1) and options[2, HEALTH, 1] == np.inf
    assert np.isinf(options[2, :, 2]).all()
    online = walmart.service_costs(reach, costs, np.zeros(3, bool))[WALMART_ONLINE]
    assert online[HEALTH, 1] == pytest.approx(softmin([0.6 * 0.1 * WALMART_TRIP, 7.95 + 3.0]))
    assert online[HEALTH, 0] == pytest.approx(softmin([0.6 * 0.1 * WALMART_TRIP, 7.95 + 3.0, 10 + 0.3]))


def test_members_deliver_free_from_the_minimum_basket() -> None:
    """Walmart+ members pay no standard delivery fee when their week's basket is at least $35;
    below it they pay the $7.95 as non-members always do."""
    scale = np.array([34.99, 35.0, 100.0]) / 260.0  # weekly baskets of $34.99, $35 and $100
    h = households(3, budget=BUDGET[:, None] * scale)
    walmart = firms()[1]
    costs = choice.HouseholdCosts.of(h, BEHAVIOUR, 75_000, DISTANCES)
    assert costs.basket == pytest.approx([34.99, 35.0, 100.0])
    reach = walmart.reach(h, offer())
    member = walmart.online_options(reach, costs, np.ones(3, bool))[1]
    plain = walmart.online_options(reach, costs, np.zeros(3, bool))[1]
    assert member[:, 0] == pytest.approx(7.95 + WAIT)  # $34.99: pays the fee
    assert member[:, 1] == pytest.approx(WAIT) and member[:, 2] == pytest.approx(WAIT)  # free
    assert plain == pytest.approx(7.95 + WAIT[:, None] * np.ones(3))
    # The minimum is a lever: at $150 none of the three weeks qualifies.
    scenario = apply_changes(Scenario(), {"walmart.online.member_free_delivery_minimum_usd": 150.0})
    dear = firms(scenario)[1].online_options(reach, costs, np.ones(3, bool))[1]
    assert dear == pytest.approx(7.95 + WAIT[:, None] * np.ones(3))


def test_store_services_only_at_the_stores_that_offer_them() -> None:
    """A service-platform store (``service_rank`` below the level, 0.2) makes the trip worth $2.50
    more, spread over the categories by their share of the trip: 1.50, 0.75, 0.25; others see no change."""
    h = households(3, service_rank=np.array([0.1, 0.2, 0.9]))
    walmart = firms()[1]
    reach = walmart.reach(h, offer())
    assert reach.store_services.tolist() == [True, False, False]
    costs = choice.HouseholdCosts.of(h, BEHAVIOUR, 75_000, DISTANCES)
    service = walmart.service_costs(reach, costs, np.zeros(3, bool))
    assert service[WALMART_STORE][:, 0] == pytest.approx(SHARE * (WALMART_TRIP - 2.5))
    assert service[WALMART_STORE][:, 1] == pytest.approx(SHARE * WALMART_TRIP)
    assert service[WALMART_STORE][:, 2] == pytest.approx(SHARE * WALMART_TRIP)
    assert np.array_equal(service[WALMART_ONLINE][:, 0], service[WALMART_ONLINE][:, 2]), "online is no store trip"


def test_a_clinic_is_worth_something_only_near_one() -> None:
    """Zone 0 lies in a state without clinics, zone 1 in a clinic state where clinics reach 40% of
    households: only a household of zone 1 with ``service_rank`` below 0.4 pays $2.50 less for health
    at the store. (Ranks of 0.3 and 0.9: above the 0.2 of service-platform stores, which share the rank.)"""
    h = households(4, zone=np.array([0, 0, 1, 1]), service_rank=np.array([0.3, 0.9, 0.3, 0.9]))
    walmart = firms(n_zones=2)[1]
    walmart.clinic_reach = np.array([0.0, 0.4])
    reach = walmart.reach(h, Offer(n_zones=2))
    assert reach.clinic.tolist() == [False, False, True, False]
    costs = choice.HouseholdCosts.of(h, BEHAVIOUR, 75_000, DISTANCES)
    store = walmart.service_costs(reach, costs, np.zeros(4, bool))[WALMART_STORE]
    assert store[HEALTH] == pytest.approx([0.1 * WALMART_TRIP] * 2 + [0.1 * WALMART_TRIP - 2.5, 0.1 * WALMART_TRIP])
    assert np.array_equal(store[:HEALTH, 2], store[:HEALTH, 3]), "a clinic serves health only"


def test_clinics_reach_households_in_their_states_only() -> None:
    """51 clinics of 60,000 households each in AR, FL, GA, IL and TX: 3.06 million households of the
    30.9 million there (77,219,632 of 331,449,281 people in 2020, of the 132.74 million households a
    catchment is counted in, ACS 2024), a share of 0.0989 of each of their zones; none elsewhere; none
    when the clinics close."""
    from sim.model.market import RetailMarket

    from .conftest import small

    model = RetailMarket(small(population__shoppers=2000))
    model.step()
    geography, walmart = model.geography, model.walmart
    in_states = geography.zones_in(["AR", "FL", "GA", "IL", "TX"])
    assert model.catchment_households == pytest.approx(132.74e6, rel=1e-4)
    expected = 51 * 60_000 / (model.catchment_households * 77_219_632 / 331_449_281)
    assert expected == pytest.approx(0.0989, abs=1e-4)
    assert walmart.clinic_reach[in_states] == pytest.approx(np.full(in_states.sum(), expected), rel=1e-6)
    assert (walmart.clinic_reach[~in_states] == 0).all()
    clinic = model.access.firms["walmart"].clinic
    h = model.households
    assert np.array_equal(clinic, in_states[h.zone] & (h.service_rank < expected))
    assert 0 < clinic.sum() < in_states[h.zone].sum()
    model.params = apply_changes(model.params, {"walmart.health.clinics_open": False})
    walmart.prepare(model.date, model.offer)
    assert (walmart.clinic_reach == 0).all()
    model.params = apply_changes(model.params, {"walmart.health.clinics_open": True,
                                                "walmart.health.clinic_states": ["CA"]})
    walmart.prepare(model.date, model.offer)
    california = geography.zones_in(["CA"])
    assert (walmart.clinic_reach[~california] == 0).all() and (walmart.clinic_reach[california] > 0).all()


def test_kroger_is_an_option_only_near_its_stores_and_its_turnaround_only_helps_there() -> None:
    """Kroger's stores are near the households with ``rival_rank`` below 0.45. Halfway through its
    turnaround (a year of a two-year ramp to full) a purchase there is worth $1 x 0.4997 more and its
    prices are 3% x 0.4997 lower; the other grocers are untouched."""
    scenario = apply_changes(Scenario(), {"kroger.turnaround.programme.target": 1.0})
    h = households(2, rival_rank=np.array([0.2, 0.7]))
    market = firms(scenario)
    kroger, rivals = market[2], market[3]
    o = offer()
    before_rivals = rivals.service_costs(rivals.reach(h, o), choice.HouseholdCosts.of(h, BEHAVIOUR, 75_000, DISTANCES),
                                         None)[RIVALS]
    day = dt.date(2027, 2, 9)  # a year after the start, 2026-02-09
    level = (day - dt.date(2026, 2, 9)).days / (365.25 * 2)  # 365 / 730.5 = 0.49966
    kroger.prepare(day, o)
    rivals.prepare(day, o)
    assert kroger.turnaround == pytest.approx(level)
    assert o.price[KROGER] == pytest.approx(np.array([1.08, 1.06, 1.02]) * (1 - 0.03 * level))
    assert o.price[RIVALS] == pytest.approx([1.03, 1.04, 1.02])
    reach = kroger.reach(h, o)
    assert reach.kroger_store.tolist() == [True, False]
    costs = choice.HouseholdCosts.of(h, BEHAVIOUR, 75_000, DISTANCES)
    trip = kroger.service_costs(reach, costs, None)[KROGER]
    assert trip[:, 0] == pytest.approx(SHARE * KROGER_TRIP - 1.0 * level)
    assert (trip[:, 1] >= 1e5 - 1).all(), "no store nearby: no option"
    assert np.array_equal(rivals.service_costs(rivals.reach(h, o), costs, None)[RIVALS], before_rivals)
    # In the choice, the household far from a store never picks Kroger (a weight of exactly zero).
    value = choice.utilities(h, o, Access.of(h, o, market), costs, market, members(np.zeros(2, bool),
                                                                                    np.zeros(2, bool)))
    probability, _ = choice.logit(value)
    assert (probability[KROGER, :, 1] == 0).all() and (probability[KROGER, :, 0] > 0).all()


def test_every_firm_service_in_dollars_by_hand() -> None:
    """AI tools at Walmart ($0.30 at full roll-out, half rolled out: $0.15 off every purchase, store
    and online), Amazon's personalization ($0.80 x 0.5 off discretionary), a kiosk ($3 off health),
    fresh grocery from Whole Foods (the cheaper of same-day from the store and the usual delivery,
    less $6)."""
    h, o = households(), offer()
    market = firms()
    amazon, walmart = market[0], market[1]
    costs = choice.HouseholdCosts.of(h, BEHAVIOUR, 75_000, DISTANCES)
    plain = np.zeros(1, bool)
    base_a = amazon.service_costs(amazon.reach(h, o), costs, plain)[AMAZON][:, 0]
    base_w = walmart.service_costs(walmart.reach(h, o), costs, plain)
    amazon.ai_level, walmart.ai_level = 0.5, 0.5
    amazon.kiosk_reach, amazon.whole_foods_reach = np.ones(1), np.ones(1)
    reach = amazon.reach(h, o)
    assert reach.kiosk.tolist() == [True] and reach.whole_foods.tolist() == [True]
    now_a = amazon.service_costs(reach, costs, plain)[AMAZON][:, 0]
    # Non-member grocery: usual same-day $3 + 1.8 days x $3 = $8.40; from the store $12.99 + 0.3 x $3 = $13.89.
    assert base_a[GROCERY] == pytest.approx(3 + 3 * 1.8)
    assert now_a[GROCERY] == pytest.approx(min(12.99 + 0.9, 8.4) - 6.0)
    assert now_a[DISCRETIONARY] == pytest.approx(base_a[DISCRETIONARY] - 0.8 * 0.5)
    assert now_a[HEALTH] == pytest.approx(base_a[HEALTH] - 3.0)
    now_w = walmart.service_costs(walmart.reach(h, o), costs, plain)
    for channel in (WALMART_STORE, WALMART_ONLINE):
        assert now_w[channel][:, 0] == pytest.approx(base_w[channel][:, 0] - 0.3 * 0.5)


def every_service_state() -> tuple[Households, Access, np.ndarray, np.ndarray]:
    """128 households, one per combination of the five access flags that set service costs and the
    two memberships, each with its own income, store distance and basket (from $390 down to $13 a week,
    so that some members' baskets are below the $35 of free delivery); kiosks, service-platform stores
    and clinics reach some of them."""
    n = 1 << 7
    bits = (np.arange(n)[:, None] >> np.arange(7)) & 1 == 1
    h = households(n, income=np.linspace(30_000, 200_000, n), store_miles=np.linspace(1, 40, n),
                   budget=BUDGET[:, None] * np.linspace(1.5, 0.05, n))
    amazon = dict(same_day=bits[:, 0], next_day=bits[:, 1], amazon_pharmacy=bits[:, 2])
    walmart = dict(express=bits[:, 3], walmart_pharmacy=bits[:, 4])
    reach = {"amazon": Reach({**amazon, "kiosk": bits[:, 0]}, flag_code(list(amazon.values()))),
             "walmart": Reach({**walmart, "store_services": bits[:, 1], "clinic": bits[:, 2]},
                              flag_code(list(walmart.values()))),
             "kroger": Reach({"kroger_store": bits[:, 3]}), "rivals": Reach()}
    return h, Access(np.ones(n, bool), np.zeros(n, bool), reach), bits[:, 5], bits[:, 6]


def test_service_costs_follow_the_rules_in_every_state() -> None:
    """The cost tables indexed by state codes give what the rules give household by household."""
    scenario = apply_changes(Scenario(), {
        "amazon.delivery.next_day_days": 1.1, "amazon.delivery.standard_days": 2.7,
        "amazon.health.pharmacy_days_without_same_day": 1.9, "walmart.online.express_days": 0.15,
        "walmart.online.standard_days": 1.3, "walmart.fuel_saving_per_trip_usd": 2.5})
    amazon_firm, walmart_firm, _, _ = firms(scenario)
    amazon_firm.extra_days, amazon_firm.ai_level, walmart_firm.ai_level = 0.4, 0.7, 0.6
    h, access, prime, plus = every_service_state()
    costs = choice.HouseholdCosts.of(h, BEHAVIOUR, 75_000, DISTANCES)
    amazon = amazon_firm.service_costs(access.firms["amazon"], costs, prime)[AMAZON]
    walmart = walmart_firm.service_costs(access.firms["walmart"], costs, plus)
    store, online = walmart[WALMART_STORE], walmart[WALMART_ONLINE]
    flag = access.flags()
    assert 0 < (plus & (costs.basket < 35)).sum() < (plus & (costs.basket >= 35)).sum()
    for i in range(h.n):
        wait = costs.waiting[:, i]
        days = (0.3 if flag['same_day'][i] else 1.1 if flag['next_day'][i] else 2.7) + 0.4 + (0.0 if prime[i] else 1.5)
        health = 0.3 if flag['amazon_pharmacy'][i] else 1.9
        fee = 0.0 if prime[i] else 3.0
        kiosk = 3.0 if flag['kiosk'][i] else 0.0
        assert amazon[:, i] == pytest.approx([fee + wait[0] * days, fee + wait[1] * days - 0.8 * 0.7,
                                              fee + wait[2] * health - kiosk], rel=1e-12)
        trip = costs.trips["store_miles"][i] - (2.5 if plus[i] else 0.0)
        services = 2.5 if flag['store_services'][i] else 0.0
        clinic = np.array([0.0, 0.0, 2.5 if flag['clinic'][i] else 0.0])
        assert store[:, i] == pytest.approx(SHARE * (trip - services) - clinic - 0.3 * 0.6, rel=1e-12)
        free = plus[i] and h.budget[:, i].sum() >= 35.0
        express_fee = 6.0 if plus[i] else 10.0
        for category in range(3):
            options = [SHARE[category] * 0.6 * trip, (0.0 if free else 7.95) + wait[category] * 1.3]
            if flag['walmart_pharmacy' if category == HEALTH else 'express'][i]:
                options.append(express_fee + wait[category] * 0.15)
            assert online[category, i] == pytest.approx(softmin(options) - 0.3 * 0.6, rel=1e-12, abs=1e-12)
    # A part of the households sees the same codes as the whole.
    part = access.part(slice(40, 90))
    assert np.array_equal(amazon_firm.service_costs(part.firms["amazon"], costs.part(slice(40, 90)), prime[40:90])[AMAZON],
                          amazon[:, 40:90])
    assert np.array_equal(walmart_firm.service_costs(part.firms["walmart"], costs.part(slice(40, 90)),
                                                     plus[40:90])[WALMART_ONLINE], online[:, 40:90])


def test_tally_counts_each_household_once() -> None:
    """Orders, users and dollars by (locale, category, channel) equal a household-by-household count."""
    rng = np.random.default_rng(7)
    n = 500
    locale = rng.integers(0, 3, n)
    chosen = rng.integers(0, N_CHANNELS, (3, n)).astype(np.int8)
    budget, spend = rng.random((3, n)) * 100, rng.random((3, n)) * 120
    week = tally(locale, cell_base(locale), chosen, spend, budget)
    firm_channels = [(AMAZON,), (WALMART_STORE, WALMART_ONLINE), (KROGER,), (RIVALS,)]
    orders, users = np.zeros((3, 3, N_CHANNELS)), np.zeros((N_CHANNELS + len(firm_channels), 3))
    for i in range(n):
        for category in range(3):
            orders[locale[i], category, chosen[category, i]] += 1
        used = set(chosen[:, i].tolist())
        for channel in range(N_CHANNELS):
            users[channel, locale[i]] += channel in used
        for row, channels in enumerate(firm_channels, start=N_CHANNELS):
            users[row, locale[i]] += bool(used & set(channels))
    assert np.array_equal(week.orders, orders)
    assert np.array_equal(week.users, users)
    locale_channel = [(locale == loc)[None, :] & (chosen == ch) for loc in range(3) for ch in range(N_CHANNELS)]
    assert week.spend.sum(axis=1).ravel() == pytest.approx([(spend * mask).sum() for mask in locale_channel])
    assert week.base_spend.sum(axis=1).ravel() == pytest.approx([(budget * mask).sum() for mask in locale_channel])


def test_neighbour_share_is_the_mean_over_each_households_neighbours() -> None:
    rng = np.random.default_rng(3)
    holds = rng.random(200) < 0.4
    for network in (rng.integers(0, 200, (200, 6)), np.asfortranarray(rng.integers(0, 200, (200, 6)))):
        assert np.array_equal(neighbour_share(holds, network), holds[network].mean(axis=1))
        chances = rng.random(200)  # a chance of holding: the neighbours' mean chance
        assert np.allclose(neighbour_share(chances, network), chances[network].mean(axis=1))
    assert neighbour_share(holds, np.zeros((200, 0), dtype=np.int64)).tolist() == [0.0] * 200


def test_logit_probabilities_logsum_and_draw() -> None:
    value = np.array([0.0, math.log(2), 0.0, 0.0, 0.0]).reshape(5, 1, 1)
    probability, expected_best = choice.logit(value)
    assert probability[:, 0, 0] == pytest.approx([1 / 6, 2 / 6, 1 / 6, 1 / 6, 1 / 6])
    assert expected_best[0, 0] == pytest.approx(math.log(6))
    uniforms = np.array([[0.16, 0.17, 0.49, 0.51, 0.67, 0.84]])
    stacked = np.repeat(probability, 6, axis=2)
    assert choice.draw(stacked, uniforms).tolist() == [[0, 1, 1, 2, 3, 4]]


def test_habit_moves_towards_the_choice() -> None:
    habit = np.zeros((N_CHANNELS, 3, 2))
    choice.update_habit(habit, np.array([[1, 3], [0, 0], [2, 2]]), rate=0.25)
    assert habit[1, 0, 0] == 0.25 and habit[3, 0, 1] == 0.25 and habit[0, 1, :].tolist() == [0.25, 0.25]
    choice.update_habit(habit, np.array([[1, 1], [0, 0], [2, 2]]), rate=0.25)
    assert habit[1, 0, 0] == pytest.approx(0.25 * 0.75 + 0.25)
    assert habit[:, :, 0].sum(axis=0) == pytest.approx([0.4375, 0.4375, 0.4375])


def test_habit_is_a_share_of_the_basket_in_the_households_own_dollars() -> None:
    """A full habit on Amazon adds 12% of the category's basket, in utility at the household's own
    price sensitivity: 0.12 x $150 x 0.016 = 0.288 for grocery, and it is all lean."""
    h, o, market = households(2, price_utility=np.array([PU, 2 * PU])), offer(), firms()
    h.habit[AMAZON] = 1.0
    costs = choice.HouseholdCosts.of(h, BEHAVIOUR, 75_000, DISTANCES)
    held = members(np.zeros(2, bool), np.zeros(2, bool))
    value, lean = choice.decision_utilities(h, o, Access.of(h, o, market), costs, market, held)
    assert lean[AMAZON, :, 0] == pytest.approx(0.12 * BUDGET * PU)
    assert lean[AMAZON, GROCERY, 0] == pytest.approx(0.288)
    assert lean[AMAZON, :, 1] == pytest.approx(0.12 * BUDGET * 2 * PU)
    assert (lean[[WALMART_STORE, WALMART_ONLINE, KROGER, RIVALS]] == 0).all()
    h.habit[:] = 0.0
    without, _ = choice.decision_utilities(h, o, Access.of(h, o, market), costs, market, held)
    assert value - without == pytest.approx(lean)


def test_online_gain_is_worth_an_online_price_cut_of_that_share_of_the_basket() -> None:
    """Online's gain of 5% of the basket is worth, to each household, what a 5% lower price at both
    online channels is: 0.05 x $150 x 0.016 = 0.12 on Amazon's grocery for the first household,
    twice that for the second (twice as price-sensitive). It is value, not lean; stores gain nothing."""
    h, o, market = households(2, price_utility=np.array([PU, 2 * PU])), offer(), firms()
    costs = choice.HouseholdCosts.of(h, BEHAVIOUR, 75_000, DISTANCES)
    held = members(np.zeros(2, bool), np.zeros(2, bool))
    base, _ = choice.decision_utilities(h, o, Access.of(h, o, market), costs, market, held)
    o.online_gain = 0.05
    gained, lean = choice.decision_utilities(h, o, Access.of(h, o, market), costs, market, held)
    assert gained[AMAZON, GROCERY, 0] - base[AMAZON, GROCERY, 0] == pytest.approx(0.12)
    assert gained[WALMART_ONLINE, :, 1] - base[WALMART_ONLINE, :, 1] == pytest.approx(0.05 * BUDGET * 2 * PU)
    assert gained[[WALMART_STORE, KROGER, RIVALS]] == pytest.approx(base[[WALMART_STORE, KROGER, RIVALS]])
    o.online_gain = 0.0
    o.price[[AMAZON, WALMART_ONLINE]] = 0.95
    cut, cut_lean = choice.decision_utilities(h, o, Access.of(h, o, market), costs, market, held)
    assert gained == pytest.approx(cut) and lean == pytest.approx(cut_lean)


def test_agents_pick_the_online_offer_and_households_decide_on_online_as_they_would_themselves() -> None:
    """Two households alike but that the first delegates to an agent (price focus 2, partner $1.50,
    7% of its orders routed to the partner). Its own value and lean of each channel are the person's.
    Its agent's priorities on the online offers are -(2 - 1) x 0.016 x the channel's dollars,
    +2 x 0.016 x $1.50 on Walmart online; the agent sends 7% of its online orders to Walmart online
    and picks the rest by the logit of value plus priorities, without habit or loyalty. The household
    decides whether to shop online as the person would (the online offers together weigh the same for
    both households). So the flat choice is the nest exactly. For welfare the agent household's lean
    on both online channels also holds the taste its routed orders are credited with but do not earn,
    ``H(split) - 0.93 H(pick)``: its own value is the person's once that is added back."""
    partner = {"walmart": {"agentic": {"partner_value_usd_per_order": 1.5, "partner_order_share": 0.07}}}
    h, o, market = households(2, tech_rank=np.array([0.0, 1.0])), offer(), firms(Scenario.model_validate(partner))
    o.agentic_share, o.agent_price_focus = 0.5, 2.0
    h.habit[AMAZON] = 0.7
    h.habit[WALMART_STORE] = 0.3
    access = Access.of(h, o, market)
    assert access.agent.tolist() == [True, False]
    costs = choice.HouseholdCosts.of(h, BEHAVIOUR, 75_000, DISTANCES)
    held = members(np.ones(2, bool), np.zeros(2, bool))
    value, lean = choice.decision_utilities(h, o, access, costs, market, held)
    assert choice.utilities(h, o, access, costs, market, held) == pytest.approx(value)
    dollars = choice.channel_costs(h, o, access, costs, market, held)[:, :, 0]
    assert np.array_equal(dollars, choice.channel_costs(h, o, access, costs, market, held)[:, :, 1])
    own = value - lean
    assert own[[WALMART_STORE, KROGER, RIVALS], :, 0] == pytest.approx(own[[WALMART_STORE, KROGER, RIVALS], :, 1])
    online = [AMAZON, WALMART_ONLINE]
    unearned = own[online, :, 1] - own[online, :, 0]
    assert unearned[0] == pytest.approx(unearned[1]), "the same on both online channels"
    own = own[:, :, 1:].repeat(2, axis=2)  # the same own value (checked below through the unearned taste)
    habit = 0.12 * BUDGET * PU  # a habit of 1 is worth 12% of the basket
    loyalty = 12.0 * PU  # Prime's $12 an order, on Amazon
    expected_person = np.zeros_like(dollars)
    expected_person[AMAZON] = 0.7 * habit + loyalty
    expected_person[WALMART_STORE] = 0.3 * habit
    assert lean[:, :, 1] == pytest.approx(expected_person)
    # The agent household, by hand: its agent's priorities and pick on the online offers.
    priorities = -(2.0 - 1.0) * PU * dollars[online]
    priorities[1] += 2.0 * PU * 1.5
    pick = np.exp(own[online, :, 0] + priorities)
    person = np.exp(own[online, :, 0] + expected_person[online])
    pick /= pick.sum(axis=0)
    split = 0.93 * pick + np.array([0.0, 0.07])[:, None]  # its logit's pick of 93% of the orders, 7% routed
    expected_agent = np.log(split) - own[online, :, 0] + np.log(person.sum(axis=0))
    entropy = -(split * np.log(split)).sum(axis=0) + 0.93 * (pick * np.log(pick)).sum(axis=0)
    assert unearned[0] == pytest.approx(entropy) and entropy.min() > 0.01
    assert lean[online, :, 0] == pytest.approx(expected_agent + entropy)
    assert lean[[WALMART_STORE, KROGER, RIVALS], :, 0] == pytest.approx(expected_person[[WALMART_STORE, KROGER, RIVALS]])
    # The flat logit is the nest: the agent's split within online, the person's weighing of online.
    probability = np.exp(value) / np.exp(value).sum(axis=0)
    assert probability[online, :, 0] / probability[online, :, 0].sum(axis=0) == pytest.approx(split)
    assert probability[online, :, 0].sum(axis=0) == pytest.approx(probability[online, :, 1].sum(axis=0))
    assert np.abs(pick - person / person.sum(axis=0)).max() > 0.01, "the agent moves the pick"


def test_members_lean_on_their_membership_firms_channels() -> None:
    """Prime's $12 and Walmart+'s $2.60 of loyalty an order, at 0.016 a dollar: 0.192 on Amazon for a
    Prime member, 0.0416 on both Walmart channels for a Walmart+ member; nothing elsewhere."""
    h, o, market = households(2), offer(), firms()
    costs = choice.HouseholdCosts.of(h, BEHAVIOUR, 75_000, DISTANCES)
    access = Access.of(h, o, market)
    _, lean = choice.decision_utilities(h, o, access, costs, market, members(np.array([True, False]),
                                                                              np.array([False, True])))
    assert lean[AMAZON, :, 0] == pytest.approx([0.192] * 3) and (lean[[1, 2, 3, 4], :, 0] == 0).all()
    assert lean[WALMART_STORE, :, 1] == pytest.approx([0.0416] * 3)
    assert lean[WALMART_ONLINE, :, 1] == pytest.approx([0.0416] * 3)
    assert (lean[[AMAZON, KROGER, RIVALS], :, 1] == 0).all()


def test_no_broadband_penalises_online_channels_only() -> None:
    h, o, market = households(2, access_rank=np.array([0.0, 1.0])), offer(), firms()
    o.broadband[:] = 0.5
    value = choice.utilities(h, o, Access.of(h, o, market), choice.HouseholdCosts.of(h, BEHAVIOUR, 75_000, DISTANCES),
                             market, members(np.ones(2, bool), np.zeros(2, bool)))
    gap = value[:, :, 0] - value[:, :, 1]
    assert gap[AMAZON] == pytest.approx([20.0 * PU] * 3)  # $20 an order at 0.016 a dollar: 0.32
    assert gap[WALMART_ONLINE] == pytest.approx([0.32] * 3)
    for channel in (WALMART_STORE, KROGER, RIVALS):
        assert gap[channel] == pytest.approx([0] * 3)


def test_membership_value_leaves_out_loyalty() -> None:
    """A member's loyalty leans its choices but is not what it expects of the membership: the value of
    Prime is the same whatever Prime's loyalty, and a member values it as a non-member does whose
    other membership is the same; likewise Walmart+. (The other membership's loyalty does lean the
    choices the valuation weighs, so it is held fixed.)"""
    h, o = households(4), offer()
    prime, plus = np.array([True, True, False, False]), np.array([True, False, True, False])
    h.prime, h.walmart_plus = prime, plus
    costs = choice.HouseholdCosts.of(h, BEHAVIOUR, 75_000, DISTANCES)
    h.habit[:, :, :] = 0.2

    def values(name: str, loyalty: float) -> np.ndarray:
        block = {"prime": "amazon.prime", "walmart_plus": "walmart.walmart_plus"}[name]
        scenario = apply_changes(Scenario(), {f"{block}.loyalty_usd_per_order": loyalty})
        market = firms(scenario)
        access = Access.of(h, o, market)
        value, lean = choice.decision_utilities(h, o, access, costs, market, members(prime, plus))
        _, weights, _ = choice.exponentials(value)
        return membership_values(h, access, scenario, costs, weights, lean, market)[name]

    for name, pairs in (("prime", [(0, 2), (1, 3)]), ("walmart_plus", [(0, 1), (2, 3)])):
        none, strong = values(name, 0.0), values(name, 25.0)
        assert strong == pytest.approx(none, rel=1e-9)
        for member, other in pairs:
            assert strong[member] == pytest.approx(strong[other], rel=1e-9)


def test_membership_rules_by_hand() -> None:
    half = np.array([0.5])
    assert adoption_probability(np.array([0.0]), half, MEMBERS)[0] == pytest.approx((0.03 + 0.38 * 0.5) / 12 * 0.5)
    assert churn_probability(np.array([0.0]), np.array([24]), MEMBERS)[0] == pytest.approx((0.02 + 0.15 * 0.5) / 12)
    assert churn_probability(np.array([0.0]), np.array([3]), MEMBERS)[0] == pytest.approx(3.5 * (0.02 + 0.15 * 0.5) / 12)
    # A membership's own churn floor replaces the shared one.
    assert churn_probability(np.array([0.0]), np.array([24]), MEMBERS, floor=0.10)[0] == pytest.approx(
        (0.10 + 0.15 * 0.5) / 12)
    join = (0.03 + 0.38 * 0.5) / 12 * 0.5
    holds, months = decide(np.array([False, False, True, True]), np.array([0, 0, 30, 30]), np.zeros(4),
                           np.full(4, 0.5), np.array([join - 1e-9, join + 1e-9, 0.0, 0.99]), MEMBERS)
    assert holds.tolist() == [True, False, False, True]
    assert months.tolist() == [1, 0, 0, 31]
    leave = (0.10 + 0.15 * 0.5) / 12
    holds, _ = decide(np.array([True, True]), np.array([30, 30]), np.zeros(2), np.zeros(2),
                      np.array([leave - 1e-9, leave + 1e-9]), MEMBERS, floor=0.10)
    assert holds.tolist() == [False, True]
    none, _ = decide(np.array([True]), np.array([5]), np.array([1e6]), half, np.array([0.99]), MEMBERS, available=False)
    assert not none.any()


def test_shopping_value_is_the_yearly_logsum_gain_in_dollars() -> None:
    gain = shopping_value(np.full((3, 1), 0.01), np.zeros((3, 1)), np.array([0.03]))
    assert gain[0] == pytest.approx(52 * 0.03 / 0.03)


def test_adaptive_pricing_keeps_direction_while_profit_rises_and_reverses_when_it_falls() -> None:
    from sim.model.market import RetailMarket

    from .conftest import small

    model = RetailMarket(small(population__shoppers=20, walmart__pricing__enabled=True, walmart__pricing__step=0.01,
                               walmart__pricing__floor=0.975))
    walmart, amazon = model.walmart, model.amazon
    steps = []
    for profit in (100.0, 120.0, 90.0, 80.0, 85.0, 10.0, 5.0):
        walmart.month_profit, amazon.month_profit = profit, profit
        walmart.adapt_prices()
        amazon.adapt_prices()
        steps.append(round(walmart.price_multiplier, 6))
    # First month: no comparison, starts downwards (x0.99). 120 > 100: keep going down. 90 < 120: reverse
    # (x1.01). 80 < 90: reverse (down). 85 > 80: keep down, clipped at the 0.975 floor. 10 < 85: reverse
    # (up). 5 < 10: reverse (down), clipped again.
    assert steps == [0.99, 0.9801, 0.989901, 0.980002, 0.975, 0.98475, 0.975]
    assert amazon.price_multiplier == 1.0, "pricing is switched on per firm"
