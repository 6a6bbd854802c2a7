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


def _days(year: int) -> list[dt.date]:
    first = dt.date(year, 1, 1)
    return [first + dt.timedelta(days=k) for k in range((dt.date(year + 1, 1, 1) - first).days)]


def test_each_years_mean_level_is_its_annual_average_over_2024s() -> None:
    level = PriceLevel()
    for year in range(2020, 2026):
        mean = np.mean([level.factor(day) for day in _days(year)])
        assert mean * CPI_U[2024] == pytest.approx(CPI_U[year], rel=1e-9), year
    # Weekly (Monday) samples, what the model records, stay within 0.05% of each average.
    for year in range(2021, 2026):
        mondays = [day for day in _days(year) if day.weekday() == 0]
        assert np.mean([level.factor(day) for day in mondays]) * CPI_U[2024] == pytest.approx(CPI_U[year], rel=5e-4)
    # It rises through each year and is continuous at New Year (no step).
    assert level.factor(dt.date(2023, 1, 1)) == pytest.approx(level.factor(dt.date(2022, 12, 31)), rel=1e-4)
    assert level.factor(dt.date(2025, 1, 1)) < level.factor(dt.date(2025, 7, 2)) < level.factor(dt.date(2025, 12, 31))
    # Held after the last year's end and before the first year's start: no forecast beyond the data.
    end_2025 = level.factor(dt.date(2025, 12, 31))
    assert level.factor(dt.date(2030, 12, 30)) == level.factor(dt.date(2026, 6, 1)) == pytest.approx(end_2025, rel=1e-4)
    assert level.factor(dt.date(2019, 3, 1)) == level.factor(dt.date(2019, 12, 1))
    # The last year's slope runs on to its end: the level ends 2025 above 2025's average by half a
    # year of 2024-2025's rise.
    assert end_2025 * CPI_U[2024] == pytest.approx(CPI_U[2025] + (CPI_U[2025] - CPI_U[2024]) / 2, rel=1e-3)
    # One year only: constant dollars are nominal dollars.
    assert PriceLevel(index={2024: 313.689}).factor(dt.date(2021, 1, 4)) == pytest.approx(1.0, rel=1e-12)


def test_averages_with_gaps_between_years_are_still_met() -> None:
    """A scenario may add a year far from the others (a forecast for 2030): every year's mean is
    still its average, and the path between runs through the gap."""
    index = {**CPI_U, 2030: 360.0}
    level = PriceLevel(index=index)
    for year in (2024, 2025, 2030):
        assert np.mean([level.factor(day) for day in _days(year)]) * CPI_U[2024] == pytest.approx(index[year], rel=1e-9)
    assert CPI_U[2025] < level.factor(dt.date(2028, 1, 1)) * CPI_U[2024] < 360.0


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


# A level of 2 over the small horizon (before mid-2021): the level is held before 2022, where 2022's
# mean of 180 on the way down to 2024's 100 puts the start of 2022 at 200.
DOUBLED = {2022: 180.0, 2024: 100.0}


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
    assert doubled.price_level == pytest.approx(2.0, rel=1e-12) and constant.price_level == 1.0
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
