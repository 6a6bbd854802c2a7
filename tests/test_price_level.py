"""The price level: constant dollars in the model, posted (nominal) membership fees, and outcomes
and targets read in nominal dollars or as growth."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from sim.jobs.outcomes import MetricSeries, MissingSeries, Outcome, outcome_value
from sim.jobs.targets import Target
from sim.model.market import RetailMarket
from sim.scenario.schema import CPI_U, PriceLevel

from .conftest import small


def test_the_level_is_each_years_index_at_mid_year_over_2024s() -> None:
    level = PriceLevel()
    assert level.factor(dt.date(2024, 7, 2)) == pytest.approx(1.0, abs=1e-4)
    assert level.factor(dt.date(2021, 7, 2)) == pytest.approx(CPI_U[2021] / CPI_U[2024], abs=1e-4)
    # Halfway between two mid-years, halfway between their indexes.
    assert level.factor(dt.date(2023, 1, 1)) == pytest.approx((CPI_U[2022] + CPI_U[2023]) / 2 / CPI_U[2024], rel=2e-3)
    # Held beyond the first and last years: no forecast.
    assert level.factor(dt.date(2019, 3, 1)) == pytest.approx(CPI_U[2020] / CPI_U[2024])
    assert level.factor(dt.date(2030, 12, 30)) == level.factor(dt.date(2026, 1, 1)) == pytest.approx(
        CPI_U[2025] / CPI_U[2024])
    # One year only: constant dollars are nominal dollars.
    assert PriceLevel(index={2024: 313.689}).factor(dt.date(2021, 1, 4)) == 1.0
    # The interpolated path keeps each year's average within half a percent of its index.
    for year in range(2021, 2026):
        days = [dt.date(year, 1, 1) + dt.timedelta(days=k) for k in range(365)]
        assert np.mean([level.factor(day) for day in days]) * CPI_U[2024] == pytest.approx(CPI_U[year], rel=5e-3)


@pytest.mark.parametrize(("fields", "message"), [
    ({"index": {2023: 304.7}}, "index has no 2024, the year of the model's dollars"),
    ({"index": {2024: 0.0}}, "greater than 0"),
    ({"index": {1850: 10.0, 2024: 20.0}}, "greater than or equal to 1900"),
    ({"index": {2023: 304.7, 2024: 1.0}}, r"moves from 304.7 \(2023\) to 1 \(2024\): it mixes two bases"),
    ({"index": {}}, "at least 1 item"),
])
def test_a_bad_price_level_is_refused_with_what_would_be_valid(fields: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PriceLevel(**fields)


def test_a_scenario_file_with_a_bad_price_level_fails_in_one_line(tmp_path, capsys) -> None:
    """In a file, ``index`` adds to the shipped CPI-U years: a lone ``{2024: 1}`` would put 2023 at
    305 times 2024, and is refused in one line that says why."""
    from sim.cli import main

    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\neconomics:\n  price_level: {index: {2024: 1}}\n", encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.yaml:3" in err[0] and "it mixes two bases" in err[0]


DOUBLED = {2020: 200.0, 2021: 200.0, 2024: 100.0}  # a level of 2 over the small horizon (before mid-2021)


def _run(fee_scale: float, index: dict[int, float]) -> RetailMarket:
    model = RetailMarket(small(population__shoppers=300, amazon__prime__fee_annual=119.0 * fee_scale,
                               walmart__walmart_plus__fee_annual=98.0 * fee_scale, economics__price_level__index=index))
    model.run_model()
    return model


def test_fees_count_at_their_value_in_constant_dollars() -> None:
    """Fees twice as high at a price level twice as high are the same fees: every household decides
    alike, and every firm books the same membership income in constant dollars. Only the posted fee
    the firm records differs."""
    constant = _run(1.0, {2024: 1.0})
    doubled = _run(2.0, DOUBLED)
    assert doubled.price_level == 2.0 and constant.price_level == 1.0
    one, two = constant.collector.recorder.table(), doubled.collector.recorder.table()
    posted = {"prime_fee_usd", "walmart_plus_fee_usd", "price_level"}
    same, differ = ~one["metric"].isin(posted), one["metric"].isin(posted - {"price_level"})
    pd.testing.assert_frame_equal(one[same], two[same])
    assert (two.loc[differ, "value"].to_numpy() == 2 * one.loc[differ, "value"].to_numpy()).all()
    assert one.query("metric == 'membership_revenue' and firm == 'amazon'")["value"].gt(0).all()


def test_a_higher_price_level_makes_the_same_fee_cheaper() -> None:
    """The same posted fee at a price level twice as high is half the fee in constant dollars: more
    households hold the membership, and its income in constant dollars is lower per member."""
    constant = _run(1.0, {2024: 1.0})
    inflated = _run(1.0, DOUBLED)
    members = [model.households.walmart_plus.mean() for model in (constant, inflated)]
    assert members[1] > members[0]
    per_member = [model.walmart.ledger["membership_revenue"] / model.households.walmart_plus.sum()
                  for model in (constant, inflated)]
    assert per_member[1] == pytest.approx(per_member[0] / 2)


def _table(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame([{"date": pd.Timestamp(date), "metric": metric, "firm": firm, "category": "all",
                          "locale": "all", "segment": "all", "value": value} for date, metric, firm, value in rows])


WEEKS = [("2021-03-01", 100.0, 0.8), ("2021-03-08", 100.0, 0.9), ("2025-03-03", 110.0, 1.1),
         ("2025-03-10", 130.0, 1.1)]
TABLE = _table([(d, "revenue", "walmart", r) for d, r, _ in WEEKS] + [(d, "price_level", "all", p) for d, _, p in WEEKS])


def test_a_money_outcome_reads_in_nominal_dollars_week_by_week() -> None:
    over = (dt.date(2021, 1, 1), dt.date(2025, 12, 31))
    real = Outcome(metric="revenue", firm="walmart", over=over, aggregate="sum")
    nominal = Outcome(metric="revenue", firm="walmart", over=over, aggregate="sum", nominal=True)
    assert outcome_value(TABLE, real) == 440.0
    assert outcome_value(TABLE, nominal) == pytest.approx(80 + 90 + 121 + 143)
    with pytest.raises(ValidationError, match="nominal applies to money metrics"):
        MetricSeries(metric="spend_share", nominal=True)


def test_a_growth_target_divides_its_period_by_the_earlier_one() -> None:
    target = Target(id="growth", description="Walmart revenue growth", tolerance=0.03, confidence="H", source="filing",
                    metric={"metric": "revenue", "firm": "walmart", "nominal": True}, value=0.5,
                    over=(dt.date(2025, 1, 1), dt.date(2025, 12, 31)),
                    growth_from=(dt.date(2021, 1, 1), dt.date(2021, 12, 31)))
    assert target.simulate(SimpleNamespace(timeseries=TABLE)) == pytest.approx((121 + 143) / (80 + 90) - 1)
    assert (target.start, target.end) == (dt.date(2021, 1, 1), dt.date(2025, 12, 31))
    with pytest.raises(ValidationError, match="growth_from needs over"):
        Target(**{**target.model_dump(), "over": None, "at": dt.date(2025, 6, 1)})
    with pytest.raises(ValidationError, match="growth_from runs the wrong way round"):
        Target(**{**target.model_dump(), "growth_from": (dt.date(2021, 12, 31), dt.date(2021, 1, 1))})
    with pytest.raises(ValidationError, match="must start before over"):
        Target(**{**target.model_dump(), "growth_from": (dt.date(2026, 1, 1), dt.date(2026, 12, 31))})


def test_nominal_money_from_results_without_a_price_level_is_refused() -> None:
    older = TABLE[TABLE["metric"] != "price_level"]
    nominal = Outcome(metric="revenue", firm="walmart", over=(dt.date(2021, 1, 1), dt.date(2025, 12, 31)), nominal=True)
    with pytest.raises(MissingSeries, match="no price_level series"):
        outcome_value(older, nominal)
