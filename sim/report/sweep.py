"""The sweep report: outcomes against parameters, grid heatmaps, sensitivity bars, parallel coordinates."""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .page import Report, Section
from .style import FONT, TEMPLATE

if TYPE_CHECKING:  # the report reads a sweep's shape; it never imports the experiment layer at run time
    from ..experiments.sweepfile import Sweep

# The warning of an index no larger than the dummy parameters' (sim.experiments.sensitivity.DUMMY_FLAG).
DUMMY_FLAG = "no larger than a random dummy parameter's"

MAX_OUTCOMES, MAX_PARAMETERS = 4, 6
POINT_COLOUR, BAR_COLOUR, WARN_COLOUR = "#0072B2", "#E69F00", "#999999"


def _short(name: str) -> str:
    """A long dotted path by its last two parts (``walmart_plus.fee_annual``)."""
    return ".".join(name.split(".")[-2:]) if len(name) > 28 else name


def outcome_scatter(sweep: Sweep, runs: pd.DataFrame) -> go.Figure:
    """Each outcome against each parameter, one dot per run."""
    outcomes, parameters = list(sweep.outcomes)[:MAX_OUTCOMES], list(sweep.parameters)[:MAX_PARAMETERS]
    fig = make_subplots(rows=len(outcomes), cols=len(parameters), shared_xaxes="columns", shared_yaxes="rows",
                        horizontal_spacing=0.02, vertical_spacing=0.04)
    ok = runs[runs["error"].isna()]
    for row, outcome in enumerate(outcomes, start=1):
        for col, parameter in enumerate(parameters, start=1):
            fig.add_trace(go.Scatter(x=ok[parameter], y=ok[outcome], mode="markers", showlegend=False,
                                     marker={"size": 5, "color": POINT_COLOUR, "opacity": 0.6},
                                     hovertemplate=f"{parameter}=%{{x}}<br>{outcome}=%{{y:.4g}}<extra></extra>"),
                          row=row, col=col)
            if row == len(outcomes):
                fig.update_xaxes(title_text=_short(parameter), row=row, col=col)
        fig.update_yaxes(title_text=outcome, row=row, col=1)
    fig.update_layout(title={"text": "Outcomes against each parameter (one dot per run)"}, template=TEMPLATE,
                      font={"family": FONT}, height=260 * len(outcomes) + 120)
    return fig


def grid_heatmaps(sweep: Sweep, runs: pd.DataFrame) -> go.Figure | None:
    """For a two-parameter grid: the mean of each outcome over the grid."""
    if sweep.design != "grid" or len(sweep.parameters) != 2:
        return None
    first, second = list(sweep.parameters)
    outcomes = list(sweep.outcomes)[:MAX_OUTCOMES]
    fig = make_subplots(rows=1, cols=len(outcomes), subplot_titles=outcomes, horizontal_spacing=0.08)
    for col, outcome in enumerate(outcomes, start=1):
        table = runs.pivot_table(index=second, columns=first, values=outcome, aggfunc="mean")
        fig.add_trace(go.Heatmap(z=table.to_numpy(), x=[str(v) for v in table.columns], y=[str(v) for v in table.index],
                                 colorscale="Cividis", showscale=False, name=outcome, texttemplate="%{z:.3g}",
                                 hovertemplate=f"{first}=%{{x}}<br>{second}=%{{y}}<br>mean %{{z:.4g}}<extra></extra>"),
                      row=1, col=col)
        fig.update_xaxes(title_text=_short(first), row=1, col=col)
    fig.update_yaxes(title_text=_short(second), row=1, col=1)
    fig.update_layout(title={"text": "Mean outcome over the two-parameter grid"}, template=TEMPLATE,
                      font={"family": FONT}, height=420)
    return fig


def sensitivity_bars(sweep: Sweep, indices: pd.DataFrame) -> go.Figure | None:
    """Sorted bars of the main index per outcome (ST, mu* or delta), with confidence intervals; one panel
    per outcome, stacked, so each panel's parameter labels have the left margin to themselves. Bars the
    sample cannot support (a ``warning``) are hatched grey."""
    if indices.empty:
        return None
    main = main_index(sweep)
    outcomes = [o for o in sweep.outcomes if o in set(indices["outcome"])][:MAX_OUTCOMES]
    flagged = _flags(indices)
    fig = make_subplots(rows=len(outcomes), cols=1, subplot_titles=outcomes, vertical_spacing=0.5 / (len(outcomes) + 1))
    for row, outcome in enumerate(outcomes, start=1):
        rows = indices[(indices["outcome"] == outcome) & (indices["index"] == main)].sort_values("value")
        bad = flagged.loc[rows.index].to_numpy()
        fig.add_trace(go.Bar(x=rows["value"], y=[_short(p) for p in rows["parameter"]], orientation="h",
                             error_x={"type": "data", "array": rows["conf"].fillna(0).to_numpy()},
                             marker={"color": [WARN_COLOUR if b else BAR_COLOUR for b in bad],
                                     "pattern": {"shape": ["/" if b else "" for b in bad]}},
                             customdata=[[c, w or "ok"] for c, w in zip(rows["conf"].fillna(0), flagged.loc[rows.index])],
                             showlegend=False, name=outcome,
                             hovertemplate="%{y}: %{x:.3f} ± %{customdata[0]:.3f}<br>%{customdata[1]}<extra>"
                                           + outcome + "</extra>"), row=row, col=1)
        fig.update_yaxes(automargin=True, row=row, col=1)
    unit = "the outcome's own units" if main == "mu_star" else "index, unitless"
    fig.update_xaxes(title_text=f"{main} ({unit})", row=len(outcomes), col=1)
    label = {"ST": "total-order Sobol index", "mu_star": "Morris mu*", "delta": "delta index"}[main]
    panel = 40 + 28 * len(sweep.parameters)
    fig.update_layout(title={"text": f"Which levers matter: {label} per parameter, with 90% intervals"},
                      template=TEMPLATE, font={"family": FONT}, height=160 + int(panel * len(outcomes) * 1.4))
    return fig


def _flags(indices: pd.DataFrame) -> pd.Series:
    """Each index's warning ("" when none; sensitivity tables written before warnings have none)."""
    if "warning" not in indices:
        return pd.Series("", index=indices.index)
    return indices["warning"].fillna("").astype(str)


def main_index(sweep: Sweep) -> str:
    """The index the bars show: total Sobol, Morris mu*, or delta."""
    return {"sobol": "ST", "morris": "mu_star"}.get(sweep.design, "delta")


def sensitivity_warning(indices: pd.DataFrame, main: str | None = None) -> str:
    """A visible paragraph when any index the bars show (``main``; all, if None) is flagged, saying why
    in the warnings' own words and naming the outcomes; empty otherwise."""
    shown = indices if main is None or indices.empty else indices[indices["index"] == main]
    flags = _flags(shown)
    floor = flags.str.startswith(DUMMY_FLAG)  # marked only for being no larger than a dummy's
    parts = []
    for chosen, text in ((shown[(flags != "") & ~floor], "<b>Warning: sample too small.</b> {n} of {all} {which} "
                          "({outcomes}): {why} (hatched grey bars); read them as unknown, not as estimates, and run "
                          "the sweep with more samples."),
                         (shown[floor], "{n} of {all} {which} ({outcomes}) are no larger than what random dummy "
                          "parameters, which no run reads, reach at this sample size (hatched grey bars): their "
                          "parameters are not shown to matter.")):
        if not chosen.empty:
            outcomes = ", ".join(html.escape(str(o)) for o in dict.fromkeys(chosen["outcome"]))
            reasons = dict.fromkeys(re.sub(r" \([^)]*\)$", "", reason) for flag in _flags(chosen)
                                    for reason in flag.split("; ") if not reason.startswith(DUMMY_FLAG))
            which = "indices" if main is None else f"{main} indices drawn (the table holds them all)"
            parts.append(f'<p style="border-left:4px solid {WARN_COLOUR};padding:4px 10px">' + text.format(
                n=len(chosen), all=len(shown), which=which, outcomes=outcomes, why=html.escape("; ".join(reasons))) + "</p>")
    return "".join(parts)


def parallel_coordinates(sweep: Sweep, runs: pd.DataFrame) -> go.Figure:
    ok = runs[runs["error"].isna()]
    columns = [c for c in [*sweep.parameters, *sweep.outcomes] if pd.api.types.is_numeric_dtype(ok[c])]
    colour = list(sweep.outcomes)[0]
    fig = go.Figure(go.Parcoords(
        line={"color": ok[colour].to_numpy(), "colorscale": "Cividis", "showscale": True,
              "colorbar": {"title": {"text": colour}}},
        dimensions=[{"label": _short(c), "values": ok[c].to_numpy(dtype=float)} for c in columns]))
    fig.update_layout(title={"text": f"Every run across parameters and outcomes (colour: {colour})"},
                      template=TEMPLATE, font={"family": FONT}, height=480, margin={"l": 80, "r": 80})
    return fig


def build_sweep_report(sweep: Sweep, runs: pd.DataFrame, indices: pd.DataFrame, manifest: dict) -> Report:
    failures = runs[runs["error"].notna()]
    failure_html = ""
    if len(failures):
        items = "".join(f"<li>point {r.point}, seed {r.seed}: {html.escape(str(r.error))}</li>"
                        for r in failures.head(20).itertuples())
        failure_html = f"<p><b>{len(failures)} run(s) failed</b> (first 20):</p><ul>{items}</ul>"
    summary = (f"{manifest['points']} points × {sweep.replicates} replicate(s) = {manifest['runs']} runs, "
               f"design {sweep.design}, seeds {', '.join(map(str, manifest['seeds']))}; "
               f"{manifest['simulation_seconds']:.0f} s of simulation. " + " ".join(map(html.escape, manifest["notes"])))
    sections = [Section("runs", "Outcomes against parameters", html.escape(summary), [("scatter", outcome_scatter(sweep, runs))],
                        failure_html)]
    heat = grid_heatmaps(sweep, runs)
    if heat is not None:
        sections.append(Section("grid", "The grid", "Mean over replicates of each outcome in each cell (each panel "
                                "has its own colour range; read the numbers).", [("grid", heat)]))
    bars = sensitivity_bars(sweep, indices)
    if bars is not None:
        reading = {"sobol": "Sobol total indices near zero mean the outcome does not depend on that lever over its "
                            "range.",
                   "morris": "Morris mu* is the mean size of a lever's elementary effects, in the outcome's own "
                             "units: compare levers with each other, not with 1."}.get(
            sweep.design, "The delta index is how far the outcome's distribution moves when the lever is known "
                          "(0: not at all).")
        sections.append(Section("sensitivity", "Sensitivity", "Sorted from the lever that matters most; whiskers "
                                f"are 90% bootstrap intervals. {reading}", [("sensitivity", bars)],
                                sensitivity_warning(indices, main_index(sweep))))
    sections.append(Section("parallel", "All runs", "Drag along an axis to select runs.",
                            [("parallel", parallel_coordinates(sweep, runs))]))
    return Report(f"retailsim sweep: {sweep.name}", html.escape(sweep.description.strip()), sections)
