"""Runs of one or more scenarios over common seeds, and the statistics the reports draw.

Bands are the spread of outcomes over replicates: the mean and the 5% and 95% quantiles across
seeds (90% of replicate runs fall inside). Differences against the baseline are paired by seed
(common random numbers); their interval is the 90% confidence interval of the mean difference
(Student t over replicates).
"""

from __future__ import annotations

import datetime as dt

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from ..results import Result
from ..scenario import Scenario

LABELS = ["metric", "firm", "category", "locale", "segment"]
LOW, HIGH = 0.05, 0.95


@dataclass(frozen=True)
class Band:
    """Mean and 5-95% band over replicates of one series, per scenario: frames indexed by date."""

    mean: pd.DataFrame  # columns: scenario
    low: pd.DataFrame
    high: pd.DataFrame


class Ensemble:
    """All runs of a report: one or more scenarios (the first is the baseline), each over the same seeds."""

    def __init__(self, results: list[Result]) -> None:
        if not results:
            raise ValueError("an ensemble needs at least one run")
        self.results = results
        self.scenarios: list[Scenario] = []
        for result in results:
            if result.scenario.name not in [s.name for s in self.scenarios]:
                self.scenarios.append(result.scenario)
        self.names = [scenario.name for scenario in self.scenarios]
        self.baseline = self.names[0]
        mine = [result for result in results if result.scenario.name == self.baseline]
        self.seeds = sorted({result.seed for result in mine})
        # Runs over posterior draws (``--parameter-draws``) repeat their seeds in every draw: a run is
        # then known by draw and seed, and ``keys`` label those pairs (without draws: the seeds).
        self.draws = sorted({d for d in (_draw(result) for result in mine) if d is not None})
        pairs = sorted({(_draw(result), result.seed) for result in mine}, key=lambda pair: (pair[0] or 0, pair[1]))
        self.keys = [self.key(*pair) for pair in pairs]
        self.draw_of = pd.Series([pair[0] for pair in pairs], index=self.keys)  # each key's draw
        self.seed_of = pd.Series([pair[1] for pair in pairs], index=self.keys)
        self.columns = pd.MultiIndex.from_product([self.names, self.keys])  # of every wide frame

    def share(self) -> None:
        """Compute now what the report's figures all read (the pivoted series and where each one lies),
        so that copies forked to make figures (:func:`sim.report.build_report` on several cores) share it
        rather than each making it again."""
        for name in ("_series", "_rows_of", "_series_values", "_series_dates", "start_date", "end_date"):
            getattr(self, name)

    @cached_property
    def table(self) -> pd.DataFrame:
        """All runs in one long table, indexed by the labels (columns date, value, scenario, seed)."""
        frames = []
        for result in self.results:
            frame = result.timeseries.copy()
            for label in LABELS:
                frame[label] = frame[label].astype(str)
            frame["scenario"], frame["seed"] = result.scenario.name, self.key(_draw(result), result.seed)
            frames.append(frame)
        table = pd.concat(frames, ignore_index=True)
        return table.set_index(LABELS).sort_index()

    @staticmethod
    def key(draw: int | None, seed: int) -> int | str:
        """A run's label among a scenario's runs: its seed, or with parameter draws draw and seed."""
        return seed if draw is None else f"draw {draw} seed {seed}"

    @property
    def replicates(self) -> int:
        """Runs per scenario (replicates, times parameter draws when there are draws)."""
        return len(self.keys)

    @cached_property
    def start_date(self) -> pd.Timestamp:
        return pd.Timestamp(min(result.timeseries["date"].min() for result in self.results))

    @cached_property
    def end_date(self) -> pd.Timestamp:
        return pd.Timestamp(max(result.timeseries["date"].max() for result in self.results))

    def rows(self, metric: str, **dimensions: str) -> pd.DataFrame:
        """Rows of one series (dimensions not named are ``all``), every scenario and seed."""
        key = (metric, *(dimensions.get(label, "all") for label in LABELS[1:]))
        try:
            return self.table.loc[key]
        except KeyError:
            return self.table.iloc[0:0]

    @cached_property
    def _series(self) -> pd.DataFrame:
        """Every series side by side, pivoted once: index (labels..., date), columns (scenario, seed)."""
        first = self.results[0].timeseries
        runs: dict[tuple[str, int], pd.DataFrame] = {}
        for result in self.results:  # in order; the first of twin runs, as a pivot keeps
            runs.setdefault((result.scenario.name, self.key(_draw(result), result.seed)), result.timeseries)
        if all(ts[LABELS + ["date"]].equals(first[LABELS + ["date"]]) for ts in runs.values()):
            # Runs of one layout (the usual case): their values side by side, no reshaping.
            index = pd.MultiIndex.from_frame(first[LABELS + ["date"]])
            values = np.column_stack([ts["value"].to_numpy() for ts in runs.values()])
            frame = pd.DataFrame(values, index=index, columns=pd.MultiIndex.from_tuples(list(runs)))
            return frame[~frame.index.duplicated()].sort_index()
        values = self.table.set_index(["date", "scenario", "seed"], append=True)["value"]
        if values.index.has_duplicates:  # keep the first of repeated rows, as a pivot would
            values = values[~values.index.duplicated()]
        return values.unstack(["scenario", "seed"]).sort_index()

    def wide(self, metric: str, **dimensions: str) -> pd.DataFrame:
        """One series as a frame: index date, columns (scenario, seed)."""
        key = (metric, *(dimensions.get(label, "all") for label in LABELS[1:]))
        rows = self._rows_of.get(key)
        if rows is None:
            empty = self.table.iloc[0:0]
            frame = empty.pivot_table(index="date", columns=["scenario", "seed"], values="value", aggfunc="first")
            return frame.reindex(columns=self.columns)
        # ``self._series.loc[key]`` without its search of the index, less the dates on which the series
        # was not recorded, with the columns of every wide frame (a report reads about 150 series).
        values = self._series_values[rows]
        recorded = ~np.isnan(values).all(axis=1)
        dates = self._series_dates[rows]
        if not recorded.all():
            values, dates = values[recorded], dates[recorded]
        return pd.DataFrame(values, index=dates, columns=self._series.columns, copy=True).reindex(columns=self.columns)

    @cached_property
    def _rows_of(self) -> dict[tuple, slice]:
        """Each series' rows of :attr:`_series` (sorted: a series' rows are together), by its labels."""
        index = self._series.index
        if not len(index):
            return {}
        codes = np.column_stack(index.codes[:len(LABELS)])
        starts = np.flatnonzero(np.r_[True, (codes[1:] != codes[:-1]).any(axis=1)])
        ends = np.r_[starts[1:], len(index)]
        labels = [key[:len(LABELS)] for key in index[starts].tolist()]  # a missing label stays missing
        return {key: slice(start, end) for key, start, end in zip(labels, starts.tolist(), ends.tolist())}

    @cached_property
    def _series_values(self) -> np.ndarray:
        return self._series.to_numpy()

    @cached_property
    def _series_dates(self) -> pd.Index:
        return self._series.index.get_level_values("date")

    def band(self, metric: str, scale: float = 1.0, **dimensions: str) -> Band:
        """Mean and 5-95% band over seeds, per scenario."""
        frame = self.wide(metric, **dimensions) * scale
        if len(self.keys) == 1:  # one run per scenario: the mean and both quantiles are its values
            single = frame.droplevel(1, axis=1)[self.names]
            return Band(single, single.copy(), single.copy())
        grouped = frame.T.groupby(level=0, sort=False)
        mean = grouped.mean().T[self.names]
        low, high = grouped.quantile(LOW).T[self.names], grouped.quantile(HIGH).T[self.names]
        return Band(mean, low, high)

    def paired_difference(self, metric: str, scale: float = 1.0, **dimensions: str) -> Band:
        """What-if minus baseline, seed by seed: mean and 5-95% band over seeds, per what-if. Over
        parameter draws the band is run noise alone: the spread of the differences about their
        draw's mean, pooled over draws, around the mean of all runs."""
        frame = self.wide(metric, **dimensions) * scale
        base = frame[self.baseline]
        what_ifs = self.names[1:]
        differences = {name: frame[name] - base for name in what_ifs}
        mean = pd.DataFrame({name: d.mean(axis=1) for name, d in differences.items()})
        if self.draws:
            draws = self.draw_of.to_numpy()
            noise = {name: d - d.T.groupby(draws).transform("mean").T for name, d in differences.items()}
            low = pd.DataFrame({name: mean[name] + n.quantile(LOW, axis=1) for name, n in noise.items()})
            high = pd.DataFrame({name: mean[name] + n.quantile(HIGH, axis=1) for name, n in noise.items()})
            return Band(mean, low, high)
        low = pd.DataFrame({name: d.quantile(LOW, axis=1) for name, d in differences.items()})
        high = pd.DataFrame({name: d.quantile(HIGH, axis=1) for name, d in differences.items()})
        return Band(mean, low, high)

    def parameter_difference(self, metric: str, scale: float = 1.0, **dimensions: str) -> Band:
        """What-if minus baseline over parameter draws: each draw's mean paired difference (over its
        seeds), and their mean and 5th-95th percentiles over draws, per what-if."""
        frame = self.wide(metric, **dimensions) * scale
        base, draws = frame[self.baseline], self.draw_of.to_numpy()
        per_draw = {name: (frame[name] - base).T.groupby(draws).mean().T for name in self.names[1:]}
        return Band(pd.DataFrame({name: d.mean(axis=1) for name, d in per_draw.items()}),
                    pd.DataFrame({name: d.quantile(LOW, axis=1) for name, d in per_draw.items()}),
                    pd.DataFrame({name: d.quantile(HIGH, axis=1) for name, d in per_draw.items()}))

    def at_end(self, metric: str, scale: float = 1.0, last_year_sum: bool = False, **dimensions: str) -> pd.DataFrame:
        """Per scenario and seed, the value at the end of the horizon (or summed over its last 52 weeks)."""
        frame = self.wide(metric, **dimensions) * scale
        values = frame.iloc[-min(52, self.weeks):].sum() if last_year_sum else frame.iloc[-1]
        return values.unstack(level=1)  # rows: scenario, columns: seed

    def over(self, metric: str, years: tuple[int, int], scale: float = 1.0, total: bool = False,
             **dimensions: str) -> pd.DataFrame:
        """Per scenario and seed, the mean over the weeks of calendar years ``years`` (first, last),
        or with ``total`` their sum (money over the period)."""
        frame = self.wide(metric, **dimensions) * scale
        index = frame.index if isinstance(frame.index, pd.DatetimeIndex) else pd.DatetimeIndex(frame.index)
        rows = frame.loc[(index.year >= years[0]) & (index.year <= years[1]) & (index >= self.common_start)]
        values = rows.sum() if total else rows.mean()
        return values.unstack(level=1)

    @cached_property
    def common_start(self) -> pd.Timestamp:
        """The first week every run records (a what-if may start later than its baseline)."""
        return pd.Timestamp(max(result.timeseries["date"].min() for result in self.results))

    @cached_property
    def weeks(self) -> int:
        """How many weeks every run records (from :attr:`common_start`): money at the end of the horizon
        sums the last 52 of them, or all of them if fewer, in every scenario alike."""
        dates = pd.concat([result.timeseries["date"] for result in self.results]).unique()
        return int((pd.DatetimeIndex(dates) >= self.common_start).sum())

    def partial(self, years: tuple[int, int]) -> str:
        """How calendar years ``years`` (first, last) fall short of whole years in the recorded weeks:
        " (from DATE)", " (to DATE)", both, or "" when the weeks cover them (a week counts in its
        year by its first day)."""
        start, end = self.common_start.date(), self.end_date.date()
        late = start.year == years[0] and start > dt.date(years[0], 1, 7)
        early = end.year == years[1] and end < dt.date(years[1], 12, 25)
        return (f" (from {start})" if late else "") + (f" (to {end})" if early else "")

    @property
    def years(self) -> list[int]:
        """The calendar years the weeks every run records touch."""
        return list(range(self.common_start.year, self.end_date.year + 1))

    def state_values(self, metric: str, **dimensions: str) -> pd.DataFrame:
        """Mean over seeds of a monthly state metric at the last recorded month: rows state, columns scenario."""
        try:
            block = self._series.loc[metric]  # index: firm, category, locale, segment, date
        except KeyError:
            return pd.DataFrame()
        keep = np.asarray(block.index.get_level_values("locale").str.len() == 2)
        for label in ("firm", "category", "segment"):
            keep &= np.asarray(block.index.get_level_values(label) == dimensions.get(label, "all"))
        rows = block.loc[keep]
        dates = rows.index.get_level_values("date")
        rows = rows.loc[np.asarray(dates == dates.max())].dropna(axis=1, how="all")
        if rows.empty:
            return pd.DataFrame()
        rows.index = pd.Index(rows.index.get_level_values("locale").astype(str), name="locale")
        means = rows.T.groupby(level=0, sort=False).mean().T  # over seeds, per scenario
        means.columns.name = "scenario"
        return means.dropna(how="all").sort_index()[self.names]


def _draw(result: Result) -> int | None:
    """The parameter draw a run belongs to (``None``: a run without draws)."""
    draw = result.manifest.get("parameter_draw")
    return None if draw is None else int(draw)


def draw_intervals(differences: np.ndarray, draws: np.ndarray, seeds: np.ndarray,
                   level: float = 0.90) -> tuple[float, float, float, float, float]:
    """Paired differences over parameter draws: their mean; the ``level`` confidence interval of
    the mean over seeds (each seed's difference averaged over the draws, since every draw uses the
    same seeds); and the 5th-95th percentiles over draws of each draw's mean difference."""
    table = pd.DataFrame({"difference": np.asarray(differences, dtype=float), "draw": draws, "seed": seeds})
    mean, low, high = mean_interval(table.groupby("seed", sort=True)["difference"].mean().to_numpy(), level)
    by_draw = table.groupby("draw", sort=True)["difference"].mean().to_numpy()
    return mean, low, high, float(np.quantile(by_draw, LOW)), float(np.quantile(by_draw, HIGH))


def mean_interval(differences: np.ndarray, level: float = 0.90) -> tuple[float, float, float]:
    """Mean of paired differences and its two-sided confidence interval (NaN with one replicate)."""
    differences = np.asarray(differences, dtype=float)
    mean = float(differences.mean())
    if len(differences) < 2:
        return mean, float("nan"), float("nan")
    from scipy.special import stdtrit  # Student's t quantile, as scipy.stats.t.ppf gives it, without scipy.stats' import (about a second)

    half = stdtrit(len(differences) - 1, 0.5 + level / 2) * differences.std(ddof=1) / np.sqrt(len(differences))
    return mean, mean - half, mean + half
