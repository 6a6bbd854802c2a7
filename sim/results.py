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
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import UserError
from .leftovers import STAGING_MARK
from .outputs import RUNS, mark, prepare_output
from .swap import staging
from .scenario import Scenario
from .versions import package_version
from .vocabulary import ALL, FIRMS, SEGMENTS

TIMESERIES, MANIFEST, SUMMARY = "timeseries.parquet", "manifest.json", "summary.json"
SET_KEY = "command_line_set"  # a run's manifest: the --set changes it was made with (sim.cli), if any


TIMESERIES_DIGEST = "timeseries_sha256"  # a run's manifest: the SHA-256 of its timeseries.parquet as written


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of the resolved scenario's canonical JSON: equal hashes, equal inputs."""
    canonical = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


DIMENSIONS = ("firm", "category", "locale", "segment")


def select(timeseries: pd.DataFrame, metric: str, **dimensions: str) -> pd.DataFrame:
    """Rows of one metric; dimensions not named are taken at ``all``."""
    return timeseries.iloc[_positions(timeseries, metric, dimensions)]


def select_values(timeseries: pd.DataFrame, metric: str, **dimensions: str) -> tuple[np.ndarray, np.ndarray]:
    """The dates and values of :func:`select`'s rows, without making a frame of them (a tenth of the time)."""
    rows = _positions(timeseries, metric, dimensions)
    return timeseries["date"].to_numpy()[rows], timeseries["value"].to_numpy()[rows]


def _positions(timeseries: pd.DataFrame, metric: str, dimensions: dict[str, str]) -> np.ndarray:
    mask = _equal(timeseries["metric"], metric)
    for dimension in DIMENSIONS:
        mask = mask & _equal(timeseries[dimension], dimensions.get(dimension, "all"))
    return np.flatnonzero(mask)


def _equal(column: pd.Series, value: str) -> np.ndarray:
    """``column == value`` as an array; on a categorical column (as results are read and made) by its
    codes, several times faster: a report's notes and the calibration's targets select hundreds of series."""
    values = column.array
    if isinstance(values, pd.Categorical):
        if value not in values.categories:
            return np.zeros(len(values), dtype=bool)
        return values.codes == values.categories.get_loc(value)
    return (column == value).to_numpy(dtype=bool, na_value=False)  # a missing label matches nothing


def no_series(timeseries: pd.DataFrame, metric: str, dimensions: dict[str, str]) -> str:
    """Why ``select`` found no rows, in words: an unknown dimension, a metric the results do not hold,
    or the first dimension whose value (``all`` when not named) the metric does not have."""
    from .scenario.paths import suggest

    for name in dimensions:
        if name not in DIMENSIONS:
            return f"series(): unknown dimension '{name}'; {suggest(name, list(DIMENSIONS))}"
    metrics = timeseries["metric"].astype(str)
    if metric not in set(metrics):
        return f"series(): no metric '{metric}' in these results; {suggest(metric, sorted(set(metrics))).replace('keys', 'metrics')}"
    rows = timeseries[metrics == metric]
    for name in DIMENSIONS:
        wanted, held = dimensions.get(name, ALL), sorted(set(rows[name].astype(str)))
        if wanted not in held:
            return f"series(): {metric} has no {name} '{wanted}'; give {name}= one of {', '.join(held)}"
        rows = rows[rows[name] == wanted]
    return f"series(): {metric} has no rows for {dimensions}"


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
        "last_year_weeks": min(52, int(timeseries["date"].nunique())),  # the weeks the *_last_year figures sum
        "operating_profit_usd_last_year": {firm: _last_year(timeseries, "operating_profit", firm=firm) for firm in FIRMS},
        "revenue_usd_last_year": {firm: _last_year(timeseries, "revenue", firm=firm) for firm in FIRMS},
        "gmv_usd_last_year": {firm: _last_year(timeseries, "gmv", firm=firm) for firm in FIRMS},
        "operating_margin_last_year": {firm: _last_year(timeseries, "operating_profit", firm=firm)
                                       / _last_year(timeseries, "revenue", firm=firm) for firm in FIRMS},
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
        """The headline figures (:func:`summarize`), from the time series as it is now (about 0.05 s at
        the default size: read it once)."""
        return summarize(self.timeseries)

    def series(self, metric: str, **dimensions: str) -> pd.Series:
        """One metric over time as a Series indexed by date (dimensions not named are ``all``); a
        metric, dimension or value the results do not hold is one UserError naming what they hold."""
        rows = select(self.timeseries, metric, **dimensions)
        if rows.empty:
            raise UserError(no_series(self.timeseries, metric, dimensions))
        return pd.Series(rows["value"].to_numpy(), index=pd.DatetimeIndex(rows["date"]), name=metric)

    def save(self, directory: str | Path) -> Path:
        """Write the results folder atomically; returns its path. Refuses (UserError) a folder that
        holds anything but retailsim's own results."""
        prepare_output(Path(directory), RESULT_KINDS, "results folder", RESULT_FILES)
        return save_set([self], directory)

    def write_files(self, folder: Path) -> None:
        """The run's three files, into an existing folder (callers make the write atomic); the manifest
        records them (a folder's ``files``: what a later command may replace)."""
        write_timeseries(self.timeseries, folder / TIMESERIES)
        # The table's digest: a run loaded again in place of running it (--reuse) must be the run as written.
        digest = {TIMESERIES_DIGEST: file_digest(folder / TIMESERIES)}
        manifest = {key: value for key, value in self.manifest.items() if key != TIMESERIES_DIGEST}
        write_json(folder / MANIFEST, mark({**manifest, **digest, "files": [MANIFEST, SUMMARY, TIMESERIES]}, "run"))
        write_json(folder / SUMMARY, self.summary)

    @classmethod
    def load(cls, directory: str | Path) -> Result:
        """A run saved by :meth:`save`; a damaged folder is one UserError line naming what is wrong."""
        directory = Path(directory)
        manifest = read_json_object(directory / MANIFEST, directory)
        if manifest.get("kind") == "set" or isinstance(manifest.get("runs"), list):
            raise UserError(f"{directory}: holds several runs (a comparison or replicates), not one: read them "
                            "with sim.results.load_set")
        if manifest.get("kind") not in (None, "run"):
            raise UserError(f"{directory}: is retailsim's {manifest.get('kind')} folder, not a run's results "
                            "(a sweep's runs are in its runs.parquet, sim.sweep returns them)")
        try:
            scenario = Scenario.model_validate(manifest["scenario"])
            seed = int(manifest["seed"])
        except (KeyError, TypeError, ValueError) as error:
            what = f"no '{error.args[0]}' entry" if isinstance(error, KeyError) else "an unreadable scenario or seed"
            raise damaged(directory, f"{MANIFEST} has {what}") from None
        return cls(scenario, seed, read_timeseries(directory / TIMESERIES, directory), manifest)


def damaged(folder: Path, problem: str) -> UserError:
    return UserError(f"{folder}: not a usable results folder: {problem}; rerun the scenario to write it again")


def read_json_object(path: Path, folder: Path) -> dict[str, Any]:
    """A results folder's JSON file as a dict; a missing, unreadable or truncated one is one UserError line."""
    if not path.is_file():
        raise damaged(folder, f"{path.name} is missing")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise damaged(folder, f"{path.name} is not valid JSON ({str(error).splitlines()[0][:80]})") from None
    except RecursionError:
        raise damaged(folder, f"{path.name} is nested too deeply to be a retailsim manifest") from None
    if not isinstance(data, dict):
        raise damaged(folder, f"{path.name} is not a JSON object")
    return data


def write_timeseries(timeseries: pd.DataFrame, path: Path) -> None:
    """Parquet with dictionary-encoded labels; the same table always gives the same bytes."""
    table = pa.Table.from_pandas(timeseries, preserve_index=False)
    pq.write_table(table, path, compression="zstd")


COLUMNS = ["date", "metric", "firm", "category", "locale", "segment", "value"]


def read_timeseries(path: Path, folder: Path | None = None) -> pd.DataFrame:
    """A run's tidy time series; a missing or damaged file is one UserError line."""
    folder = path.parent if folder is None else folder
    if not path.is_file():
        raise damaged(folder, f"{path.name} is missing")
    try:
        timeseries = pd.read_parquet(path)
    except (OSError, ValueError, pa.ArrowException) as error:
        raise damaged(folder, f"{path.name} cannot be read ({str(error).splitlines()[0][:80]})") from None
    if list(timeseries.columns) != COLUMNS:
        raise damaged(folder, f"{path.name} has columns {', '.join(map(str, timeseries.columns))}, "
                              f"not {', '.join(COLUMNS)}")
    problem = ("it has no rows" if timeseries.empty else
               "its date column does not hold dates" if not pd.api.types.is_datetime64_any_dtype(timeseries["date"]) else
               "its value column does not hold numbers" if not pd.api.types.is_float_dtype(timeseries["value"]) else None)
    if problem:
        raise damaged(folder, f"{path.name} is not a run's time series: {problem}")
    if getattr(timeseries["date"].dtype, "tz", None) is None:
        # Parquet keeps no unit of seconds, and reads the model's dates (datetime64[s]) back in
        # milliseconds: a run read back has the layout of the run as made, so runs made and runs
        # loaded (``--reuse``) are read side by side in a report without reshaping (Ensemble._series).
        timeseries["date"] = timeseries["date"].astype("datetime64[s]")
    return timeseries


def replace_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Write a file through ``write`` to a temporary name, then rename it over ``path``."""
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def strict(data: Any) -> Any:
    """``data`` with every NaN or infinite float replaced by None, so it can be written as strict JSON."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: strict(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [strict(value) for value in data]
    return data


def write_json(path: Path, data: Any) -> None:
    """Strict JSON (NaN and infinities written as null), sorted keys, one trailing newline."""
    path.write_text(json.dumps(strict(data), indent=2, sort_keys=True, allow_nan=False) + "\n", encoding="utf-8")


# What a results folder may hold; ``prepare_output`` refuses to replace one holding anything else.
RESULT_KINDS = ("run", "set")
RESULT_FILES = (TIMESERIES, MANIFEST, SUMMARY, RUNS, "report.html", "differences.csv", "differences_by_year.csv",
                "answers.csv")


def save_set(results: list[Result], directory: str | Path, extra: dict[str, Any] | None = None,
             add: Callable[[Path], None] | None = None) -> Path:
    """Write several runs: ``runs/<scenario>/seed-<seed>/`` each (``.../draw-<k>/seed-<seed>/`` over
    parameter draws), plus a manifest listing them.

    A set of one run is written as a plain results folder (the files at the top). ``add`` writes
    more files (the report) into the folder before it replaces the earlier one, so results and
    report land together or not at all.
    """
    directory = Path(directory)
    with staging(directory) as temporary:
        if len(results) == 1 and not extra:
            results[0].write_files(temporary)
        else:
            listing = []
            for result in results:
                draw = result.manifest.get("parameter_draw")  # runs over posterior draws repeat their seeds
                leaf = f"seed-{result.seed}" if draw is None else f"draw-{draw}/seed-{result.seed}"
                where = Path(RUNS) / result.scenario.name / leaf
                (temporary / where).mkdir(parents=True)
                result.write_files(temporary / where)
                entry = {"scenario": result.scenario.name, "seed": result.seed, "path": where.as_posix()}
                listing.append(entry if draw is None else {**entry, "parameter_draw": draw})
            manifest = {"runs": listing, "package_version": package_version(), **(extra or {})}
            write_json(temporary / MANIFEST, mark(manifest, "set"))
        if add is not None:
            add(temporary)
        record_files(temporary)
    return directory


def record_files(folder: Path, *added: str) -> None:
    """Record in ``folder``'s manifest the files retailsim wrote there (``files``): those now in the
    folder being written, or, with names given, those added to an existing folder (atomically)."""
    manifest = read_json_object(folder / MANIFEST, folder)
    if added:
        earlier = manifest.get("files")
        if not isinstance(earlier, list):
            return  # a folder from before manifests recorded their files: judged by names (outputs.recorded)
        manifest["files"] = sorted({*earlier, *added})
        replace_atomically(folder / MANIFEST, lambda path: write_json(path, manifest))
        return
    manifest["files"] = sorted(entry.name for entry in os.scandir(folder) if entry.name != STAGING_MARK)
    write_json(folder / MANIFEST, manifest)


def load_set(directory: str | Path) -> list[Result]:
    """The runs of a results folder: one plain run, or a set written by :func:`save_set`."""
    return [Result.load(folder) for folder in run_folders(directory)]


def run_folders(directory: str | Path) -> list[Path]:
    """The folders of the runs a results folder holds: itself (one plain run), or those a set written by
    :func:`save_set` lists; anything else is one UserError line."""
    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(f"{directory}: {'is a file, not' if directory.exists() else 'no such folder; give'} "
                        "a results folder written by retailsim run or compare")
    if (directory / TIMESERIES).exists():
        return [directory]
    if not (directory / MANIFEST).is_file():
        raise UserError(f"{directory}: not a results folder (no {TIMESERIES} and no {MANIFEST})")
    manifest = read_json_object(directory / MANIFEST, directory)
    listing = manifest.get("runs")
    if manifest.get("kind") == "run" or "scenario" in manifest:  # a single run's folder, without its table
        raise damaged(directory, f"{TIMESERIES} is missing")
    if not isinstance(listing, list) or not listing:
        raise damaged(directory, f"{MANIFEST} lists no runs")
    folders = []
    for number, entry in enumerate(listing):
        path = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(path, str) or Path(path).is_absolute() or ".." in Path(path).parts:
            raise damaged(directory, f"{MANIFEST} runs[{number}] has no path inside the folder")
        folders.append(directory / path)
    return folders
