"""Every lever against the baseline on common seeds: which levers move the main outcomes, and which do nothing.

Runs ``scenarios/baseline.yaml`` and each what-if in ``scenarios/levers/`` over the same seeds (a
lever and the baseline see the same random numbers except where the lever really differs), then
prints, per lever, the mean paired difference (what-if minus baseline) of the main outcomes in each
calendar year, ``*`` marking a 90% interval over seeds that excludes zero; then one summary line
per lever: its 2030 effects, whether it is dead (no outcome moves by more than a small threshold
in any year with an interval that excludes zero) and the outcomes on which it has the largest
effect of all levers. ``--csv`` saves every cell with its interval::

    .venv/bin/python benchmarks/levers.py                                   # 5000 households, 3 seeds
    .venv/bin/python benchmarks/levers.py --levers prime_fee_up dsp_deal_off --seeds 5 --csv levers.csv

Units (the same as the ``docs/levers.md`` catalogue, read by ``tests/test_lever_catalogue.py``,
which imports this module): ``pts`` is the difference of shares times 100; ``%`` the relative
difference of the level times 100; ``usd_bn_per_year`` the difference of weekly US dollars times 52
over 1e9. ``consumer_surplus`` is dollars per household a week, so in ``usd_bn_per_year`` it is
first multiplied by the US households the shoppers stand for in the middle of the period
(``population.households_on``: they grow along ``population.households``).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import re
import sys
import time
from concurrent.futures import as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
LEVERS = ROOT / "scenarios" / "levers"
UNITS = ("pts", "%", "usd_bn_per_year")
PER_HOUSEHOLD = {"consumer_surplus"}  # dollars per household a week, not national dollars
WEEKS_PER_YEAR = 52
DIMENSIONS = ("firm", "category", "segment", "locale")
OUTCOME = re.compile(r"^(?P<metric>[a-z_]+)(?:\[(?P<dimensions>[^\]]*)\])?$")
# Smallest effect worth calling a lever's, by unit (a lever below it in every outcome is "dead").
NOTICEABLE = {"pts": 0.1, "%": 0.5, "usd_bn_per_year": 0.1}
POOL_RETRIES = 3


@dataclass(frozen=True)
class Outcome:
    """One weekly series of the results: a metric at one value of each dimension (``all`` if not named)."""

    metric: str
    firm: str = "all"
    category: str = "all"
    segment: str = "all"
    locale: str = "all"

    @classmethod
    def parse(cls, text: str) -> Outcome:
        """``metric[firm=...,category=...,segment=...,locale=...]``; omitted dimensions mean ``all``.
        Raises ValueError naming what is wrong."""
        from sim.vocabulary import DIMENSION_VALUES, METRICS

        found = OUTCOME.match(text.strip())
        if found is None:
            raise ValueError(f"outcome {text!r} is not of the form metric[dimension=value,...]")
        metric, given = found["metric"], {}
        if metric not in METRICS:
            raise ValueError(f"outcome {text!r}: unknown metric {metric!r}")
        for part in filter(None, (p.strip() for p in (found["dimensions"] or "").split(","))):
            name, equals, value = (s.strip() for s in part.partition("="))
            if not equals or name not in DIMENSIONS or not value:
                raise ValueError(f"outcome {text!r}: {part!r} is not one of {', '.join(d + '=...' for d in DIMENSIONS)}")
            if name in given:
                raise ValueError(f"outcome {text!r}: {name} is given twice")
            if name in DIMENSION_VALUES and value not in DIMENSION_VALUES[name]:
                raise ValueError(f"outcome {text!r}: {name} must be one of {', '.join(sorted(DIMENSION_VALUES[name]))}")
            given[name] = value
        return cls(metric, **given)

    @property
    def label(self) -> str:
        """The outcome as :meth:`parse` reads it, naming only the dimensions that are not ``all``."""
        named = [f"{d}={getattr(self, d)}" for d in DIMENSIONS if getattr(self, d) != "all"]
        return f"{self.metric}[{','.join(named)}]" if named else self.metric


def _main_outcomes() -> list[tuple[Outcome, str]]:
    """Spend shares by firm (all, grocery, discretionary and health: without health the pharmacy
    and clinic levers would look dead), Walmart's online channel, memberships, consumer surplus and
    operating profit by firm; the firms are the model's own."""
    from sim.vocabulary import FIRMS

    spend = [(Outcome("spend_share", firm=firm, category=category), "pts")
             for category in ("all", "grocery", "discretionary", "health") for firm in FIRMS]
    return [*spend, (Outcome("channel_share", segment="walmart_online"), "pts"),
            (Outcome("prime_share"), "pts"), (Outcome("walmart_plus_share"), "pts"),
            (Outcome("membership_share", segment="both"), "pts"), (Outcome("consumer_surplus"), "usd_bn_per_year"),
            *((Outcome("operating_profit", firm=firm), "usd_bn_per_year") for firm in FIRMS)]


def _summary_columns() -> dict[str, str]:
    """The outcomes of the summary table and their short headings."""
    from sim.vocabulary import FIRMS

    short = {firm: {"amazon": "amzn", "walmart": "wmt", "kroger": "kr", "rivals": "riv"}.get(firm, firm[:4])
             for firm in FIRMS}
    return {**{f"spend_share[firm={firm}]": short[firm] for firm in FIRMS},
            "channel_share[segment=walmart_online]": "wmt_onl", "prime_share": "prime", "walmart_plus_share": "wplus",
            "membership_share[segment=both]": "both", "consumer_surplus": "cs_bn",
            **{f"operating_profit[firm={firm}]": f"op_{short[firm]}_bn" for firm in FIRMS}}


def lever_files() -> dict[str, Path]:
    """The what-ifs of ``scenarios/levers/`` by name (the file's stem), in name order."""
    return {path.stem: path for path in sorted(LEVERS.glob("*.yaml"))}


# -- the worker side: one run, read into the weekly values of a few outcomes -----------------------------

def weekly_values(path: str, seed: int, shoppers: int, outcomes: tuple[Outcome, ...]) -> tuple[pd.DataFrame, Any]:
    """Run one scenario file at one seed and size; the weekly values of ``outcomes`` (a table with
    ``date``, ``outcome`` (its label) and ``value``) and the scenario's population (what US households
    the shoppers stand for, by date)."""
    import sim
    from sim.results import select

    result = sim.run(path, seed=seed, shoppers=shoppers)
    frames = []
    for outcome in outcomes:
        rows = select(result.timeseries, outcome.metric, **{d: getattr(outcome, d) for d in DIMENSIONS})
        if rows.empty:
            raise ValueError(f"{outcome.label}: the results hold no such series")
        frames.append(pd.DataFrame({"date": rows["date"].to_numpy(), "outcome": outcome.label,
                                    "value": rows["value"].to_numpy()}))
    return pd.concat(frames, ignore_index=True), result.scenario.population


def run_all(scenarios: dict[str, Path], seeds: list[int], shoppers: int, outcomes: list[Outcome],
            workers: int | None = None, progress=None) -> dict[tuple[str, int], tuple[pd.DataFrame, Any]]:
    """Every scenario at every seed, on a local process pool of ``workers`` (1: in this process):
    ``(name, seed) -> weekly values`` (see :func:`weekly_values`).

    A worker process that dies (killed from outside: it has happened on a shared machine) breaks
    the pool; the runs not yet finished go to a new pool, up to ``POOL_RETRIES`` times. Each run
    is a pure function of its scenario and seed, so a rerun gives the same values."""
    from sim.jobs.executors import executor

    wanted = tuple(dict.fromkeys(outcomes))
    tasks = [(name, seed) for name in scenarios for seed in seeds]
    done: dict[tuple[str, int], tuple[pd.DataFrame, Any]] = {}
    for attempt in range(POOL_RETRIES + 1):
        pending = [task for task in tasks if task not in done]
        try:
            with executor(workers) as (pool, _):
                futures = {pool.submit(weekly_values, str(scenarios[name]), seed, shoppers, wanted): (name, seed)
                           for name, seed in pending}
                for future in as_completed(futures):
                    done[futures[future]] = future.result()
                    if progress is not None:
                        progress(len(done), len(tasks), futures[future])
            return done
        except BrokenProcessPool:
            if attempt == POOL_RETRIES:
                raise
            print(f"\nbenchmarks/levers.py: a worker process died; rerunning the {len(tasks) - len(done)} runs "
                  f"not finished on a new pool", file=sys.stderr)
    return done


# -- differences -----------------------------------------------------------------------------------------

def period_means(weekly: pd.DataFrame, first: int, last: int) -> pd.Series:
    """Mean of the values dated in calendar years ``first`` to ``last``, by outcome label (weekly
    values; a series recorded monthly, such as a state's, by its monthly values)."""
    years = pd.DatetimeIndex(weekly["date"]).year
    rows = weekly[(years >= first) & (years <= last)]
    if rows.empty:
        raise ValueError(f"no weeks recorded in {first}-{last}")
    return rows.groupby("outcome", sort=False)["value"].mean()


def in_unit(what_if: float, baseline: float, unit: str, metric: str, households: float) -> float:
    """The difference of two period means (what-if minus baseline) in ``unit``."""
    if unit == "pts":
        return (what_if - baseline) * 100
    if unit == "%":
        if baseline == 0:
            raise ValueError(f"{metric}: the baseline's level is 0, so a relative difference has no meaning")
        return (what_if / baseline - 1) * 100
    if unit == "usd_bn_per_year":
        scale = households if metric in PER_HOUSEHOLD else 1.0
        return (what_if - baseline) * scale * WEEKS_PER_YEAR / 1e9
    raise ValueError(f"unit {unit!r} is not one of {', '.join(UNITS)}")


def mean_interval(differences: list[float], level: float = 0.90) -> tuple[float, float, float]:
    """Mean of paired differences and its two-sided t interval over seeds (NaN with one seed)."""
    from sim.report.ensemble import mean_interval as report_interval  # the report's own intervals

    return report_interval(np.asarray(differences, dtype=float), level)


def paired_differences(runs: dict, lever: str, baseline: str, seeds: list[int], outcome: Outcome, unit: str,
                       first: int, last: int) -> list[float]:
    """The lever's difference from the baseline in one outcome over ``first``-``last``, seed by seed."""
    values = []
    for seed in seeds:
        (base_weekly, population), (lever_weekly, _) = runs[(baseline, seed)], runs[(lever, seed)]
        start, end = dt.date(first, 1, 1), dt.date(last + 1, 1, 1)
        households = population.households_on(start + (end - start) / 2)
        base = period_means(base_weekly, first, last)[outcome.label]
        what_if = period_means(lever_weekly, first, last)[outcome.label]
        values.append(in_unit(what_if, base, unit, outcome.metric, households))
    return values


def yearly_table(runs: dict, levers: list[str], seeds: list[int], outcomes: list[tuple[Outcome, str]],
                 baseline: str = "baseline") -> pd.DataFrame:
    """One row per lever, outcome and calendar year: mean paired difference and its 90% interval."""
    weekly, _ = runs[(baseline, seeds[0])]
    years = sorted(set(pd.DatetimeIndex(weekly["date"]).year))
    rows = []
    for lever in levers:
        means = {seed: {year: period_means(runs[(lever, seed)][0], year, year) for year in years} for seed in seeds}
        bases = {seed: {year: period_means(runs[(baseline, seed)][0], year, year) for year in years} for seed in seeds}
        for outcome, unit in outcomes:
            for year in years:
                diffs = [in_unit(means[s][year][outcome.label], bases[s][year][outcome.label], unit, outcome.metric,
                                 runs[(baseline, s)][1].households_on(dt.date(year, 7, 2))) for s in seeds]
                mean, low, high = mean_interval(diffs)
                rows.append({"lever": lever, "outcome": outcome.label, "unit": unit, "year": year, "mean": mean,
                             "low": low, "high": high, "significant": bool(low > 0 or high < 0),
                             "seeds": len(seeds)})
    return pd.DataFrame(rows)


# -- printing --------------------------------------------------------------------------------------------

def _cell(mean: float, significant: bool) -> str:
    return f"{mean:+.2f}{'*' if significant else ' '}"


def lever_lines(table: pd.DataFrame, lever: str) -> list[str]:
    """One lever's table: an outcome a line, a year a column."""
    rows = table[table["lever"] == lever]
    years = sorted(rows["year"].unique())
    labels = {(o, u): f"{o} ({u})" for o, u in dict.fromkeys(zip(rows["outcome"], rows["unit"]))}
    width = max(map(len, labels.values()))
    lines = [f"{lever} - baseline (mean difference by year; * = 90% interval excludes zero)",
             f"  {'':<{width}}" + "".join(f"{year:>9}" for year in years)]
    for (outcome, unit), label in labels.items():
        cells = rows[(rows["outcome"] == outcome) & (rows["unit"] == unit)].sort_values("year")
        lines.append(f"  {label:<{width}}" + "".join(f"{_cell(m, s):>9}" for m, s in zip(cells["mean"], cells["significant"])))
    return lines


def largest_effects(table: pd.DataFrame) -> pd.DataFrame:
    """Per lever and outcome, the yearly mean of largest size among years whose interval excludes zero
    (0 where none does)."""
    kept = table.assign(size=np.where(table["significant"], table["mean"].abs(), 0.0))
    best = kept.loc[kept.groupby(["lever", "outcome", "unit"], sort=False)["size"].idxmax()]
    return best.assign(effect=np.where(best["size"] > 0, best["mean"], 0.0))[["lever", "outcome", "unit", "effect", "year"]]


def verdicts(table: pd.DataFrame) -> dict[str, str]:
    """Per lever: ``DEAD`` (no outcome moves by ``NOTICEABLE`` in any year with an interval excluding
    zero), ``money only`` (no share does), and the outcomes on which it has the largest effect of all."""
    effects = largest_effects(table)
    effects = effects.assign(moved=[abs(e) >= NOTICEABLE[u] for e, u in zip(effects["effect"], effects["unit"])])
    leaders: dict[str, list[str]] = {}
    for _, rows in effects.groupby(["outcome", "unit"], sort=False):
        top = rows.loc[rows["effect"].abs().idxmax()]
        if top["moved"]:
            leaders.setdefault(top["lever"], []).append(top["outcome"])
    found = {}
    for lever, rows in effects.groupby("lever", sort=False):
        verdict = "DEAD" if not rows["moved"].any() else "" if rows.loc[rows["unit"] == "pts", "moved"].any() \
            else "money only"
        if lever in leaders:
            verdict += ("; " if verdict else "") + "leads: " + ", ".join(leaders[lever])
        found[lever] = verdict
    return found


def summary_lines(table: pd.DataFrame) -> list[str]:
    """A line per lever: its differences in the last year, and its verdict (see :func:`verdicts`)."""
    last, columns = table["year"].max(), _summary_columns()
    width = max(len(lever) for lever in table["lever"].unique())
    lines = [f"summary: {last} mean differences (shares in pts, money in $bn a year; * = 90% interval excludes zero)",
             f"  {'lever':<{width}}" + "".join(f"{name:>11}" for name in columns.values()) + "  verdict"]
    for lever, verdict in verdicts(table).items():
        rows = table[(table["lever"] == lever) & (table["year"] == last)].set_index("outcome")
        cells = "".join(f"{_cell(rows.at[o, 'mean'], rows.at[o, 'significant']):>11}" for o in columns)
        lines.append(f"  {lever:<{width}}{cells}  {verdict}")
    lines.append(f"DEAD: no outcome moves by {NOTICEABLE['pts']} pts or ${NOTICEABLE['usd_bn_per_year']}bn a year "
                 f"in any year whose interval excludes zero; money only: no share does; leads: the outcomes on "
                 f"which its largest yearly effect is the largest of all levers")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoppers", type=int, default=5000, help="simulated households (default 5000)")
    parser.add_argument("--seeds", type=int, default=3, help="common seeds per scenario (default 3)")
    parser.add_argument("--seed", type=int, default=None, help="root seed (default: the baseline's)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: every CPU)")
    parser.add_argument("--levers", nargs="+", default=None, help="lever names (default: every file in "
                        "scenarios/levers/)")
    parser.add_argument("--csv", type=Path, default=None, help="save every lever, outcome and year here")
    parser.add_argument("--from-csv", type=Path, default=None, help="print the tables of a saved --csv, run nothing")
    args = parser.parse_args(argv)
    if args.from_csv is not None:
        table = pd.read_csv(args.from_csv)
        for lever in table["lever"].unique():
            print("\n".join(lever_lines(table, lever)), end="\n\n")
        print("\n".join(summary_lines(table)))
        return 0
    from sim.experiments.replicates import replicate_seeds
    from sim.scenario import load_scenario

    available = lever_files()
    levers = args.levers or list(available)
    unknown = [name for name in levers if name not in available]
    if unknown:
        parser.error(f"no such lever: {', '.join(unknown)} (levers: {', '.join(available)})")
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    root = load_scenario(BASELINE).seed if args.seed is None else args.seed
    seeds = replicate_seeds(root, args.seeds)
    scenarios = {"baseline": BASELINE, **{name: available[name] for name in levers}}
    started = time.perf_counter()

    def progress(done: int, total: int, task: tuple[str, int]) -> None:
        print(f"\r  {done}/{total} runs ({time.perf_counter() - started:.0f} s)", end="", file=sys.stderr, flush=True)

    outcomes = _main_outcomes()
    runs = run_all(scenarios, seeds, args.shoppers, [o for o, _ in outcomes], args.workers, progress)
    print(file=sys.stderr)
    table = yearly_table(runs, levers, seeds, outcomes)
    print(f"{len(levers)} levers against the baseline: {args.shoppers} households, seeds {seeds}, "
          f"{len(runs)} runs in {time.perf_counter() - started:.0f} s\n")
    for lever in levers:
        print("\n".join(lever_lines(table, lever)), end="\n\n")
    print("\n".join(summary_lines(table)))
    if args.csv is not None:
        table.assign(shoppers=args.shoppers).to_csv(args.csv, index=False, lineterminator="\n",
                                                    quoting=csv.QUOTE_MINIMAL)
        print(f"\nsaved {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
