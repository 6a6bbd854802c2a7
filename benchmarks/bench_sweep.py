"""Sweep machinery speed: the speed-up of two workers over one, and the overhead per run.

Runs the same 64-run sweep (32 random points x 2 replicates of the baseline at 2,000 households)
with one worker and with two, each in a fresh output folder, ``--repeats`` times, and prints
medians. Overhead per run is the one-worker wall time minus the simulations' own run time
(``sim.run`` from model construction to the tidy table), divided by the number of runs: it holds
designing the points, dispatching chunks, reading outcomes, the run store, and writing the outputs.

    python benchmarks/bench_sweep.py [--repeats 3] [--shoppers 2000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sim.experiments.sweep import run_sweep

ROOT = Path(__file__).resolve().parents[1]
SWEEP = """name: bench
base: {base}
design: random
samples: 32
replicates: 2
seed: 1
shoppers: {shoppers}
parameters:
  walmart.walmart_plus.fee_annual: {{range: [49, 149]}}
  amazon.prime.fee_annual: {{range: [99, 199]}}
  returns.fraud_share_of_returns: {{range: [0.05, 0.3]}}
outcomes:
  both: {{metric: membership_share, segment: both, at: 2030-12-30}}
  amazon_profit: {{metric: operating_profit, firm: amazon, over: [2030-01-01, 2030-12-30], aggregate: sum}}
"""


def once(folder: Path, sweep: Path, workers: int) -> tuple[float, float, int]:
    started = time.perf_counter()
    result = run_sweep(sweep, workers=workers, out=folder / f"w{workers}", progress=False)
    wall = time.perf_counter() - started
    manifest = __import__("json").loads((result.folder / "manifest.json").read_text())
    return wall, manifest["simulation_seconds"], len(result.runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--shoppers", type=int, default=2000)
    args = parser.parse_args()
    walls = {1: [], 2: []}
    overheads = []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as temporary:
            folder = Path(temporary)
            sweep = folder / "bench.yaml"
            sweep.write_text(SWEEP.format(base=ROOT / "scenarios" / "baseline.yaml", shoppers=args.shoppers))
            for workers in (1, 2):
                wall, simulated, runs = once(folder, sweep, workers)
                walls[workers].append(wall)
                if workers == 1:
                    overheads.append((wall - simulated) / runs)
    one, two = statistics.median(walls[1]), statistics.median(walls[2])
    print(f"64-run sweep ({args.shoppers} households, 2021-2030), medians of {args.repeats}:")
    print(f"  1 worker : {one:6.1f} s")
    print(f"  2 workers: {two:6.1f} s")
    print(f"  speed-up : {one / two:.2f}x (goal >= 1.8x)")
    print(f"  overhead beyond the simulation: {statistics.median(overheads) * 1000:.0f} ms per run")


if __name__ == "__main__":
    main()
