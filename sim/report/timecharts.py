"""Time charts: spend shares, memberships, delivery reach, differences; each with bands and events.

Builders take an :class:`Ensemble` (tables of finished runs) and return Plotly figures as data
(:mod:`.plain`: dicts, no per-trace validation); they never run the model.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass

import numpy as np
import pandas as pd
from plotly.subplots import make_subplots

from .ensemble import Band, Ensemble
from .plain import Figure, blank, figure
from .style import (
    CATEGORY_NAMES, CHANNEL_COLOURS, CHANNEL_NAMES, EVENT_COLOUR, FIRM_COLOURS, FIRM_NAMES, FONT, KEY_COLOUR,
    LOCALE_NAMES, PERCENT, SCENARIO_DASHES, SEGMENT_COLOURS, SEGMENT_NAMES, TEMPLATE, rgba, scenario_label,
)

# Published points drawn on the membership chart, as shares of households (calibration/targets.yaml): the
# member counts over Census's households, times the share of Walmart+'s holders who hold Prime too
# (PYMNTS's survey; its own shares are of consumers, a different base, so they are not drawn).
PUBLISHED = [
    ("both", dt.date(2021, 7, 1), 5.7, "~5.7% of households hold both: CIRP's 9M Walmart+ members (Jul 2021) "
                                       "over 127.5M households, 80% of them with Prime (PYMNTS, Feb 2021)"),
    ("both", dt.date(2025, 7, 1), 17.0, "~17% of households hold both: 25-28M Walmart+ members (2025) over 134.0M "
                                        "households, 86% of them with Prime (PYMNTS, Feb 2025)"),
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


def _axes(panel: int) -> dict:
    """The axes of panel ``panel`` (numbered along rows, as ``make_subplots`` numbers its axes)."""
    suffix = "" if panel == 1 else str(panel)
    return {"xaxis": f"x{suffix}", "yaxis": f"y{suffix}"}


def _axis_key(letter: str, panel: int) -> str:
    return f"{letter}axis" if panel == 1 else f"{letter}axis{panel}"


def add_band(traces: list[dict], band: Band, scenario: str, name: str, colour: str, dash: str,
             panel: int, show_legend: bool, group: str, legend: str = "legend", with_band: bool = True,
             unit: str = "", hover: str | None = None) -> None:
    """A mean line and, when there are replicates (and ``with_band``), its 5-95% band; ``meta``
    names the scenario on all three traces. ``hover``: the line's name on hover (default ``name``)."""
    x = _weekly_x(band.mean.index)
    common = {"legendgroup": group, "legend": legend, "meta": scenario, **_axes(panel)}
    if with_band and not band.low[scenario].equals(band.high[scenario]):
        traces.append({"type": "scatter", **x, "y": _values(band.high[scenario]), "mode": "lines",
                       "line": {"width": 0}, "hoverinfo": "skip", "showlegend": False, **common})
        traces.append({"type": "scatter", **x, "y": _values(band.low[scenario]), "mode": "lines",
                       "line": {"width": 0}, "fill": "tonexty", "fillcolor": rgba(colour, 0.18), "hoverinfo": "skip",
                       "showlegend": False, **common})
    traces.append({"type": "scatter", **x, "y": _values(band.mean[scenario]), "mode": "lines", "name": name,
                   "line": {"color": colour, "dash": dash, "width": 2}, "showlegend": show_legend,
                   "hovertemplate": f"%{{x|%Y-%m-%d}}: %{{y:.2f}}{unit}<extra>{hover or name}</extra>", **common})


def add_parameter_band(traces: list[dict], band: Band, scenario: str, colour: str, panel: int, group: str,
                       legend: str) -> None:
    """The spread over parameter draws as dotted edges in the series' colour (no fill, so it reads
    apart from the run-noise band): each draw's mean, 5th and 95th percentiles over draws. None
    where it has no width (one draw)."""
    if band.low[scenario].equals(band.high[scenario]):
        return
    common = {"type": "scatter", **_weekly_x(band.mean.index), "mode": "lines", "hoverinfo": "skip",
              "showlegend": False, "line": {"color": colour, "width": 1, "dash": "dot"}, "legendgroup": group,
              "legend": legend, "meta": scenario, **_axes(panel)}
    traces += [{**common, "y": _values(edge[scenario])} for edge in (band.low, band.high)]


def band_key(draws: int, legend: str) -> tuple[list[dict], dict]:
    """The key of the two bands of a comparison over parameter draws (grey, below the panels)."""
    common = {"type": "scatter", "x": [None], "y": [None], "mode": "lines", "legend": legend, "hoverinfo": "skip",
              "xaxis": "x", "yaxis": "y"}
    traces = [{**common, "name": "run noise: 5-95% over seeds within a draw", "fill": "toself",
               "fillcolor": rgba(KEY_COLOUR, 0.18), "line": {"width": 0}, "legendgroup": "band|noise"},
              {**common, "name": f"parameters: 5-95% over {draws} posterior draws",
               "line": {"color": KEY_COLOUR, "dash": "dot", "width": 1}, "legendgroup": "band|parameters"}]
    layout = {"orientation": "h", "x": 0, "xanchor": "left", "y": 0, "yref": "container", "yanchor": "bottom",
              "title": {"text": "bands:"}, "itemclick": False, "itemdoubleclick": False, "font": {"size": 12}}
    return traces, layout


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


def numbered_events(ensemble: Ensemble) -> list[tuple[int, dt.date, str]]:
    """The events by date, numbered from 1: events on one day share a number (their labels joined)."""
    days: dict[dt.date, list[str]] = {}
    for date, label in events_of(ensemble):
        days.setdefault(date, []).append(label)
    return [(number, date, "; ".join(labels)) for number, (date, labels) in enumerate(days.items(), start=1)]


def events_key(ensemble: Ensemble) -> str:
    """The numbered events as one HTML line, for the sections whose charts mark them."""
    events = numbered_events(ensemble)
    if not events:
        return ""
    items = " · ".join(f"<b>{number}</b> {date.isoformat()} {html.escape(label)}" for number, date, label in events)
    return f'<p class="events">Events (numbered on the charts\' dotted lines): {items}</p>'


# Event numbers sit in rows at the top of the first panel: a number goes in the first row where it
# clears the one before by its width, at the narrowest window the layout is made for.
NUMBER_PX = 20       # a number's box with its border, and a little air
ROW_PX = 15          # one row of numbers
PLOT_PX = 1000       # width of a figure's plotting area at a 1366-pixel window (less page margins, legend)


def _rows(dates: list[dt.date], span_days: float, panel_px: float) -> list[int]:
    """The row of each (sorted) date's number so that no two numbers in one row touch."""
    gap = span_days * NUMBER_PX / max(panel_px, 1.0)
    last: list[dt.date] = []
    rows = []
    for date in dates:
        row = next((r for r, previous in enumerate(last) if (date - previous).days >= gap), len(last))
        if row == len(last):
            last.append(date)
        last[row] = date
        rows.append(row)
    return rows


def event_marks(ensemble: Ensemble, panels: int, first_width: float = 1.0) -> tuple[list[dict], list[dict]]:
    """Dotted vertical lines on every panel (shapes); their numbers on the first panel (annotations,
    the full label on hover), stacked so that none touches another. ``first_width``: the first
    panel's share of the plotting width."""
    events = numbered_events(ensemble)
    span = max((ensemble.end_date - ensemble.start_date).days, 1)
    rows = _rows([date for _, date, _ in events], span, PLOT_PX * first_width)
    shapes, annotations = [], []
    for (number, date, label), row in zip(events, rows):
        x = date.isoformat()
        for panel in range(1, panels + 1):
            suffix = "" if panel == 1 else str(panel)
            shapes.append({"type": "line", "x0": x, "x1": x, "y0": 0, "y1": 1, "xref": f"x{suffix}",
                           "yref": f"y{suffix} domain", "line": {"color": EVENT_COLOUR, "width": 1, "dash": "dot"},
                           "opacity": 0.6})
        annotations.append({"x": x, "y": 1, "xref": "x", "yref": "y domain", "text": str(number), "hovertext": label,
                            "showarrow": False, "xanchor": "center", "yanchor": "top", "yshift": -ROW_PX * row,
                            "font": {"size": 10, "color": EVENT_COLOUR}, "bgcolor": "rgba(255,255,255,0.85)",
                            "bordercolor": EVENT_COLOUR, "borderwidth": 1, "borderpad": 1})
    return shapes, annotations


def _legend_px(names: list[str]) -> int:
    """Width a vertical legend of these names needs (its swatch, then about 7 pixels a character)."""
    return 50 + 7 * max((len(name) for name in names), default=0)


def series_legend(title: str, y: float = 1.0) -> dict:
    """The legend of what the colours are, right of the panels, its top at ``y`` (paper)."""
    return {"orientation": "v", "x": 1.01, "xanchor": "left", "y": y, "yanchor": "top",
            "title": {"text": title}, "font": {"size": 12}, "tracegroupgap": 2}


def scenario_key(ensemble: Ensemble) -> tuple[list[dict], dict]:
    """Line-style key of a comparison: one grey entry per scenario (legend2, below the panels; its
    entries are a key, so clicking them hides nothing)."""
    traces = [{"type": "scatter", "x": [None], "y": [None], "mode": "lines", "legend": "legend2",
               "name": name if name != ensemble.baseline or "baseline" in name else f"{name} (baseline)",
               "legendgroup": f"scenario|{name}",
               "line": {"color": KEY_COLOUR, "dash": SCENARIO_DASHES[order % len(SCENARIO_DASHES)], "width": 2},
               "hoverinfo": "skip", "xaxis": "x", "yaxis": "y"} for order, name in enumerate(ensemble.names)]
    legend = {"orientation": "h", "x": 0, "xanchor": "left", "y": 0, "yref": "container", "yanchor": "bottom",
              "title": {"text": "line style:"}, "itemclick": False, "itemdoubleclick": False, "font": {"size": 12}}
    return traces, legend


def panel_chart(ensemble: Ensemble, title: str, panel_titles: list[str], panels: list[list[Line]],
                y_title: str, scale: float = PERCENT, height: int = 420, shared_y: bool = True,
                extra: list[dict] | None = None, legend_title: str = "", unit: str = "%") -> Figure:
    """Side-by-side panels of levels (one line per series and scenario), with event markers.

    Colours are the series (one legend at the right, shared by the panels, which show the same
    series); in a comparison, line styles are the scenarios (a grey key below) and only the
    baseline carries its band: the what-ifs' differences, with theirs, lead the report. ``extra``
    traces are drawn last.
    """
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=panel_titles, shared_yaxes=shared_y,
                        horizontal_spacing=0.03 if shared_y else 0.06, figure=blank())
    traces: list[dict] = []
    compare = len(ensemble.names) > 1
    for col, lines in enumerate(panels, start=1):
        for line in lines:
            band = ensemble.band(line.metric, scale=scale, **line.dimensions)
            for order, scenario in enumerate(ensemble.names):
                add_band(traces, band, scenario, scenario_label(scenario, ensemble.baseline, line.label), line.colour,
                         SCENARIO_DASHES[order % len(SCENARIO_DASHES)], col,
                         show_legend=col == 1 and order == 0, group=line.label,
                         with_band=order == 0 or not compare, unit=unit)
    layout_legends = {"legend": series_legend(legend_title)}
    if compare:
        key, layout_legends["legend2"] = scenario_key(ensemble)
        traces += key
    first = fig.layout.xaxis.domain
    shapes, annotations = event_marks(ensemble, len(panels), first[1] - first[0])
    spec = figure(fig, TEMPLATE, traces + (extra or []), shapes, annotations)
    layout = spec["layout"]
    layout["yaxis"]["title"] = {"text": y_title}
    for col in range(1, len(panels) + 1):
        layout[_axis_key("x", col)].update(type="date")
    names = [line.label for line in panels[0]] + [t["name"] for t in extra or [] if t.get("showlegend", True)]
    # The key's rows: an entry is its swatch and gaps (85 pixels) and about 7 pixels a character,
    # in about 1,150 pixels a row.
    key_rows = -(-sum(85 + 7 * len(name) for name in ensemble.names) // 1150)
    bottom = 40 + 24 * key_rows if compare else 40
    layout.update(title={"text": title}, height=height + (bottom - 40), font={"family": FONT}, hovermode="x unified",
                  margin={"t": 80, "b": bottom, "l": 60, "r": _legend_px(names + [legend_title])}, **layout_legends)
    return spec


def firm_lines(metric: str, **dimensions: str) -> list[Line]:
    return [Line(FIRM_NAMES[f], FIRM_COLOURS[f], metric, {"firm": f, **dimensions}) for f in FIRM_COLOURS]


def spend_share_by_category(ensemble: Ensemble) -> Figure:
    categories = ["grocery", "discretionary", "health", "all"]
    return panel_chart(ensemble, "Share of household spend by firm, per category (all households)",
                       [CATEGORY_NAMES[c] for c in categories],
                       [firm_lines("spend_share", category=c) for c in categories], "share of spend (%)",
                       legend_title="Firm")


def spend_share_by_locale(ensemble: Ensemble) -> Figure:
    locales = ["urban", "suburban", "rural"]
    return panel_chart(ensemble, "Share of household spend by firm, per locale (all categories)",
                       [LOCALE_NAMES[x] for x in locales],
                       [firm_lines("spend_share", locale=x) for x in locales], "share of spend (%)", legend_title="Firm")


def channel_share(ensemble: Ensemble) -> Figure:
    categories = ["grocery", "discretionary", "health"]
    panels = [[Line(CHANNEL_NAMES[k], CHANNEL_COLOURS[k], "channel_share", {"segment": k, "category": c})
               for k in CHANNEL_COLOURS] for c in categories]
    return panel_chart(ensemble, "Share of spend by channel: Walmart's stores against its delivery and pickup",
                       [CATEGORY_NAMES[c] for c in categories], panels, "share of spend (%)", legend_title="Channel")


def membership_composition(ensemble: Ensemble) -> Figure:
    lines = [Line(SEGMENT_NAMES[s], SEGMENT_COLOURS[s], "membership_share", {"segment": s}) for s in SEGMENT_NAMES]
    published = [{"type": "scatter", "x": [date.isoformat() for _, date, _, _ in PUBLISHED],
                  "y": [value for _, _, value, _ in PUBLISHED], "mode": "markers", "name": "published (derived)",
                  "legendgroup": "published", "legend": "legend", "hovertext": [text for *_, text in PUBLISHED],
                  "hovertemplate": "%{hovertext}<extra></extra>",
                  "marker": {"symbol": "diamond", "size": 11, "color": [SEGMENT_COLOURS[s] for s, *_ in PUBLISHED],
                             "line": {"color": "black", "width": 1}}}]
    return panel_chart(ensemble, "Membership composition: share of households holding none, one or both",
                       ["All households"], [lines], "share of households (%)", height=460, extra=published,
                       legend_title="Membership")


def delivery_race(ensemble: Ensemble) -> Figure:
    locales = ["urban", "suburban", "rural", "all"]
    panels = [[
        Line("Amazon same-day", FIRM_COLOURS["amazon"], "amazon_same_day_reach", {"locale": x}),
        Line("Amazon next-day", "#F0C060", "amazon_next_day_reach", {"locale": x}),
        Line("Walmart express (<3 h)", FIRM_COLOURS["walmart"], "walmart_express_coverage", {"locale": x}),
    ] for x in locales]
    return panel_chart(ensemble, "The delivery race: share of households each network reaches",
                       [LOCALE_NAMES[x] for x in locales], panels, "share of households reached (%)",
                       legend_title="Network")


def prices(ensemble: Ensemble) -> Figure:
    """Each firm's price index by category: under strategic conduct, the firms' answers to each other."""
    categories = ["grocery", "discretionary"]
    return panel_chart(ensemble, "Price index by firm (1 = Walmart's reference prices), per category",
                       [CATEGORY_NAMES[c] for c in categories], [firm_lines("price_index", category=c) for c in categories],
                       "price index", scale=1.0, legend_title="Firm", unit="")


def fees(ensemble: Ensemble) -> Figure:
    """The membership fees posted (nominal dollars a year): under strategic conduct, the firms' yearly choices."""
    lines = [Line("Prime fee", FIRM_COLOURS["amazon"], "prime_fee_usd", {"firm": "amazon"}),
             Line("Walmart+ fee", FIRM_COLOURS["walmart"], "walmart_plus_fee_usd", {"firm": "walmart"})]
    return panel_chart(ensemble, "Membership fees posted, US$ a year (nominal)", ["Fees"], [lines], "US$ a year",
                       scale=1.0, height=380, legend_title="Fee", unit="")


def _fitted(name: str, px: float, char_px: float = 8.5) -> str:
    """A panel title that fits ``px`` pixels: a long name broken at the underscore nearest its middle."""
    if len(name) * char_px <= px or "_" not in name:
        return name
    cut = min((i for i, c in enumerate(name) if c == "_"), key=lambda i: abs(i - len(name) / 2))
    return f"{name[:cut + 1]}<br>{name[cut + 1:]}"


# The differences chart: one row per group of measures (its own legend, its own y axis shared
# along the row), one column per what-if, so what-ifs never overlay one another.
DIFFERENCE_ROWS = [
    ("Firm", "spend share, all categories (percentage points)",
     [Line(FIRM_NAMES[f], FIRM_COLOURS[f], "spend_share", {"firm": f}) for f in FIRM_COLOURS]),
    ("Membership", "households (percentage points)",
     [Line(SEGMENT_NAMES[s], SEGMENT_COLOURS[s], "membership_share", {"segment": s}) for s in SEGMENT_NAMES]),
]


def differences_over_time(ensemble: Ensemble) -> Figure:
    """Each what-if minus the baseline, paired by seed, for the headline measures: a row per group
    of measures, a column per what-if (small multiples), each row with its own legend. Over
    parameter draws each line has two bands: run noise (filled) and the spread over draws (dotted
    edges), explained by a key below the panels."""
    what_ifs = ensemble.names[1:]
    cols, rows = len(what_ifs), len(DIFFERENCE_ROWS)
    titles = [_fitted(name, PLOT_PX * 0.85 / cols) for name in what_ifs]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles,
                        shared_yaxes=True, shared_xaxes=True, horizontal_spacing=0.02, vertical_spacing=0.1,
                        figure=blank())
    traces: list[dict] = []
    layout_legends = {}
    drawn = bool(ensemble.draws)
    for row, (legend_title, _, lines) in enumerate(DIFFERENCE_ROWS, start=1):
        legend = "legend" if row == 1 else f"legend{row}"
        for line in lines:
            band = ensemble.paired_difference(line.metric, scale=PERCENT, **line.dimensions)
            spread = ensemble.parameter_difference(line.metric, scale=PERCENT, **line.dimensions) if drawn else None
            for col, name in enumerate(what_ifs, start=1):
                group, panel = f"{legend_title}|{line.label}", (row - 1) * cols + col
                if spread is not None:
                    add_parameter_band(traces, spread, name, line.colour, panel, group, legend)
                add_band(traces, band, name, line.label, line.colour, "solid", panel, show_legend=col == 1,
                         group=group, legend=legend, unit=" pts", hover=f"{line.label} · {name}")
        top = fig.layout[_axis_key("y", (row - 1) * cols + 1)].domain[1]
        layout_legends[legend] = series_legend(legend_title, y=top)
    if drawn:  # a key of the two bands, below the panels
        key, layout_legends[f"legend{rows + 1}"] = band_key(len(ensemble.draws), f"legend{rows + 1}")
        traces += key
    first = fig.layout.xaxis.domain
    shapes, annotations = event_marks(ensemble, rows * cols, first[1] - first[0])
    spec = figure(fig, TEMPLATE, traces, shapes, annotations)
    layout = spec["layout"]
    for title in layout["annotations"][:cols]:  # the subplot titles: the what-ifs' names
        title["font"] = {"size": 13}
    for row, (_, y_title, _) in enumerate(DIFFERENCE_ROWS, start=1):
        layout[_axis_key("y", (row - 1) * cols + 1)]["title"] = {"text": y_title, "font": {"size": 12}}
    for panel in range(1, rows * cols + 1):
        layout[_axis_key("x", panel)].update(type="date")
    names = [line.label for _, _, lines in DIFFERENCE_ROWS for line in lines] + [t for t, _, _ in DIFFERENCE_ROWS]
    bottom = 70 if drawn else 40
    layout.update(title={"text": "What changed against the baseline (what-if minus baseline, same seeds)"},
                  height=280 * rows + 20 + bottom, font={"family": FONT}, hovermode="x unified",
                  margin={"t": 80, "b": bottom, "l": 60, "r": _legend_px(names)}, **layout_legends)
    return spec
