"""Calibration targets: every target has a source and a tolerance, and the comparison is exact."""

from __future__ import annotations

import datetime as dt
import re

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.calibration import evaluate, load_targets
from sim.jobs.targets import Target
from sim.cli import main
from sim.errors import ScenarioError
from sim.results import Result

TARGETS = Path(__file__).resolve().parents[1] / "calibration" / "targets.yaml"


def test_every_target_names_its_source_and_a_tolerance_following_confidence() -> None:
    targets = load_targets(TARGETS)
    ids = {t.id for t in targets}
    assert {"prime_among_walmart_plus_2021", "prime_among_walmart_plus_2025", "walmart_plus_households_2022",
            "walmart_plus_households_2025", "walmart_plus_member_spend_ratio_2022", "prime_2021", "prime_2025",
            "prime_churn", "express_mid_2025", "express_end_2025", "rural_towns_apr_2025", "rural_towns_end_2025",
            "amazon_leads_discretionary", "walmart_leads_grocery", "kroger_grocery_share",
            "walmart_ecommerce_fy2024", "walmart_ecommerce_fy2025"} <= ids
    for target in targets:
        assert target.source and target.tolerance > 0
        if target.value is not None and target.value <= 1 and target.metric.metric != "established_churn":
            assert target.tolerance <= (0.03 if target.confidence == "H" else 0.05), target.id


def synthetic(values: dict[str, float]) -> Result:
    """A result whose time series holds constant weekly values of a few series."""
    dates = pd.date_range("2021-01-04", "2025-12-29", freq="7D")
    rows = []
    for key, value in values.items():
        metric, firm, category = (key.split("|") + ["all", "all"])[:3]
        rows += [{"date": d, "metric": metric, "firm": firm, "category": category, "locale": "all",
                  "segment": "all", "value": value} for d in dates]
    return Result(sim.Scenario(), 1, pd.DataFrame(rows))


def test_misses_are_in_tolerances_and_bounds_count_only_shortfalls() -> None:
    level = Target(id="x", description="d", metric={"metric": "prime_share"}, at="2025-02-15", value=0.6,
                   tolerance=0.05, confidence="M", source="somewhere")
    lead = Target(id="y", description="d", metric={"metric": "spend_share", "firm": "amazon"},
                  minus={"metric": "spend_share", "firm": "walmart"}, over=["2025-01-01", "2025-12-31"],
                  above=0.0, tolerance=0.05, confidence="H", source="somewhere")
    runs = [synthetic({"prime_share": p, "spend_share|amazon": 0.3, "spend_share|walmart": w})
            for p, w in ((0.65, 0.2), (0.75, 0.4))]
    fit = evaluate([level, lead], runs)
    rows = fit.table.set_index("target")
    assert rows.loc["x", "simulated_mean"] == pytest.approx(0.70)
    assert rows.loc["x", "miss"] == pytest.approx(2.0) and not rows.loc["x", "within"]
    assert rows.loc["y", "simulated_mean"] == pytest.approx(0.0) and rows.loc["y", "miss"] == 0.0
    assert fit.loss == pytest.approx((2.0 ** 2 + 0.0) / 2)
    short = evaluate([lead], [synthetic({"spend_share|amazon": 0.2, "spend_share|walmart": 0.3})])
    assert short.table["miss"].iloc[0] == pytest.approx(-2.0)


def test_an_upper_bound_counts_only_an_excess() -> None:
    """``below``: online grocery at most 10% (the model counts two firms' online grocery only)."""
    cap = Target(id="z", description="d", metric={"metric": "spend_share", "firm": "amazon"},
                 over=["2025-01-01", "2025-12-31"], below=0.10, tolerance=0.02, confidence="M", source="somewhere")
    under, over = (evaluate([cap], [synthetic({"spend_share|amazon": share})]).table.iloc[0] for share in (0.04, 0.15))
    assert under["miss"] == 0.0 and under["within"] and under["published"] == "< 0.1"
    assert over["miss"] == pytest.approx(2.5) and not over["within"]
    assert cap.misses(np.array([0.04, 0.11, 0.15])) == pytest.approx([0.0, 0.5, 2.5])
    with pytest.raises(ValueError, match="exactly one of value, above .* or below"):
        Target(**{**cap.model_dump(), "value": 0.1})


def test_a_share_target_divides_by_the_sum_of_its_series() -> None:
    """``share_of``: Walmart's online share of its own sales from two channels' shares of all spend."""
    online = Target(id="e", description="d", metric={"metric": "spend_share", "firm": "amazon"},
                    share_of=[{"metric": "spend_share", "firm": "amazon"}, {"metric": "spend_share", "firm": "walmart"}],
                    over=["2024-02-01", "2025-01-31"], value=0.2, tolerance=0.03, confidence="H", source="somewhere")
    fit = evaluate([online], [synthetic({"spend_share|amazon": 0.1, "spend_share|walmart": 0.3})])
    assert fit.table["simulated_mean"].iloc[0] == pytest.approx(0.25)
    assert fit.table["miss"].iloc[0] == pytest.approx(0.05 / 0.03)
    with pytest.raises(ValueError, match="at most one of minus, plus or share_of"):
        Target(id="e", description="d", metric={"metric": "prime_share"}, minus={"metric": "prime_share"},
               share_of=[{"metric": "prime_share"}], at="2025-01-01", value=0.2, tolerance=0.03, confidence="H",
               source="somewhere")


def test_a_yearly_target_reads_a_flow_as_a_filed_year() -> None:
    """``yearly``: a mean weekly revenue of $9B is a year of 365.25 / 7 weeks, $469.6B; a ratio
    cannot be yearly."""
    revenue = Target(id="r", description="d", metric={"metric": "revenue", "firm": "walmart"},
                     over=["2024-02-01", "2025-01-31"], yearly=True, value=465.0e9, tolerance=23.0e9,
                     confidence="M", source="somewhere")
    fit = evaluate([revenue], [synthetic({"revenue|walmart": 9.0e9})])
    assert fit.table["simulated_mean"].iloc[0] == pytest.approx(9.0e9 * 365.25 / 7)
    assert fit.table["miss"].iloc[0] == pytest.approx((9.0e9 * 365.25 / 7 - 465.0e9) / 23.0e9)
    with pytest.raises(ValueError, match="yearly scales a flow"):
        Target(**{**revenue.model_dump(), "share_of": [{"metric": "revenue"}]})


def test_a_bad_target_file_gives_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("targets:\n  - id: a\n    description: d\n    metric: {metric: prime_share}\n"
                    "    at: 2021-02-01\n    value: 0.5\n    tolerance: -1\n    confidence: H\n    source: s\n")
    with pytest.raises(ScenarioError, match=r"t.yaml:7: targets\[0\].tolerance: .*greater than 0"):
        load_targets(path)


def test_two_targets_of_one_id_are_refused_at_the_second(tmp_path: Path, capsys) -> None:
    """Results are keyed by id: the second target was scored against the first's published value
    (Prime's share against Walmart+'s 0.085, a miss of 29 tolerances), in targets and calibrate alike."""
    one = ("  - id: {id}\n    description: d\n    metric: {{metric: {metric}}}\n    at: 2021-06-28\n"
           "    value: {value}\n    tolerance: 0.02\n    confidence: H\n    source: a survey\n")
    path = tmp_path / "t.yaml"
    path.write_text("targets:\n" + one.format(id="a", metric="walmart_plus_share", value=0.085)
                    + one.format(id="a", metric="prime_share", value=0.6))
    with pytest.raises(ScenarioError, match=r"t.yaml:10: targets\[1\].id: 'a' is the id of targets\[0\] too"):
        load_targets(path)
    assert main(["validate", str(path)]) == 2 and "targets[1].id" in capsys.readouterr().err


def test_a_target_outside_the_scenarios_horizon_is_refused_before_any_run(tmp_path: Path, capsys) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("targets:\n  - id: late\n    description: d\n    metric: {metric: prime_share}\n"
                    "    at: 2035-02-15\n    value: 0.6\n    tolerance: 0.05\n    confidence: H\n    source: a survey\n")
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: s\npopulation: {shoppers: 300}\n")
    assert main(["targets", str(scenario), "--targets", str(path), "--replicates", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "t.yaml:5: targets[0].at: target 'late' reads 2035-02-15, outside the scenario's" \
        " horizon; valid dates run from 2021-01-04 to 2030-12-30" in err, err
    # A filed year that starts before the first simulated week reads the weeks inside it: allowed.
    assert load_targets(TARGETS, (dt.date(2021, 1, 4), dt.date(2030, 12, 30)))


def test_a_series_no_run_records_is_refused_at_its_line_before_any_run(tmp_path: Path, capsys) -> None:
    """prime_share has no firm: it read NaN in every run, "simulated nan" and a loss of inf, exit 0; in a
    calibration, an infinite loss for every candidate."""
    path = tmp_path / "t.yaml"
    target = ("  - id: {id}\n    description: d\n    metric: {metric}\n    at: 2025-02-15\n    value: 0.6\n"
              "    tolerance: 0.05\n    confidence: H\n    source: a survey\n")
    path.write_text("targets:\n" + target.format(id="fine", metric="{metric: prime_share}")
                    + target.format(id="amazons", metric="{metric: prime_share, firm: amazon}"))
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: s\npopulation: {shoppers: 300}\n")
    assert main(["targets", str(scenario), "--targets", str(path), "--replicates", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.strip().endswith(
        "t.yaml:12: targets[1].metric: prime_share is not recorded for firm amazon; it is recorded by locale (rural, "
        "suburban, urban, or all)"), err
    assert len(load_targets(path)) == 2, "a targets file alone (validate) knows no scenario: its series are not checked"
    path.write_text("targets:\n" + target.format(id="walmarts", metric="{metric: revenue, firm: walmart}").replace(
        "    at:", "    share_of: [{metric: revenue, firm: all}, {metric: revenue, firm: walmart, category: grocery}]\n    at:"))
    assert main(["targets", str(scenario), "--targets", str(path), "--replicates", "1", "--quiet"]) == 2
    assert capsys.readouterr().err.strip().endswith("t.yaml:5: targets[0].share_of[0]: revenue is not recorded as a "
                                                    "total (firm, category, locale and segment all); it is recorded "
                                                    "by firm (amazon, kroger, rivals, walmart)")


def test_the_targets_command_runs_the_scenario_and_prints_the_fit(tmp_path: Path, capsys) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: s\npopulation: {shoppers: 300}\n")
    assert main(["targets", str(scenario), "--targets", str(TARGETS), "--replicates", "2", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "prime_among_walmart_plus_2025" in printed and "loss (mean squared miss)" in printed
    assert np.isfinite(float(printed.split("loss (mean squared miss): ")[1].split(";")[0]))


def test_a_target_that_could_not_be_simulated_makes_the_loss_infinite() -> None:
    lead = Target(id="y", description="d", metric={"metric": "spend_share", "firm": "amazon"},
                  over=["2025-01-01", "2025-12-31"], above=0.0, tolerance=0.05, confidence="H", source="somewhere")
    level = Target(id="x", description="d", metric={"metric": "prime_share"}, at="2025-02-15", value=0.6,
                   tolerance=0.05, confidence="M", source="somewhere")
    from sim.jobs.targets import evaluate_values

    fit = evaluate_values([lead, level], [{"y": float("nan"), "x": 0.6}])
    assert np.isnan(fit.table["miss"].iloc[0]) and fit.loss == float("inf")



def test_calibration_runs_stop_after_the_last_target_and_agree_with_the_full_run() -> None:
    """Candidates run only up to a week past the last date a target or check reads; the model runs forward,
    so those weeks are the full horizon's to the last bit, and every target reads the same value."""
    from sim.calibration.setup import load_setup
    from sim.run import resolve
    from sim.scenario import load_scenario

    calibration = load_setup(TARGETS.parent / "setup.yaml")
    last = max(target.at or target.over[1] for target in [*calibration.targets, *calibration.checks])
    full_scenario = load_scenario(TARGETS.parents[1] / "scenarios" / "baseline.yaml", calibrated=False)
    assert last < calibration.base.horizon.end <= last + pd.Timedelta(days=7) < full_scenario.horizon.end
    assert [e.date for e in calibration.base.events] == [e.date for e in full_scenario.events
                                                         if e.date <= calibration.base.horizon.end]
    size = {"population.shoppers": 600}
    short = sim.run(resolve(calibration.base, size), seed=4).timeseries
    full = sim.run(resolve(full_scenario, size), seed=4).timeseries
    early = full[full["date"] <= short["date"].max()].reset_index(drop=True)
    pd.testing.assert_frame_equal(early, short.reset_index(drop=True))


def test_the_filed_revenues_by_year_agree_with_the_targets_and_checks_that_quote_them() -> None:
    """calibration/revenues.yaml (figures the fit is not given, but for one year of each firm) holds
    every year 2021-2025 for Amazon North America and Walmart U.S., and Kroger's two years to hand,
    and its figures are those the fitted targets and the growth checks quote."""
    revenues = {t.id: t for t in load_targets(TARGETS.parent / "revenues.yaml")}
    years = ([f"amazon_revenue_{y}" for y in range(2021, 2026)] + [f"walmart_revenue_fy{y}" for y in range(2022, 2027)]
             + ["kroger_revenue_fy2023", "kroger_revenue_fy2024"])
    assert sorted(revenues) == sorted(years)
    for target in revenues.values():
        assert target.metric.nominal and target.yearly and target.source
        share = 0.08 if target.metric.firm == "amazon" else 0.05
        assert target.tolerance == pytest.approx(share * target.value, rel=0.01), target.id
    fitted = {t.id: t for t in load_targets(TARGETS)}
    assert revenues["amazon_revenue_2024"].value == fitted["amazon_revenue_2024"].value
    assert revenues["kroger_revenue_fy2024"].value == fitted["kroger_revenue_fy2024"].value
    checks = {t.id: t for t in load_targets(TARGETS.parent / "checks.yaml")}
    for check, first, last in [("amazon_revenue_growth_2021_2025", "amazon_revenue_2021", "amazon_revenue_2025"),
                               ("walmart_revenue_growth_fy2022_fy2026", "walmart_revenue_fy2022",
                                "walmart_revenue_fy2026")]:
        growth = revenues[last].value / revenues[first].value - 1.0
        assert checks[check].value == pytest.approx(growth, abs=5e-4), check


def test_weights_multiply_the_metric_and_each_added_series() -> None:
    """The e-commerce growth target reads each category's online share at a fixed category size: a
    weighted sum, whose weights must match the series and stay positive."""
    series = {"metric": "spend_share", "firm": "amazon"}
    weighted = Target(id="w", description="d", metric={**series, "category": "grocery"},
                      plus=[{**series, "category": "discretionary"}], weights=[0.25, 0.75],
                      over=["2025-01-01", "2025-12-31"], value=0.3, tolerance=0.05, confidence="M", source="somewhere")
    run = synthetic({"spend_share|amazon|grocery": 0.1, "spend_share|amazon|discretionary": 0.5})
    assert weighted.simulate(run) == pytest.approx(0.25 * 0.1 + 0.75 * 0.5)
    for weights, words in (([1.0], "give one for the metric and one for each series of plus (2)"),
                           ([1.0, 0.0], "numbers from 0.000001 to 1,000,000"), ([1.0, 1e300], "to 1,000,000")):
        with pytest.raises(ValueError, match=re.escape(words)):
            Target(**{**weighted.model_dump(), "weights": weights})
    with pytest.raises(ValueError, match="not with minus or share_of"):
        Target(id="m", description="d", metric=series, minus=series, weights=[1.0], at="2025-02-15", value=0.1,
               tolerance=0.05, confidence="M", source="somewhere")


def test_the_ecommerce_target_weighs_categories_at_their_national_sizes() -> None:
    """Its weights are each category's share of the model's 2024 national spend: the CE's budgets a
    consumer unit ($8,034, $5,396 and $887: $154, $103 and $17 a week) times the model's 132.74M
    households over shoppers.budget_coverage (docs/MODEL.md 7.8), for both firms' channels alike."""
    target = next(t for t in load_targets(TARGETS) if t.id == "ecommerce_growth_2021_2024")
    coverage = sim.Scenario().shoppers.budget_coverage
    sizes = np.array([8034 / coverage.grocery, 5396 / coverage.discretionary, 887 / coverage.health]) * 132.74e6
    assert target.weights == pytest.approx([*(sizes / sizes.sum()), *(sizes / sizes.sum())], abs=6e-4)
    assert [s.category for s in [target.metric, *target.plus]] == ["grocery", "discretionary", "health"] * 2
