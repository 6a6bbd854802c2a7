"""Strategic conduct: prices as best responses to rivals' prices (Bertrand-Nash on the model's own
demand), and fixed conduct exactly as before."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest

import sim
import sim.model.choice
from sim.cli import main
from sim.model.choice import exponentials, logit
from sim.model.conduct import Alone, expected_sales
from sim.report.rivals import FEES
from sim.model.market import RetailMarket
from sim.vocabulary import CATEGORIES, CHANNELS

GROCERY = CATEGORIES.index("grocery")


def market_at_start(shoppers: int = 1500, conduct: str = "strategic", firms: list[str] | None = None) -> RetailMarket:
    """A market stepped to the first week of its horizon, offers prepared, before the week's review."""
    changes = {"population": {"shoppers": shoppers}, "conduct": conduct,
               "horizon": {"start": "2021-01-04", "end": "2021-12-27", "warmup_weeks": 4}}
    if firms is not None:
        changes["strategy"] = {"firms": firms}
    model = RetailMarket(sim.Scenario(**changes), seed=5)
    model.conduct, conduct_now = None, model.conduct  # step the warm-up without reviews
    while model.dates[model.steps] < model.scenario.horizon.start:
        model.step()
    model.steps += 1
    model.date = model.dates[model.steps - 1]
    model.apply_events()
    for firm in model.firms:
        firm.prepare(model.date, model.offer)
    model.access = sim.model.choice.Access.of(model.households, model.offer, model.firms)
    model.conduct = conduct_now
    return model


def test_fixed_conduct_ignores_the_strategy_block() -> None:
    scenario = sim.Scenario(population={"shoppers": 400}, horizon={"start": "2021-01-04", "end": "2021-09-27",
                                                                    "warmup_weeks": 4})
    plain = sim.run(scenario, seed=3).timeseries
    settings = sim.run(scenario, seed=3, overrides={"conduct": "fixed", "strategy.review_weeks": 1,
                                                    "strategy.firms": ["amazon"]}).timeseries
    pd.testing.assert_frame_equal(plain, settings)


def test_expected_sales_are_what_households_buy_on_average() -> None:
    model = market_at_start(shoppers=6000, conduct="fixed")
    expected = expected_sales(model)
    model.households_shop()
    realised = model._sales()
    for channel in (CHANNELS.index("amazon"), CHANNELS.index("walmart_store"), CHANNELS.index("rivals")):
        assert realised.spend[channel].sum() == pytest.approx(expected.spend[channel].sum(), rel=0.03)
        assert realised.orders[channel].sum() == pytest.approx(expected.orders[channel].sum(), rel=0.03)


def test_the_first_review_makes_the_scenarios_prices_an_equilibrium() -> None:
    model = market_at_start()
    model.conduct.review()
    for firm in model.conduct.firms:
        slope, curve = model.conduct.objective_slopes(firm)
        revenue = expected_sales(model).spend[list(firm.channels)].sum(axis=0)
        priced = model.conduct.categories
        assert np.all(np.abs(slope[priced]) < 1e-6 * revenue[priced]), firm.name
        assert np.all(curve[priced] < 0), f"{firm.name}: not a maximum"


def test_after_a_cost_falls_reviews_reach_a_new_equilibrium_that_meets_its_first_order_conditions() -> None:
    """Amazon's fulfilment gets cheaper: it cuts prices (cost pass-through), its rivals answer, and
    repeated reviews settle where every strategic firm's objective is flat in its own prices."""
    model = market_at_start()
    model.conduct.review()
    model.params = model.params.model_copy(update={"amazon": model.params.amazon.model_copy(update={
        "delivery": model.params.amazon.delivery.model_copy(update={"fulfillment_cost_per_order_usd": 15.0})})})
    for _ in range(40):
        model.conduct.review()
    priced = model.conduct.categories
    for firm in model.conduct.firms:
        slope, curve = model.conduct.objective_slopes(firm)
        revenue = expected_sales(model).spend[list(firm.channels)].sum(axis=0)
        assert np.all(np.abs(slope[priced]) < 1e-4 * revenue[priced]), (firm.name, slope / revenue)
        assert np.all(curve[priced] < 0)
    amazon = model.amazon.strategic_multiplier
    assert amazon[GROCERY] < 0.99 and amazon[CATEGORIES.index("discretionary")] < 0.99
    assert model.walmart.strategic_multiplier[GROCERY] < 1.0  # strategic complements: rivals follow
    assert np.all(model.amazon.strategic_multiplier[~priced] == 1.0)  # health is not priced by default


def test_rivals_answer_a_walmart_grocery_price_cut_by_cutting_theirs() -> None:
    """Basker & Noel (2009): grocers cut their prices 1-1.2% when a Walmart supercenter opens nearby, an
    entry that costs an incumbent 17% of its volume (Singh, Hansen & Blattberg 2006): 0.059-0.071% per
    1% of volume lost. Walmart keeps the scenario's prices (not strategic) and cuts grocery 5%; the
    other grocers, who price as ``rivals.independent_firms`` (2.1) equal firms, answer at that rate
    (0.064% here, a 0.31% cut for 4.9% of volume; as one merged firm they answered 0.28% per 1%, four
    times the evidence). Kroger's answer is a cut but a small one (0.015% for 4.4% of its volume:
    Basker & Noel's big three answered less than half the average), so only its sign is asserted. (Amazon's
    answer is near zero either way: the shoppers Walmart takes from it are its most price-sensitive.)"""
    answers, volume = {}, {}
    for cut in (0.0, 0.05):
        model = market_at_start(firms=["amazon", "kroger", "rivals"])
        model.conduct.review()
        for channel in (CHANNELS.index("walmart_store"), CHANNELS.index("walmart_online")):
            model.offer.price[channel, GROCERY] *= 1.0 - cut
        volume[cut] = expected_sales(model).base_spend[CHANNELS.index("rivals"), GROCERY]
        for _ in range(30):
            model.conduct.review()
        answers[cut] = {firm.name: firm.strategic_multiplier[GROCERY] for firm in model.conduct.firms}
    change = {name: answers[0.05][name] / answers[0.0][name] - 1.0 for name in ("kroger", "rivals")}
    lost = 1.0 - volume[0.05] / volume[0.0]
    assert 0.02 < lost < 0.10, lost  # a fraction of Walmart's cut, as an entry's 17% is of its 10% price gap
    assert 0.05 < -change["rivals"] / lost < 0.08, (change, lost)  # Walmart's closest rivals in grocery
    assert -0.05 < change["kroger"] < -1e-5, change  # a cut, not a rise (deterministic: no noise to exceed)


def test_one_of_several_independent_firms_sees_the_choices_of_explicit_equal_firms() -> None:
    """``Alone``: the block's channel split into ``count`` explicit equal channels, one of which changes
    its utility, gives (times ``count``) the probabilities ``Alone.weigh`` computes from the block's own
    logit; with count 1 they are the block's logit at the new utilities."""
    rng = np.random.default_rng(3)
    value = rng.normal(size=(5, 3, 40))  # channels, categories, households
    shift = np.zeros_like(value)
    shift[4] = rng.normal(scale=0.3, size=(3, 40))  # the block (channel 4) changes its price
    shift[4, 0, :5] = [800.0, 3000.0, -800.0, -3000.0, 50.0]  # utilities whose exp alone would overflow
    for count in (1, 2, 3, 7):
        split = np.concatenate([value[:4], np.repeat(value[4:] - np.log(count), count, axis=0)])
        split[4] += shift[4]  # only one of the equal firms moves
        explicit = np.exp(split - split.max(axis=0))
        explicit /= explicit.sum(axis=0)
        alone = Alone([4], count)
        top, weights, total = exponentials(value.copy())
        alone.record(top, weights, total)
        top, weights, _total = exponentials(value + shift)
        alone.weigh(0, top, weights)
        assert np.all(np.isfinite(weights))
        np.testing.assert_allclose(weights[4], explicit[4] * count, rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(weights[:4], explicit[:4], rtol=1e-12, atol=1e-300)
        if count == 1:
            np.testing.assert_allclose(weights, logit(value + shift)[0], rtol=1e-12)


def test_a_block_of_independent_firms_sees_more_elastic_demand_than_one_merged_firm() -> None:
    """As 2.1 independent firms the other grocers' goods sold fall faster with their own prices than as
    one merged firm (``independent_firms`` 1): each firm loses to its siblings the sales a merger keeps
    (grocery about -2.4 against -1.8 at the first review). Kroger, one company, is the same either way."""
    elasticity, kroger = {}, {}
    for count in (1.0, 2.1):
        model = market_at_start()
        model.params = model.params.model_copy(update={"rivals": model.params.rivals.model_copy(
            update={"independent_firms": count})})
        alone = Alone(model.rivals.channels, count)
        at_prices = expected_sales(model, record=(alone,))
        goods = at_prices.base_spend[list(model.rivals.channels)].sum(axis=0)
        elasticity[count] = model.conduct.slopes(model.rivals, at_prices, alone)[2] / goods
        kroger[count] = model.conduct.slopes(model.kroger, at_prices)
    priced = model.conduct.categories
    assert np.all(elasticity[2.1][priced] < elasticity[1.0][priced] - 0.2), elasticity
    assert np.all(elasticity[1.0][priced] < -1.0), elasticity
    for merged, independent in zip(kroger[1.0], kroger[2.1]):
        np.testing.assert_array_equal(merged, independent)


def test_a_strategic_run_is_reproducible_and_its_prices_answer_a_cost_change() -> None:
    scenario = sim.Scenario(population={"shoppers": 500}, conduct="strategic",
                            horizon={"start": "2021-01-04", "end": "2022-06-27", "warmup_weeks": 4},
                            amazon={"ads": {"growth": None}},  # the growth of advertising moves prices too
                            events=[{"date": "2021-07-05", "set": {"amazon.delivery.fulfillment_cost_per_order_usd": 12.0}}])
    first, second = sim.run(scenario, seed=8).timeseries, sim.run(scenario, seed=8).timeseries
    pd.testing.assert_frame_equal(first, second)
    prices = first[(first["metric"] == "price_index") & (first["firm"] == "amazon")
                   & (first["category"] == "grocery") & (first["locale"] == "all")].set_index("date")["value"]
    before = prices[prices.index < pd.Timestamp("2021-07-05")]
    assert before.max() / before.min() - 1 < 1e-3  # an equilibrium from the start: little changes, little moves
    assert prices.iloc[-1] < 0.97 * before.iloc[0]  # fulfilment at $12 instead of $27: cheaper prices


@pytest.mark.parametrize("text, words", [
    ("conduct: nash", ["conduct", "fixed", "strategic"]),
    ("conduct: strategic\nstrategy: {floor: 1.2}", ["floor"]),
    ("strategy: {firms: [target]}", ["firms", "amazon"]),
    ("conduct: strategic\nstrategy: {fee_steps: [10, 500]}", ["fee_steps", "200"]),
    ("strategy: {fees_from: soon}", ["fees_from"]),
    ("conduct: strategic\nstrategy: {difference: 1e-300}", ["strategy.difference", "0.0001"]),
    ("strategy: {budget_multiples: [1, 1, 2]}", ["strategy.budget_multiples", "listed twice"]),
    ("strategy: {firms: [amazon, amazon]}", ["strategy.firms", "'amazon' is listed twice"]),
    ("strategy: {firms: []}", ["strategy.firms", "at least 1"]),
    ("strategy: {fee_steps: [0, 10]}", ["strategy.fee_steps", "holding the fee is always on the menu"]),
    ("strategy: {budgets_from: 2035-01-01}", ["c.yaml:2: strategy.budgets_from", "after the horizon's end"]),
])
def test_bad_conduct_settings_give_one_line(tmp_path, capsys, text: str, words: list[str]) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(f"name: c\n{text}\n", encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "c.yaml" in error
    assert all(word in error for word in words), error


def test_market_without_strategy_has_no_conduct() -> None:
    model = RetailMarket(sim.Scenario(population={"shoppers": 300}), seed=1)
    assert model.conduct is None


def test_a_report_of_strategic_runs_says_prices_are_answers() -> None:
    from sim.report.ensemble import Ensemble
    from sim.report.notes import notes

    scenario = sim.Scenario(name="answers", population={"shoppers": 300}, conduct="strategic",
                            horizon={"start": "2021-01-04", "end": "2021-06-28", "warmup_weeks": 4})
    fixed = scenario.model_copy(update={"name": "fixed", "conduct": "fixed"})
    said = notes(Ensemble([sim.run(fixed, seed=1), sim.run(scenario, seed=1)]))
    strategic = [note for note in said if "prices are strategic" in note]
    assert len(strategic) == 1 and strategic[0].startswith("answers:") and "grocery and discretionary" in strategic[0]
    assert "The other grocers (Costco, Albertsons, Publix, Aldi and hundreds more) price as 2.1 equal" in strategic[0]
    assert "Amazon, Walmart, Kroger and the other grocers set their" in strategic[0]
    assert "membership fees" not in strategic[0]  # the horizon ends before the fee reviews' 2026
    assert "online regulars" not in strategic[0]  # the defaults grow no class of Walmart online regulars
    growing = sim.Scenario(name="growing", population={"shoppers": 300}, conduct="strategic",
                           horizon=scenario.horizon, shoppers={"walmart_online_regular_share": 0.07,
                                                               "walmart_online_regular_growth": {
                                                                   "start": "2021-01-01", "per_year": 0.007}})
    said = [note for note in notes(Ensemble([sim.run(fixed, seed=1), sim.run(growing, seed=1)])) if "strategic" in note]
    assert "Walmart's prices rise as its class of online regulars grows" in said[0]
    early = scenario.model_copy(update={"name": "early", "strategy": scenario.strategy.model_copy(
        update={"fees_from": dt.date(2021, 3, 1)})})
    said = [note for note in notes(Ensemble([sim.run(fixed, seed=1), sim.run(early, seed=1)])) if "strategic" in note]
    assert "From 2021-03-01 Amazon and Walmart also choose their membership fees once a year" in said[0]


def test_a_strategic_report_names_the_strategic_firms_that_end_in_a_loss() -> None:
    """The note names exactly the strategic firms whose operating profit over the last 52 weeks is
    negative. Profits are set by hand in a 64-week run's own rows: Amazon loses heavily only in its
    first weeks (a loss over the whole run, not over the last 52), Kroger a little every week, the
    other grocers every week but they are not strategic; with every profit positive nothing is said."""
    from dataclasses import replace

    from sim.report.ensemble import Ensemble
    from sim.report.notes import notes

    scenario = sim.Scenario(name="answers", population={"shoppers": 300}, conduct="strategic",
                            strategy={"firms": ["amazon", "walmart", "kroger"]},
                            horizon={"start": "2021-01-04", "end": "2022-03-21", "warmup_weeks": 4})
    result = sim.run(scenario, seed=1)
    rows = result.timeseries.copy()
    profit = rows.metric == "operating_profit"
    dates = sorted(rows.loc[profit, "date"].unique())
    assert len(dates) > 60
    rows.loc[profit, "value"] = 1e9

    def said(rows) -> str:
        return next(note for note in notes(Ensemble([replace(result, timeseries=rows)])) if "prices are strategic" in note)

    assert "operating loss" not in said(rows)
    rows.loc[profit & (rows.firm == "amazon") & rows.date.isin(dates[:8]), "value"] = -1e12
    rows.loc[profit & (rows.firm == "kroger"), "value"] = -1e6
    rows.loc[profit & (rows.firm == "rivals"), "value"] = -1e9
    assert rows.loc[profit & (rows.firm == "amazon"), "value"].sum() < 0  # a loss over the whole run
    note = said(rows)
    assert "operating loss over its last 52 weeks (or the whole horizon, if shorter): Kroger. " in note, note
    assert "agents" not in note  # adoption starts in 2026, after this horizon


def test_compare_with_the_rivals_answer_says_what_each_firm_answers(tmp_path, capsys) -> None:
    """The what-if runs again with strategic prices, against a strategic baseline on the same seeds:
    answers.csv holds every measure without and with the answer and each firm's price answer; the
    report has the section, and rebuilding the report keeps it."""
    base = tmp_path / "base.yaml"
    base.write_text("name: base\npopulation: {shoppers: 400}\n"
                    "horizon: {start: 2021-01-04, end: 2021-12-27, warmup_weeks: 2}\n", encoding="utf-8")
    cut = tmp_path / "cut.yaml"
    cut.write_text("name: cut\nextends: base.yaml\nevents:\n"
                   "  - {date: 2021-04, set: {walmart.prices.grocery: 0.9}}\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["compare", str(base), str(cut), "--replicates", "2", "--rivals-answer", "--out", str(out),
                 "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "cut against base, with the rivals' answer (strategic prices and fees): Amazon" in printed
    assert "fee" not in printed.split("with the rivals' answer (strategic prices and fees):")[1].split(".")[0]
    assert "run noise" in printed  # each answer said with its interval over the 2 seeds
    table = pd.read_csv(out / "answers.csv")
    columns = ["measure", "unit", "scenario", "without", "with", "answer", "answer_low", "answer_high",
               "answer_significant"]
    assert list(table.columns) == columns  # the first six as they were: columns are added, never renamed
    assert table["answer_low"].notna().all()  # six digits in the file:
    assert ((table["answer_low"] <= table["answer"] + 1e-4) & (table["answer"] <= table["answer_high"] + 1e-4)).all()
    assert (table["answer_significant"] == ((table["answer_low"] > 0) | (table["answer_high"] < 0))).all()
    prices = table[table["unit"] == "% against the baseline"].set_index("measure")
    assert len(prices) == 12 and prices.loc["Walmart grocery prices", "without"] < -5.0  # its own cut, 39 of 52 weeks
    assert not (table["unit"] == FEES).any()  # no fee reviewed before 2026: no fee rows
    assert prices.loc["Other grocers grocery prices", "answer"] < 0  # the nearest rivals answer with a cut
    assert (table["answer"] - (table["with"] - table["without"])).abs().max() < 1e-3  # six digits in the file
    page = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="answers-table"' in page and "Why firms answer as they do, in the model&#x27;s terms" in page
    assert "A fee is reviewed once a year" not in page  # no fee reviewed before 2026: nothing to explain
    assert main(["export", str(out), "--out", str(tmp_path / "csv")]) == 0  # a spreadsheet user's copy
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "csv" / "answers.csv"), table)
    assert main(["export", str(out), "--format", "xlsx", "--out", str(tmp_path / "cmp.xlsx")]) == 0
    assert pd.read_excel(tmp_path / "cmp.xlsx", sheet_name="answers")["answer"].tolist() == pytest.approx(
        table["answer"].tolist())
    assert main(["report", str(out)]) == 0
    rebuilt = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="answers-table"' in rebuilt and "<th>its 90% interval</th>" in rebuilt
    assert list(pd.read_csv(out / "answers.csv").columns) == columns
    low, high = table.set_index("measure").loc["Other grocers grocery prices", ["answer_low", "answer_high"]]
    cell = re.search(r"<td>Other grocers grocery prices</td>.*?<td[^>]*>([-+][\d.]+) to ([-+][\d.]+)</td></tr>", rebuilt)
    assert cell is not None and [float(x) for x in cell.groups()] == pytest.approx([low, high], abs=0.006)


def test_the_rivals_answer_needs_a_conduct_to_change(tmp_path, capsys) -> None:
    base = tmp_path / "base.yaml"
    base.write_text("name: base\nconduct: strategic\npopulation: {shoppers: 300}\n"
                    "horizon: {start: 2021-01-04, end: 2021-03-29, warmup_weeks: 2}\n", encoding="utf-8")
    other = tmp_path / "other.yaml"
    other.write_text("name: other\nextends: base.yaml\n", encoding="utf-8")

    def refused() -> str:
        assert main(["compare", str(base), str(other), "--replicates", "1", "--rivals-answer", "--out",
                     str(tmp_path / "o"), "--quiet"]) == 2
        error = capsys.readouterr().err
        assert len(error.strip().splitlines()) == 1 and not (tmp_path / "o").exists()
        return error

    assert "already has strategic conduct" in refused()
    # Only the what-if strategic: its "without" would already hold the answer, against a fixed baseline.
    base.write_text(base.read_text().replace("conduct: strategic\n", ""), encoding="utf-8")
    other.write_text("name: other\nextends: base.yaml\nconduct: strategic\n", encoding="utf-8")
    assert "--rivals-answer: other already has strategic conduct" in refused()


def test_one_firm_of_several_sees_the_same_sales_whatever_the_parts(monkeypatch) -> None:
    """``Alone`` pairs each part's record with its weighing: the population in many parts gives the
    same derivatives as in one."""
    import sim.model.market

    model = market_at_start(shoppers=400)
    slopes = {}
    for size in (10_000, 37):
        monkeypatch.setattr(sim.model.market, "PART_SIZE", size)
        alone = Alone.of(model.rivals)
        slopes[size] = model.conduct.slopes(model.rivals, expected_sales(model, record=(alone,)), alone)
    for whole, parts in zip(slopes[10_000], slopes[37]):
        np.testing.assert_allclose(parts, whole, rtol=1e-9)


def test_a_count_of_independent_firms_under_fixed_conduct_is_a_warning(tmp_path, capsys) -> None:
    """The count acts only under strategic conduct: set (or set by an event) under fixed conduct it is a
    warning line, not silently nothing; under strategic conduct or the default count there is none."""
    from sim.cli_args import inert_under_fixed_conduct

    fixed = sim.Scenario(name="m", rivals={"independent_firms": 1.5},
                         events=[{"date": "2027-01-04", "set": {"kroger.independent_firms": 2}}])
    assert inert_under_fixed_conduct(fixed) == [
        f"m: {key} acts only under strategic conduct, and this scenario's conduct is fixed "
        "(--set conduct=strategic, or compare --rivals-answer)" for key in ("rivals.independent_firms",
                                                                             "kroger.independent_firms")]
    assert inert_under_fixed_conduct(fixed.model_copy(update={"conduct": "strategic"})) == []
    assert inert_under_fixed_conduct(sim.Scenario()) == []
    path = tmp_path / "s.yaml"
    path.write_text("name: s\npopulation: {shoppers: 300}\nhorizon: {start: 2021-01-04, end: 2021-03-01, "
                    "warmup_weeks: 2}\n", encoding="utf-8")
    assert main(["run", str(path), "--set", "rivals.independent_firms=3", "--no-report", "--quiet",
                 "--out", str(tmp_path / "out")]) == 0
    assert "s: rivals.independent_firms acts only under strategic conduct" in capsys.readouterr().err


def test_a_small_answer_keeps_two_significant_digits_in_words() -> None:
    """-0.0057% with an interval of -0.0121% to +0.0006% read "-0.01% (-0.01% to +0.00%)"."""
    from sim.report.rivals import _digits, _interval

    row = pd.Series({"answer": -0.0057, "answer_low": -0.0121, "answer_high": 0.0006, "answer_significant": False})
    assert _digits(row) == 4
    assert _interval(row, percent=True)[1] == "-0.0121% to +0.0006%"
    assert _digits(pd.Series({"answer": -9.71, "answer_low": -9.94, "answer_high": -9.49})) == 2


def test_excess_capacity_is_not_a_cost_of_a_sale_when_prices_are_weighed() -> None:
    """Amazon's idle capacity of 2022 is reported as a share of revenue; booked, it is that share of the
    week's revenue, but a price review sees it as fixed: the same slopes with it as without (it raised a
    strategic Amazon's prices 2-5% through 2022, as if idle warehouses were a cost of each sale)."""
    model = market_at_start()
    model.conduct.review()
    before = model.conduct.slopes(model.amazon, expected_sales(model))
    accounts = model.params.amazon.accounts.model_copy(update={"excess_fulfillment_cost_share": 0.041})
    model.params = model.params.model_copy(update={"amazon": model.params.amazon.model_copy(
        update={"accounts": accounts})})
    after = model.conduct.slopes(model.amazon, expected_sales(model))
    for without, with_excess in zip(before, after):
        np.testing.assert_allclose(with_excess, without, rtol=1e-9)
    sales, last_week = expected_sales(model), model.amazon.ledger["revenue"]
    booked, candidate = model.amazon.accounts(sales), model.amazon.accounts(sales, candidate=True)
    assert last_week > 0 and booked["revenue"] != last_week
    assert booked["fulfillment_cost"] - candidate["fulfillment_cost"] == pytest.approx(
        0.041 * (booked["revenue"] - last_week), rel=1e-9)  # booked on the week's revenue, weighed on the last


def test_a_report_with_strategic_conduct_charts_prices_and_fees() -> None:
    """The price answers a strategic run's notes speak of are drawn: each firm's price index by category
    and the fees posted, one legend entry per firm; a report of fixed conduct alone has no such section."""
    from sim.report.page import build_report

    scenario = sim.Scenario(name="answers", population={"shoppers": 300}, conduct="strategic",
                            horizon={"start": "2021-01-04", "end": "2021-06-28", "warmup_weeks": 4})
    fixed = scenario.model_copy(update={"name": "fixed", "conduct": "fixed"})
    runs = {name: sim.run(s, seed=1) for name, s in (("fixed", fixed), ("answers", scenario))}
    sections = {section.anchor: section for section in build_report(list(runs.values())).sections}
    prices, fees = [figure for _, figure in sections["prices"].figures]
    named = {trace["name"] for trace in prices["data"] if trace.get("showlegend", True) and trace.get("legend") == "legend"}
    assert {"Amazon", "Walmart", "Kroger", "Other grocers"} <= named, named
    assert {trace["name"] for trace in fees["data"]} >= {"Prime fee", "Walmart+ fee"}
    assert "prices" not in {section.anchor for section in build_report([runs["fixed"]]).sections}
