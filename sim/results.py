"""Run results: the tidy time series, the manifest and the headline summary, and their files.

A results folder holds ``timeseries.parquet`` (columns ``date, metric, firm, category, locale,
segment, value``; ``all`` where a dimension is aggregated; ``locale`` is urban, suburban, rural,
all, or a state's USPS code for the monthly state metrics), ``manifest.json`` and
``summary.json``. Folders are written to a temporary sibling and renamed into place, so a
failed run never leaves a half-written folder and never destroys the previous one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import UserError
from .scenario import Scenario

TIMESERIES, MANIFEST, SUMMARY = "timeseries.parquet", "manifest.json", "summary.json"
RUNS = "runs"
SEGMENTS = ("none", "prime_only", "walmart_plus_only", "both")
FIRMS = ("amazon", "walmart", "rivals")


def package_version() -> str:
    try:
        return metadata.version("retailsim")
    except metadata.PackageNotFoundError:
        return "unknown"


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of the resolved scenario's canonical JSON: equal hashes, equal inputs."""
    canonical = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def select(timeseries: pd.DataFrame, metric: str, **dimensions: str) -> pd.DataFrame:
    """Rows of one metric; dimensions not named are taken at ``all``."""
    mask = timeseries["metric"] == metric
    for dimension in ("firm", "category", "locale", "segment"):
        mask &= timeseries[dimension] == dimensions.get(dimension, "all")
    return timeseries.loc[mask]


def _last(timeseries: pd.DataFrame, metric: str, **dimensions: str) -> float:
    rows = select(timeseries, metric, **dimensions)
    return float(rows["value"].iloc[-1]) if len(rows) else float("nan")


def _last_year(timeseries: pd.DataFrame, metric: str, **dimensions: str) -> float:
    """Sum over the last 52 recorded weeks (dollars a year)."""
    rows = select(timeseries, metric, **dimensions)
    return float(rows["value"].iloc[-52:].sum())


def summarize(timeseries: pd.DataFrame) -> dict[str, Any]:
    """The headline figures at the end of the horizon, from the time series alone."""
    if timeseries.empty:
        return {}
    end = timeseries["date"].max()
    return {
        "end_date": pd.Timestamp(end).date().isoformat(),
        "spend_share": {firm: _last(timeseries, "spend_share", firm=firm) for firm in FIRMS},
        "grocery_spend_share": {firm: _last(timeseries, "spend_share", firm=firm, category="grocery") for firm in FIRMS},
        "discretionary_spend_share": {
            firm: _last(timeseries, "spend_share", firm=firm, category="discretionary") for firm in FIRMS
        },
        "membership_share": {segment: _last(timeseries, "membership_share", segment=segment) for segment in SEGMENTS},
        "prime_share": _last(timeseries, "prime_share"),
        "walmart_plus_share": _last(timeseries, "walmart_plus_share"),
        "operating_profit_usd_last_year": {firm: _last_year(timeseries, "operating_profit", firm=firm) for firm in FIRMS},
        "revenue_usd_last_year": {firm: _last_year(timeseries, "revenue", firm=firm) for firm in FIRMS},
        "amazon_same_day_reach": _last(timeseries, "amazon_same_day_reach"),
        "amazon_rural_same_day_reach": _last(timeseries, "amazon_same_day_reach", locale="rural"),
        "walmart_express_coverage": _last(timeseries, "walmart_express_coverage"),
        "consumer_surplus_usd_per_household_week": _last(timeseries, "consumer_surplus"),
    }


@dataclass
class Result:
    """One run: the scenario as run, its seed, the tidy time series and the manifest."""

    scenario: Scenario
    seed: int
    timeseries: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> dict[str, Any]:
        return summarize(self.timeseries)

    def series(self, metric: str, **dimensions: str) -> pd.Series:
        """One metric over time as a Series indexed by date (dimensions not named are ``all``)."""
        rows = select(self.timeseries, metric, **dimensions)
        return pd.Series(rows["value"].to_numpy(), index=pd.DatetimeIndex(rows["date"]), name=metric)

    def save(self, directory: str | Path) -> Path:
        """Write the results folder atomically; returns its path."""
        directory = Path(directory)
        with staging(directory) as temporary:
            self.write_files(temporary)
        return directory

    def write_files(self, folder: Path) -> None:
        """The run's three files, into an existing folder (callers make the write atomic)."""
        write_timeseries(self.timeseries, folder / TIMESERIES)
        write_json(folder / MANIFEST, self.manifest)
        write_json(folder / SUMMARY, self.summary)

    @classmethod
    def load(cls, directory: str | Path) -> Result:
        directory = Path(directory)
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        scenario = Scenario.model_validate(manifest["scenario"])
        return cls(scenario, int(manifest["seed"]), read_timeseries(directory / TIMESERIES), manifest)


def write_timeseries(timeseries: pd.DataFrame, path: Path) -> None:
    """Parquet with dictionary-encoded labels; the same table always gives the same bytes."""
    table = pa.Table.from_pandas(timeseries, preserve_index=False)
    pq.write_table(table, path, compression="zstd")


def read_timeseries(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path)


def replace_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Write a file through ``write`` to a temporary name, then rename it over ``path``."""
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    write(temporary)
    os.replace(temporary, path)


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


class staging:
    """A temporary sibling folder that replaces ``target`` only if the block finishes."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __enter__(self) -> Path:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        # mkdir (unlike mkdtemp) honours the umask, so the folder gets the user's usual permissions.
        self.temporary = self.target.with_name(f".{self.target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        self.temporary.mkdir()
        return self.temporary

    def __exit__(self, kind, value, traceback) -> None:
        if kind is not None:
            shutil.rmtree(self.temporary, ignore_errors=True)
            return
        previous = None
        if self.target.exists():
            previous = self.target.with_name(f".{self.target.name}.old-{os.getpid()}")
            os.replace(self.target, previous)
        os.replace(self.temporary, self.target)
        if previous is not None:
            shutil.rmtree(previous, ignore_errors=True)


def save_set(results: list[Result], directory: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Write several runs: ``runs/<scenario>/seed-<seed>/`` each, plus a manifest listing them.

    A set of one run is written as a plain results folder (the files at the top).
    """
    directory = Path(directory)
    if len(results) == 1 and not extra:
        return results[0].save(directory)
    with staging(directory) as temporary:
        listing = []
        for result in results:
            where = Path(RUNS) / result.scenario.name / f"seed-{result.seed}"
            (temporary / where).mkdir(parents=True)
            result.write_files(temporary / where)
            listing.append({"scenario": result.scenario.name, "seed": result.seed, "path": where.as_posix()})
        write_json(temporary / MANIFEST, {"runs": listing, "package_version": package_version(), **(extra or {})})
    return directory


def load_set(directory: str | Path) -> list[Result]:
    """The runs of a results folder: one plain run, or a set written by :func:`save_set`."""
    directory = Path(directory)
    if (directory / TIMESERIES).is_file():
        return [Result.load(directory)]
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise UserError(f"{directory}: not a results folder (no {TIMESERIES} and no {MANIFEST})")
    listing = json.loads(manifest_path.read_text(encoding="utf-8")).get("runs", [])
    if not listing:
        raise UserError(f"{manifest_path}: lists no runs")
    return [Result.load(directory / entry["path"]) for entry in listing]
