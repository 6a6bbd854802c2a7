"""The game's four charts, as plain figure data (as the solo dashboard's ``panels``): spend shares
and memberships week by week, operating profit by round, and consumer welfare. They read the
model's recorder from the quarter before the game on; they draw every firm's public results only."""

from __future__ import annotations

from typing import Any

from ..report.style import FIRM_COLOURS, FIRM_NAMES, FONT, SEGMENT_COLOURS, TEMPLATE
from ..vocabulary import FIRMS
from .levers import TEAM_FIRMS

CHART_HEIGHT = 250  # two rows under the league table fit a 768-pixel-high screen
# Dates on one line at every spacing Plotly picks ("20 Oct", "Nov 2024", "2026"): its two-line ticks of a
# few weeks ("Oct 20" over "2024") ran into the legend under the chart before round 1.
DATES = {"type": "date", "tickformatstops": [
    {"dtickrange": [None, "M1"], "value": "%d %b"},
    {"dtickrange": ["M1", "M12"], "value": "%b %Y"},
    {"dtickrange": ["M12", None], "value": "%Y"}]}
Chart = dict


def _layout(title: str, y_title: str, **more: Any) -> dict:
    return {"title": {"text": title, "font": {"size": 14}}, "template": TEMPLATE, "font": {"family": FONT, "size": 11},
            "height": CHART_HEIGHT, "autosize": True, "margin": {"t": 34, "b": 8, "l": 48, "r": 8},
            "yaxis": {"title": {"text": y_title}}, "legend": {"orientation": "h", "y": -0.14, "yanchor": "top"},
            **more}


def _line(name: str, colour: str, dates: list[str], values: list[float], scale: float = 100.0) -> dict:
    return {"type": "scatter", "mode": "lines", "name": name, "x": dates, "y": [scale * v for v in values],
            "line": {"color": colour, "width": 2}}


def spend_chart(market, since) -> Chart:
    lines = [_line(FIRM_NAMES[f], FIRM_COLOURS[f], *market.weekly("spend_share", since, firm=f)) for f in FIRMS]
    return {"data": lines, "layout": _layout("Share of household spend", "%", xaxis=DATES)}


def membership_chart(market, since) -> Chart:
    lines = [_line("Prime", FIRM_COLOURS["amazon"], *market.weekly("prime_share", since)),
             _line("Walmart+", FIRM_COLOURS["walmart"], *market.weekly("walmart_plus_share", since)),
             _line("Both", SEGMENT_COLOURS["both"], *market.weekly("membership_share", since, segment="both"))]
    return {"data": lines, "layout": _layout("Households holding a membership", "%", xaxis=DATES)}


def profit_chart(seen: dict[str, Any]) -> Chart:
    """Operating profit by round, $bn a year (accounts fitted to the filings), the quarter before the game first."""
    labels = ["before"] + [f"R{r['number']}" for r in seen["rounds"]]
    results = [seen["before"]] + [r["results"] for r in seen["rounds"]]
    bars = [{"type": "bar", "name": FIRM_NAMES[f], "x": labels, "marker": {"color": FIRM_COLOURS[f]},
             "y": [round(r["firms"][f]["operating_profit_usd_bn"], 3) for r in results]} for f in TEAM_FIRMS]
    return {"data": bars, "layout": _layout("Operating profit by round", "$bn a year", barmode="group")}


def welfare_chart(market, since) -> Chart:
    dates, values = market.weekly("consumer_surplus", since)
    return {"data": [_line("All households", "#555555", dates, values, 1.0)],
            "layout": _layout("Consumer welfare", "$ a household a week", xaxis=DATES, showlegend=False)}


def charts(market, seen: dict[str, Any], since) -> list[Chart]:
    """The four charts, in the order the page lays them out."""
    return [spend_chart(market, since), profit_chart(seen), membership_chart(market, since),
            welfare_chart(market, since)]
