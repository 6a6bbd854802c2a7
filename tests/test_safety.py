"""Users' files are safe: output folders, kills at any moment, bounded inputs, strict JSON.

The attack corpus (``tests/test_attack.py``) throws bad inputs at the command line; these tests pin
the rules behind it: what ``--out`` may replace, what a ``kill -9`` may leave, and that every
number of the schema has bounds.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import typing
from pathlib import Path
from types import SimpleNamespace

import annotated_types
import pandas as pd
import pytest
from pydantic import BaseModel

from sim.cli import main
from sim.errors import ScenarioError, UserError
from sim.leftovers import STAGING_MARK, discard, recover
from sim.outputs import kind_of, mark, prepare_output
from sim.results import MANIFEST, RESULT_FILES, RESULT_KINDS, SUMMARY, TIMESERIES, write_json
from sim.run import resolve
from sim.scenario import Scenario, load_scenario
from sim.scenario.paths import _model_in

from .conftest import ROOT


# -- the schema --------------------------------------------------------------------------------
def _numeric_fields(model: type[BaseModel], prefix: str = "") -> typing.Iterator[tuple[str, object]]:
    for name, field in model.model_fields.items():
        inner = _model_in(field.annotation)
        if inner is not None:
            yield from _numeric_fields(inner, f"{prefix}{name}.")
            continue
        if typing.get_origin(field.annotation) is dict:  # a mapping's keys and values, each with its own rules
            for part, kind in zip(("key", "value"), typing.get_args(field.annotation)):
                numeric, *rules = typing.get_args(kind) or (kind,)
                if numeric in (int, float):
                    metadata = [rule for info in rules for rule in getattr(info, "metadata", [info])]
                    yield f"{prefix}{name}.<{part}>", SimpleNamespace(metadata=metadata)
            continue
        kinds = set(typing.get_args(field.annotation)) | {field.annotation}
        if kinds & {int, float} and bool not in kinds:
            yield f"{prefix}{name}", field


def test_every_number_in_the_schema_has_a_lower_and_an_upper_bound() -> None:
    unbounded = []
    for dotted, field in _numeric_fields(Scenario):
        rules = field.metadata
        low = any(isinstance(rule, (annotated_types.Ge, annotated_types.Gt)) for rule in rules)
        high = any(isinstance(rule, (annotated_types.Le, annotated_types.Lt)) for rule in rules)
        if not (low and high):
            unbounded.append(dotted)
    assert unbounded == []
    assert len(list(_numeric_fields(Scenario))) > 100, "the walk reaches the whole schema"


@pytest.mark.parametrize("path, value", [
    ("walmart.walmart_plus.fee_annual", float("nan")),
    ("walmart.walmart_plus.fee_annual", float("inf")),
    ("walmart.walmart_plus.fee_annual", 1e308),
    ("shoppers.weekly_budget_usd.grocery", -150.0),
    ("amazon.assortment.grocery", float("-inf")),
    ("walmart.express.radius_miles", 0.0),
    ("amazon.rural.investment_per_year_usd", 1e15),
    ("population.households.2023", float("nan")),
])
def test_non_finite_negative_and_absurd_numbers_are_refused(path: str, value: float) -> None:
    with pytest.raises(ScenarioError) as caught:
        resolve(Scenario(), {path: value})
    assert caught.value.place == path and "\n" not in str(caught.value)


@pytest.mark.parametrize("changes, place, words", [
    ({"amazon.pricing.floor": 1.2, "amazon.pricing.ceiling": 1.1}, "amazon.pricing", "floor (1.2) must not be above"),
    ({"amazon.rural.end": "2024-01-01"}, "amazon.rural", "must not be before start"),
    ({"horizon.end": "2150-01-01"}, "horizon", "at most 100 are allowed"),
    ({"amazon.rural.projects": [{"name": "x", "opens": "2025-01", "capex_usd": 1e8, "states": ["XX"]}]},
     "amazon.rural.projects[0].states", "'XX' is not a state's USPS code"),
    ({"name": ".."}, "name", "must be 1 to 100 letters, digits"),
    ({"name": "a/b"}, "name", "must be 1 to 100 letters, digits"),
    ({"horizon.start": "1900-01-01", "horizon.end": "1950-01-01"}, "horizon", "warm-up would start before 1900-01-01"),
])
def test_rules_across_fields(changes: dict, place: str, words: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        resolve(Scenario(), changes)
    assert caught.value.place == place and words in caught.value.message


@pytest.mark.parametrize("path, value", [
    ("walmart.walmart_plus.fee_annual", True), ("amazon.assortment.grocery", False),
    ("population.shoppers", True), ("rivals.independent_firms", True),
    ("amazon.prime.churn_floor_per_year", True),  # a share or None
    ("strategy.fee_steps", [True, -10]), ("shoppers.food_at_home_real", {2024: True}),  # inside a list, a mapping
    ("population.households", {2026: True}), ("economics.price_level.index", {2024: False}),
])
def test_yes_or_no_is_not_a_number(path: str, value: bool) -> None:
    """YAML reads ``yes``, ``on`` and ``true`` as booleans; pydantic would take them as 1."""
    with pytest.raises(ScenarioError) as caught:
        resolve(Scenario(), {path: value})
    assert caught.value.place == path and "a number is needed here, not yes, no" in caught.value.message
    assert resolve(Scenario(), {"walmart.pricing.enabled": True}).walmart.pricing.enabled is True  # a switch takes one


def file_error(folder: Path, text: str) -> ScenarioError:
    """The error of loading a scenario file of ``text``."""
    bad = folder / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(bad)
    return caught.value


def test_a_non_finite_number_in_an_event_is_named_as_written(tmp_path: Path) -> None:
    error = file_error(tmp_path, "name: bad\nevents:\n  - date: 2026-01-05\n    set: {amazon.prime.fee_annual: .nan}\n")
    assert error.message == "Input should be a finite number (got nan)"  # not "a valid number (got None)"


def test_a_mapping_without_a_space_after_its_colon_is_named_in_a_file_too(tmp_path: Path) -> None:
    """YAML reads {2024:1} as one key, "2024:1", with no value (and 2024:1 as a base-60 number)."""
    error = file_error(tmp_path, "name: bad\nshoppers:\n  food_at_home_real: {2024:1}\n")
    assert ":3: shoppers.food_at_home_real: write a space after each ':' of a mapping ('2024:1'" in str(error)
    (tmp_path / "fine.yaml").write_text("name: fine\nshoppers:\n  food_at_home_real: {2024: 97.5}\n")
    assert load_scenario(tmp_path / "fine.yaml").shoppers.food_at_home_real[2024] == 97.5


def test_an_event_may_not_set_what_the_households_are_drawn_from(tmp_path: Path) -> None:
    """The households' tastes, budgets and price sensitivity are drawn once: an event would change nothing."""
    error = file_error(tmp_path, "name: bad\nevents:\n  - date: 2026-01-05\n"
                                 "    set: {shoppers.firm_taste_sd_usd.walmart: 50}\n")
    assert ":4: events[0].set.shoppers.firm_taste_sd_usd.walmart: " in str(error)
    assert "'shoppers.firm_taste_sd_usd' is read once, when the households are drawn" in error.message
    # At the top of a scenario, or by --set, it is a value like any other.
    assert resolve(Scenario(), {"shoppers.firm_taste_sd_usd.walmart": 50.0}).shoppers.firm_taste_sd_usd.walmart == 50.0


def test_an_impossible_date_is_one_line_at_its_place(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("bad.yaml").write_text("name: bad\nevents:\n  - date: 2026-02-30\n    set: {amazon.prime.fee_annual: 99}\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario("bad.yaml")
    assert str(caught.value).startswith("bad.yaml:3:") and "'2026-02-30' is not a valid date" in str(caught.value)
    with pytest.raises(ScenarioError, match=r"^--set: horizon.end: cannot read the value '2026-02-30'"):
        main_error(["validate", "bad.yaml", "--set", "horizon.end=2026-02-30"])


def main_error(argv: list[str]) -> None:
    """Parse ``--set`` as the CLI does (validate takes none, so call the parser's helper directly)."""
    from sim.cli_args import parse_assignment

    parse_assignment(argv[-1])


def test_ten_thousand_events_validate_in_linear_time_and_a_bad_last_one_is_found(tmp_path: Path) -> None:
    lines = [f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}", "name: many", "events:"]
    lines += [f"  - {{date: 2025-{k % 12 + 1:02d}-01, set: {{walmart.walmart_plus.fee_annual: {50 + k % 12}}}}}"
              for k in range(10_000)]
    good = tmp_path / "many.yaml"
    good.write_text("\n".join(lines) + "\n")
    started = time.process_time()
    assert len(load_scenario(good).events) == 10_000 + len(load_scenario(ROOT / "scenarios" / "baseline.yaml").events)
    assert time.process_time() - started < 60, "quadratic validation took minutes"
    bad = tmp_path / "bad.yaml"
    bad.write_text("\n".join(lines + ["  - {date: 2026-01-01, set: {amazon.pricing.floor: 3.0}}"]) + "\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(bad)
    assert caught.value.line == 10_004 and "floor (3.0) must not be above ceiling" in caught.value.message


# -- output folders ----------------------------------------------------------------------------
def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_out_refuses_a_folder_retailsim_did_not_write_and_leaves_it_untouched(tiny_yaml: Path, tmp_path: Path,
                                                                               capsys) -> None:
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (project / "notes.txt").write_text("my notes\n")
    before = snapshot(project)
    assert main(["run", str(tiny_yaml), "--out", str(project), "--quiet"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "exists and was not written by retailsim" in error
    assert snapshot(project) == before


@pytest.mark.parametrize("target", ["file", ".", "/", "results/.."])
def test_out_refuses_files_and_names_that_are_not_folders_to_create(target: str, tiny_yaml: Path, tmp_path: Path,
                                                                     monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    Path("file").write_text("keep me\n")
    Path("results").mkdir()
    assert main(["run", str(tiny_yaml), "--out", target, "--quiet"]) == 2
    assert capsys.readouterr().err.startswith(f"retailsim: error: --out {target}:")
    assert Path("file").read_text() == "keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "results", "tiny.yaml"]


@pytest.mark.parametrize("command", [["run", "{tiny}"], ["sweep", "{sweep}"], ["game", "{game}"],
                                     ["export", "{tmp}"], ["export", "{tmp}", "--format", "xlsx"]])
@pytest.mark.parametrize("out, words", [("{long}", "the name 'aaaa"), ("{long}/x", "the folder 'aaaa"),
                                        ("{deep}", "the path is 4,2")])
def test_names_longer_than_the_system_takes_are_one_line_for_every_command(command: list, out: str, words: str,
                                                                           tiny_yaml: Path, tmp_path: Path,
                                                                           monkeypatch, capsys) -> None:
    """The system's 'File name too long' was a traceback for sweep, game, calibrate, export and a long name
    above the folder of run's --out."""
    monkeypatch.chdir(tmp_path)
    values = {"tiny": tiny_yaml, "sweep": ROOT / "scenarios" / "sweeps" / "fee_grid.yaml", "tmp": tmp_path,
              "game": ROOT / "scenarios" / "games" / "membership_fees.yaml", "long": "a" * 300,
              "deep": "/".join(["b" * 200] * 21)}
    argv = [part.format(**values) for part in [*command, "--out", out]]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("retailsim: error: --out: ") and words in err and err.count("\n") == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.yaml"]


def test_an_export_beside_a_results_folder_of_a_long_name_is_written(tiny_yaml: Path, tmp_path: Path,
                                                                      monkeypatch, capsys) -> None:
    """run takes names up to 200 bytes, and an export's default name adds five: the export was refused,
    blaming an --out the user never gave."""
    monkeypatch.chdir(tmp_path)
    name = "r" * 200
    assert main(["run", str(tiny_yaml), "--out", name, "--quiet", "--no-report"]) == 0
    assert main(["export", name, "--format", "xlsx"]) == 0 and main(["export", name]) == 0
    assert (tmp_path / f"{name}.xlsx").is_file() and (tmp_path / f"{name}-csv" / "summary.csv").is_file()
    assert main(["export", "q" * 240]) == 2
    assert "the export's default name (beside the results folder; give --out): the name" in capsys.readouterr().err


def test_out_replaces_its_own_results_and_says_so_but_not_a_folder_with_other_files(tiny_yaml: Path, tmp_path: Path,
                                                                                   capsys) -> None:
    out = tmp_path / "out"
    assert main(["run", str(tiny_yaml), "--out", str(out), "--quiet", "--no-report"]) == 0
    assert "replaced" not in capsys.readouterr().out
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["written_by"] == "retailsim" and manifest["kind"] == "run"
    assert main(["run", str(tiny_yaml), "--out", str(out), "--quiet", "--seed", "9"]) == 0
    assert f"replaced: the earlier results in {out}" in capsys.readouterr().out
    assert json.loads((out / MANIFEST).read_text())["seed"] == 9 and (out / "report.html").is_file()
    (out / "notes.txt").write_text("mine\n")
    assert main(["run", str(tiny_yaml), "--out", str(out), "--quiet"]) == 2
    assert "holds notes.txt, which retailsim did not write" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "mine\n"


def test_out_refuses_a_results_folder_with_anything_of_the_users_inside_its_runs(tiny_yaml: Path, tmp_path: Path,
                                                                                  capsys) -> None:
    """A set of runs keeps each run in ``runs/<scenario>/seed-<seed>/``: a file, a folder or a link
    a user put anywhere in that tree stops a replacement before any work, and is kept."""
    out = tmp_path / "out"
    assert main(["run", str(tiny_yaml), "--out", str(out), "--quiet", "--no-report", "--replicates", "2"]) == 0
    run = next((out / "runs").glob("*/seed-*"))
    users = {run / "notes.txt": run.relative_to(out).as_posix() + "/notes.txt",
             out / "runs" / "mine" / "data.csv": "runs/mine/data.csv",
             run.parent / "analysis.txt": run.parent.relative_to(out).as_posix() + "/analysis.txt",
             out / "runs" / "empty": "runs/empty/"}
    for path, shown in users.items():
        if path.name == "empty":
            path.mkdir()
        else:
            path.parent.mkdir(exist_ok=True)
            path.write_text("mine\n")
        before = snapshot(out)
        capsys.readouterr()
        assert main(["run", str(tiny_yaml), "--out", str(out), "--quiet", "--no-report", "--replicates", "2"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"holds {shown}, which retailsim did not write" in err, err
        assert snapshot(out) == before and (path.is_dir() if path.name == "empty" else path.read_text() == "mine\n")
        if path.name == "empty":
            path.rmdir()
        else:
            path.unlink()
            if not any(path.parent.iterdir()):
                path.parent.rmdir()
    (run / "link").symlink_to(tmp_path)
    assert main(["run", str(tiny_yaml), "--out", str(out), "--quiet", "--no-report", "--replicates", "2"]) == 2
    assert "link, which retailsim did not write" in capsys.readouterr().err
    (run / "link").unlink()
    assert main(["run", str(tiny_yaml), "--out", str(out), "--quiet", "--no-report", "--replicates", "2"]) == 0


def test_a_scenario_named_dot_cannot_replace_the_reports_folder(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reports" / "earlier").mkdir(parents=True)
    Path("dot.yaml").write_text("name: .\n")
    assert main(["run", "dot.yaml", "--quiet"]) == 2
    assert "dot.yaml:1: name: must be 1 to 100 letters, digits" in capsys.readouterr().err
    assert (tmp_path / "reports" / "earlier").is_dir()


def test_the_output_folder_is_checked_before_the_simulation(tiny_yaml: Path, tmp_path: Path, monkeypatch) -> None:
    ran = []
    monkeypatch.setattr("sim.cli.run_all", lambda *args: ran.append(args) or [])
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "x").write_text("x")
    assert main(["run", str(tiny_yaml), "--out", str(tmp_path / "foreign"), "--quiet"]) == 2
    assert main(["compare", str(tiny_yaml), str(tiny_yaml), "--out", str(tmp_path / "c"), "--quiet"]) == 2
    assert ran == []


def test_size_limits_are_refused_up_front(tiny_yaml: Path, capsys) -> None:
    assert main(["run", str(tiny_yaml), "--replicates", "1000000000"]) == 2
    assert "argument --replicates: must be from 1 to 1,000," in capsys.readouterr().err
    assert main(["compare", str(tiny_yaml), str(tiny_yaml), "--replicates", "600", "--set", "name=x"]) == 2
    assert "scenario names must differ" in capsys.readouterr().err
    assert main(["run", str(tiny_yaml), "--shoppers", "5000000", "--set", "horizon.end=2100-01-01",
                 "--replicates", "3"]) == 2
    assert "household-weeks" in capsys.readouterr().err
    assert main(["run", str(tiny_yaml), "--seed", "-1"]) == 2
    assert "argument --seed: must be from 0 to" in capsys.readouterr().err


def test_leftovers_of_killed_writes_are_recovered_on_the_next_start(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    target = tmp_path / "out"

    def folder(path: Path, kind: str | None = "run", staging: bool = False) -> Path:
        path.mkdir()
        if kind:
            write_json(path / MANIFEST, mark({"seed": 1, "scenario": {}, "scenario_hash": "x"}, kind))
        if staging:
            (path / STAGING_MARK).touch()
        return path

    # Killed between the two renames of a swap: the earlier folder, parked, goes back in place.
    folder(tmp_path / f".out.old-{pid}")
    assert recover(target) == [f"restored {target} from an interrupted write"]
    assert kind_of(target) == "run"
    # Killed after the swap, or while staging: leftovers of ours are removed, foreign look-alikes kept.
    folder(tmp_path / f".out.old-{pid}")
    folder(tmp_path / f".out.tmp-{pid}-0123abcd", kind=None, staging=True)
    folder(tmp_path / f".out.tmp-{pid}-89abcdef", kind=None)
    assert len(recover(target)) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [f".out.tmp-{pid}-89abcdef", "out"]
    # A live process's staging folder is left alone.
    folder(tmp_path / f".out.tmp-{os.getpid()}-00000000", kind=None, staging=True)
    assert recover(target) == []
    # ``retailsim report`` killed while writing report.html: its temporary file goes, the folder stays usable.
    (target / f".report.html.tmp-{pid}").write_text("<html>")
    assert prepare_output(target, RESULT_KINDS, contents=RESULT_FILES) == "run"
    assert sorted(p.name for p in target.iterdir()) == [MANIFEST]


class Killed(BaseException):
    """A kill -9 in the middle of a removal (the removal stops there; nothing after it runs)."""


def test_earlier_results_being_removed_stay_ours_wherever_a_kill_stops_the_removal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After a swap the earlier results sit under the staging name until they are removed; a kill
    during that removal must leave a folder the next start recognises and cleans up (before, the
    manifest could go first and the rest stay for good). Only a kill between the last two calls
    leaves an empty folder."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    target, leftover = tmp_path / "out", tmp_path / f".out.tmp-{int(dead.stdout)}-0123abcd"
    removals = [os.unlink, os.rmdir]

    def earlier_results() -> None:
        (leftover / "runs" / "base" / "seed-1").mkdir(parents=True)
        write_json(leftover / MANIFEST, mark({"runs": []}, "set"))
        for name in ("report.html", "differences.csv", "runs/base/seed-1/timeseries.parquet"):
            (leftover / name).write_text("x")

    for stop in range(1, 12):
        earlier_results()
        calls = []

        def counted(real):
            def remove(path, *args, **kwargs):
                calls.append(path)
                if len(calls) == stop:
                    raise Killed
                return real(path, *args, **kwargs)
            return remove

        monkeypatch.setattr(os, "unlink", counted(removals[0]))
        monkeypatch.setattr(os, "rmdir", counted(removals[1]))
        try:
            discard(leftover)
        except Killed:
            pass
        monkeypatch.undo()
        empty_at_the_end = leftover.exists() and not any(leftover.iterdir())
        recover(target)
        assert not leftover.exists() or (empty_at_the_end and stop == len(calls)), (stop, calls)
        if leftover.exists():
            leftover.rmdir()
    assert len(calls) < stop  # every step of the removal was stopped once, and then it ran to its end


def test_two_saves_to_one_folder_at_once_leave_one_complete_result(tiny_yaml: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    command = [sys.executable, "-m", "sim.cli", "run", str(tiny_yaml), "--out", str(out), "--quiet", "--no-report"]
    processes = [subprocess.Popen(command + ["--seed", str(seed)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for seed in (1, 2)]
    outputs = [process.communicate(timeout=120) for process in processes]
    codes = [p.returncode for p in processes]
    assert sorted(codes) in ([0, 0], [0, 2]), [o[1].decode()[-500:] for o in outputs]
    assert json.loads((out / MANIFEST).read_text())["seed"] in (1, 2)
    # A run that found no folder when it began does not replace the other's results: it keeps its own beside.
    kept = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("out.new-"))
    assert len(kept) == codes.count(2) and sorted(p.name for p in tmp_path.iterdir()) == ["out", *kept, "tiny.yaml"]
    for name in kept:
        assert json.loads((tmp_path / name / MANIFEST).read_text())["seed"] in (1, 2)


def test_json_outputs_are_strict(tmp_path: Path) -> None:
    write_json(tmp_path / "x.json", {"share": float("nan"), "nested": [1.0, float("inf")]})
    text = (tmp_path / "x.json").read_text()
    assert json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in JSON")) == {
        "share": None, "nested": [1.0, None]}


# -- kill -9 at random moments -----------------------------------------------------------------
def _complete(out: Path) -> bool:
    """A whole results folder: readable table, strict manifest and summary, and the report."""
    manifest = json.loads((out / MANIFEST).read_text())
    runs = [out / run["path"] for run in manifest["runs"]] if "runs" in manifest else [out]
    for run in runs:
        assert list(pd.read_parquet(run / TIMESERIES).columns)[0] == "date"
        json.loads((run / SUMMARY).read_text(), parse_constant=lambda name: pytest.fail(name))
    return (out / "report.html").read_text().rstrip().endswith("</html>")


@pytest.mark.parametrize("command", ["run", "compare"])
def test_kill_9_at_any_moment_leaves_the_earlier_result_or_the_new_one(command: str, tiny_yaml: Path,
                                                                       tmp_path: Path) -> None:
    out = tmp_path / "out"
    what_if = tmp_path / "what_if.yaml"
    what_if.write_text(f"extends: {tiny_yaml.name}\nname: what_if\nwalmart: {{walmart_plus: {{fee_annual: 49}}}}\n")
    args = [str(tiny_yaml)] + ([str(what_if), "--replicates", "2"] if command == "compare" else [])
    base = [sys.executable, "-m", "sim.cli", command, *args, "--out", str(out), "--quiet", "--shoppers", "100"]
    started = time.perf_counter()
    subprocess.run(base + ["--seed", "1"], check=True, capture_output=True)
    whole = time.perf_counter() - started
    earlier = snapshot(out)
    chance = random.Random(12)
    outcomes = []
    for attempt in range(4):
        process = subprocess.Popen(base + ["--seed", str(attempt + 2)], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        # Most kills land late in the command, where the results and report are written and swapped.
        time.sleep(whole * (0.5 + 0.6 * chance.random()))
        process.send_signal(signal.SIGKILL)
        process.wait()
        prepare_output(out, RESULT_KINDS, contents=RESULT_FILES)  # the next start's clean-up
        now = snapshot(out)
        if now == earlier:
            outcomes.append("earlier")
        else:
            assert _complete(out), f"attempt {attempt}: a half-written folder"
            outcomes.append("new")
            earlier = now
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == [], "leftovers"
    assert outcomes, outcomes


def test_a_folder_that_changes_while_the_command_works_is_not_replaced(tmp_path: Path, tiny_yaml: Path,
                                                                        monkeypatch, capsys) -> None:
    """--out is checked before any work and replaced at the end; a file put there in between (the run
    can last hours) is kept, and the new results land beside it, named in one line."""
    import sim.cli
    from sim.swap import staging

    out = tmp_path / "out"
    assert prepare_output(out, RESULT_KINDS) is None
    out.mkdir()
    (out / "notes.txt").write_text("user work")
    with pytest.raises(Exception, match=r"exists and was not written by retailsim .*\(it changed while retailsim "
                                        r"worked; the new results are in .*out\.new-"):
        with staging(out) as folder:
            write_json(folder / MANIFEST, mark({}, "run"))
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("out.new-")]
    assert len(kept) == 1 and kind_of(kept[0]) == "run" and not (kept[0] / STAGING_MARK).exists()

    # The command: a note added to the earlier results while the run simulates.
    assert main(["run", str(tiny_yaml), "--out", str(out := tmp_path / "run"), "--quiet", "--no-report"]) == 0
    simulate = sim.cli.run_all

    def meanwhile(*args, **kwargs):
        (out / "notes.txt").write_text("added during the run")
        return simulate(*args, **kwargs)

    monkeypatch.setattr(sim.cli, "run_all", meanwhile)
    capsys.readouterr()
    assert main(["run", str(tiny_yaml), "--out", str(out), "--quiet", "--no-report"]) == 2
    assert (f"--out {out}: holds notes.txt, which retailsim did not write; move it out or choose a new --out (it "
            "changed while retailsim worked; the new results are in") in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "added during the run" and kind_of(out) == "run"


def test_out_inside_a_retailsim_folder_is_refused(tmp_path: Path, tiny_yaml: Path, capsys) -> None:
    """A run written into a comparison's runs tree (or a sweep's folder) would be taken for one of its
    runs; through a symbolic link too. Refused before any work."""
    compared = tmp_path / "cmp"
    cheap = tmp_path / "cheap.yaml"
    cheap.write_text(f"extends: {tiny_yaml}\nname: cheap\nwalmart: {{walmart_plus: {{fee_annual: 49}}}}\n")
    assert main(["compare", str(tiny_yaml), str(cheap), "--replicates", "1", "--quiet", "--out", str(compared)]) == 0
    before = {p: p.stat().st_mtime_ns for p in compared.rglob("*")}
    (tmp_path / "link").symlink_to(compared)
    capsys.readouterr()
    for out in [compared / "runs" / "tiny" / "seed-2021", compared / "runs" / "mine", tmp_path / "link" / "mine"]:
        assert main(["run", str(cheap), "--out", str(out), "--quiet", "--no-report"]) == 2
        assert f"lies inside {compared}, retailsim's results (a comparison or replicates) folder" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "link"), "--format", "xlsx", "--out", str(compared / "x.xlsx")]) == 2
    assert {p: p.stat().st_mtime_ns for p in compared.rglob("*")} == before


def test_a_mount_point_at_out_is_refused_before_any_work(tmp_path: Path, tiny_yaml: Path, monkeypatch, capsys) -> None:
    """A folder is replaced whole, by renaming; an empty mount point passed the check and failed at the swap."""
    mounted = tmp_path / "mnt"
    mounted.mkdir()
    real = os.path.ismount
    monkeypatch.setattr(os.path, "ismount", lambda path: Path(path) == mounted or real(path))
    assert main(["run", str(tiny_yaml), "--out", str(mounted), "--quiet", "--no-report"]) == 2
    assert "is a mount point, which retailsim cannot replace; give a folder in it" in capsys.readouterr().err
    assert list(mounted.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["mnt", "tiny.yaml"]


def test_a_swap_the_system_refuses_keeps_both_folders_and_says_where_the_new_one_is(
        tmp_path: Path, tiny_yaml: Path, monkeypatch, capsys) -> None:
    """An immutable folder (or another user's in a sticky folder) cannot be renamed: the swap failed with
    a traceback and left the new results hidden, where the next command removed them as a leftover."""
    import errno

    import sim.swap

    out = tmp_path / "out"
    assert main(["run", str(tiny_yaml), "--out", str(out), "--quiet", "--no-report"]) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def refused(first, second):
        raise OSError(errno.EPERM, os.strerror(errno.EPERM), str(second))

    monkeypatch.setattr(sim.swap, "_exchange", refused)
    assert main(["run", str(tiny_yaml), "--out", str(out), "--quiet", "--no-report", "--seed", "7"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("out.new-")]
    assert len(err) == 1 and len(kept) == 1, (err, kept)
    assert err[0].endswith(f"--out {out}: the system refused to replace it (Operation not permitted); it is left "
                           f"as it was, and the new results are in {kept[0]}")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert kind_of(kept[0]) == "run" and not (kept[0] / STAGING_MARK).exists()
    monkeypatch.undo()
    assert main(["run", str(tiny_yaml), "--out", str(out), "--quiet", "--no-report"]) == 0
    assert kept[0].is_dir(), "a later command does not take the kept results for a leftover"


def test_a_report_into_a_folder_it_cannot_write_and_an_out_not_in_utf8_are_one_line(
        tmp_path: Path, tiny_yaml: Path, monkeypatch, capsys) -> None:
    """Both failed with a traceback: ``report`` as it wrote its first file, a run's --out once the run
    had finished (Parquet names files in UTF-8)."""
    import errno
    import tempfile

    out = tmp_path / "out"
    assert main(["run", str(tiny_yaml), "--out", str(out), "--quiet", "--no-report"]) == 0
    before = sorted(out.rglob("*"))

    def refused(*args, **kwargs):
        raise PermissionError(errno.EPERM, os.strerror(errno.EPERM))

    monkeypatch.setattr(tempfile, "mkdtemp", refused)  # as an immutable folder or a read-only mount answers
    assert main(["report", str(out)]) == 2
    assert capsys.readouterr().err.strip().endswith(f"{out}: cannot write the report into it (Operation not "
                                                    "permitted); nothing was written")
    assert sorted(out.rglob("*")) == before
    monkeypatch.undo()
    odd = os.fsdecode(os.fsencode(str(tmp_path)) + b"/bad\xff")
    assert main(["run", str(tiny_yaml), "--out", odd, "--quiet", "--no-report"]) == 2
    assert capsys.readouterr().err.strip().endswith("/bad\\udcff: the path is not UTF-8 text; give a folder whose name is")
    assert not os.path.exists(odd)


def test_results_another_command_wrote_at_a_new_out_meanwhile_are_kept(tmp_path: Path, tiny_yaml: Path,
                                                                      monkeypatch, capsys) -> None:
    """Two runs to one new --out at once: the later one replaced the other's results without a word (it
    had found no folder there). Now it keeps its own beside them, in one line."""
    import importlib

    import shutil

    out, other = tmp_path / "out", tmp_path / "other"
    assert main(["run", str(tiny_yaml), "--out", str(other), "--quiet", "--no-report", "--seed", "3"]) == 0
    results = importlib.import_module("sim.results")
    written = results.save_set

    def meanwhile(*args, **kwargs):  # another process's run finishes at the same --out while this one works
        shutil.copytree(other, out)
        return written(*args, **kwargs)

    monkeypatch.setattr(results, "save_set", meanwhile)
    first = main(["run", str(tiny_yaml), "--out", str(out), "--quiet", "--no-report"])
    err = capsys.readouterr().err
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("out.new-")]
    assert first == 2 and len(kept) == 1, (err, kept)
    assert f"--out {out}: another command wrote its run results there (it changed while retailsim worked; the new " \
           f"results are in {kept[0]})" in err
    assert json.loads((out / "manifest.json").read_text())["seed"] == 3, "the other command's results stay"


def test_from_python_each_save_looks_afresh_and_a_claim_race_leaves_nothing_beside(tmp_path: Path, tiny_yaml: Path,
                                                                                   monkeypatch) -> None:
    """An export that failed after its first look (a typo) left that look behind, and a later save from
    the same process refused its own earlier results as another command's. Two jobs claiming one new
    folder at once: the loser left a folder of a 'running' manifest beside it, named as results."""
    import sim
    from sim import outputs
    from sim.jobs.folders import claim

    import shutil

    result = sim.run(tiny_yaml, shoppers=100, seed=5)
    out = tmp_path / "r.v2"
    outputs.prepare_output(out, ("run",), "--out")  # a first look that no write follows (the call failed)
    sim.run(tiny_yaml, shoppers=100, seed=6).save(tmp_path / "other")
    shutil.copytree(tmp_path / "other", out)  # then a run of seed 6 written there, as by the command line
    result.save(out)  # from Python, a save looks afresh: a run folder it finds is replaced
    assert json.loads((out / MANIFEST).read_text())["seed"] == 5 and not [p for p in tmp_path.iterdir()
                                                                         if ".new-" in p.name]

    # Two claims of one new folder: the second finds the first's manifest when it swaps its own in.
    race = tmp_path / "race"
    real = outputs.may_write

    def first_claims_meanwhile(folder, *args):
        found = real(folder, *args)
        if folder == race and not race.exists():
            monkeypatch.setattr(outputs, "may_write", real)
            claim(race, "sweep", {"fingerprint": "theirs"}, [], "the fingerprint")
        return found

    monkeypatch.setattr(outputs, "may_write", first_claims_meanwhile)
    monkeypatch.setattr(outputs, "ONE_COMMAND", True)
    with pytest.raises(UserError, match=r"another command wrote its sweep results there \(another command began "
                                        r"there at the same time; run the same command again to resume it\)$"):
        claim(race, "sweep", {"fingerprint": "mine"}, [], "the fingerprint")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("race")) == ["race"]
    assert json.loads((race / "manifest.json").read_text())["fingerprint"] == "theirs"
    # Kept beside: a folder's name is kept whole (a dot in it is no suffix), a file keeps its suffix last.
    from sim.swap import keep_beside

    (tmp_path / "done").mkdir()
    (tmp_path / "book.tmp").write_text("x")
    assert re.fullmatch(r"res\.v2\.new-\d+-[0-9a-f]{4}", keep_beside(tmp_path / "done", tmp_path / "res.v2").name)
    assert re.fullmatch(r"book\.new-\d+-[0-9a-f]{4}\.xlsx", keep_beside(tmp_path / "book.tmp", tmp_path / "book.xlsx").name)


def test_a_folder_under_one_of_retailsims_file_names_is_not_replaced(tmp_path: Path, tiny_yaml: Path, capsys) -> None:
    """A results folder may be replaced whole only if it holds what retailsim wrote: a name is not enough
    (a folder of notes called report.html was deleted with the folder it sat in)."""
    out = tmp_path / "out"
    assert main(["run", str(tiny_yaml), "--out", str(out), "--quiet"]) == 0
    (out / "report.html").unlink()
    (out / "report.html").mkdir()
    (out / "report.html" / "notes.txt").write_text("precious")
    assert main(["run", str(tiny_yaml), "--out", str(out), "--quiet", "--no-report"]) == 2
    assert f"--out {out}: holds report.html (a folder), which retailsim did not write" in capsys.readouterr().err
    assert (out / "report.html" / "notes.txt").read_text() == "precious"
    (out / "report.html" / "notes.txt").unlink()
    (out / "report.html").rmdir()
    (out / "report.html").symlink_to(tiny_yaml)
    assert main(["run", str(tiny_yaml), "--out", str(out), "--quiet", "--no-report"]) == 2
    assert "holds report.html (a symbolic link), which retailsim did not write" in capsys.readouterr().err


@pytest.mark.parametrize("text, words", [
    ("seed: 017\n", "seed: '017' is an octal number to YAML (15)"),
    ("walmart: {walmart_plus: {fee_annual: 1:19}}\n", "walmart.walmart_plus.fee_annual: '1:19' is a base-60 number to YAML (79)"),
])
def test_numbers_yaml_reads_otherwise_than_they_look_are_refused(tmp_path: Path, text: str, words: str) -> None:
    """YAML 1.1 reads 017 as 15 and 1:19 as 79 (as it reads yes as true): refused at their line, and in --set."""
    path = tmp_path / "s.yaml"
    path.write_text("name: s\n" + text)
    with pytest.raises(ScenarioError, match=re.escape(f"s.yaml:2: {words}")):
        load_scenario(path)
    path.write_text('name: s\ndescription: "017"\nseed: 17\n')
    assert load_scenario(path).seed == 17  # quoted text and plain digits are fine


def test_two_events_of_one_file_that_set_a_path_otherwise_on_one_date_are_refused(tmp_path: Path) -> None:
    """Which would hold depended on the order they were listed in; a child file's event on its parent's date
    overrides it, as before (events accumulate, the child's after)."""
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nevents:\n  - {date: 2021-03-01, set: {amazon.prime.fee_annual: 99}}\n"
                    "  - {date: 2021-03-01, set: {amazon.prime.fee_annual: 199}}\n")
    with pytest.raises(ScenarioError, match=r"s.yaml:4: events\[1\].set.amazon.prime.fee_annual: an earlier event of "
                                            r"this file on 2021-03-01 sets it to 99, this one to 199"):
        load_scenario(path)
    path.write_text("name: s\nevents:\n  - {date: 2021-03-01, set: {amazon.prime.fee_annual: 99}}\n")
    child = tmp_path / "child.yaml"
    child.write_text(f"extends: {path}\nname: c\nevents:\n  - {{date: 2021-03-01, set: {{amazon.prime.fee_annual: 199}}}}\n")
    assert [event.set["amazon.prime.fee_annual"] for event in load_scenario(child).events] == [99, 199]


def test_huge_values_make_short_error_lines(tmp_path: Path, capsys) -> None:
    """A 200,000-character description made a 200 KB error line; a 5,000-digit number a traceback (Python
    reads at most 4,300 digits)."""
    path = tmp_path / "s.yaml"
    path.write_text("name: s\ndescription: " + "a" * 200_000 + "\n")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err) < 300 and "(200,002 characters)" in err
    path.write_text("name: s\nseed: " + "9" * 5000 + "\n")
    assert main(["validate", str(path)]) == 2
    assert "seed: a number written with 5,000 characters" in capsys.readouterr().err
    path.write_text("name: s\npopulation: {shoppers: 300}\n")
    assert main(["run", str(path), "--set", "walmart.walmart_plus.fee_annual=" + "9" * 100_000,
                 "--out", str(tmp_path / "out")]) == 2
    assert "a number written with 100,000 characters" in capsys.readouterr().err


def test_an_event_the_command_line_dates_outside_a_files_horizon_is_refused_at_once(tmp_path: Path, capsys) -> None:
    """The event is the command line's, the horizon a child file's: refused in one line before any run. (A
    parent's events that a child's horizon leaves out are fitted to it instead: tests/test_scenario.py.)"""
    child = tmp_path / "short.yaml"
    child.write_text(f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}\nname: short\n"
                     "horizon: {start: 2021-01-04, end: 2021-12-27}\n")
    assert main(["run", str(child), "--set", "walmart.walmart_plus.fee_annual@2022-03-07=79", "--shoppers", "100",
                 "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "walmart.walmart_plus.fee_annual@2022-03-07: date 2022-03-07 is outside the horizon" in err, err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_an_event_that_sets_a_block_whole_says_how_to_set_one_key(tmp_path: Path) -> None:
    path = tmp_path / "pb.yaml"
    path.write_text("name: pb\nevents:\n  - {date: 2021-03-01, set: {amazon.prime: {fee_annual: 149}}}\n")
    with pytest.raises(ScenarioError, match=r"required key is missing \(an event sets the block amazon.prime whole; "
                                            r"to change one of its keys, set it by its path: amazon.prime.KEY: VALUE\)"):
        load_scenario(path)


def test_same_date_events_are_compared_per_file_and_as_read(tmp_path: Path) -> None:
    """A child's own two events clash even where its parent sets that path that day too (the parent's value
    hid them); 149 and "149" are the same value."""
    parent = tmp_path / "parent.yaml"
    parent.write_text("name: p\nevents:\n  - {date: 2021-03-01, set: {amazon.prime.fee_annual: 139}}\n")
    child = tmp_path / "child.yaml"
    child.write_text(f"extends: {parent}\nname: c\nevents:\n  - {{date: 2021-03-01, set: {{amazon.prime.fee_annual: 149}}}}\n"
                     "  - {date: 2021-03-01, set: {amazon.prime.fee_annual: 159}}\n")
    with pytest.raises(ScenarioError, match="child.yaml:5: .*sets it to 149, this one to 159"):
        load_scenario(child)
    child.write_text(f"extends: {parent}\nname: c\nevents:\n  - {{date: 2021-03-01, set: {{amazon.prime.fee_annual: 149}}}}\n"
                     "  - {date: 2021-03-01, set: {amazon.prime.fee_annual: '149'}}\n")
    assert len(load_scenario(child).events) == 3
    path = tmp_path / "zero.yaml"
    path.write_text("name: z\nseed: 00\n")
    assert load_scenario(path).seed == 0  # 00 is 0 in any base


def test_the_first_problem_down_the_file_is_the_one_named(tmp_path: Path) -> None:
    """Of two bad values, the one higher in the file is named (pydantic's order named a later line first)."""
    path = tmp_path / "two.yaml"
    path.write_text("name: x\nshoppers:\n  price_sigma: xyz\nseed: abc\n")
    with pytest.raises(ScenarioError, match=r"two.yaml:3: shoppers.price_sigma"):
        load_scenario(path)


def test_a_linked_file_that_is_not_a_scenario_names_the_file_that_linked_it(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text("just text\n")
    (tmp_path / "child.yaml").write_text("extends: base.yaml\nname: c\n")
    with pytest.raises(ScenarioError, match=r"base.yaml: a scenario file must be a mapping of keys to values "
                                            r"\(named by .*child.yaml:1, extends:\)"):
        load_scenario(tmp_path / "child.yaml")
