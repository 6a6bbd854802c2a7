"""The rivals' answer's interval over seeds (``retailsim compare --rivals-answer``, ``sim/rivals.py``):
from the paired per-seed answers, by the differences table's method, and none with one replicate."""

from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import sim
from sim.comparison import differences
from sim.report.rivals import FEES, answers_section, fee_reviewers, sentences
from sim.rivals import ANSWER_COLUMNS, answers, effects, strategic

SEEDS = [1, 2, 3]


@pytest.fixture(scope="module")
def runs() -> dict[str, list]:
    """A Walmart grocery price cut on 300 households over half a year, fixed and strategic, 3 seeds."""
    shared = {"population": {"shoppers": 300}, "horizon": {"start": "2021-01-04", "end": "2021-06-28",
                                                           "warmup_weeks": 2}}
    base = sim.Scenario(name="base", **shared)
    cut = sim.Scenario(name="cut", events=[{"date": "2021-03-01", "set": {"walmart.prices.grocery": 0.9}}], **shared)
    return {conduct: [sim.run(make(scenario), seed=seed) for seed in SEEDS for scenario in (base, cut)]
            for conduct, make in (("fixed", lambda s: s), ("strategic", strategic))}


def table_of(runs: dict[str, list], seeds: list[int]) -> pd.DataFrame:
    fixed = [r for r in runs["fixed"] if r.seed in seeds]
    answered = [r for r in runs["strategic"] if r.seed in seeds]
    return answers(differences(fixed), differences(answered), effects(fixed, None), effects(answered, None))


def series(result, metric: str, **dimensions: str) -> np.ndarray:
    """One recorded series of a run, by hand from its tidy table."""
    rows = result.timeseries[result.timeseries["metric"] == metric]
    for label in ("firm", "category", "locale", "segment"):
        rows = rows[rows[label].astype(str) == dimensions.get(label, "all")]
    return rows.sort_values("date")["value"].to_numpy()


def by_hand(runs: dict[str, list], effect) -> tuple[float, float, float]:
    """The answer's mean and 90% interval from each seed's answer: (strategic what-if - strategic
    baseline) - (fixed what-if - fixed baseline), then a t interval of their mean."""
    answer = []
    for seed in SEEDS:
        pair = {conduct: {r.scenario.name: r for r in runs[conduct] if r.seed == seed} for conduct in runs}
        answer.append(effect(pair["strategic"]["cut"], pair["strategic"]["base"])
                      - effect(pair["fixed"]["cut"], pair["fixed"]["base"]))
    answer = np.array(answer)
    half = stats.t.ppf(0.95, len(answer) - 1) * answer.std(ddof=1) / math.sqrt(len(answer))
    return answer.mean(), answer.mean() - half, answer.mean() + half


def test_the_answers_interval_is_over_the_paired_per_seed_answers(runs) -> None:
    table = table_of(runs, SEEDS).set_index("measure")
    assert list(table.columns) == ["unit", "scenario", *ANSWER_COLUMNS]

    def rivals_price(cut, base) -> float:  # under 52 weeks recorded: the last 52 weeks are all of them
        return (series(cut, "price_index", firm="rivals", category="grocery")[-52:].sum()
                / series(base, "price_index", firm="rivals", category="grocery")[-52:].sum() - 1.0) * 100.0

    def walmart_grocery(cut, base) -> float:  # at the end of the horizon, in percent
        return (series(cut, "spend_share", firm="walmart", category="grocery")[-1]
                - series(base, "spend_share", firm="walmart", category="grocery")[-1]) * 100.0

    for measure, effect in (("Other grocers grocery prices", rivals_price),
                            ("Walmart share of grocery spend", walmart_grocery)):
        mean, low, high = by_hand(runs, effect)
        row = table.loc[measure]
        assert row["answer"] == pytest.approx(mean, abs=1e-9)
        assert (row["answer_low"], row["answer_high"]) == pytest.approx((low, high), abs=1e-9)
        assert row["answer_significant"] == (low > 0 or high < 0)
    for measure in ("Other grocers grocery prices", "Walmart share of grocery spend"):
        assert table.loc[measure, "answer_high"] - table.loc[measure, "answer_low"] > 0  # seeds differ: a real interval
    assert table.loc["Walmart share of grocery spend", "without"] != 0  # an answer is not its strategic effect alone


def test_one_replicate_gives_no_interval_and_says_so(runs) -> None:
    table = table_of(runs, SEEDS[:1])
    assert table["answer_low"].isna().all() and table["answer_high"].isna().all()
    assert not table["answer_significant"].any()
    said = sentences(table, "base")
    assert len(said) == 1 and "no interval" in said[0] and "90% interval" not in said[0]
    html = answers_section(table, "base").html
    assert "n/a (one replicate)" in html


def test_the_sentences_tell_an_answer_from_run_noise(runs) -> None:
    table = table_of(runs, SEEDS)
    said = sentences(table, "base")[0]
    rivals = table.set_index("measure").loc["Other grocers grocery prices"]
    found = re.search(r"Other grocers grocery prices ([-+][\d.]+)% \(90% interval ([-+][\d.]+)% to ([-+][\d.]+)%: "
                      r"(beyond|within) run noise\)", said)
    assert found is not None, said
    assert [float(x) for x in found.groups()[:3]] == pytest.approx(
        [rivals["answer"], rivals["answer_low"], rivals["answer_high"]], abs=0.006)
    assert found.group(4) == ("beyond" if rivals["answer_significant"] else "within")


def test_the_fees_answers_are_told_apart_from_the_what_ifs_own_fee() -> None:
    """Fee reviews from March 2021: Prime's perks worth $80 more from mid-February (no fee scripted) make
    Amazon's answer a higher Prime fee; a what-if that sets the Walmart+ fee has it as its lever. The
    answers table holds each fee's change against the baseline, in dollars a year."""
    shared = {"population": {"shoppers": 300}, "strategy": {"fees_from": "2021-03-01"},
              "horizon": {"start": "2021-01-04", "end": "2021-06-28", "warmup_weeks": 2}}
    base = sim.Scenario(name="base", **shared)
    perks = sim.Scenario(name="perks", events=[{"date": "2021-02-15", "set": {"amazon.prime.perks_value_usd": 100}}],
                         **shared)
    cut = sim.Scenario(name="cut", events=[{"date": "2021-03-01", "set": {"walmart.walmart_plus.fee_annual": 49}}],
                       **shared)
    runs = {conduct: [sim.run(make(scenario), seed=seed) for seed in SEEDS[:2] for scenario in (base, perks, cut)]
            for conduct, make in (("fixed", lambda s: s), ("strategic", strategic))}
    table = answers(differences(runs["fixed"]), differences(runs["strategic"]), effects(runs["fixed"], None),
                    effects(runs["strategic"], None))
    fees = table[table["unit"] == FEES].set_index(["scenario", "measure"])
    assert fees.loc[("perks", "Prime fee"), "without"] == 0 and fees.loc[("perks", "Prime fee"), "answer"] > 0
    scripted = fees.loc[("cut", "Walmart+ fee")]  # the mean over the weeks: $98 to March, $49 after
    assert scripted["without"] < -30 and scripted["with"] == pytest.approx(scripted["without"])
    said = dict(zip(["perks", "cut"], sentences(table, "base")))
    assert re.search(r"Amazon Prime fee \+[\d.]+ \$ a year \(", said["perks"]), said["perks"]
    assert "Walmart no fee answer (its Walmart+ fee follows the strategic baseline's)" in said["perks"]
    assert "the Walmart+ fee is the what-if's lever" in said["cut"] and "Amazon no fee answer" in said["cut"]
    assert fee_reviewers([strategic(s) for s in (base, perks, cut)]) == ["amazon", "walmart"]
    late = base.model_copy(update={"strategy": base.strategy.model_copy(update={"fees_from": dt.date(2022, 1, 1)})})
    assert fee_reviewers([strategic(late)]) == [] == fee_reviewers([late])  # the horizon ends before; fixed


def test_a_tiny_answer_beyond_run_noise_is_called_real_but_not_material() -> None:
    """Under 0.005% with its whole interval: "no price answer" when the interval holds zero, "no material
    price answer" with its size when it does not (real, too small to act on); larger answers in full."""
    from sim.report.rivals import PRICES

    def row(measure, answer, low, high):
        return {"scenario": "cut", "measure": measure, "unit": PRICES, "without": 0.0, "with": answer,
                "answer": answer, "answer_low": low, "answer_high": high, "answer_significant": low > 0 or high < 0}

    table = pd.DataFrame([row("Amazon grocery prices", -0.0031, -0.0040, -0.0022),
                          row("Walmart grocery prices", 0.0010, -0.0010, 0.0030),
                          row("Kroger grocery prices", -0.0200, -0.0300, -0.0100),
                          row("Other grocers grocery prices", 0.0020, 0.0010, 0.0030),
                          row("Walmart share of grocery spend", 0.01, -0.01, 0.03) | {"unit": "pts"}])
    said = sentences(table, "base")[0]
    assert "Amazon no material price answer (grocery prices -0.0031%, beyond run noise)" in said, said
    assert "Walmart no price answer" in said
    assert re.search(r"Kroger grocery prices -0\.0\d+% \(90% interval", said), said
    assert "Other grocers no material price answer (grocery prices +0.0020%, beyond run noise)" in said
