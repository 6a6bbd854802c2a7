"""A US map as a tile grid of states: self-contained, so it renders with no network at all.

(Plotly's geographic maps fetch their outlines from a content network when viewed, and render
blank offline.) A dropdown switches between measures and scenarios.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import plotly.graph_objects as go

from ..model.geography import load_states
from .ensemble import Ensemble
from .plain import Figure, blank, figure
from .style import FONT, PERCENT, TEMPLATE

# Measures a strategist asks about by state: (label, metric, dimensions).
MEASURES = [
    ("Walmart's share of grocery spend", "spend_share", {"firm": "walmart", "category": "grocery"}),
    ("Amazon's share of discretionary spend", "spend_share", {"firm": "amazon", "category": "discretionary"}),
    ("Households holding both memberships", "membership_share", {"segment": "both"}),
    ("Households with no membership", "membership_share", {"segment": "none"}),
]


def tile_grid(values: dict[str, float], signed: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """z and label grids (rows x cols of the tile map) for values keyed by USPS code (``signed``:
    differences in points, labelled with their sign and a decimal)."""
    states = load_states()
    rows, cols = states["tile_row"].max() + 1, states["tile_col"].max() + 1
    z = np.full((rows, cols), np.nan)
    text = np.full((rows, cols), "", dtype=object)
    for code, row, col in zip(states["code"], states["tile_row"], states["tile_col"]):
        value = values.get(code, np.nan)
        z[row, col] = value
        text[row, col] = code if np.isnan(value) else (f"{code}<br>{value:+.1f}" if signed else
                                                       f"{code}<br>{value:.0f}%")
    return z, text


@lru_cache(maxsize=None)
def _colourscale(name: str) -> list:
    """A named colour scale as the list of stops Plotly stores for it."""
    return go.Heatmap(colorscale=name).to_plotly_json()["colorscale"]


def smallest_state(ensemble: Ensemble) -> str:
    """How few simulated households the smallest state holds (households are placed in proportion to the
    states' 2020 populations), in words for the map's reading."""
    states = load_states()
    smallest = states.loc[states["population_2020"].idxmin()]
    shoppers = ensemble.scenarios[0].population.shoppers
    held = shoppers * smallest["population_2020"] / states["population_2020"].sum()
    many = "under one" if held < 1 else f"about {held:,.0f}"
    return (f"Households are placed by the states' populations, so the smallest hold few ({smallest['name']} {many} "
            f"of these runs' {shoppers:,}): a state's level or difference is noisier than the national "
            "figure, and a what-if's difference in a small state is mostly run noise unless the nation's moves too. ")


def state_map(ensemble: Ensemble) -> Figure:
    """Heat-coloured tiles of the last recorded month, one view per measure and scenario: the
    baseline's levels, and each what-if's difference from it in points (the levels of two
    scenarios a fraction of a point apart would look the same)."""
    fig = blank()
    traces, buttons = [], []
    views = [(label, metric, dims, name) for label, metric, dims in MEASURES for name in ensemble.names]
    tables = {label: ensemble.state_values(metric, **dims) for label, metric, dims in MEASURES}  # once a measure
    for index, (label, metric, dims, scenario) in enumerate(views):
        table = tables[label]
        difference = scenario != ensemble.baseline
        values = {} if table.empty else ((table[scenario] - table[ensemble.baseline]) * PERCENT if difference
                                         else table[scenario] * PERCENT).to_dict()
        z, text = tile_grid(values, signed=difference)
        colours = (_difference_colours(values) if difference
                   else {"colorscale": _colourscale("Cividis"), "colorbar": {"title": {"text": "%"}}})
        traces.append({
            "type": "heatmap", "z": np.round(z, 4).tolist(), "text": text.tolist(), "texttemplate": "%{text}",
            **colours, "xgap": 3, "ygap": 3,
            "visible": index == 0, "name": f"{label} · {scenario}", "hovertemplate": "%{text}<extra>" + label + "</extra>",
        })
        title = (label if len(ensemble.names) == 1 else
                 f"{label}: {scenario} − {ensemble.baseline}, pts" if difference else f"{label} ({scenario})")
        visible = [i == index for i in range(len(views))]
        buttons.append({"label": title, "method": "update",
                        "args": [{"visible": visible}, {"title.text": _title(title, ensemble)}]})
    fig.update_layout(
        title={"text": _title(buttons[0]["label"], ensemble)}, font={"family": FONT},
        height=520, margin={"t": 110, "l": 20, "r": 20, "b": 20},
        updatemenus=[{"buttons": buttons, "direction": "down", "x": 0, "xanchor": "left", "y": 1.12,
                      "yanchor": "top", "showactive": True}],
        xaxis={"visible": False, "scaleanchor": "y"}, yaxis={"visible": False, "autorange": "reversed"},
    )
    return figure(fig, TEMPLATE, traces)


def _difference_colours(values: dict) -> dict:
    """A diverging scale around 0. A state far beyond the rest (a small run's one household in DC moved
    it nine points) would wash every other state out: the colours are then capped at the 90th
    percentile of the states' sizes, the colour bar says so, and each tile still reads its own number."""
    sizes = np.abs([v for v in values.values() if np.isfinite(v)])
    colours = {"colorscale": _colourscale("RdBu"), "zmid": 0.0, "colorbar": {"title": {"text": "pts"}}}
    cap = float(np.quantile(sizes, 0.9)) if len(sizes) else 0.0
    if cap > 0 and sizes.max() > 1.5 * cap:
        colours.update(zmin=-cap, zmax=cap, colorbar={"title": {"text": f"pts (colours capped at ±{cap:.2g})"}})
    return colours


def _title(label: str, ensemble: Ensemble) -> str:
    month = ensemble.end_date.strftime("%B %Y")
    return f"By state, {month}: {label} (mean over {ensemble.replicates} replicate(s))"
