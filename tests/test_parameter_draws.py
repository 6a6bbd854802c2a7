"""What-ifs over parameter draws (``compare --parameter-draws K``): the two uncertainties apart.

A tiny project (300 households, 2021) whose calibration fits Walmart+'s consideration at launch;
the what-if cuts the Walmart+ fee to $19, whose effect on Walmart+ households grows with that
consideration (2 points at 0.1, 5 at 0.9), so the spread over draws must grow with the posterior's.
The posteriors are synthetic, so their widths are known (the shipped one's validity is tested in
tests/test_calibration_bank.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.cli import main
from sim.experiments.posterior import MAX_PARAMETER_DRAWS, load_posterior
from sim.report.ensemble import Ensemble

CONSIDERATION = "memberships.walmart_plus_initial_consideration"
CORRELATION = "memberships.taste_correlation"
FEE_CUT = "{date: 2021-02, label: Walmart+ fee cut, set: {walmart.walmart_plus.fee_annual: 19}}"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "calibration").mkdir()
    (tmp_path / "calibration" / "calibrated.yaml").write_text(
        f"parameters:\n  {CONSIDERATION}: 0.5\n  {CORRELATION}: 0.5\n", encoding="utf-8")
    (tmp_path / "base.yaml").write_text(
        "name: base\ncalibration: calibration/calibrated.yaml\nseed: 7\npopulation: {shoppers: 300}\n"
        "horizon: {start: 2021-01-04, end: 2021-12-27, warmup_weeks: 2}\n", encoding="utf-8")
    (tmp_path / "cut.yaml").write_text(f"extends: base.yaml\nname: cut\nevents:\n  - {FEE_CUT}\n", encoding="utf-8")
    return tmp_path


def write_posterior(path: Path, considerations: list[float], weights: list[float] | None = None,
                    extra: dict[str, list] | None = None) -> Path:
    table = pd.DataFrame({CONSIDERATION: considerations, CORRELATION: 0.5,
                          "weight": weights if weights is not None else 1.0, **(extra or {})})
    table.to_csv(path, index=False)
    return path


def evenly(centre: float, half_width: float, particles: int = 21) -> list[float]:
    return list(np.round(np.linspace(centre - half_width, centre + half_width, particles), 4))


def test_the_parameter_band_widens_when_the_posterior_does(project: Path) -> None:
    widths = {}
    for name, half_width in (("narrow", 0.05), ("wide", 0.4)):
        posterior = write_posterior(project / f"{name}.csv", evenly(0.5, half_width))
        comparison = sim.compare(project / "base.yaml", project / "cut.yaml", replicates=1, parameter_draws=4,
                                 posterior=posterior)
        row = comparison.differences.set_index("measure").loc["Walmart+ households"]
        assert row["parameter_low"] <= row["mean"] <= row["parameter_high"]
        chart = Ensemble(comparison.results).parameter_difference("walmart_plus_share", scale=100.0)
        widths[name] = (row["parameter_high"] - row["parameter_low"],
                        float((chart.high["cut"] - chart.low["cut"]).iloc[-13:].mean()))
    # Table (end of horizon) and chart (last quarter): at least twice as wide, and more than a
    # household's worth (1/300 = 0.33 points) apart.
    for narrow, wide in zip(widths["narrow"], widths["wide"]):
        assert wide > 2 * narrow and wide - narrow > 0.33, widths


def test_one_particle_gives_a_zero_width_parameter_band_and_levers_keep_their_own_values(project: Path) -> None:
    write_posterior(project / "calibration" / "posterior.csv", [0.3])
    (project / "own.yaml").write_text("extends: cut.yaml\nname: own\nmemberships: {taste_correlation: 0.9}\n",
                                      encoding="utf-8")
    comparison = sim.compare(project / "base.yaml", project / "cut.yaml", project / "own.yaml", replicates=2,
                             parameter_draws=1)
    table = comparison.differences
    assert (table["parameter_high"] - table["parameter_low"]).abs().max() == 0.0
    assert table[["parameter_low", "parameter_high"]].notna().all().all()
    for result in comparison.results:  # the draw replaces the calibrated 0.5; own.yaml's own value stays
        memberships = result.scenario.memberships
        assert memberships.walmart_plus_initial_consideration == 0.3
        assert memberships.taste_correlation == (0.9 if result.scenario.name == "own" else 0.5)
    band = Ensemble(comparison.results).parameter_difference("walmart_plus_share")
    assert band.low.equals(band.high)
    assert comparison.draws["particles"] == [0]


def test_the_same_command_twice_writes_the_same_files(project: Path, capsys) -> None:
    write_posterior(project / "calibration" / "posterior.csv", evenly(0.5, 0.3), weights=list(range(1, 22)))
    folders = [project / "first", project / "second"]
    for out in folders:
        assert main(["compare", str(project / "base.yaml"), str(project / "cut.yaml"), "--replicates", "1",
                     "--parameter-draws", "3", "--shoppers", "100", "--set", "horizon.end=2021-04-26",
                     "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "{5-95% over parameter draws}" in printed
    first = sorted(p.relative_to(folders[0]) for p in folders[0].rglob("*") if p.is_file())
    assert first == sorted(p.relative_to(folders[1]) for p in folders[1].rglob("*") if p.is_file())
    assert Path("runs/cut/draw-2/seed-7/timeseries.parquet") in first
    compared = [p for p in first if p.suffix in (".csv", ".parquet") or p.name == "summary.json"]
    assert len(compared) == 2 + 12  # the differences, and 3 draws x 1 seed x 2 scenarios x 2 files (manifests
    # hold run times)
    for path in compared:
        assert (folders[0] / path).read_bytes() == (folders[1] / path).read_bytes(), path
    table = pd.read_csv(folders[0] / "differences.csv")
    assert list(table.columns[:8]) == ["measure", "unit", "baseline", "scenario", "mean", "low", "high", "significant"]
    assert list(table.columns[8:]) == ["parameter_low", "parameter_high"]
    assert main(["report", str(folders[0])]) == 0  # the report rebuilds from the saved draws
    page = (folders[0] / "report.html").read_text(encoding="utf-8")
    assert "parameters: 5-95% over 3 draws" in page and "run noise: 5-95% over seeds within a draw" in page


BAD = {
    "no posterior file": ([], None, "no posterior file calibration/posterior.csv"),
    "no draws": (["--parameter-draws", "0"], "ok", "--parameter-draws: must be from 1"),
    "too many draws": (["--parameter-draws", str(MAX_PARAMETER_DRAWS + 1)], "ok", "--parameter-draws: must be from 1"),
    "an unknown key": ([], "unknown", "column 'memberships.taste_corelation'"),
    "no weight column": ([], "unweighted", "no 'weight' column"),
    "a negative weight": ([], "negative", "weights must be zero or more"),
    "a value out of range": ([], "out of range", f"column '{CONSIDERATION}', line 4: 1.5 is not valid here"),
    "a value that is not a number": ([], "not a number", f"column '{CONSIDERATION}' holds a value that is not a "
                                     "finite number (line 3: 'lots')"),
    "the households drawn": ([], "shoppers", "column 'population.shoppers' is the number of simulated households, "
                             "not a parameter to draw"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_draws_are_one_line_and_exit_2_before_any_work(project: Path, case: str, capsys,
                                                           monkeypatch) -> None:
    arguments, posterior, expected = BAD[case]
    path = project / "calibration" / "posterior.csv"
    if posterior == "ok":
        write_posterior(path, [0.4, 0.6])
    elif posterior == "unknown":
        unknown = {CONSIDERATION: [0.4], "memberships.taste_corelation": [0.5], "weight": [1.0]}
        pd.DataFrame(unknown).to_csv(path, index=False)
    elif posterior == "unweighted":
        pd.DataFrame({CONSIDERATION: [0.4, 0.6]}).to_csv(path, index=False)
    elif posterior == "negative":
        write_posterior(path, [0.4, 0.6], weights=[1.0, -0.5])
    elif posterior == "out of range":  # the third particle (the file's line 4)
        write_posterior(path, [0.4, 0.6, 1.5], weights=[1.0, 1.0, 1.0])
    elif posterior == "shoppers":  # draws of 50 and 60 households ran at --shoppers, or changed the run's size
        pd.DataFrame({"population.shoppers": [50, 60], "weight": [1.0, 1.0]}).to_csv(path, index=False)
    elif posterior == "not a number":
        pd.DataFrame({CONSIDERATION: ["0.4", "lots"], "weight": [1.0, 1.0]}).to_csv(path, index=False)
    monkeypatch.chdir(project)
    code = main(["compare", "base.yaml", "cut.yaml", "--parameter-draws", "2", *arguments, "--out", "out"])
    error = capsys.readouterr().err
    assert code == 2 and len(error.strip().splitlines()) == 1, error
    assert expected in error
    assert not (project / "out").exists()


@pytest.mark.parametrize("command", [["compare", "base.yaml", "cut.yaml"], ["sweep", "sweep.yaml"]])
def test_a_posterior_without_parameter_draws_is_refused_not_ignored(project: Path, command: list, capsys,
                                                                   monkeypatch) -> None:
    """--posterior alone ran as if it were not there (a bad file too); so did sim.compare(posterior=...)."""
    monkeypatch.chdir(project)
    write_posterior(project / "calibration" / "posterior.csv", [0.4, 0.6])
    assert main([*command, "--posterior", "calibration/posterior.csv", "--out", "out"]) == 2
    assert "--posterior calibration/posterior.csv: only --parameter-draws reads a posterior" in capsys.readouterr().err
    with pytest.raises(sim.UserError, match="only parameter_draws reads a posterior"):
        sim.compare("base.yaml", "cut.yaml", posterior="calibration/posterior.csv")
    with pytest.raises(sim.UserError, match="only parameter_draws reads a posterior"):
        sim.sweep("sweep.yaml", posterior="calibration/posterior.csv", out="out")
    assert not (project / "out").exists()


def test_the_posterior_abc_writes_is_one_the_draws_read(tmp_path: Path) -> None:
    from sim.calibration.fitting import write_posterior as write_abc
    from sim.calibration.setup import load_setup

    calibration = load_setup(Path(__file__).resolve().parents[1] / "calibration" / "setup.yaml")
    names = list(calibration.parameters)
    rng = np.random.default_rng(0)
    particles = pd.DataFrame({name: rng.uniform(*p.range, size=5) for name, p in calibration.parameters.items()})
    particles["weight"], particles["loss"] = rng.uniform(0.1, 1.0, size=5), 1.0
    write_abc(calibration, particles, tmp_path / "posterior.csv")
    posterior = load_posterior(tmp_path / "posterior.csv", calibration.base)
    assert posterior.parameters == names
    assert posterior.weights.sum() == pytest.approx(1.0)
    integers = [name for name, p in calibration.parameters.items() if p.integer]
    assert integers and all(isinstance(posterior.values(0)[name], int) for name in integers)  # as a scenario takes them
    draws = posterior.draw(8, root_seed=2021)
    assert draws == sorted(draws) and draws == posterior.draw(8, root_seed=2021) and len(draws) == 8


def test_a_sweep_runs_every_point_over_the_draws_and_stores_the_draw(project: Path) -> None:
    write_posterior(project / "calibration" / "posterior.csv", [0.2, 0.8])
    (project / "sweep.yaml").write_text(
        "name: fee\nbase: base.yaml\ndesign: grid\nreplicates: 1\nseed: 3\nshoppers: 100\n"
        "set: {horizon.end: 2021-04-26}\n"
        "parameters:\n  walmart.walmart_plus.fee_annual: {values: [49, 149]}\n"
        "outcomes:\n  plus: {metric: walmart_plus_share, at: 2021-04-26}\n", encoding="utf-8")
    runs = sim.sweep(project / "sweep.yaml", workers=1, out=project / "out", parameter_draws=2)
    assert list(runs["draw"]) == [0, 1, 0, 1] and list(runs["point"]) == [0, 0, 1, 1]
    assert list(runs[CONSIDERATION]) == [0.2, 0.8, 0.2, 0.8]  # the drawn values, stored with each run
    assert runs["seed"].nunique() == 1 and runs["error"].isna().all()
    # Without draws the same sweep has neither column, and a folder started without draws is refused.
    with pytest.raises(sim.UserError, match="parameter draws changed"):
        sim.sweep(project / "sweep.yaml", workers=1, out=project / "out")


def test_a_parameter_swept_from_a_date_keeps_its_draw_until_then(project: Path) -> None:
    """Swept from a date, a drawn parameter holds the draw's value before that date and the point's
    after it; swept from the start, the point's value replaces the draw's."""
    fee = "walmart.walmart_plus.fee_annual"
    write_posterior(project / "calibration" / "posterior.csv", [0.5, 0.5], extra={fee: [19.0, 149.0]})
    sweep = ("name: dated\nbase: base.yaml\ndesign: grid\nreplicates: 1\nseed: 3\nshoppers: 100\n"
             "set: {horizon.end: 2021-04-26}\n"
             "parameters:\n  " + fee + ": {values: [98]{FROM}}\n"
             "outcomes:\n  plus: {metric: walmart_plus_share, at: 2021-04-26}\n"
             "  fee: {metric: walmart_plus_fee_usd, firm: walmart, at: 2021-04-26}\n")
    (project / "sweep.yaml").write_text(sweep.replace("{FROM}", ", from: 2021-03-01"), encoding="utf-8")
    runs = sim.sweep(project / "sweep.yaml", workers=1, out=project / "dated", parameter_draws=2)
    assert list(runs["draw"]) == [0, 1] and list(runs["fee"].round(6)) == [98.0, 98.0]
    assert runs["plus"].nunique() == 2, "each draw's fee held until March"
    (project / "sweep.yaml").write_text(sweep.replace("{FROM}", ""), encoding="utf-8")
    runs = sim.sweep(project / "sweep.yaml", workers=1, out=project / "plain", parameter_draws=2)
    assert runs["plus"].nunique() == 1, "the point's fee from the start, whatever was drawn"
