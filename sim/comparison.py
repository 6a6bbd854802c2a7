"""Comparisons from Python and their differences table: ``sim.compare(baseline, *what_ifs)``.

The differences are the report's own (:func:`sim.report.tables.difference_rows`): what-if minus
baseline at the end of the horizon, paired by seed, with the 90% confidence interval of the mean
difference. ``retailsim compare`` prints them and writes them as ``differences.csv`` beside the
report; ``retailsim export`` writes them too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .errors import UserError
from .limits import check_workload
from .experiments.posterior import (Posterior, check_draws, check_posterior_given, describe, drawn_scenarios,
                                    find_posterior, load_posterior)
from .experiments.replicates import replicate_seeds, run_draws, run_replicates
from .results import Result, save_set
from .run import ScenarioLike, api_resolve, whole
from .scenario import Scenario
from .scenario.loader import DOCUMENT

DIFFERENCES = "differences.csv"
DIFFERENCES_BY_YEAR = "differences_by_year.csv"
COLUMNS = ["measure", "unit", "baseline", "scenario", "mean", "low", "high", "significant"]
# Added after them when the runs cover parameter draws (``parameter_draws``): the 5th-95th
# percentiles over draws of each draw's mean difference.
PARAMETER_COLUMNS = ["parameter_low", "parameter_high"]


def differences(results: list[Result], period: tuple[int, int] | None = None) -> pd.DataFrame:
    """The report's differences table as a DataFrame: one row per measure and what-if.

    ``mean`` is the mean paired difference (what-if minus baseline, seed by seed), ``low`` and
    ``high`` its 90% interval (empty with one replicate), ``significant`` whether the interval
    excludes zero (bold in the report). At the end of the horizon, or over the calendar years
    ``period`` (first, last: shares and surplus averaged over its weeks, money summed; the unit
    says which). Empty when the results hold one scenario.

    Over parameter draws, ``low`` and ``high`` are the 90% interval of the mean over seeds (run
    noise; each seed's difference averaged over the draws), and ``parameter_low`` and
    ``parameter_high`` the 5th-95th percentiles over draws of each draw's mean difference.
    """
    from .report.ensemble import Ensemble
    from .report.tables import difference_rows

    ensemble = Ensemble(results)
    return _table(difference_rows(ensemble, period), ensemble.baseline, _columns(ensemble))


def yearly_differences(results: list[Result]) -> pd.DataFrame:
    """The differences year by year over the horizon (``differences_by_year.csv``): the columns of
    :func:`differences` and ``year``; each year's mean, or for money the year's total."""
    from .report.ensemble import Ensemble
    from .report.tables import yearly_difference_rows

    ensemble = Ensemble(results)
    return _table(yearly_difference_rows(ensemble), ensemble.baseline, ["year", *_columns(ensemble)])


def _columns(ensemble) -> list[str]:
    return COLUMNS + PARAMETER_COLUMNS if ensemble.draws else COLUMNS


def _table(rows: list[dict], baseline: str, columns: list[str]) -> pd.DataFrame:
    """The rows as a table; a difference of shares is in percentage points, and its unit says so
    ("pts", "pts of households"), as the report and the printed table do."""
    from .report.tables import points

    table = pd.DataFrame(rows, columns=[c for c in columns if c not in ("baseline", "significant")])
    table["unit"] = table["unit"].map(points)
    table.insert(columns.index("baseline"), "baseline", baseline)
    table["significant"] = (table["low"] > 0) | (table["high"] < 0)
    return table[columns]


def write_differences(table: pd.DataFrame, path: Path) -> Path:
    """The differences table as CSV (full precision; an empty cell where there is no interval)."""
    table.to_csv(path, index=False, lineterminator="\n")
    return path


def format_differences(table: pd.DataFrame, when: str = "at the end of the horizon") -> list[str]:
    """The differences table as lines of text, after each what-if's answer in words: one line per
    measure, one column per what-if; ``*`` marks an interval that excludes zero."""
    if table.empty:
        return []
    from .report.numbers import difference, fixed
    from .report.tables import answers_of, points

    what_ifs = list(dict.fromkeys(table["scenario"]))
    rows = table.to_dict("records")
    measures = list(dict.fromkeys(zip(table["measure"], table["unit"])))
    labels = [f"{measure} ({points(unit)})" for measure, unit in measures]  # a difference of shares is in points
    drawn = "parameter_low" in table.columns
    cells = {}
    for row in table.itertuples():
        # One precision a row, the report's (it printed 0.02 [0.0013, 0.04], and -7.6e-06 for a mean
        # within noise); the parameters' spread at the same.
        text, digits = difference(row.mean, row.low, row.high)
        spread = f" {{{fixed(row.parameter_low, digits, True)}, {fixed(row.parameter_high, digits, True)}}}" if drawn else ""
        cells[(row.measure, row.scenario)] = f"{text}{spread}{' *' if row.significant else '  '}"
    width = max(map(len, labels))
    widths = [max(len(f"{name} - {table['baseline'].iloc[0]}"), *(len(cells[(m, name)]) for m, _ in measures))
              for name in what_ifs]
    head = "  ".join(f"{name} - {table['baseline'].iloc[0]}".rjust(w) for name, w in zip(what_ifs, widths))
    lines = [*answers_of(rows, table["baseline"].iloc[0], what_ifs, when),
             f"differences {when} (mean [90% interval{' over seeds' if drawn else ''}]"
             + (" {5-95% over parameter draws}" if drawn else "") + ", * excludes zero):",
             f"  {'':<{width}}  {head}"]
    for (measure, _), label in zip(measures, labels):
        lines.append(f"  {label:<{width}}  " + "  ".join(cells[(measure, name)].rjust(w)
                                                       for name, w in zip(what_ifs, widths)))
    if when == "at the end of the horizon":  # one week of shares can hide a small or passing effect
        lines.append("  (shares and surplus in the last week, money over the last 52 weeks, or as many as every "
                     "scenario records; --period FIRST-LAST gives means and totals over those years)")
    return lines


def comparison_name(names: list[str]) -> str:
    """The default folder of a comparison: ``<baseline>_vs_<what-if>...``, shortened to a safe length."""
    name = "_vs_".join(names)
    if len(name) <= 100:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{names[0][:40]}_vs_{len(names) - 1}_what-ifs_{digest}"


def check_names(scenarios: list[Scenario], sources: list[Any]) -> None:
    """Scenarios compared must have different names (their runs are filed by name)."""
    names = [s.name for s in scenarios]
    if len(set(names)) == len(names):
        return
    twins = [str(source) for source, name in zip(sources, names) if names.count(name) > 1]
    raise UserError(f"{' and '.join(twins[:3])}: scenario names must differ to be compared (several are named "
                    f"'{next(n for n in names if names.count(n) > 1)}'); set name: in each file")


def last_week(scenario: Scenario) -> dt.date:
    """The first day of the last week a scenario records (its weeks run from ``horizon.start``)."""
    start, end = scenario.horizon.start, scenario.horizon.end
    return start + dt.timedelta(days=(end - start).days // 7 * 7)


def check_comparable(scenarios: list[Scenario], sources: list[Any]) -> None:
    """Scenarios compared must record the same last week, on the same days of the week: their
    differences are read at the end of the horizon and week by week (a later start is fine: the weeks
    both record are compared)."""
    base = scenarios[0]
    for scenario, source in zip(scenarios[1:], sources[1:]):
        if (scenario.horizon.start - base.horizon.start).days % 7:
            raise UserError(f"{source}: its weeks start on a {scenario.horizon.start:%A} ({scenario.horizon.start}), "
                            f"the baseline's ({sources[0]}) on a {base.horizon.start:%A}; compared scenarios must "
                            "record the same weeks (move horizon.start by whole weeks)")
        if last_week(scenario) != last_week(base):
            raise UserError(f"{source}: its last recorded week is {last_week(scenario)}, the baseline's ({sources[0]}) "
                            f"{last_week(base)}; compared scenarios must end in the same week (set horizon.end)")


def unlike_baseline(scenarios: list[Scenario]) -> list[str]:
    """A warning line for each what-if not made from the baseline's calibration, or whose households are
    not the baseline's, as its report notes it (:func:`sim.report.unlike.other_calibration`,
    :func:`~sim.report.unlike.other_households`)."""
    from .report.unlike import other_calibration, other_households

    return [f"{scenario.name}: {text}" for scenario in scenarios[1:]
            for text in (other_calibration(scenario, scenarios[0]), other_households(scenario, scenarios[0])) if text]


@dataclass
class Comparison:
    """A baseline and its what-ifs over common seeds: the runs, and the differences table."""

    results: list[Result]
    seeds: list[int]
    differences: pd.DataFrame = field(repr=False)
    period: tuple[int, int] | None = None  # the years ``differences`` cover (None: the horizon's end)
    draws: dict[str, Any] | None = None  # with parameter draws: the posterior, the particles drawn

    @property
    def by_year(self) -> pd.DataFrame:
        """The differences year by year over the horizon."""
        return yearly_differences(self.results)

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys(result.scenario.name for result in self.results))

    @property
    def baseline(self) -> str:
        return self.names[0]

    @property
    def what_ifs(self) -> list[str]:
        return self.names[1:]

    def runs(self, scenario: str) -> list[Result]:
        """The runs of one scenario, one per seed (per draw and seed over parameter draws)."""
        return [result for result in self.results if result.scenario.name == scenario]

    def save(self, directory: str | Path, report: bool = True) -> Path:
        """Write the comparison folder as ``retailsim compare`` does (runs, ``differences.csv`` and,
        with ``report``, ``report.html``), atomically; refuses a folder retailsim did not write."""
        from .outputs import prepare_output
        from .results import RESULT_FILES, RESULT_KINDS

        directory = Path(directory)
        prepare_output(directory, RESULT_KINDS, "comparison folder", RESULT_FILES)
        return save_set(self.results, directory, self.manifest_extra(), add=self.write_files(report))

    def manifest_extra(self) -> dict[str, Any]:
        return comparison_manifest(self.names, self.seeds, self.period, self.draws)

    def write_files(self, report: bool = True):
        """A callback for :func:`sim.results.save_set`: the differences table and the report."""

        def write(folder: Path) -> None:
            write_differences(self.differences, folder / DIFFERENCES)
            write_differences(self.by_year, folder / DIFFERENCES_BY_YEAR)
            if report:
                from .report import build_report

                build_report(self.results, self.period).write(folder / "report.html")

        return write


def _label(source: ScenarioLike) -> str:
    if isinstance(source, Scenario):
        return f"Scenario({source.name!r})"
    return DOCUMENT if isinstance(source, Mapping) else str(source)


def compare(baseline: ScenarioLike, *what_ifs: ScenarioLike, replicates: int = 5, seed: int | None = None,
            shoppers: int | None = None, period: tuple[int, int] | None = None, parameter_draws: int | None = None,
            posterior: str | Path | None = None, cores: int = 1) -> Comparison:
    """Run a baseline and what-ifs over ``replicates`` common seeds (from ``seed``, default the
    baseline's) and return the runs and their differences table (at the end of the horizon, or over
    the calendar years ``period``, e.g. ``(2026, 2030)``).

    Each scenario is a path, a :class:`Scenario` or a dict laid out like a scenario file.

    ``parameter_draws=K`` runs them all over K particles drawn from the calibration's posterior
    (``posterior``, default ``posterior.csv`` beside the baseline's calibrated file), each draw over
    the same seeds: K x ``replicates`` runs a scenario. The differences then hold both the run-noise
    interval and the parameter interval (:func:`differences`); see docs/calibration.md.

    ``cores`` above 1 runs them side by side on that many processes (Linux; from a script, under
    ``if __name__ == "__main__":``), with the same results (:func:`~sim.experiments.run_replicates`).
    """
    if not what_ifs:
        raise UserError("compare needs a baseline and at least one what-if")
    check_posterior_given(posterior, parameter_draws)
    overrides = {"population.shoppers": whole("shoppers", shoppers, 1)} if shoppers is not None else None
    whole("seed", seed)
    cores = whole("cores", cores, 1)
    if period is not None and not (isinstance(period, (tuple, list)) and len(period) == 2
                                   and all(isinstance(year, (int, np.integer)) and not isinstance(year, bool)
                                           for year in period)):
        raise UserError(f"period must be two calendar years, first and last, e.g. (2026, 2030) (got {period!r})")
    sources = [baseline, *what_ifs]
    scenarios = [api_resolve(source, None, shoppers) for source in sources]
    check_names(scenarios, [_label(source) for source in sources])
    check_comparable(scenarios, [_label(source) for source in sources])
    for line in unlike_baseline(scenarios):
        warnings.warn(line, stacklevel=2)
    if isinstance(replicates, bool) or not isinstance(replicates, (int, np.integer)) or replicates < 1:
        raise UserError(f"replicates must be a whole number of at least 1 (got {replicates!r})")
    replicates = int(replicates)
    draws = None if parameter_draws is None else check_draws(parameter_draws)
    check_workload(scenarios, replicates * (draws or 1))
    period = None if period is None else (int(period[0]), int(period[1]))
    check_period(period, scenarios)
    root = scenarios[0].seed if seed is None else int(seed)
    plan = None if draws is None else plan_draws(sources, overrides or {}, scenarios, draws, posterior, root)
    seeds = replicate_seeds(root, replicates)
    results = (run_replicates(scenarios, seeds, cores=cores) if plan is None
               else run_draws(plan.scenarios, seeds, plan.particles, cores=cores))
    return Comparison(results, seeds, differences(results, period), period, None if plan is None else plan.manifest())


@dataclass(frozen=True)
class DrawPlan:
    """The scenarios of each parameter draw, and the posterior particles they come from."""

    posterior: Posterior
    particles: list[int]
    scenarios: list[list[Scenario]]  # per draw: the baseline and what-ifs with the draw's values

    def manifest(self) -> dict[str, Any]:
        return describe(self.posterior, self.particles)

    def count(self, replicates: int) -> str:
        """The run count, said before the runs start."""
        distinct, names = len(set(self.particles)), len(self.scenarios[0])
        return (f"{len(self.particles)} parameter draws from {self.manifest()['posterior']} ({distinct} distinct "
                f"particle(s)) x {replicates} replicate(s) x {names} scenarios = {distinct * replicates * names} runs")


def plan_draws(sources: list[ScenarioLike], overrides: Mapping[str, Any], scenarios: list[Scenario], draws: Any,
               posterior: str | Path | None, root: int) -> DrawPlan:
    """Check the draws and the posterior (one line each, before any run) and make every draw's scenarios."""
    draws = check_draws(draws)
    loaded = load_posterior(find_posterior(sources[0], posterior), scenarios[0])
    particles = loaded.draw(draws, root)
    return DrawPlan(loaded, particles,
                    [drawn_scenarios(sources, overrides, loaded.values(particle)) for particle in particles])


def check_period(period: tuple[int, int] | None, scenarios: list[Scenario], option: str = "period") -> None:
    """A period lies within every scenario's recorded years (checked before any run)."""
    if period is None:
        return
    if period[0] > period[1]:
        raise UserError(f"{option} {period[0]}-{period[1]}: the first year comes after the last; give them in order, "
                        f"e.g. {period[1]}-{period[0]}")
    first = max(s.horizon.start.year for s in scenarios)
    last = min(s.horizon.end.year for s in scenarios)
    if not first <= period[0] <= period[1] <= last:
        raise UserError(f"{option} {period[0]}-{period[1]}: the scenarios record {first} to {last}; choose years "
                        f"within them")


def recorded_period(folder: Path, scenarios: list[Scenario]) -> tuple[int, int] | None:
    """The period a comparison folder's differences were taken over (its manifest's ``period``), or None;
    checked as ``--period`` is against its ``scenarios`` (an edited one gave empty differences)."""
    from .results import MANIFEST, damaged, read_json_object

    period = read_json_object(Path(folder) / MANIFEST, Path(folder)).get("period")
    if period is not None and not (isinstance(period, list) and len(period) == 2
                                   and all(isinstance(year, int) for year in period)):
        raise damaged(Path(folder), f"its {MANIFEST} has a 'period' that is not two years")
    try:
        check_period(tuple(period) if period else None, scenarios, "period")
    except UserError as error:
        raise damaged(Path(folder), f"its {MANIFEST} has a {error}") from None
    return tuple(period) if period else None


def comparison_manifest(names: list[str], seeds: list[int], period: tuple[int, int] | None,
                        draws: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a comparison folder's manifest adds: its scenarios, seeds, the period of its differences
    and, over parameter draws, where they came from."""
    extra = {"baseline": names[0], "what_ifs": names[1:], "seeds": seeds}
    extra = extra if period is None else {**extra, "period": list(period)}
    return extra if draws is None else {**extra, "parameter_draws": draws}
