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


@solara.component
def SpendChart(model):
    update_counter.get()
    solara.FigurePlotly(panels.spend_chart(model))


@solara.component
def MembershipChart(model):
    update_counter.get()
    solara.FigurePlotly(panels.membership_chart(model))


@solara.component
def DeliveryChart(model):
    update_counter.get()
    solara.FigurePlotly(panels.delivery_chart(model))


@solara.component
def StateMap(model):
    update_counter.get()
    solara.FigurePlotly(panels.state_map(model))


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
    components=[(Monitors, 0), (Lesson, 0), (SpendChart, 0), (MembershipChart, 0), (DeliveryChart, 0), (StateMap, 0)],
    model_params=model_params(),
    name=f"retailsim classroom: {Path(SCENARIO).stem}",
    play_interval=50,  # SolaraViz sleeps this long between steps
    render_interval=3,  # redraw the charts every third week: rendering, not the model, is the bottleneck
)
