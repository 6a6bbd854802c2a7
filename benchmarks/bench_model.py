"""Speed and memory of the model: shopper-steps per second and peak memory per shopper.

Each size runs in a fresh process (so peak memory is that run's alone), ``--repeats`` times;
the figures printed are medians. Usage::

    python benchmarks/bench_model.py                  # 20,000 and 100,000 shoppers, baseline
    python benchmarks/bench_model.py --sizes 20000 --repeats 5
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
import sim
from sim.scenario import load_scenario
scenario = load_scenario(sys.argv[1], {"population.shoppers": int(sys.argv[2])})
started = time.perf_counter()
result = sim.run(scenario)
seconds = time.perf_counter() - started
weeks = result.manifest["weeks"] + scenario.horizon.warmup_weeks
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "weeks": weeks, "peak_mib": peak_kib / 1024}))
"""


def measure(shoppers: int) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, str(SCENARIO), str(shoppers)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def baseline_memory_mib() -> float:
    """Peak memory of a process that only imports the package (subtracted per shopper)."""
    code = "import resource, sim; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    floor = baseline_memory_mib()
    print(f"scenario: {SCENARIO.name}, 2021-2030 weekly; medians of {args.repeats} runs; import-only peak {floor:.0f} MiB")
    print(f"{'shoppers':>10} {'seconds':>9} {'shopper-steps/s':>16} {'peak MiB':>9} {'KiB/shopper':>12}")
    for shoppers in args.sizes:
        runs = [measure(shoppers) for _ in range(args.repeats)]
        seconds = statistics.median(r["seconds"] for r in runs)
        peak = statistics.median(r["peak_mib"] for r in runs)
        rate = shoppers * runs[0]["weeks"] / seconds
        per_shopper = (peak - floor) * 1024 / shoppers
        print(f"{shoppers:>10,} {seconds:>9.2f} {rate:>16,.0f} {peak:>9.0f} {per_shopper:>12.2f}")


if __name__ == "__main__":
    main()
