"""``--reuse FOLDER`` on run and compare: a saved run of the same scenario (as resolved) and seed, made by
this model version, is loaded instead of run again, and the results are those of running it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import sim.experiments.replicates as replicates
from sim.cli import main
from sim.results import Result, load_set

BASE = """name: base
population: {shoppers: 300}
horizon: {start: 2021-01-04, end: 2021-12-27, warmup_weeks: 4}
"""
PLUS = BASE.replace("name: base", "name: cheap_plus") + "walmart: {walmart_plus: {fee_annual: 49}}\n"
PRIME = BASE.replace("name: base", "name: dear_prime") + "amazon: {prime: {fee_annual: 179}}\n"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch) -> Path:
    for name, text in (("base", BASE), ("plus", PLUS), ("prime", PRIME)):
        (tmp_path / f"{name}.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def made(monkeypatch) -> list[tuple[str, int]]:
    """The runs actually simulated (in this process: --cores 1), by scenario name and seed."""
    real, runs = replicates.run, []

    def counted(scenario, seed, **kwargs):
        runs.append((scenario.name, seed))
        return real(scenario, seed, **kwargs)

    monkeypatch.setattr(replicates, "run", counted)
    return runs


def compare(*args: str) -> int:
    return main(["compare", *args, "--replicates", "2", "--cores", "1", "--quiet"])


def test_a_second_comparison_loads_the_baselines_runs_and_answers_as_if_it_ran_them(folder: Path, made,
                                                                                     capsys) -> None:
    assert compare("base.yaml", "plus.yaml", "--out", "first") == 0
    assert len(made) == 4
    made.clear()
    assert compare("base.yaml", "prime.yaml", "--out", "second", "--reuse", "first") == 0
    assert "reused 2 saved runs of first" in capsys.readouterr().out
    assert [name for name, _seed in made] == ["dear_prime", "dear_prime"], "only the what-if's runs were run"
    made.clear()
    assert compare("base.yaml", "prime.yaml", "--out", "fresh") == 0
    for name in ("differences.csv", "differences_by_year.csv"):
        assert (folder / "second" / name).read_bytes() == (folder / "fresh" / name).read_bytes()
    second, fresh = load_set(folder / "second"), load_set(folder / "fresh")
    for loaded, made_again in zip(second, fresh):
        assert loaded.timeseries.equals(made_again.timeseries)
    origins = [r.manifest.get("reused_from") for r in second]
    assert origins[0] == str(Path("first/runs/base/seed-2021")) and origins[2:] == [None, None]
    assert origins[1].startswith(str(Path("first/runs/base/seed-"))) and origins[1] != origins[0]


def test_a_run_loaded_from_an_earlier_folder_is_written_as_the_run_itself(folder: Path, made, capsys) -> None:
    assert main(["run", "base.yaml", "--out", "once", "--cores", "1", "--quiet", "--no-report"]) == 0
    assert main(["run", "base.yaml", "--out", "again", "--cores", "1", "--quiet", "--no-report",
                 "--reuse", "once"]) == 0
    assert len(made) == 1 and "reused 1 saved run of once" in capsys.readouterr().out
    assert (folder / "again" / "timeseries.parquet").read_bytes() == (folder / "once" / "timeseries.parquet").read_bytes()
    assert Result.load(folder / "again").timeseries.equals(Result.load(folder / "once").timeseries)
    # A run with --set is another scenario: nothing to load, and the line says why.
    assert main(["run", "base.yaml", "--out", "changed", "--cores", "1", "--quiet", "--no-report",
                 "--reuse", "once", "--set", "walmart.walmart_plus.fee_annual=59"]) == 0
    assert "reused 0 saved runs of once (of its 1: none of its runs has these scenarios" in capsys.readouterr().out
    assert len(made) == 2


def test_runs_of_another_model_version_are_run_again(folder: Path, made, capsys) -> None:
    assert main(["run", "base.yaml", "--out", "once", "--cores", "1", "--quiet", "--no-report"]) == 0
    manifest = folder / "once" / "manifest.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "model_version": "0.0.1+000000000000"}))
    assert main(["run", "base.yaml", "--out", "again", "--cores", "1", "--quiet", "--no-report",
                 "--reuse", "once"]) == 0
    assert "reused 0 saved runs of once (of its 1: 1 made by another model version than" in capsys.readouterr().out
    assert len(made) == 2


@pytest.mark.parametrize("given, message", [
    ("missing", "--reuse missing: no such folder; give a results folder written by retailsim run or compare"),
    ("base.yaml", "--reuse base.yaml: is not a folder; give a results folder"),
    ("empty", "empty: not a results folder (no timeseries.parquet and no manifest.json)"),
])
def test_a_reuse_folder_that_holds_no_results_is_refused_in_one_line_before_any_run(folder: Path, made, capsys,
                                                                                    given: str, message: str) -> None:
    (folder / "empty").mkdir()
    assert compare("base.yaml", "plus.yaml", "--out", "out", "--reuse", given) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert made == [] and not (folder / "out").exists()


def test_a_saved_run_that_is_not_as_written_is_run_again_not_loaded(folder: Path, made, capsys) -> None:
    """A table edited since (its digest differs), a manifest whose hash names another scenario than its own
    (copied from another run), a damaged table: each of those runs is run again, and the line says so."""
    import pandas as pd

    assert compare("base.yaml", "plus.yaml", "--out", "first") == 0
    made.clear()
    runs = folder / "first" / "runs"
    edited = next(path for path in (runs / "base").iterdir() if path.name != "seed-2021") / "timeseries.parquet"
    table = pd.read_parquet(edited)
    table["value"] *= 1.5
    table.to_parquet(edited)
    # The baseline's first run's manifest names another hash, and the what-if's names the baseline's.
    base, what_if = (runs / name / "seed-2021" / "manifest.json" for name in ("base", "cheap_plus"))
    base_hash = json.loads(base.read_text())["scenario_hash"]
    base.write_text(json.dumps({**json.loads(base.read_text()), "scenario_hash": "x"}))
    what_if.write_text(json.dumps({**json.loads(what_if.read_text()), "scenario_hash": base_hash}))
    assert compare("base.yaml", "plus.yaml", "--out", "second", "--reuse", "first") == 0
    assert "reused 1 saved run of first (of its 4: 2 not as written (damaged or edited since; run again))" in \
        capsys.readouterr().out
    assert sorted(made) == [("base", 2021), ("base", int(edited.parent.name.removeprefix("seed-"))),
                            ("cheap_plus", 2021)]
    made.clear()
    assert compare("base.yaml", "plus.yaml", "--out", "fresh") == 0
    assert (folder / "second" / "differences.csv").read_bytes() == (folder / "fresh" / "differences.csv").read_bytes()


def test_reuse_names_a_sweep_folder_for_what_it_is(folder: Path, capsys) -> None:
    (folder / "sweep").mkdir()
    (folder / "sweep" / "manifest.json").write_text(json.dumps({"written_by": "retailsim", "kind": "sweep", "runs": 4}))
    assert compare("base.yaml", "plus.yaml", "--out", "out", "--reuse", "sweep") == 2
    assert "--reuse sweep: is retailsim's sweep folder, not results of run or compare" in capsys.readouterr().err


def test_the_model_version_covers_the_data_the_model_reads_and_how_a_sweep_reads_outcomes() -> None:
    """A run loaded by --reuse (or a sweep resumed) must be of this model: its code, and the state and
    county tables it draws households from (a changed states.csv reused runs of the old one)."""
    from sim.versions import model_files

    files = model_files()
    assert {"model/data/states.csv", "model/data/rural_counties.csv", "model/market.py", "jobs/outcomes.py",
            "results.py"} <= set(files)
    assert not [name for name in files if name.startswith(("report/", "dashboard/", "cli", "experiments/"))]
