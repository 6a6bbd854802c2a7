"""The weekly channel choice: a multinomial logit over every household at once.

For each category, a household compares four channels: Amazon, a Walmart store, Walmart delivery
or pickup, and the rivals. Utility is the channel's constant (assortment and service), minus the
household's dollar cost of using it (basket at the channel's prices, fees, travel, and the cost
of waiting for delivery) times its price sensitivity, plus habit; the logit's Gumbel noise is the
rest. Everything here is a handful of array operations over all households; no Python loop.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from ..scenario.schema import ShopperBehaviour
from ..vocabulary import (AMAZON, CHANNELS, DISCRETIONARY, GROCERY, HEALTH, N_CATEGORIES, N_CHANNELS, RIVALS,
                          WALMART_ONLINE, WALMART_STORE, Offer)
from .population import Households
from .tally import code_bits, flag_code

__all__ = ["AMAZON", "CHANNELS", "DISCRETIONARY", "GROCERY", "HEALTH", "RIVALS", "WALMART_ONLINE", "WALMART_STORE",
           "Access", "HouseholdCosts", "Offer", "utilities"]


@dataclass
class Access:
    """Which services reach each household this week (booleans, one per household).

    The flags that set a firm's service costs are also packed into one small code per household
    (``amazon_state``, ``walmart_state``), which indexes tables of the few possible costs."""

    same_day: np.ndarray
    next_day: np.ndarray
    amazon_pharmacy: np.ndarray
    kiosk: np.ndarray
    express: np.ndarray
    walmart_pharmacy: np.ndarray
    digital: np.ndarray
    agent: np.ndarray
    amazon_state: np.ndarray = field(init=False)  # same-day | next-day << 1 | pharmacy << 2
    walmart_state: np.ndarray = field(init=False)  # express | pharmacy << 1

    def __post_init__(self) -> None:
        self.amazon_state = flag_code([self.same_day, self.next_day, self.amazon_pharmacy])
        self.walmart_state = flag_code([self.express, self.walmart_pharmacy])

    def part(self, households: slice) -> Access:
        """The same flags and codes for a contiguous range of households (views, not copies)."""
        part = copy.copy(self)
        for name, values in vars(self).items():
            setattr(part, name, values[households])
        return part

    @classmethod
    def of(cls, households: Households, offer: Offer) -> Access:
        h, zone = households, households.zone
        same_day = h.amazon_rank < offer.amazon_same_day[zone]
        store_express = (h.store_miles <= offer.express_radius) & (h.rollout_rank < offer.express_rollout)
        express = store_express | (h.dark_store_rank < offer.dark_store_reach[zone])
        digital = h.access_rank < offer.broadband[zone]
        return cls(
            same_day=same_day,
            next_day=same_day | (h.amazon_rank < offer.amazon_next_day[zone]),
            amazon_pharmacy=same_day & (h.pharmacy_rank < offer.amazon_pharmacy_share),
            kiosk=h.pharmacy_rank < offer.kiosk_reach[zone],
            express=express,
            walmart_pharmacy=express & (h.pharmacy_rank < offer.walmart_pharmacy_share),
            digital=digital,
            agent=digital & (h.tech_rank < offer.agentic_share),
        )


def trip_cost(miles: np.ndarray, value_of_time: np.ndarray, behaviour: ShopperBehaviour) -> np.ndarray:
    """Dollar cost of a return trip to a store: driving plus time (travel and the minutes inside)."""
    hours = 2.0 * miles / behaviour.travel_speed_mph + behaviour.minutes_in_store / 60.0
    return 2.0 * miles * behaviour.travel_cost_per_mile_usd + hours * value_of_time


def patience(h: Households, behaviour: ShopperBehaviour, reference_income: float) -> np.ndarray:
    """Dollars a day that waiting for delivery costs each household: shape (categories, households)."""
    return np.outer(behaviour.wait_cost_per_day_usd.as_tuple(), h.income / reference_income)


@dataclass(frozen=True)
class HouseholdCosts:
    """Each household's dollar terms that change only with the shoppers' behaviour, not weekly:
    waiting per day, and the trips to its Walmart store and its rival (computed once per behaviour)."""

    behaviour: ShopperBehaviour
    waiting: np.ndarray  # (categories, households) dollars a day of waiting for delivery
    store_trip: np.ndarray  # (households,) a return trip to the nearest Walmart
    rival_trip: np.ndarray  # (categories, households) the trip share of a rival trip, per category

    @classmethod
    def of(cls, h: Households, behaviour: ShopperBehaviour, reference_income: float) -> HouseholdCosts:
        return cls(behaviour, patience(h, behaviour, reference_income),
                   trip_cost(h.store_miles, h.value_of_time, behaviour),
                   np.outer(behaviour.trip_share.as_tuple(), trip_cost(h.rival_miles, h.value_of_time, behaviour)))

    def part(self, households: slice) -> HouseholdCosts:
        return HouseholdCosts(self.behaviour, self.waiting[:, households], self.store_trip[households],
                              self.rival_trip[:, households])


def _by_category(everyday: np.ndarray, health: np.ndarray) -> np.ndarray:
    """A (categories, households) array: ``everyday`` for grocery and discretionary, ``health`` for health."""
    out = np.empty((N_CATEGORIES, len(everyday)))
    out[:HEALTH] = everyday
    out[HEALTH] = health
    return out


# Every possible service state, as flags: (same-day, next-day, pharmacy, Prime) for Amazon's 16,
# (express, pharmacy, Walmart+) for Walmart's 8. A household's state code picks one column.
AMAZON_STATES = code_bits(4).astype(bool)
WALMART_STATES = code_bits(3).astype(bool)


def _with_membership(state: np.ndarray, member: np.ndarray, bit: int) -> np.ndarray:
    """A service state code with the household's membership as one more bit."""
    return state | np.left_shift(np.asarray(member, dtype=bool).view(np.uint8), bit, dtype=np.uint8)


def amazon_service_cost(offer: Offer, access: Access, waiting: np.ndarray, prime: np.ndarray) -> np.ndarray:
    """Amazon's fees and waiting, per category and household: the part Prime changes.

    The rules are written once over the 16 possible states (three access flags and Prime), then
    each household's state picks its row: the same numbers as computing them household by
    household, for a fraction of the work."""
    same_day, next_day, pharmacy, member = AMAZON_STATES
    same_day_days, next_day_days, standard_days = offer.amazon_days
    days = np.where(same_day, same_day_days, np.where(next_day, next_day_days, standard_days))
    days = days + offer.amazon_extra_days + np.where(member, 0.0, offer.amazon_nonmember_extra_days)
    health_days = np.where(pharmacy, same_day_days, offer.amazon_pharmacy_days)
    fee, days = np.where(member, 0.0, offer.amazon_nonmember_fee), _by_category(days, health_days)
    state = _with_membership(access.amazon_state, prime, 3)
    return fee.take(state) + waiting * days.take(state, axis=1)


def walmart_service_cost(offer: Offer, access: Access, costs: HouseholdCosts,
                         walmart_plus: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walmart's store trip, and its cheaper of delivery or pickup: the parts Walmart+ changes.

    Fees and days are written over the 8 possible states (two access flags and Walmart+), as in
    :func:`amazon_service_cost`."""
    trip_share = np.asarray(costs.behaviour.trip_share.as_tuple())
    trip = costs.store_trip - offer.fuel_saving * walmart_plus
    express, pharmacy, member = WALMART_STATES
    express_days, standard_days = offer.walmart_days
    fee = np.where(
        express,
        np.where(member, offer.walmart_member_express_fee, offer.walmart_express_fee),
        np.where(member, 0.0, offer.walmart_delivery_fee),
    )
    days = _by_category(np.where(express, express_days, standard_days),
                        np.where(pharmacy, express_days, standard_days))
    state = _with_membership(access.walmart_state, walmart_plus, 2)
    delivery = fee.take(state) + costs.waiting * days.take(state, axis=1)
    pickup = np.outer(trip_share * costs.behaviour.pickup_trip_share, trip)
    return np.outer(trip_share, trip), np.minimum(delivery, pickup)


def channel_costs(h: Households, offer: Offer, access: Access, costs: HouseholdCosts,
                  prime: np.ndarray, walmart_plus: np.ndarray) -> np.ndarray:
    """Dollar cost of using each channel: shape (channels, categories, households)."""
    cost = h.budget[None, :, :] * offer.price[:, :, None]
    cost[AMAZON] += amazon_service_cost(offer, access, costs.waiting, prime)
    store, online = walmart_service_cost(offer, access, costs, walmart_plus)
    cost[WALMART_STORE] += store
    cost[WALMART_ONLINE] += online
    cost[RIVALS] += costs.rival_trip
    return cost


def price_weight(h: Households, offer: Offer, access: Access) -> np.ndarray:
    """Utility of a dollar to each household (AI agents weigh money harder)."""
    return h.price_utility * np.where(access.agent, offer.agent_price_focus, 1.0)


def utilities(h: Households, offer: Offer, access: Access, costs: HouseholdCosts,
              prime: np.ndarray, walmart_plus: np.ndarray) -> np.ndarray:
    """Systematic utility of each channel: shape (channels, categories, households)."""
    behaviour = costs.behaviour
    value = channel_costs(h, offer, access, costs, prime, walmart_plus)
    value *= -price_weight(h, offer, access)
    value += offer.constant[:, :, None]
    value[AMAZON, HEALTH] += access.kiosk * offer.kiosk_utility
    offline = np.where(access.digital, 0.0, behaviour.offline_penalty)
    value[AMAZON] -= offline
    value[WALMART_ONLINE] -= offline - np.where(access.agent, offer.agent_partner_utility, 0.0)
    # Agents compare channels afresh every week: habit is the household's, not theirs.
    habit_weight = np.where(access.agent, 0.0, behaviour.habit_weight) if access.agent.any() else behaviour.habit_weight
    value += h.habit * habit_weight
    return value


def logsum(value: np.ndarray) -> np.ndarray:
    """log-sum-exp over channels: the expected best utility, shape (categories, households)."""
    return logit(value)[1]


def logit(value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Choice probabilities over channels (axis 0) and the logsum, from one pass of ``exp``."""
    top, weights, total = exponentials(value)
    weights /= total
    return weights, top + np.log(total)


def exponentials(value: np.ndarray, overwrite: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``exp(value - max)`` per channel, with the max and the sum over channels (numerically safe).

    ``overwrite=True`` computes the weights in ``value``'s own memory (no temporaries)."""
    top = value.max(axis=0)
    weights = np.subtract(value, top, out=value if overwrite else None)
    np.exp(weights, out=weights)
    return top, weights, weights.sum(axis=0)


def draw(probability: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    """The chosen channel per (category, household): the first whose cumulative probability passes
    the household's uniform draw (inverse CDF)."""
    cumulative = probability[0].copy()
    chosen = (uniform > cumulative).astype(np.int8)
    for channel in range(1, N_CHANNELS - 1):
        cumulative += probability[channel]
        chosen += uniform > cumulative
    return chosen


def update_habit(habit: np.ndarray, choice: np.ndarray, rate: float) -> None:
    """Habit moves towards this week's choices (exponential smoothing), in place."""
    habit *= 1.0 - rate
    for channel in range(N_CHANNELS):
        habit[channel] += rate * (choice == channel)
