"""Scale: the full model at 10,000 / 100,000 / 1,000,000 households, and against the per-agent reference.

For each size, in a fresh process: the 2021-2030 baseline (548 weekly steps with the warm-up, data
collection included), its shopper-steps per second and its peak memory per household (above a
process that has only imported the package). Then, at 10,000 and 100,000 households, the same
first ``--window`` weeks stepped by the vectorized model and by the per-agent reference
(``tests/reference.py``: one Mesa ``step()`` per household), and the ratio of their speeds.

    python benchmarks/bench_scale.py                        # all sizes (about 10 minutes)
    python benchmarks/bench_scale.py --sizes 10000 100000 --window 6
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from bench_model import ROOT, SCENARIO, baseline_memory_mib, measure  # the same fresh-process full run

WINDOW = r"""
import json, sys, time
sys.path.insert(0, sys.argv[4])
from sim.scenario import load_scenario
from sim.model.market import RetailMarket
from tests.reference import ReferenceMarket
scenario = load_scenario(sys.argv[1], {"population.shoppers": int(sys.argv[2])})
weeks = int(sys.argv[3])
timings = {}
for name, kind in (("vectorized", RetailMarket), ("reference", ReferenceMarket)):
    model = kind(scenario)
    started = time.perf_counter()
    for _ in range(weeks):
        model.step()
    timings[name] = time.perf_counter() - started
print(json.dumps(timings))
"""


def child(code: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--reference-sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--window", type=int, default=6, help="weeks stepped by both models for the ratio")
    args = parser.parse_args()
    floor = baseline_memory_mib()
    print(f"full model, baseline 2021-2030 (one process each; import-only peak {floor:.0f} MiB):")
    print(f"{'households':>11} {'seconds':>9} {'shopper-steps/s':>16} {'peak MiB':>9} {'KiB/household':>14}")
    for size in args.sizes:
        run = measure(size)
        rate = size * run["weeks"] / run["seconds"]
        per = (run["peak_mib"] - floor) * 1024 / size
        print(f"{size:>11,} {run['seconds']:>9.1f} {rate:>16,.0f} {run['peak_mib']:>9.0f} {per:>14.2f}", flush=True)
    print(f"\nvectorized against the per-agent reference, first {args.window} weeks of the same run:")
    print(f"{'households':>11} {'vectorized s':>13} {'reference s':>12} {'ratio':>8}")
    for size in args.reference_sizes:
        timing = child(WINDOW, str(SCENARIO), str(size), str(args.window), str(ROOT))
        ratio = timing["reference"] / timing["vectorized"]
        print(f"{size:>11,} {timing['vectorized']:>13.2f} {timing['reference']:>12.1f} {ratio:>7.0f}x", flush=True)


if __name__ == "__main__":
    main()
