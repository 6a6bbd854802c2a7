"""Scenario discovery on a finished sweep: under which lever ranges does a condition on an outcome hold?

``discover(folder, where="both_2030 > 0.3")`` reads a sweep folder (its manifest and
``runs.parquet``; nothing is run), marks the runs that meet the condition, and finds boxes of the
swept parameters with PRIM (:mod:`sim.experiments.prim`). Each run is one case by default, as in
EMA Workbench, so replicates' noise shows as density below 1; ``by="point"`` takes the mean of the
outcome over each design point's replicates instead. Failed runs and runs whose outcome was not
measured are left out (and said so).
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UserError
from ..outputs import MANIFEST, kind_of, mark, prepare_output, read_manifest, unreadable_manifest
from ..swap import staging
from ..results import write_json
from ..versions import package_version
from . import prim
from .sweep import RUNS

OPERATORS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
_WORDS = {">": "gt", ">=": "ge", "<": "lt", "<=": "le"}
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_WHERE = re.compile(rf"^\s*(?P<outcome>[A-Za-z_][A-Za-z0-9_.-]*)\s*(?P<op>>=|<=|>|<)\s*(?P<value>{_NUMBER})\s*$")
BOX, TRAJECTORY, REPORT = "box.csv", "trajectory.csv", "report.html"
FILES = (BOX, TRAJECTORY, REPORT, MANIFEST)
BY = ("run", "point")


@dataclass(frozen=True)
class Condition:
    """``OUTCOME > VALUE`` (or ``>=``, ``<``, ``<=``) on one of a sweep's outcomes."""

    outcome: str
    operator: str
    value: float

    def __str__(self) -> str:  # the threshold as given, to the last digit (it decides which runs meet it)
        return f"{self.outcome} {self.operator} {number(self.value, exact=True)}"

    def holds(self, values: pd.Series) -> np.ndarray:
        return OPERATORS[self.operator](values.to_numpy(dtype=float), self.value)

    @property
    def slug(self) -> str:
        """A folder name for the condition, e.g. ``both_2030-gt-0.3``."""
        return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{self.outcome}-{_WORDS[self.operator]}-{number(self.value, exact=True)}")


def outward(value: float, down: bool, digits: int = 4) -> float:
    """``value`` to ``digits`` significant digits, rounded down (or up): a box's written limit that keeps
    the box's cases in it."""
    if value == 0 or not math.isfinite(value):
        return value
    step = 10.0 ** (math.floor(math.log10(abs(value))) - digits + 1)
    rounded = (math.floor if down else math.ceil)(round(value / step, 9)) * step
    return float(f"{rounded:.{digits}g}")


def number(value: float, exact: bool = False) -> str:
    """A limit as people write it: ``49``, ``0.35``, ``2.1e9`` (four significant digits; ``exact``:
    as many as the number has, ``0.576666``)."""
    if float(value).is_integer() and abs(value) < 1e6:
        return str(int(value))
    if exact:  # every digit the number has, in the same style: 0.576666, 2.1e9, 1.25e-5
        text = repr(float(value))
        if "e" in text or abs(value) >= 1e6:
            text = np.format_float_scientific(float(value), trim="-")
    else:
        text = f"{value:.4g}"
    return re.sub(r"e\+?(-?)0*(\d)", r"e\1\2", text)


def parse_where(text: str, outcomes: list[str]) -> Condition:
    """The condition of ``--where``, strictly: an outcome of the sweep, an operator, a finite number."""
    found = _WHERE.match(text or "")
    if found is None:
        raise UserError(f"--where '{text[:80]}': expected OUTCOME > VALUE (or <, >=, <=) with a plain number, "
                        f"e.g. --where \"{outcomes[0]} > 0.3\"")
    name, value = found["outcome"], float(found["value"])
    if name not in outcomes:
        close = difflib.get_close_matches(name, outcomes, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise UserError(f"--where: unknown outcome '{name[:60]}'; {hint}the sweep's outcomes are {', '.join(outcomes)}")
    if not np.isfinite(value):
        raise UserError(f"--where '{text[:80]}': the value must be a finite number")
    return Condition(name, found["op"], value)


def read_sweep_folder(folder: Path) -> tuple[list[str], list[str], dict]:
    """A finished sweep folder's parameters, outcomes and manifest; one line if it is not one."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: not a folder; give a sweep folder written by retailsim sweep")
    if kind_of(folder) != "sweep":
        raise UserError(f"{folder}: not a sweep folder ({unreadable_manifest(folder, 'of a sweep')}); give a folder written "
                        "by retailsim sweep")
    manifest = read_manifest(folder) or {}
    if manifest.get("status") != "complete" or not (folder / RUNS).is_file():
        raise UserError(f"{folder}: the sweep is not finished; run the same retailsim sweep command again to finish it")
    sweep = manifest.get("sweep")
    if not (isinstance(sweep, dict) and isinstance(sweep.get("parameters"), dict) and isinstance(sweep.get("outcomes"), dict)
            and sweep["parameters"] and sweep["outcomes"]):
        raise UserError(f"{folder}: its {MANIFEST} is damaged (no sweep parameters and outcomes)")
    return [str(p) for p in sweep["parameters"]], [str(o) for o in sweep["outcomes"]], manifest


@dataclass
class Discovery:
    """What :func:`discover` found: the condition, the cases, the peeling trajectory and the chosen box."""

    folder: Path
    condition: Condition
    by: str
    cases: int
    hits: int
    trajectory: pd.DataFrame  # one row per box: step, cases, hits, coverage, density, mass, restricted, chosen
    box: pd.DataFrame  # one row per parameter: low, high, span_low, span_high, restricted
    chosen: prim.Box
    settings: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def box_in_words(self) -> str:
        """``fee in [49, 72] and investment >= 2.1e9: coverage 0.81, density 0.93, 46 of 400 runs``; limits
        to four significant digits, rounded outwards (a lower limit down, an upper one up), so the box as
        written holds every case the box holds (``box.csv`` has the exact limits)."""
        unit = f"{self.by}s"
        parts = []
        for row in self.box[self.box["restricted"]].itertuples():
            low, high = number(outward(row.low, down=True)), number(outward(row.high, down=False))
            if row.low > row.span_low and row.high < row.span_high:
                parts.append(f"{row.parameter} in [{low}, {high}]")
            elif row.low > row.span_low:
                parts.append(f"{row.parameter} >= {low}")
            else:
                parts.append(f"{row.parameter} <= {high}")
        where = " and ".join(parts) if parts else "the whole design (no restriction keeps the coverage)"
        box = self.chosen
        return (f"{where}: coverage {box.coverage:.2f}, density {box.density:.2f}, {box.cases} of {self.cases} "
                f"{unit} ({box.hits} meet it)")

    def lines(self) -> list[str]:
        """The answer in words: how often the condition holds, then the chosen box."""
        unit = f"{self.by}s"
        return [f"{self.condition} holds in {self.hits} of {self.cases} {unit} ({self.hits / self.cases:.0%})",
                f"box (the densest with coverage >= {self.settings['min_coverage']:g}): {self.box_in_words()}",
                *(f"note: {note}" for note in self.notes)]

    def write(self, out: str | Path) -> Path:
        """The box, the trajectory, a report and a manifest, swapped into ``out`` together (a new folder,
        an empty one, or a discovery of retailsim's; anything else is refused in one line)."""
        from ..report.discover import build_discover_report

        out = Path(out)
        check_out(out)  # called from Python too: only a new folder or a discovery of retailsim's is replaced
        with staging(out) as folder:
            self.box.to_csv(folder / BOX, index=False)
            self.trajectory.to_csv(folder / TRAJECTORY, index=False)
            build_discover_report(str(self.condition), self.lines(), self.trajectory, self.box, self.by).write(
                folder / REPORT)
            write_json(folder / MANIFEST, mark({"sweep_folder": str(self.folder), "where": str(self.condition),
                                                **self.settings, "package_version": package_version(),
                                                "files": [BOX, MANIFEST, REPORT, TRAJECTORY]}, "discover"))
        return out


def default_out(folder: Path, condition: Condition, by: str = "run") -> Path:
    """Beside the sweep folder, never inside it (a sweep folder holds only what the sweep writes):
    ``SWEEP-discover/<condition>/`` (``<condition>-by-point`` for design points)."""
    folder = Path(folder)
    if folder.name in ("", ".", ".."):  # run from inside the sweep folder: name it by its real name
        folder = folder.resolve()
    return folder.parent / f"{folder.name}-discover" / (condition.slug + ("-by-point" if by == "point" else ""))


def check_out(out: Path) -> str | None:
    """``--out`` may be new, empty, or a discovery folder of retailsim's (replaced); anything else is refused."""
    return prepare_output(out, ("discover",), "--out", FILES)


def _cases(folder: Path, runs: pd.DataFrame, parameters: list[str], condition: Condition, by: str):
    """The parameters and outcome per case (run or design point), and notes on what was left out."""
    notes = []
    missing = [name for name in ["point", condition.outcome, *parameters] if name not in runs.columns]
    if missing:
        raise UserError(f"{folder}: its {RUNS} has no column {missing[0]}; the folder is damaged")
    parameters = [name for name in runs.columns if name in set(parameters)]  # the sweep file's order
    usable = runs[runs["error"].isna()] if "error" in runs.columns else runs
    usable = usable[usable[condition.outcome].notna()]
    if len(usable) < len(runs):
        notes.append(f"{len(runs) - len(usable)} failed or unmeasured run(s) left out")
    numeric = [p for p in parameters if pd.api.types.is_numeric_dtype(usable[p]) and not pd.api.types.is_bool_dtype(usable[p])]
    notes += [f"{p}: not a number, left out of the boxes" for p in parameters if p not in numeric]
    broken = next((p for p in numeric if not np.isfinite(usable[p].to_numpy(dtype=float)).all()), None)
    if broken:
        raise UserError(f"{folder}: its {RUNS} holds a missing or infinite value of {broken} in a measured run; "
                        "the folder is damaged")
    if by == "point":
        usable = usable.groupby("point", sort=True).agg({**{p: "first" for p in numeric}, condition.outcome: "mean"})
    return usable[numeric].astype(float), usable[condition.outcome], notes


def discover(folder: str | Path, where: str, min_coverage: float = prim.MIN_COVERAGE, by: str = "run",
             alpha: float = prim.ALPHA, min_mass: float = prim.MIN_MASS, paste: bool = False) -> Discovery:
    """Find the lever ranges of a finished sweep under which ``where`` holds (PRIM); nothing is written.

    ``where`` is ``OUTCOME > VALUE`` (or ``>=``, ``<``, ``<=``) on one of the sweep's outcomes; a
    case is a run (``by="run"``) or a design point with the outcome averaged over its replicates
    (``by="point"``). The chosen box is the densest on the peeling trajectory with coverage at
    least ``min_coverage``; ``paste`` widens it afterwards where that raises its density.
    """
    if not isinstance(folder, (str, Path)) or not isinstance(where, str):
        raise UserError(f"folder must be a sweep folder's path and where a condition such as 'both_2030 > 0.3' "
                        f"(got {type(folder).__name__} and {type(where).__name__})")
    folder = Path(folder)
    if by not in BY:
        raise UserError(f"by must be one of {', '.join(BY)} (got {by!r})")
    if not 0 < min_coverage <= 1 or not 0 < alpha < 0.5 or not 0 <= min_mass < 1:
        raise UserError(f"min_coverage must be in (0, 1], alpha in (0, 0.5) and min_mass in [0, 1) "
                        f"(got {min_coverage}, {alpha}, {min_mass})")
    parameters, outcomes, _ = read_sweep_folder(folder)
    condition = parse_where(where, outcomes)
    try:
        runs = pd.read_parquet(folder / RUNS)
    except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
        raise UserError(f"{folder}: its {RUNS} cannot be read ({str(error)[:80]}); the folder is damaged") from None
    x, outcome, notes = _cases(folder, runs, parameters, condition, by)
    if x.empty or x.shape[1] == 0:
        raise UserError(f"{folder}: no {by} with a measured {condition.outcome} and numeric parameters to discover on")
    hit = condition.holds(outcome)
    if outcome.min() == outcome.max():
        raise UserError(f"{condition}: {condition.outcome} is {number(outcome.min(), exact=True)} in every {by} of the "
                        "sweep, so no condition on it tells runs apart; discover on an outcome that varies")
    if hit.all() or not hit.any():
        which = "every" if hit.all() else "no"
        raise UserError(f"{condition}: {which} {by} of the sweep meets it ({condition.outcome} runs from "
                        f"{number(outcome.min())} to {number(outcome.max())}); choose a value between")
    cases = prim.Cases(x, hit)
    trajectory = prim.peel(cases, alpha, min_mass)
    chosen = prim.choose(trajectory, min_coverage)
    if paste:
        pasted = prim.paste(cases, chosen, alpha, step=len(trajectory))
        trajectory, chosen = trajectory + pasted, (pasted[-1] if pasted else chosen)
    trajectory, pruned = prim.prune_chosen(cases, trajectory, chosen)
    if dropped := [name for name in chosen.restricted if name not in pruned.restricted]:
        notes.append(f"the box's limits on {', '.join(dropped)} were dropped: they leave out no {by} the other "
                     "limits keep (later peels made them redundant)")
    chosen = pruned
    settings = {"by": by, "min_coverage": min_coverage, "alpha": alpha, "min_mass": min_mass, "paste": paste}
    return Discovery(folder, condition, by, len(hit), int(hit.sum()), prim.trajectory_table(trajectory, chosen),
                     prim.box_table(cases, chosen), chosen, settings, notes)
