"""Installed means working: a wheel, installed (not editable) into a fresh virtual environment, runs
the shipped baseline and serves the dashboard from a folder that is not a checkout.

The wheel is built from a copy of the sources (the checkout is left untouched); the fresh environment
gets retailsim from the wheel only, and its dependencies from this environment: their site-packages
through a ``.pth`` file and their data files (``etc/``, ``share/``: Jupyter and Solara configuration)
through links, so nothing is downloaded but the build back-end pip's isolated build asks for.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import site
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from sim import shipped
from sim.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "MANIFEST.in", "sim", "scenarios", "calibration")
# Half a year at 200 households: the baseline's dated events (2022 on) are dropped to fit the horizon.
SMALL = ["--shoppers", "200", "--set", "horizon.end=2021-06-28", "--set", "events=[]"]


# -- the shipped files from a checkout (this environment is an editable install) ----------------------

def test_in_a_checkout_the_shipped_files_are_the_top_level_folders() -> None:
    assert shipped.folder("scenarios") == ROOT / "scenarios"
    assert shipped.folder("calibration") == ROOT / "calibration"
    assert shipped.baseline() == ROOT / "scenarios" / "baseline.yaml"
    assert list(shipped.scenarios())[0] == "baseline"
    assert shipped.scenarios()["lessons/multi_homing"] == ROOT / "scenarios" / "lessons" / "multi_homing.yaml"
    assert set(shipped.lessons()) == {p.stem for p in (ROOT / "scenarios" / "lessons").glob("*.yaml")}
    assert set(shipped.levers()) == {p.stem for p in (ROOT / "scenarios" / "levers").glob("*.yaml")}
    assert shipped.scenario_file("levers/prime_fee_up") == ROOT / "scenarios" / "levers" / "prime_fee_up.yaml"
    assert set(shipped.calibration_files()) == {"accounts", "calibrated", "checks", "revenues", "setup", "targets"}


def test_a_scenario_argument_is_a_file_first_then_a_shipped_name(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert shipped.scenario_file("baseline") == ROOT / "scenarios" / "baseline.yaml"
    assert shipped.scenario_file("lessons/word_of_mouth") == ROOT / "scenarios" / "lessons" / "word_of_mouth.yaml"
    (tmp_path / "baseline").write_text("name: mine\n")
    assert shipped.scenario_file("baseline") == Path("baseline")  # an existing file wins
    assert shipped.scenario_file("/dev") == Path("/dev")  # so does a folder: the loader refuses it
    assert shipped.scenario_file("missing.yaml") == Path("missing.yaml")  # the loader says "not found"
    assert shipped.any_scenario_file("baselin") == Path("baselin")  # validate reports it per file
    with pytest.raises(argparse.ArgumentTypeError, match="'baselin' is neither a file nor a shipped scenario; "
                                                         "did you mean 'baseline'"):
        shipped.scenario_file("baselin")
    with pytest.raises(argparse.ArgumentTypeError, match="'nothing_like_it' is neither a file nor a shipped scenario; "
                                                         "shipped scenarios: baseline, .*lessons/multi_homing"):
        shipped.scenario_file("nothing_like_it")


def test_unknown_names_are_one_line_naming_the_valid_ones(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run", "membership_fee_wars"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean 'membership_fee_war'?" in err and "retailsim scenarios" in err
    assert main(["scenarios"]) == 0
    out = capsys.readouterr().out
    assert "  baseline  " in out and str(ROOT / "scenarios" / "sweeps" / "fee_grid.yaml") in out


def test_targets_and_calibrate_prefer_the_working_folder(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    args = build_parser().parse_args(["targets"])
    assert (args.scenario, args.targets) == (shipped.baseline(), ROOT / "calibration" / "targets.yaml")
    # A project folder: its own files, as relative paths, as before.
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    shutil.copytree(ROOT / "calibration", tmp_path / "calibration")
    args = build_parser().parse_args(["targets"])
    assert (args.scenario, args.targets) == (Path("scenarios/baseline.yaml"), Path("calibration/targets.yaml"))
    assert shipped.calibration_setup(write=True) == Path("calibration/setup.yaml")
    # Without one, calibrate never rewrites the shipped files: --no-write, or a one-line error.
    monkeypatch.chdir(tmp_path / "scenarios")
    assert shipped.calibration_setup(write=False) == ROOT / "calibration" / "setup.yaml"
    assert main(["calibrate", "--budget", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no calibration/setup.yaml in this folder" in err and "--no-write" in err


# -- a wheel in a fresh environment ----------------------------------------------------------------------

def copy_sources(target: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    target.mkdir(parents=True)
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        elif source.exists():
            shutil.copy2(source, target / name)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh virtual environment with retailsim installed from a wheel: its ``bin`` folder."""
    base = tmp_path_factory.mktemp("install")
    copy_sources(base / "src")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    # pip runs outside the checkout, whose retailsim.egg-info would pass for an installed retailsim.
    built = subprocess.run([*pip, "wheel", "--no-deps", "-q", "-w", str(base / "wheels"), str(base / "src")],
                           capture_output=True, text=True, cwd=base, env=environment(), timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    wheel, = (base / "wheels").glob("retailsim-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    own = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                         capture_output=True, text=True, check=True).stdout.strip()
    (Path(own) / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    for data in ("etc", "share"):  # the data files pip installed with them (Jupyter and Solara configuration)
        if (Path(sys.prefix) / data).is_dir():
            (venv / data).symlink_to(Path(sys.prefix) / data, target_is_directory=True)
    done = subprocess.run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", "--ignore-installed",
                           "-q", str(wheel)], capture_output=True, text=True, cwd=base, env=environment(), timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return venv / "bin"


def environment() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}


def test_the_wheel_is_installed_not_linked_and_carries_the_shipped_files(installed, tmp_path) -> None:
    probe = ("import json, sim, sim.shipped as s, sim.dashboard.model as m; print(json.dumps({"
             "'sim': sim.__file__, 'baseline': str(s.baseline()), 'presets': m.presets(), "
             "'calibration': {k: str(v) for k, v in s.calibration_files().items()}, "
             "'games': {k: str(v) for k, v in s.games().items()}}))")
    found = subprocess.run([str(installed / "python"), "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                           env=environment(), timeout=120)
    assert found.returncode == 0, found.stderr[-3000:]
    where = json.loads(found.stdout)
    package = Path(where["sim"]).parent
    assert package.parent.name == "site-packages" and installed.parent in package.parents
    assert Path(where["baseline"]) == package / "shipped" / "scenarios" / "baseline.yaml"
    assert set(where["presets"]) == {"baseline", *(p.stem for p in (ROOT / "scenarios" / "lessons").glob("*.yaml"))}
    assert all(Path(file).parent.parent == package / "shipped" / "scenarios" for name, file in where["presets"].items()
               if name != "baseline")
    assert set(where["calibration"]) == {"accounts", "calibrated", "checks", "revenues", "setup", "targets"}
    assert set(where["games"]) == {p.stem for p in (ROOT / "scenarios" / "games").glob("*.yaml")} != set()
    for name, file in where["calibration"].items():
        assert Path(file).read_bytes() == (ROOT / "calibration" / f"{name}.yaml").read_bytes()
    # The posterior that --parameter-draws reads ships beside calibrated.yaml.
    shipped_posterior = package / "shipped" / "calibration" / "posterior.csv"
    assert shipped_posterior.read_bytes() == (ROOT / "calibration" / "posterior.csv").read_bytes()


def test_the_installed_command_runs_the_shipped_baseline_from_any_folder(installed, tmp_path) -> None:
    done = subprocess.run([str(installed / "retailsim"), "run", "baseline", *SMALL, "--out", "out", "--quiet"],
                          capture_output=True, text=True, cwd=tmp_path, env=environment(), timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "results: out" in done.stdout and (tmp_path / "out" / "report.html").is_file()
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["scenario_name"] == "baseline"
    # Byte for byte the checkout's baseline (so the installed calibrated.yaml was found and read).
    checkout = tmp_path / "checkout"
    assert main(["run", str(ROOT / "scenarios" / "baseline.yaml"), *SMALL, "--out", str(checkout), "--quiet",
                 "--no-report"]) == 0
    assert (tmp_path / "out" / "timeseries.parquet").read_bytes() == (checkout / "timeseries.parquet").read_bytes()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def test_the_installed_dashboard_serves_the_shipped_baseline(installed, tmp_path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    process = subprocess.Popen([str(installed / "retailsim"), "dashboard", "--port", str(port), "--shoppers", "200"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                               env=environment())
    try:
        deadline = time.monotonic() + 90
        while status(url) != 200 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.25)
        assert process.poll() is None, "the dashboard stopped: " + process.stderr.read()[-3000:]
        assert status(url) == 200
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            out, err = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
    assert process.returncode == 0, err[-3000:]
    assert out.strip() == f"dashboard: {url}  (Ctrl-C to stop)"
    assert err.strip().endswith("dashboard: stopped (SIGTERM)")
