"""Attacks on sweeps and calibrations: kill -9 at random moments, damaged folders, bad input and
oversized designs. Each refusal is exit code 2, at most three lines, no traceback, nothing written."""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.calibration.searches import OPTUNA_JOURNAL
from sim.cli import main
from sim.experiments.sweep import RUNS

from .test_calibration_fit import BOUNDS, synthetic_setup

BASE = "name: tiny\npopulation: {shoppers: 120}\nhorizon: {start: 2021-01-04, end: 2021-12-27, warmup_weeks: 4}\n"
SWEEP = """name: small
base: base.yaml
design: sobol
samples: 4
replicates: 2
seed: 4
parameters:
  walmart.walmart_plus.fee_annual: {range: [49, 149]}
  walmart.dark_stores.capex_per_store_usd: {range: [1000000, 90000000]}
outcomes:
  both: {metric: membership_share, segment: both, at: 2021-12-27}
  walmart_plus: {metric: walmart_plus_share, over: [2021-07-01, 2021-12-27]}
"""
CLI = [sys.executable, "-m", "sim.cli"]


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (to show that nothing was written or changed)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def refused(argv: list[str], capsys, folder: Path, match: str) -> str:
    """``retailsim argv`` exits 2 with one to three lines naming the problem; ``folder`` is unchanged."""
    before = tree(folder)
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert 1 <= len(lines) <= 3 and "Traceback" not in err, err
    assert match in err, err
    assert tree(folder) == before, "a refused command wrote or changed files"
    return err


@pytest.fixture
def folder(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / "base.yaml").write_text(BASE)
    (tmp_path / "sweep.yaml").write_text(SWEEP)
    monkeypatch.chdir(tmp_path)
    return tmp_path


# -- kill -9 at random moments, then resume ------------------------------------------------------
def timed(command: list[str], cwd: Path) -> float:
    """Run ``command`` to the end (it must succeed); its wall time."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return time.perf_counter() - started


def kill_at(command: list[str], cwd: Path, ready, delay: float) -> None:
    """Start ``command``; once ``ready()`` holds (its work is under way: the machine may be busy, so
    not a fixed time), wait ``delay`` seconds more and kill -9 it with its worker processes."""
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None and not ready():
        time.sleep(0.01)
    time.sleep(delay)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:  # it finished first: a complete folder is also a valid state
        pass
    process.wait()


def count(pattern: str, folder: Path) -> int:
    return len(list(folder.glob(pattern)))


def check_sweep_folder(out: Path) -> None:
    """Resumable or complete: a whole manifest of retailsim's, and every store record whole."""
    if not out.exists():
        return
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["written_by"] == "retailsim" and manifest["kind"] == "sweep"
    assert manifest["status"] in ("running", "complete")
    for record in (out / "store").glob("*.json"):
        json.loads(record.read_text())


def test_a_sweep_killed_at_random_moments_resumes_to_the_uninterrupted_result(folder: Path, capsys) -> None:
    timed([*CLI, "sweep", "sweep.yaml", "--workers", "1", "--out", "clean", "--quiet"], folder)
    command = [*CLI, "sweep", "sweep.yaml", "--workers", "2", "--out", "cut", "--quiet"]
    chance = random.Random(2026)
    store = folder / "cut" / "store"
    # The moments are seeded draws: while starting (claiming the folder), then after a random number
    # of stored runs plus a random fraction of a second (mid-write, mid-chunk).
    kill_at(command, folder, lambda: False, chance.uniform(0.5, 2.5))
    check_sweep_folder(folder / "cut")
    for _ in range(2):
        target = count("*.json", store) + chance.randint(1, 8)
        kill_at(command, folder, lambda: count("*.json", store) >= target, chance.uniform(0.0, 0.3))
        check_sweep_folder(folder / "cut")
    # A torn record (a disk that filled up) is run again with a warning, not an obstacle.
    records = sorted((folder / "cut" / "store").glob("*.json"))
    assert records, "the kills should leave some finished runs"
    records[0].write_text(records[0].read_text()[:25])
    capsys.readouterr()
    assert main(["sweep", "sweep.yaml", "--workers", "1", "--out", "cut", "--quiet"]) == 0
    assert "could not be read" in capsys.readouterr().err
    assert (folder / "cut" / RUNS).read_bytes() == (folder / "clean" / RUNS).read_bytes()
    assert len(list((folder / "cut" / "store").glob("*.json"))) == 32


def test_a_calibration_killed_at_random_moments_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    name = "amazon.prime.perks_value_usd"
    setup = synthetic_setup(tmp_path, {name: BOUNDS[name]}, replicates=1)

    def command(out: str) -> list[str]:
        return [*CLI, "calibrate", str(setup), "--budget", "6", "--batch", "3", "--workers", "1",
                "--out", str(tmp_path / out), "--no-write", "--quiet"]

    timed(command("clean"), tmp_path)
    chance = random.Random(7)
    journal = tmp_path / "cut" / OPTUNA_JOURNAL

    def lines() -> int:
        return journal.read_bytes().count(b"\n") if journal.exists() else 0

    for _ in range(2):  # after a random number of journal lines, plus a random fraction of a second
        target = lines() + chance.randint(1, 3)
        kill_at(command("cut"), tmp_path, lambda: lines() >= target, chance.uniform(0.0, 0.5))
        manifest = json.loads((tmp_path / "cut" / "manifest.json").read_text())
        assert manifest["kind"] == "calibration"
    with open(journal, "ab") as file:  # a write cut short by a kill: half a line, no newline
        file.write(b'{"op_code": 4, "worker_id": "x", "study_id": 0, "datetime_sta')
    finished = subprocess.run(command("cut"), capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert "cut short" in finished.stderr and (journal.parent / f"{OPTUNA_JOURNAL}.torn").is_file()
    clean, cut = (pd.read_parquet(tmp_path / out / "trials.parquet") for out in ("clean", "cut"))
    pd.testing.assert_frame_equal(clean, cut)
    assert len(cut) == 6
    assert (json.loads((tmp_path / "cut" / "manifest.json").read_text())["loss"]
            == json.loads((tmp_path / "clean" / "manifest.json").read_text())["loss"])


# -- bad input: one line, exit 2, nothing written ------------------------------------------------
BAD_SWEEPS = [
    ("list value", "{range: [49, 149]}", "{values: [[49, 79], 99]}", "values[0] is a list"),
    ("dict value", "{range: [49, 149]}", "{values: [{a: 1}]}", "values[0] is a mapping"),
    ("nan range", "[49, 149]", "[.nan, 149]", "fee_annual"),
    ("inf range", "[49, 149]", "[49, .inf]", "fee_annual"),
    ("huge range", "[1000000, 90000000]", "[0, 1.0e+300]", "capex_per_store_usd"),
    ("nan distribution", "{range: [49, 149]}", "{distribution: {kind: normal, mean: .nan, sd: 1}}", "mean"),
    ("name dot", "name: small", "name: '.'", "name"),
    ("name dotdot", "name: small", "name: '..'", "name"),
    ("name slash", "name: small", "name: a/b", "name"),
    ("replicates", "replicates: 2", "replicates: 1000000000", "replicates"),
    ("samples", "samples: 4", "samples: 1000000000", "samples"),
    ("shoppers", "seed: 4", "seed: 4\nshoppers: 1000000000", "shoppers"),
    ("levels", "seed: 4", "seed: 4\nlevels: 100000000", "levels"),
    ("negative seed", "seed: 4", "seed: -1", "seed"),
]


@pytest.mark.parametrize("old, new, match", [b[1:] for b in BAD_SWEEPS], ids=[b[0] for b in BAD_SWEEPS])
def test_bad_sweep_files_are_one_line_and_write_nothing(folder: Path, capsys, old: str, new: str, match: str) -> None:
    assert old in SWEEP
    (folder / "sweep.yaml").write_text(SWEEP.replace(old, new, 1))
    refused(["sweep", "sweep.yaml", "--workers", "1", "--quiet"], capsys, folder, match)


def test_drawn_values_are_checked_before_any_run(folder: Path, capsys) -> None:
    text = SWEEP.replace("design: sobol", "design: lhs").replace("samples: 4", "samples: 64").replace(
        "{range: [49, 149]}", "{distribution: {kind: normal, mean: 20, sd: 30}}")
    (folder / "sweep.yaml").write_text(text)
    error = refused(["sweep", "sweep.yaml", "--workers", "1", "--quiet"], capsys, folder, "the design draws values from -")
    # validate draws the design too (it said ok, and sweep then refused the file).
    assert refused(["validate", "sweep.yaml"], capsys, folder, "the design draws values from -") == error


def test_bad_dask_addresses_and_workers_write_nothing(folder: Path, capsys, monkeypatch) -> None:
    import sim.jobs.executors as executors

    monkeypatch.setattr(executors, "CONNECT_TIMEOUT", "1s")
    for address in ("nonsense", "tcp://host:99999", "tcp://127.0.0.1:1"):
        refused(["sweep", "sweep.yaml", "--dask", address, "--out", "out", "--quiet"], capsys, folder, "--dask")
    refused(["sweep", "sweep.yaml", "--workers", "100000", "--out", "out", "--quiet"], capsys, folder, "--workers")


def test_foreign_and_damaged_sweep_folders_are_refused_untouched(folder: Path, capsys) -> None:
    (folder / "notes").mkdir()
    (folder / "notes" / "todo.txt").write_text("mine")
    refused(["sweep", "sweep.yaml", "--out", "notes", "--quiet"], capsys, folder, "not written by retailsim")
    (folder / "afile").write_text("mine")
    refused(["sweep", "sweep.yaml", "--out", "afile", "--quiet"], capsys, folder, "is a file")
    (folder / "broken").mkdir()
    (folder / "broken" / "manifest.json").write_text('{"fingerprint": "ab')
    refused(["sweep", "sweep.yaml", "--out", "broken", "--quiet"], capsys, folder, "manifest.json is damaged")
    # A folder of another kind, and a sweep folder of another model version.
    (folder / "calib").mkdir()
    (folder / "calib" / "manifest.json").write_text('{"written_by": "retailsim", "kind": "calibration"}')
    refused(["sweep", "sweep.yaml", "--out", "calib", "--quiet"], capsys, folder, "calibration results")
    (folder / "old").mkdir()
    (folder / "old" / "manifest.json").write_text('{"fingerprint": "x", "sweep": {}, "status": "running"}')
    refused(["sweep", "sweep.yaml", "--out", "old", "--quiet"], capsys, folder, "model version")


def test_bad_calibration_requests_are_one_line_and_write_nothing(tmp_path: Path, capsys, monkeypatch) -> None:
    setup = tmp_path / "setup.yaml"
    (tmp_path / "synthetic.yaml").write_text("name: synthetic\npopulation: {shoppers: 600}\n")
    (tmp_path / "targets.yaml").write_text(
        "targets:\n- {id: p, description: p, metric: {metric: prime_share}, at: 2021-06-28, value: 0.5, "
        "tolerance: 0.02, confidence: H, source: test}\n")
    good = ("name: synthetic\nbase: synthetic.yaml\ntargets: targets.yaml\ncalibrated: calibrated.yaml\nshoppers: 600\n"
            "replicates: 1\nseed: 3\nparameters:\n  amazon.prime.perks_value_usd: {range: [0, 150], why: test}\n")
    setup.write_text(good)
    monkeypatch.chdir(tmp_path)
    base = ["calibrate", str(setup), "--workers", "1", "--out", "work", "--no-write", "--quiet"]
    refused([*base, "--budget", "1000000000"], capsys, tmp_path, "--budget")
    refused([*base, "--method", "abc", "--budget", "10", "--population", "50"], capsys, tmp_path, "--population")
    refused([*base, "--batch", "100000"], capsys, tmp_path, "--batch")
    refused([*base, "--dask", "no address"], capsys, tmp_path, "--dask")
    for old, new, match in [("name: synthetic\nbase", "name: ..\nbase", "name"),
                            ("[0, 150]", "[0, .inf]", "range"), ("replicates: 1", "replicates: 1000000", "replicates"),
                            ("value: 0.5", "value: .nan", "value")]:
        source = tmp_path / ("targets.yaml" if "value" in old else "setup.yaml")
        original = source.read_text()
        source.write_text(original.replace(old, new))
        refused(base, capsys, tmp_path, match)
        source.write_text(original)
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "manifest.json").write_text('{"fingerprint": "x", "method": "optuna", "status": "running"}')
    (tmp_path / "work" / OPTUNA_JOURNAL).write_text("not json at all\n{}\n")
    refused(base, capsys, tmp_path, "model version")


# -- oversized designs are refused at once, without allocating them --------------------------------
@pytest.mark.parametrize("change, match", [
    (("walmart.walmart_plus.fee_annual: {range: [49, 149]}", "walmart.walmart_plus.fee_annual: {range: [49, 149], steps: 100000}"),
     "10,000,000,000 points"),
    (("samples: 4", "samples: 1000000"), "runs is over the limit"),
])
def test_a_huge_design_is_refused_fast_in_little_memory(folder: Path, change, match) -> None:
    text = SWEEP.replace(*change)
    if "steps" in change[1]:
        text = text.replace("design: sobol", "design: grid").replace(
            "capex_per_store_usd: {range: [1000000, 90000000]}", "capex_per_store_usd: {range: [1000000, 90000000], steps: 100000}")
    (folder / "sweep.yaml").write_text(text)
    limit = 3 * 2**30  # address space: a 10^10-point grid would need hundreds of gigabytes

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    started = time.perf_counter()
    done = subprocess.run([*CLI, "sweep", "sweep.yaml", "--out", "big", "--quiet"], cwd=folder, capture_output=True,
                          text=True, preexec_fn=cap, timeout=60)
    seconds = time.perf_counter() - started
    assert done.returncode == 2 and match in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert seconds < 15 and not (folder / "big").exists()
