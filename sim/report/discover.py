"""The scenario discovery report: the peeling trajectory and the chosen box against the design's span."""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go

from .page import Report, Section
from .style import FONT, TEMPLATE

TRAJECTORY_COLOUR, CHOSEN_COLOUR, SPAN_COLOUR, BOX_COLOUR = "#0072B2", "#D55E00", "#DDDDDD", "#E69F00"


def trajectory_figure(trajectory: pd.DataFrame, by: str) -> go.Figure:
    """Coverage against density for every box of the trajectory (colour: restricted parameters);
    the chosen box circled."""
    hover = (f"step %{{customdata[0]}}: %{{customdata[1]}} {by}s, %{{customdata[2]}} meet it<br>"
             "coverage %{x:.2f}, density %{y:.2f}<br>restricted: %{customdata[3]}<extra></extra>")
    data = trajectory[["step", "cases", "hits", "restricted"]].fillna("").to_numpy().tolist()
    fig = go.Figure(go.Scatter(
        x=trajectory["coverage"], y=trajectory["density"], mode="lines+markers", customdata=data, name="boxes",
        line={"color": TRAJECTORY_COLOUR, "width": 1},
        marker={"size": 8, "color": trajectory["restricted_count"], "colorscale": "Cividis", "showscale": True,
                "colorbar": {"title": {"text": "restricted<br>parameters"}}}, hovertemplate=hover))
    chosen = trajectory[trajectory["chosen"]]
    fig.add_trace(go.Scatter(x=chosen["coverage"], y=chosen["density"], mode="markers", name="chosen box",
                             marker={"size": 18, "color": "rgba(0,0,0,0)", "line": {"color": CHOSEN_COLOUR, "width": 3}},
                             hoverinfo="skip"))
    fig.update_xaxes(title_text=f"coverage (share of the {by}s meeting the condition that are in the box)",
                     range=[0, 1.02])
    fig.update_yaxes(title_text="density (share of the box meeting the condition)", range=[0, 1.02])
    fig.update_layout(title={"text": "Peeling trajectory: each peel trades coverage for density"}, template=TEMPLATE,
                      font={"family": FONT}, height=460, legend={"orientation": "h", "y": -0.2})
    return fig


def _quasi_p(low: float, high: float) -> str:
    """A restricted parameter's quasi-p-values as words (a side at the span has none)."""
    sides = [f"{side} limit {value:.2g}" for side, value in (("lower", low), ("upper", high)) if value == value]
    return f"; quasi-p: {', '.join(sides)}" if sides else ""


def limits_figure(box: pd.DataFrame) -> go.Figure:
    """Each parameter's box limits (coloured) on its span over the design (grey), scaled to 0-1."""
    span = (box["span_high"] - box["span_low"]).where(lambda s: s > 0, 1.0)
    low, high = (box["low"] - box["span_low"]) / span, (box["high"] - box["span_low"]) / span
    names = [f"<b>{p}</b>" if r else p for p, r in zip(box["parameter"], box["restricted"])]
    none = pd.Series(float("nan"), index=box.index)  # a box.csv written before quasi-p-values has none
    text = [f"{lo:.4g} to {hi:.4g} (span {s_lo:.4g} to {s_hi:.4g})" + _quasi_p(q_lo, q_hi)
            for lo, hi, s_lo, s_hi, q_lo, q_hi in zip(box["low"], box["high"], box["span_low"], box["span_high"],
                                                      box.get("quasi_p_low", none), box.get("quasi_p_high", none))]
    fig = go.Figure([
        go.Bar(y=names, x=[1.0] * len(box), base=[0.0] * len(box), orientation="h", name="span of the design",
               marker={"color": SPAN_COLOUR}, hoverinfo="skip"),
        go.Bar(y=names, x=high - low, base=low, orientation="h", name="box", marker={"color": BOX_COLOUR},
               text=text, textposition="inside", insidetextanchor="middle", customdata=text,
               hovertemplate="%{y}: %{customdata}<extra></extra>"),
    ])
    fig.update_layout(barmode="overlay", title={"text": "The box's limits against each parameter's span "
                                                        "(restricted parameters in bold)"},
                      template=TEMPLATE, font={"family": FONT}, height=140 + 50 * len(box),
                      xaxis={"title": {"text": "position within the span (0 = lowest swept value, 1 = highest)"},
                             "range": [0, 1]}, yaxis={"automargin": True, "autorange": "reversed"},
                      legend={"orientation": "h", "y": -0.3})
    return fig


def build_discover_report(condition: str, lines: list[str], trajectory: pd.DataFrame, box: pd.DataFrame,
                          by: str) -> Report:
    """The page: the answer in words, the trajectory, the box, and the two tables."""
    answer = "".join(f"<strong>{html.escape(line)}</strong><br>" for line in lines)
    words = ("Coverage is the share of the cases meeting the condition that fall inside the box; density is the "
             "share of the cases inside the box that meet it; mass is the share of all cases inside it. The "
             "chosen box is the densest with at least the minimum coverage.")
    table = trajectory.drop(columns=["pasted"]).to_html(index=False, float_format=lambda v: f"{v:.3f}",
                                                        classes="figures", border=0)
    sections = [
        Section("trajectory", "Peeling trajectory", html.escape(words), [("trajectory", trajectory_figure(trajectory, by))],
                f"<details><summary>Every box of the trajectory</summary>{table}</details>"),
        Section("box", "The chosen box", "Bars show where the box lies within the values the sweep tried; a full "
                "grey-and-orange bar is a parameter the box does not restrict.", [("limits", limits_figure(box))],
                box.to_html(index=False, float_format=lambda v: f"{v:.6g}", classes="figures", border=0, na_rep="")),
    ]
    return Report(f"retailsim discover: {condition}", answer, sections)
