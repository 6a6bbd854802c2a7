"""Monthly membership decisions: adopt or drop Prime and Walmart+ from value and word of mouth.

A membership is worth, to a household, the gain in its expected weekly shopping utility (the
logit logsum, in dollars) from holding it, over a year, plus the perks it values, minus the fee.
Households adopt at a Bass-diffusion rate (innovation plus imitation of network neighbours who
hold it), scaled by how much the membership pays for them; members drop it at a churn rate that
rises when it stops paying. Holding both is never set: it is what these two decisions add up to.
"""

from __future__ import annotations

import numpy as np

from ..scenario.schema import MembershipBehaviour


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def shopping_value(logsum_with: np.ndarray, logsum_without: np.ndarray, price_utility: np.ndarray) -> np.ndarray:
    """Dollars a year that holding a membership adds to a household's shopping (logsum difference)."""
    return 52.0 * (logsum_with - logsum_without).sum(axis=0) / price_utility


def perks_value(perks_usd: float, income: np.ndarray, median_income: float, elasticity: float) -> np.ndarray:
    """Dollars a year of non-shopping perks (video, fuel, streaming), rising with income."""
    return perks_usd * (income / median_income) ** elasticity


def neighbour_share(holds: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """Share of each household's neighbours who hold the membership."""
    if neighbours.shape[1] == 0:
        return np.zeros(len(holds))
    return holds[neighbours].mean(axis=1)


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
