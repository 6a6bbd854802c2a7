"""What-ifs with and without the rivals' answer (``retailsim compare --rivals-answer``).

The same comparison runs twice on the same seeds: as the scenarios say (their own conduct, usually
``fixed``: rivals stand still) and with ``conduct: strategic`` for every scenario (every firm sets
its prices as best responses, ``docs/strategy.md``). Each what-if is compared with the baseline of
its own conduct, so the strategic baseline's own drift cancels. The answer is the difference of the
two effects: what the rivals' price moves add to (or take from) the what-if's effect, and each
firm's price change, which is its answer (less any change the what-if itself scripts).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pandas as pd

from .errors import UserError
from .report.rivals import PRICES, sentences
from .report.style import FIRM_NAMES
from .results import Result
from .vocabulary import CATEGORIES, FIRMS

ANSWERS = "answers.csv"


def strategic(scenario):
    """The scenario with every firm's prices strategic."""
    return scenario.model_copy(update={"conduct": "strategic"})


def price_changes(results: list[Result], period: tuple[int, int] | None) -> pd.DataFrame:
    """Each what-if's price index against the baseline's, in percent, by firm and category: mean over
    seeds of the period's mean (or the last 52 weeks)."""
    from .report.ensemble import Ensemble

    ensemble = Ensemble(results)
    rows = []
    for firm in FIRMS:
        for category in CATEGORIES:
            # scenario x seed; over the last 52 weeks a sum, whose ratios are the means'
            level = (ensemble.over("price_index", period, firm=firm, category=category) if period is not None
                     else ensemble.at_end("price_index", last_year_sum=True, firm=firm, category=category))
            for name in ensemble.names[1:]:
                change = (level.loc[name] / level.loc[ensemble.baseline] - 1.0).mean() * 100.0
                rows.append({"scenario": name, "firm": firm, "category": category, "price_change_pct": change})
    return pd.DataFrame(rows)


def answers(without: pd.DataFrame, with_answer: pd.DataFrame, prices_without: pd.DataFrame,
            prices_with: pd.DataFrame) -> pd.DataFrame:
    """One table: the differences table's measures (``without`` the answer, ``with`` it, and the
    ``answer``: with less without), then each firm's price change by category as measures of their own."""
    keys = ["measure", "unit", "scenario"]
    merged = without[keys + ["mean"]].merge(with_answer[keys + ["mean"]], on=keys, suffixes=("_without", "_with"))
    merged = merged.rename(columns={"mean_without": "without", "mean_with": "with"})
    prices = prices_without.merge(prices_with, on=["scenario", "firm", "category"], suffixes=("_without", "_with"))
    prices = pd.DataFrame({
        "measure": [f"{FIRM_NAMES[f]} {c} prices" for f, c in zip(prices["firm"], prices["category"])],
        "unit": PRICES, "scenario": prices["scenario"],
        "without": prices["price_change_pct_without"], "with": prices["price_change_pct_with"]})
    table = pd.concat([merged, prices], ignore_index=True)
    table["answer"] = table["with"] - table["without"]
    return table[keys + ["without", "with", "answer"]]


def check_rivals_answer(scenarios: list, args: Any) -> None:
    """``--rivals-answer`` needs a conduct to change, and no parameter draws: one line, before any run."""
    if getattr(args, "parameter_draws", None):
        raise UserError("--rivals-answer: not with --parameter-draws yet (run them as two comparisons)")
    if all(scenario.conduct == "strategic" for scenario in scenarios):
        raise UserError("--rivals-answer: every scenario already has strategic conduct; compare them as they are")


def rivals_answer(scenarios: list, seeds: list[int], results: list[Result], without: pd.DataFrame, args: Any,
                  run_all: Callable) -> Callable[[Path], Path]:
    """Run ``scenarios`` again with strategic prices on the same ``seeds``, print the answers in words,
    and return the writer of ``answers.csv`` (for the results folder)."""
    from .comparison import differences

    answered = run_all([strategic(scenario) for scenario in scenarios], seeds, args.quiet)
    table = answers(without, differences(answered, args.period), price_changes(results, args.period),
                    price_changes(answered, args.period))
    for line in sentences(table, scenarios[0].name):
        print(line)

    def write(folder: Path) -> Path:
        table.to_csv(folder / ANSWERS, index=False, float_format="%.6g")
        return folder / ANSWERS
    return write


def read_answers(folder: Path) -> pd.DataFrame | None:
    """A results folder's answers table, if its comparison was run with the rivals' answer."""
    path = Path(folder) / ANSWERS
    return pd.read_csv(path) if path.is_file() else None
