"""Exact expectations for the choice and membership rules on tiny hand-made populations."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from sim.firms import FIRM_TYPES, Reach
from sim.firms.states import flag_code
from sim.model import choice
from sim.model.choice import Access
from sim.model.memberships import adoption_probability, churn_probability, decide, neighbour_share, shopping_value
from sim.model.population import Households
from sim.model.tally import cell_base, tally
from sim.scenario import Scenario, apply_changes
from sim.vocabulary import AMAZON, RIVALS, WALMART_ONLINE, WALMART_STORE, Offer

BEHAVIOUR = Scenario().shoppers  # travel 25 mph, $0.30/mile, trip shares .6/.3/.1, waits $8/$2/$6 a day
MEMBERS = Scenario().memberships  # Bass p .03, q .38; value scale $40; churn floor .02, value churn .15


def households(n: int = 1, **columns) -> Households:
    """``n`` identical median households (overridable column by column)."""
    ones, zeros = np.ones(n), np.zeros(n)
    base = dict(
        zone=np.zeros(n, dtype=np.int64), state=np.zeros(n, dtype=np.int64), locale=np.zeros(n, dtype=np.int64),
        income=75_000 * ones, price_utility=0.03 * ones, value_of_time=18.0 * ones,
        budget=np.array([[150.0], [90.0], [20.0]]) * ones, store_miles=5.0 * ones, rival_miles=2.0 * ones,
        amazon_rank=zeros, rollout_rank=zeros, dark_store_rank=ones, pharmacy_rank=zeros, access_rank=zeros,
        tech_rank=ones, prime_taste=zeros, walmart_plus_taste=zeros, walmart_plus_consider=zeros.astype(bool),
        neighbours=np.zeros((n, 0), dtype=np.int64),
    )
    base.update(columns)
    return Households(**base)


DISTANCES = ("store_miles", "rival_miles")


def offer() -> Offer:
    return Offer(n_zones=1)


def firms(scenario: Scenario | None = None) -> tuple:
    """The three firms on a scenario's terms (its defaults: Amazon's $3 non-member fee and 1.5 extra
    days, same-day 0.3 / next-day 1 / standard 2 days; Walmart's fees $7.95, $10, $6 with Walmart+,
    express 0.1 day, standard 1 day, 15-mile radius), without a model, and everything reached:
    same-day Amazon and pharmacy, Walmart express from every store."""
    made = []
    for kind in FIRM_TYPES:
        firm = object.__new__(kind)
        firm.model = SimpleNamespace(params=scenario or Scenario())
        made.append(firm)
    amazon, walmart, _rivals = made
    amazon.same_day_reach, amazon.next_day_reach, amazon.kiosk_reach = np.ones(1), np.ones(1), np.zeros(1)
    amazon.pharmacy_share, amazon.extra_days, amazon.kiosk_utility = 1.0, 0.0, 0.0
    amazon.whole_foods_reach = None  # no store delivers
    walmart.express_rollout, walmart.pharmacy_share, walmart.dark_store_reach = 1.0, 1.0, np.zeros(1)
    return tuple(made)


def members(prime: np.ndarray, walmart_plus: np.ndarray) -> dict[str, np.ndarray]:
    return {"prime": prime, "walmart_plus": walmart_plus}


def test_channel_costs_by_hand() -> None:
    h, o, market = households(), offer(), firms()
    access = Access.of(h, o, market)
    member, plain = np.array([True]), np.array([False])
    costs = choice.HouseholdCosts.of(h, BEHAVIOUR, 75_000, DISTANCES)
    cost = choice.channel_costs(h, o, access, costs, market, members(member, plain))
    walmart_trip = 2 * 5 * 0.30 + (2 * 5 / 25 + 0.25) * 18  # 14.70
    rival_trip = 2 * 2 * 0.30 + (2 * 2 / 25 + 0.25) * 18  # 8.58
    # Prime member with same-day: basket plus 0.3 days of waiting; no fee.
    assert cost[AMAZON, :, 0] == pytest.approx([150 + 8 * 0.3, 90 + 2 * 0.3, 20 + 6 * 0.3])
    assert cost[WALMART_STORE, :, 0] == pytest.approx([150 + 0.6 * walmart_trip, 90 + 0.3 * walmart_trip,
                                                       20 + 0.1 * walmart_trip])
    # Without Walmart+: express costs $10 + 0.1 days; pickup is 60% of a trip; the cheaper wins.
    pickup = 0.6 * np.array([0.6, 0.3, 0.1]) * walmart_trip
    delivery = 10 + np.array([8, 2, 6]) * 0.1
    assert cost[WALMART_ONLINE, :, 0] == pytest.approx(np.array([150, 90, 20]) + np.minimum(delivery, pickup))
    assert cost[RIVALS, :, 0] == pytest.approx([150 + 0.6 * rival_trip, 90 + 0.3 * rival_trip, 20 + 0.1 * rival_trip])

    no_prime = choice.channel_costs(h, o, access, costs, market, members(plain, plain))
    assert no_prime[AMAZON, 0, 0] == pytest.approx(150 + 3.0 + 8 * (0.3 + 1.5))


def every_service_state() -> tuple[Households, Access, np.ndarray, np.ndarray]:
    """128 households, one per combination of the five access flags that set service costs and the
    two memberships, each with its own income and store distance (so their costs differ)."""
    n = 1 << 7
    bits = (np.arange(n)[:, None] >> np.arange(7)) & 1 == 1
    h = households(n, income=np.linspace(30_000, 200_000, n), store_miles=np.linspace(1, 40, n))
    amazon = dict(same_day=bits[:, 0], next_day=bits[:, 1], amazon_pharmacy=bits[:, 2])
    walmart = dict(express=bits[:, 3], walmart_pharmacy=bits[:, 4])
    reach = {"amazon": Reach({**amazon, "kiosk": bits[:, 0]}, flag_code(list(amazon.values()))),
             "walmart": Reach(walmart, flag_code(list(walmart.values()))), "rivals": Reach()}
    return h, Access(np.ones(n, bool), np.zeros(n, bool), reach), bits[:, 5], bits[:, 6]


def test_service_costs_follow_the_rules_in_every_state() -> None:
    """The cost tables indexed by state codes give exactly what the rules give household by household."""
    scenario = apply_changes(Scenario(), {
        "amazon.delivery.next_day_days": 1.1, "amazon.delivery.standard_days": 2.7,
        "amazon.health.pharmacy_days_without_same_day": 1.9, "walmart.online.express_days": 0.15,
        "walmart.online.standard_days": 1.3, "walmart.fuel_saving_per_trip_usd": 2.5})
    amazon_firm, walmart_firm, _ = firms(scenario)
    amazon_firm.extra_days = 0.4
    h, access, prime, plus = every_service_state()
    costs = choice.HouseholdCosts.of(h, BEHAVIOUR, 75_000, DISTANCES)
    amazon = amazon_firm.service_costs(access.firms["amazon"], costs, prime)[AMAZON]
    walmart = walmart_firm.service_costs(access.firms["walmart"], costs, plus)
    store, online = walmart[WALMART_STORE], walmart[WALMART_ONLINE]
    trip_share = np.array(BEHAVIOUR.trip_share.as_tuple())
    flag = access.flags()
    for i in range(h.n):
        wait = costs.waiting[:, i]
        days = (0.3 if flag['same_day'][i] else 1.1 if flag['next_day'][i] else 2.7) + 0.4 + (0.0 if prime[i] else 1.5)
        health = 0.3 if flag['amazon_pharmacy'][i] else 1.9
        fee = 0.0 if prime[i] else 3.0
        assert amazon[:, i].tolist() == [fee + wait[0] * days, fee + wait[1] * days, fee + wait[2] * health]
        trip = costs.trips["store_miles"][i] - (2.5 if plus[i] else 0.0)
        if flag['express'][i]:
            fee = 6.0 if plus[i] else 10.0
        else:
            fee = 0.0 if plus[i] else 7.95
        days = 0.15 if flag['express'][i] else 1.3
        health = 0.15 if flag['walmart_pharmacy'][i] else 1.3
        delivery = [fee + wait[0] * days, fee + wait[1] * days, fee + wait[2] * health]
        assert store[:, i].tolist() == (trip_share * trip).tolist()
        assert online[:, i].tolist() == np.minimum(delivery, trip_share * 0.6 * trip).tolist()
    # A part of the households sees the same codes as the whole.
    part = access.part(slice(40, 90))
    assert np.array_equal(amazon_firm.service_costs(part.firms["amazon"], costs.part(slice(40, 90)), prime[40:90])[AMAZON],
                          amazon[:, 40:90])


def test_tally_counts_each_household_once() -> None:
    """Orders, users and dollars by (locale, category, channel) equal a household-by-household count."""
    rng = np.random.default_rng(7)
    n = 500
    locale = rng.integers(0, 3, n)
    chosen = rng.integers(0, 4, (3, n)).astype(np.int8)
    budget, spend = rng.random((3, n)) * 100, rng.random((3, n)) * 120
    week = tally(locale, cell_base(locale), chosen, spend, budget)
    orders, users = np.zeros((3, 3, 4)), np.zeros((7, 3))  # users: each channel, then each firm
    for i in range(n):
        for category in range(3):
            orders[locale[i], category, chosen[category, i]] += 1
        used = set(chosen[:, i].tolist())
        for channel in range(4):
            users[channel, locale[i]] += channel in used
        users[4, locale[i]] += AMAZON in used
        users[5, locale[i]] += bool(used & {WALMART_STORE, WALMART_ONLINE})
        users[6, locale[i]] += RIVALS in used
    assert np.array_equal(week.orders, orders)
    assert np.array_equal(week.users, users)
    locale_channel = [(locale == loc)[None, :] & (chosen == ch) for loc in range(3) for ch in range(4)]
    assert week.spend.sum(axis=1).ravel() == pytest.approx([(spend * mask).sum() for mask in locale_channel])
    assert week.base_spend.sum(axis=1).ravel() == pytest.approx([(budget * mask).sum() for mask in locale_channel])


def test_neighbour_share_is_the_mean_over_each_households_neighbours() -> None:
    rng = np.random.default_rng(3)
    holds = rng.random(200) < 0.4
    for network in (rng.integers(0, 200, (200, 6)), np.asfortranarray(rng.integers(0, 200, (200, 6)))):
        assert np.array_equal(neighbour_share(holds, network), holds[network].mean(axis=1))
    assert neighbour_share(holds, np.zeros((200, 0), dtype=np.int64)).tolist() == [0.0] * 200


def test_logit_probabilities_logsum_and_draw() -> None:
    value = np.array([0.0, math.log(2), 0.0, 0.0]).reshape(4, 1, 1)
    probability, expected_best = choice.logit(value)
    assert probability[:, 0, 0] == pytest.approx([0.2, 0.4, 0.2, 0.2])
    assert expected_best[0, 0] == pytest.approx(math.log(5))
    uniforms = np.array([[0.19, 0.21, 0.59, 0.61, 0.81]])
    stacked = np.repeat(probability, 5, axis=2)
    assert choice.draw(stacked, uniforms).tolist() == [[0, 1, 1, 2, 3]]


def test_habit_moves_towards_the_choice() -> None:
    habit = np.zeros((4, 3, 2))
    choice.update_habit(habit, np.array([[1, 3], [0, 0], [2, 2]]), rate=0.25)
    assert habit[1, 0, 0] == 0.25 and habit[3, 0, 1] == 0.25 and habit[0, 1, :].tolist() == [0.25, 0.25]
    choice.update_habit(habit, np.array([[1, 1], [0, 0], [2, 2]]), rate=0.25)
    assert habit[1, 0, 0] == pytest.approx(0.25 * 0.75 + 0.25)
    assert habit[:, :, 0].sum(axis=0) == pytest.approx([0.4375, 0.4375, 0.4375])


def test_agents_ignore_habit_and_get_the_partner_bonus() -> None:
    h, o, market = households(2, tech_rank=np.array([0.0, 1.0])), offer(), firms()  # partner utility 0.3
    o.agentic_share, o.agent_price_focus = 0.5, 1.0
    h.habit[AMAZON] = 1.0
    access = Access.of(h, o, market)
    assert access.agent.tolist() == [True, False]
    value = choice.utilities(h, o, access, choice.HouseholdCosts.of(h, BEHAVIOUR, 75_000, DISTANCES), market,
                             members(np.ones(2, bool), np.zeros(2, bool)))
    assert value[AMAZON, :, 1] - value[AMAZON, :, 0] == pytest.approx([BEHAVIOUR.habit_weight] * 3)
    assert value[WALMART_ONLINE, :, 0] - value[WALMART_ONLINE, :, 1] == pytest.approx([0.3] * 3)


def test_no_broadband_penalises_online_channels_only() -> None:
    h, o, market = households(2, access_rank=np.array([0.0, 1.0])), offer(), firms()
    o.broadband[:] = 0.5
    value = choice.utilities(h, o, Access.of(h, o, market), choice.HouseholdCosts.of(h, BEHAVIOUR, 75_000, DISTANCES),
                             market, members(np.ones(2, bool), np.zeros(2, bool)))
    gap = value[:, :, 0] - value[:, :, 1]
    assert gap[AMAZON] == pytest.approx([BEHAVIOUR.offline_penalty] * 3)
    assert gap[WALMART_ONLINE] == pytest.approx([BEHAVIOUR.offline_penalty] * 3)
    assert gap[WALMART_STORE] == pytest.approx([0] * 3) and gap[RIVALS] == pytest.approx([0] * 3)


def test_membership_rules_by_hand() -> None:
    half = np.array([0.5])
    assert adoption_probability(np.array([0.0]), half, MEMBERS)[0] == pytest.approx((0.03 + 0.38 * 0.5) / 12 * 0.5)
    assert churn_probability(np.array([0.0]), np.array([24]), MEMBERS)[0] == pytest.approx((0.02 + 0.15 * 0.5) / 12)
    assert churn_probability(np.array([0.0]), np.array([3]), MEMBERS)[0] == pytest.approx(2 * (0.02 + 0.15 * 0.5) / 12)
    join = (0.03 + 0.38 * 0.5) / 12 * 0.5
    holds, months = decide(np.array([False, False, True, True]), np.array([0, 0, 30, 30]), np.zeros(4),
                           np.full(4, 0.5), np.array([join - 1e-9, join + 1e-9, 0.0, 0.99]), MEMBERS)
    assert holds.tolist() == [True, False, False, True]
    assert months.tolist() == [1, 0, 0, 31]
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
