"""The reference implementation: the weekly shopper rules written the plain Mesa way.

Each household is a ``ReferenceShopper`` agent whose ``step()`` chooses a channel for each
category with scalar Python arithmetic, and whose ``review()`` decides its memberships once a
month. It is the textbook version of the rules in ``sim/model/choice.py``, ``sim/firms/*.py``
(each firm's service costs, household by household) and ``sim/model/memberships.py``, kept out of
the package's hot path: a test checks that the vectorized kernel makes the same choices, habits,
membership decisions and consumer surplus (it consumes the same random draws), and
``benchmarks/bench_scale.py`` uses it as the yardstick of speed.

The rules, for one household, category ``c`` and channel ``k``:

- dollars ``D_k``: the basket at the channel's prices, plus the firm's service dollars (fees, trips,
  waiting; Walmart online the soft minimum of pickup, delivery and express), less the dollars its
  own services are worth (AI tools, personalization, a kiosk, a clinic, a service-platform store,
  fresh grocery from Whole Foods, Kroger's turnaround);
- the household's own value ``V_k = constant_k - b * D_k - b * offline penalty + b * taste_f``
  (the penalty on online channels without broadband; ``taste_f`` its lasting liking for the
  channel's firm, ``shoppers.firm_taste_sd_usd``, plus on Walmart online its lasting liking for it,
  ``shoppers.walmart_online_taste_sd_usd``, and the regulars' liking where the household is one of
  this week's Walmart online regulars, ``shoppers.walmart_online_regular_*``), with ``b`` its
  utility of a dollar;
- the lean ``L_k``: habit ``habit_k * share * basket_c * b``; a member's loyalty ``loyalty * b`` on
  its membership firm's channels;
- for a household whose AI agent shops online, on the online channels: the agent's priorities
  ``A_k = -(focus - 1) * b * D_k`` (and, on Walmart online, ``+ focus * b * partner dollars``), its
  pick by the logit of ``V_k + A_k`` over the online channels (no habit, no loyalty), and the lean
  ``A_k + log sum_j exp(V_j + L_j) - log sum_j exp(V_j + A_j)``: a nest whose weight is what the
  online offers weigh for the household choosing itself, written out flat;
- choice by the logit of ``V + L``; surplus ``(logsum(V + L) - E[L of the chosen]) / b``, plus the
  perks less the fee of the memberships held, a week (Leggett 2002); a fee counts at its value in
  constant dollars, the posted fee over the week's price level.
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from sim.model.market import RetailMarket
from sim.model.tally import tally
from sim.scenario import Scenario
from sim.vocabulary import (AMAZON, DISCRETIONARY, GROCERY, HEALTH, KROGER, N_CHANNELS, WALMART_ONLINE,
                            WALMART_STORE)

CATEGORIES, CHANNELS = range(3), range(N_CHANNELS)
ONLINE = (AMAZON, WALMART_ONLINE)
CHANNELS_OF = {"prime": (AMAZON,), "walmart_plus": (WALMART_STORE, WALMART_ONLINE)}
MEMBERSHIP_FIRM = {"prime": "amazon", "walmart_plus": "walmart"}
FIRM_OF = {AMAZON: 0, WALMART_STORE: 1, WALMART_ONLINE: 1, KROGER: 2, N_CHANNELS - 1: 3}  # FIRMS' order


def sigmoid(x: float) -> float:
    return 0.5 * (1.0 + math.tanh(0.5 * x))


def terms_of(params: Scenario, name: str):
    """A membership's scenario block (fee, perks, loyalty, churn floor)."""
    return getattr(getattr(params, MEMBERSHIP_FIRM[name]), name)


def soft_minimum(options: list[float], scale: float) -> float:
    """``-scale * log(sum(exp(-option / scale)))``, shifted by the cheapest option for safety."""
    low = min(options)
    return low - scale * math.log(sum(math.exp(-(option - low) / scale) for option in options))


class ReferenceShopper(mesa.Agent):
    """One household, deciding for itself."""

    def __init__(self, model: ReferenceMarket, index: int) -> None:
        super().__init__(model)
        self.index = index

    # -- what reaches this household -------------------------------------------------------
    def access(self) -> dict[str, bool]:
        m, i = self.model, self.index
        h, offer, amazon, walmart, p = m.households, m.offer, m.amazon, m.walmart, m.params
        zone = h.zone[i]
        same_day = h.amazon_rank[i] < amazon.same_day_reach[zone]
        radius = p.walmart.express.radius_miles
        store_express = h.store_miles[i] <= radius and h.rollout_rank[i] < walmart.express_rollout
        express = store_express or h.dark_store_rank[i] < walmart.dark_store_reach[zone]
        digital = h.access_rank[i] < offer.broadband[zone]
        whole_foods = amazon.whole_foods_reach is not None and h.amazon_rank[i] < amazon.whole_foods_reach[zone]
        return {
            "same_day": same_day,
            "next_day": same_day or h.amazon_rank[i] < amazon.next_day_reach[zone],
            "amazon_pharmacy": same_day and h.pharmacy_rank[i] < amazon.pharmacy_share,
            "kiosk": h.pharmacy_rank[i] < amazon.kiosk_reach[zone],
            "whole_foods": whole_foods,
            "express": express,
            "walmart_pharmacy": express and h.pharmacy_rank[i] < walmart.pharmacy_share,
            "store_services": h.service_rank[i] < p.walmart.store_services.level,
            "clinic": h.service_rank[i] < walmart.clinic_reach[zone],
            "kroger_store": h.rival_rank[i] < p.kroger.households_reached,
            "digital": digital,
            "agent": digital and h.tech_rank[i] < offer.agentic_share,
        }

    # -- the weekly choice -------------------------------------------------------------------
    def trip(self, miles: float) -> float:
        b = self.model.params.shoppers
        hours = 2.0 * miles / b.travel_speed_mph + b.minutes_in_store / 60.0
        return 2.0 * miles * b.travel_cost_per_mile_usd + hours * self.model.households.value_of_time[self.index]

    def service(self, channel: int, category: int, a: dict, prime: bool, plus: bool) -> float | None:
        """Dollars beyond the basket of buying the category through the channel; None where the
        channel is no option (no Kroger store nearby)."""
        m, h, i = self.model, self.model.households, self.index
        p, b = m.params, m.params.shoppers
        waiting = b.wait_cost_per_day_usd.as_tuple()[category] * (h.income[i] / p.population.median_income_usd)
        share = b.trip_share.as_tuple()[category]
        if channel == AMAZON:
            delivery = p.amazon.delivery
            if category == HEALTH:
                without = p.amazon.health.pharmacy_days_without_same_day
                days = delivery.same_day_days if a["amazon_pharmacy"] else without
            else:
                days = (delivery.same_day_days if a["same_day"] else
                        delivery.next_day_days if a["next_day"] else delivery.standard_days)
                days = days + m.amazon.extra_days + (0.0 if prime else delivery.nonmember_extra_days)
            dollars = (0.0 if prime else delivery.nonmember_fee_usd) + waiting * days
            if category == GROCERY and a["whole_foods"]:
                stores = p.amazon.whole_foods
                fresh = (0.0 if prime else stores.nonmember_fee_usd) + waiting * delivery.same_day_days
                dollars = min(fresh, dollars) - stores.fresh_grocery_value_usd_per_order
            if category == DISCRETIONARY:
                dollars -= p.amazon.ai.personalization_value_usd_per_order * m.amazon.ai_level
            if category == HEALTH and a["kiosk"]:
                dollars -= p.amazon.health.kiosk_value_usd_per_order
            return dollars
        if channel in (WALMART_STORE, WALMART_ONLINE):
            w = p.walmart
            walmart_trip = self.trip(h.store_miles[i]) - w.fuel_saving_per_trip_usd * plus
            ai = w.ai.service_value_usd_per_order * m.walmart.ai_level
            if channel == WALMART_STORE:
                services = w.store_services.value_per_trip_usd if a["store_services"] else 0.0
                dollars = share * (walmart_trip - services)
                if category == HEALTH and a["clinic"]:
                    dollars -= w.health.clinic_value_usd_per_order
                return dollars - ai
            online = w.online
            pickup = share * b.pickup_trip_share * walmart_trip
            free = plus and float(h.budget[:, i].sum()) >= online.member_free_delivery_minimum_usd
            delivery = (0.0 if free else online.nonmember_delivery_fee_usd) + waiting * online.standard_days
            options = [pickup, delivery]
            if a["walmart_pharmacy"] if category == HEALTH else a["express"]:
                fee = online.member_express_fee_usd if plus else online.express_fee_usd
                options.append(fee + waiting * online.express_days)
            return soft_minimum(options, b.fulfilment_taste_usd) - ai
        if channel == KROGER:
            if not a["kroger_store"]:
                return None
            gain = p.kroger.turnaround.service_gain_usd_per_order_at_full * m.kroger.turnaround
            return share * self.trip(h.kroger_miles[i]) - gain
        return share * self.trip(h.rival_miles[i])

    def utility(self, channel: int, category: int, a: dict, prime: bool, plus: bool, loyal: dict,
                habit: np.ndarray) -> tuple[float, float, float] | None:
        """(own value, the household's lean, its agent's priorities) of the channel; None where it is
        no option. ``prime`` and ``plus`` set the costs, ``loyal`` the memberships whose loyalty
        leans the decision."""
        service = self.service(channel, category, a, prime, plus)
        if service is None:
            return None
        m, h, i, offer = self.model, self.model.households, self.index, self.model.offer
        b, pu = m.params.shoppers, h.price_utility[i]
        dollars = h.budget[category, i] * offer.price[channel, category] + service
        value = offer.constant[channel, category] - pu * dollars
        if h.firm_taste is not None:  # the household's lasting liking for the channel's firm (not its agent's focus)
            value += pu * h.firm_taste[FIRM_OF[channel], i]
        if h.walmart_online_taste is not None and channel == WALMART_ONLINE:  # and for Walmart online
            value += pu * h.walmart_online_taste[i]
        if channel == WALMART_ONLINE and h.regular_rank[i] < offer.walmart_regulars:  # a Walmart online regular
            value += pu * offer.walmart_regular_usd
        if channel in ONLINE:  # what ordering online has gained since the trend began, a share of the basket
            value += pu * offer.online_gain * h.budget[category, i]
            if not a["digital"]:
                value -= pu * b.offline_penalty_usd
        priorities = 0.0
        if a["agent"] and channel in ONLINE:  # the agent's priorities: harder on money, and its partner's checkout
            focus = offer.agent_price_focus
            priorities -= (focus - 1.0) * pu * dollars
            if channel == WALMART_ONLINE:
                priorities += focus * pu * m.params.walmart.agentic.partner_value_usd_per_order
        lean = 0.0
        for name, channels in CHANNELS_OF.items():
            if loyal[name] and channel in channels:
                lean += pu * terms_of(m.params, name).loyalty_usd_per_order
        lean += habit[channel, category, i] * b.habit_share_of_basket * h.budget[category, i] * pu
        return value, lean, priorities

    def category_logit(self, category: int, a: dict, prime: bool, plus: bool, loyal: dict,
                       habit: np.ndarray) -> tuple[list[float], float, float]:
        """Choice probabilities (zero for no option), the decision logsum and the expected lean."""
        terms = [self.utility(k, category, a, prime, plus, loyal, habit) for k in CHANNELS]
        if a["agent"]:  # the agent picks the online offer; the household weighs online as its own pick
            own = math.log(sum(math.exp(terms[k][0] + terms[k][1]) for k in ONLINE))
            picks = math.log(sum(math.exp(terms[k][0] + terms[k][2]) for k in ONLINE))
            routed = self.model.params.walmart.agentic.partner_order_share  # sent to Walmart whatever the offers

            def agent_lean(k, t):  # the log of the agent's split of the orders, less V, plus the household's logsum
                split = (1.0 - routed) * math.exp(t[0] + t[2] - picks) + (routed if k == WALMART_ONLINE else 0.0)
                return math.log(split) - t[0] + own
            # Welfare: a routed order earns its value but no taste draw, the agent's pick both.
            q = [math.exp(terms[k][0] + terms[k][2] - picks) for k in ONLINE]
            shares = [(1.0 - routed) * qk + (routed if k == WALMART_ONLINE else 0.0) for k, qk in zip(ONLINE, q)]
            unearned = -sum(x * math.log(x) for x in shares if x > 0) \
                + (1.0 - routed) * sum(x * math.log(x) for x in q if x > 0)
            terms = [None if t is None else (t[0], agent_lean(k, t) if k in ONLINE else t[1], 0.0)
                     for k, t in zip(CHANNELS, terms)]
        pairs = [None if t is None else (t[0] + t[1], t[1]) for t in terms]
        top = max(pair[0] for pair in pairs if pair is not None)
        weights = [0.0 if pair is None else math.exp(pair[0] - top) for pair in pairs]
        total = sum(weights)
        expected_lean = sum(w * pair[1] for w, pair in zip(weights, pairs) if pair is not None) / total
        if a["agent"]:  # in proportion to the online orders
            expected_lean += unearned * sum(weights[k] for k in ONLINE) / total
        return [w / total for w in weights], top + math.log(total), expected_lean

    def holdings(self) -> tuple[bool, bool, dict]:
        h, i = self.model.households, self.index
        prime, plus = bool(h.prime[i]), bool(h.walmart_plus[i])
        return prime, plus, {"prime": prime, "walmart_plus": plus}

    def settle(self, rounds: int) -> None:
        """Habits start where the first week's choices would leave them: ``habit = P(habit)``, repeated."""
        h, i = self.model.households, self.index
        a = self.access()
        prime, plus, loyal = self.holdings()
        for _ in range(rounds):
            for category in CATEGORIES:
                probability = self.category_logit(category, a, prime, plus, loyal, h.habit)[0]
                for k in CHANNELS:
                    h.habit[k, category, i] = probability[k]

    def step(self) -> None:
        """Choose a channel for each category (logit, by inverse CDF of this week's draw); buy the
        basket the price paid allows; record the week's surplus; learn habits."""
        m, h, i = self.model, self.model.households, self.index
        p = m.params
        a = self.access()
        prime, plus, loyal = self.holdings()
        surplus = 0.0
        elasticity = p.shoppers.own_price_elasticity.as_tuple()
        for category in CATEGORIES:
            probability, logsum, expected_lean = self.category_logit(category, a, prime, plus, loyal, h.habit)
            surplus += logsum - expected_lean
            cumulative, chosen = 0.0, 0
            for k in CHANNELS[:-1]:
                cumulative += probability[k]
                if m.week_uniform[category, i] > cumulative:
                    chosen = k + 1
                else:
                    break
            m.choice[category, i] = chosen
            paid = m.offer.price[chosen, category]
            m.quantity[category, i] = h.budget[category, i] * paid ** -elasticity[category]
            m.spend[category, i] = m.quantity[category, i] * paid
        surplus /= h.price_utility[i]
        ratio = h.income[i] / p.population.median_income_usd
        for name, held in loyal.items():
            if held:
                terms = terms_of(p, name)
                perks = terms.perks_value_usd * ratio ** p.memberships.perks_income_elasticity
                surplus += (perks - terms.fee_annual / m.price_level + getattr(h, f"{name}_taste")[i]) / 52.0
        m.surplus[i] = surplus
        rate = p.shoppers.habit_learning_rate
        for category in CATEGORIES:
            for k in CHANNELS:
                h.habit[k, category, i] = h.habit[k, category, i] * (1.0 - rate) + (
                    rate if m.choice[category, i] == k else 0.0)

    # -- the monthly membership review -------------------------------------------------------------
    def net_value(self, a: dict, which: str, habit: np.ndarray) -> float:
        """Dollars a year the membership is worth to this household, before its own taste: the
        decision logsums with it and without it, neither leaning on its own loyalty (the other
        membership's, if held, stays), over the decision's utility of a dollar."""
        m, h, i = self.model, self.model.households, self.index
        p = m.params
        prime, plus, loyal = self.holdings()
        loyal = {**loyal, which: False}
        states = ((True, plus), (False, plus)) if which == "prime" else ((prime, True), (prime, False))
        gain = 0.0
        for category in CATEGORIES:
            with_it = self.category_logit(category, a, *states[0], loyal, habit)[1]
            without = self.category_logit(category, a, *states[1], loyal, habit)[1]
            gain += with_it - without
        terms = terms_of(p, which)
        weight = h.price_utility[i]
        ratio = h.income[i] / p.population.median_income_usd
        return 52.0 * gain / weight + terms.perks_value_usd * ratio ** p.memberships.perks_income_elasticity \
            - terms.fee_annual / m.price_level

    def decide(self, which: str, holds: bool, months: int, value: float, neighbours: float, u: float,
               available: bool) -> tuple[bool, int]:
        p = self.model.params
        b = p.memberships
        if not available:
            return False, 0
        if holds:
            own = terms_of(p, which).churn_floor_per_year
            floor = b.churn_floor_per_year if own is None else own
            yearly = floor + b.value_churn_per_year * sigmoid(-value / b.value_scale_usd)
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
        self.values = {name: self.net_value(a, name, m.habit_seen) for name in ("prime", "walmart_plus")}
        prime_value = self.values["prime"] + h.prime_taste[i]
        plus_value = self.values["walmart_plus"] + h.walmart_plus_taste[i]
        neighbours = h.neighbours[i]
        prime_share = float(np.mean(m.prime_before[neighbours])) if len(neighbours) else 0.0
        plus_share = float(np.mean(m.plus_before[neighbours])) if len(neighbours) else 0.0
        m.prime_after[i], h.prime_months[i] = self.decide(
            "prime", bool(h.prime[i]), int(h.prime_months[i]), prime_value, prime_share, m.month_uniform[0, i],
            m.amazon.membership_available(m.date))
        m.plus_after[i], h.walmart_plus_months[i] = self.decide(
            "walmart_plus", bool(h.walmart_plus[i]), int(h.walmart_plus_months[i]), plus_value, plus_share,
            m.month_uniform[1, i], m.walmart.membership_available(m.date))


class ReferenceMarket(RetailMarket):
    """The same market with households deciding one agent at a time."""

    def __init__(self, scenario: Scenario, seed: int | None = None) -> None:
        super().__init__(scenario, seed)
        self.reference_shoppers = [ReferenceShopper(self, i) for i in range(self.households.n)]

    def launch_memberships(self) -> None:
        """In its launch week (or the first), each membership is weighed by the households that
        consider it, who join where its net value plus their own taste is positive (in order: a
        membership launched first is held when the next is weighed)."""
        h = self.households
        for name, firm in (("prime", self.amazon), ("walmart_plus", self.walmart)):
            if name in self._launched or not firm.membership_available(self.date):
                continue
            joins = np.array([shopper.net_value(shopper.access(), name, h.habit) + getattr(h, f"{name}_taste")[i] > 0
                              for i, shopper in enumerate(self.reference_shoppers)])
            consider = getattr(h, f"{name}_consider", None)
            setattr(h, name, joins if consider is None else consider & joins)
            self._launched.add(name)

    def settle_habits(self, rounds: int = 10) -> None:
        for shopper in self.reference_shoppers:
            shopper.settle(rounds)

    def households_shop(self) -> None:
        h = self.households
        self.week_uniform = self.streams["shopping.choice"].random((3, h.n))
        self.habit_seen = h.habit.copy()
        for shopper in self.reference_shoppers:
            shopper.step()
        self.tally = tally(h.locale, self.cells, self.choice, self.spend, self.quantity)

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
