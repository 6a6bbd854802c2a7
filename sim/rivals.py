"""What-ifs with and without the rivals' answer (``retailsim compare --rivals-answer``).

The same comparison runs twice on the same seeds: as the scenarios say (their own conduct, usually
``fixed``: rivals stand still) and with ``conduct: strategic`` for every scenario (every firm sets
its prices as best responses, and Amazon and Walmart their membership fees once a year from 2026,
``docs/strategy.md``). Each what-if is compared with the baseline of its own conduct, so the
strategic baseline's own drift cancels. The answer is the difference of the two effects: what the
rivals' price and fee moves add to (or take from) the what-if's effect, and each firm's price and
fee change, which is its answer (less any change the what-if itself scripts). The runs are
paired by seed, so each seed has its own answer (its strategic effect less its fixed one); their 90%
interval is the differences table's (:func:`sim.report.ensemble.mean_interval`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pandas as pd

from .errors import UserError
from .report.ensemble import mean_interval
from .report.rivals import (BUDGET, BUDGETS, FEE_METRICS, FEES, PRICES, budget_reviewers, fee_reviewers,
                            sentences)
from .report.style import FIRM_NAMES
from .results import Result
from .vocabulary import CATEGORIES, FIRMS

ANSWERS = "answers.csv"
ANSWER_COLUMNS = ["without", "with", "answer", "answer_low", "answer_high", "answer_significant"]


def strategic(scenario):
    """The scenario with every firm's prices (and Amazon's and Walmart's fees) strategic."""
    return scenario.model_copy(update={"conduct": "strategic"})


def price_changes(results: list[Result], period: tuple[int, int] | None) -> pd.DataFrame:
    """Each what-if's price index against the baseline's, in percent, by firm, category and seed: the
    period's mean (or the last 52 weeks') of the what-if's over the baseline's on the same seed."""
    from .report.ensemble import Ensemble

    ensemble = Ensemble(results)
    rows = []
    for firm in FIRMS:
        for category in CATEGORIES:
            # scenario x seed; over the last 52 weeks a sum, whose ratios are the means'
            level = (ensemble.over("price_index", period, firm=firm, category=category) if period is not None
                     else ensemble.at_end("price_index", last_year_sum=True, firm=firm, category=category))
            for name in ensemble.names[1:]:
                change = (level.loc[name] / level.loc[ensemble.baseline] - 1.0) * 100.0
                rows += [{"scenario": name, "firm": firm, "category": category, "seed": seed,
                          "price_change_pct": value} for seed, value in change.items()]
    return pd.DataFrame(rows)


def fee_changes(results: list[Result], period: tuple[int, int] | None) -> pd.DataFrame:
    """Each what-if's posted membership fees against the baseline's, dollars a year, and Amazon's rural
    station budget, $bn a year, by firm and seed: the period's mean (or the last 52 weeks') on the same
    seed (columns as :func:`effects`'s)."""
    from .report.ensemble import Ensemble

    ensemble, rows = Ensemble(results), []
    moves = [(firm, metric, label, FEES, 1.0) for firm, (metric, label) in FEE_METRICS.items()]
    for firm, metric, label, unit, scale in [*moves, ("amazon", *BUDGET, BUDGETS, 1e-9)]:
        level = (ensemble.over(metric, period, firm=firm) if period is not None
                 else ensemble.wide(metric, firm=firm).iloc[-52:].mean().unstack(level=1))
        for name in ensemble.names[1:]:
            change = (level.loc[name] - level.loc[ensemble.baseline]) * scale
            rows += [{"measure": label, "unit": unit, "scenario": name, "seed": seed,
                      "effect": value} for seed, value in change.items()]
    return pd.DataFrame(rows)


def effects(results: list[Result], period: tuple[int, int] | None) -> pd.DataFrame:
    """Each what-if's effect seed by seed on every row of the answers table (columns measure, unit,
    scenario, seed, effect): the differences table of each seed's runs alone, whose ``mean`` is that
    seed's paired difference (a term of the full table's mean), then each firm's price and fee changes."""
    from .comparison import differences

    keys = ["measure", "unit", "scenario", "seed"]
    seeds = sorted({result.seed for result in results})
    measures = pd.concat([differences([r for r in results if r.seed == seed], period).assign(seed=seed)
                          for seed in seeds], ignore_index=True).rename(columns={"mean": "effect"})
    prices = price_changes(results, period)
    prices = pd.DataFrame({
        "measure": [f"{FIRM_NAMES[f]} {c} prices" for f, c in zip(prices["firm"], prices["category"])],
        "unit": PRICES, "scenario": prices["scenario"], "seed": prices["seed"], "effect": prices["price_change_pct"]})
    return pd.concat([measures[keys + ["effect"]], prices, fee_changes(results, period)], ignore_index=True)


def answers(without: pd.DataFrame, with_answer: pd.DataFrame, effects_without: pd.DataFrame,
            effects_with: pd.DataFrame) -> pd.DataFrame:
    """One table: the differences table's measures (``without`` the answer, ``with`` it, and the
    ``answer``: with less without), then each firm's price change by category and fee change as measures of their own
    (means over seeds of :func:`effects`). ``answer_low`` and ``answer_high`` are the 90% interval of
    the answer over seeds, from each seed's answer (its strategic effect less its fixed one; empty with
    one replicate), ``answer_significant`` whether it excludes zero."""
    keys = ["measure", "unit", "scenario"]
    merged = without[keys + ["mean"]].merge(with_answer[keys + ["mean"]], on=keys, suffixes=("_without", "_with"))
    merged = merged.rename(columns={"mean_without": "without", "mean_with": "with"})
    paired = effects_without.merge(effects_with, on=keys + ["seed"], suffixes=("_without", "_with"))
    moves = paired[paired["unit"].isin([PRICES, FEES, BUDGETS])]
    prices = moves.groupby(keys, sort=False)[["effect_without", "effect_with"]].mean()
    prices = prices.reset_index().rename(columns={"effect_without": "without", "effect_with": "with"})
    table = pd.concat([merged, prices], ignore_index=True)
    table["answer"] = table["with"] - table["without"]
    paired["answer"] = paired["effect_with"] - paired["effect_without"]
    intervals = [(*key, *mean_interval(seeds["answer"].to_numpy())[1:])
                 for key, seeds in paired.groupby(keys, sort=False)]
    table = table.merge(pd.DataFrame(intervals, columns=keys + ["answer_low", "answer_high"]), on=keys, how="left")
    table["answer_significant"] = (table["answer_low"] > 0) | (table["answer_high"] < 0)
    return table[keys + ANSWER_COLUMNS]


def check_rivals_answer(scenarios: list, args: Any) -> None:
    """``--rivals-answer`` needs a conduct to change, and no parameter draws: one line, before any run."""
    if getattr(args, "parameter_draws", None):
        raise UserError("--rivals-answer: not with --parameter-draws yet (run them as two comparisons)")
    strategic_ones = [scenario.name for scenario in scenarios if scenario.conduct == "strategic"]
    if len(strategic_ones) == len(scenarios):
        raise UserError("--rivals-answer: every scenario already has strategic conduct; compare them as they are")
    if strategic_ones:  # its "without the answer" would already hold the answer, against a fixed baseline
        verb = "has" if len(strategic_ones) == 1 else "have"
        raise UserError(f"--rivals-answer: {', '.join(strategic_ones)} already {verb} strategic conduct, and the answer is "
                        "measured from fixed conduct; remove conduct from it, or compare without --rivals-answer")


def rivals_answer(scenarios: list, seeds: list[int], results: list[Result], without: pd.DataFrame, args: Any,
                  run_all: Callable) -> Callable[[Path], Path]:
    """Run ``scenarios`` again with strategic prices on the same ``seeds``, print the answers in words,
    and return the writer of ``answers.csv`` (for the results folder)."""
    from .comparison import differences

    strategic_scenarios = [strategic(scenario) for scenario in scenarios]
    answered = run_all(strategic_scenarios, seeds, args.quiet, cores=args.cores)
    table = answers(without, differences(answered, args.period), effects(results, args.period),
                    effects(answered, args.period))
    reviewing = [FEE_METRICS[firm][1] for firm in fee_reviewers(strategic_scenarios)]
    kept = (table["unit"] != FEES) | table["measure"].isin(reviewing)
    table = table[kept & ((table["unit"] != BUDGETS) | budget_reviewers(strategic_scenarios))].reset_index(drop=True)
    for line in sentences(table, scenarios[0].name):
        print(line)

    def write(folder: Path) -> Path:
        table.to_csv(folder / ANSWERS, index=False, float_format="%.6g")
        return folder / ANSWERS
    return write


def read_answers(folder: Path) -> pd.DataFrame | None:
    """A results folder's answers table, if its comparison was run with the rivals' answer: an
    ``answers.csv`` the folder's manifest records as retailsim's (in a folder from before manifests
    recorded their files, one laid out as retailsim writes it; anything else there is a user's file,
    never read). One recorded but unreadable is one line naming it."""
    from .outputs import recorded_files
    from .results import damaged

    folder = Path(folder)
    path = folder / ANSWERS
    files = recorded_files(folder)
    recorded = files is not None and ANSWERS in files
    if not path.is_file() or (files is not None and not recorded):
        return None
    try:
        table = pd.read_csv(path)
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError):
        table = None
    if table is None or not {"measure", "unit", "scenario", *ANSWER_COLUMNS} <= set(table.columns):
        if recorded:
            raise damaged(folder, f"its {ANSWERS} is not the table of the rivals' answer retailsim wrote")
        return None
    return table
