"""Monthly membership decisions: adopt or drop each firm's membership from value and word of mouth.

Memberships are offers like any other: a membership changes its firm's channels' costs (fees,
waits, trips; the firm's ``service_costs`` for members), so it is worth, to a household, the gain
in its expected weekly shopping utility (the logit logsum, in dollars) from holding it, over a
year, plus the perks it values, minus the fee. Households adopt at a Bass-diffusion rate
(innovation plus imitation of network neighbours who hold it), scaled by how much the membership
pays for them; members drop it at a churn rate that rises when it stops paying. Holding several
is never set: it is what these decisions add up to.
"""

from __future__ import annotations

import numpy as np

from ..scenario.schema import MembershipBehaviour, Scenario
from ..vocabulary import N_CHANNELS, WEEKS_PER_YEAR
from .choice import ONLINE, Access, HouseholdCosts, household_lean, loyalty_lean, members_of
from .population import Households


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def membership_values(h: Households, access: Access, params: Scenario, costs: HouseholdCosts,
                      weights: np.ndarray, lean: np.ndarray, firms) -> dict[str, np.ndarray]:
    """Net dollars a year of each firm's membership to each household, before its own taste.

    ``weights`` are this week's ``exp(utility - max)`` per channel (before normalising) and ``lean``
    the decision's lean (:func:`~sim.model.choice.decision_utilities`). A membership changes only
    its firm's channels' costs, so with it and without it the logsums differ only in those channels'
    weights: ``W_k * exp(-price_utility * extra cost)``. A household whose AI agent shops online
    values it as if it picked the online offer itself (:func:`own_weights`).
    """
    values = {}
    agents = np.flatnonzero(access.agent)
    if len(agents):
        weights = own_weights(h, costs, firms, weights, lean, agents)
    for firm in firms:
        if firm.membership is None:
            continue
        held = getattr(h, firm.membership)
        loyalty = loyalty_lean(h, firm, held)
        reach = access.firms[firm.name]
        yes, no = np.ones(len(held), dtype=bool), np.zeros(len(held), dtype=bool)
        extra = {channel: with_it - firm.service_costs(reach, costs, no)[channel]
                 for channel, with_it in firm.service_costs(reach, costs, yes).items()}
        gain = _shopping_gain(firm, held, extra, weights, h.price_utility, loyalty)
        values[firm.membership] = gain + perks_less_fee(firm, h, params)
    return values


def perks_less_fee(firm, h: Households, params: Scenario) -> np.ndarray:
    """Dollars a year of ``firm``'s membership beside shopping: its perks less its fee (in constant
    dollars: the posted fee over this week's price level), per household."""
    return membership_perks(firm, h, params) - firm.membership_fee()


def membership_perks(firm, h: Households, params: Scenario) -> np.ndarray:
    """Dollars a year of ``firm``'s membership's perks to each household (they rise with income)."""
    return perks_value(firm.membership_terms.perks_value_usd, h.income, params.population.median_income_usd,
                       params.memberships.perks_income_elasticity)


def _shopping_gain(firm, held: np.ndarray, extra: dict[int, np.ndarray], weights: np.ndarray,
                   price_utility: np.ndarray, loyalty: np.ndarray | None) -> np.ndarray:
    """Dollars a year that holding ``firm``'s membership adds to each household's shopping, where
    the household chooses every channel itself. ``extra`` is what each of the firm's channels costs
    a member more than a non-member (dollars, negative where it saves).

    The members' loyalty lean (``loyalty``, utility, from :func:`~sim.model.choice.loyalty_lean`:
    zero for non-members) is taken out of their weights: it comes with holding the membership and
    is not what a household expects of it."""
    unlean = np.exp(-loyalty) if loyalty is not None else 1.0
    others = [weights[channel] for channel in range(N_CHANNELS) if channel not in firm.channels]
    rest = others[0]
    for other in others[1:]:
        rest = rest + other
    # A channel's weight moves by exp(-price_utility x (cost either way - cost as it stands)). Each household's
    # cost as it stands is one of the two, where the factor is exp(-0) = 1 exactly: so only the other
    # way needs an exponential (members without it, others with it), one per household and channel.
    scale_with, scale_without, exponents = {}, {}, {}
    for channel in firm.channels:
        exponents[channel] = -price_utility * np.where(held, -extra[channel], extra[channel])
        with np.errstate(over="ignore"):  # beyond float range: log_total sums those households in logs
            moved = np.exp(exponents[channel])
        scale_with[channel], scale_without[channel] = np.where(held, 1.0, moved), np.where(held, moved, 1.0)

    def log_total(scale: dict[int, np.ndarray], members_scaled: bool) -> np.ndarray:
        total = rest
        with np.errstate(over="ignore", invalid="ignore"):
            for channel in firm.channels:
                total = total + weights[channel] * unlean * scale[channel]
            logs = np.log(total)
        bad = ~np.isfinite(logs)
        if bad.any():  # a moved weight beyond float range (an extreme utility of a dollar): the same sum in logs
            logs[bad] = _log_total_in_logs(rest, weights, unlean, exponents, held, members_scaled, bad)
        return logs

    return shopping_value(log_total(scale_with, False), log_total(scale_without, True), price_utility)


def own_weights(h: Households, costs: HouseholdCosts, firms, weights: np.ndarray, lean: np.ndarray,
                agents: np.ndarray) -> np.ndarray:
    """``weights`` with the online channels of the households ``agents`` (indices) as they would be
    if each picked the online offer itself: the nest keeps its total, the household's own split
    (``V + its own lean``) replaces its agent's. Their decision logsums are then a household's own
    (:func:`~sim.model.choice.agent_nest`), so a membership is worth to them what it is worth to a
    household that shops itself, with the same habits."""
    own = household_lean(h, costs.behaviour, firms, members_of(h, firms))
    online = weights[ONLINE][..., agents]
    with np.errstate(divide="ignore"):
        split = np.log(online) - lean[ONLINE][..., agents] + own[ONLINE][..., agents]
    split = np.exp(split - split.max(axis=0))
    weights = weights.copy()
    for k, channel in enumerate(ONLINE):
        weights[channel][:, agents] = online.sum(axis=0) * split[k] / split.sum(axis=0)
    return weights


def _log_total_in_logs(rest: np.ndarray, weights: np.ndarray, unlean, exponents: dict[int, np.ndarray],
                       held: np.ndarray, members_scaled: bool, bad: np.ndarray) -> np.ndarray:
    """``log(rest + sum_c weights_c x unlean x scale_c)`` where ``bad``, from logs: the scale's exponent
    applies to members (``members_scaled``) or to the others, and is 0 for the rest."""
    shape = rest.shape
    with np.errstate(divide="ignore"):
        logs = np.log(rest[bad])
        log_unlean = np.broadcast_to(np.log(unlean), shape)[bad]
        for channel, exponent in exponents.items():
            scaled = np.broadcast_to(np.where(held == members_scaled, exponent, 0.0), shape)[bad]
            logs = np.logaddexp(logs, np.log(weights[channel][bad]) + log_unlean + scaled)
    return logs


def shopping_value(logsum_with: np.ndarray, logsum_without: np.ndarray, price_utility: np.ndarray) -> np.ndarray:
    """Dollars a year that holding a membership adds to a household's shopping (logsum difference)."""
    return WEEKS_PER_YEAR * (logsum_with - logsum_without).sum(axis=0) / price_utility


def perks_value(perks_usd: float, income: np.ndarray, median_income: float, elasticity: float) -> np.ndarray:
    """Dollars a year of non-shopping perks (video, fuel, streaming), rising with income."""
    return perks_usd * (income / median_income) ** elasticity


def neighbour_share(holds: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """Share of each household's neighbours who hold the membership: ``holds`` is who holds it
    (booleans), or each household's chance of holding it (floats: the mean chance of its neighbours).

    Counted neighbour by neighbour (over ``neighbours.T``): numpy sums long rows far faster than
    millions of rows of a few; with the network stored column by column (see
    :func:`~sim.model.population.draw_network`) the transpose is contiguous."""
    degree = neighbours.shape[1]
    if degree == 0:
        return np.zeros(len(holds))
    if holds.dtype != bool:
        return holds[neighbours.T].sum(axis=0) / degree
    return holds.view(np.uint8)[neighbours.T].sum(axis=0, dtype=np.int32) / degree


def adoption_probability(net_value: np.ndarray, neighbours_holding: np.ndarray,
                         behaviour: MembershipBehaviour) -> np.ndarray:
    """Monthly chance a non-member joins: Bass hazard times the value logit."""
    hazard = (behaviour.innovation_p_per_year + behaviour.imitation_q_per_year * neighbours_holding) / 12.0
    return np.minimum(1.0, hazard * sigmoid(net_value / behaviour.value_scale_usd))


def churn_probability(net_value: np.ndarray, months_held: np.ndarray, behaviour: MembershipBehaviour,
                      floor: float | None = None) -> np.ndarray:
    """Monthly chance a member leaves: a floor (the membership's own, or the shared one) plus extra
    churn when it no longer pays."""
    floor = behaviour.churn_floor_per_year if floor is None else floor
    yearly = floor + behaviour.value_churn_per_year * sigmoid(
        -net_value / behaviour.value_scale_usd
    )
    first_year = np.where(months_held < 12, behaviour.first_year_churn_multiplier, 1.0)
    return np.minimum(1.0, yearly * first_year / 12.0)


def long_run_share(net_value: np.ndarray, neighbours_holding: np.ndarray, behaviour: MembershipBehaviour,
                   floor: float | None = None) -> np.ndarray:
    """Each household's long-run chance of holding the membership under this month's rules: the share
    of time it spends as a member when it joins and leaves at the monthly rates of
    :func:`adoption_probability` and :func:`churn_probability` for ever (an alternating renewal process:
    a spell out lasts 1 / join months on average, a spell in lasts the months its survival adds up to,
    at the first year's churn for 12 months and the later rate after)."""
    join = adoption_probability(net_value, neighbours_holding, behaviour)
    first = churn_probability(net_value, np.zeros(len(net_value)), behaviour, floor)
    later = churn_probability(net_value, np.full(len(net_value), 12), behaviour, floor)
    survive = (1.0 - first) ** 12
    with np.errstate(divide="ignore", invalid="ignore"):
        months_in = np.where(first > 0, (1.0 - survive) / first, 12.0) + survive / later  # inf if never left
        share = join * months_in / (join * months_in + 1.0)
    return np.where(np.isinf(months_in), np.where(join > 0, 1.0, 0.0), np.nan_to_num(share))


def decide(holds: np.ndarray, months_held: np.ndarray, net_value: np.ndarray, neighbours_holding: np.ndarray,
           uniform: np.ndarray, behaviour: MembershipBehaviour, available: bool = True,
           floor: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """This month's holders and their months held, from one uniform draw per household."""
    if not available:
        return np.zeros_like(holds), np.zeros_like(months_held)
    join = ~holds & (uniform < adoption_probability(net_value, neighbours_holding, behaviour))
    leave = holds & (uniform < churn_probability(net_value, months_held, behaviour, floor))
    now = (holds & ~leave) | join
    return now, np.where(now, months_held + 1, 0)


def established_churn(held: np.ndarray, months_held: np.ndarray, holds_now: np.ndarray) -> float:
    """Yearly churn of members past their first year: the share of them who left this month, x 12."""
    established = held & (months_held >= 12)
    count = int(established.sum())
    return 12.0 * float((established & ~holds_now).sum()) / count if count else float("nan")
