"""Data collection: weekly aggregates computed in the vectorized step, stored as a tidy table.

Each metric has a fixed layout of dimension labels (firm, category, locale, segment), declared
once; each week stores only its values. The table is assembled once, at the end of the run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from itertools import product

import numpy as np
import pandas as pd

from ..vocabulary import ALL

COLUMNS = ("date", "metric", "firm", "category", "locale", "segment", "value")
DIMENSIONS = ("firm", "category", "locale", "segment")


@dataclass
class Layout:
    metric: str
    labels: dict[str, np.ndarray]  # dimension -> one label per cell
    dates: list[dt.date] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)


class Recorder:
    """Collects metric values week by week and returns them as one tidy DataFrame."""

    def __init__(self) -> None:
        self._layouts: dict[tuple[str, str], Layout] = {}

    def layout(self, metric: str, key: str = "", **dimensions: list[str] | str) -> tuple[str, str]:
        """Declare a metric's cells: the product of the given labels, in the order given (others ``all``)."""
        names = [name for name, labels in dimensions.items() if not isinstance(labels, str)]
        cells = list(product(*(dimensions[name] for name in names))) or [()]
        labels = {}
        for dimension in DIMENSIONS:
            if dimension in names:
                labels[dimension] = np.array([cell[names.index(dimension)] for cell in cells], dtype=object)
            else:
                labels[dimension] = np.full(len(cells), dimensions.get(dimension, ALL), dtype=object)
        handle = (metric, key)
        self._layouts[handle] = Layout(metric, labels)
        return handle

    def series(self, metric: str, key: str = "", **labels: str) -> tuple[list[dt.date], np.ndarray]:
        """One cell's recorded values so far (dimensions not named are ``all``), without the table."""
        layout = self._layouts[(metric, key)]
        mask = np.ones(len(layout.labels["firm"]), dtype=bool)
        for dimension in DIMENSIONS:
            mask &= layout.labels[dimension] == labels.get(dimension, ALL)
        cell = int(np.flatnonzero(mask)[0])
        return layout.dates, np.array([values[cell] for values in layout.values])

    def latest(self, metric: str, key: str = "") -> tuple[dict[str, np.ndarray], np.ndarray]:
        """A layout's labels and its most recent values."""
        layout = self._layouts[(metric, key)]
        return layout.labels, (layout.values[-1] if layout.values else np.full(len(layout.labels["firm"]), np.nan))

    def cells(self) -> dict[str, set[tuple[str, ...]]]:
        """Every declared series: metric -> its cells' labels (firm, category, locale, segment)."""
        cells: dict[str, set[tuple[str, ...]]] = {}
        for layout in self._layouts.values():
            cells.setdefault(layout.metric, set()).update(zip(*(layout.labels[d] for d in DIMENSIONS)))
        return cells

    def record(self, handle: tuple[str, str], date: dt.date, values: np.ndarray | float) -> None:
        layout = self._layouts[handle]
        layout.dates.append(date)
        layout.values.append(np.asarray(values, dtype=float).reshape(-1))

    def table(self) -> pd.DataFrame:
        """The tidy table: one row per date x metric x cell, sorted by date (stable).

        Label columns are categoricals built from integer codes (each layout's labels are known),
        which is much faster than converting hundreds of thousands of strings.
        """
        layouts = [layout for layout in self._layouts.values() if layout.dates]
        if not layouts:
            return pd.DataFrame({column: [] for column in COLUMNS})
        columns: dict[str, object] = {
            "date": np.concatenate([np.repeat(np.array(layout.dates, dtype="datetime64[D]"), len(layout.labels["firm"]))
                                    for layout in layouts]),
        }
        counts = [len(layout.dates) * len(layout.labels["firm"]) for layout in layouts]
        for dimension in ("metric", *DIMENSIONS):
            per_layout = [np.full(len(layout.labels["firm"]), layout.metric, dtype=object) if dimension == "metric"
                          else layout.labels[dimension] for layout in layouts]
            categories = sorted({label for labels in per_layout for label in labels})
            index = {label: code for code, label in enumerate(categories)}
            codes = np.concatenate([
                np.tile(np.fromiter((index[label] for label in labels), dtype=np.int32, count=len(labels)),
                        count // len(labels))
                for labels, count in zip(per_layout, counts)])
            columns[dimension] = pd.Categorical.from_codes(codes, categories=categories)
        columns["value"] = np.concatenate([np.concatenate(layout.values) for layout in layouts])
        frame = pd.DataFrame(columns)
        return frame.sort_values("date", kind="stable", ignore_index=True)


def shares(amounts: np.ndarray, axis: int = -1) -> np.ndarray:
    """Shares along ``axis``, zero where the total is zero."""
    total = amounts.sum(axis=axis, keepdims=True)
    return np.divide(amounts, total, out=np.zeros_like(amounts, dtype=float), where=total > 0)


def with_totals(amounts: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Append an ``all`` slice (the sum) along each of ``axes``."""
    for axis in axes:
        amounts = np.concatenate([amounts, amounts.sum(axis=axis, keepdims=True)], axis=axis)
    return amounts
