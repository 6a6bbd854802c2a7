"""The weekly channel choice: a multinomial logit over every household at once.

For each category, a household compares the channels (``vocabulary.CHANNELS``). Utility is the
channel's constant (assortment and service), minus the household's dollar cost of using it (the
basket at the channel's prices, plus its firm's service costs: fees, travel, the cost of waiting
for delivery, less what a firm's own services are worth) times its price sensitivity, less the
offline penalty on online channels; decisions also lean on habit, members' loyalty and shopping
agents' priorities (:func:`decision_utilities`), and the logit's Gumbel noise is the rest. The
kernel gathers the firms' terms (``sim/firms/base.py``) and names no firm. Everything here is a
handful of array operations over all households; no Python loop over them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..scenario.schema import ShopperBehaviour
from ..vocabulary import FIRM_OF_CHANNEL, N_CHANNELS, ONLINE_CHANNELS, WALMART_ONLINE, Offer
from .population import Households

__all__ = ["Access", "HouseholdCosts", "Offer", "utilities"]

ONLINE = list(ONLINE_CHANNELS)  # to index the online channels' rows at once


@dataclass
class Access:
    """What reaches each household this week: whether it is online (``digital``) and delegates its
    shopping to an AI agent (``agent``), and each firm's own reach (``firms[name]``, flags and a
    state code; see :class:`sim.firms.base.Reach`)."""

    digital: np.ndarray
    agent: np.ndarray
    firms: dict

    def part(self, households: slice) -> Access:
        """The same flags and codes for a contiguous range of households (views, not copies)."""
        return Access(self.digital[households], self.agent[households],
                      {name: reach.part(households) for name, reach in self.firms.items()})

    def flags(self) -> dict[str, np.ndarray]:
        """Every reach flag by name, the firms' and the shared ones."""
        flags = {"digital": self.digital, "agent": self.agent}
        for reach in self.firms.values():
            flags.update(reach.flags)
        return flags

    @classmethod
    def of(cls, households: Households, offer: Offer, firms) -> Access:
        h = households
        digital = h.access_rank < offer.broadband[h.zone]
        return cls(digital=digital, agent=digital & (h.tech_rank < offer.agentic_share),
                   firms={firm.name: firm.reach(h, offer) for firm in firms})


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
    waiting per day, and a return trip to each firm's nearest store (by the households' distance
    column, computed once per behaviour). Firms build their service costs from these."""

    behaviour: ShopperBehaviour
    waiting: np.ndarray  # (categories, households) dollars a day of waiting for delivery
    basket: np.ndarray  # (households,) dollars of a week's shopping at reference prices
    trips: dict[str, np.ndarray]  # distance column -> (households,) dollars of a return trip
    span: tuple[int, int, int] | None = None  # which households of the population these are (None: all)
    # Tables a firm derives from these terms (by name and span), kept as long as the terms hold and
    # shared by every part of the population: see ``Walmart.online_cost``.
    derived: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, h: Households, behaviour: ShopperBehaviour, reference_income: float,
           distances: tuple[str, ...]) -> HouseholdCosts:
        return cls(behaviour, patience(h, behaviour, reference_income), h.budget.sum(axis=0),
                   {column: trip_cost(getattr(h, column), h.value_of_time, behaviour) for column in distances})

    def part(self, households: slice) -> HouseholdCosts:
        # A part of a part gets tables of its own (its span is not counted from the population's start).
        whole = self.span is None
        return HouseholdCosts(self.behaviour, self.waiting[:, households], self.basket[households],
                              {column: trip[households] for column, trip in self.trips.items()},
                              households.indices(len(self.basket)) if whole else None,
                              self.derived if whole else {})


def members_of(h: Households, firms) -> dict[str, np.ndarray]:
    """Who holds each firm's membership, as the households' columns say."""
    return {firm.membership: getattr(h, firm.membership) for firm in firms if firm.membership}


def channel_costs(h: Households, offer: Offer, access: Access, costs: HouseholdCosts, firms,
                  members: dict[str, np.ndarray]) -> np.ndarray:
    """Dollar cost of using each channel: shape (channels, categories, households). The basket at the
    channel's prices, plus each firm's service costs for its members or non-members."""
    cost = h.budget[None, :, :] * offer.price[:, :, None]
    for firm in firms:
        service = firm.service_costs(access.firms[firm.name], costs, members.get(firm.membership))
        for channel, dollars in service.items():
            cost[channel] += dollars
    return cost


def utilities(h: Households, offer: Offer, access: Access, costs: HouseholdCosts, firms,
              members: dict[str, np.ndarray]) -> np.ndarray:
    """Systematic utility of each channel as households choose: shape (channels, categories, households)."""
    return decision_utilities(h, offer, access, costs, firms, members)[0]


def decision_utilities(h: Households, offer: Offer, access: Access, costs: HouseholdCosts, firms,
                       members: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The utility households choose by, and its ``lean``: the part that is not their own value (and,
    where an agent routes orders, the taste a routed order does not earn, :func:`unearned_taste`).

    Both (channels, categories, households). The household's own (experienced) value of a channel is
    its constant, less its dollar cost (basket, fees, trips, waiting, less the dollar value of any
    service a firm adds) at the household's utility of a dollar, less the offline penalty. Decisions
    also lean on habit and on a member's loyalty to its membership's firm (the sunk-cost effect,
    :func:`household_lean`). A household whose AI agent shops online lets the agent pick among the
    online offers (:func:`agent_nest`). Welfare counts value, not lean (Leggett 2002)."""
    behaviour = costs.behaviour
    cost = channel_costs(h, offer, access, costs, firms, members)
    # The households whose AI agent shops online (computed for them alone: a few percent of households),
    # the agent's priorities on the online offers (it weighs money (focus - 1) harder, and any lean to its
    # partner's checkout) and its routes (the share of its orders it sends to a partner whatever the offers).
    agents, priorities, routes = np.flatnonzero(access.agent), None, None
    if agents.size:
        priorities = agent_priorities(h, offer, access, cost, firms, agents)
        routes = agent_routes(access, firms)
        routes = None if routes is None else routes[:, agents]
    value = np.multiply(cost, -h.price_utility, out=cost)
    value += offer.constant[:, :, None]
    if h.firm_taste is not None:  # a lasting liking for a firm, in dollars an order: the household's,
        value += h.price_utility * h.firm_taste[FIRM_OF_CHANNEL][:, None, :]  # not scaled by an agent's focus
    if h.walmart_online_taste is not None:  # and for ordering from Walmart online rather than its stores
        value[WALMART_ONLINE] += h.price_utility * h.walmart_online_taste
    if offer.walmart_regulars and offer.walmart_regular_usd:  # the Walmart online regulars' liking for it
        value[WALMART_ONLINE] += np.where(h.regular_rank < offer.walmart_regulars,
                                          offer.walmart_regular_usd * h.price_utility, 0.0)
    # Online channels: what ordering online has gained since the trend began (a share of the basket,
    # the same for every online channel), less the offline penalty without broadband.
    online = np.where(access.digital, 0.0, behaviour.offline_penalty_usd * h.price_utility)[None, :]
    if offer.online_gain:
        online = online - offer.online_gain * h.budget * h.price_utility
    for channel in ONLINE_CHANNELS:
        value[channel] -= online
    lean = household_lean(h, behaviour, firms, members)
    if agents.size:
        nest = agent_nest(value[:, :, agents][ONLINE], lean[:, :, agents][ONLINE], priorities, routes)
        for row, channel in enumerate(ONLINE_CHANNELS):
            lean[channel][:, agents] = nest[row]
    value += lean
    if routes is not None:  # welfare: a routed order was not chosen, so it earns no taste draw
        decided = value[:, :, agents][ONLINE]
        unearned = unearned_taste(decided, decided - lean[:, :, agents][ONLINE] + priorities, routes)
        for channel in ONLINE_CHANNELS:
            lean[channel][:, agents] += unearned
    return value, lean


def agent_priorities(h: Households, offer: Offer, access: Access, cost: np.ndarray, firms,
                     agents: np.ndarray) -> np.ndarray:
    """What an AI agent adds to its household's utility of each online channel, for the households at
    ``agents`` (indices of those whose agent shops): (online channels, categories, agents). It weighs
    each dollar of ``cost`` (channels, categories, households) (focus - 1) times harder than the
    household, and leans to its partner's checkout by ``partner_value_usd_per_order`` ($1.50 by
    default; routing a share of its orders is :func:`agent_routes`)."""
    price_utility = h.price_utility[agents]
    priorities = cost[:, :, agents][ONLINE] * -(price_utility * (offer.agent_price_focus - 1.0))
    for firm in firms:
        for channel, dollars in firm.agent_values(access.firms[firm.name], access).items():
            priorities[ONLINE.index(channel)] += price_utility * offer.agent_price_focus * dollars[agents]
    return priorities


def agent_routes(access: Access, firms) -> np.ndarray | None:
    """Share of an AI agent's online orders it sends to each online channel whatever the offers (its
    partner's routing): (online channels, households), or None when no firm is routed to."""
    routes = np.zeros((len(ONLINE), access.agent.size))
    for firm in firms:
        for channel, share in firm.agent_routes(access.firms[firm.name], access).items():
            routes[ONLINE.index(channel)] += share
    if routes.sum(axis=0).max() >= 1.0:
        raise ValueError("AI agents' routing shares add up to 1 or more: no order would be left to pick")
    return routes if routes.any() else None


def household_lean(h: Households, behaviour: ShopperBehaviour, firms, members: dict[str, np.ndarray]) -> np.ndarray:
    """The household's own lean on each channel, (channels, categories, households): its habit, worth
    a share of the category's basket in its own dollars, and a member's loyalty on its membership
    firm's channels."""
    lean = h.habit * (behaviour.habit_share_of_basket * h.budget * h.price_utility)
    for firm in firms:
        if firm.membership and firm.membership in members:
            loyalty = loyalty_lean(h, firm, members[firm.membership])
            if loyalty is not None:
                for channel in firm.channels:  # in place (a list index would copy and write back)
                    lean[channel] += loyalty
    return lean


def agent_nest(online: np.ndarray, own: np.ndarray, priorities: np.ndarray,
               routes: np.ndarray | None = None) -> np.ndarray:
    """The lean of the online channels of households whose agent shops: the agent's ``priorities``
    shifted so that the online offers together weigh what they weigh for the household. ``online``
    is their utility of the online channels before any lean, ``own`` their own lean on them (habit,
    loyalty), all (online channels, categories, agents); ``routes`` (online channels, agents).

    A nest. The household decides whether to shop online as it would if it picked the offer itself
    (its own value, habit and loyalty: the logsum of ``V + own`` over the online offers); the agent
    then picks the offer by the logit of ``V + A``, without habit or loyalty, weighing money harder
    (and leaning to its partner, if it has a lean). No source says that delegating makes a household shop online more
    or less, only which offer gets the order (agents mediate 10-20% of US e-commerce by 2030,
    Morgan Stanley 2026). Choosing by ``V_k + A_k + log sum exp(V + own) - log sum exp(V + A)`` over
    all channels at once gives exactly those nested probabilities, ``P_k = P(online) q_k``, so
    every caller of the flat logit (shopping, welfare, expected demand) gets the nest; welfare
    counts what the agent picks at the household's own value (Leggett 2002).

    With ``routes`` (of :func:`agent_routes`), the agent sends that share of its orders to a partner
    whatever the offers and picks the rest by its logit: its split is ``(1 - sum f) q_k + f_k``, and
    the lean ``log(split_k) - V_k + log sum exp(V + own)`` gives ``P_k = P(online) split_k``."""
    picks = online + priorities
    if routes is None:
        return priorities + (logsum(online + own, True) - logsum(picks))
    kept = np.log(1.0 - routes.sum(axis=0))  # (agents,): the share the agent picks by its logit
    with np.errstate(divide="ignore"):  # a channel no agent is routed to: log 0, which logaddexp ignores
        split = np.logaddexp(kept + (picks - logsum(picks)), np.log(routes)[:, None, :])
    return split - online + logsum(online + own, True)


def unearned_taste(decided: np.ndarray, picks: np.ndarray, routes: np.ndarray) -> np.ndarray:
    """The taste an agent's routed orders are credited with but do not earn, (categories, households):
    ``H(s) - (1 - sum f) H(q)``, the entropy of the agent's split ``s`` (the logit of the online
    channels' ``decided`` utilities) less the kept share times that of its own logit's pick ``q``
    (of its ``picks``, ``V + A``).

    Leggett's welfare of a flat logit, ``log sum exp(U) - E[lean]``, counts every chosen offer's
    taste draw: within the online offers ``sum s V + H(s)``. The agent's own pick earns its draw,
    ``(1 - f)(sum q V + H(q))``, but a routed order was not chosen and earns its value only, ``f V``
    of the partner: the difference is this. Added to the lean of both online channels, it is taken
    out of welfare in proportion to the week's online orders, and it changes no choice."""
    def entropy(utilities: np.ndarray) -> np.ndarray:
        p = logit(utilities)[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            return -np.where(p > 0, p * np.log(p), 0.0).sum(axis=0)
    return entropy(decided) - (1.0 - routes.sum(axis=0)) * entropy(picks)


def loyalty_lean(h: Households, firm, held: np.ndarray) -> np.ndarray | None:
    """Utility a member's loyalty adds to its membership firm's channels, per household.

    The sunk-cost feeling is the household's: zero where it does not hold ``firm``'s membership
    (``held``); an AI agent does not share it when it picks among the online offers. None when the
    membership carries no loyalty at all. One definition for the choice
    (:func:`decision_utilities`) and for the membership's value, which takes it out
    (:func:`~sim.model.memberships.membership_values`)."""
    dollars = firm.membership_terms.loyalty_usd_per_order
    if not dollars:
        return None
    return held * (dollars * h.price_utility)


def welfare(top: np.ndarray, weights: np.ndarray, total: np.ndarray, lean: np.ndarray,
            price_utility: np.ndarray) -> np.ndarray:
    """Each household's expected consumer surplus of the week's shopping, in dollars.

    ``top``, ``weights`` and ``total`` are :func:`exponentials` of the decision utility. The expected
    value of what it chooses is the decision logsum less the expected lean of the chosen channel
    (Leggett 2002; with no lean, the logsum of Small & Rosen 1981), summed over categories and
    divided by the household's own utility of a dollar."""
    expected_lean = np.einsum("kci,kci->ci", weights, lean) / total
    return (top + np.log(total) - expected_lean).sum(axis=0) / price_utility


def logsum(value: np.ndarray, overwrite: bool = False) -> np.ndarray:
    """log-sum-exp over channels: the expected best utility, shape (categories, households).

    The same number as :func:`logit`'s second value, without its probabilities; ``overwrite=True``
    uses ``value``'s memory (for a temporary)."""
    top, _weights, total = exponentials(value, overwrite)
    return top + np.log(total)


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
