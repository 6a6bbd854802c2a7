"""Exports and the differences table: ``retailsim export``, ``compare``'s differences.csv, and
``validate`` on scenario and sweep files alike."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.cli import main
from sim.report.ensemble import Ensemble
from sim.report.numbers import difference
from sim.report.tables import DIFFERENCES, difference_rows, points
from sim.results import load_set

CHEAP = ("name: cheap\nextends: tiny.yaml\nwalmart: {walmart_plus: {fee_annual: 49}}\n")


@pytest.fixture(scope="module")
def comparison(tmp_path_factory) -> tuple[Path, str]:
    """A tiny comparison (two scenarios, three replicates), written once by the command line."""
    folder = tmp_path_factory.mktemp("cmp")
    (folder / "tiny.yaml").write_text(
        "name: tiny\npopulation: {shoppers: 300}\nhorizon: {start: 2021-01-04, end: 2021-04-26, warmup_weeks: 2}\n")
    (folder / "cheap.yaml").write_text(CHEAP)
    capture = folder / "printed.txt"
    stdout = sys.stdout
    with capture.open("w") as sys.stdout:
        code = main(["compare", str(folder / "tiny.yaml"), str(folder / "cheap.yaml"), "--replicates", "3",
                     "--quiet", "--out", str(folder / "out")])
    sys.stdout = stdout
    assert code == 0
    return folder / "out", capture.read_text()


def test_compare_writes_and_prints_the_reports_differences(comparison) -> None:
    out, printed = comparison
    table = pd.read_csv(out / "differences.csv")
    assert list(table.columns) == ["measure", "unit", "baseline", "scenario", "mean", "low", "high", "significant"]
    assert len(table) == len(DIFFERENCES) == 17  # Kroger has its share and its profit
    assert set(table["baseline"]) == {"tiny"} and set(table["scenario"]) == {"cheap"}
    rows = pd.DataFrame(difference_rows(Ensemble(load_set(out))))  # the report's own numbers
    rows["unit"] = rows["unit"].map(points)  # differences of shares are in points, as the report prints them
    assert set(table["unit"]) == {"pts", "pts of households", "$bn, last 17 weeks", "$ per household per week"}
    pd.testing.assert_frame_equal(table[["measure", "unit", "scenario", "mean", "low", "high"]], rows,
                                  check_exact=False, rtol=1e-12)
    assert (table["significant"] == ((table["low"] > 0) | (table["high"] < 0))).all()
    walmart_plus = table.set_index("measure").loc["Walmart+ households"]
    assert walmart_plus["mean"] > 0
    assert "differences at the end of the horizon (mean [90% interval], * excludes zero):" in printed
    assert "cheap - tiny" in printed
    line = next(text for text in printed.splitlines() if "Walmart+ households (pts)" in text)
    assert difference(walmart_plus["mean"], walmart_plus["low"], walmart_plus["high"])[0] in line  # the report's cell
    assert f"differences: {out / 'differences.csv'}" in printed
    # The answer in words comes first, and the report's header carries it too.
    answer = next(text for text in printed.splitlines() if text.startswith("cheap against tiny, at the end of the horizon: "))
    assert f"Walmart+ households {walmart_plus['mean']:+.1f} pts" in answer
    report = (out / "report.html").read_text(encoding="utf-8")
    assert '<strong class="answer">cheap against tiny, by 2021: ' in report
    assert sorted(p.name for p in out.iterdir()) == ["differences.csv", "differences_by_year.csv", "manifest.json",
                                                     "report.html", "runs"]


def test_a_comparison_folder_with_its_differences_can_be_replaced(comparison, tmp_path: Path) -> None:
    import shutil

    out = shutil.copytree(comparison[0], tmp_path / "out")
    assert main(["compare", str(comparison[0].parent / "tiny.yaml"), str(comparison[0].parent / "cheap.yaml"),
                 "--replicates", "1", "--quiet", "--shoppers", "100", "--out", str(out)]) == 0
    table = pd.read_csv(out / "differences.csv")
    assert table["low"].isna().all(), "one replicate: no interval"


def test_csv_export_of_a_comparison(comparison, tmp_path: Path, capsys) -> None:
    out, _ = comparison
    target = tmp_path / "csv"
    assert main(["export", str(out), "--out", str(target)]) == 0
    assert capsys.readouterr().out.strip() == f"csv: {target}"
    assert sorted(p.name for p in target.iterdir()) == ["differences.csv", "differences_by_year.csv", "manifest.json",
                                                        "summary.csv", "timeseries.csv", "units.csv"]
    results = load_set(out)
    series = pd.read_csv(target / "timeseries.csv")
    assert list(series.columns) == ["scenario", "seed", "date", "metric", "firm", "category", "locale", "segment",
                                    "value"]
    assert len(series) == sum(len(r.timeseries) for r in results)
    first = results[0].timeseries
    assert series["date"].iloc[0] == pd.Timestamp(first["date"].iloc[0]).date().isoformat()
    assert series["value"].iloc[:len(first)].tolist() == first["value"].tolist()  # full precision
    summary = pd.read_csv(target / "summary.csv")
    assert list(summary.columns) == ["scenario", "seed", "end_date", "figure", "part", "value", "unit"]
    assert set(summary.query("figure == 'prime_share'")["unit"]) == {"share (0-1)"}
    units = pd.read_csv(target / "units.csv").set_index("metric")["unit"]
    assert set(series["metric"]) <= set(units.index), "every metric exported has its unit"
    assert units["operating_profit"] == "US$ a week, national, constant 2024 dollars" and units["spend_share"] == "share (0-1)"
    row = summary.query("scenario == 'tiny' and figure == 'prime_share'").iloc[0]
    assert row["part"] == "all" and row["value"] == pytest.approx(results[0].summary["prime_share"], abs=1e-15)
    pd.testing.assert_frame_equal(pd.read_csv(target / "differences.csv"), pd.read_csv(out / "differences.csv"))
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["written_by"] == "retailsim" and manifest["kind"] == "export"
    assert main(["export", str(out), "--out", str(target)]) == 0, "an earlier export is replaced"
    assert capsys.readouterr().err == ""  # every table fits a spreadsheet


def test_a_csv_longer_than_a_spreadsheet_opens_is_said(comparison, tmp_path: Path, capsys, monkeypatch) -> None:
    """A default-size comparison's time series runs past a sheet's 1,048,576 rows: the export says so."""
    import sim.export

    out, _ = comparison
    rows = sum(len(r.timeseries) for r in load_set(out))
    monkeypatch.setattr(sim.export, "SHEET_ROWS", rows)
    assert main(["export", str(out), "--out", str(tmp_path / "csv")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"retailsim: warning: timeseries.csv holds {rows:,} rows, more than "
                                               f"a spreadsheet opens ({rows:,})")


def test_xlsx_export_has_a_sheet_a_table(comparison, tmp_path: Path) -> None:
    import openpyxl

    out, _ = comparison
    target = tmp_path / "cmp.xlsx"
    assert main(["export", str(out), "--format", "xlsx", "--out", str(target)]) == 0
    book = openpyxl.load_workbook(target, read_only=True)
    assert book.sheetnames == ["timeseries", "summary", "units", "differences", "differences_by_year"]
    sheet = [[cell for cell in row] for row in book["differences"].iter_rows(values_only=True)]
    csv = pd.read_csv(out / "differences.csv")
    assert list(sheet[0]) == list(csv.columns) and len(sheet) == len(csv) + 1
    assert [row[4] for row in sheet[1:]] == pytest.approx(csv["mean"].tolist(), rel=1e-12)
    series = list(book["timeseries"].iter_rows(values_only=True))
    assert series[0] == ("scenario", "date", "metric", "firm", "category", "locale", "segment", "value", "replicates",
                         "unit")
    assert {row[5] for row in series[1:]} == {"all"} and {row[8] for row in series[1:]} == {3}
    book.close()
    assert main(["export", str(out), "--format", "xlsx", "--out", str(target)]) == 0, "its own file is replaced"


def test_a_run_exports_without_differences_and_beside_itself_by_default(tiny_yaml: Path, tmp_path: Path) -> None:
    results = tmp_path / "baseline"
    assert main(["run", str(tiny_yaml), "--out", str(results), "--quiet", "--no-report"]) == 0
    assert main(["export", str(results)]) == 0
    assert sorted(p.name for p in (tmp_path / "baseline-csv").iterdir()) == ["manifest.json", "summary.csv",
                                                                           "timeseries.csv", "units.csv"]
    assert main(["export", str(results), "--format", "xlsx"]) == 0
    assert (tmp_path / "baseline.xlsx").is_file()


REFUSALS = [
    (["--out", "{tmp}/notes"], "--out {tmp}/notes: exists and was not written by retailsim"),
    (["--format", "xlsx", "--out", "{tmp}/mine.xlsx"], "--out {tmp}/mine.xlsx: exists and was not written by "
                                                          "retailsim export; retailsim replaces only its own files"),
    (["--format", "xlsx", "--out", "{tmp}/book.csv"], "--out {tmp}/book.csv: a spreadsheet's name ends in .xlsx"),
    (["--out", "{results}"], "--out {results}: is inside the results folder {results}"),
    (["--format", "xlsx", "--out", "{results}/runs.xlsx"], "--out {results}/runs.xlsx: is inside the results folder"),
]


@pytest.mark.parametrize("options, message", REFUSALS)
def test_export_never_overwrites_what_retailsim_did_not_write(comparison, tmp_path: Path, capsys, options,
                                                              message) -> None:
    out, _ = comparison
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "mine.txt").write_text("keep")
    (tmp_path / "mine.xlsx").write_text("not a spreadsheet of ours")
    fill = {"tmp": tmp_path, "results": out}
    assert main(["export", str(out), *(o.format(**fill) for o in options)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("retailsim: error: " + message.format(**fill)) and err.count("\n") == 1
    assert (tmp_path / "notes" / "mine.txt").read_text() == "keep"
    assert (tmp_path / "mine.xlsx").read_text() == "not a spreadsheet of ours"


def test_export_of_a_folder_that_is_not_results(tmp_path: Path, capsys) -> None:
    assert main(["export", str(tmp_path)]) == 2
    assert "not a results folder written by retailsim run or compare" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [["export"], ["report"], ["discover", "--where", "x > 1"]])
def test_a_damaged_manifest_is_named_as_damaged_not_missing(tmp_path: Path, capsys, command) -> None:
    (tmp_path / "manifest.json").write_text('{"written_by": "retai')
    assert main([command[0], str(tmp_path), *command[1:]]) == 2
    assert "its manifest.json is damaged (not a readable JSON object)" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


@pytest.mark.parametrize("damage, problem", [
    (lambda table: table.assign(value=table["value"].astype(str)), "its value column does not hold numbers"),
    (lambda table: table.assign(date=table["date"].astype(str)), "its date column does not hold dates"),
    (lambda table: table.iloc[:0], "it has no rows")])
def test_a_time_series_of_the_wrong_kind_is_one_line(tiny_yaml: Path, tmp_path: Path, capsys, damage, problem) -> None:
    """Right columns, wrong contents (edited by hand, written by another tool): one line, not a traceback."""
    run = tmp_path / "run"
    assert main(["run", str(tiny_yaml), "--out", str(run), "--quiet", "--no-report"]) == 0
    path = run / "timeseries.parquet"
    damage(pd.read_parquet(path)).to_parquet(path)
    for command in (["report", str(run)], ["export", str(run), "--out", str(tmp_path / "x")]):
        capsys.readouterr()
        assert main(command) == 2
        err = capsys.readouterr().err
        assert f"timeseries.parquet is not a run's time series: {problem}" in err and err.count("\n") == 1
    assert not (tmp_path / "x").exists()


def test_csv_needs_no_openpyxl(comparison, tmp_path: Path, monkeypatch, capsys) -> None:
    out, _ = comparison
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # as if it were not installed
    assert main(["export", str(out), "--out", str(tmp_path / "csv")]) == 0
    assert main(["export", str(out), "--format", "xlsx", "--out", str(tmp_path / "b.xlsx")]) == 2
    assert "--format xlsx needs openpyxl, which is not installed: pip install openpyxl==3.1.5" in capsys.readouterr().err
    assert not (tmp_path / "b.xlsx").exists()


SWEEP = """name: fees
base: tiny.yaml
design: grid
parameters:
  walmart.walmart_plus.fee_annual: {values: [49, 99]}
outcomes:
  both: {metric: membership_share, segment: both, at: 2021-04-26}
"""


def test_validate_checks_scenarios_and_sweeps_and_reports_every_bad_file(tiny_yaml: Path, capsys) -> None:
    folder = tiny_yaml.parent
    (folder / "sweep.yaml").write_text(SWEEP)
    (folder / "bad_sweep.yaml").write_text(SWEEP.replace("values: [49, 99]", "values: [49, -5]"))
    (folder / "bad.yaml").write_text("name: bad\npopulation: {shopers: 3}\n")
    files = [folder / name for name in ("bad.yaml", "sweep.yaml", "tiny.yaml", "bad_sweep.yaml", "none.yaml")]
    assert main(["validate", *map(str, files)]) == 2
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        f"{folder / 'sweep.yaml'}: ok (sweep fees: grid, 2 points x 1 replicate(s) = 2 runs over tiny)",
        f"{folder / 'tiny.yaml'}: ok (tiny, 1 events)",
    ]
    errors = [line for line in captured.err.splitlines() if not line.startswith("retailsim: warning: ")]
    assert len(errors) == 3 and all(line.startswith("retailsim: error: ") for line in errors)
    # tiny.yaml's own event sets the swept fee in March: the valid sweep is said to vary it only until then
    assert (f"retailsim: warning: {folder / 'sweep.yaml'}: parameter walmart.walmart_plus.fee_annual holds only "
            "until 2021-03-01") in captured.err
    assert "population.shopers: unknown key 'shopers'" in errors[0]
    assert "parameters.walmart.walmart_plus.fee_annual: -5 is not valid here" in errors[1]
    assert "none.yaml: file not found" in errors[2]


def test_differences_over_a_period_and_year_by_year(tmp_path, capsys) -> None:
    """Over a period, a share's difference is the mean over its weeks of the paired differences and
    profit's is their total; year by year, each year's; and a period outside the horizon is refused
    before any run."""
    import numpy as np

    import sim
    from sim.comparison import DIFFERENCES_BY_YEAR

    tiny = {"name": "tiny", "population": {"shoppers": 300}, "horizon": {"start": "2021-01-04", "end": "2022-03-28",
                                                                           "warmup_weeks": 2}}
    cheap = {**tiny, "name": "cheap", "walmart": {"walmart_plus": {"fee_annual": 49}}}
    comparison = sim.compare(tiny, cheap, replicates=2, period=(2021, 2021))
    table = comparison.differences.set_index("measure")
    row = table.loc["Walmart+ households"]
    assert row["unit"] == "pts, mean 2021"  # a difference of shares, in percentage points
    by_hand = []
    for seed in comparison.seeds:
        series = {r.scenario.name: r.series("walmart_plus_share")["2021"] for r in comparison.results if r.seed == seed}
        by_hand.append(100 * (series["cheap"] - series["tiny"]).mean())
    assert row["mean"] == pytest.approx(np.mean(by_hand), rel=1e-12)
    profit = table.loc["Walmart operating profit"]
    assert profit["unit"] == "$bn, 2021 total"
    totals = [sum(sign * r.series("operating_profit", firm="walmart")["2021"].sum() / 1e9
                  for r, sign in ((r, 1 if r.scenario.name == "cheap" else -1) for r in comparison.results
                                  if r.seed == seed)) for seed in comparison.seeds]
    assert profit["mean"] == pytest.approx(np.mean(totals), rel=1e-9)
    yearly = comparison.by_year
    assert sorted(yearly["year"].unique()) == [2021, 2022]
    same = yearly[(yearly["year"] == 2021)].set_index("measure")
    assert same.loc["Walmart+ households", "mean"] == pytest.approx(row["mean"], rel=1e-12)
    folder = comparison.save(tmp_path / "cmp")
    assert pd.read_csv(folder / DIFFERENCES_BY_YEAR).shape == (len(yearly), len(yearly.columns))
    assert json.loads((folder / "manifest.json").read_text())["period"] == [2021, 2021]
    assert "over 2021" in (folder / "report.html").read_text(encoding="utf-8")
    # Exported, the differences are the comparison's own, over its period (from the folder's manifest).
    from sim.export import export, tables

    exported = export(folder, "csv", tmp_path / "cmp-csv")
    pd.testing.assert_frame_equal(pd.read_csv(exported / "differences.csv"), pd.read_csv(folder / "differences.csv"))
    pd.testing.assert_frame_equal(tables(comparison.results, period=comparison.period)["differences"],
                                  comparison.differences)
    # Outside the recorded years: one line, nothing run or written.
    (tmp_path / "tiny.yaml").write_text(json.dumps(tiny))
    (tmp_path / "cheap.yaml").write_text(json.dumps(cheap))
    with pytest.raises(sim.UserError, match="period 2024-2025: the scenarios record 2021 to 2022"):
        sim.compare(tmp_path / "tiny.yaml", tmp_path / "cheap.yaml", period=(2024, 2025))
    with pytest.raises(sim.UserError, match="period 2022-2021: the first year comes after the last; give them in "
                                            "order, e.g. 2021-2022"):
        sim.compare(tmp_path / "tiny.yaml", tmp_path / "cheap.yaml", period=(2022, 2021))
    assert main(["compare", str(tmp_path / "tiny.yaml"), str(tmp_path / "cheap.yaml"), "--period", "2024-2025",
                 "--out", str(tmp_path / "never")]) == 2
    assert not (tmp_path / "never").exists()
    assert main(["compare", str(tmp_path / "tiny.yaml"), str(tmp_path / "cheap.yaml"), "--period", "2026-2024"]) == 2
    # A period edited in the folder's manifest is checked as --period is (it gave empty differences).
    manifest = json.loads((folder / "manifest.json").read_text())
    for period, words in (([2022, 2021], "period 2022-2021: the first year comes after the last"),
                          ([2040, 2041], "period 2040-2041: the scenarios record 2021 to 2022")):
        (folder / "manifest.json").write_text(json.dumps({**manifest, "period": period}))
        for command in (["report", str(folder)], ["export", str(folder), "--out", str(tmp_path / "edited")]):
            assert main(command) == 2
            assert f"not a usable results folder: its manifest.json has a {words}" in capsys.readouterr().err
            assert json.loads((folder / "manifest.json").read_text())["files"] == manifest["files"], "left as it was"
    assert not (tmp_path / "edited").exists()


def test_a_users_file_under_one_of_retailsims_names_is_never_replaced(comparison, tiny_yaml: Path, tmp_path: Path,
                                                                       capsys) -> None:
    """A folder's manifest records the files retailsim wrote there; a user's file that merely bears one
    of retailsim's names (differences.csv in a run's folder, a report.html in a folder run without
    one, a sheet added to an exported workbook) is refused, not deleted."""
    import openpyxl

    run = tmp_path / "run"
    assert main(["run", str(tiny_yaml), "--out", str(run), "--quiet", "--no-report"]) == 0
    assert json.loads((run / "manifest.json").read_text())["files"] == ["manifest.json", "summary.json",
                                                                         "timeseries.parquet"]
    (run / "differences.csv").write_text("mine")
    capsys.readouterr()
    assert main(["run", str(tiny_yaml), "--out", str(run), "--quiet"]) == 2
    assert "holds differences.csv, which retailsim did not write" in capsys.readouterr().err
    (run / "differences.csv").unlink()
    (run / "report.html").write_text("my own notes")
    assert main(["report", str(run)]) == 2
    assert "holds a report.html that retailsim did not write" in capsys.readouterr().err
    assert (run / "report.html").read_text() == "my own notes"
    (run / "report.html").unlink()
    assert main(["report", str(run)]) == 0, "a report retailsim writes into the folder is recorded as its own"
    assert main(["report", str(run)]) == 0 and "report.html" in json.loads((run / "manifest.json").read_text())["files"]

    # A folder written before manifests recorded their files: judged by the names retailsim wrote then,
    # which never included answers.csv (a user's, there).
    legacy = json.loads((run / "manifest.json").read_text())
    del legacy["files"]
    (run / "manifest.json").write_text(json.dumps(legacy))
    (run / "answers.csv").write_text("mine")
    assert main(["run", str(tiny_yaml), "--out", str(run), "--quiet", "--no-report"]) == 2
    assert (run / "answers.csv").read_text() == "mine"
    (run / "answers.csv").unlink()

    out, _ = comparison
    # A user's answers.csv in a comparison run without the rivals' answer is never read as one.
    import shutil

    mine = shutil.copytree(out, tmp_path / "mine")
    (mine / "answers.csv").write_text("note,text\n1,my own notes\n")
    assert main(["report", str(mine)]) == 0, "the user's file is not read (it raised KeyError: 'scenario')"
    assert main(["export", str(mine), "--out", str(tmp_path / "mine-csv")]) == 0
    assert not (tmp_path / "mine-csv" / "answers.csv").exists()
    exported = tmp_path / "csv"
    assert main(["export", str(run), "--out", str(exported)]) == 0
    (exported / "differences.csv").write_text("mine")  # a run's export has no differences: the name is free
    capsys.readouterr()
    assert main(["export", str(run), "--out", str(exported)]) == 2
    assert (exported / "differences.csv").read_text() == "mine"
    book = tmp_path / "book.xlsx"
    assert main(["export", str(out), "--format", "xlsx", "--out", str(book)]) == 0
    assert main(["export", str(out), "--format", "xlsx", "--out", str(book)]) == 0
    assert capsys.readouterr().out == f"xlsx: {book}\nreplaced: the earlier export {book}\nxlsx: {book}\n"
    workbook = openpyxl.load_workbook(book)
    workbook["summary"]["A2"] = "my note"  # an edit inside one of retailsim's own sheets
    workbook.save(book)
    assert main(["export", str(out), "--format", "xlsx", "--out", str(book)]) == 2
    assert "cannot be shown unchanged since retailsim exported it" in capsys.readouterr().err
    assert openpyxl.load_workbook(book, read_only=True)["summary"]["A2"].value == "my note"
    # A killed earlier export left its temporary file: a dead process's is removed, a live one's kept,
    # and nothing else beside it is touched.
    (tmp_path / ".fresh.xlsx.tmp-999999999").write_bytes(b"half a workbook")
    (tmp_path / f".fresh.xlsx.tmp-{os.getppid()}").write_bytes(b"a live process's")
    (tmp_path / ".other.xlsx.tmp-999999999").write_bytes(b"another file's")
    assert main(["export", str(out), "--format", "xlsx", "--out", str(tmp_path / "fresh.xlsx")]) == 0
    assert not (tmp_path / ".fresh.xlsx.tmp-999999999").exists()
    assert (tmp_path / f".fresh.xlsx.tmp-{os.getppid()}").exists() and (tmp_path / ".other.xlsx.tmp-999999999").exists()
    workbook.create_sheet("my_analysis")
    workbook.save(book)
    assert main(["export", str(out), "--format", "xlsx", "--out", str(book)]) == 2
    assert "has sheets retailsim did not write (my_analysis)" in capsys.readouterr().err
    assert "my_analysis" in openpyxl.load_workbook(book, read_only=True).sheetnames


def test_a_small_difference_never_reads_as_zero() -> None:
    """-0.0015 marked as excluding zero printed as '-0.00 [-0.00, -0.00] *'; one year reads as one year."""
    from sim.report.tables import figure, period_label

    assert [figure(v, 2) for v in (-0.0015, 0.0, 0.004, 1234.567)] == ["-0.0015", "0.00", "0.0040", "1,234.57"]
    assert figure(3.3e-05, 2) == "0.000033" and figure(-2e-9, 2) == "0.000000"  # never 3.3e-05
    assert figure(float("nan")) == "n/a" and period_label((2026, 2026)) == "2026"


def test_folders_of_another_kind_or_without_their_table_are_named_for_what_they_are(comparison, tiny_yaml: Path,
                                                                                     tmp_path: Path, capsys) -> None:
    """A sweep folder has a manifest (it said "no retailsim manifest.json"); a run without its table said its
    manifest "lists no runs"; loading a comparison as one run blamed a missing 'scenario' entry."""
    swept = tmp_path / "sweep"
    swept.mkdir()
    (swept / "manifest.json").write_text(json.dumps({"written_by": "retailsim", "kind": "sweep"}))
    for command in (["export", str(swept)], ["report", str(swept)]):
        assert main(command) == 2
        assert "it is retailsim's sweep folder, which keeps its own report: run its sweep file again" in capsys.readouterr().err
    run = tmp_path / "run"
    assert main(["run", str(tiny_yaml), "--out", str(run), "--quiet", "--no-report"]) == 0
    (run / "timeseries.parquet").unlink()
    capsys.readouterr()
    assert main(["report", str(run)]) == 2 and "timeseries.parquet is missing" in capsys.readouterr().err
    out, _ = comparison
    with pytest.raises(sim.UserError, match="holds several runs .* read them with sim.results.load_set"):
        sim.Result.load(out)


def test_an_edited_csv_export_is_kept(comparison, tmp_path: Path, capsys) -> None:
    """As an edited spreadsheet is: a CSV export whose files changed since it was written is not replaced
    (an edit was discarded with 'replaced: the earlier export')."""
    out, _ = comparison
    csv = tmp_path / "csv"
    assert main(["export", str(out), "--out", str(csv)]) == 0
    assert main(["export", str(out), "--out", str(csv)]) == 0  # unchanged: replaced
    with (csv / "summary.csv").open("a") as stream:
        stream.write("my note\n")
    capsys.readouterr()
    assert main(["export", str(out), "--out", str(csv)]) == 2
    assert "summary.csv changed since retailsim exported it" in capsys.readouterr().err
    assert (csv / "summary.csv").read_text().endswith("my note\n")


def test_what_appears_or_changes_at_out_while_export_works_is_kept(comparison, tmp_path: Path, capsys,
                                                                    monkeypatch) -> None:
    """Out is checked before the work and again before the new export takes its place: a workbook saved
    there meanwhile was replaced, and so was an earlier CSV export edited meanwhile."""
    import sim.export

    out, _ = comparison
    book, folder = tmp_path / "mine.xlsx", tmp_path / "csv"
    assert main(["export", str(out), "--out", str(folder)]) == 0
    made = sim.export.tables

    def meanwhile(*args, **kwargs):  # the user saves a workbook at out, and edits the CSV export
        book.write_text("mine")
        with (folder / "summary.csv").open("a") as stream:
            stream.write("my note\n")
        return made(*args, **kwargs)

    monkeypatch.setattr(sim.export, "tables", meanwhile)
    capsys.readouterr()
    assert main(["export", str(out), "--format", "xlsx", "--out", str(book)]) == 2
    kept = [path for path in tmp_path.iterdir() if path.name.startswith("mine.new-")]
    assert book.read_text() == "mine" and len(kept) == 1 and kept[0].suffix == ".xlsx"
    assert capsys.readouterr().err.strip().endswith(f"(it changed while retailsim worked; the export is in {kept[0]})")
    (folder / "summary.csv").write_text((folder / "summary.csv").read_text().replace("my note\n", ""))  # as exported
    assert main(["export", str(out), "--out", str(folder)]) == 2
    beside = [path for path in tmp_path.iterdir() if path.name.startswith("csv.new-")]
    assert len(beside) == 1 and (beside[0] / "summary.csv").is_file(), "the new export is kept beside, as the xlsx is"
    err = capsys.readouterr().err
    assert "summary.csv changed since retailsim exported it" in err and f"the new results are in {beside[0]}" in err
    assert (folder / "summary.csv").read_text().endswith("my note\n")
    assert not [path for path in tmp_path.iterdir() if ".tmp-" in path.name], "no staging left behind"
    for given, example in (("", "results.xlsx"), (".xlsx", "results.xlsx"), ("book", "book.xlsx"),
                           ("results.csv", "results.xlsx"), ("sub/.xlsx", "sub/results.xlsx"),
                           ("report-2026.12", "report-2026.12.xlsx")):
        assert main(["export", str(out), "--format", "xlsx", "--out", given]) == 2
        assert capsys.readouterr().err.strip().endswith(f"a spreadsheet's name ends in .xlsx; give e.g. --out {example}")


def test_a_spreadsheets_sheets_keep_their_header_in_view_and_filter(comparison, tmp_path: Path) -> None:
    """Each sheet freezes its header row and filters its columns; the summary's end date is a date."""
    import datetime as dt

    import openpyxl

    out, _ = comparison
    book = tmp_path / "x.xlsx"
    assert main(["export", str(out), "--format", "xlsx", "--out", str(book)]) == 0
    workbook = openpyxl.load_workbook(book)
    for sheet in workbook:
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")
    assert isinstance(workbook["summary"]["C2"].value, dt.datetime)


def test_the_printed_differences_keep_one_precision_a_row() -> None:
    """It printed 0.02 [0.0013, 0.04] and -7.6e-06 [-0.01, 0.01]. Now the report's precision: two
    significant figures of the interval's width, the mean within noise reading as zero there."""
    from sim.comparison import format_differences

    table = pd.DataFrame([
        dict(measure="A share", unit="%", baseline="b", scenario="w", mean=0.02, low=0.0013, high=0.04, significant=True),
        dict(measure="B share", unit="%", baseline="b", scenario="w", mean=-7.6e-06, low=-0.01, high=0.01,
             significant=False)])
    lines = format_differences(table)
    assert any(line.endswith(" 0.020 [0.001, 0.040] *") for line in lines)
    assert any(line.rstrip().endswith(" 0.000 [-0.010, 0.010]") for line in lines)
    # An interval's end that rounds to zero keeps its sign: it printed 0.08 [0.00, 0.17] for [-0.0022, 0.17].
    crossing = table.iloc[[0]].assign(mean=0.08, low=-0.0022, high=0.17, significant=False)
    assert any(line.rstrip().endswith("0.08 [-0.00, 0.17]") for line in format_differences(crossing))


def test_result_load_names_a_sweep_folder(tmp_path: Path) -> None:
    """A sweep's manifest counts its runs: Result.load sent readers to load_set, which then failed."""
    (tmp_path / "manifest.json").write_text(json.dumps({"written_by": "retailsim", "kind": "sweep", "runs": 12}))
    with pytest.raises(sim.UserError, match="is retailsim's sweep folder, not a run's results"):
        sim.Result.load(tmp_path)


def test_figures_never_read_as_negative_zero_nor_in_scientific_notation() -> None:
    """A review found -0.0 written as '-0.0' (fixed() handled it, figure() did not)."""
    from sim.report.numbers import difference, figure

    assert [figure(-0.0), figure(-0.0, 2), figure(-1.5), figure(-0.0004, 2)] == ["0.0", "0.00", "-1.5", "-0.00040"]
    assert difference(0.024, 0.022, 0.026)[0] == "0.0240 [0.0220, 0.0260]"
    assert "e" not in difference(3.3e-05, 1e-05, 5e-05)[0]
