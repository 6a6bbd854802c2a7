"""Exports of a results folder (``retailsim export``): CSV files, or one spreadsheet with a sheet each.

The tables: ``timeseries`` (the tidy time series of every run, with its scenario and seed),
``summary`` (each run's headline figures, one row per figure, with its unit), ``units`` (each
metric's unit: shares are fractions, a comparison's differences of them percentage points) and, for a comparison,
``differences`` (the report's differences table at the end of the horizon, or over the period the
comparison was run with, :func:`sim.comparison.differences`) and ``differences_by_year`` (the same, year by year), and, for a
comparison run with ``--rivals-answer``, ``answers`` (its ``answers.csv``, ``sim/rivals.py``).

CSV is written by pandas alone, into a folder that carries retailsim's manifest (kind ``export``),
swapped into place like a results folder. The spreadsheet needs openpyxl; it is one file written to
a temporary name and renamed into place, and only a spreadsheet retailsim wrote (its document
properties say so) is ever replaced. A sheet holds at most 1,048,576 rows, so the spreadsheet's
``timeseries`` sheet holds the national series (locale ``all``) as the mean over the replicates of
each scenario; the CSV holds every row of every run.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import zipfile
from pathlib import Path

import pandas as pd

from .comparison import DIFFERENCES, DIFFERENCES_BY_YEAR, differences, recorded_period, yearly_differences
from .errors import UserError
from .rivals import ANSWERS, read_answers
from .leftovers import remove_stale_files
from .outputs import (MAX_FOLDER_NAME, MAX_STAGED_NAME, check_lengths, kind_of, mark, prepare_output, read_manifest,
                      refuse_inside_ours, unreadable_manifest)
from .swap import keep_beside, staging
from .vocabulary import METRIC_UNITS, SHARE
from .results import MANIFEST, RESULT_KINDS, Result, file_digest, load_set, replace_atomically, write_json
from .versions import package_version

FORMATS = ("csv", "xlsx")
KIND = "export"
TIMESERIES_CSV, SUMMARY_CSV = "timeseries.csv", "summary.csv"
UNITS_CSV = "units.csv"
EXPORT_FILES = (TIMESERIES_CSV, SUMMARY_CSV, UNITS_CSV, DIFFERENCES, DIFFERENCES_BY_YEAR, ANSWERS, MANIFEST)
# The headline summary's figures (summary.json) and their units.
YEAR_DOLLARS = ("US$ over the last 52 weeks (over last_year_weeks, if the horizon records fewer), national, "
                "constant 2024 dollars")
SUMMARY_UNITS = {
    **dict.fromkeys(("spend_share", "grocery_spend_share", "discretionary_spend_share", "membership_share",
                     "prime_share", "walmart_plus_share", "amazon_same_day_reach", "amazon_rural_same_day_reach",
                     "walmart_express_coverage"), SHARE),
    **dict.fromkeys(("operating_profit_usd_last_year", "revenue_usd_last_year", "gmv_usd_last_year"), YEAR_DOLLARS),
    "operating_margin_last_year": "share of revenue (0-1)",
    "last_year_weeks": "weeks",
    "consumer_surplus_usd_per_household_week": METRIC_UNITS["consumer_surplus"],
}
CREATOR, MARK = "retailsim", "retailsim export"  # the spreadsheet's creator and keywords: ours to replace
OPENPYXL = "openpyxl==3.1.5"
SHEET_ROWS = 1_048_576  # rows a sheet holds (Excel, LibreOffice), header included


def timeseries_table(results: list[Result]) -> pd.DataFrame:
    """Every run's tidy time series, one after another, with ``scenario`` and ``seed`` first."""
    frames = []
    for result in results:
        frame = result.timeseries.copy()
        frame.insert(0, "seed", result.seed)
        frame.insert(0, "scenario", result.scenario.name)
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    for label in ("metric", "firm", "category", "locale", "segment"):
        table[label] = table[label].astype(str)
    return table


def national_means(results: list[Result]) -> pd.DataFrame:
    """The national series (locale ``all``) of each scenario, mean over its replicates."""
    table = timeseries_table(results)
    table = table[table["locale"] == "all"]
    keys = ["scenario", "date", "metric", "firm", "category", "locale", "segment"]
    grouped = table.groupby(keys, sort=False, observed=True)["value"]
    means = grouped.mean().reset_index()
    means["replicates"] = grouped.size().to_numpy()
    means["unit"] = means["metric"].map(METRIC_UNITS)
    return means


def summary_table(results: list[Result]) -> pd.DataFrame:
    """Each run's headline figures (``summary.json``), one row per figure and part (``all`` for a single number)."""
    rows = []
    for result in results:
        summary = dict(result.summary)
        end = summary.pop("end_date", None)
        for figure, value in summary.items():
            parts = value.items() if isinstance(value, dict) else [("all", value)]
            rows.extend({"scenario": result.scenario.name, "seed": result.seed, "end_date": end, "figure": figure,
                         "part": part, "value": number, "unit": SUMMARY_UNITS.get(figure, "")} for part, number in parts)
    table = pd.DataFrame(rows, columns=["scenario", "seed", "end_date", "figure", "part", "value", "unit"])
    table["end_date"] = pd.to_datetime(table["end_date"])  # a date in a spreadsheet, as the time series' are
    return table


def units_table() -> pd.DataFrame:
    """Each metric of the time series and its unit (shares are fractions, 0-1; a comparison's
    differences of shares are in percentage points)."""
    return pd.DataFrame(sorted(METRIC_UNITS.items()), columns=["metric", "unit"])


def tables(results: list[Result], spreadsheet: bool = False, folder: Path | None = None,
           period: tuple[int, int] | None = None) -> dict[str, pd.DataFrame]:
    """The exported tables by name; ``differences`` only when the results compare scenarios (over
    ``period``, or the period ``folder``'s comparison was run with, as its ``differences.csv``; else at
    the end of the horizon), ``answers`` only when ``folder`` holds the rivals' answer."""
    named = {"timeseries": national_means(results) if spreadsheet else timeseries_table(results),
             "summary": summary_table(results), "units": units_table()}
    if len({result.scenario.name for result in results}) > 1:
        if period is None and folder is not None:
            period = recorded_period(folder, [result.scenario for result in results])
        named["differences"] = differences(results, period)
        named["differences_by_year"] = yearly_differences(results)
    answers = read_answers(folder) if folder is not None else None
    if answers is not None:
        named["answers"] = answers
    return named


def default_out(folder: Path, fmt: str) -> Path:
    """Beside the results folder: ``<name>-csv/`` or ``<name>.xlsx``."""
    folder = Path(os.path.abspath(folder)) if Path(folder).name in ("", "..") else Path(folder)
    return folder.with_name(f"{folder.name}-csv" if fmt == "csv" else f"{folder.name}.xlsx")


def target_of(folder: str | Path, fmt: str, out: str | Path | None) -> tuple[Path, int]:
    """Where an export goes (``out``, or :func:`default_out`), its names' lengths checked, and the longest
    last name it takes: a name the user gives, as at ``run --out``; the default, which adds five bytes to a
    results folder's name, as far as the system and the staging's decoration allow."""
    if out is not None:
        check_lengths(Path(out))
        return Path(out), MAX_FOLDER_NAME
    target = default_out(Path(folder), fmt)
    check_lengths(target, "the export's default name (beside the results folder; give --out)", MAX_STAGED_NAME)
    return target, MAX_STAGED_NAME


def load_results(folder: Path) -> list[Result]:
    """The runs of a folder written by ``run`` or ``compare`` (one line if it is anything else)."""
    kind = kind_of(folder) if folder.is_dir() else None
    if folder.is_dir() and kind not in RESULT_KINDS:
        why = (f"it is retailsim's {kind} folder, which keeps its own report" + (
               ": run its sweep file again to rebuild it" if kind == "sweep" else "") if kind
               else unreadable_manifest(folder, ""))
        raise UserError(f"{folder}: not a results folder written by retailsim run or compare ({why}); "
                        "nothing was written")
    return load_set(folder)


def export(folder: str | Path, fmt: str = "csv", out: str | Path | None = None) -> Path:
    """Export a results folder; returns the folder (CSV) or file (xlsx) written.

    Everything is checked before anything is written: the format, openpyxl for xlsx, the folder,
    and that ``out`` is new or an earlier export of retailsim's (never anything else).
    """
    if fmt not in FORMATS:
        raise UserError(f"--format {fmt}: use csv or xlsx")
    folder = Path(folder)
    out, most = target_of(folder, fmt, out)
    if Path(os.path.realpath(out)).is_relative_to(os.path.realpath(folder)):
        raise UserError(f"--out {out}: is inside the results folder {folder}, which would then hold a file retailsim "
                        "does not replace with its results; choose a place outside it")
    if fmt == "xlsx":
        workbook_module()
        check_spreadsheet_target(out)
        remove_stale_files(out.absolute().parent, {out.name})  # of an earlier export that was killed
    else:
        prepare_output(out, (KIND,), "--out", EXPORT_FILES, also=lambda: check_csv_unchanged(out), most=most)
    results = load_results(folder)
    named = tables(results, spreadsheet=fmt == "xlsx", folder=folder)
    if fmt == "xlsx":
        return write_spreadsheet(named, out)
    from .jobs.folders import warn

    warn([f"{name}.csv holds {len(table):,} rows, more than a spreadsheet opens ({SHEET_ROWS:,}): open summary.csv "
          "and the differences in a spreadsheet and this one with pandas or R, or export --format xlsx, whose "
          "timeseries sheet holds the national series averaged over the replicates"
          for name, table in named.items() if len(table) >= SHEET_ROWS])
    return write_csv_folder(named, out, folder)


def write_csv_folder(named: dict[str, pd.DataFrame], out: Path, source: Path) -> Path:
    """One CSV file a table, and a manifest, swapped into ``out`` together."""
    with staging(out) as temporary:
        for name, table in named.items():
            table.to_csv(temporary / f"{name}.csv", index=False, lineterminator="\n")
        manifest = {"source": str(source), "files": [f"{name}.csv" for name in named],
                    "sha256": {f"{name}.csv": file_digest(temporary / f"{name}.csv") for name in named},
                    "package_version": package_version()}
        write_json(temporary / MANIFEST, mark(manifest, KIND))
    return out


def check_csv_unchanged(out: Path) -> None:
    """An earlier CSV export is replaced only if none of its files changed since (their digests are in
    its manifest; an export from before 4 Dec 2026 has none and is replaced, as then)."""
    digests = (read_manifest(out) or {}).get("sha256") if out.is_dir() else None
    if not isinstance(digests, dict):
        return
    edited = sorted(name for name, digest in digests.items()
                    if (out / name).is_file() and not (out / name).is_symlink() and file_digest(out / name) != digest)
    if edited:
        raise UserError(f"--out {out}: {', '.join(edited[:3])} changed since retailsim exported it (edited, or saved "
                        "by another program); it is left as it is: choose a new --out")


def workbook_module():
    """openpyxl, or one line saying how to install it (CSV needs nothing more)."""
    try:
        import openpyxl
    except ImportError:
        raise UserError(f"--format xlsx needs openpyxl, which is not installed: pip install {OPENPYXL} "
                        "(or export --format csv, which needs nothing more)") from None
    return openpyxl


def written_by_retailsim(path: Path) -> bool:
    """Whether a spreadsheet's document properties name retailsim's export as its author."""
    try:
        with zipfile.ZipFile(path) as archive:
            core = archive.read("docProps/core.xml").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile, ValueError):
        return False
    return f"<dc:creator>{CREATOR}</dc:creator>" in core and f">{MARK}</" in core


CORE = "docProps/core.xml"  # the document properties: the one part the digest leaves out, as it holds it
DIGEST = re.compile(r"<dc:description>retailsim-sha256:([0-9a-f]{64})</dc:description>")


def contents_digest(path: Path) -> str | None:
    """SHA-256 of every part of a spreadsheet but its document properties (None if unreadable)."""
    digest = hashlib.sha256()
    try:
        with zipfile.ZipFile(path) as archive:
            for name in sorted(archive.namelist()):
                if name != CORE:
                    digest.update(name.encode() + b"\0" + archive.read(name))
    except (OSError, zipfile.BadZipFile, ValueError):
        return None
    return digest.hexdigest()


def recorded_digest(path: Path) -> str | None:
    """The digest retailsim wrote into a spreadsheet's document properties when it exported it."""
    try:
        with zipfile.ZipFile(path) as archive:
            found = DIGEST.search(archive.read(CORE).decode("utf-8", "replace"))
    except (OSError, KeyError, zipfile.BadZipFile, ValueError):
        return None
    return found[1] if found else None


def seal(path: Path) -> None:
    """Write the digest of a just-saved spreadsheet into its document properties, so that a later
    export replaces it only if nobody changed it since (any edit saved rewrites its parts)."""
    digest = contents_digest(path)
    buffer = io.BytesIO()  # in memory: no second temporary file to leave behind
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == CORE:
                data = data.replace(b"</cp:coreProperties>", f"<dc:description>retailsim-sha256:{digest}"
                                    f"</dc:description></cp:coreProperties>".encode())
            target.writestr(item, data)
    path.write_bytes(buffer.getvalue())


SHEETS = ("timeseries", "summary", "units", "differences", "differences_by_year", "answers")  # the sheets an export writes


def foreign_sheets(path: Path) -> list[str]:
    """The sheets of a spreadsheet retailsim exported that it did not write (a user's own analysis)."""
    try:
        with zipfile.ZipFile(path) as archive:
            workbook = archive.read("xl/workbook.xml").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile, ValueError):
        return []
    return [name for name in re.findall(r'<(?:\w+:)?sheet\b[^>]*?\bname="([^"]*)"', workbook) if name not in SHEETS]


def check_spreadsheet_target(out: Path) -> None:
    """``out`` names an ``.xlsx`` file that is new or a spreadsheet retailsim exported."""
    if out.suffix.lower() != ".xlsx":
        plain = out.name and not out.name.startswith(".")
        typed = out.suffix[1:].isalpha()  # results.csv -> results.xlsx; report-2026.12 -> report-2026.12.xlsx
        example = (out.with_suffix(".xlsx") if typed else out.with_name(f"{out.name}.xlsx")) if plain \
            else out.parent / "results.xlsx"
        raise UserError(f"--out {out}: a spreadsheet's name ends in .xlsx; give e.g. --out {example}")
    if out.is_symlink() or (out.exists() and not out.is_file()):
        raise UserError(f"--out {out}: is not a regular file; give a new file's name")
    if out.exists() and not written_by_retailsim(out):
        raise UserError(f"--out {out}: exists and was not written by retailsim export; retailsim replaces only "
                        "its own files: choose a new --out")
    added = foreign_sheets(out) if out.exists() else []
    if added:
        raise UserError(f"--out {out}: has sheets retailsim did not write ({', '.join(added)}); it is left as it is: "
                        "choose a new --out")
    if out.exists() and recorded_digest(out) != contents_digest(out):
        raise UserError(f"--out {out}: cannot be shown unchanged since retailsim exported it (edited, saved by another "
                        "program, or exported before 4 Dec 2026); it is left as it is: choose a new --out")
    parent = out.absolute().parent
    if parent.exists() and not parent.is_dir():
        raise UserError(f"--out {out}: {parent} is a file, not a folder")
    refuse_inside_ours(out, "--out")


def write_spreadsheet(named: dict[str, pd.DataFrame], out: Path) -> Path:
    """One sheet a table (dates as dates, empty cells for missing numbers), written atomically."""
    openpyxl = workbook_module()
    workbook = openpyxl.Workbook(write_only=True)
    workbook.properties.creator, workbook.properties.keywords = CREATOR, MARK
    workbook.properties.title = f"retailsim {package_version()}"
    for name, table in named.items():
        sheet = workbook.create_sheet(name)
        sheet.freeze_panes = "A2"  # the header stays in view, and each column can be filtered
        if len(table.columns):
            sheet.auto_filter.ref = f"A1:{openpyxl.utils.get_column_letter(len(table.columns))}{len(table) + 1}"
        sheet.append(list(table.columns))
        columns = [_cells(table[column]) for column in table.columns]
        for row in zip(*columns):
            sheet.append(row)

    def write(temporary: Path) -> None:
        workbook.save(temporary)
        seal(temporary)
        try:  # checked again: a file may have appeared at out, or the earlier export been edited, meanwhile
            check_spreadsheet_target(out)
        except UserError as error:
            kept = keep_beside(temporary, out)
            raise UserError(f"{error} (it changed while retailsim worked; the export is in {kept})") from None

    try:
        out.absolute().parent.mkdir(parents=True, exist_ok=True)
        replace_atomically(out, write)
    except OSError as error:
        raise UserError(f"--out {out}: cannot write it ({error.strerror or error}); choose another --out") from None
    return out


def _cells(column: pd.Series) -> list:
    """A column as spreadsheet cells: dates as dates, NaN as an empty cell, numpy scalars as Python's."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return [value.date() for value in column.dt.to_pydatetime()]
    values = column.astype(object).where(column.notna(), None)
    return values.tolist()
