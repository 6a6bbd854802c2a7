"""The price level: constant dollars in the model, posted (nominal) membership fees, and outcomes
and targets read in nominal dollars or as growth."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from sim.jobs.outcomes import MetricSeries, Outcome, outcome_value
from sim.jobs.targets import Target
from sim.model.market import RetailMarket
from sim.scenario.schema import CPI_U, PriceLevel

from .conftest import small


def test_the_level_is_each_years_index_at_mid_year_over_the_base_years() -> None:
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
    ({"base_year": 2019}, "base_year 2019 has no index; give one of 2020, 2021"),
    ({"index": {2024: 0.0}}, "greater than 0"),
    ({"index": {1850: 10.0}, "base_year": 1850}, "greater than or equal to 1900"),
    ({"index": {}}, "at least 1 item"),
])
def test_a_bad_price_level_is_refused_with_what_would_be_valid(fields: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PriceLevel(**fields)


def test_a_scenario_file_with_a_bad_price_level_fails_in_one_line(tmp_path, capsys) -> None:
    from sim.cli import main

    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\neconomics:\n  price_level: {base_year: 2030}\n", encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.yaml:3" in err[0] and "base_year 2030 has no index" in err[0]


def _run(fee_scale: float, index: dict[int, float], base_year: int) -> RetailMarket:
    model = RetailMarket(small(population__shoppers=300, amazon__prime__fee_annual=119.0 * fee_scale,
                               walmart__walmart_plus__fee_annual=98.0 * fee_scale,
                               economics__price_level__index=index, economics__price_level__base_year=base_year))
    model.run_model()
    return model


def test_fees_count_at_their_value_in_constant_dollars() -> None:
    """Fees twice as high at a price level twice as high are the same fees: every household decides
    alike, and every firm books the same membership income in constant dollars. Only the posted fee
    the firm records differs."""
    constant = _run(1.0, {2024: 1.0}, 2024)
    doubled = _run(2.0, {2000: 100.0, 2001: 200.0}, 2000)  # a level of 2 from mid-2001 on
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
    constant = _run(1.0, {2024: 1.0}, 2024)
    inflated = _run(1.0, {2000: 100.0, 2001: 200.0}, 2000)
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
