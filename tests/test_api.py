"""The Python API for notebooks: ``sim.run`` on a dict, ``sim.compare``, ``sim.sweep`` on a dict design."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import sim
from sim.report.ensemble import Ensemble
from sim.report.tables import difference_rows, points

TINY = {"name": "tiny", "population": {"shoppers": 300},
        "horizon": {"start": "2021-01-04", "end": "2021-04-26", "warmup_weeks": 2},
        "events": [{"date": "2021-03", "label": "Walmart+ fee cut", "set": {"walmart.walmart_plus.fee_annual": 79}}]}
CHEAP = {**TINY, "name": "cheap", "walmart": {"walmart_plus": {"fee_annual": 49}}}


def test_a_dict_runs_exactly_as_the_same_file(tiny_yaml: Path) -> None:
    document = copy.deepcopy(TINY)
    from_dict = sim.run(document, seed=3)
    from_file = sim.run(tiny_yaml, seed=3)
    assert document == TINY, "the caller's dict is left as it was"
    assert from_dict.scenario == from_file.scenario
    pd.testing.assert_frame_equal(from_dict.timeseries, from_file.timeseries)


@pytest.mark.parametrize("document, message", [
    ({"population": {"shopers": 300}}, "<dict>: population.shopers: unknown key 'shopers'; did you mean 'shoppers'?"),
    ({"walmart": {"walmart_plus": {"fee_annual": -1}}},
     "<dict>: walmart.walmart_plus.fee_annual: Input should be greater than or equal to 0 (got -1)"),
    ({"events": [{"date": "2040-01-01", "set": {"walmart.walmart_plus.fee_annual": 79}}]},
     "<dict>: events[0].date: date 2040-01-01 is outside the horizon; valid dates run from 2021-01-04 to 2030-12-30"),
    ({"extends": "baseline.yaml"}, "<dict>: extends: a dict cannot name another file; give the file's path to "
                                   "sim.run and change it with overrides={...}"),
])
def test_a_bad_dict_is_one_error_naming_dict(document, message) -> None:
    with pytest.raises(sim.ScenarioError) as caught:
        sim.run(document)
    assert str(caught.value) == message


def test_compare_returns_the_runs_and_the_reports_differences(tmp_path: Path) -> None:
    comparison = sim.compare(TINY, CHEAP, replicates=2, seed=7, shoppers=200)
    assert isinstance(comparison, sim.Comparison)
    assert comparison.names == ["tiny", "cheap"] and comparison.baseline == "tiny" and comparison.what_ifs == ["cheap"]
    assert len(comparison.seeds) == 2 and comparison.seeds[0] == 7
    assert [r.seed for r in comparison.runs("cheap")] == comparison.seeds
    assert {r.scenario.population.shoppers for r in comparison.results} == {200}
    table = comparison.differences
    assert list(table.columns) == ["measure", "unit", "baseline", "scenario", "mean", "low", "high", "significant"]
    expected = pd.DataFrame(difference_rows(Ensemble(comparison.results)))
    expected["unit"] = expected["unit"].map(points)  # differences of shares: in points
    pd.testing.assert_frame_equal(table[expected.columns].reset_index(drop=True), expected)
    folder = comparison.save(tmp_path / "cmp", report=False)
    assert sorted(p.name for p in folder.iterdir()) == ["differences.csv", "differences_by_year.csv", "manifest.json", "runs"]
    assert pd.read_csv(folder / "differences.csv")["mean"].tolist() == pytest.approx(table["mean"].tolist(), rel=1e-12)


def test_compare_refuses_twin_names_and_no_what_if() -> None:
    with pytest.raises(sim.UserError, match="<dict> and <dict>: scenario names must differ"):
        sim.compare(TINY, TINY, replicates=1)
    with pytest.raises(sim.UserError, match="compare needs a baseline and at least one what-if"):
        sim.compare(TINY)
    with pytest.raises(sim.UserError, match="replicates must be a whole number of at least 1"):
        sim.compare(TINY, CHEAP, replicates=0)


def test_compare_refuses_horizons_that_end_apart_before_any_run(monkeypatch, tiny_yaml: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture) -> None:
    """Differences are read at the horizon's end and week by week: a what-if that ends elsewhere is refused
    in one line (it ran every run, then raised from the report)."""
    from sim.cli import main

    monkeypatch.setattr("sim.experiments.replicates.run", lambda *a, **k: pytest.fail("a run started"))
    later = {**CHEAP, "horizon": {**TINY["horizon"], "end": "2021-05-31"}}
    with pytest.raises(sim.UserError, match="<dict>: its last recorded week is 2021-05-31, the baseline's .* "
                                            "2021-04-26; compared scenarios must end in the same week"):
        sim.compare(TINY, later, replicates=1)
    other_day = {**CHEAP, "horizon": {**TINY["horizon"], "start": "2021-01-06"}}  # a Wednesday: no week in common
    with pytest.raises(sim.UserError, match="its weeks start on a Wednesday .* the baseline's .* on a Monday"):
        sim.compare(TINY, other_day, replicates=1)
    other = tmp_path / "later.yaml"
    other.write_text(f"extends: {tiny_yaml}\nname: later\nhorizon: {{end: 2021-05-31}}\n", encoding="utf-8")
    assert main(["compare", str(tiny_yaml), str(other), "--out", str(tmp_path / "cmp"), "--quiet"]) == 2
    assert "later.yaml: its last recorded week is 2021-05-31" in capsys.readouterr().err
    assert not (tmp_path / "cmp").exists()
    monkeypatch.undo()
    same_weeks = {**CHEAP, "horizon": {**TINY["horizon"], "end": "2021-04-27"}}  # ends a day later, same weeks
    assert sim.compare(TINY, same_weeks, replicates=1, shoppers=100).names == ["tiny", "cheap"]


def test_compare_says_when_a_what_if_draws_other_households(tmp_path: Path) -> None:
    """A what-if with other households (here more of them) is compared, with a warning and a note in its
    report: its differences are not the levers' alone."""
    bigger = {**CHEAP, "population": {"shoppers": 250}}
    with pytest.warns(UserWarning, match="cheap: its population differs from tiny's, so on the same seeds its runs draw other households"):
        comparison = sim.compare(TINY, bigger, replicates=1, seed=3)
    from sim.report import build_report

    assert "its population differs from tiny's, so on the same seeds its runs draw other households" in \
        build_report(comparison.results).html()
    assert "draw other households" not in build_report(sim.compare(TINY, CHEAP, replicates=1, seed=3).results).html()


def test_compare_says_when_a_what_if_is_not_made_from_the_baselines_calibration(tmp_path: Path) -> None:
    """A what-if written without the baseline's calibration (a file without extends:, a dict without
    "extends") runs on the schema's defaults: compared, it gets a warning and a report note. A what-if
    made from the baseline, even one that changes a fitted parameter as its lever, gets neither."""
    from sim.report import build_report
    from sim.report.unlike import fitted_parameters
    from sim.shipped import CALIBRATION, folder

    fitted = fitted_parameters()
    assert len(fitted) >= 20 and "memberships.taste_sd_usd" in fitted
    (tmp_path / "base.yaml").write_text(yaml.safe_dump({**TINY, "name": "base", "calibration": str(
        folder(CALIBRATION) / "calibrated.yaml")}))
    (tmp_path / "lever.yaml").write_text("extends: base.yaml\nname: lever\nmemberships: {taste_sd_usd: 100.0}\n")
    base = tmp_path / "base.yaml"  # the lever: a fitted parameter changed
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        made_from_base = sim.compare(base, tmp_path / "lever.yaml", replicates=1, seed=3)
    text = f"differs from base in {len(fitted)} of the {len(fitted)} parameters the calibration fits"
    with pytest.warns(UserWarning, match=f"cheap: it {text}"):
        comparison = sim.compare(base, CHEAP, replicates=1, seed=3)
    assert text in build_report(comparison.results).html()
    assert "parameters the calibration fits" not in build_report(made_from_base.results).html()


def test_sweep_takes_a_dict_design(tiny_yaml: Path, monkeypatch) -> None:
    monkeypatch.chdir(tiny_yaml.parent)  # a dict's base: is relative to the working folder
    design = {"name": "fees", "base": "tiny.yaml", "design": "grid", "seed": 2,
              "parameters": {"walmart.walmart_plus.fee_annual": {"values": [49, 149]}},
              "outcomes": {"both": {"metric": "membership_share", "segment": "both", "at": "2021-04-26"}}}
    runs = sim.sweep(design, workers=1, out=tiny_yaml.parent / "out")
    assert runs["walmart.walmart_plus.fee_annual"].tolist() == [49, 149]
    assert runs["error"].isna().all() and runs["both"].iloc[0] >= runs["both"].iloc[1]
    with pytest.raises(sim.ScenarioError, match=r"^<dict>: parameters.walmart.walmart_plus.fee_annual: range runs"):
        sim.sweep({**design, "parameters": {"walmart.walmart_plus.fee_annual": {"range": [149, 49]}}})


def test_the_documented_ema_workbench_model_function_runs(monkeypatch) -> None:
    """docs/notebooks.md's EMA Workbench example: its model function returns every outcome it declares
    (EMA Workbench itself is not a dependency: a stand-in module takes its names)."""
    import re
    import sys
    import types

    root = Path(__file__).resolve().parents[1]
    text = (root / "docs" / "notebooks.md").read_text(encoding="utf-8")
    code = next(block for block in re.findall(r"```python\n(.*?)```", text, re.S) if "ema_workbench" in block)
    stand_in = types.ModuleType("ema_workbench")
    for name in ("ArrayOutcome", "Constant", "Model", "RealParameter", "ScalarOutcome", "perform_experiments",
                 "ema_logging"):
        setattr(stand_in, name, object())  # imported, never called: the example's main block does not run here
    monkeypatch.setitem(sys.modules, "ema_workbench", stand_in)
    monkeypatch.chdir(root)
    namespace = {"__name__": "example"}
    exec(compile(code, "docs/notebooks.md", "exec"), namespace)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no lever the baseline's own events set again
        outcomes = namespace["retailsim_model"](walmart_plus_fee=59.0, prime_fee=149.0, shoppers=100)
    assert set(outcomes) == {"walmart_plus_share", "prime_share", "walmart_profit_bn", "walmart_plus_over_time"}
    assert 0 <= outcomes["walmart_plus_share"] <= 1 and len(outcomes["walmart_plus_over_time"]) > 200


def test_the_run_command_summarises_each_run_once_to_print_it(monkeypatch, tiny_yaml, tmp_path, capsys) -> None:
    """The headline summary is a pass over the whole time series: the run command printed it by
    summarising the run eleven times."""
    import sim.results
    from sim.cli import main

    calls = []
    summarize = sim.results.summarize
    monkeypatch.setattr(sim.results, "summarize", lambda frame: calls.append(1) or summarize(frame))
    assert main(["run", str(tiny_yaml), "--out", str(tmp_path / "out"), "--quiet", "--no-report"]) == 0
    assert len(calls) == 2, "once to write summary.json, once to print it"


@pytest.mark.parametrize("call, message", [
    (lambda: sim.run(TINY, seed="abc"), "seed must be a whole number from 0 to 9,223,372,036,854,775,807 (got 'abc')"),
    (lambda: sim.run(TINY, shoppers=0), "shoppers must be a whole number >= 1 (got 0)"),
    (lambda: sim.run(TINY, shoppers=5), "shoppers: population.shoppers: Input should be greater than or equal to 10"),
    (lambda: sim.run(TINY, overrides=[("walmart.walmart_plus.fee_annual", 79)]),
     "overrides must be a dict of dotted scenario paths and values"),
    (lambda: sim.run(TINY, overrides={"walmart.walmart_plus.fee_annual": -1}),
     "overrides: walmart.walmart_plus.fee_annual: Input should be greater than or equal to 0"),
    (lambda: sim.run([1, 2]), "scenario must be a file's path, a Scenario or a dict laid out like a scenario file "
                              "(got list)"),
    (lambda: sim.compare(TINY, CHEAP, period="2021-2021"), "period must be two calendar years, first and last, "
                                                            "e.g. (2026, 2030) (got '2021-2021')"),
    (lambda: sim.compare(TINY, CHEAP, seed=-1), "seed must be a whole number from 0 to 9,223,372,036,854,775,807 "
                                                "(got -1)"),
    (lambda: sim.run(TINY, seed=2**64), "seed must be a whole number from 0 to 9,223,372,036,854,775,807"),
    (lambda: sim.sweep(None), "path must be a sweep file's path or a dict laid out like one (got NoneType)"),
    (lambda: sim.game(None), "path must be a game file's path or a dict laid out like one (got NoneType)"),
    (lambda: sim.discover(None, where="both > 1"), "folder must be a sweep folder's path and where a condition"),
    (lambda: sim.discover("reports", where=5), "folder must be a sweep folder's path and where a condition such as "
                                                "'both_2030 > 0.3' (got str and int)"),
    (lambda: sim.sweep({}, workers="2"), "workers must be a whole number >= 1 (got '2')"),
    (lambda: sim.compare(TINY, CHEAP, replicates=np.int64(0)), "replicates must be a whole number of at least 1"),
])
def test_bad_api_arguments_are_one_line_naming_what_is_valid(call, message) -> None:
    """The Python API checks its own arguments: one UserError naming the argument (not the command
    line's --set) and what would be valid, never a TypeError from deep inside."""
    with pytest.raises(sim.UserError) as caught:
        call()
    assert str(caught.value).startswith(message)


def test_an_override_that_an_event_sets_again_warns_and_one_from_a_date_holds_after_it() -> None:
    """As --set does on the command line: an override holds only until the scenario's event sets it.
    Keyed ``path@DATE`` it holds from that date, after the event."""
    import warnings

    dated = {**TINY, "events": [{"date": "2021-03", "label": "Fee set", "set": {"walmart.walmart_plus.fee_annual": 79}}]}
    with pytest.warns(UserWarning, match=r"overrides walmart.walmart_plus.fee_annual holds only until 2021-03-01: an "
                                         r"event of the scenario sets walmart.walmart_plus.fee_annual on 2021-03-01"):
        sim.run(dated, overrides={"walmart.walmart_plus.fee_annual": 49}, shoppers=100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fee = sim.run(dated, overrides={"walmart.walmart_plus.fee_annual@2021-04-05": 49}, shoppers=100).series(
            "walmart_plus_fee_usd", firm="walmart")
    assert fee["2021-03-08"] == pytest.approx(79) and fee.iloc[-1] == pytest.approx(49)
    with pytest.raises(sim.ScenarioError, match=r"overrides: walmart.walmart_plus.fee_annual@2022-01-03: date "
                                                r"2022-01-03 is outside the horizon"):
        sim.run(dated, overrides={"walmart.walmart_plus.fee_annual@2022-01-03": 49})
    with pytest.raises(sim.ScenarioError, match=r"overrides: walmart.walmart_plus.fee_annual@: no date after '@'; give "
                                                r"one as YEAR-MONTH-DAY \(or YEAR-MONTH\), e.g. walmart.walmart_plus.fee_annual@2026-01-01"):
        sim.run(dated, overrides={"walmart.walmart_plus.fee_annual@": 49})
    for date in ("1617580800", "2021", "2021-4-5"):  # a Unix time was read as one (2021-04-05); a year failed in pydantic's words
        with pytest.raises(sim.ScenarioError, match=rf"fee_annual@{date}: '{date}' is not a date after '@'; give one as "
                                                    r"YEAR-MONTH-DAY"):
            sim.run(dated, overrides={f"walmart.walmart_plus.fee_annual@{date}": 49})
    # The user's own dated changes never count as the scenario's events: two dates, or a plain value
    # and a dated one, of the same path are what was asked for, without a warning.
    plain = {**TINY, "events": []}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fee = sim.run(plain, overrides={"walmart.walmart_plus.fee_annual@2021-02-01": 50,
                                        "walmart.walmart_plus.fee_annual@2021-03-15": 70,
                                        "walmart.walmart_plus.fee_annual": 60}, shoppers=100).series(
            "walmart_plus_fee_usd", firm="walmart")
    assert [fee.iloc[0], fee["2021-03-08"], fee.iloc[-1]] == pytest.approx([60, 50, 70])
    # Dated before the scenario's own event, it holds only until that event: said as for a plain override.
    with pytest.warns(UserWarning, match=r"overrides walmart.walmart_plus.fee_annual@2021-02 holds only until "
                                         r"2021-03-01: .*; to change it from a date, key it 'path@DATE'"):
        sim.run(dated, overrides={"walmart.walmart_plus.fee_annual@2021-02": 49}, shoppers=100)


@pytest.mark.parametrize("metric, dimensions, message", [
    ("membership_shar", {}, "series(): no metric 'membership_shar' in these results; did you mean 'membership_share'?"),
    ("membership_share", {"segmnt": "both"}, "series(): unknown dimension 'segmnt'; did you mean 'segment'?"),
    ("membership_share", {"segment": "bothh"}, "series(): membership_share has no segment 'bothh'; give segment= one "
                                               "of both, none, prime_only, walmart_plus_only"),
    ("membership_share", {}, "series(): membership_share has no segment 'all'; give segment= one of both, none, "),
])
def test_a_series_the_results_do_not_hold_is_one_line_naming_what_they_hold(metric, dimensions, message) -> None:
    """A typo in a metric, a dimension or its value was an empty Series, read as 'no data'."""
    result = sim.run(TINY, seed=3)
    with pytest.raises(sim.UserError) as caught:
        result.series(metric, **dimensions)
    assert str(caught.value).startswith(message)


def test_numpy_whole_numbers_are_whole_numbers() -> None:
    """A period or a count read off a DataFrame is a numpy integer: taken as the number it is."""
    comparison = sim.compare(TINY, CHEAP, replicates=np.int64(1), period=(np.int64(2021), np.int64(2021)),
                             seed=np.int64(2))
    assert comparison.period == (2021, 2021) and len(comparison.seeds) == 1


def _deep(levels: int) -> dict:
    top = level = {}
    for _ in range(levels):
        level["amazon"] = {}
        level = level["amazon"]
    return top


@pytest.mark.parametrize("call", [
    lambda: sim.run(_deep(900), shoppers=20),
    lambda: sim.run(TINY, overrides={"amazon": _deep(2000)}),
    lambda: sim.compare(TINY, dict(_deep(2000), name="x")),
    lambda: sim.sweep({"name": "s", "base": "b.yaml", "set": {"a": _deep(2000)}}, workers=1)])
def test_a_dict_nested_too_deeply_is_one_line(call) -> None:
    """As a file's values are: over 40 levels is refused before anything walks it (it exhausted the stack)."""
    with pytest.raises(sim.ScenarioError, match="values are nested over 40 levels deep"):
        call()


def test_a_run_with_set_says_so_in_its_printout_manifest_and_report(tiny_yaml: Path, tmp_path: Path, capsys) -> None:
    """A baseline run with --set is not the baseline: the change is printed, recorded in the manifest and
    shown first in the report's header and in "About this run" (it showed only inside the resolved scenario)."""
    import json

    from sim.cli import main

    out = tmp_path / "run"
    assert main(["run", str(tiny_yaml), "--set", "walmart.walmart_plus.fee_annual=79", "--out", str(out), "--quiet"]) == 0
    assert "changed on the command line: --set walmart.walmart_plus.fee_annual=79" in capsys.readouterr().out
    assert json.loads((out / "manifest.json").read_text())["command_line_set"] == ["walmart.walmart_plus.fee_annual=79"]
    page = (out / "report.html").read_text()
    assert "Run with --set walmart.walmart_plus.fee_annual=79</strong>" in page
    assert "Changed on the command line</th><td>--set walmart.walmart_plus.fee_annual=79" in page
    assert main(["report", str(out)]) == 0 and "Run with --set" in (out / "report.html").read_text()
    assert main(["run", str(tiny_yaml), "--out", str(tmp_path / "plain"), "--quiet"]) == 0
    assert "Run with --set" not in (tmp_path / "plain" / "report.html").read_text()


def test_the_national_household_count_does_not_make_other_households() -> None:
    """population.households scales the sample to the nation; the households drawn are the same, so no warning."""
    import warnings

    projected = {**CHEAP, "population": {"shoppers": 300, "households": {"2035": 138_000_000}}}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sim.compare(TINY, projected, replicates=1, seed=3).names == ["tiny", "cheap"]
