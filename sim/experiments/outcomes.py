"""Outcomes of a sweep run: one number per outcome, read from the run's tidy time series."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..results import select
from .sweepfile import Outcome


def outcome_value(timeseries: pd.DataFrame, outcome: Outcome) -> float:
    """The metric at a date (the last recorded week on or before it) or aggregated over a period."""
    rows = select(timeseries, outcome.metric, firm=outcome.firm, category=outcome.category,
                  locale=outcome.locale, segment=outcome.segment)
    if rows.empty:
        return float("nan")
    dates = pd.DatetimeIndex(rows["date"])
    values = rows["value"].to_numpy()
    if outcome.at is not None:
        before = np.flatnonzero(dates <= pd.Timestamp(outcome.at))
        return float(values[before[-1]] if len(before) else values[0])
    start, end = (pd.Timestamp(d) for d in outcome.over)
    window = values[(dates >= start) & (dates <= end)]
    if not len(window):
        return float("nan")
    return float({"mean": np.mean, "sum": np.sum, "min": np.min, "max": np.max, "last": lambda v: v[-1]}[
        outcome.aggregate](window))
