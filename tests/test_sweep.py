"""Sweeps: validation, resumption after a kill, identical results on any number of workers or on
Dask, failures recorded, and sensitivity wiring on cases with a known answer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from SALib.sample import sobol as sobol_sample

import sim
from sim.cli import main
from sim.errors import ScenarioError
from sim.experiments import sensitivity
from sim.experiments.sweep import RUNS, run_sweep
from sim.experiments.sweepfile import RUN_COLUMNS, Sweep, load_sweep

BASE = """name: tiny
population: {shoppers: 120}
horizon: {start: 2021-01-04, end: 2021-12-27, warmup_weeks: 4}
"""

SWEEP = """name: small
base: base.yaml
design: {design}
samples: {samples}
replicates: 2
seed: 4
parameters:
  walmart.walmart_plus.fee_annual: {{range: [49, 149]}}
  walmart.dark_stores.capex_per_store_usd: {{range: [1000000, 90000000]}}
outcomes:
  both: {{metric: membership_share, segment: both, at: 2021-12-27}}
  walmart_plus: {{metric: walmart_plus_share, over: [2021-07-01, 2021-12-27]}}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "base.yaml").write_text(BASE)
    return tmp_path


def write_sweep(folder: Path, design: str = "sobol", samples: int = 4) -> Path:
    path = folder / "sweep.yaml"
    path.write_text(SWEEP.format(design=design, samples=samples))
    return path


BAD = [
    ("range backwards", "  walmart.walmart_plus.fee_annual: {range: [49, 149]}", "  walmart.walmart_plus.fee_annual: {range: [149, 49]}",
     r"sweep.yaml:\d+: parameters.walmart.walmart_plus.fee_annual: range runs the wrong way round: write it low to high, \[49.0, 149.0\]"),
    ("no such path", "walmart.dark_stores.capex_per_store_usd", "walmart.dark_store.capex_per_store_usd",
     r"parameters.walmart.dark_store.capex_per_store_usd: unknown key 'dark_store' in walmart; did you mean 'dark_stores'\?"),
    ("invalid value", "{range: [49, 149]}", "{values: [49, -5]}",
     r"parameters.walmart.walmart_plus.fee_annual: -5 is not valid here: .*greater than or equal to 0"),
    ("sobol count", "samples: 4", "samples: 6", r"sweep.yaml:4: samples: the sobol design needs a power of 2 \(got 6; 4 or 8 would do\)"),
    ("unknown metric", "metric: walmart_plus_share", "metric: walmart_plus", r"outcomes.walmart_plus: .*unknown metric 'walmart_plus'; did you mean 'walmart_plus_share'\?"),
    ("outcome date", "at: 2021-12-27", "at: 2024-01-01", r"outcomes.both.at: 2024-01-01 is outside the horizon"),
    # A weekend holds no recorded week (they are Mondays): every run read NaN, and "0 failed".
    ("a period of no week", "over: [2021-07-01, 2021-12-27]", "over: [2021-07-03, 2021-07-04]",
     r"sweep.yaml:\d+: outcomes.walmart_plus.over: no recorded week falls in 2021-07-03 to 2021-07-04: runs record one "
     r"week every 7 days, on Mondays from 2021-01-04, and the nearest are 2021-06-28 and 2021-07-05; widen the "
     r"period to hold one \(over: \[2021-06-28, 2021-07-05\]\) or read one date with at:$"),
    # Churn is recorded in a month's first week only: the weeks of mid-July held none (NaN in every run).
    ("a period of no month's first week", "metric: walmart_plus_share, over: [2021-07-01, 2021-12-27]",
     "metric: established_churn, segment: prime, over: [2021-07-12, 2021-07-26]",
     r"outcomes.walmart_plus.over: no recorded week falls in 2021-07-12 to 2021-07-26: runs record this series in the "
     r"first week of each month, and the nearest are 2021-07-05 and 2021-08-02; widen the period to hold one "
     r"\(over: \[2021-07-05, 2021-08-02\]\) or read one date with at:$"),
    # Each dimension value exists, but not for this metric: every run measured NaN, and "0 failed".
    ("not recorded", "metric: walmart_plus_share,", "metric: revenue, firm: walmart, category: grocery,",
     r"sweep.yaml:\d+: outcomes.walmart_plus: revenue is not recorded for firm walmart, category grocery; it is "
     r"recorded by firm \(amazon, kroger, rivals, walmart\)$"),
    ("not a segment of it", "segment: both", "segment: prime",
     r"outcomes.both: membership_share is not recorded for segment prime; it is recorded by locale \(rural, suburban, "
     r"urban or a state, or all\) and segment \(both, none, prime_only, walmart_plus_only\)$"),
    ("unknown key", "replicates: 2", "replicate: 2", r"sweep.yaml:5: replicate: unknown key 'replicate'; did you mean 'replicates'\?"),
    ("missing base", "base: base.yaml", "base: nope.yaml", r"sweep.yaml:2: base: scenario file 'nope.yaml' not found"),
    ("a date", "walmart.dark_stores.capex_per_store_usd: {range: [1000000, 90000000]}",
     "amazon.rural.end: {values: [2025-01-01, 2027-01-01]}",
     r"parameters.amazon.rural.end: 'amazon.rural.end' is a date, and dates cannot be swept yet"),
    ("block not value", "walmart.dark_stores.capex_per_store_usd: {range", "walmart.dark_stores: {range",
     r"parameters.walmart.dark_stores: 'walmart.dark_stores' is a block, not a value"),
    ("not a year", "walmart.dark_stores.capex_per_store_usd: {range: [1000000, 90000000]}",
     "economics.price_level.index.next: {values: [330, 345]}",
     r"parameters.economics.price_level.index.next: 'next' is not a year of 'economics.price_level.index'"),
    ("below a value", "walmart.dark_stores.capex_per_store_usd: {range", "walmart.dark_stores.count.x: {range",
     r"parameters.walmart.dark_stores.count.x: 'walmart.dark_stores.count' is a value, not a block"),
    # A value fills the parameter's column as written: a quoted number made the column text (discover
    # skipped it), or, beside numbers, failed writing runs.parquet after every run.
    ("a quoted number", "{range: [49, 149]}", "{values: [49, '98']}",
     r"sweep.yaml:8: parameters.walmart.walmart_plus.fee_annual.values: values\[1\] is the text '98', and "
     r"walmart.walmart_plus.fee_annual holds a number; write it unquoted \(98\)$"),
    ("quoted numbers", "{range: [49, 149]}", "{values: [' 49', '98']}",
     r"values\[0\] is the text ' 49', and walmart.walmart_plus.fee_annual holds a number; write it unquoted \(49\)$"),
    ("a quoted yes or no", "walmart.dark_stores.capex_per_store_usd: {range: [1000000, 90000000]}",
     "walmart.health.clinics_open: {values: [true, 'false']}",
     r"values\[1\] is the text 'false', and walmart.health.clinics_open holds a yes or no; write it unquoted \(false\)$"),
    ("numbers for a yes or no", "walmart.dark_stores.capex_per_store_usd: {range: [1000000, 90000000]}",
     "walmart.health.clinics_open: {values: [0, 1]}",
     r"values\[0\] is a number \(0\), and walmart.health.clinics_open holds a yes or no; write it as false$"),
    ("two kinds", "walmart.dark_stores.capex_per_store_usd: {range: [1000000, 90000000]}",
     "walmart.health.clinics_open: {values: [true, 0]}",
     r"sweep.yaml:9: parameters.walmart.health.clinics_open.values: values\[1\] is a number \(0\), and "
     r"walmart.health.clinics_open holds a yes or no; write it as false$"),
    ("one value twice", "{range: [49, 149]}", "{values: [49, 98, 49.0]}",
     r"sweep.yaml:8: parameters.walmart.walmart_plus.fee_annual.values: values\[2\] \(49.0\) is the same value as "
     r"values\[0\], listed before it: each point would run twice and weigh double in discover; list each value once$"),
    # A fixed value of set: that the sweep's own values replaced, silently (as a game refuses it).
    ("set a parameter", "seed: 4\n", "seed: 4\nset: {walmart.walmart_plus.fee_annual: 500}\n",
     r"sweep.yaml:7: set.walmart.walmart_plus.fee_annual: walmart.walmart_plus.fee_annual is a parameter of the sweep; "
     r"remove it from set \(or give the parameter a from: date, and set holds this value until then\)$"),
    # A block given whole replaced the base's: its other keys took their defaults (the calibrated Walmart+
    # liking spread of 42.5 went with "memberships: {taste_sd_usd: 50}"), and hid a swept parameter too.
    ("set a block whole", "seed: 4\n", "seed: 4\nset: {memberships: {taste_sd_usd: 50}}\n",
     r"sweep.yaml:7: set.memberships: sets the block memberships whole, so the keys it does not name take their "
     r"defaults, not the base scenario's; give each key by its path, e.g. memberships.taste_sd_usd: 50$"),
    ("set a parameter within a block", "seed: 4\n",
     "seed: 4\nset: {walmart.walmart_plus: {fee_annual: 500, perks_value_usd: 60}}\n",
     r"sweep.yaml:7: set.walmart.walmart_plus: sets the block walmart.walmart_plus whole"),
    ("set shoppers", "seed: 4\n", "seed: 4\nshoppers: 200\nset: {population.shoppers: 5000}\n",
     r"sweep.yaml:8: set.population.shoppers: population.shoppers is given by shoppers: \(200\) too; give the number "
     r"of households once, with shoppers:$"),
    ("set shoppers within a block", "seed: 4\n", "seed: 4\nshoppers: 200\nset: {population: {shoppers: 5000}}\n",
     r"sweep.yaml:8: set.population: sets the block population whole"),
    ("sweep shoppers", "seed: 4\nparameters:\n", "seed: 4\nshoppers: 200\nparameters:\n  population.shoppers: {range: [100, 200]}\n",
     r"sweep.yaml:7: shoppers: population.shoppers is a parameter of the sweep; remove shoppers:$"),
    # An outcome's name is its column in runs.parquet: 'seed' took the seeds' column, 'error' was None.
    *((f"outcome named {name}", "  both: {metric", f"  {name}: {{metric",
       rf"sweep.yaml:11: outcomes.{name}: the runs table already has a column '{name}' \({what}\); give the "
       "outcome another name$")
      for name, what in [("seed", "one of point, replicate, seed, key, draw, error"), ("error", "one of point.*"),
                         ("draw", "one of point.*"), ("walmart.walmart_plus.fee_annual", "a swept parameter's")]),
    *((f"outcome named {written[:12]}", "  both: {metric", f"  {written}: {{metric",
       rf"sweep.yaml:11: outcomes: outcome name {shown} is not a plain name: give 1 to 100 letters, digits, '_', "
       r"'\.' or '-', starting with a letter or digit \(it names a column of runs.parquet and a folder of discover's\)$")
      for written, shown in [("''", "''"), ("'../../x'", r"'\.\./\.\./x'"), ("'a b'", "'a b'"),
                             ("a" * 300, r"'a{59}\.\.\. \(302 characters\)")]),
]


@pytest.mark.parametrize("old, new, pattern", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_sweep_files_give_one_clear_line(folder: Path, monkeypatch, old: str, new: str, pattern: str) -> None:
    import re

    monkeypatch.chdir(folder)
    text = SWEEP.format(design="sobol", samples=4)
    assert old in text
    (folder / "sweep.yaml").write_text(text.replace(old, new, 1))
    with pytest.raises(ScenarioError) as caught:
        load_sweep("sweep.yaml")
    assert re.search(pattern, str(caught.value)), str(caught.value)
    assert "\n" not in str(caught.value)


def test_set_gives_a_parameter_of_the_sweep_its_value_until_the_parameters_date(folder: Path) -> None:
    text = SWEEP.format(design="sobol", samples=4).replace("seed: 4\n", "seed: 4\nset: {walmart.walmart_plus.fee_annual: 500}\n")
    path = folder / "sweep.yaml"
    path.write_text(text.replace("{range: [49, 149]}", "{range: [49, 149], from: 2021-06-07}"))
    sweep, base = load_sweep(path)
    assert base.walmart.walmart_plus.fee_annual == 500 and sweep.parameters["walmart.walmart_plus.fee_annual"].from_


def test_grid_needs_steps_or_values(folder: Path) -> None:
    path = write_sweep(folder, design="grid")
    with pytest.raises(ScenarioError, match="the grid design needs values, or a range with steps"):
        load_sweep(path)


def test_grid_steps_that_round_to_a_repeated_whole_number_are_refused(folder: Path) -> None:
    # They were rounded to 0, 0, 1, 2, 2: points run twice, and weighed double in discover.
    text = SWEEP.format(design="grid", samples=4).replace("{range: [49, 149]}", "{values: [49, 149]}")
    path = folder / "sweep.yaml"
    path.write_text(text.replace("walmart.dark_stores.capex_per_store_usd: {range: [1000000, 90000000]}",
                                 "walmart.dark_stores.count: {range: [0, 2], steps: 5}"))
    with pytest.raises(ScenarioError) as caught:
        load_sweep(path)
    assert str(caught.value) == (
        f"{path}:9: parameters.walmart.dark_stores.count.steps: steps: 5 over [0, 2] gives 0, 0, 1, 2, 2: "
        "walmart.dark_stores.count holds whole numbers, so the steps are rounded, and 0, 2 would repeat (each repeated "
        "point runs again); use steps: 3 or fewer (3 takes every whole number from 0 to 2), or list the values you "
        "want with values:")
    path.write_text(path.read_text().replace("steps: 5", "steps: 3"))
    assert load_sweep(path)[0].points() == 2 * 3


def test_one_and_two_workers_give_identical_runs(folder: Path) -> None:
    path = write_sweep(folder)
    one = run_sweep(path, workers=1, out=folder / "one", progress=False)
    two = run_sweep(path, workers=2, out=folder / "two", progress=False)
    assert len(one.runs) == 4 * (2 + 2) * 2 and one.failures == 0
    assert len(two.runs) == len(one.runs) and two.failures == 0
    assert (folder / "one" / RUNS).read_bytes() == (folder / "two" / RUNS).read_bytes()
    # The columns outcome names may not take (sweepfile.RUN_COLUMNS) are the table's others.
    sweep = load_sweep(path)[0]
    assert set(one.runs.columns) == set(RUN_COLUMNS) - {"draw"} | set(sweep.parameters) | set(sweep.outcomes)


def test_dask_local_cluster_gives_the_same_rows_as_the_process_pool(folder: Path) -> None:
    pytest.importorskip("distributed")
    path = write_sweep(folder, design="lhs", samples=6)
    pool = run_sweep(path, workers=2, out=folder / "pool", progress=False)
    dask = run_sweep(path, workers=2, dask="local", out=folder / "dask", progress=False)
    pd.testing.assert_frame_equal(pool.runs, dask.runs)
    assert (folder / "pool" / RUNS).read_bytes() == (folder / "dask" / RUNS).read_bytes()


def test_a_killed_sweep_restarts_to_exactly_the_uninterrupted_rows(folder: Path) -> None:
    path = write_sweep(folder, samples=8)  # 8 x 4 points x 2 replicates = 64 runs
    reference = run_sweep(path, workers=1, out=folder / "whole", progress=False)
    command = [sys.executable, "-m", "sim.cli", "sweep", str(path), "--workers", "1", "--out", str(folder / "cut"), "--quiet"]
    process = subprocess.Popen(command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = folder / "cut" / "store"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(store.glob("*.json"))) < 10:
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    kept = len(list(store.glob("*.json")))
    assert 10 <= kept < 64, f"the kill should land mid-sweep (kept {kept})"
    assert not (folder / "cut" / RUNS).exists()
    resumed = run_sweep(path, workers=2, out=folder / "cut", progress=False)
    assert (folder / "cut" / RUNS).read_bytes() == (folder / "whole" / RUNS).read_bytes()
    assert len(resumed.runs) == len(reference.runs) == 64
    assert len(list(store.glob("*.json"))) == 64, "nothing lost or duplicated"


def test_a_changed_sweep_is_refused_in_the_same_folder(folder: Path, capsys) -> None:
    path = write_sweep(folder)
    assert main(["sweep", str(path), "--workers", "1", "--out", str(folder / "out"), "--quiet"]) == 0
    path.write_text(path.read_text().replace("seed: 4", "seed: 5"))
    assert main(["sweep", str(path), "--workers", "1", "--out", str(folder / "out"), "--quiet"]) == 2
    assert "holds results of a different sweep" in capsys.readouterr().err


def test_failed_runs_are_recorded_and_the_sweep_goes_on(folder: Path, monkeypatch, capsys) -> None:
    import sim.jobs.runs as worker

    real = worker.run

    def flaky(scenario, seed=None, **kwargs):
        if scenario.walmart.walmart_plus.fee_annual > 120:
            raise RuntimeError("simulated failure")
        return real(scenario, seed=seed, **kwargs)

    monkeypatch.setattr(worker, "run", flaky)
    path = write_sweep(folder)
    assert main(["sweep", str(path), "--workers", "1", "--out", str(folder / "out"), "--quiet"]) == 1
    printed = capsys.readouterr().out
    runs = pd.read_parquet(folder / "out" / RUNS)
    failed = runs[runs["error"].notna()]
    assert len(failed) > 0 and (failed["walmart.walmart_plus.fee_annual"] > 120).all()
    assert runs.loc[runs["error"].isna(), "both"].notna().all()
    assert f"{len(failed)} failed" in printed and "RuntimeError: simulated failure" in printed
    monkeypatch.setattr(worker, "run", real)
    assert main(["sweep", str(path), "--workers", "1", "--out", str(folder / "out"), "--quiet"]) == 0
    assert pd.read_parquet(folder / "out" / RUNS)["error"].isna().all(), "failed runs are retried"


def test_sobol_wiring_recovers_a_known_linear_answer() -> None:
    """Y = 4 x1 + x2 on uniform [0, 1]: S1 = ST = 16/17 and 1/17; x3 does nothing."""
    sweep = Sweep.model_validate({
        "base": "unused.yaml", "design": "sobol", "samples": 1024, "seed": 1,
        "parameters": {"a.x1": {"range": [0, 1]}, "a.x2": {"range": [0, 1]}, "a.x3": {"range": [0, 1]}},
        "outcomes": {"y": {"metric": "prime_share", "at": "2021-06-01"}},
    })
    problem = {"num_vars": 3, "names": ["a.x1", "a.x2", "a.x3"], "bounds": [[0, 1]] * 3}
    x = sobol_sample.sample(problem, 1024, calc_second_order=False, seed=1)
    points = pd.DataFrame(x, columns=problem["names"])
    means = pd.DataFrame({"y": 4 * x[:, 0] + x[:, 1]})
    indices, notes = sensitivity.analyze(sweep, points, means, seed=1)
    assert notes == []
    value = indices.set_index(["parameter", "index"])["value"]
    for name, expected in (("a.x1", 16 / 17), ("a.x2", 1 / 17), ("a.x3", 0.0)):
        assert value[(name, "S1")] == pytest.approx(expected, abs=0.03)
        assert value[(name, "ST")] == pytest.approx(expected, abs=0.03)


def test_an_inert_lever_gets_zero_total_sobol_index_through_the_whole_pipeline(folder: Path) -> None:
    """Dark-store capital cost cannot move memberships; the Walmart+ fee must."""
    result = run_sweep(write_sweep(folder, samples=8), workers=1, out=folder / "out", progress=False)
    total = result.sensitivity[result.sensitivity["index"] == "ST"].set_index(["outcome", "parameter"])["value"]
    assert total[("walmart_plus", "walmart.dark_stores.capex_per_store_usd")] == 0.0
    assert total[("walmart_plus", "walmart.walmart_plus.fee_annual")] > 0.5


def test_morris_and_python_api(folder: Path) -> None:
    path = write_sweep(folder, design="morris", samples=4)
    runs = sim.sweep(path, workers=1, out=folder / "out")
    assert isinstance(runs, pd.DataFrame) and len(runs) == 4 * (2 + 1) * 2
    indices = pd.read_parquet(folder / "out" / "sensitivity.parquet")
    assert set(indices["index"]) == {"mu_star", "sigma", "mu"}
    assert (folder / "out" / "report.html").stat().st_size > 1_000_000


def test_a_sweep_varies_one_year_of_a_by_year_series(folder: Path) -> None:
    """A year of the price level (CPI-U by year) as a parameter: added to the series, the rest kept."""
    path = folder / "sweep.yaml"
    path.write_text(SWEEP.format(design="grid", samples=4).replace(
        "  walmart.walmart_plus.fee_annual: {range: [49, 149]}\n  walmart.dark_stores.capex_per_store_usd: "
        "{range: [1000000, 90000000]}", "  economics.price_level.index.2021: {values: [271.0, 300.0]}").replace(
        "walmart_plus: {metric: walmart_plus_share, over: [2021-07-01, 2021-12-27]}",
        "price_level: {metric: price_level, over: [2021-01-04, 2021-12-27]}"))
    runs = sim.sweep(path, workers=1, out=folder / "out")
    by_point = runs.groupby("economics.price_level.index.2021")["price_level"].mean()
    # Each year's mean price level is its index (over 2024's); the horizon's weeks miss a few days of 2021.
    assert by_point[300.0] / by_point[271.0] == pytest.approx(300.0 / 271.0, rel=1e-3)
    assert set(runs["economics.price_level.index.2021"]) == {271.0, 300.0}


@pytest.mark.parametrize("path", sorted(Path(__file__).resolve().parents[1].glob("scenarios/sweeps/*.yaml")),
                         ids=lambda p: p.stem)
def test_shipped_sweeps_validate(path: Path) -> None:
    """... and vary what they say they vary: none of their parameters is set again by an event of the
    baseline (Prime's fee, raised to $139 in February 2022, is swept from 2026)."""
    from sim.experiments.sweepfile import reset_notes

    sweep, base = load_sweep(path)
    assert sweep.description and base.name == "baseline"
    assert reset_notes(sweep, base) == []


def test_a_parameter_from_a_date_holds_from_then_whatever_the_bases_events_set(folder: Path, capsys) -> None:
    """A parameter the base's event sets again holds only until that event: the sweep warns before it
    runs and notes it; with ``from:`` it holds from that date, after the event, and only then."""
    (folder / "base.yaml").write_text(BASE + "events:\n  - {date: 2021-03-01, label: Fee set, "
                                      "set: {walmart.walmart_plus.fee_annual: 98}}\n")
    path = folder / "sweep.yaml"
    grid = SWEEP.format(design="grid", samples=4).replace(
        "  walmart.walmart_plus.fee_annual: {range: [49, 149]}\n  walmart.dark_stores.capex_per_store_usd: "
        "{range: [1000000, 90000000]}", "  walmart.walmart_plus.fee_annual: {values: [49, 149]}").replace(
        "walmart_plus: {metric: walmart_plus_share, over: [2021-07-01, 2021-12-27]}",
        "fee: {metric: walmart_plus_fee_usd, firm: walmart, at: 2021-12-27}\n"
        "  fee_may: {metric: walmart_plus_fee_usd, firm: walmart, at: 2021-05-03}")
    path.write_text(grid)
    assert main(["validate", str(path)]) == 0
    err = capsys.readouterr().err
    assert ("parameter walmart.walmart_plus.fee_annual holds only until 2021-03-01: the base scenario's event "
            "'Fee set' sets it then") in err and "give the parameter 'from: 2021-03-01' or later" in err
    runs = sim.sweep(path, workers=1, out=folder / "reset")
    assert set(runs["fee"].round(6)) == {98.0}, "the event's value, whatever the design tried"
    assert "holds only until 2021-03-01" in capsys.readouterr().err, "said before the runs"
    path.write_text(grid.replace("{values: [49, 149]}", "{values: [49, 149], from: 2021-06-07}"))
    assert main(["validate", str(path)]) == 0 and capsys.readouterr().err == ""
    runs = sim.sweep(path, workers=1, out=folder / "dated")
    assert sorted(runs.groupby("walmart.walmart_plus.fee_annual")["fee"].mean().round(6).tolist()) == [49.0, 149.0]
    assert set(runs["fee_may"].round(6)) == {98.0}, "before its date the base's own value holds"
    # An event on the horizon's first day sets it before any recorded week: named too.
    (folder / "base.yaml").write_text(BASE + "events:\n  - {date: 2021-01-04, label: Fee set, "
                                      "set: {walmart.walmart_plus.fee_annual: 98}}\n")
    path.write_text(grid)
    assert main(["validate", str(path)]) == 0 and "holds only until 2021-01-04" in capsys.readouterr().err
    path.write_text(grid.replace("{values: [49, 149]}", "{values: [49, 149], from: 2023-01-02}"))
    with pytest.raises(ScenarioError, match=r"parameters.walmart.walmart_plus.fee_annual.from: 2023-01-02 is outside "
                                            r"the horizon; valid dates run from 2021-01-04 to 2021-12-27"):
        load_sweep(path)
    # What no event may set, a sweep may not set from a date either (it validated, then every run failed).
    for dotted, values, why in [("population.shoppers", "[300, 400]", "'population' cannot change during a run"),
                                ("geography.distance_sigma", "[0.7, 0.9]", "'geography' cannot change during a run")]:
        path.write_text(grid.replace("walmart.walmart_plus.fee_annual: {values: [49, 149]}",
                                     f"{dotted}: {{values: {values}, from: 2021-06-07}}"))
        assert main(["validate", str(path)]) == 2
        assert f"parameters.{dotted}.from: {why}" in capsys.readouterr().err


def test_a_tiny_sobol_sweep_warns_that_its_sample_is_too_small(folder: Path, capsys) -> None:
    """4 Sobol base samples cannot support indices: the warning is in the notes, the printed output,
    the sensitivity table and the report."""
    path = write_sweep(folder, samples=4)
    assert main(["sweep", str(path), "--workers", "1", "--out", str(folder / "out"), "--quiet"]) == 0
    printed = capsys.readouterr().out
    indices = pd.read_parquet(folder / "out" / "sensitivity.parquet")
    assert {"conf", "low", "high", "warning"} <= set(indices.columns)
    assert (indices["warning"] != "").any()
    assert "WARNING sample too small" in printed and "raise samples" in printed
    assert "sample too small" in (folder / "out" / "report.html").read_text()


def test_ishigami_with_enough_samples_gives_bounded_indices_with_intervals_and_no_warning() -> None:
    """The Ishigami function (no simulation), 4096 Sobol base samples: S1 about 0.31, 0.44, 0;
    ST about 0.56, 0.44, 0.24; each inside [0, 1] with a 90% interval, and nothing flagged."""
    import numpy as np
    from SALib.test_functions import Ishigami

    names = ["a.x1", "a.x2", "a.x3"]
    sweep = Sweep.model_validate({
        "base": "unused.yaml", "design": "sobol", "samples": 4096, "seed": 1,
        "parameters": {name: {"range": [-np.pi, np.pi]} for name in names},
        "outcomes": {"y": {"metric": "prime_share", "at": "2021-06-01"}},
    })
    problem = {"num_vars": 3, "names": names, "bounds": [[-np.pi, np.pi]] * 3}
    x = sobol_sample.sample(problem, 4096, calc_second_order=False, seed=1)
    indices, notes = sensitivity.analyze(sweep, pd.DataFrame(x, columns=names), pd.DataFrame({"y": Ishigami.evaluate(x)}), seed=1)
    assert notes == []
    assert (indices["warning"] == "").all()
    assert (indices["conf"] > 0).all() and (indices["low"] < indices["value"]).all() and (indices["value"] < indices["high"]).all()
    value = indices.set_index(["parameter", "index"])["value"]
    for (name, index), expected in {("a.x1", "S1"): 0.314, ("a.x2", "S1"): 0.442, ("a.x3", "S1"): 0.0,
                                    ("a.x1", "ST"): 0.558, ("a.x2", "ST"): 0.442, ("a.x3", "ST"): 0.244}.items():
        assert value[(name, index)] == pytest.approx(expected, abs=0.05)
        assert -0.02 <= value[(name, index)] <= 1.0


def test_an_lhs_lever_with_no_effect_is_not_shown_to_matter_and_a_sobol_sample_of_one_is_flagged() -> None:
    """The raw delta of a parameter the outcome ignores is about 0.1-0.2 over 40 runs: it must not read
    as mattering (it was drawn as a plain bar). Random dummy parameters give the estimator's floor. A
    Sobol sample of one has bootstrap intervals of width 0: no index of it is trusted."""
    import numpy as np
    from SALib.sample import latin

    names = ["a.strong", "a.none"]

    def sweep(design: str, samples: int) -> Sweep:
        return Sweep.model_validate({"base": "unused.yaml", "design": design, "samples": samples, "seed": 9,
                                     "parameters": {name: {"range": [0.0, 1.0]} for name in names},
                                     "outcomes": {"y": {"metric": "prime_share", "at": "2021-06-01"}}})

    problem = {"num_vars": 2, "names": names, "bounds": [[0.0, 1.0]] * 2}
    for runs in (40, 2000):
        x = latin.sample(problem, runs, seed=9)
        y = np.sin(3 * x[:, 0]) + 0.05 * np.random.default_rng(1).normal(size=runs)  # a.none is never read
        indices, _notes = sensitivity.analyze(sweep("lhs", runs), pd.DataFrame(x, columns=names), pd.DataFrame({"y": y}),
                                              seed=1)
        none = indices[(indices["parameter"] == "a.none") & (indices["index"] == "delta")].iloc[0]
        strong = indices[(indices["parameter"] == "a.strong") & (indices["index"] == "delta")].iloc[0]
        assert none["warning"].startswith("no larger than a random dummy parameter's"), (runs, none.to_dict())
        assert strong["warning"] == "" and strong["value"] > none["value"]
        assert any("not shown to matter (delta none" in note for note in _notes)
        assert not any("sample too small" in note for note in _notes) or runs == 40
    x = sobol_sample.sample(problem, 1, calc_second_order=False, seed=1)
    indices, notes = sensitivity.analyze(sweep("sobol", 1), pd.DataFrame(x, columns=names),
                                         pd.DataFrame({"y": np.sin(3 * x[:, 0]) + x[:, 1]}), seed=1)
    assert (indices.loc[indices["value"] != 0, "warning"] != "").all() and notes
    assert "no interval (too few samples)" in " ".join(indices["warning"])
    from sim.report import sweep as report_sweep

    assert report_sweep.DUMMY_FLAG == sensitivity.DUMMY_FLAG  # the report tells the two kinds of warning apart


def test_the_sweep_report_opens_in_a_real_browser_with_no_overlapping_sensitivity_labels(folder: Path) -> None:
    """At 1366x768 the sensitivity panels' labels (parameters, ticks, axis and panel titles) have bounding
    boxes that do not intersect, the small-sample warning shows, and the page has no script errors."""
    from .browser import ARTIFACTS, offline_page

    run_sweep(write_sweep(folder, samples=4), workers=1, out=folder / "out", progress=False)
    with offline_page() as page:
        page.set_viewport_size({"width": 1366, "height": 768})
        page.goto((folder / "out" / "report.html").as_uri())
        page.wait_for_selector("#figure-sensitivity .ytick text")
        boxes = _sensitivity_boxes(page)
        assert any("fee_annual" in b["t"] for b in boxes) and any(b["t"] == "both" for b in boxes), boxes
        assert any(b["t"] == "bar" for b in boxes), boxes
        overlaps = _overlaps(boxes)
        assert overlaps == [], overlaps
        assert page.locator("#sensitivity").get_by_text("Warning: sample too small").count() == 1
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("#sensitivity").screenshot(path=str(ARTIFACTS / "sweep_sensitivity.png"))
        assert page.errors == []


def _sensitivity_boxes(page) -> list[dict]:
    """Bounding boxes of the sensitivity figure's labels (ticks and titles of every panel's axes, panel
    titles) and bars; Plotly names the second panel's classes x2tick, y2title and so on."""
    return page.evaluate("""() => [...document.querySelectorAll(
        '#figure-sensitivity :is(g[class$="tick"] > text, text[class$="title"], .annotation-text, .bars .point > path)')]
        .map(e => { const r = e.getBoundingClientRect();
                    return {t: e.tagName === 'path' ? 'bar' : e.textContent, x: r.x, y: r.y, w: r.width, h: r.height}; })
        .filter(b => b.w > 0 && b.h > 0 && b.t.trim())""")


def _overlaps(boxes: list[dict]) -> list[tuple[str, str]]:
    """Pairs of boxes that intersect (by more than a pixel), leaving out bar against bar."""
    return [(a["t"], b["t"]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
            if "bar" != a["t"] or "bar" != b["t"]
            if a["x"] < b["x"] + b["w"] - 1 and b["x"] < a["x"] + a["w"] - 1
            and a["y"] < b["y"] + b["h"] - 1 and b["y"] < a["y"] + a["h"] - 1]


def test_the_shipped_sobol_sweeps_sensitivity_panels_do_not_overlap_at_1366(tmp_path: Path) -> None:
    """levers_sobol's shape (six long-named levers, three outcomes) with synthetic indices, no simulation:
    at 1366x768 no parameter label, tick or title overlaps another label or a bar."""
    import numpy as np

    from sim.report.sweep import build_sweep_report

    from .browser import offline_page

    sweep, _ = load_sweep(Path(__file__).resolve().parents[1] / "scenarios/sweeps/levers_sobol.yaml")
    names, outcomes = list(sweep.parameters), list(sweep.outcomes)
    rng = np.random.default_rng(0)
    runs = pd.DataFrame({**{n: rng.uniform(size=16) for n in names}, **{o: rng.uniform(size=16) for o in outcomes},
                         "point": range(16), "seed": 1, "error": None})
    indices = pd.DataFrame([{"outcome": o, "parameter": n, "method": "sobol", "index": i, "value": v, "conf": 0.04,
                             "low": v - 0.04, "high": v + 0.04, "warning": ""}
                            for o in outcomes for i in ("S1", "ST") for n, v in zip(names, rng.uniform(0.1, 0.9, len(names)))])
    manifest = {"points": 16, "runs": 16, "seeds": [1], "simulation_seconds": 1.0, "notes": []}
    path = tmp_path / "report.html"
    path.write_text(build_sweep_report(sweep, runs, indices, manifest).html())
    with offline_page() as page:
        page.set_viewport_size({"width": 1366, "height": 768})
        page.goto(path.as_uri())
        page.wait_for_selector("#figure-sensitivity .ytick text")
        boxes = _sensitivity_boxes(page)
        assert sum(b["t"] == "bar" for b in boxes) == len(names) * len(outcomes)
        assert sum(b["t"] == "rural.investment_per_year_usd" for b in boxes) == len(outcomes)
        assert _overlaps(boxes) == []
        assert page.locator("#sensitivity").get_by_text("Warning: sample too small").count() == 0
        assert page.errors == []


def test_sensitivity_warnings_tell_parameters_apart_and_morris_needs_ten_trajectories() -> None:
    """Two fees named by their last word alone could not be told apart; Morris screening from fewer
    than 10 trajectories is marked whatever its bootstrap intervals say."""
    from sim.experiments.sensitivity import MIN_TRAJECTORIES, _judge, short_names

    names = ["walmart.walmart_plus.fee_annual", "amazon.prime.fee_annual", "walmart.express.radius_miles"]
    assert short_names(names) == {names[0]: "walmart_plus.fee_annual", names[1]: "prime.fee_annual",
                                  names[2]: "radius_miles"}
    overshoot = [{"parameter": name, "index": "S1", "value": value, "conf": 0.02} for name, value in
                 zip(names[:2], (0.43, 0.71))]  # levers_sobol's Amazon profit of 4 Dec 2026, 64 samples
    assert _judge(overshoot, "profit", 64, "sobol") == ["profit: WARNING the first-order indices sum to 1.14, more "
                                                        "than the whole variance (samples: 64); their shares are "
                                                        "unreliable; raise samples"]
    assert _judge([dict(row, value=0.5) for row in overshoot], "profit", 64, "sobol") == []
    rows = [{"parameter": name, "index": "S1", "value": 0.3, "conf": 0.5} for name in names[:2]]
    note = _judge(rows, "both", 8, "sobol")[0]
    assert "S1 walmart_plus.fee_annual 0.30 ± 0.50, S1 prime.fee_annual 0.30 ± 0.50" in note
    tight = [{"parameter": name, "index": "mu_star", "value": 0.5, "conf": 0.01} for name in names]
    assert _judge([dict(row) for row in tight], "both", MIN_TRAJECTORIES, "morris") == []
    few = [dict(row) for row in tight]
    note = _judge(few, "both", 2, "morris")[0]
    assert f"Morris needs at least {MIN_TRAJECTORIES} trajectories" in note and "(samples: 2)" in note
    assert all(row["warning"] == f"fewer than {MIN_TRAJECTORIES} trajectories" for row in few)


def test_an_unguarded_script_gets_one_line_not_a_broken_pool(folder: Path) -> None:
    """Worker processes import the script that starts them: a script that calls sim.sweep at its top
    level, without the __main__ guard, is told so in one line (it ended in BrokenProcessPool)."""
    sweep = write_sweep(folder, design="grid", samples=4).read_text().replace("{range: [49, 149]}",
                                                                             "{values: [49, 149]}")
    (folder / "sweep.yaml").write_text(sweep.replace("  walmart.dark_stores.capex_per_store_usd: "
                                                     "{range: [1000000, 90000000]}\n", ""))
    script = folder / "unguarded.py"
    script.write_text("import sim\nsim.sweep('sweep.yaml', workers=2, out='out')\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=folder)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last == ("sim.errors.UserError: a worker process died (killed, out of memory, or it failed to start: see "
                    "any lines above)")
    assert ("sim.errors.UserError: worker processes import the script that starts the job: in a script, call what "
            "starts it (sim.sweep, sim.compare with cores, say) from under 'if __name__ == \"__main__\":'"
            ) in done.stderr, "each worker says why"


def test_a_sweep_from_inside_a_worker_process_is_not_taken_for_an_unguarded_script(monkeypatch) -> None:
    """Only a worker still importing its parent's script is refused (multiprocessing's own test); a
    sweep started from inside a task of another pool (an EMA evaluator, a Dask worker) is not."""
    import multiprocessing

    from sim.errors import UserError
    from sim.jobs.executors import UNGUARDED, executor

    monkeypatch.setattr(multiprocessing, "parent_process", lambda: object())  # a child process, done starting
    with executor(2) as (_pool, count):
        assert count == 2
    monkeypatch.setattr(multiprocessing.current_process(), "_inheriting", True, raising=False)
    with pytest.raises(UserError, match="worker processes import the script"), executor(2):
        pass
    assert "if __name__" in UNGUARDED


def test_the_sweep_file_in_the_docs_validates_as_written(tmp_path: Path) -> None:
    """docs/sweeps.md's example, saved beside the shipped sweeps (its base is ../baseline.yaml), and each
    "other form" it lists, under the design it names."""
    import re

    from .conftest import ROOT

    text = (ROOT / "docs" / "sweeps.md").read_text(encoding="utf-8")
    example = re.search(r"## The sweep file\n\n```yaml\n(.*?)```", text, re.S).group(1)
    shipped = ROOT / "scenarios" / "sweeps"
    path = tmp_path / "x.yaml"
    path.write_text(example.replace("../baseline.yaml", str(shipped.parent / "baseline.yaml")))
    load_sweep(path)
    forms = re.findall(r"#   (\S+): (\{.*\})\s+(grid|random)", example)
    assert len(forms) == 3
    for dotted, form, design in forms:
        changed = example.replace("design: sobol", f"design: {design}").replace("samples: 64", "samples: 4")
        changed = re.sub(r"parameters:.*?\noutcomes:", f"parameters:\n  {dotted}: {form}\noutcomes:", changed, flags=re.S)
        path.write_text(changed.replace("../baseline.yaml", str(shipped.parent / "baseline.yaml")))
        load_sweep(path)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the workers' signal masks from /proc")
def test_a_local_dask_clusters_workers_leave_ctrl_c_to_the_command() -> None:
    """Started with Ctrl-C ignored, the workers keep it so: an interrupt is the first process's alone (it
    ends the cluster and says so in one line), not one traceback per worker. The command handles it again
    once they have started."""
    import signal

    import psutil

    from sim.jobs.executors import executor

    def ignores_interrupts(pid: int) -> bool:
        status = Path(f"/proc/{pid}/status").read_text()
        ignored = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigIgn:")), 16)
        return bool(ignored >> (signal.SIGINT - 1) & 1)

    with executor(workers=2, dask="local") as (_client, count):
        workers = [child.pid for child in psutil.Process().children(recursive=True)
                   if "spawn_main" in " ".join(child.cmdline())]
        assert count == 2 and len(workers) >= 2
        assert all(ignores_interrupts(pid) for pid in workers)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_reports_sensitivity_warning_says_why_in_the_warnings_words() -> None:
    """A Morris sweep of 4 trajectories was said to have indices "outside [0, 1] or with intervals wider than
    themselves"; a Sobol report counted S1 warnings under ST bars."""
    from sim.report.sweep import sensitivity_warning

    rows = [{"outcome": "y", "parameter": f"a.p{k}", "index": index, "value": 1.0, "conf": 0.1,
             "warning": "fewer than 10 trajectories" if index == "mu_star" else ""}
            for k in range(3) for index in ("mu_star", "sigma")]
    text = sensitivity_warning(pd.DataFrame(rows), "mu_star")
    assert "3 of 3 mu_star indices drawn" in text and ": fewer than 10 trajectories (hatched" in text
    sobol = [{"outcome": "y", "parameter": "a.p", "index": "S1", "value": -0.4, "conf": 0.1, "warning": "outside [0, 1]"},
             {"outcome": "y", "parameter": "a.p", "index": "ST", "value": 0.5, "conf": 0.1, "warning": ""}]
    assert sensitivity_warning(pd.DataFrame(sobol), "ST") == ""


def test_a_sweep_extended_with_more_samples_and_replicates_runs_only_the_new_runs(folder: Path, monkeypatch,
                                                                               capsys) -> None:
    """``--reuse``: a Sobol sample's first points and a replicate's seed do not depend on how many there are,
    so the extended sweep's runs that the first one stored are copied, bit for bit, and only the rest run."""
    import sim.jobs.runs as worker

    first = write_sweep(folder, samples=4)  # 4 x 4 points x 2 replicates = 32 runs
    assert main(["sweep", str(first), "--workers", "1", "--out", str(folder / "first"), "--quiet"]) == 0
    extended = folder / "extended.yaml"
    extended.write_text(first.read_text().replace("samples: 4", "samples: 8").replace("replicates: 2", "replicates: 3"))
    real, ran = worker.run, []
    monkeypatch.setattr(worker, "run", lambda scenario, seed=None, **kw: ran.append(seed) or real(scenario, seed=seed, **kw))
    assert main(["sweep", str(extended), "--workers", "1", "--out", str(folder / "more"), "--reuse",
                 str(folder / "first"), "--quiet"]) == 0
    assert f"reused 32 stored runs of {folder / 'first'}" in capsys.readouterr().out
    assert len(ran) == 8 * 4 * 3 - 32, "only the runs the first sweep did not store were run"
    old, new = pd.read_parquet(folder / "first" / RUNS), pd.read_parquet(folder / "more" / RUNS)
    shared = new.merge(old, on="key", suffixes=("", "_first"))
    assert len(shared) == 32 and (shared["point"] == shared["point_first"]).all()
    assert (shared[["both", "walmart_plus"]].to_numpy() == shared[["both_first", "walmart_plus_first"]].to_numpy()).all()
    manifest = (folder / "more" / "manifest.json").read_text()
    assert f'"reused_runs": {{"{folder / "first"}": 32}}' in manifest.replace("\n", "").replace("  ", "")
    # The extended sweep run whole, from nothing, gives the same rows.
    monkeypatch.setattr(worker, "run", real)
    whole = run_sweep(extended, workers=1, out=folder / "whole", progress=False)
    assert whole.runs.equals(new)
    assert list((folder / "first" / "store").glob("*.json")), "the reused folder is read, not changed"


def test_reuse_refuses_folders_whose_runs_are_not_this_sweeps_in_one_line(folder: Path, capsys) -> None:
    path = write_sweep(folder)
    assert main(["sweep", str(path), "--workers", "1", "--out", str(folder / "first"), "--quiet"]) == 0
    before = sorted(p.name for p in (folder / "first" / "store").iterdir())
    other = folder / "other.yaml"
    other.write_text(path.read_text().replace("segment: both, at", "segment: prime_only, at"))
    (folder / "notes").mkdir()
    cases = [
        (other, "first", "--reuse {folder}/first: defines outcome 'both' differently; runs are reused only where"),
        (path, "notes", "--reuse {folder}/notes: no retailsim manifest.json of a sweep, not a sweep's"),
        (path, "missing", "--reuse {folder}/missing: no such folder"),
        (path, "base.yaml", "--reuse {folder}/base.yaml: is not a folder"),
    ]
    for sweep_file, source, message in cases:
        assert main(["sweep", str(sweep_file), "--workers", "1", "--out", str(folder / "new"), "--reuse",
                     str(folder / source), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert message.format(folder=folder) in err and len(err.strip().splitlines()) == 1, err
        assert not (folder / "new").exists(), "refused before the folder is touched"
    assert main(["sweep", str(path), "--workers", "1", "--out", str(folder / "first"), "--reuse",
                 str(folder / "first"), "--quiet"]) == 2
    assert "is the sweep's own folder (--out)" in capsys.readouterr().err
    damaged = folder / "first" / "store" / before[0]
    damaged.write_text("{not json")  # an unreadable record of the other folder is run again, and left where it is
    assert main(["sweep", str(path), "--workers", "1", "--out", str(folder / "again"), "--reuse",
                 str(folder / "first"), "--quiet"]) == 0
    assert f"reused {len(before) - 1} stored runs" in capsys.readouterr().out
    assert damaged.read_text() == "{not json" and not (folder / "first" / "store" / "damaged").exists()
    (folder / "first" / "store").rename(folder / "kept")
    assert main(["sweep", str(path), "--workers", "1", "--out", str(folder / "new"), "--reuse",
                 str(folder / "first"), "--quiet"]) == 2
    assert "holds no stored runs (no store/ folder" in capsys.readouterr().err
    (folder / "kept").rename(folder / "first" / "store")
    manifest = folder / "first" / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"model_version": "', '"model_version": "0.0.1+'))
    assert main(["sweep", str(path), "--workers", "1", "--out", str(folder / "new"), "--reuse",
                 str(folder / "first"), "--quiet"]) == 2
    assert "runs of two model versions are never mixed" in capsys.readouterr().err
    assert sorted(p.name for p in (folder / "first" / "store").iterdir()) == before
