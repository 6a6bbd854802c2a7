"""Reports: the numbers behind each chart equal the results, and the page renders in a real browser."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.cli import main
from sim.experiments import replicate_seeds, run_replicates
from sim.report import Ensemble, build_report
from sim.report.ensemble import LABELS
from sim.report.tables import difference_rows
from sim.results import load_set

from .browser import ARTIFACTS, offline_page
from .conftest import small

EVENT = {"date": "2021-09-06", "label": "Walmart+ fee cut to $59", "set": {"walmart.walmart_plus.fee_annual": 59}}


@pytest.fixture(scope="module")
def comparison() -> list[sim.Result]:
    base = small(name="base", population__shoppers=600, horizon__end="2022-06-27")
    cut = small(name="cut", population__shoppers=600, horizon__end="2022-06-27", events=[EVENT])
    return run_replicates([base, cut], replicate_seeds(3, 2))


@pytest.fixture(scope="module")
def report(comparison):
    return build_report(comparison)


def trace(figure, name: str, panel: int = 1):
    """The trace of a legend name in a panel (xaxis 'x', 'x2', ...)."""
    axis = "x" if panel == 1 else f"x{panel}"
    return next(t for t in figure.data if t.name == name and (t.xaxis or "x") == axis)


def test_spend_lines_are_the_replicate_means(report, comparison) -> None:
    figure = report.figures["spend-category"]
    for panel, category in enumerate(["grocery", "discretionary", "health", "all"], start=1):
        for scenario, name in (("base", "Amazon"), ("cut", "Amazon · cut")):
            runs = [r for r in comparison if r.scenario.name == scenario]
            expected = np.mean([r.series("spend_share", firm="amazon", category=category).to_numpy() for r in runs], axis=0)
            line = trace(figure, name, panel)
            assert np.allclose(line.y, 100 * expected, rtol=1e-6, atol=1e-5)
            assert line.x0 == str(runs[0].series("spend_share", firm="amazon").index[0].date())


@pytest.mark.filterwarnings("ignore::pandas.errors.PerformanceWarning")  # the reference lookups, past a missing label
def test_a_series_read_by_its_rows_is_the_pivot_of_its_labels(comparison) -> None:
    """``Ensemble.wide`` finds a series' rows by position: the same frame, to the bit, as looking its
    labels up in the pivoted table, weekly and monthly series alike (a monthly one drops the weeks it
    was not recorded), and an empty frame for labels no run recorded."""
    import dataclasses

    import pandas as pd

    # A series whose first three weeks are missing values in every run (rows that hold no number).
    runs = []
    for result in comparison:
        timeseries = result.timeseries.copy()
        gap = (timeseries["metric"] == "spend_share") & timeseries["date"].isin(timeseries["date"].unique()[:3])
        timeseries.loc[gap, "value"] = np.nan
        # and a series whose label is missing: it must not pass for the label the index lists last
        unlabelled = (timeseries["metric"] == "spend_share") & (timeseries["firm"] == "amazon")
        timeseries.loc[unlabelled & timeseries["date"].isin(timeseries["date"].unique()[:5]), "segment"] = np.nan
        runs.append(dataclasses.replace(result, timeseries=timeseries))
    ensemble = Ensemble(runs)
    series = ensemble._series
    keys = list(dict.fromkeys(key[:-1] for key in series.index))
    assert len(keys) > 500
    monthly = gaps = 0
    for key in keys:
        expected = series.loc[key].dropna(how="all").reindex(columns=ensemble.columns)
        actual = ensemble.wide(key[0], **dict(zip(("firm", "category", "locale", "segment"), key[1:])))
        pd.testing.assert_frame_equal(actual, expected, check_exact=True)
        monthly += len(actual) < len(ensemble._series_dates.unique())
        gaps += key[0] == "spend_share" and len(actual) < len(series.loc[key])
    assert monthly > 0 and gaps > 0
    assert ensemble.wide("no_such_metric").empty
    last = series.index.levels[LABELS.index("segment")][-1]
    assert not ((series.index.get_level_values("metric") == "spend_share")
                & (series.index.get_level_values("firm") == "amazon")
                & (series.index.get_level_values("segment") == last)).any()
    assert ensemble.wide("spend_share", firm="amazon", segment=last).empty


def test_band_edges_are_the_5th_and_95th_percentiles(report, comparison) -> None:
    figure = report.figures["memberships"]
    runs = [r.series("membership_share", segment="both").to_numpy() for r in comparison if r.scenario.name == "base"]
    band = [t for t in figure.data if t.legendgroup == "Both" and t.meta == "base" and t.name is None]
    assert len(band) == 2
    assert np.allclose(band[0].y, 100 * np.quantile(runs, 0.95, axis=0), atol=1e-5)
    assert np.allclose(band[1].y, 100 * np.quantile(runs, 0.05, axis=0), atol=1e-5)


def test_single_run_lines_equal_the_results_exactly() -> None:
    result = sim.run(small(population__shoppers=300), seed=5)
    figure = build_report([result]).figures["delivery"]
    line = trace(figure, "Walmart express (<3 h)", panel=3)
    assert np.allclose(line.y, 100 * result.series("walmart_express_coverage", locale="rural").to_numpy(), atol=1e-5)
    assert len([t for t in figure.data if t.fill == "tonexty"]) == 0, "one replicate: no band"


def test_map_tiles_hold_the_state_values(report, comparison) -> None:
    figure = report.figures["map"]
    heat = figure.data[0]
    assert heat.name == "Walmart's share of grocery spend · base"
    states = Ensemble(comparison).state_values("spend_share", firm="walmart", category="grocery")
    row, col = 7, 4  # Texas on the tile grid
    assert heat.z[row][col] == pytest.approx(round(100 * states.loc["TX", "base"], 4))
    assert "TX" in heat.text[row][col]
    assert sum(t.visible for t in figure.data) == 1 and len(figure.layout.updatemenus[0].buttons) == len(figure.data)


def test_difference_table_is_the_paired_difference(comparison) -> None:
    rows = difference_rows(Ensemble(comparison))
    row = next(r for r in rows if r["measure"] == "Walmart+ households")
    base = [r.series("walmart_plus_share").iloc[-1] for r in comparison if r.scenario.name == "base"]
    cut = [r.series("walmart_plus_share").iloc[-1] for r in comparison if r.scenario.name == "cut"]
    differences = 100 * (np.array(cut) - np.array(base))
    assert row["mean"] == pytest.approx(differences.mean())
    assert row["low"] < row["mean"] < row["high"]
    assert row["mean"] > 0, "a $59 Walmart+ fee raises Walmart+ membership"


def test_profit_bridge_adds_up(report) -> None:
    for waterfall in report.figures["bridge"].data:
        values = waterfall.x if waterfall.orientation == "h" else waterfall.y  # bars run across
        steps, total = np.array(values[:-1]), values[-1]
        assert steps.sum() == pytest.approx(total, abs=1e-4)


def test_events_are_marked_on_every_time_chart(report) -> None:
    for key in ("spend-category", "spend-locale", "channels", "memberships", "delivery", "economics", "differences"):
        figure = report.figures[key]
        labels = [a.hovertext for a in figure.layout.annotations]  # the number's full label
        assert "Walmart+ fee cut to $59 (cut)" in labels, key
        assert any(shape.x0 == "2021-09-06" for shape in figure.layout.shapes), key


def test_every_figure_has_a_title_and_axis_units(report) -> None:
    for key, figure in report.figures.items():
        assert figure.layout.title.text, key
        if key != "map":  # the value axis carries the unit (the y axis; the x axis where bars run across)
            value_axis = figure.layout.xaxis if key == "bridge" else figure.layout.yaxis
            assert re.search(r"\(|\$|%", value_axis.title.text or ""), f"{key}: value axis without unit"


def test_baseline_report_stays_under_10_mb(tmp_path: Path) -> None:
    """Size depends on the horizon, not the number of households: a small full-horizon baseline is enough."""
    result = sim.run("scenarios/baseline.yaml", shoppers=500)
    path = build_report([result]).write(tmp_path / "report.html")
    assert path.stat().st_size < 10_000_000
    assert "cdn" not in path.read_text(encoding="utf-8")[:2000].lower()


def test_report_renders_offline_in_a_real_browser(report, tmp_path: Path) -> None:
    path = report.write(tmp_path / "report.html")
    with offline_page() as page:
        page.goto(path.as_uri())
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot svg.main-svg').length >= 9")
        rendered = page.evaluate("""Array.from(document.querySelectorAll('.js-plotly-plot')).map(d => ({
            id: d.id, svgs: d.querySelectorAll('svg.main-svg').length,
            drawn: d.querySelectorAll('path.js-line, g.hm image, g.point').length}))""")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        assert page.errors == []
    assert {figure["id"] for figure in rendered} == {f"figure-{key}" for key in report.figures}
    for figure in rendered:
        assert figure["svgs"] > 0 and figure["drawn"] > 0, figure


def test_cli_run_with_replicates_then_report_runs_nothing(tiny_yaml: Path, tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "out"
    assert main(["run", str(tiny_yaml), "--replicates", "2", "--out", str(out), "--quiet"]) == 0
    runs = load_set(out)
    assert [r.seed for r in runs] == replicate_seeds(runs[0].scenario.seed, 2)
    first = (out / "report.html").stat().st_mtime_ns
    def refuse(*_args, **_kwargs):
        raise AssertionError("report must not run the model")

    monkeypatch.setattr("sim.model.market.RetailMarket.run_model", refuse)
    assert main(["report", str(out)]) == 0
    assert (out / "report.html").stat().st_mtime_ns >= first


def test_cli_compare_writes_runs_report_and_manifest(tiny_yaml: Path, tmp_path: Path) -> None:
    what_if = tmp_path / "cut.yaml"
    what_if.write_text(f"extends: {tiny_yaml.name}\nname: cut\nwalmart: {{walmart_plus: {{fee_annual: 49}}}}\n")
    out = tmp_path / "cmp"
    assert main(["compare", str(tiny_yaml), str(what_if), "--replicates", "2", "--out", str(out), "--quiet"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["baseline"] == "tiny" and manifest["what_ifs"] == ["cut"] and len(manifest["seeds"]) == 2
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["cut", "tiny"]
    assert (out / "report.html").stat().st_size > 1_000_000


def test_compare_refuses_two_scenarios_with_one_name(tiny_yaml: Path, tmp_path: Path, capsys) -> None:
    assert main(["compare", str(tiny_yaml), str(tiny_yaml), "--out", str(tmp_path / "x"), "--quiet"]) == 2
    assert "scenario names must differ" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_report_on_a_folder_that_is_not_results(tmp_path: Path, capsys) -> None:
    assert main(["report", str(tmp_path)]) == 2
    assert "not a results folder" in capsys.readouterr().err


def test_a_missed_check_in_dollars_reads_in_billions() -> None:
    """The "Read with care" line of a check on a money metric (online_spend) gives dollars in
    billions, a share's in percent and points."""
    from sim.jobs.targets import load_targets
    from sim.report.notes import _shown
    checks = {check.id: check for check in load_targets(Path(sim.__file__).parent.parent / "calibration/checks.yaml")}
    assert _shown(checks["online_spend_2021"], 9.76e11) == (
        "model $976bn, published $884bn (tolerance ±$90bn; low confidence)")
    assert _shown(checks["amazon_share_of_ecommerce_2023"], 0.48).startswith("model 48.0%, published 39.5% (tolerance ±6 pts")


@pytest.mark.parametrize("name", ["plotly_white", "plotly", "simple_white"])
def test_a_shipped_template_read_from_its_file_is_the_validated_one(name: str) -> None:
    """The report reads Plotly's templates from the JSON Plotly ships them in, not through a validated
    figure (0.1 s): the same dict, to the value."""
    from sim.report import plain

    assert plain._template(name) == plain.validated_template(name)


def test_money_over_fewer_weeks_than_its_label_says_is_labelled_as_summed() -> None:
    """A horizon of 17 weeks sums 17 weeks of profit, not 52; a year the weeks cover in part says so."""
    from sim.report.tables import HEADLINE, period_unit, unit_of

    base = small(name="base", population__shoppers=200, horizon__end="2021-04-26")
    cut = small(name="cut", population__shoppers=200, horizon__end="2021-04-26", walmart__walmart_plus__fee_annual=49)
    ensemble = Ensemble(run_replicates([base, cut], [1]))
    profit = next(measure for measure in HEADLINE if measure.last_year_sum)
    assert ensemble.weeks == 17 and unit_of(ensemble, profit) == "$bn, last 17 weeks"
    assert ensemble.partial((2021, 2021)) == " (to 2021-04-26)"
    assert period_unit(profit, (2021, 2021), ensemble.partial((2021, 2021))) == "$bn, 2021 (to 2021-04-26) total"
    rows = difference_rows(ensemble, (2021, 2021))
    assert {row["unit"] for row in rows if row["measure"].endswith("operating profit")} == {"$bn, 2021 (to 2021-04-26) total"}
    page = build_report(ensemble.results).html()
    assert "last 17 weeks" in page
    # The map says how few households a small state holds (at the default 20,000, Wyoming about 35).
    assert "the smallest hold few (Wyoming under one of these runs' 200)" in page


def test_a_state_far_beyond_the_rest_does_not_wash_the_difference_map_out() -> None:
    """One household in DC moved it nine points at 3,000 households: the colours cap at the 90th percentile
    and the colour bar says so; an even spread keeps the full scale."""
    from sim.report.tilemap import _difference_colours

    spread = {f"S{k}": 0.1 * (k % 5 - 2) for k in range(50)}
    assert "zmax" not in _difference_colours(spread)
    capped = _difference_colours({**spread, "DC": 9.3})
    assert capped["zmin"] == -capped["zmax"] and capped["zmax"] < 1
    assert "capped" in capped["colorbar"]["title"]["text"]


def test_a_what_if_that_starts_later_is_compared_over_the_weeks_both_record() -> None:
    """A baseline of a year against a what-if of 10 weeks: the money differences sum the same 10 weeks of
    each (the baseline's 52 against the what-if's 10 read as a loss of tens of billions), and a year's
    mean or total starts where both do."""
    from sim.report.tables import HEADLINE, unit_of

    base = small(name="base", population__shoppers=200, horizon__start="2021-01-04", horizon__end="2021-12-27")
    late = small(name="late", population__shoppers=200, horizon__start="2021-10-25", horizon__end="2021-12-27")
    ensemble = Ensemble(run_replicates([base, late], [1]))
    profit = next(measure for measure in HEADLINE if measure.last_year_sum)
    assert ensemble.weeks == 10 and unit_of(ensemble, profit) == "$bn, last 10 weeks"
    sums = ensemble.at_end("operating_profit", scale=1e-9, last_year_sum=True, firm="walmart")
    assert sums.loc["late"].iloc[0] == pytest.approx(sums.loc["base"].iloc[0], rel=0.5)  # like with like
    assert ensemble.partial((2021, 2021)) == " (from 2021-10-25)"
    assert ensemble.years == [2021]


def test_a_difference_and_its_interval_are_written_to_one_precision_that_shows_the_width() -> None:
    """Each number was rounded on its own: -0.0046 [-0.0055, -0.0037] read "-0.0046 [-0.01, -0.0037]",
    0.024 [0.022, 0.026] "0.02 [0.02, 0.03]", a narrow interval "0.05 [0.05, 0.05]", and a year's
    difference "3.3e-05". Now: two significant figures of the width (at least the mean's where the
    interval excludes zero), in the report's table, its year-by-year table and the printed table alike."""
    import pandas as pd

    from sim.comparison import format_differences
    from sim.report.tables import _mean_cell, _year_cells

    cases = [((-0.0046, -0.0055, -0.0037), "-0.0046 [-0.0055, -0.0037]"),
             ((0.024, 0.022, 0.026), "0.0240 [0.0220, 0.0260]"),
             ((0.0483, 0.0461, 0.0505), "0.0483 [0.0461, 0.0505]"),
             ((-0.0046, -0.0098, 0.00019), "-0.0046 [-0.0098, 0.0002]"),
             ((-3.04, -4.53, -1.54), "-3.0 [-4.5, -1.5]"),
             ((-7.6e-06, -0.01, 0.01), "0.000 [-0.010, 0.010]")]
    for (mean, low, high), shown in cases:
        row = {"measure": "A share", "unit": "%", "scenario": "w", "mean": mean, "low": low, "high": high}
        assert re.sub("<[^>]+>", "", _mean_cell(row)[0]) == shown
        (printed,) = [line for line in format_differences(pd.DataFrame([{**row, "baseline": "b", "significant":
                      low > 0 or high < 0}])) if line.startswith("  A share")]
        assert printed.rstrip(" *").endswith(" " + shown)
    # A year's row: one precision, never scientific notation; under it, said to be under it; none is 0.00.
    years = [{"unit": "%", "mean": mean, "low": mean - 1e-5, "high": mean + 1e-5} for mean in (0.0, 3.3e-05, -2e-4, 0.0204)]
    assert re.findall(">([^<]*)</td>", _year_cells(years)) == ["0.000", "&lt;0.001", "&gt;-0.001", "0.020"]
    assert _year_cells(years[1:2]) == '<td class="sig">0.000033</td>'


def test_the_headline_changes_of_a_what_if_are_written_to_one_precision(report) -> None:
    """The change column read "+0.03 pts", "+0.1 pts" and "+0.0 pts" side by side."""
    changes = re.findall(r'<span class="delta">\(([+-])\$?([\d,.]+)(?:bn| pts)\)</span>', report.html())
    assert len(changes) == 12  # four firms' shares and profits, four memberships
    assert {len(number.split(".")[1]) for _, number in changes} == {2}
    assert all(sign == "+" for sign, number in changes if float(number) == 0)  # zero at that precision: +0.00


def test_with_a_period_the_answer_and_the_headline_say_which_is_which(comparison) -> None:
    """With --period the first line said "Walmart operating profit -$0.8bn in all" (2027-2030) above a
    headline change of "(+$0.2bn)" (the last 52 weeks), under the caption "At the end of the horizon":
    now a profit over a period says its years, and the headline says it is not the period's."""
    from sim.report.tables import _in_words

    page = build_report(comparison, (2021, 2022)).html()
    assert "<small>(change at the horizon's end, not over 2021-2022)</small>" in page
    assert "These are the horizon's end: shares in its last week, profit over its last 52 weeks." in page
    assert "so the two can differ, even in sign" in page
    profit = {"measure": "Walmart operating profit", "unit": "$bn, 2027-2030 total", "mean": -0.8}
    assert _in_words(profit) == "Walmart operating profit -$0.80bn in total over 2027-2030"
    plain = build_report(comparison).html()  # no period: one basis, nothing to tell apart
    assert "not over" not in plain and "even in sign" not in plain
