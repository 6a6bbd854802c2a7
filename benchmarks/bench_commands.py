"""Whole commands, as a user waits for them: wall seconds of ``retailsim`` in fresh processes.

Times ``retailsim --version`` and ``retailsim run scenarios/baseline.yaml`` at its default size
(report included, and with ``--no-report``), each in a new process, and splits one run into its
phases (import, simulate, write results, build and write the report) in a separate process. The
figures are medians over ``--repeats``. With ``--checkout`` the same commands run on another
checkout's ``sim`` (a git worktree of an older commit), old and new alternating, so a shared and
noisy machine loads both alike::

    python benchmarks/bench_commands.py --repeats 7
    git worktree add /tmp/old <commit> && python benchmarks/bench_commands.py --checkout /tmp/old
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "baseline.yaml"

# The first argument is a checkout whose sim is imported before the installed (editable) one, or "".
PREAMBLE = r"""
import sys
if sys.argv[1]:
    sys.meta_path = [finder for finder in sys.meta_path if "editable" not in repr(finder).lower()]
    sys.path.insert(0, sys.argv[1])
"""
COMMAND = PREAMBLE + r"""
from sim.cli import main
sys.exit(main(sys.argv[2:]))
"""
PHASES = PREAMBLE + r"""
import json, time
started = time.perf_counter()
import sim.cli
from sim.experiments import run_replicates
from sim.report import build_report
from sim.results import save_set
from sim.run import resolve
imported = time.perf_counter()
scenario = resolve(sys.argv[2])
results = run_replicates([scenario], [scenario.seed])
simulated = time.perf_counter()
report = []
def write_report(folder):
    begun = time.perf_counter()
    build_report(results).write(folder / "report.html")
    report.append(time.perf_counter() - begun)
save_set(results, sys.argv[3], add=write_report)
saved = time.perf_counter()
print(json.dumps({"import": imported - started, "simulate": simulated - imported,
                  "results": saved - simulated - report[0], "report": report[0], "package": sim.__file__}))
"""


def wall(script: str, checkout: str, *args: str) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script, checkout, *args], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"the command failed ({args}):\n{done.stderr[-2000:]}")
    return seconds


def phases(checkout: str, out: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", PHASES, checkout, str(SCENARIO), str(out)],
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"the phase run failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(checkout: str, scratch: Path, index: int) -> dict:
    """One round of every measurement for one checkout."""
    out = scratch / f"run-{index}"
    figures = {
        "--version": wall(COMMAND, checkout, "--version"),
        "run + report": wall(COMMAND, checkout, "run", str(SCENARIO), "--out", str(out), "--quiet"),
        "run --no-report": wall(COMMAND, checkout, "run", str(SCENARIO), "--out", str(out) + "-bare", "--quiet",
                                "--no-report"),
    }
    figures.update({f"phase {k}": v for k, v in phases(checkout, scratch / f"phases-{index}").items()
                    if k != "package"})
    for folder in scratch.iterdir():
        shutil.rmtree(folder, ignore_errors=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--checkout", default="", help="also measure the sim package of this checkout, alternating")
    args = parser.parse_args()
    checkouts = {"this checkout": ""} | ({f"{args.checkout}": args.checkout} if args.checkout else {})
    rounds: dict[str, list[dict]] = {name: [] for name in checkouts}
    with tempfile.TemporaryDirectory(prefix="bench-commands-") as scratch:
        for index in range(args.repeats):
            for name, checkout in (checkouts.items() if index % 2 == 0 else reversed(checkouts.items())):
                rounds[name].append(measure(checkout, Path(scratch), index))
                print(f"round {index + 1} {name}: " + ", ".join(f"{k} {v:.2f}" for k, v in rounds[name][-1].items()),
                      file=sys.stderr, flush=True)
    keys = list(rounds["this checkout"][0])
    print(f"medians of {args.repeats} rounds, wall seconds")
    print(f"{'':<22}" + "".join(f"{name[-24:]:>26}" for name in checkouts))
    for key in keys:
        print(f"{key:<22}" + "".join(f"{statistics.median(r[key] for r in rounds[name]):>26.2f}" for name in checkouts))


if __name__ == "__main__":
    main()
