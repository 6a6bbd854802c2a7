"""Time charts: spend shares, memberships, delivery reach, differences; each with bands and events.

Builders take an :class:`Ensemble` (tables of finished runs) and return Plotly figures as data
(:mod:`.plain`: dicts, no per-trace validation); they never run the model.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from plotly.subplots import make_subplots

from .ensemble import Band, Ensemble
from .plain import Figure, blank, figure
from .style import (
    CATEGORY_NAMES, CHANNEL_COLOURS, CHANNEL_NAMES, EVENT_COLOUR, FIRM_COLOURS, FIRM_NAMES, FONT, LOCALE_NAMES,
    PERCENT, SCENARIO_DASHES, SEGMENT_COLOURS, SEGMENT_NAMES, TEMPLATE, rgba, scenario_label,
)

# Published points drawn on the membership chart (../shared/FACTS.md).
PUBLISHED = [
    ("both", dt.date(2021, 2, 15), 12.0, "12% hold both (PYMNTS Intelligence, Feb 2021)"),
    ("both", dt.date(2025, 2, 15), 24.0, "~24% hold both (PYMNTS Intelligence, Feb 2025; 'nearly 25%', article 000)"),
]


@dataclass(frozen=True)
class Line:
    """One series to draw: its legend label, colour, and where it is in the results."""

    label: str
    colour: str
    metric: str
    dimensions: dict


WEEK_MS = 7 * 24 * 3600 * 1000


def _weekly_x(index: pd.Index) -> dict:
    """Weekly dates as a start and a step (``x0``/``dx``): no date array repeated in every trace."""
    return {"x0": pd.Timestamp(index[0]).date().isoformat(), "dx": WEEK_MS}


def _values(series: pd.Series) -> np.ndarray:
    """Float32 arrays: Plotly embeds them as compact binary, and 7 digits is ample for a chart."""
    return series.to_numpy(dtype=np.float32)


def _axes(col: int) -> dict:
    """The axes of panel ``col`` of a one-row grid, as ``add_trace(row=1, col=col)`` sets them."""
    suffix = "" if col == 1 else str(col)
    return {"xaxis": f"x{suffix}", "yaxis": f"y{suffix}"}


def add_band(traces: list[dict], band: Band, scenario: str, name: str, colour: str, dash: str,
             col: int, show_legend: bool, group: str) -> None:
    """A mean line and, when there are replicates, its 5-95% band."""
    x = _weekly_x(band.mean.index)
    if not band.low[scenario].equals(band.high[scenario]):
        traces.append({"type": "scatter", **x, "y": _values(band.high[scenario]), "mode": "lines",
                       "line": {"width": 0}, "hoverinfo": "skip", "showlegend": False, "legendgroup": group,
                       **_axes(col)})
        traces.append({"type": "scatter", **x, "y": _values(band.low[scenario]), "mode": "lines",
                       "line": {"width": 0}, "fill": "tonexty", "fillcolor": rgba(colour, 0.18), "hoverinfo": "skip",
                       "showlegend": False, "legendgroup": group, **_axes(col)})
    traces.append({"type": "scatter", **x, "y": _values(band.mean[scenario]), "mode": "lines", "name": name,
                   "line": {"color": colour, "dash": dash, "width": 2}, "legendgroup": group,
                   "showlegend": show_legend, "hovertemplate": "%{x|%Y-%m-%d}: %{y:.2f}<extra>" + name + "</extra>",
                   **_axes(col)})


def events_of(ensemble: Ensemble) -> list[tuple[dt.date, str]]:
    """Every scenario's events in the horizon; a what-if's own events carry its name."""
    start = ensemble.start_date.date()
    end = ensemble.end_date.date()
    seen, marks = set(), []
    for scenario in ensemble.scenarios:
        for event in scenario.events:
            key = (event.date, event.label)
            if key in seen or not start <= event.date <= end:
                continue
            seen.add(key)
            label = event.label or ", ".join(f"{k} = {v}" for k, v in event.set.items())
            if scenario.name != ensemble.baseline:
                label = f"{label} ({scenario.name})"
            marks.append((event.date, label))
    return sorted(marks)


def event_marks(ensemble: Ensemble, panels: int) -> tuple[list[dict], list[dict]]:
    """Dotted vertical lines on every panel (shapes); labels on the first panel (annotations)."""
    shapes, annotations = [], []
    for date, label in events_of(ensemble):
        x = date.isoformat()
        for panel in range(1, panels + 1):
            suffix = "" if panel == 1 else str(panel)
            shapes.append({"type": "line", "x0": x, "x1": x, "y0": 0, "y1": 1, "xref": f"x{suffix}",
                           "yref": f"y{suffix} domain", "line": {"color": EVENT_COLOUR, "width": 1, "dash": "dot"},
                           "opacity": 0.6})
        annotations.append({"x": x, "y": 1, "xref": "x", "yref": "y domain", "text": label, "showarrow": False,
                            "textangle": -90, "xanchor": "right", "yanchor": "top",
                            "font": {"size": 9, "color": EVENT_COLOUR}, "bgcolor": "rgba(255,255,255,0.7)"})
    return shapes, annotations


def panel_chart(ensemble: Ensemble, title: str, panel_titles: list[str], panels: list[list[Line]],
                y_title: str, scale: float = PERCENT, differences: bool = False, height: int = 420,
                shared_y: bool = True, extra: list[dict] | None = None) -> Figure:
    """Side-by-side panels of lines (one per series and scenario, with bands), with event markers.

    With ``differences`` each line is a what-if minus the baseline, paired by seed. ``extra``
    traces are drawn last.
    """
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=panel_titles, shared_yaxes=shared_y,
                        horizontal_spacing=0.03 if shared_y else 0.06, figure=blank())
    traces: list[dict] = []
    scenarios = ensemble.names[1:] if differences else ensemble.names
    for col, lines in enumerate(panels, start=1):
        for line in lines:
            compute = ensemble.paired_difference if differences else ensemble.band
            band = compute(line.metric, scale=scale, **line.dimensions)
            for order, scenario in enumerate(scenarios):
                dash = SCENARIO_DASHES[(order + (1 if differences else 0)) % len(SCENARIO_DASHES)]
                name = line.label if differences else scenario_label(scenario, ensemble.baseline, line.label)
                if differences:
                    name = f"{line.label} · {scenario}"
                add_band(traces, band, scenario, name, line.colour, dash, col, show_legend=col == 1,
                         group=f"{line.label}|{scenario}")
    shapes, annotations = event_marks(ensemble, len(panels))
    spec = figure(fig, TEMPLATE, traces + (extra or []), shapes, annotations)
    layout = spec["layout"]
    layout["yaxis"]["title"] = {"text": y_title}
    for col in range(1, len(panels) + 1):
        layout["xaxis" if col == 1 else f"xaxis{col}"].update(title={"text": "date"}, type="date")
    layout.update(title={"text": title}, height=height, font={"family": FONT}, hovermode="x unified",
                  legend={"orientation": "h", "y": -0.18}, margin={"t": 80, "b": 40, "l": 60, "r": 20})
    return spec


def firm_lines(metric: str, **dimensions: str) -> list[Line]:
    return [Line(FIRM_NAMES[f], FIRM_COLOURS[f], metric, {"firm": f, **dimensions}) for f in FIRM_COLOURS]


def spend_share_by_category(ensemble: Ensemble) -> Figure:
    categories = ["grocery", "discretionary", "health", "all"]
    return panel_chart(ensemble, "Share of household spend by firm, per category (all households)",
                       [CATEGORY_NAMES[c] for c in categories],
                       [firm_lines("spend_share", category=c) for c in categories], "share of spend (%)")


def spend_share_by_locale(ensemble: Ensemble) -> Figure:
    locales = ["urban", "suburban", "rural"]
    return panel_chart(ensemble, "Share of household spend by firm, per locale (all categories)",
                       [LOCALE_NAMES[x] for x in locales],
                       [firm_lines("spend_share", locale=x) for x in locales], "share of spend (%)")


def channel_share(ensemble: Ensemble) -> Figure:
    categories = ["grocery", "discretionary", "health"]
    panels = [[Line(CHANNEL_NAMES[k], CHANNEL_COLOURS[k], "channel_share", {"segment": k, "category": c})
               for k in CHANNEL_COLOURS] for c in categories]
    return panel_chart(ensemble, "Share of spend by channel: Walmart's stores against its delivery and pickup",
                       [CATEGORY_NAMES[c] for c in categories], panels, "share of spend (%)")


def membership_composition(ensemble: Ensemble) -> Figure:
    lines = [Line(SEGMENT_NAMES[s], SEGMENT_COLOURS[s], "membership_share", {"segment": s}) for s in SEGMENT_NAMES]
    published = [{"type": "scatter", "x": [date.isoformat()], "y": [value], "mode": "markers",
                  "name": f"published: {text}",
                  "marker": {"symbol": "diamond", "size": 11, "color": SEGMENT_COLOURS[segment],
                             "line": {"color": "black", "width": 1}},
                  "hovertemplate": text + "<extra></extra>"} for segment, date, value, text in PUBLISHED]
    return panel_chart(ensemble, "Membership composition: share of households holding none, one or both",
                       ["All households"], [lines], "share of households (%)", height=460, extra=published)


def delivery_race(ensemble: Ensemble) -> Figure:
    locales = ["urban", "suburban", "rural", "all"]
    panels = [[
        Line("Amazon same-day", FIRM_COLOURS["amazon"], "amazon_same_day_reach", {"locale": x}),
        Line("Amazon next-day", "#F0C060", "amazon_next_day_reach", {"locale": x}),
        Line("Walmart express (<3 h)", FIRM_COLOURS["walmart"], "walmart_express_coverage", {"locale": x}),
    ] for x in locales]
    return panel_chart(ensemble, "The delivery race: share of households each network reaches",
                       [LOCALE_NAMES[x] for x in locales], panels, "share of households reached (%)")


def differences_over_time(ensemble: Ensemble) -> Figure:
    """Each what-if minus the baseline, paired by seed, for the headline measures."""
    panels = [
        [Line(FIRM_NAMES[f], FIRM_COLOURS[f], "spend_share", {"firm": f}) for f in FIRM_COLOURS],
        [Line(SEGMENT_NAMES[s], SEGMENT_COLOURS[s], "membership_share", {"segment": s}) for s in SEGMENT_NAMES],
    ]
    return panel_chart(ensemble, "What changed against the baseline (what-if minus baseline, same seeds)",
                       ["Spend share, all categories", "Membership composition"], panels,
                       "difference (percentage points)", differences=True)
