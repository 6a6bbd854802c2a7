"""The command line as a user meets it: outputs, exit codes, one-line errors, nothing half-written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import pandas as pd

from sim.cli import main
from sim.results import MANIFEST, SUMMARY, TIMESERIES

COLUMNS = ["date", "metric", "firm", "category", "locale", "segment", "value"]


def test_run_writes_the_three_files(tiny_yaml: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["run", str(tiny_yaml), "--out", str(out), "--seed", "5", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert f"results: {out}" in printed
    timeseries = pd.read_parquet(out / TIMESERIES)
    assert list(timeseries.columns) == COLUMNS
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["seed"] == 5 and manifest["scenario"]["name"] == "tiny"
    assert len(manifest["scenario_hash"]) == 64 and manifest["package_version"]
    assert manifest["run_seconds"] > 0
    summary = json.loads((out / SUMMARY).read_text())
    assert abs(sum(summary["spend_share"].values()) - 1) < 1e-9
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "tiny.yaml"], "no staging folders left"


def test_default_output_folder_is_reports_scenario_name(tiny_yaml: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(tiny_yaml), "--quiet", "--shoppers", "100"]) == 0
    assert (tmp_path / "reports" / "tiny" / TIMESERIES).is_file()
    manifest = json.loads((tmp_path / "reports" / "tiny" / MANIFEST).read_text())
    assert manifest["shoppers"] == 100


def test_bad_scenario_exits_2_with_one_line_and_writes_nothing(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "typo.yaml").write_text("name: typo\nwalmart:\n  walmart_plus:\n    fe_annual: 79\n")
    assert main(["run", "typo.yaml", "--out", "out", "--quiet"]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == (
        "retailsim: error: typo.yaml:4: walmart.walmart_plus.fe_annual: unknown key 'fe_annual'; "
        "did you mean 'fee_annual'?"
    )
    assert "Traceback" not in captured.err
    assert not (tmp_path / "out").exists()


def test_failed_run_keeps_the_previous_results(tiny_yaml: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["run", str(tiny_yaml), "--out", str(out), "--quiet"]) == 0
    before = (out / TIMESERIES).read_bytes()
    assert main(["run", str(tiny_yaml), "--out", str(out), "--quiet", "--set", "amazon.prime.fee_annual=-1"]) == 2
    assert "--set: amazon.prime.fee_annual" in capsys.readouterr().err
    assert (out / TIMESERIES).read_bytes() == before


def test_set_parses_yaml_values(tiny_yaml: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["run", str(tiny_yaml), "--out", str(out), "--quiet",
                 "--set", "walmart.health.clinics_open=false", "--set", "amazon.ads.dsp_deal=2021-02"]) == 0
    scenario = json.loads((out / MANIFEST).read_text())["scenario"]
    assert scenario["walmart"]["health"]["clinics_open"] is False
    assert scenario["amazon"]["ads"]["dsp_deal"] == "2021-02-01"


@pytest.mark.parametrize("setting", ["calibration=/etc/passwd", "extends=other.yaml"])
def test_set_refuses_what_is_read_with_the_file(tiny_yaml: Path, tmp_path: Path, capsys, setting: str) -> None:
    assert main(["run", str(tiny_yaml), "--out", str(tmp_path / "out"), "--quiet", "--set", setting]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--set: {setting.split('=')[0]}: is read with the scenario file" in err, err
    assert not (tmp_path / "out").exists()


def test_a_compare_set_that_takes_a_what_ifs_own_lever_away_is_a_warning(tiny_yaml: Path, tmp_path: Path,
                                                                           capsys) -> None:
    """--set changes every scenario alike: dated at the what-if's own cut, it left the two runs equal in the fee
    and the comparison showed 0.00 without a word. A --set the what-if does not change is not mentioned."""
    base = tmp_path / "base.yaml"
    base.write_text(tiny_yaml.read_text().replace("name: tiny", "name: base").split("events:")[0])
    out = tmp_path / "out"
    argv = ["compare", str(base), str(tiny_yaml), "--replicates", "1", "--out", str(out), "--quiet"]
    assert main([*argv, "--set", "walmart.walmart_plus.fee_annual@2021-03-01=98", "--set",
                 "amazon.prime.fee_annual=99"]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warned == ["retailsim: warning: --set walmart.walmart_plus.fee_annual@2021-03-01 sets "
                      "walmart.walmart_plus.fee_annual in the baseline and every what-if alike, over tiny's own change "
                      "of it: tiny no longer differs from base in it; to change one scenario, write the change in its file"]
    assert main([*argv, "--set", "walmart.walmart_plus.fee_annual@2021-04-01=98"]) == 0  # the cut still runs a month
    assert "no longer differs" not in capsys.readouterr().err


def test_a_set_of_a_whole_block_is_a_warning_naming_the_path_to_use(tiny_yaml: Path, tmp_path: Path, capsys) -> None:
    """--set memberships={taste_sd_usd: 50} replaced the block whole: its other keys took their defaults (the
    calibrated Walmart+ liking among them) without a word. One key by its path says nothing."""
    out = tmp_path / "out"
    assert main(["run", str(tiny_yaml), "--out", str(out), "--quiet", "--no-report",
                 "--set", "memberships={taste_sd_usd: 50}"]) == 0
    assert ("retailsim: warning: --set memberships sets the block memberships whole: the keys it does not name take "
            "their defaults, not the scenario's; to change one key, give it by its path (--set "
            "memberships.taste_sd_usd=...)") in capsys.readouterr().err
    assert main(["run", str(tiny_yaml), "--out", str(out), "--quiet", "--no-report",
                 "--set", "memberships.taste_sd_usd=50", "--set", "economics.price_level.index={2024: 313.689, 2030: 400}"]) == 0
    assert "warning" not in capsys.readouterr().err
    import sim

    with pytest.warns(UserWarning, match=r"overrides memberships sets the block memberships whole: .* give it by its "
                                         r"path \('memberships.taste_sd_usd'\)"):
        sim.run(tiny_yaml, overrides={"memberships": {"taste_sd_usd": 50}})


def test_the_alike_check_reads_the_weeks_the_model_applies_and_never_fails_on_a_path(tmp_path: Path) -> None:
    """An event dated on a Wednesday applies at the next weekly step: a --set dated at that step takes the lever
    away too. A path a scenario does not hold yet (a year of a series, a null block), the events themselves or
    a description are not levers to compare: no warning, and no traceback (each was a KeyError or an
    AttributeError)."""
    from sim.scenario import load_scenario
    from sim.scenario.changes import override
    from sim.scenario.paths import made_alike

    base = tmp_path / "base.yaml"
    base.write_text("name: base\nhorizon: {start: 2021-01-04, end: 2021-06-28, warmup_weeks: 2}\n")
    cut = tmp_path / "cut.yaml"
    cut.write_text(base.read_text().replace("name: base", "name: cut") + "events:\n  - {date: 2021-03-03, label: "
                   "cut, set: {walmart.walmart_plus.fee_annual: 49}}\n")
    plain = [load_scenario(base), load_scenario(cut)]
    for changes, warned in [({"walmart.walmart_plus.fee_annual@2021-03-08": 85}, True),
                            ({"walmart.walmart_plus.fee_annual@2021-03-15": 85}, False),
                            ({"economics.price_level.index.2026": 330}, False), ({"events": []}, False),
                            ({"walmart.ads.growth.start": "2021-02-01"}, False), ({"description": "a note"}, False)]:
        changed = [override(scenario, changes) for scenario in plain]
        assert bool(made_alike(plain, changed, changes)) == warned, changes


def test_a_set_that_the_scenarios_events_set_again_is_a_warning(tiny_yaml: Path, tmp_path: Path, capsys) -> None:
    """The tiny scenario's event sets the Walmart+ fee in March 2021: an override of it holds until then,
    and the run says so (and still runs); an override no event touches is not mentioned."""
    out = tmp_path / "out"
    assert main(["run", str(tiny_yaml), "--out", str(out), "--quiet", "--no-report",
                 "--set", "walmart.walmart_plus.fee_annual=59", "--set", "amazon.prime.fee_annual=99"]) == 0
    err = capsys.readouterr().err
    assert err.splitlines() == ["retailsim: warning: --set walmart.walmart_plus.fee_annual holds only until "
                                "2021-03-01: an event of the scenario sets walmart.walmart_plus.fee_annual on "
                                "2021-03-01 (Walmart+ fee cut); to change it from a date, give it as --set "
                                "path@DATE=value (an event after the scenario's own)"]
    fees = pd.read_parquet(out / TIMESERIES).query("metric == 'walmart_plus_fee_usd'")
    assert fees["value"].iloc[0] == 59 and fees["value"].iloc[-1] == 79
    # As the warning says: from a date after the scenario's event, the value holds to the end.
    assert main(["run", str(tiny_yaml), "--out", str(out), "--quiet", "--no-report",
                 "--set", "walmart.walmart_plus.fee_annual@2021-03-15=59"]) == 0
    assert "warning" not in capsys.readouterr().err
    fees = pd.read_parquet(out / TIMESERIES).query("metric == 'walmart_plus_fee_usd'").set_index("date")["value"]
    assert fees.iloc[0] == 98 and fees["2021-03-08"] == 79 and fees.iloc[-1] == 59


def test_validate_and_schema(tiny_yaml: Path, capsys) -> None:
    assert main(["validate", str(tiny_yaml)]) == 0
    assert "ok (tiny, 1 events)" in capsys.readouterr().out
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "Scenario"


def test_console_script_runs_without_a_traceback(tmp_path: Path) -> None:
    """The installed entry point, in a real process: bad input exits 2 with one line."""
    (tmp_path / "bad.yaml").write_text("name: bad\namazon: {prime: {fee_annual: [1, 2]}}\n")
    done = subprocess.run([sys.executable, "-m", "sim.cli", "validate", "bad.yaml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("retailsim: error: bad.yaml:2: amazon.prime.fee_annual")


def test_a_reader_that_goes_away_ends_the_command_quietly() -> None:
    """``retailsim schema | head -1``: no traceback when the pipe closes under the command."""
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-m", "sim.cli", "schema"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    process.stdout.close()  # the reader leaves before the command writes anything
    error = process.stderr.read().decode()
    assert process.wait() == 141 and "Traceback" not in error, error


def test_version_and_help_load_neither_the_model_nor_the_data_libraries() -> None:
    """``retailsim --version`` builds every command's parser: a command's options must not import
    numpy, pandas or Mesa (each parser's defaults come from light modules)."""
    import subprocess
    import sys

    probe = ("import sys\nfrom sim.cli import main\ntry:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
             "print(sorted(m for m in ('numpy', 'pandas', 'mesa', 'sim.model', 'plotly') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout


def test_replicates_help_states_each_commands_own_default(capsys) -> None:
    """run, compare and targets default to 1, 5 and 3 replicates, and each one's --help says so."""
    for command, default in (("run", 1), ("compare", 5), ("targets", 3)):
        try:
            assert main([command, "--help"]) == 0
        except SystemExit as exit_:
            assert exit_.code in (0, None)
        text = " ".join(capsys.readouterr().out.split())
        assert f"runs per scenario over K common seeds (default {default}, at most 1,000)" in text, command


@pytest.mark.parametrize("argv, expected", [
    (["run", "x.yaml", "--households", "100"], "unrecognized arguments: --households 100 (did you mean --shoppers?)"),
    (["compare", "a.yaml", "b.yaml", "--perod", "2026-2030"], "(did you mean --period?)"),
    (["run", "x.yaml", "--colour", "red"], "unrecognized arguments: --colour red; see"),
    # another command's option is named as such, not suggested as itself ("did you mean --no-report?")
    (["compare", "a.yaml", "b.yaml", "--no-report"], "unrecognized arguments: --no-report (--no-report is an option of run)"),
    (["validate", "x.yaml", "--shopers", "5"], "unrecognized arguments: --shopers 5; see"),
])
def test_an_unknown_flag_suggests_the_nearest_option(argv: list[str], expected: str, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err, err


def test_a_missing_scenario_file_suggests_the_nearest_in_its_folder(tmp_path: Path, capsys) -> None:
    (tmp_path / "prime_fee_up.yaml").write_text("name: prime_fee_up\n")
    assert main(["validate", str(tmp_path / "prime_fee_upp.yaml")]) == 2
    assert f"file not found; did you mean {tmp_path / 'prime_fee_up.yaml'}?" in capsys.readouterr().err
    assert main(["validate", str(tmp_path / "something_else.yaml")]) == 2
    assert capsys.readouterr().err.rstrip().endswith("file not found")


@pytest.mark.parametrize("value, squeezed", [("{2024:1,2023:0.6}", "2024:1"), ("{2024: 1, 2023:0.6}", "2023:0.6")])
def test_a_mapping_without_a_space_after_its_colons_is_named(value: str, squeezed: str, tmp_path: Path, capsys) -> None:
    """YAML reads {2024:1} as one key '2024:1' and 2023:0.6 as a base-60 number (121441): a --set of a
    mapping written so says where the space is missing, before any work."""
    assert main(["run", "scenarios/baseline.yaml", "--set", f"shoppers.food_at_home_real={value}",
                 "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"write a space after each ':' of a mapping ('{squeezed}'" in err, err
    assert not (tmp_path / "out").exists()


def test_a_file_of_another_kind_is_named_with_the_command_that_runs_it(capsys, monkeypatch) -> None:
    """A sweep given to run said "base: unknown key", a scenario given to sweep "extends: unknown key"."""
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    cases = [(["run", "scenarios/sweeps/fee_grid.yaml"], "is a sweep file, not a scenario: run it with retailsim sweep "
              "scenarios/sweeps/fee_grid.yaml"),
             (["compare", "scenarios/baseline.yaml", "scenarios/games/membership_fees.yaml"],
              "is a game file, not a scenario: run it with retailsim game scenarios/games/membership_fees.yaml"),
             (["sweep", "scenarios/baseline.yaml"], "is a scenario file, not a sweep: run it with retailsim run "
              "scenarios/baseline.yaml"),
             (["game", "calibration/setup.yaml"], "is a calibration set-up file, not a game: run it with retailsim "
              "calibrate calibration/setup.yaml"),
             (["targets", "scenarios/sweeps/fee_grid.yaml"], "is a sweep file, not a scenario: run it with retailsim "
              "sweep scenarios/sweeps/fee_grid.yaml"),
             (["calibrate", "scenarios/baseline.yaml", "--no-write"], "is a scenario file, not a calibration set-up: "
              "run it with retailsim run scenarios/baseline.yaml")]
    for command, words in cases:
        assert main([*command, *(["--out", "/nonexistent/never"] if command[0] != "targets" else [])]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].endswith(words), err
    assert main(["run", "scenarios/baseline.yaml", "--set", "nope=1", "--out", "/nonexistent/never"]) == 2
    assert "unknown key 'nope'" in capsys.readouterr().err  # a scenario's own error is its own


def test_a_misspelled_set_up_is_told_its_misspelling_not_that_it_is_a_sweep(tmp_path: Path, capsys) -> None:
    """A set-up has parameters:, as a sweep has: with 'targets:' misspelled it was named a sweep file."""
    root = Path(__file__).resolve().parents[1]
    setup = tmp_path / "setup.yaml"
    setup.write_text((root / "calibration" / "setup.yaml").read_text().replace("\ntargets:", "\ntarget:", 1))
    for name in ("targets.yaml", "checks.yaml", "accounts.yaml", "baseline.yaml"):
        if (root / "calibration" / name).exists():
            (tmp_path / name).write_text((root / "calibration" / name).read_text())
    assert main(["calibrate", str(setup), "--no-write", "--out", str(tmp_path / "never")]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'target'; did you mean 'targets'?" in err and "sweep" not in err, err


def test_ctrl_c_says_what_was_kept(capsys, monkeypatch, tiny_yaml: Path) -> None:
    """A run's or comparison's staging is discarded; a resumable job's folder keeps its claim and runs
    (an early Ctrl-C of a sweep said "nothing was written" beside the folder it had made)."""
    import importlib

    import sim.experiments.sweep

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    monkeypatch.setattr(sim.experiments.sweep, "run_sweep", stopped)
    monkeypatch.setattr(importlib.import_module("sim.run"), "resolve", stopped)
    assert main(["sweep", "scenarios/sweeps/fee_grid.yaml"]) == 130
    assert capsys.readouterr().err.strip() == ("retailsim: interrupted; what was finished is kept in the output "
                                               "folder, if it was made: the same command resumes it")
    assert main(["run", str(tiny_yaml)]) == 130
    assert capsys.readouterr().err.strip() == "retailsim: interrupted; nothing was written"


@pytest.mark.parametrize("code, ignored", [(130, True), (0, False), (2, False)])
def test_once_interrupted_the_command_ignores_a_second_ctrl_c_on_its_way_out(monkeypatch, code: int,
                                                                            ignored: bool) -> None:
    """A second Ctrl-C (or timeout -s INT, which signals the process, then its group) while the interpreter
    shut down printed a traceback from its threads' ending, about one time in seven."""
    import signal

    import sim.cli

    handlers = []
    monkeypatch.setattr(sim.cli, "main", lambda: code)
    monkeypatch.setattr(sim.cli.gc, "freeze", lambda: None)
    monkeypatch.setattr(sim.cli.gc, "set_threshold", lambda *thresholds: None)
    monkeypatch.setattr(signal, "signal", lambda number, handler: handlers.append((number, handler)))
    with pytest.raises(SystemExit) as stop:
        sim.cli.entry()
    assert stop.value.code == code
    assert handlers == ([(signal.SIGINT, signal.SIG_IGN)] if ignored else [])
