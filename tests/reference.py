"""The reference implementation: the weekly shopper rules written the plain Mesa way.

Each household is a ``ReferenceShopper`` agent whose ``step()`` chooses a channel for each
category with scalar Python arithmetic, and whose ``review()`` decides its memberships once a
month. It is the textbook version of the rules in ``sim/model/choice.py`` and
``sim/model/memberships.py``, kept out of the package's hot path: a test checks that the vectorized
kernel makes the same choices and membership decisions (it consumes the same random draws), and
``benchmarks/bench_scale.py`` uses it as the yardstick of speed.
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from sim.model.market import RetailMarket
from sim.model.tally import tally
from sim.scenario import Scenario
from sim.vocabulary import AMAZON, HEALTH, WALMART_ONLINE, WALMART_STORE

CATEGORIES, CHANNELS = range(3), range(4)


def sigmoid(x: float) -> float:
    return 0.5 * (1.0 + math.tanh(0.5 * x))


class ReferenceShopper(mesa.Agent):
    """One household, deciding for itself."""

    def __init__(self, model: ReferenceMarket, index: int) -> None:
        super().__init__(model)
        self.index = index

    # -- what reaches this household -------------------------------------------------------
    def access(self) -> dict[str, bool]:
        m, i = self.model, self.index
        h, offer, amazon, walmart = m.households, m.offer, m.amazon, m.walmart
        zone = h.zone[i]
        same_day = h.amazon_rank[i] < amazon.same_day_reach[zone]
        radius = m.params.walmart.express.radius_miles
        store_express = h.store_miles[i] <= radius and h.rollout_rank[i] < walmart.express_rollout
        express = store_express or h.dark_store_rank[i] < walmart.dark_store_reach[zone]
        digital = h.access_rank[i] < offer.broadband[zone]
        return {
            "same_day": same_day,
            "next_day": same_day or h.amazon_rank[i] < amazon.next_day_reach[zone],
            "amazon_pharmacy": same_day and h.pharmacy_rank[i] < amazon.pharmacy_share,
            "kiosk": h.pharmacy_rank[i] < amazon.kiosk_reach[zone],
            "express": express,
            "walmart_pharmacy": express and h.pharmacy_rank[i] < walmart.pharmacy_share,
            "digital": digital,
            "agent": digital and h.tech_rank[i] < offer.agentic_share,
        }

    # -- the weekly choice -------------------------------------------------------------------
    def trip(self, miles: float) -> float:
        b = self.model.params.shoppers
        hours = 2.0 * miles / b.travel_speed_mph + b.minutes_in_store / 60.0
        return 2.0 * miles * b.travel_cost_per_mile_usd + hours * self.model.households.value_of_time[self.index]

    def cost(self, channel: int, category: int, a: dict, prime: bool, plus: bool) -> float:
        """Dollars it costs this household to buy the category's basket through the channel."""
        m, h, i, offer = self.model, self.model.households, self.index, self.model.offer
        b, delivery, online = m.params.shoppers, m.params.amazon.delivery, m.params.walmart.online
        basket = h.budget[category, i] * offer.price[channel, category]
        waiting = b.wait_cost_per_day_usd.as_tuple()[category] * (h.income[i] / m.params.population.median_income_usd)
        share = b.trip_share.as_tuple()[category]
        if channel == AMAZON:
            same_day, next_day, standard = delivery.same_day_days, delivery.next_day_days, delivery.standard_days
            if category == HEALTH:
                days = same_day if a["amazon_pharmacy"] else m.params.amazon.health.pharmacy_days_without_same_day
            else:
                days = same_day if a["same_day"] else next_day if a["next_day"] else standard
                days = days + m.amazon.extra_days + (0.0 if prime else delivery.nonmember_extra_days)
            fee = 0.0 if prime else delivery.nonmember_fee_usd
            return basket + (fee + waiting * days)
        walmart_trip = self.trip(h.store_miles[i]) - m.params.walmart.fuel_saving_per_trip_usd * plus
        if channel == WALMART_STORE:
            return basket + share * walmart_trip
        if channel == WALMART_ONLINE:
            express_days, standard_days = online.express_days, online.standard_days
            fast = a["walmart_pharmacy"] if category == HEALTH else a["express"]
            days = express_days if fast else standard_days
            if a["express"]:
                fee = online.member_express_fee_usd if plus else online.express_fee_usd
            else:
                fee = 0.0 if plus else online.nonmember_delivery_fee_usd
            return basket + min(fee + waiting * days, share * b.pickup_trip_share * walmart_trip)
        return basket + share * self.trip(h.rival_miles[i])

    def utility(self, channel: int, category: int, a: dict, prime: bool, plus: bool, habit: np.ndarray) -> float:
        m, h, i, offer = self.model, self.model.households, self.index, self.model.offer
        b = m.params.shoppers
        focus = offer.agent_price_focus if a["agent"] else 1.0
        value = -(h.price_utility[i] * focus) * self.cost(channel, category, a, prime, plus)
        value += offer.constant[channel, category]
        if channel == AMAZON and category == HEALTH and a["kiosk"]:
            value += m.amazon.kiosk_utility
        if channel in (AMAZON, WALMART_ONLINE) and not a["digital"]:
            value -= b.offline_penalty
        if channel == WALMART_ONLINE and a["agent"]:
            value += m.params.walmart.agentic.partner_utility
        if not a["agent"]:
            value += habit[channel, category, i] * b.habit_weight
        return value

    def logsums(self, a: dict, prime: bool, plus: bool) -> list[float]:
        """Expected best utility per category, on the habits the household shopped with this week."""
        sums = []
        for category in CATEGORIES:
            values = [self.utility(k, category, a, prime, plus, self.model.habit_seen) for k in CHANNELS]
            top = max(values)
            sums.append(top + math.log(sum(math.exp(v - top) for v in values)))
        return sums

    def step(self) -> None:
        """Choose a channel for each category (logit, by inverse CDF of this week's draw); learn habits."""
        m, h, i = self.model, self.model.households, self.index
        a = self.access()
        prime, plus = bool(h.prime[i]), bool(h.walmart_plus[i])
        for category in CATEGORIES:
            values = [self.utility(k, category, a, prime, plus, h.habit) for k in CHANNELS]
            top = max(values)
            weights = [math.exp(v - top) for v in values]
            total = sum(weights)
            cumulative, chosen = 0.0, 0
            for k in CHANNELS[:-1]:
                cumulative += weights[k] / total
                if m.week_uniform[category, i] > cumulative:
                    chosen = k + 1
                else:
                    break
            m.choice[category, i] = chosen
        rate = m.params.shoppers.habit_learning_rate
        for category in CATEGORIES:
            for k in CHANNELS:
                h.habit[k, category, i] = h.habit[k, category, i] * (1.0 - rate) + (
                    rate if m.choice[category, i] == k else 0.0)

    # -- the monthly membership review -------------------------------------------------------------
    def net_value(self, a: dict, which: str) -> float:
        """Dollars a year the membership is worth to this household, before its own taste."""
        m, h, i = self.model, self.model.households, self.index
        p = m.params
        prime, plus = bool(h.prime[i]), bool(h.walmart_plus[i])
        if which == "prime":
            gain = [x - y for x, y in zip(self.logsums(a, True, plus), self.logsums(a, False, plus))]
            perks, fee = p.amazon.prime.perks_value_usd, p.amazon.prime.fee_annual
        else:
            gain = [x - y for x, y in zip(self.logsums(a, prime, True), self.logsums(a, prime, False))]
            perks, fee = p.walmart.walmart_plus.perks_value_usd, p.walmart.walmart_plus.fee_annual
        weight = h.price_utility[i] * (m.offer.agent_price_focus if a["agent"] else 1.0)
        ratio = h.income[i] / p.population.median_income_usd
        return 52.0 * sum(gain) / weight + perks * ratio ** p.memberships.perks_income_elasticity - fee

    def decide(self, holds: bool, months: int, value: float, neighbours: float, u: float,
               available: bool) -> tuple[bool, int]:
        b = self.model.params.memberships
        if not available:
            return False, 0
        if holds:
            yearly = b.churn_floor_per_year + b.value_churn_per_year * sigmoid(-value / b.value_scale_usd)
            leave = u < min(1.0, yearly * (b.first_year_churn_multiplier if months < 12 else 1.0) / 12.0)
            now = not leave
        else:
            hazard = (b.innovation_p_per_year + b.imitation_q_per_year * neighbours) / 12.0
            now = u < min(1.0, hazard * sigmoid(value / b.value_scale_usd))
        return now, months + 1 if now else 0

    def review(self) -> None:
        """Values are judged on this week's offers and last month's neighbours (all decide at once)."""
        m, h, i = self.model, self.model.households, self.index
        a = self.access()
        prime_value = self.net_value(a, "prime") + h.prime_taste[i]
        plus_value = self.net_value(a, "walmart_plus") + h.walmart_plus_taste[i]
        neighbours = h.neighbours[i]
        prime_share = float(np.mean(m.prime_before[neighbours])) if len(neighbours) else 0.0
        plus_share = float(np.mean(m.plus_before[neighbours])) if len(neighbours) else 0.0
        m.prime_after[i], h.prime_months[i] = self.decide(bool(h.prime[i]), int(h.prime_months[i]), prime_value,
                                                          prime_share, m.month_uniform[0, i], True)
        m.plus_after[i], h.walmart_plus_months[i] = self.decide(bool(h.walmart_plus[i]), int(h.walmart_plus_months[i]),
                                                                plus_value, plus_share, m.month_uniform[1, i],
                                                                m.walmart.membership_available(m.date))


class ReferenceMarket(RetailMarket):
    """The same market with households deciding one agent at a time."""

    def __init__(self, scenario: Scenario, seed: int | None = None) -> None:
        super().__init__(scenario, seed)
        self.reference_shoppers = [ReferenceShopper(self, i) for i in range(self.households.n)]

    def households_shop(self) -> None:
        h = self.households
        self.week_uniform = self.streams["shopping.choice"].random((3, h.n))
        self.habit_seen = h.habit.copy()
        for shopper in self.reference_shoppers:
            shopper.step()
        self.spend = h.budget * self.offer.price[self.choice, np.arange(3)[:, None]]
        self.tally = tally(h.locale, self.cells, self.choice, self.spend, h.budget)

    def households_learn(self) -> None:
        """Nothing to do: each agent learned its habits in its own step."""

    def households_review_memberships(self) -> None:
        h = self.households
        self.month_uniform = self.streams["memberships.decisions"].random((2, h.n))
        self.prime_before, self.plus_before = h.prime.copy(), h.walmart_plus.copy()
        self.prime_after, self.plus_after = h.prime.copy(), h.walmart_plus.copy()
        for shopper in self.reference_shoppers:
            shopper.review()
        h.prime, h.walmart_plus = self.prime_after, self.plus_after
