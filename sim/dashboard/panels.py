"""What the dashboard shows: monitors and live Plotly charts read straight from the model's recorder.

Charts reuse the report's colours and the report's tile map; they read only the series they draw,
so a step costs milliseconds, not a results table. They set no width: each fills its grid cell
(``app.py``), so the newest weeks, the legends and the map's East Coast stay in view at 1280 px.

Operating profit is shown as its latest 13-week level and its change since the run's first quarter:
the level is on accounts fitted to the firms' filed margins (docs/accounts.md), and the change
answers what the lessons ask (did a lever raise or lower a firm's profit, and by how much against
the other firm). Both are 13-week averages, annualised: one week's profit swings by billions of
dollars a year.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

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
        values[f"{FIRM_NAMES[firm]} operating profit"] = profit_change(recorder, firm)
    return values


PROFIT_WEEKS = 13  # a quarter: one week's profit swings by several billion dollars a year


def profit_change(recorder, firm: str) -> str:
    """Operating profit of the latest 13 weeks, annualised, and its change from the run's first 13, in words."""
    dates, profit = recorder.series("operating_profit", firm=firm)
    if len(profit) < 2 * PROFIT_WEEKS:
        return f"shown after {2 * PROFIT_WEEKS} weeks"
    level = profit[-PROFIT_WEEKS:].mean() * 52 / 1e9
    change = level - profit[:PROFIT_WEEKS].mean() * 52 / 1e9
    return f"{level:,.1f} $bn/yr ({change:+,.1f} since {dates[0].year} Q{(dates[0].month - 1) // 3 + 1})"


CHART_HEIGHT = 280  # two rows of charts under the monitors and the lesson fit a 768-pixel-high screen

# A chart is a plain figure dict ({"data": [traces], "layout": {...}}), not a ``go.Figure``: a
# go.Figure validates and deep-copies its template at every build (about 0.1 s of CPU a chart),
# while a widget validates a layout once, the first time it shows it (``update_widget``).
Chart = dict


def _layout(title: str, **more) -> dict:
    return {"title": {"text": title, "font": {"size": 14}}, "template": TEMPLATE, "font": {"family": FONT, "size": 11},
            "height": CHART_HEIGHT, "autosize": True, **more}


def _lines(title: str, y_title: str, lines: list[tuple[str, str, list, np.ndarray]], today: dt.date) -> Chart:
    # Dates as text: the widget channel's JSON does not take date objects.
    data = [{"type": "scatter", "x": [d.isoformat() for d in dates], "y": 100 * values, "mode": "lines",
             "name": name, "line": {"color": colour, "width": 2}} for name, colour, dates, values in lines]
    xaxis, yaxis, notes = {"type": "date"}, {"title": {"text": y_title}}, []
    if not any(len(dates) for _name, _colour, dates, _values in lines):  # before the first recorded week: the
        xaxis["range"] = [today.isoformat(), (today + dt.timedelta(weeks=13)).isoformat()]  # quarter to come,
        yaxis["range"] = [0, 100]                                                       # not Plotly's year 2000
        notes = [{"text": "Step or Play to record the first week", "showarrow": False, "xref": "paper",
                  "yref": "paper", "x": 0.5, "y": 0.5, "font": {"size": 12, "color": "#666"}}]
    return {"data": data, "layout": _layout(title, margin={"t": 36, "b": 10, "l": 50, "r": 10}, xaxis=xaxis,
                                            yaxis=yaxis, annotations=notes,
                                            legend={"orientation": "h", "y": -0.12, "yanchor": "top"})}


def spend_chart(model) -> Chart:
    recorder = model.collector.recorder
    return _lines("Share of household spend by firm", "share of spend (%)",
                  [(FIRM_NAMES[f], FIRM_COLOURS[f], *recorder.series("spend_share", firm=f)) for f in FIRMS], model.date)


def membership_chart(model) -> Chart:
    recorder = model.collector.recorder
    return _lines("Memberships: none, one or both", "share of households (%)",
                  [(SEGMENT_NAMES[s], SEGMENT_COLOURS[s], *recorder.series("membership_share", segment=s))
                   for s in SEGMENTS], model.date)


def delivery_chart(model) -> Chart:
    recorder = model.collector.recorder
    return _lines("The delivery race (rural households)", "share reached (%)",
                  [(name, colour, *recorder.series(metric, locale="rural")) for metric, name, colour in DELIVERY],
                  model.date)


def state_map(model, segment: str = "both") -> Chart:
    """Households holding a membership segment, by state, at the latest month."""
    labels, values = model.collector.recorder.latest("membership_share", key="state")
    mask = labels["segment"] == segment
    z, text = tile_grid({code: 100 * v for code, v in zip(labels["locale"][mask], values[mask])})
    # Empty tiles as None: the widget channel refuses NaN (it is not valid JSON).
    cells = [[None if np.isnan(v) else round(float(v), 3) for v in row] for row in z]
    heatmap = {"type": "heatmap", "z": cells, "text": text.tolist(), "texttemplate": "%{text}", "colorscale": "Cividis",
               "xgap": 2, "ygap": 2, "colorbar": {"title": {"text": "%"}}, "name": "states"}
    return {"data": [heatmap],
            "layout": _layout(f"{SEGMENT_NAMES[segment]}: share of households by state",
                              margin={"t": 36, "b": 6, "l": 6, "r": 6}, xaxis={"visible": False},
                              yaxis={"visible": False, "autorange": "reversed"})}


CHARTS = (spend_chart, membership_chart, delivery_chart, state_map)
DATA = ("x", "y", "z", "text")  # what changes from week to week in these charts


def update_widget(widget, chart: Chart, width: int | None = None) -> None:
    """Show ``chart`` in a Plotly ``FigureWidget``, ``width`` pixels wide (None: Plotly's default):
    the first time whole; afterwards, while the traces are the same kind and number, only their
    data (Plotly restyles in place, no replot of the layout)."""
    data, layout = chart["data"], chart["layout"]
    same = len(widget.data) == len(data) and all(
        old.type == new["type"] and old.name == new.get("name") for old, new in zip(widget.data, data))
    with widget.batch_update():
        if not same:
            widget.data = ()
            widget.layout = {**layout, "width": width}
            widget.add_traces(data)
            return
        if widget.layout.width != width:
            widget.layout.width = width
        for old, new in zip(widget.data, data):
            for key in DATA:
                if new.get(key) is not None:
                    old[key] = new[key]
        if widget.layout.title.text != layout["title"]["text"]:
            widget.layout.title.text = layout["title"]["text"]
