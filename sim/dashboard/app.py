"""The classroom dashboard: Mesa's SolaraViz with retailsim's levers, monitors and live charts.

Started by ``retailsim dashboard`` (which sets the scenario through ``RETAILSIM_DASHBOARD_SCENARIO``);
also ``solara run sim.dashboard.app``.
"""

from __future__ import annotations

import os
from pathlib import Path

import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from . import panels
from .levers import sliders
from .model import DEFAULT_SHOPPERS, START, DashboardMarket, preset, presets

SCENARIO = START
SHOPPERS = int(os.environ.get("RETAILSIM_DASHBOARD_SHOPPERS", DEFAULT_SHOPPERS))
PRESETS = presets()


@solara.component
def Monitors(model):
    update_counter.get()
    with solara.Card("Monitors"), solara.Column(gap="2px"):
        for name, value in panels.monitors(model).items():
            solara.Text(f"{name}: {value}", classes=["retailsim-monitor"])


@solara.component
def Lesson(model):
    update_counter.get()
    with solara.Card(f"Lesson: {model.scenario.name}"):
        solara.Text(model.scenario.description or "(no description)")  # Markdown would need KaTeX from a CDN


def live_chart(build):
    """A component redrawing one of ``panels``' figures whenever the model steps."""

    @solara.component
    def Chart(model):
        update_counter.get()
        solara.FigurePlotly(build(model))

    Chart.__name__ = Chart.__qualname__ = build.__name__
    return Chart


CHARTS = [live_chart(build) for build in (panels.spend_chart, panels.membership_chart, panels.delivery_chart,
                                          panels.state_map)]


def model_params() -> dict:
    """Preset, seed and the levers: every range and default comes from the scenario schema."""
    names = list(PRESETS)
    return {
        "scenario": {"type": "Select", "value": names[0], "values": names, "label": "Lesson preset"},
        "seed": {"type": "InputText", "value": str(preset(SCENARIO).seed), "label": "Seed (Reset reruns with it)"},
        "shoppers": SHOPPERS,
        **sliders(preset(SCENARIO)),
    }


page = SolaraViz(
    DashboardMarket(scenario=SCENARIO, shoppers=SHOPPERS),
    components=[(Monitors, 0), (Lesson, 0), *((chart, 0) for chart in CHARTS)],
    model_params=model_params(),
    name=f"retailsim classroom: {Path(SCENARIO).stem}",
    play_interval=50,  # SolaraViz sleeps this long between steps
    render_interval=3,  # redraw the charts every third week: rendering, not the model, is the bottleneck
)
