"""Monthly membership decisions: adopt or drop Prime and Walmart+ from value and word of mouth.

A membership is worth, to a household, the gain in its expected weekly shopping utility (the
logit logsum, in dollars) from holding it, over a year, plus the perks it values, minus the fee.
Households adopt at a Bass-diffusion rate (innovation plus imitation of network neighbours who
hold it), scaled by how much the membership pays for them; members drop it at a churn rate that
rises when it stops paying. Holding both is never set: it is what these two decisions add up to.
"""

from __future__ import annotations

import numpy as np

from ..scenario.schema import MembershipBehaviour, Scenario
from .choice import (
    AMAZON,
    RIVALS,
    WALMART_ONLINE,
    WALMART_STORE,
    Access,
    HouseholdCosts,
    Offer,
    amazon_service_cost,
    price_weight,
    walmart_service_cost,
)
from ..vocabulary import WEEKS_PER_YEAR
from .population import Households


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def membership_values(h: Households, offer: Offer, access: Access, params: Scenario, costs: HouseholdCosts,
                      weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Net dollars a year of Prime and of Walmart+ to each household, before its own taste.

    ``weights`` are this week's ``exp(utility - max)`` per channel (before normalising). A
    membership changes only its firm's fee, wait and trip costs, so with it and without it the
    logsums differ only in those channels' weights: ``W_k * exp(-price_weight * extra cost)``.
    """
    weight = price_weight(h, offer, access)
    yes, no = np.ones(h.n, dtype=bool), np.zeros(h.n, dtype=bool)

    def rescaled(channel: int, extra_cost: np.ndarray) -> np.ndarray:
        return weights[channel] * np.exp(-weight * extra_cost)

    # Each household's cost as it stands is one of the two: no third evaluation is needed.
    amazon_yes = amazon_service_cost(offer, access, costs.waiting, yes)
    amazon_no = amazon_service_cost(offer, access, costs.waiting, no)
    amazon_now = np.where(h.prime, amazon_yes, amazon_no)
    others = weights[WALMART_STORE] + weights[WALMART_ONLINE] + weights[RIVALS]
    prime_gain = shopping_value(np.log(others + rescaled(AMAZON, amazon_yes - amazon_now)),
                                np.log(others + rescaled(AMAZON, amazon_no - amazon_now)), weight)
    store_yes, online_yes = walmart_service_cost(offer, access, costs, yes)
    store_no, online_no = walmart_service_cost(offer, access, costs, no)
    store_now = np.where(h.walmart_plus, store_yes, store_no)
    online_now = np.where(h.walmart_plus, online_yes, online_no)
    others = weights[AMAZON] + weights[RIVALS]
    plus_gain = shopping_value(
        np.log(others + rescaled(WALMART_STORE, store_yes - store_now) + rescaled(WALMART_ONLINE, online_yes - online_now)),
        np.log(others + rescaled(WALMART_STORE, store_no - store_now) + rescaled(WALMART_ONLINE, online_no - online_now)),
        weight)
    median, elasticity = params.population.median_income_usd, params.memberships.perks_income_elasticity
    prime = prime_gain + perks_value(params.amazon.prime.perks_value_usd, h.income, median, elasticity)
    plus = plus_gain + perks_value(params.walmart.walmart_plus.perks_value_usd, h.income, median, elasticity)
    return prime - params.amazon.prime.fee_annual, plus - params.walmart.walmart_plus.fee_annual


def shopping_value(logsum_with: np.ndarray, logsum_without: np.ndarray, price_utility: np.ndarray) -> np.ndarray:
    """Dollars a year that holding a membership adds to a household's shopping (logsum difference)."""
    return WEEKS_PER_YEAR * (logsum_with - logsum_without).sum(axis=0) / price_utility


def perks_value(perks_usd: float, income: np.ndarray, median_income: float, elasticity: float) -> np.ndarray:
    """Dollars a year of non-shopping perks (video, fuel, streaming), rising with income."""
    return perks_usd * (income / median_income) ** elasticity


def neighbour_share(holds: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """Share of each household's neighbours who hold the membership.

    Counted neighbour by neighbour (over ``neighbours.T``): numpy sums long rows far faster than
    millions of rows of a few; with the network stored column by column (see
    :func:`~sim.model.population.draw_network`) the transpose is contiguous."""
    degree = neighbours.shape[1]
    if degree == 0:
        return np.zeros(len(holds))
    return holds.view(np.uint8)[neighbours.T].sum(axis=0, dtype=np.int32) / degree


def adoption_probability(net_value: np.ndarray, neighbours_holding: np.ndarray,
                         behaviour: MembershipBehaviour) -> np.ndarray:
    """Monthly chance a non-member joins: Bass hazard times the value logit."""
    hazard = (behaviour.innovation_p_per_year + behaviour.imitation_q_per_year * neighbours_holding) / 12.0
    return np.minimum(1.0, hazard * sigmoid(net_value / behaviour.value_scale_usd))


def churn_probability(net_value: np.ndarray, months_held: np.ndarray, behaviour: MembershipBehaviour) -> np.ndarray:
    """Monthly chance a member leaves: a floor plus extra churn when it no longer pays."""
    yearly = behaviour.churn_floor_per_year + behaviour.value_churn_per_year * sigmoid(
        -net_value / behaviour.value_scale_usd
    )
    first_year = np.where(months_held < 12, behaviour.first_year_churn_multiplier, 1.0)
    return np.minimum(1.0, yearly * first_year / 12.0)


def decide(holds: np.ndarray, months_held: np.ndarray, net_value: np.ndarray, neighbours_holding: np.ndarray,
           uniform: np.ndarray, behaviour: MembershipBehaviour, available: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """This month's holders and their months held, from one uniform draw per household."""
    if not available:
        return np.zeros_like(holds), np.zeros_like(months_held)
    join = ~holds & (uniform < adoption_probability(net_value, neighbours_holding, behaviour))
    leave = holds & (uniform < churn_probability(net_value, months_held, behaviour))
    now = (holds & ~leave) | join
    return now, np.where(now, months_held + 1, 0)


def established_churn(held: np.ndarray, months_held: np.ndarray, holds_now: np.ndarray) -> float:
    """Yearly churn of members past their first year: the share of them who left this month, x 12."""
    established = held & (months_held >= 12)
    count = int(established.sum())
    return 12.0 * float((established & ~holds_now).sum()) / count if count else float("nan")
