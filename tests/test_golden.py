"""The golden baseline: today's small fixed-seed run equals the committed one."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .golden import GOLDEN, golden_rows


def test_baseline_matches_the_golden_file() -> None:
    expected = pd.read_parquet(GOLDEN)
    actual = golden_rows()
    labels = ["date", "metric", "firm", "category", "locale", "segment"]
    pd.testing.assert_frame_equal(actual[labels], expected[labels], check_dtype=False)
    close = np.isclose(actual["value"], expected["value"], rtol=1e-9, atol=1e-12)
    if not close.all():
        moved = actual.loc[~close, "metric"].value_counts().head(8).to_dict()
        raise AssertionError(
            f"{(~close).sum()} of {len(close)} golden values changed (by metric: {moved}). If the change is "
            "deliberate, run `make golden` and commit tests/golden/baseline_small.parquet."
        )
