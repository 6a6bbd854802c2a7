"""Building the model: seconds and memory to create ``RetailMarket`` at a given size (no steps).

Each measurement is a fresh process; the figures are medians over ``--repeats``. Memory is the
process's peak resident size minus that of a process that only imports the package. Compare two
checkouts with ``--checkout`` (its ``sim`` is imported instead of the installed one)::

    python benchmarks/bench_build.py --sizes 1000000 --repeats 3
    git worktree add /tmp/old <commit> && python benchmarks/bench_build.py --checkout /tmp/old
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "baseline.yaml"

CHILD = r"""
import json, resource, sys, time
if sys.argv[3]:  # another checkout: its sim before the installed (editable) one
    sys.meta_path = [finder for finder in sys.meta_path if "editable" not in repr(finder).lower()]
    sys.path.insert(0, sys.argv[3])
import sim
from sim.model.market import RetailMarket
from sim.scenario import load_scenario
scenario = load_scenario(sys.argv[1], {"population.shoppers": int(sys.argv[2])})
floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
model = RetailMarket(scenario)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_mib": peak / 1024, "added_mib": (peak - floor) / 1024,
                  "package": sim.__file__}))
"""


def measure(shoppers: int, checkout: str) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, str(SCENARIO), str(shoppers), checkout],
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"the measurement failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--checkout", default="", help="measure the sim package of this checkout instead")
    args = parser.parse_args()
    print(f"{'households':>10} {'build s':>8} {'peak MiB':>9} {'added MiB':>10}  package")
    for shoppers in args.sizes:
        runs = [measure(shoppers, args.checkout) for _ in range(args.repeats)]
        seconds = statistics.median(r["seconds"] for r in runs)
        peak = statistics.median(r["peak_mib"] for r in runs)
        added = statistics.median(r["added_mib"] for r in runs)
        print(f"{shoppers:>10,} {seconds:>8.2f} {peak:>9.0f} {added:>10.0f}  {runs[0]['package']}")


if __name__ == "__main__":
    main()
