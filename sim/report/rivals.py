"""The report's section on what the rivals answer a what-if with (``retailsim compare --rivals-answer``,
``sim/rivals.py``), and the same answers in words for the command line."""

from __future__ import annotations

import html
import math

import pandas as pd

from ..vocabulary import FIRMS
from .style import FIRM_NAMES

PRICES = "% against the baseline"  # the unit of the answers table's price rows
FEES = "posted $ a year against the baseline"  # ... and of its membership fee rows (strategic fees, sim/model/fees.py)
FEE_METRICS = {"amazon": ("prime_fee_usd", "Prime fee"), "walmart": ("walmart_plus_fee_usd", "Walmart+ fee")}
BUDGETS = "$bn a year against the baseline"  # ... and of Amazon's rural station budget (sim/model/budgets.py)
BUDGET = ("amazon_rural_budget_usd", "Amazon rural station budget")
SMALLEST = 0.005  # percent: a price answer and its interval's bounds all below this read as "no (material) price answer"


def _digits(row) -> int:
    """Decimals that show an answer and its interval: 2, or up to 4 for a small answer (two significant
    digits) or a narrow interval (small price answers), so that -0.0057 does not read -0.01."""
    answer, low, high = row.get("answer"), row.get("answer_low"), row.get("answer_high")
    digits = 2
    if answer is not None and not math.isnan(answer) and answer != 0:
        digits = max(digits, 1 - math.floor(math.log10(abs(answer))))
    if low is not None and not math.isnan(low) and high > low:
        digits = max(digits, -math.floor(math.log10(high - low)))
    return min(4, digits)


def _interval(row, percent: bool = False) -> tuple[str, str, bool]:
    """An answer's 90% interval over seeds: in words, as a table cell, and whether it excludes zero
    (tells the answer from run noise)."""
    low, sign, digits = row.get("answer_low"), "%" if percent else "", _digits(row)
    if low is None:  # an answers.csv written before the intervals
        return "no interval in this answers.csv: run the comparison again for one", "n/a", False
    if math.isnan(low):
        return "one replicate: no interval, run noise unknown", "n/a (one replicate)", False
    significant = bool(row["answer_significant"])
    bounds = f"{low:+.{digits}f}{sign} to {row['answer_high']:+.{digits}f}{sign}"
    return f"90% interval {bounds}: {'beyond' if significant else 'within'} run noise", bounds, significant


def negligible(row) -> bool:
    """Whether an answer and both bounds of its interval (when it has one) are all under ``SMALLEST``
    in size: said as no answer, even beyond run noise."""
    bounds = [row.get("answer_low"), row.get("answer_high")]
    return all(b is None or math.isnan(b) or abs(b) < SMALLEST for b in [row["answer"], *bounds])


def fee_reviewers(scenarios: list) -> list[str]:
    """The firms whose membership fee some strategic run reviews: its fees strategic, the firm among the
    strategic ones and the horizon reaching ``strategy.fees_from`` (the answers keep fee rows for these,
    and a strategic run's note names them)."""
    return [firm for firm in FEE_METRICS if any(
        s.conduct == "strategic" and s.strategy.fees and firm in s.strategy.firms
        and s.strategy.fees_from <= s.horizon.end for s in scenarios)]


def sentences(table: pd.DataFrame, baseline: str) -> list[str]:
    """Per what-if, in words: each firm's price answer (its largest category) with its interval, and the
    measures the answer moves most."""
    lines = []
    for name, rows in table.groupby("scenario", sort=False):
        prices = rows[rows["unit"] == PRICES]
        said = []
        for firm in FIRMS:
            own = prices[prices["measure"].str.startswith(FIRM_NAMES[firm] + " ")]
            top = own.loc[own["answer"].abs().idxmax()]
            interval, _bounds, significant = _interval(top, percent=True)
            category = top["measure"][len(FIRM_NAMES[firm]) + 1:-len(" prices")]
            if negligible(top) and significant:  # real, and too small to act on: say both
                said.append(f"{FIRM_NAMES[firm]} no material price answer ({category} prices "
                            f"{top['answer']:+.4f}%, beyond run noise)")
            elif negligible(top):
                said.append(f"{FIRM_NAMES[firm]} no price answer")
            else:
                said.append(f"{FIRM_NAMES[firm]} {category} prices {top['answer']:+.{_digits(top)}f}% ({interval})")
        said += fee_answers(rows) + budget_answer(rows)
        others = rows[~rows["unit"].isin([PRICES, FEES, BUDGETS])]
        moved = others.reindex(others["answer"].abs().sort_values(ascending=False).index).head(2)
        effects = "; ".join(f"{row['measure']} {row['without']:+.2f} without the answer, {row['with']:+.2f} with it "
                            f"({row['unit']}; the answer {row['answer']:+.{_digits(row)}f}, {_interval(row)[0]})"
                            for _, row in moved.iterrows())
        lines.append(f"{name} against {baseline}, with the rivals' answer (strategic prices and fees): "
                     f"{'; '.join(said)}. {effects}.")
    return lines


def fee_answers(rows: pd.DataFrame) -> list[str]:
    """Each membership fee's answer in words: none (the fee moves as in the strategic baseline, whatever
    that is), a change against it (with its interval), or the what-if's own lever (a fee the what-if sets
    differs from the baseline's without any answer). Only the fees the table holds rows for: those a
    strategic run reviews (:func:`fee_reviewers`)."""
    said = []
    for firm, (_metric, label) in FEE_METRICS.items():
        fee = rows[(rows["unit"] == FEES) & (rows["measure"] == label)]
        if fee.empty:
            continue
        row = fee.iloc[0]
        if abs(row["without"]) >= SMALLEST:
            said.append(f"the {label} is the what-if's lever (not reviewed)")
        elif negligible(row):
            said.append(f"{FIRM_NAMES[firm]} no fee answer (its {label} follows the strategic baseline's)")
        else:
            said.append(f"{FIRM_NAMES[firm]} {label} {row['answer']:+.2f} $ a year ({_interval(row)[0]})")
    return said


def budget_reviewers(scenarios: list) -> bool:
    """Whether some strategic run reviews Amazon's rural station budget (the answers keep its row then)."""
    return any(s.conduct == "strategic" and s.strategy.budgets and "amazon" in s.strategy.firms
               and s.strategy.budgets_from <= s.horizon.end for s in scenarios)


def budget_answer(rows: pd.DataFrame) -> list[str]:
    """Amazon's rural station budget's answer in words, as a fee's (:func:`fee_answers`)."""
    budget = rows[rows["unit"] == BUDGETS]
    if budget.empty:
        return []
    row = budget.iloc[0]
    if abs(row["without"]) >= SMALLEST:
        return [f"the {BUDGET[1]} is the what-if's lever"]
    if negligible(row):
        return [f"Amazon no budget answer (its {BUDGET[1]} follows the strategic baseline's)"]
    return [f"Amazon {BUDGET[1]} {row['answer']:+.2f} $bn a year ({_interval(row)[0]})"]


def _row(row) -> str:
    _, bounds, significant = _interval(row)
    bold, digits = f' class="{"sig" if significant else ""}"', _digits(row)
    return (f"<tr><td>{html.escape(str(row['scenario']))}</td><td>{html.escape(str(row['measure']))}</td>"
            f"<td>{html.escape(str(row['unit']))}</td><td>{row['without']:+.{digits}f}</td>"
            f"<td>{row['with']:+.{digits}f}</td><td{bold}>{row['answer']:+.{digits}f}</td>"
            f'<td{bold} style="white-space: nowrap">{html.escape(bounds)}</td></tr>')


def why(answers: pd.DataFrame) -> str:
    """Why the firms answer as they do, in the model's terms (docs/strategy.md, docs/MODEL.md 7.7)."""
    text = ("Why firms answer as they do, in the model's terms: each firm sets the prices that maximise its own "
            "expected profit given the others' (a Bertrand-Nash equilibrium on the households' logit demand). "
            "A what-if that moves shoppers towards one firm leaves its rivals smaller shares, and in a logit a "
            "smaller share means a smaller markup, so their best prices fall; the answer is as large as the "
            "spending the what-if moves, which for a membership lever is little.")
    if (answers["unit"] == FEES).any():
        text += (" A fee is reviewed once a year against the members it keeps and their shopping; households decide "
                 "each membership on its own value to them, so a rival's fee moves another firm's members only "
                 "through the shopping they move: no fee answer is mostly this assumption of the model's demand, "
                 "not evidence (docs/strategy.md).")
    return text


def answers_section(answers, baseline: str):
    """What each firm answers a what-if with (strategic prices), and what that changes: a report Section."""
    from .page import Section  # the page imports this module

    said = "".join(f"<p><strong>{html.escape(line)}</strong></p>" for line in sentences(answers, baseline))
    said += f"<p class='read'>{html.escape(why(answers))}</p>"
    rows = "".join(_row(row) for _, row in answers.iterrows())
    table = ('<table class="figures" id="answers-table"><tr><th>what-if</th><th>measure</th><th>unit</th>'
             "<th>without the answer</th><th>with it</th><th>the answer</th><th>its 90% interval</th></tr>"
             f"{rows}</table>")
    return Section("answers", "With the rivals' answer",
                   "The same what-ifs run again on the same seeds with every firm setting its grocery and "
                   "discretionary prices as best responses to the others', and Amazon and Walmart their "
                   "membership fees once a year from strategy.fees_from, 2026 by default, and Amazon its rural "
                   "station budget yearly from strategy.budgets_from (conduct: strategic, docs/strategy.md), each "
                   "against the baseline under the same conduct. The other grocers (Costco, Albertsons, Publix, "
                   "Aldi and hundreds more) price as equal independent firms, each for its own sales "
                   "(rivals.independent_firms, 2.1 unless a scenario sets it). Without the answer: "
                   "the rivals stand still, as in the rest of this report. Prices are each firm's change against "
                   "the baseline, fees its mean posted fee's; the answer is what the rivals' moves change. Its "
                   "interval is over seeds: each seed's answer is its strategic effect less its fixed one. Bold "
                   "where the interval excludes zero; an answer whose interval holds zero is within run noise: "
                   "read it as none.",
                   html=said + table)
