"""The model as a whole: calendar, events, metrics, Mesa agents, and every shipped scenario."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.firms import Amazon, Kroger, Rivals, Walmart
from sim.model import choice
from sim.model.choice import logsum
from sim.model.market import RetailMarket
from sim.model.memberships import perks_value, shopping_value
from sim.results import select, select_values
from sim.vocabulary import (AMAZON, CATEGORIES, CHANNELS, GROCERY, KROGER, LOCALES, RIVALS, WALMART_ONLINE,
                            WALMART_STORE)

from .conftest import SHIPPED, small

REQUIRED_METRICS = {
    "membership_share", "spend_share", "amazon_same_day_reach", "amazon_next_day_reach",
    "walmart_express_coverage", "price_index", "revenue", "operating_profit", "fraud_loss", "ad_revenue",
    "consumer_surplus",
}


@pytest.fixture(scope="module")
def result() -> sim.Result:
    return sim.run(small(walmart__prices__grocery=1.0), seed=3, overrides={
        "events": [{"date": "2021-03-01", "label": "price rise", "set": {"walmart.prices.grocery": 1.2}}],
    })


def test_weekly_calendar_without_warmup_rows(result: sim.Result) -> None:
    dates = pd.DatetimeIndex(sorted(result.timeseries["date"].unique()))
    assert dates[0].date() == dt.date(2021, 1, 4) and dates[-1].date() == dt.date(2021, 6, 28)
    assert (np.diff(dates.values).astype("timedelta64[D]") == np.timedelta64(7, "D")).all()


def test_events_take_effect_in_the_week_of_their_date(result: sim.Result) -> None:
    price = result.series("price_index", firm="walmart", category="grocery")
    assert price[:"2021-02-22"].eq(1.0).all()
    assert price["2021-03-01":].eq(1.2).all()


def test_selecting_a_series_by_category_codes_gives_the_rows_a_comparison_gives(result: sim.Result) -> None:
    """``select`` compares categorical labels by their codes: the same rows as comparing the labels,
    on the results as made, on plain string columns, and for labels the results do not hold."""
    labels = ("metric", "firm", "category", "locale", "segment")
    plain = result.timeseries.astype({label: str for label in labels})
    nullable = result.timeseries.astype({label: "string" for label in labels})
    nullable.loc[nullable.index[:7], "segment"] = pd.NA  # a missing label matches nothing
    for table in (result.timeseries, plain, nullable):
        for metric, dimensions in (("spend_share", {"firm": "amazon"}), ("membership_share", {"segment": "both"}),
                                   ("price_index", {"firm": "walmart", "category": "grocery"}),
                                   ("spend_share", {"firm": "nobody"}), ("no_such_metric", {})):
            mask = table["metric"] == metric
            for label in ("firm", "category", "locale", "segment"):
                mask &= table[label] == dimensions.get(label, "all")
            expected = table.loc[mask.fillna(False).astype(bool)]
            pd.testing.assert_frame_equal(select(table, metric, **dimensions), expected)
            dates, values = select_values(table, metric, **dimensions)
            assert (dates == expected["date"].to_numpy()).all() and (values == expected["value"].to_numpy()).all()
            assert len(values) == len(expected) and (len(values) > 0) == (metric != "no_such_metric"
                                                                          and "nobody" not in dimensions.values())


def test_required_metrics_and_dimensions(result: sim.Result) -> None:
    table = result.timeseries
    assert list(table.columns) == ["date", "metric", "firm", "category", "locale", "segment", "value"]
    assert REQUIRED_METRICS <= set(table["metric"].astype(str))
    segments = set(select(table, "membership_share", segment="both")["segment"].astype(str))
    assert segments == {"both"}
    assert set(table.loc[table.metric == "membership_share", "segment"].astype(str)) == {
        "none", "prime_only", "walmart_plus_only", "both"}
    spend = table[table.metric == "spend_share"]
    assert {"amazon", "walmart", "kroger", "rivals"} == set(spend["firm"].astype(str))
    assert {"urban", "suburban", "rural", "all", "TX", "CA"} <= set(spend["locale"].astype(str))
    assert {"grocery", "discretionary", "health", "all"} == set(spend["category"].astype(str))


def test_households_are_one_agent_set_and_firms_are_mesa_agents() -> None:
    model = RetailMarket(small(population__shoppers=50))
    model.step()
    households = model.households
    assert len(households) == 50 and len(households.frame()) == 50
    assert [len(model.agents_by_type[kind]) for kind in (Amazon, Walmart, Kroger, Rivals)] == [1, 1, 1, 1]
    assert len(model.agents) == 4, "no per-household Python objects"
    row = 7
    one = households.look(row, model.geography.state_codes)
    assert one["locale"] in ("urban", "suburban", "rural") and len(one["state"]) == 2
    assert one["memberships"] == ["none", "prime_only", "walmart_plus_only", "both"][
        int(households.prime[row]) + 2 * int(households.walmart_plus[row])]
    assert one["income"] == households.frame()["income"][row]
    assert sum(one["habits"]["grocery"].values()) == pytest.approx(households.habit[:, 0, row].sum())


@pytest.mark.parametrize("agents", [0.0, 0.5], ids=["own choices", "half with agents"])
def test_membership_values_equal_a_full_recomputation(agents: float, monkeypatch) -> None:
    """Rescaling only the membership's channels gives the same values as recomputing every utility
    with and without it, less the members' loyalty lean on its channels (which comes with holding it
    and is no part of what a household expects of it). With AI agents, whose pick among the online
    offers sits in a nest that weighs what the household's own pick would, the rescaling is done on
    the household's own split and must agree too."""
    adoption = dict(walmart__agentic__adoption__start="2020-11-01", walmart__agentic__adoption__years=0.0,
                    walmart__agentic__adoption__target=agents)
    model = RetailMarket(small(population__shoppers=300, **adoption))
    for _ in range(10):
        model.step()
    h, p = model.households, model.params
    assert model.access.agent.mean() == pytest.approx(agents * model.access.digital.mean(), abs=0.08)
    model.value_memberships()
    yes, no = np.ones(h.n, bool), np.zeros(h.n, bool)
    median, elasticity = p.population.median_income_usd, p.memberships.perks_income_elasticity
    values = model.membership_value
    loyalty_lean = choice.loyalty_lean
    for name, firm in (("prime", model.amazon), ("walmart_plus", model.walmart)):
        # With it, but without its loyalty (wherever the choice would lean on it).
        monkeypatch.setattr(choice, "loyalty_lean", lambda hh, f, held: None if f is firm else loyalty_lean(hh, f, held))
        with_it = model._utilities(**{name: yes})
        monkeypatch.setattr(choice, "loyalty_lean", loyalty_lean)
        direct = shopping_value(logsum(with_it), logsum(model._utilities(**{name: no})), h.price_utility) \
            + perks_value(firm.membership_terms.perks_value_usd, h.income, median, elasticity)
        assert values[name] == pytest.approx(direct - firm.membership_fee(), rel=1e-9, abs=1e-6)
    assert np.ptp(values["prime"]) > 10, "values differ between households"
    assert p.amazon.prime.loyalty_usd_per_order > 0 and p.walmart.walmart_plus.loyalty_usd_per_order > 0


def test_habits_start_at_their_fixed_point() -> None:
    """In the first week, when the households shop, each one's habits are the choice shares that the
    week's offers give with those habits: one more round of ``habit = P(habit)`` moves them by less
    than 1e-9, and they are shares (each category's sum to one)."""

    class Probe(RetailMarket):
        def households_shop(self) -> None:
            if self.steps == 1:
                habit = self.households.habit
                self.settled = habit.copy()
                self.settle_habits(rounds=1)
                self.once_more = habit.copy()
                habit[...] = self.settled
            super().households_shop()

    model = Probe(small(population__shoppers=300))
    model.step()
    settled = model.settled
    assert settled.sum(axis=0) == pytest.approx(np.ones(settled.shape[1:]))
    assert np.abs(model.once_more - settled).max() < 1e-6  # ten rounds: settle_habits' own promise
    assert np.abs(settled - 1 / settled.shape[0]).max() > 0.1, "not a uniform start"


def test_member_spend_ratio_by_hand() -> None:
    """A member's spend at its membership's firm over a non-member's, household by household."""
    model = RetailMarket(small(population__shoppers=300))
    for _ in range(6):
        model.step()
    for firm, channels in ((model.amazon, (AMAZON,)), (model.walmart, (WALMART_STORE, WALMART_ONLINE))):
        held = getattr(model.households, firm.membership)
        at_firm = [sum(model.spend[c, i] for c in range(3) if model.choice[c, i] in channels)
                   for i in range(model.households.n)]
        members = [spend for spend, member in zip(at_firm, held) if member]
        others = [spend for spend, member in zip(at_firm, held) if not member]
        expected = (sum(members) / len(members)) / (sum(others) / len(others))
        ratio = model.collector.member_measures()[0][model.collector.member_firms.index(firm)]
        assert ratio == pytest.approx(expected, rel=1e-12)


def test_member_online_share_by_hand() -> None:
    """Members' share of their firm's online spend, household by household (Walmart told CNBC
    Walmart+ members made nearly half of its website and app spend)."""
    model = RetailMarket(small(population__shoppers=300, shoppers__walmart_online_taste_sd_usd=40.0))
    for _ in range(6):
        model.step()
    for firm, channel in ((model.amazon, AMAZON), (model.walmart, WALMART_ONLINE)):
        held = getattr(model.households, firm.membership)
        online = [sum(model.spend[c, i] for c in range(3) if model.choice[c, i] == channel)
                  for i in range(model.households.n)]
        members = sum(spend for spend, member in zip(online, held) if member)
        assert 0 < members < sum(online)
        share = model.collector.member_measures()[1][model.collector.member_firms.index(firm)]
        assert share == pytest.approx(members / sum(online), rel=1e-12)


def test_walmart_online_taste_decides_whom_walmart_plus_pays() -> None:
    """A lasting liking for Walmart online makes its likers shop there more, so Walmart+'s free
    delivery is worth more to them: the membership's shopping value follows the liking."""
    from scipy.stats import spearmanr

    from sim.model.memberships import perks_less_fee

    def shopping_values(spread: float) -> tuple[np.ndarray, np.ndarray | None]:
        model = RetailMarket(small(population__shoppers=2000, shoppers__walmart_online_taste_sd_usd=spread), seed=3)
        model.step()
        model.value_memberships()
        h = model.households
        gain = model.membership_value["walmart_plus"] - perks_less_fee(model.walmart, h, model.params)
        return gain, h.walmart_online_taste

    flat, none = shopping_values(0.0)
    spread, taste = shopping_values(60.0)
    assert none is None  # no spread draws no liking (and leaves the other streams alone)
    assert spearmanr(taste, spread).statistic > 0.7
    assert np.percentile(spread, 90) - np.percentile(spread, 10) > 3 * (np.percentile(flat, 90) - np.percentile(flat, 10))


def test_walmart_online_regulars_are_a_growing_latent_class() -> None:
    """Walmart online regulars are the households first in a fixed order (drawn once, from a stream of
    its own) up to this week's share: the share at the start plus its growth since. Each of them
    likes Walmart online by the class's dollars an order; nothing else changes."""
    regulars = dict(shoppers__walmart_online_regular_share=0.1, shoppers__walmart_online_regular_taste_usd=50.0,
                    shoppers__walmart_online_regular_growth__per_year=0.04)
    plain, classed = (RetailMarket(small(population__shoppers=3000, **changes), seed=5)
                      for changes in ({}, regulars))
    for model in (plain, classed):
        for _ in range(20):  # into 2021: the class has grown since January
            model.step()
    h = classed.households
    assert np.array_equal(plain.households.regular_rank, h.regular_rank)
    assert np.array_equal(plain.households.income, h.income)
    years = (classed.date - dt.date(2021, 1, 1)).days / 365.25
    assert classed.offer.walmart_regulars == pytest.approx(0.1 + 0.04 * years)
    assert plain.offer.walmart_regulars == 0.0
    plain.households.habit[...] = h.habit  # compare this week's utilities on the same habits and holdings
    plain.households.prime[...], plain.households.walmart_plus[...] = h.prime, h.walmart_plus
    gap = classed._utilities() - plain._utilities()
    regular = h.regular_rank < classed.offer.walmart_regulars
    assert regular.mean() == pytest.approx(0.1 + 0.04 * years, abs=0.02)
    assert gap[WALMART_ONLINE][:, regular] == pytest.approx(np.broadcast_to(50.0 * h.price_utility[regular],
                                                                            (3, regular.sum())))
    assert np.abs(gap[WALMART_ONLINE][:, ~regular]).max() < 1e-9
    assert np.abs(np.delete(gap, WALMART_ONLINE, axis=0)).max() < 1e-9


def test_parts_give_the_same_week_as_one_piece(monkeypatch) -> None:
    """Splitting the households into parts changes no number."""
    scenario = small(population__shoppers=500)
    whole = sim.run(scenario, seed=2).timeseries
    monkeypatch.setattr("sim.model.market.PART_SIZE", 64)
    parted = sim.run(scenario, seed=2).timeseries
    pd.testing.assert_frame_equal(whole, parted)


def test_both_memberships_are_never_set_directly() -> None:
    """Holding both emerges: no Walmart+ before its launch, then growth only through decisions."""
    result = sim.run(small(walmart__walmart_plus__launch="2021-03-01", horizon__warmup_weeks=0), seed=1)
    both = result.series("membership_share", segment="both")
    assert both[:"2021-02-22"].eq(0).all()
    assert both["2021-03-01":].max() > 0


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_scenario_runs(path: Path) -> None:
    """At reduced size over the whole horizon (shortening it would drop the what-ifs' events)."""
    result = sim.run(path, seed=1, shoppers=300)
    assert not result.timeseries["value"].isna().any()
    assert result.summary["end_date"] == "2030-12-30"


def test_the_metric_list_is_what_runs_record(result: sim.Result) -> None:
    from sim.model.collect import METRICS

    recorded = set(result.timeseries["metric"].astype(str))
    # Churn of established members starts once someone has held a membership for a year.
    assert recorded <= set(METRICS) and set(METRICS) - recorded == {"established_churn"}


def test_membership_tastes_have_the_set_spread_and_correlation() -> None:
    """Subscription-minded households like both memberships: tastes are a correlated normal pair
    (correlation 0 draws exactly the independent tastes of before)."""
    independent = RetailMarket(small(population__shoppers=20_000), seed=4).households
    correlated = RetailMarket(small(population__shoppers=20_000, memberships__taste_correlation=0.6,
                                    memberships__taste_sd_usd=50.0), seed=4).households
    assert np.corrcoef(independent.prime_taste, independent.walmart_plus_taste)[0, 1] == pytest.approx(0.0, abs=0.03)
    assert np.corrcoef(correlated.prime_taste, correlated.walmart_plus_taste)[0, 1] == pytest.approx(0.6, abs=0.03)
    assert correlated.walmart_plus_taste.std() == pytest.approx(50.0, rel=0.03)
    assert correlated.prime_taste == pytest.approx(independent.prime_taste * 50.0 / 60.0)


def test_a_finished_run_leaves_no_model_behind_and_the_collector_as_it_was() -> None:
    """run() pauses the cyclic garbage collector and frees the model's cycles itself when it ends:
    a process running many models (a sweep worker) does not keep them, even with automatic
    collection off, and the collector's state is restored."""
    import gc

    import mesa

    def models() -> set[int]:  # other tests' fixtures may hold models of their own
        return {id(obj) for obj in gc.get_objects() if isinstance(obj, RetailMarket)}

    before = models()
    assert gc.isenabled()
    sim.run(small(), seed=1)
    assert gc.isenabled() and models() <= before
    gc.disable()  # nothing but run() itself may free the model's cycles now
    try:
        sim.run(small(), seed=1)
        assert not gc.isenabled() and models() <= before
    finally:
        gc.enable()
    assert not [model for model in mesa.Agent._ids if isinstance(model, RetailMarket) and id(model) not in before]


def test_online_gain_grows_the_online_share_and_stops_where_it_is_held() -> None:
    """Over 2021-2024 on common seeds: without the trend the online share of spend barely moves; with
    3% of the basket a year it grows by several points of its level, all of it taken from the stores;
    held from 2022 on, it grows no more after 2022 than without it."""
    def online_share(**trend) -> pd.Series:
        scenario = small(population__shoppers=1500, horizon__end="2024-12-30",
                         **{f"shoppers__online_gain__{key}": value for key, value in trend.items()})
        series = sim.run(scenario, seed=5).timeseries
        online = sum(select(series, "channel_share", segment=segment).set_index("date")["value"]
                     for segment in ("amazon", "walmart_online"))
        return online.groupby(pd.to_datetime(online.index).year).mean()

    flat, rising = online_share(per_year=0.0), online_share(per_year=0.03)
    held = online_share(per_year=0.03, end="2022-01-01")
    assert rising[2021] > flat[2021]
    assert abs(flat[2024] / flat[2021] - 1) < 0.03
    assert rising[2024] / rising[2021] - 1 > flat[2024] / flat[2021] - 1 + 0.08
    assert held[2024] / held[2022] == pytest.approx(flat[2024] / flat[2022], abs=0.01)


def test_the_online_share_is_the_online_spend_the_firms_book() -> None:
    """online_share (all households, all categories) is the week's online sales every firm books over all
    their sales: Amazon's and Walmart online's whole, and the share of Kroger's and the other grocers'
    orders placed online; each firm's fraud loss rests on that same online spend."""
    model = RetailMarket(small(population__shoppers=400, kroger__online_share_of_orders=0.09,
                               rivals__online_share_of_orders=0.25))
    for _ in range(5):
        model.step()
    sales = model._sales()
    online = sum(firm.online_revenue(sales) for firm in model.firms)
    labels, values = model.collector.recorder.latest("online_share")
    whole = (labels["locale"] == "all") & (labels["category"] == "all")
    assert values[whole][0] == pytest.approx(online / sales.spend.sum(), rel=1e-12)
    assert model.rivals.online_revenue(sales) == pytest.approx(0.25 * sales.spend[RIVALS].sum(), rel=1e-12)
    fraud = model.params.returns.fraud_cost_share
    for firm in model.firms:
        assert firm.ledger["fraud_loss"] == pytest.approx(firm.online_revenue(sales) * fraud * firm.fraud_exposure(),
                                                          rel=1e-12)
    fractions = np.zeros(len(CHANNELS))
    fractions[[AMAZON, WALMART_ONLINE]], fractions[KROGER], fractions[RIVALS] = 1.0, 0.09, 0.25
    rural_grocery = model.tally.spend[LOCALES.index("rural"), GROCERY]  # one cell: its own spend, by channel
    cell = (labels["locale"] == "rural") & (labels["category"] == "grocery")
    assert values[cell][0] == pytest.approx(rural_grocery @ fractions / rural_grocery.sum(), rel=1e-12)


def test_the_other_sellers_book_online_orders_by_category() -> None:
    """rivals.online_share_of_orders by category: their online sales, the picking cost of their online
    orders and the online_spend metric follow each category's share; one number stands for all three."""
    by_category = {"grocery": 0.05, "discretionary": 0.4, "health": 0.2}
    model = RetailMarket(small(population__shoppers=400, rivals__online_share_of_orders=by_category))
    for _ in range(5):
        model.step()
    sales, shares = model._sales(), np.array(list(by_category.values()))
    assert model.rivals.online_revenue(sales) == pytest.approx(sales.spend[RIVALS] @ shares, rel=1e-12)
    picking = model.params.rivals.accounts.online_cost_per_order_usd
    assert model.rivals.fulfillment_cost(sales) == pytest.approx(sales.orders[RIVALS] @ shares * picking, rel=1e-12)
    labels, dollars = model.collector.recorder.latest("online_spend")
    online = sum(firm.online_revenue(sales) for firm in model.firms)
    whole = (labels["locale"] == "all") & (labels["category"] == "all")
    assert dollars[whole][0] == pytest.approx(online, rel=1e-9)
    fractions = np.zeros((len(by_category), len(CHANNELS)))
    fractions[:, [AMAZON, WALMART_ONLINE]], fractions[:, KROGER], fractions[:, RIVALS] = 1.0, 0.09, shares
    for category in by_category:
        cell = (labels["locale"] == "all") & (labels["category"] == category)
        row = CATEGORIES.index(category)
        assert dollars[cell][0] == pytest.approx(sales.spend[:, row] @ fractions[row], rel=1e-9)
    assert small(rivals__online_share_of_orders=0.2).rivals.online_share_of_orders.as_tuple() == (0.2, 0.2, 0.2)


def test_membership_values_stay_finite_where_a_moved_weight_leaves_float_range() -> None:
    """With an extreme spread of the utility of a dollar, a member's weight without the membership can be
    exp(1000) times its own; the logsum is then summed in logs (it was inf - inf, a NaN that no
    household's decision could read). The log path gives the direct sum wherever both are finite."""
    from sim.model.memberships import _log_total_in_logs

    rng = np.random.default_rng(2)
    rest, weights = rng.uniform(0.1, 1.0, (3, 50)), rng.uniform(0.0, 1.0, (5, 3, 50))
    held, exponent = rng.random(50) < 0.5, rng.normal(scale=2.0, size=(3, 50))
    unlean = np.exp(-rng.uniform(0.0, 0.5, 50))
    for members_scaled in (False, True):
        scale = np.exp(np.where(held == members_scaled, exponent, 0.0))
        direct = np.log(rest + weights[0] * unlean * scale)
        logs = _log_total_in_logs(rest, weights, unlean, {0: exponent}, held, members_scaled, np.ones((3, 50), bool))
        np.testing.assert_allclose(logs, direct.ravel(), rtol=1e-12)

    scenario = sim.Scenario(population={"shoppers": 500}, shoppers={"price_sigma": 3.0},
                            horizon={"start": "2021-01-04", "end": "2021-03-01", "warmup_weeks": 2})
    model = RetailMarket(scenario, seed=1)
    model.step()
    model.value_memberships()
    for name, value in model.membership_value.items():
        assert np.all(np.isfinite(value)), name
