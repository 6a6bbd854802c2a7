"""The golden baseline: a small fixed-seed run of ``scenarios/baseline.yaml``, committed as a file.

It catches silent changes of behaviour. When behaviour changes on purpose, regenerate it with
``make golden`` (or ``python -m tests.golden``), look at what moved, and commit the new file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import sim

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "baseline_small.parquet"
SCENARIO = HERE.parents[1] / "scenarios" / "baseline.yaml"
SEED, SHOPPERS = 7, 1000


def golden_rows() -> pd.DataFrame:
    """The national and locale rows of the first week of each quarter (state rows are left out)."""
    table = sim.run(SCENARIO, seed=SEED, shoppers=SHOPPERS).timeseries
    dates = pd.DatetimeIndex(table["date"])
    first_week_of_quarter = dates.month.isin([1, 4, 7, 10]) & (dates.day <= 7)
    keep = first_week_of_quarter & table["locale"].isin(["urban", "suburban", "rural", "all"])
    rows = table.loc[keep].reset_index(drop=True)
    for column in ("metric", "firm", "category", "locale", "segment"):
        rows[column] = rows[column].astype(str)
    return rows
