"""How fast bad and large inputs are handled: whole commands, wall time and peak memory.

Each case is a fresh ``retailsim`` process (what a user waits for); figures are medians over
``--repeats``. The goals (``docs/safety.md``): 10,000 events validated in under 5 s; a refused
job refused in seconds, before any large allocation. Usage::

    python benchmarks/bench_inputs.py --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"

MEASURE = r"""
import resource, runpy, sys
sys.argv = ["retailsim", *sys.argv[1:]]
try:
    runpy.run_module("sim.cli", run_name="__main__")
except SystemExit as stop:
    code = stop.code
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"@@ {code} {peak:.0f}", file=sys.stderr)
"""


def events_file(folder: Path, count: int) -> Path:
    lines = [f"extends: {BASELINE}", f"name: events_{count}", "events:"]
    lines += [f"  - {{date: 2025-{k % 12 + 1:02d}-01, set: {{walmart.walmart_plus.fee_annual: {50 + k % 40}}}}}"
              for k in range(count)]
    path = folder / f"events_{count}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def cases(folder: Path) -> dict[str, list[str]]:
    bomb = folder / "bomb.yaml"
    bomb.write_text("a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + k)}: &{chr(98 + k)} [" + ", ".join([f"*{chr(97 + k)}"] * 10) + "]\n" for k in range(8)))
    grid = folder / "grid.yaml"
    grid.write_text(f"name: huge\nbase: {BASELINE}\ndesign: grid\n"
                    "parameters:\n  amazon.prime.fee_annual: {range: [50, 200], steps: 100000}\n"
                    "  walmart.walmart_plus.fee_annual: {range: [30, 150], steps: 100000}\n"
                    "outcomes:\n  both: {metric: membership_share, segment: both, at: 2030-12-30}\n")
    return {
        "validate 1,000 events": ["validate", str(events_file(folder, 1_000))],
        "validate 10,000 events": ["validate", str(events_file(folder, 10_000))],
        "refuse an alias bomb (10^9 values)": ["validate", str(bomb)],
        "refuse a 10^10-point grid": ["sweep", str(grid), "--out", str(folder / "out")],
        "refuse --replicates 10^9": ["run", str(BASELINE), "--replicates", "1000000000"],
        "refuse --out at a foreign folder": ["run", str(BASELINE), "--out", str(ROOT / "docs")],
    }


def measure(argv: list[str]) -> tuple[float, float, int]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", MEASURE, *argv], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    markers = [line.split() for line in done.stderr.splitlines() if line.startswith("@@ ")]
    if not markers:
        raise SystemExit(f"retailsim {' '.join(argv)} did not finish:\n{done.stderr[-1500:]}")
    return seconds, float(markers[-1][2]), int(markers[-1][1] if markers[-1][1] != "None" else 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    floor = measure(["--version"])
    print(f"retailsim --version: {floor[0]:.2f} s, peak {floor[1]:.0f} MiB (the cost of starting)")
    print(f"{'case':<38} {'exit':>4} {'seconds':>8} {'peak MiB':>9}")
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        for name, argv in cases(Path(folder)).items():
            runs = [measure(argv) for _ in range(args.repeats)]
            print(f"{name:<38} {runs[0][2]:>4} {statistics.median(r[0] for r in runs):>8.2f} "
                  f"{statistics.median(r[1] for r in runs):>9.0f}")


if __name__ == "__main__":
    main()
