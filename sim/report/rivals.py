"""The report's section on what the rivals answer a what-if with (``retailsim compare --rivals-answer``,
``sim/rivals.py``), and the same answers in words for the command line."""

from __future__ import annotations

import html

import pandas as pd

from ..vocabulary import FIRMS
from .style import FIRM_NAMES

PRICES = "% against the baseline"  # the unit of the answers table's price rows
SMALLEST = 0.005  # percent: price answers below this read as "no price answer"


def sentences(table: pd.DataFrame, baseline: str) -> list[str]:
    """Per what-if, in words: each firm's price answer (its largest category) and the measures the
    answer moves most."""
    lines = []
    for name, rows in table.groupby("scenario", sort=False):
        prices = rows[rows["unit"] == PRICES]
        said = []
        for firm in FIRMS:
            own = prices[prices["measure"].str.startswith(FIRM_NAMES[firm] + " ")]
            top = own.loc[own["answer"].abs().idxmax()]
            if abs(top["answer"]) < SMALLEST:
                said.append(f"{FIRM_NAMES[firm]} no price answer")
            else:
                category = top["measure"][len(FIRM_NAMES[firm]) + 1:-len(" prices")]
                said.append(f"{FIRM_NAMES[firm]} {category} prices {top['answer']:+.2f}%")
        others = rows[rows["unit"] != PRICES]
        moved = others.reindex(others["answer"].abs().sort_values(ascending=False).index).head(2)
        effects = "; ".join(f"{row['measure']} {row['without']:+.2f} without the answer, {row['with']:+.2f} with it "
                            f"({row['unit']})" for _, row in moved.iterrows())
        lines.append(f"{name} against {baseline}, with the rivals' answer (strategic prices): "
                     f"{', '.join(said)}. {effects}.")
    return lines


def answers_section(answers, baseline: str):
    """What each firm answers a what-if with (strategic prices), and what that changes: a report Section."""
    from .page import Section  # the page imports this module

    said = "".join(f"<p><strong>{html.escape(line)}</strong></p>" for line in sentences(answers, baseline))
    rows = "".join(
        f"<tr><td>{html.escape(str(row['scenario']))}</td><td>{html.escape(str(row['measure']))}</td>"
        f"<td>{html.escape(str(row['unit']))}</td><td>{row['without']:+.2f}</td><td>{row['with']:+.2f}</td>"
        f"<td><strong>{row['answer']:+.2f}</strong></td></tr>" for _, row in answers.iterrows())
    table = ('<table class="figures" id="answers-table"><tr><th>what-if</th><th>measure</th><th>unit</th>'
             f"<th>without the answer</th><th>with it</th><th>the answer</th></tr>{rows}</table>")
    return Section("answers", "With the rivals' answer",
                   "The same what-ifs run again on the same seeds with every firm setting its grocery and "
                   "discretionary prices as best responses to the others' (conduct: strategic, "
                   "docs/strategy.md), each against the baseline under the same conduct. Without the answer: "
                   "the rivals stand still, as in the rest of this report. Prices are each firm's change against "
                   "the baseline; the answer is what the rivals' moves change. It has no interval yet: read an answer "
                   "smaller than the run noise of the differences table as none.", html=said + table)
