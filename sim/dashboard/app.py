"""The classroom dashboard: Mesa's SolaraViz with retailsim's levers, monitors and live charts.

Served by ``retailsim dashboard`` (``sim/dashboard/serve.py``); also ``solara run sim.dashboard.app``
(then the scenario comes from ``RETAILSIM_DASHBOARD_SCENARIO``). Importing this module opens no
file and builds no model: each browser session builds its own model when its page first renders.
"""

from __future__ import annotations

import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from . import model as market
from . import panels
from .levers import sliders
from .model import DashboardMarket, preset, presets


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
COMPONENTS = [(Monitors, 0), (Lesson, 0), *((chart, 0) for chart in CHARTS)]


def model_params() -> dict:
    """Preset (by name only), seed and the levers: every range and default comes from the schema."""
    names = list(presets())
    start = preset(market.START)
    return {
        "scenario": {"type": "Select", "value": names[0], "values": names, "label": "Lesson preset"},
        "seed": {"type": "InputText", "value": str(start.seed), "label": "Seed (Reset reruns with it)"},
        "shoppers": market.SHOPPERS,
        **sliders(start),
    }


@solara.component
def Page():
    """One browser session's dashboard: its own model, made when the session's page first renders
    (Reset replaces it with a new one of the same session)."""
    params = solara.use_memo(model_params, dependencies=[])
    model = solara.use_memo(lambda: DashboardMarket(shoppers=market.SHOPPERS), dependencies=[])
    SolaraViz(
        model,
        components=COMPONENTS,
        model_params=params,
        name=f"retailsim classroom: {market.start_name()}",
        play_interval=50,  # SolaraViz sleeps this long between steps
        render_interval=3,  # redraw the charts every third week: rendering, not the model, is the bottleneck
    )
