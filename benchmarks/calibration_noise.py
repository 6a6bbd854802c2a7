"""Run noise of every calibration target by run size: how many households a simulation of the bank needs.

Runs the calibration's base scenario at the committed fit's parameters (``calibration/calibrated.yaml``)
over the same seeds at several sizes, and prints per size the seconds a run takes (median, one
core) and, per target, the standard deviation over seeds in units of the target's tolerance. A
simulation of the bank (``retailsim calibrate --method bank``) is one run at one seed: its noise
adds to the distance between a simulation and the published figures, so a size whose noise is a
small fraction of every tolerance is what the bank needs, and more households only cost time::

    .venv/bin/python benchmarks/calibration_noise.py                     # 1000, 2000, 5000 households, 8 seeds
    .venv/bin/python benchmarks/calibration_noise.py --sizes 2000 --seeds 12 --workers 2
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.calibration.candidates import TargetValues  # noqa: E402
from sim.calibration.setup import load_setup  # noqa: E402
from sim.experiments.replicates import replicate_seeds  # noqa: E402
from sim.jobs.runs import Runs, run_tasks  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup", default=str(ROOT / "calibration" / "setup.yaml"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 5000])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    calibration = load_setup(args.setup)
    fitted = yaml.safe_load(calibration.calibrated_path.read_text(encoding="utf-8"))["parameters"]
    seeds = replicate_seeds(1234, args.seeds)  # seeds no fit uses
    tolerance = {target.id: target.tolerance for target in calibration.targets}
    columns = {}
    with ProcessPoolExecutor(args.workers) as pool:
        for size in args.sizes:
            base = calibration.base.model_dump(mode="json")
            base["population"]["shoppers"] = size
            runs = Runs(base, TargetValues(calibration.targets), "calibration")
            futures = [pool.submit(run_tasks, runs, [{"overrides": fitted, "seed": seed}]) for seed in seeds]
            rows = [future.result()[0] for future in futures]
            values = pd.DataFrame([row["outcomes"] for row in rows])
            noise = values.std(ddof=1) / pd.Series(tolerance)
            columns[size] = noise
            print(f"{size:>6} households: {np.median([row['seconds'] for row in rows]):.2f} s a run (median of "
                  f"{len(rows)}), largest noise {noise.max():.2f} tolerances ({noise.idxmax()})", flush=True)
    table = pd.DataFrame(columns)
    table.columns = [f"{size} hh" for size in table.columns]
    print("\nstandard deviation over seeds, in tolerances:")
    print(table.round(2).to_string())


if __name__ == "__main__":
    main()
