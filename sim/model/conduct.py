"""Strategic prices: each firm sets its category prices as a best response to its rivals' (Bertrand-Nash).

With ``conduct: strategic`` every ``strategy.review_weeks`` a firm chooses, for each category, the
multiplier of its scenario prices that maximises its objective given its rivals' current prices,
using the model's own demand: the expected logit choices of every household (no draw) at candidate
prices, turned into expected sales and booked by the firm's own ledger (``Firm.accounts``).

**The objective.** At the model's price sensitivity a firm's weekly operating profit still rises
with its prices at the scenario's levels: the static markups the logit implies are several times
the filed margins (``docs/strategy.md`` gives the figures). Real retailers price below that static
optimum; a customer is worth more than one week's margin (habits, memberships, advertising
traffic). As merger simulations do (Nevo 2000: marginal costs backed out so that observed prices
satisfy the first-order conditions), the model measures at the start of the horizon, for each firm
and category, the value ``w`` of a dollar of goods sold (at reference prices) beyond the week's
profit that makes the scenario's prices a Nash equilibrium, and holds it: the objective is
operating profit + ``w`` x goods sold. From then on prices move only when demand or costs move
(memberships, delivery reach, automation, a rival's price or fee), which is what a what-if asks.

**The step.** Each review takes one Newton step per firm and category on the objective, from
central differences of ``strategy.difference`` in its multiplier, all firms at once against the
rivals' prices of the review (a simultaneous best-response iteration that settles over reviews),
limited to ``strategy.max_step`` and kept within ``[strategy.floor, strategy.ceiling]``. Categories
are separate logits, so one evaluation moves all of a firm's categories together.

**Blocks of firms.** A firm's block may stand for several independent firms (the other grocers:
``rivals.independent_firms``). Its derivatives are then those of one of its firms changing its
price alone (:class:`Alone`), so the block's prices are its firms' equilibrium, not a merger's.
"""

from __future__ import annotations

import numpy as np

from ..vocabulary import CATEGORIES, N_CATEGORIES, Sales


def expected_sales(model, alone: Alone | None = None, record: tuple[Alone, ...] = ()) -> Sales:
    """The week's sales households would make in expectation at the offer's current prices: each
    household's choice probabilities times its basket (no random draw), scaled to US sales as the
    booked week is (``model.to_sales``).

    ``alone``: the sales as one of the equal firms that a block stands for sees them when it alone
    set the block's current prices (:class:`Alone`; its ``record`` of the prices before, taken by
    this function's ``record`` at those prices)."""
    h, w, offer = model.households, model.weight, model.offer
    elasticity = np.asarray(model.params.shoppers.own_price_elasticity.as_tuple())  # (categories,)
    response = offer.price ** -elasticity  # (channels, categories): quantity per reference dollar
    orders = np.zeros_like(offer.price)
    base = np.zeros_like(offer.price)
    for index, (part, households, _access, _costs, _lean, top, weights, total) in enumerate(model._exponentials()):
        for block in record:
            block.record(top, weights, total)
        if alone is None:
            weights /= total  # (channels, categories, households)
        else:
            alone.weigh(index, top, weights)
        orders += weights.sum(axis=2)
        base += np.einsum("kci,ci->kc", weights, households.budget)
    base = model.to_sales(base * response)
    members = {firm.membership: float(getattr(h, firm.membership).sum()) * w for firm in model.membership_firms}
    zeros = np.zeros(offer.price.shape[0])
    return Sales(spend=base * offer.price, orders=model.to_sales(orders), visits=zeros, active={}, members=members,
                 base_spend=base)


class Alone:
    """One of ``count`` equal independent firms that a firm's block stands for (the other grocers:
    Costco, Albertsons, Ahold Delhaize, Publix, Target, Aldi and hundreds more), changing its price
    alone.

    In the logit the block's channel is the sum of its firms' equal shares. When one of them changes
    its price, its own utility moves by ``d`` and its siblings' do not, so its choice probability
    (times ``count``, to speak for the block) is ``P e^d / (1 + sum_k P_k (e^d_k - 1) / count)`` over
    the block's channels ``k``: with ``count`` 1 the block's own logit, and as ``count`` grows each
    firm ignores the sales its price sends to its siblings (the ownership matrix of merger
    simulations, Nevo 2000). Every other channel's probability is divided by the same denominator.
    The block's first-order conditions are then its firms' own, not those of a merger of them all."""

    def __init__(self, channels, count: float) -> None:
        self.channels, self.count = list(channels), count
        self.before: list[tuple[np.ndarray, np.ndarray]] = []  # per part: log-sum, the channels' probabilities

    @classmethod
    def of(cls, firm) -> Alone | None:
        """The firm's block as one of its independent firms; None when the block is one firm."""
        return cls(firm.channels, firm.independent_firms) if firm.independent_firms > 1 else None

    def record(self, top: np.ndarray, weights: np.ndarray, total: np.ndarray) -> None:
        """Keep one part's log-sum and the block's choice probabilities at the prices before."""
        self.before.append((top + np.log(total), weights[self.channels] / total))

    def weigh(self, index: int, top: np.ndarray, weights: np.ndarray) -> None:
        """Turn one part's exponentials at the new prices into one firm's probabilities, in place."""
        log_sum, before = self.before[index]
        # Each channel's exp over the sum before the change, on a scale kept at most 1 (a large rise of the
        # block's utility would overflow it): the denominator 1 + sum_k (new_k - before_k) / count is
        # scaled by the same exp(-excess).
        shift = top - log_sum
        excess = np.maximum(shift, 0.0)
        weights *= np.exp(shift - excess)
        weights /= (np.exp(-excess) * (1.0 - before.sum(axis=0) / self.count)
                    + weights[self.channels].sum(axis=0) / self.count)


def masked(sales: Sales, category: int | None) -> Sales:
    """The same week with only one category's purchases (None: none at all; memberships stay)."""
    keep = np.zeros(N_CATEGORIES)
    if category is not None:
        keep[category] = 1.0
    return Sales(spend=sales.spend * keep, orders=sales.orders * keep, visits=sales.visits, active=sales.active,
                 members=sales.members, base_spend=sales.base_spend * keep)


def category_profits(firm, sales: Sales) -> np.ndarray:
    """The firm's operating profit from each category's purchases (categories,), fixed costs apart.

    Every ledger line is linear in the week's spend, orders and goods by channel and category, plus
    terms that do not depend on them (fees of members, stores, overhead), so each category's share
    of profit is exact: the ledger of that category alone, less the ledger of no purchases. Costs that
    are not a sale's (excess capacity) are the same at every candidate (``Firm.accounts``)."""
    fixed = firm.accounts(masked(sales, None), candidate=True)["operating_profit"]
    return np.array([firm.accounts(masked(sales, c), candidate=True)["operating_profit"] - fixed
                     for c in range(N_CATEGORIES)])


class PriceConduct:
    """The price reviews of the strategic firms, and the value of a customer each one holds."""

    def __init__(self, model) -> None:
        self.model = model
        self.firms = [firm for firm in model.firms if firm.name in self.settings.firms]
        self.customer_value: dict[str, np.ndarray] = {}  # firm -> (categories,) dollars per reference dollar

    @property
    def settings(self):
        """The scenario's ``strategy`` block as it stands this week (after events)."""
        return self.model.params.strategy

    def due(self, date) -> bool:
        """A review at the first week of the horizon and every ``review_weeks`` after it."""
        start = self.model.scenario.horizon.start
        return date >= start and (date - start).days // 7 % self.settings.review_weeks == 0

    def review(self) -> None:
        """Every strategic firm's Newton step at once, against the rivals' prices of this week; at the
        first review, the value of a customer that makes this week's prices an equilibrium."""
        alone = {firm.name: Alone.of(firm) for firm in self.firms}
        at_prices = expected_sales(self.model, record=tuple(block for block in alone.values() if block))
        slopes = {firm.name: self.slopes(firm, at_prices, alone[firm.name]) for firm in self.firms}
        if not self.customer_value:
            self.customer_value = {name: np.where(self.categories, -slope[0] / slope[2], 0.0)
                                   for name, slope in slopes.items()}
            return
        for firm in self.firms:
            self.move(firm, *self.objective_slopes(firm, slopes[firm.name]))

    def objective_slopes(self, firm, slopes=None) -> tuple[np.ndarray, np.ndarray]:
        """The first and second derivatives of the firm's objective (profit + value x goods) in its
        multipliers, per category; from ``slopes`` (of :meth:`slopes`) if given."""
        if slopes is None:
            alone = Alone.of(firm)
            slopes = self.slopes(firm, expected_sales(self.model, record=(alone,) if alone else ()), alone)
        profit_slope, profit_curve, goods_slope, goods_curve = slopes
        value = self.customer_value.get(firm.name, 0.0)
        return profit_slope + value * goods_slope, profit_curve + value * goods_curve

    def slopes(self, firm, at_prices: Sales, alone: Alone | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """First and second derivatives of the firm's profit and of its goods sold (reference dollars)
        in its multipliers, per category: central differences of ``strategy.difference``. Categories
        are separate choices, so one evaluation moves all of a firm's categories together. A block of
        several independent firms (``alone``) takes the derivatives of one of them, per firm."""
        step, channels = self.settings.difference, list(firm.channels)
        profit, goods = {}, {}
        for shift in (-step, step):
            with self.prices_scaled(firm, 1.0 + shift):
                sales = expected_sales(self.model, alone)
            profit[shift], goods[shift] = category_profits(firm, sales), sales.base_spend[channels].sum(axis=0)
        profit[0.0], goods[0.0] = category_profits(firm, at_prices), at_prices.base_spend[channels].sum(axis=0)
        slope = [(f[step] - f[-step]) / (2 * step) for f in (profit, goods)]
        curve = [(f[step] - 2 * f[0.0] + f[-step]) / step**2 for f in (profit, goods)]
        return slope[0], curve[0], slope[1], curve[1]

    def move(self, firm, slope: np.ndarray, curve: np.ndarray) -> None:
        """One Newton step on the objective, at most ``max_step``, in each category the firm prices
        where the objective has a maximum to step to (it holds its price where it has none)."""
        s = self.settings
        moving = (curve < 0) & self.categories  # a maximum to step towards, in a category the firm prices
        newton = np.where(moving, -slope / np.where(moving, curve, -1.0), 0.0)
        change = np.clip(newton, -s.max_step, s.max_step)  # derivatives are in relative changes
        self.apply(firm, np.clip(firm.strategic_multiplier * (1.0 + change), s.floor, s.ceiling))

    @property
    def categories(self) -> np.ndarray:
        """Which categories' prices the strategic firms set (booleans, one per category)."""
        return np.isin(CATEGORIES, self.settings.categories)

    def prices_scaled(self, firm, factor: float) -> _Scaled:
        return _Scaled(self.model.offer, firm, firm.strategic_multiplier * factor)

    def apply(self, firm, multiplier: np.ndarray) -> None:
        """Set the firm's multipliers and this week's offer to match (next week's ``prepare`` reads them)."""
        rescale(self.model.offer, firm, multiplier)
        firm.strategic_multiplier = np.asarray(multiplier, dtype=float)


def rescale(offer, firm, multiplier: np.ndarray) -> None:
    """The firm's offer prices as they would be at ``multiplier`` instead of its current multipliers."""
    ratio = multiplier / firm.strategic_multiplier
    for channel in firm.channels:
        offer.price[channel] *= ratio


class _Scaled:
    """The firm's offer prices at other multipliers for the length of a ``with`` block."""

    def __init__(self, offer, firm, multiplier: np.ndarray) -> None:
        self.offer, self.firm, self.multiplier = offer, firm, multiplier

    def __enter__(self) -> None:
        self.saved = {channel: self.offer.price[channel].copy() for channel in self.firm.channels}
        rescale(self.offer, self.firm, self.multiplier)

    def __exit__(self, *_exc) -> None:
        for channel, prices in self.saved.items():
            self.offer.price[channel] = prices

