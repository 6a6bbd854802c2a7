"""The cost of strategic conduct: ``retailsim run`` of the baseline with fixed and strategic prices.

Whole commands in fresh processes (``--no-report``, default size unless ``--shoppers``), fixed and
strategic alternating so that a shared machine loads both alike; prints the median wall and CPU
seconds of each and their ratio::

    python benchmarks/conduct.py --repeats 5
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(command: list[str]) -> tuple[float, float]:
    """Wall and CPU (user + system of the child) seconds of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--shoppers", type=int, help="households (default: the scenario's)")
    args = parser.parse_args()
    times: dict[str, list[tuple[float, float]]] = {"fixed": [], "strategic": []}
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(args.repeats):
            for conduct in times:
                command = [sys.executable, "-m", "sim.cli", "run", str(ROOT / "scenarios" / "baseline.yaml"),
                           "--no-report", "--quiet", "--out", str(Path(folder) / f"{conduct}{repeat}"),
                           "--set", f"conduct={conduct}"]
                if args.shoppers:
                    command += ["--shoppers", str(args.shoppers)]
                times[conduct].append(timed(command))
    medians = {conduct: (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))
               for conduct, runs in times.items()}
    for conduct, (wall, cpu) in medians.items():
        print(f"{conduct:>9}: wall {wall:6.2f} s, CPU {cpu:6.2f} s (median of {args.repeats})")
    print(f"strategic / fixed: wall x{medians['strategic'][0] / medians['fixed'][0]:.2f}, "
          f"CPU x{medians['strategic'][1] / medians['fixed'][1]:.2f}")


if __name__ == "__main__":
    main()
