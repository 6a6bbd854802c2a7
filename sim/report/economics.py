"""Firm economics: revenue, operating profit, fraud losses and ad revenue, and what moved profit."""

from __future__ import annotations

from plotly.subplots import make_subplots

from ..vocabulary import COST_LINES, LEDGER_LINES, REVENUE_LINES
from .ensemble import Ensemble
from .plain import Figure, blank, figure
from .style import BILLIONS_A_YEAR, FALL_COLOUR, FIRM_COLOURS, FIRM_NAMES, FONT, RISE_COLOUR, TEMPLATE
from .timecharts import firm_lines, panel_chart

# How each ledger line enters operating profit (revenue and shopper spend are sums, capital is not a cost).
PROFIT_SIGNS = {**dict.fromkeys(REVENUE_LINES, 1), **dict.fromkeys(COST_LINES, -1)}
LINE_NAMES = {
    "revenue": "Revenue", "gmv": "Shopper spend", "sales": "Own sales", "seller_fees": "Seller fees",
    "membership_revenue": "Membership fees", "ad_revenue": "Advertising", "cost_of_goods": "Cost of goods",
    "fulfillment_cost": "Fulfilment and delivery", "store_labour": "Store labour", "store_costs": "Stores' other costs",
    "overhead": "Technology, marketing, G&A", "content_cost": "Members' video and music", "fraud_loss": "Fraud losses",
    "operating_cost": "AI programmes", "depreciation": "Programmes' depreciation", "operating_profit": "Operating profit",
}
assert set(PROFIT_SIGNS) | {"revenue", "gmv", "capex", "operating_profit"} == set(LEDGER_LINES)


def firm_economics(ensemble: Ensemble) -> Figure:
    metrics = ["revenue", "operating_profit", "fraud_loss", "ad_revenue"]
    return panel_chart(ensemble, "Firm economics, annualised (weekly figure x 52)", [LINE_NAMES[m] for m in metrics],
                       [firm_lines(m) for m in metrics], "US$ billion a year", scale=BILLIONS_A_YEAR, shared_y=False,
                       legend_title="Firm", unit=" $bn")


def profit_bridge(ensemble: Ensemble) -> Figure:
    """Last year's operating profit built up line by line; against the baseline when comparing.

    One waterfall per firm: for a single scenario each ledger line's contribution to profit; for a
    comparison each line's change (what-if minus baseline, mean over seeds), one what-if at a time
    (a menu switches between them).
    """
    compare = len(ensemble.names) > 1
    targets = ensemble.names[1:] if compare else [ensemble.baseline]
    firms = list(FIRM_COLOURS)
    # Bars run across, so the lines' names read level, once, on the left of the shared category axis.
    fig = make_subplots(rows=1, cols=len(firms), subplot_titles=[FIRM_NAMES[f] for f in firms], shared_yaxes=True,
                        horizontal_spacing=0.03, figure=blank())
    signs = {**PROFIT_SIGNS, "operating_profit": 1}
    totals = {(firm, line): ensemble.at_end(line, scale=1e-9, last_year_sum=True, firm=firm).mean(axis=1)
              for firm in firms for line in signs}  # last year's sum, mean over seeds, per scenario
    traces, buttons = [], []
    for index, target in enumerate(targets):
        for col, firm in enumerate(firms, start=1):
            values = [round(sign * float(totals[firm, line][target]
                                         - (totals[firm, line][ensemble.baseline] if compare else 0.0)), 6)
                      for line, sign in signs.items()]
            traces.append({
                "type": "waterfall", "orientation": "h", "x": values,
                "y": [LINE_NAMES[line] for line in PROFIT_SIGNS] + [LINE_NAMES["operating_profit"]],
                "measure": ["relative"] * len(PROFIT_SIGNS) + ["total"],
                "name": f"{FIRM_NAMES[firm]} · {target}" if compare else FIRM_NAMES[firm], "showlegend": False,
                "visible": index == 0, "increasing": {"marker": {"color": RISE_COLOUR}},
                "decreasing": {"marker": {"color": FALL_COLOUR}}, "totals": {"marker": {"color": FIRM_COLOURS[firm]}},
                "hovertemplate": "%{y}: %{x:.2f} $bn<extra></extra>",
                "xaxis": "x" if col == 1 else f"x{col}", "yaxis": "y" if col == 1 else f"y{col}",
            })
        visible = [i // len(firms) == index for i in range(len(targets) * len(firms))]
        buttons.append({"label": target, "method": "update",
                        "args": [{"visible": visible}, {"title.text": _bridge_title(ensemble, target)}]})
    fig.update_yaxes(autorange="reversed")  # revenue first, operating profit last
    weeks = f"last {min(52, ensemble.weeks)} weeks"
    fig.update_xaxes(title_text=f"US$ billion, {weeks}", title_font={"size": 12})
    height, top, bottom = 460, 130 if len(targets) > 1 else 80, 60
    # The menu (what-if) sits under the title, 50 pixels from the top (menus have only paper coordinates).
    menu = ([{"buttons": buttons, "direction": "down", "x": 0, "xanchor": "left", "showactive": True,
              "y": 1 + (top - 50) / (height - top - bottom), "yanchor": "top"}] if len(targets) > 1 else [])
    fig.update_layout(title={"text": _bridge_title(ensemble, targets[0]), "y": 0.98, "yanchor": "top"},
                      font={"family": FONT}, height=height, margin={"t": top, "b": bottom, "l": 120},
                      updatemenus=menu)
    return figure(fig, TEMPLATE, traces)


def _bridge_title(ensemble: Ensemble, target: str) -> str:
    if target == ensemble.baseline:
        return "What makes up operating profit, by profit-and-loss line (grey: adds to it, light grey: takes from it)"
    return f"What moved operating profit, {target} − {ensemble.baseline} (grey: raised it, light grey: lowered it)"
