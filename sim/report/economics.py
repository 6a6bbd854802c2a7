"""Firm economics: revenue, operating profit, fraud losses and ad revenue, and what moved profit."""

from __future__ import annotations

from plotly.subplots import make_subplots

from ..vocabulary import LEDGER_LINES
from .ensemble import Ensemble
from .plain import Figure, blank, figure
from .style import BILLIONS_A_YEAR, FIRM_COLOURS, FIRM_NAMES, FONT, TEMPLATE
from .timecharts import firm_lines, panel_chart

# How each ledger line enters operating profit.
PROFIT_SIGNS = {
    "revenue": 1, "cost_of_goods": -1, "fulfillment_cost": -1, "membership_revenue": 1, "ad_revenue": 1,
    "fraud_loss": -1, "operating_cost": -1, "depreciation": -1,
}
LINE_NAMES = {
    "revenue": "Revenue", "cost_of_goods": "Cost of goods", "fulfillment_cost": "Fulfillment",
    "membership_revenue": "Membership fees", "ad_revenue": "Advertising", "fraud_loss": "Fraud losses",
    "operating_cost": "AI programmes", "depreciation": "Depreciation", "operating_profit": "Operating profit",
}
assert set(PROFIT_SIGNS) | {"capex", "operating_profit"} == set(LEDGER_LINES)


def firm_economics(ensemble: Ensemble) -> Figure:
    metrics = ["revenue", "operating_profit", "fraud_loss", "ad_revenue"]
    return panel_chart(ensemble, "Firm economics, annualised (weekly figure x 52)", [LINE_NAMES[m] for m in metrics],
                       [firm_lines(m) for m in metrics], "US$ billion a year", scale=BILLIONS_A_YEAR, shared_y=False)


def profit_bridge(ensemble: Ensemble) -> Figure:
    """Last year's operating profit built up line by line; against the baseline when comparing.

    One waterfall per firm: for a single scenario each ledger line's contribution to profit; for a
    comparison each line's change (what-if minus baseline, mean over seeds) for the first what-if.
    """
    compare = len(ensemble.names) > 1
    target = ensemble.names[1] if compare else ensemble.baseline
    fig = make_subplots(rows=1, cols=3, subplot_titles=[FIRM_NAMES[f] for f in FIRM_COLOURS], shared_yaxes=False,
                        figure=blank())
    traces = []
    for col, firm in enumerate(FIRM_COLOURS, start=1):
        labels, values = [], []
        for line, sign in PROFIT_SIGNS.items():
            totals = ensemble.at_end(line, scale=1e-9, last_year_sum=True, firm=firm).mean(axis=1)
            amount = totals[target] - (totals[ensemble.baseline] if compare else 0.0)
            labels.append(LINE_NAMES[line])
            values.append(round(sign * float(amount), 6))
        profit = ensemble.at_end("operating_profit", scale=1e-9, last_year_sum=True, firm=firm).mean(axis=1)
        total = profit[target] - (profit[ensemble.baseline] if compare else 0.0)
        traces.append({
            "type": "waterfall", "x": labels + [LINE_NAMES["operating_profit"]], "y": values + [round(float(total), 6)],
            "measure": ["relative"] * len(values) + ["total"], "name": FIRM_NAMES[firm], "showlegend": False,
            "increasing": {"marker": {"color": "#009E73"}}, "decreasing": {"marker": {"color": "#D55E00"}},
            "totals": {"marker": {"color": FIRM_COLOURS[firm]}}, "hovertemplate": "%{x}: %{y:.2f} $bn<extra></extra>",
            "xaxis": "x" if col == 1 else f"x{col}", "yaxis": "y" if col == 1 else f"y{col}",
        })
    what = f"change against {ensemble.baseline} in {target}" if compare else "contributions"
    fig.update_yaxes(title_text="US$ billion, last 52 weeks", row=1, col=1)
    fig.update_layout(title={"text": f"What moved operating profit: {what}, by profit-and-loss line"},
                      font={"family": FONT}, height=460, margin={"t": 80, "b": 120})
    return figure(fig, TEMPLATE, traces)
