"""What the dashboard shows: monitors and live Plotly charts read straight from the model's recorder.

Charts reuse the report's colours and the report's tile map; they read only the series they draw,
so a step costs milliseconds, not a results table.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..model.collect import FIRMS, SEGMENTS
from ..report.style import FIRM_COLOURS, FIRM_NAMES, FONT, SEGMENT_COLOURS, SEGMENT_NAMES, TEMPLATE
from ..report.tilemap import tile_grid

DELIVERY = (("amazon_same_day_reach", "Amazon same-day", FIRM_COLOURS["amazon"]),
            ("walmart_express_coverage", "Walmart express (<3 h)", FIRM_COLOURS["walmart"]))


def monitors(model) -> dict[str, str]:
    """The headline figures of the latest recorded week, formatted for display."""
    recorder = model.collector.recorder
    p = model.params
    values = {"Week": str(model.date), "Seed": str(model.seed),
              "Walmart+ fee": f"${p.walmart.walmart_plus.fee_annual:,.0f}/yr",
              "Prime fee": f"${p.amazon.prime.fee_annual:,.0f}/yr"}
    if not recorder.series("prime_share")[0]:
        return {**values, "Status": "warming up"}
    for firm in FIRMS:
        values[f"{FIRM_NAMES[firm]} share of spend"] = f"{recorder.series('spend_share', firm=firm)[1][-1]:.1%}"
    for segment in SEGMENTS:
        values[SEGMENT_NAMES[segment]] = f"{recorder.series('membership_share', segment=segment)[1][-1]:.1%}"
    for firm in ("amazon", "walmart"):
        profit = recorder.series("operating_profit", firm=firm)[1][-1] * 52 / 1e9
        values[f"{FIRM_NAMES[firm]} operating profit"] = f"${profit:,.0f}bn/yr"
    return values


def _lines(title: str, y_title: str, lines: list[tuple[str, str, list, np.ndarray]]) -> go.Figure:
    fig = go.Figure()
    for name, colour, dates, values in lines:
        fig.add_trace(go.Scatter(x=[d.isoformat() for d in dates], y=100 * values, mode="lines", name=name,
                                 line={"color": colour, "width": 2}))
    fig.update_layout(title={"text": title}, template=TEMPLATE, font={"family": FONT}, height=320,
                      margin={"t": 50, "b": 30, "l": 55, "r": 10}, yaxis={"title": {"text": y_title}},
                      legend={"orientation": "h", "y": -0.15})
    return fig


def spend_chart(model) -> go.Figure:
    recorder = model.collector.recorder
    return _lines("Share of household spend by firm", "share of spend (%)",
                  [(FIRM_NAMES[f], FIRM_COLOURS[f], *recorder.series("spend_share", firm=f)) for f in FIRMS])


def membership_chart(model) -> go.Figure:
    recorder = model.collector.recorder
    return _lines("Memberships: none, one or both", "share of households (%)",
                  [(SEGMENT_NAMES[s], SEGMENT_COLOURS[s], *recorder.series("membership_share", segment=s))
                   for s in SEGMENTS])


def delivery_chart(model) -> go.Figure:
    recorder = model.collector.recorder
    return _lines("The delivery race (rural households)", "share reached (%)",
                  [(name, colour, *recorder.series(metric, locale="rural")) for metric, name, colour in DELIVERY])


def state_map(model, segment: str = "both") -> go.Figure:
    """Households holding a membership segment, by state, at the latest month."""
    labels, values = model.collector.recorder.latest("membership_share", key="state")
    mask = labels["segment"] == segment
    z, text = tile_grid({code: 100 * v for code, v in zip(labels["locale"][mask], values[mask])})
    # Empty tiles as None: the widget channel refuses NaN (it is not valid JSON).
    cells = [[None if np.isnan(v) else round(float(v), 3) for v in row] for row in z]
    fig = go.Figure(go.Heatmap(z=cells, text=text.tolist(), texttemplate="%{text}", colorscale="Cividis",
                               xgap=2, ygap=2, colorbar={"title": {"text": "%"}}))
    fig.update_layout(title={"text": f"{SEGMENT_NAMES[segment]}: share of households by state"}, template=TEMPLATE,
                      font={"family": FONT}, height=340, margin={"t": 50, "b": 10, "l": 10, "r": 10},
                      xaxis={"visible": False}, yaxis={"visible": False, "autorange": "reversed"})
    return fig
