"""Consumer surplus: what households get, not what leans their choices (Leggett 2002).

Each week a household's surplus is, per category, the logsum of its decision utility ``V + L`` less
the expected lean ``L`` of the channel it picks, over its own utility of a dollar, plus the perks
less the fees of the memberships it holds (``sim/model/choice.py`` ``welfare``, ``market.py``).
Written with the choice probabilities ``q`` of ``V + L``, the per-category term is
``E_q[V] + H(q)`` (H the entropy): by the Gibbs variational principle it is largest, at
``logsum(V)``, when nothing leans the choice. Habit and an agent's priorities can only lower it.
A household whose AI agent shops online chooses between its stores and the agent's pick among the
online offers (a nest, ``choice.agent_nest``), written flat with the same welfare formula.

Runs here are small (400-1,000 households, half a year) on common seeds. Where a check needs the
memberships to stay as launched, ``FROZEN`` switches off adoption after launch, churn and the
households' own tastes for memberships: then a household joins at launch exactly when the
membership's net value to it is positive, and is held or not for the whole run.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from sim.model import choice
from sim.model.market import RetailMarket
from sim.vocabulary import N_CHANNELS

from .conftest import small

WEEKS = 52
# Memberships as launched, for the whole run: no Bass adoption after launch, no churn, no own taste.
FROZEN = dict(memberships__innovation_p_per_year=0.0, memberships__imitation_q_per_year=0.0,
              memberships__churn_floor_per_year=0.0, memberships__value_churn_per_year=0.0,
              memberships__taste_sd_usd=0.0)
# Shopping agents that are the household itself: no harder weight on money, no partner to lean or route to.
NEUTRAL_AGENTS = dict(walmart__agentic__price_focus=1.0, walmart__agentic__partner_value_usd_per_order=0.0,
                      walmart__agentic__partner_order_share=0.0)
# No member's loyalty: a lean of its own, which a second lean (habit) can offset as well as add to.
NO_LOYALTY = dict(amazon__prime__loyalty_usd_per_order=0.0, walmart__walmart_plus__loyalty_usd_per_order=0.0)
# No member at all: fees no household pays. Launch decisions weigh settled habits, which differ with
# habit's weight and with delegation, so runs that compare habits keep memberships out of the way.
NO_MEMBERS = dict(**FROZEN, amazon__prime__fee_annual=10_000.0, walmart__walmart_plus__fee_annual=10_000.0)


def agents_from_the_start(share: float) -> dict:
    return dict(walmart__agentic__adoption__start="2020-11-01", walmart__agentic__adoption__years=0.0,
                walmart__agentic__adoption__target=share)


class Recording(RetailMarket):
    """The market, keeping each recorded week's household surplus, memberships and choices."""

    def households_shop(self) -> None:
        super().households_shop()
        if self.date >= self.scenario.horizon.start:
            h = self.households
            self.log.append((self.surplus.copy(), h.walmart_plus.copy(), h.prime.copy(), self.choice.copy(),
                             self.access.agent.copy(), self.access.digital.copy(), self.price_level))


def weeks(seed: int, shoppers: int = 400, **changes) -> tuple[RetailMarket, dict[str, np.ndarray]]:
    """Run a small scenario; (weeks, households) arrays of surplus, holdings, choices and access."""
    model = Recording(small(population__shoppers=shoppers, **changes), seed=seed)
    model.log = []
    model.run_model()
    names = ("surplus", "walmart_plus", "prime", "choice", "agent", "digital", "price_level")
    return model, {name: np.array(column) for name, column in zip(names, zip(*model.log))}


def measured(value: np.ndarray, lean: np.ndarray, price_utility: np.ndarray) -> np.ndarray:
    """``choice.welfare`` of decision utilities ``value`` (with ``lean`` in them)."""
    top, weights, total = choice.exponentials(value.copy())
    return choice.welfare(top, weights, total, lean, price_utility)


# -- (a) a fee cut ------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_walmart_plus_fee_cut_is_worth_the_cut_to_its_members(seed: int) -> None:
    """Walmart+ at $49 instead of $98 from launch, X = $49 a year, memberships as launched.

    Members at $98 also join at $49 (the value only rises); their choices depend on no fee, so each
    of them gains exactly X / 52 a week. A household that joins only at $49 had a net value at $98
    of at most zero and at $49 above zero, so it gains between 0 and X: on average less than X (its
    value is judged at launch, on that week's offers and with no habits yet; a single week of
    welfare can differ a little). Non-members in both runs see no change at all. So the weekly gain
    per household lies between X / 52 x the share of members at $98 and X / 52 x the share at $49,
    which is the "about X / 52 x the members' share" of the cut scenario, to within the joiners' share.
    X is in each week's constant dollars: the posted cut over the week's price level."""
    base_model, base = weeks(seed, shoppers=1000, **FROZEN)
    cut_model, cut = weeks(seed, shoppers=1000, walmart__walmart_plus__fee_annual=49.0, **FROZEN)
    weekly = (98.0 - 49.0) / base["price_level"][:, None] / WEEKS  # X / 52, week by week
    held_base, held_cut = base["walmart_plus"], cut["walmart_plus"]
    assert (held_base == held_base[0]).all() and (held_cut == held_cut[0]).all(), "memberships as launched"
    assert np.array_equal(base["prime"], cut["prime"]), "Prime is launched first, on the same terms"
    assert (held_base <= held_cut).all(), "every member at $98 is a member at $49"
    joiners = held_cut & ~held_base
    assert joiners[0].sum() > 0 and held_base[0].sum() > 0
    gain = cut["surplus"] - base["surplus"]
    assert gain[held_base] == pytest.approx(np.broadcast_to(weekly, gain.shape)[held_base], abs=1e-9), \
        "members at $98 gain the cut exactly"
    assert np.array_equal(base["choice"][:, :, ~held_cut[0]], cut["choice"][:, :, ~held_cut[0]])
    assert (gain[~held_cut] == 0).all(), "non-members in both runs: nothing changes"
    assert 0 < (gain / weekly)[joiners].mean() < 1, "joiners gain less than the cut, on average"
    per_household, cut_a_week = gain.mean(), weekly.mean()  # holdings do not change: means multiply
    lower, upper = cut_a_week * held_base.mean(), cut_a_week * held_cut.mean()
    assert lower < per_household < upper
    assert per_household == pytest.approx(upper, abs=cut_a_week * joiners.mean())
    # The recorded metric is the households' mean surplus, week by week.
    for model, run in ((base_model, base), (cut_model, cut)):
        _, series = model.collector.recorder.series("consumer_surplus", locale="all")
        assert series == pytest.approx(run["surplus"].mean(axis=1), rel=1e-12)


# -- (b) agents that are the household ---------------------------------------------------------------
def test_agents_that_choose_as_the_household_would_leave_surplus_unchanged() -> None:
    """With agents that weigh money as the household does, no partner lean and no habit for anyone,
    delegating changes no decision utility: the same draws give the same choices and memberships,
    and consumer surplus is the same to the last bit whether no one or half the households delegate."""
    common = dict(**NEUTRAL_AGENTS, **NO_LOYALTY, shoppers__habit_share_of_basket=0.0)
    _, people = weeks(5, **common, **agents_from_the_start(0.0))
    _, delegating = weeks(5, **common, **agents_from_the_start(0.5))
    assert not people["agent"].any()
    assert delegating["agent"].mean() == pytest.approx(0.5 * delegating["digital"].mean(), abs=0.06)
    assert np.array_equal(people["choice"], delegating["choice"])
    assert np.array_equal(people["walmart_plus"], delegating["walmart_plus"])
    assert np.array_equal(people["prime"], delegating["prime"])
    assert np.array_equal(people["surplus"], delegating["surplus"])


# -- (c) habit is not value: agents that ignore it among the online offers do no worse there ---------
def test_agents_ignore_habit_and_loyalty_among_online_offers_and_do_no_worse_there() -> None:
    """Habit on (12% of the basket), members' loyalty on, every online household delegating to an
    agent that is otherwise the household itself. The agent's pick among the online offers leans on
    nothing: the delegating households' leans on Amazon and Walmart online are equal, so the split
    of their online shopping is the logit of their own values. By the Gibbs principle that pick is
    worth at least what the household's own habit- and loyalty-leaned pick among the same offers
    would be (``logsum(V)`` against ``E_p[V] + H(p)``), and more on average, as habit costs the
    households that follow it something. Households offline shop themselves."""
    model, _ = weeks(6, **NEUTRAL_AGENTS, **agents_from_the_start(1.0))
    h, access = model.households, model.access
    agent = access.agent
    assert np.array_equal(agent, access.digital) and 0 < (~agent).sum() and agent.any()
    value, lean = choice.decision_utilities(h, model.offer, access, model.household_costs(), model.firms,
                                            choice.members_of(h, model.firms))
    online = choice.ONLINE
    assert lean[online[0]][:, agent] == pytest.approx(lean[online[1]][:, agent], abs=1e-12)
    habit = model.params.shoppers.habit_share_of_basket * h.budget * h.price_utility
    own = (value - lean)[online][..., agent]
    # The household's own lean among the online offers, as it would choose them itself.
    person = h.habit[online][..., agent] * habit[:, agent]
    person[0] += (h.prime * h.price_utility * model.params.amazon.prime.loyalty_usd_per_order)[agent]
    person[1] += (h.walmart_plus * h.price_utility * model.params.walmart.walmart_plus.loyalty_usd_per_order)[agent]
    assert np.ptp(person[0] - person[1]) > 0.1, "habit and loyalty pull between the online offers"
    agents_pick = choice.logsum(own.copy())
    own_pick = np.log(np.exp(own + person).sum(axis=0)) - (choice.logit(own + person)[0] * person).sum(axis=0)
    gain = agents_pick - own_pick
    assert gain.min() > -1e-9
    assert gain.mean() > 1e-3


def test_an_agent_routes_its_share_of_orders_to_its_partner_and_a_routed_order_earns_no_taste_draw() -> None:
    """Agents that are otherwise the household itself (no habit, no loyalty anywhere) but send 30% of
    their online orders to Walmart whatever the offers. Of a delegating household's online orders
    Walmart online gets ``0.7 q + 0.3``, ``q`` the logit of the household's own values ``V`` over the
    two online offers, and the online offers together weigh what they weigh for the household alone.
    Its welfare, by hand from a nest: the entropy of the choice between shopping online and each
    store, plus the stores' values, plus for the online orders ``0.7 (sum q V + H(q)) + 0.3 V_W``:
    the agent's own pick earns its taste draw, a routed order its value only. That is less than the
    household's welfare alone, ``log sum exp(V)``, by the online orders' share of what routing costs."""
    model, _ = weeks(6, **{**NEUTRAL_AGENTS, "walmart__agentic__partner_order_share": 0.3}, **NO_LOYALTY,
                     shoppers__habit_share_of_basket=0.0, **agents_from_the_start(1.0))
    h, access, costs, firms = model.households, model.access, model.household_costs(), model.firms
    agent = access.agent
    value, lean = choice.decision_utilities(h, model.offer, access, costs, firms, choice.members_of(h, firms))
    alone = dataclasses.replace(access, agent=np.zeros_like(agent))
    own, no_lean = choice.decision_utilities(h, model.offer, alone, costs, firms, choice.members_of(h, firms))
    assert not no_lean.any(), "no habit, no loyalty: the household's own values"
    online, stores = choice.ONLINE, [k for k in range(N_CHANNELS) if k not in choice.ONLINE]
    chosen = choice.logit(value.copy())[0]
    whole = choice.logit(own.copy())[0]
    q = choice.logit(own[online].copy())[0]
    assert (chosen[online[1]] / chosen[online].sum(axis=0))[:, agent] == pytest.approx((0.7 * q[1] + 0.3)[:, agent], abs=1e-9)
    assert chosen[online].sum(axis=0) == pytest.approx(whole[online].sum(axis=0), abs=1e-9)
    # Welfare by hand, in utility per category, then dollars a week.
    upper = np.concatenate([whole[online].sum(axis=0)[None], whole[stores]])
    def entropy(p):
        return -np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0).sum(axis=0)

    def expected(p, v):  # a channel no one can choose has no value to weigh
        return np.where(p > 0, p * np.where(p > 0, v, 0.0), 0.0).sum(axis=0)
    nest = 0.7 * (expected(q, own[online]) + entropy(q)) + 0.3 * own[online[1]]
    by_hand = (entropy(upper) + upper[0] * nest + expected(whole[stores], own[stores])).sum(axis=0) / h.price_utility
    measured = choice.welfare(*choice.exponentials(value.copy()), lean, h.price_utility)
    assert measured[agent] == pytest.approx(by_hand[agent], rel=1e-9)
    by_themselves = choice.logsum(own.copy()).sum(axis=0) / h.price_utility
    assert measured[~agent] == pytest.approx(by_themselves[~agent], rel=1e-9)
    assert (by_themselves - measured)[agent].min() > 0, "routing costs every delegating household something"


# -- (d) habit does not count as welfare ---------------------------------------------------------------
def test_lean_on_a_channel_nobody_would_choose_lowers_measured_welfare() -> None:
    """One household, one category, five channels. Without lean, values (-10, 0, 0, 0, 0): welfare
    is log(e^-10 + 4) = 1.3863 utils. A habit of 10 on the first channel makes the decision utilities
    all 0: the decision logsum rises to log 5 = 1.6094, but the first channel is now chosen with
    probability 1/5 at an expected lean of 10/5 = 2, so measured welfare is log 5 - 2 = -0.3906:
    lower, not higher. In dollars, at 0.016 a dollar: 86.64 down to -24.41."""
    pu = np.array([0.016])
    value = np.array([-10.0, 0, 0, 0, 0]).reshape(N_CHANNELS, 1, 1)
    lean = np.zeros_like(value)
    before = measured(value, lean, pu)[0]
    assert before == pytest.approx(math.log(math.exp(-10) + 4) / 0.016)
    assert before == pytest.approx(86.64, abs=0.01)
    lean[0] = 10.0
    after = measured(value + lean, lean, pu)[0]
    assert after == pytest.approx((math.log(5) - 2.0) / 0.016)
    assert after == pytest.approx(-24.41, abs=0.01)
    # A lean of log 4 on one of five equal channels: logsum log 8, chosen half the time, so measured
    # welfare log 8 - log 4 / 2 = log 4, against log 5 without it.
    value = np.zeros((N_CHANNELS, 1, 1))
    lean = np.zeros_like(value)
    lean[2] = math.log(4)
    assert measured(value + lean, lean, np.ones(1))[0] == pytest.approx(math.log(4))
    assert measured(value, np.zeros_like(value), np.ones(1))[0] == pytest.approx(math.log(5))


def test_a_lean_that_moves_no_choice_changes_no_welfare_and_none_raises_it() -> None:
    """The same lean on every channel moves no choice: it raises the decision logsum by itself but
    leaves measured welfare exactly as it was. And over many random values and leans (habits,
    loyalty, agents' priorities: any lean), measured welfare never exceeds the logsum of the values
    alone."""
    rng = np.random.default_rng(11)
    value = rng.normal(0, 2, (N_CHANNELS, 3, 500))
    pu = rng.uniform(0.005, 0.05, 500)
    plain = measured(value, np.zeros_like(value), pu)
    assert plain == pytest.approx(choice.logsum(value).sum(axis=0) / pu, rel=1e-12)
    flat = np.broadcast_to(rng.uniform(0, 3, (1, 3, 500)), value.shape).copy()
    assert measured(value + flat, flat, pu) == pytest.approx(plain, rel=1e-12, abs=1e-9)
    assert (choice.logsum(value + flat).sum(axis=0) / pu > plain + 1).all(), "the decision logsum did rise"
    for scale in (0.1, 1.0, 5.0):
        lean = rng.normal(0, scale, value.shape)
        assert (measured(value + lean, lean, pu) <= plain + 1e-9).all()


def test_stronger_habit_never_raises_surplus() -> None:
    """Memberships as launched, no loyalty (the only lean left is habit), the same draws: with habit
    worth 30% of the basket instead of none, every household's surplus is at most what it is without
    habit, in every week (its own values are the same; only its choices lean). Were habit counted as
    value, the habit run would come out ahead by the expected habit lean."""
    _, without = weeks(7, **NO_MEMBERS, shoppers__habit_share_of_basket=0.0)
    _, habit = weeks(7, **NO_MEMBERS, shoppers__habit_share_of_basket=0.3)
    assert np.array_equal(without["walmart_plus"], habit["walmart_plus"])
    assert np.array_equal(without["prime"], habit["prime"])
    loss = without["surplus"] - habit["surplus"]
    assert loss.min() > -1e-9
    assert loss.mean() > 0.01
