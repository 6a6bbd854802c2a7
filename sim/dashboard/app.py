"""The classroom dashboard: one Solara page with retailsim's levers, monitors and live charts.

Served by ``retailsim dashboard`` (``sim/dashboard/serve.py``); also ``solara run sim.dashboard.app``
(then the scenario comes from ``RETAILSIM_DASHBOARD_SCENARIO``). Importing this module opens no
file and builds no model: each browser session builds its own model when its page first renders.

Why a page of our own and not Mesa's SolaraViz: SolaraViz (Mesa 3.3.1) always draws its "Controls"
card with the Play Interval and Render Interval sliders and the Use Threads box, puts the
components in draggable grid cells under a "Page 0" tab, and its Step button advances
``render_interval`` steps; none of that has an option to turn it off, and its sliders show their
values only while dragged. Hiding all that with CSS would leave a Step that does what the CSS hides.
The controls it gives us are about forty lines here (Reset, play/pause, Step; the preset, the seed
and the sliders), with the same model class (:class:`~sim.dashboard.model.DashboardMarket`), so
this page is the simpler honest route. Every week is one Step; Play runs one week at a time,
redraws after each, and steps the next only once the browser has painted the last (``Browser``).
"""

from __future__ import annotations

import threading
import time

import ipyvuetify
import solara
import traitlets

from ..errors import UserError
from . import model as market
from . import panels
from .levers import shown, sliders
from .model import DashboardMarket, preset, presets
from .widget import figure_class, locked

PLAY_PAUSE_SECONDS = 0.02  # between weeks while playing, once the browser has painted the last one
PAINT_TIMEOUT_SECONDS = 3.0  # a browser that does not answer does not stop Play
SIDEBAR_PX = 300

CSS = f"""
.retailsim-page {{ display: flex; gap: 12px; width: 100%; box-sizing: border-box; padding: 4px 8px; }}
.retailsim-side {{ flex: 0 0 {SIDEBAR_PX}px; width: {SIDEBAR_PX}px; min-width: 0; }}
.retailsim-main {{ flex: 1 1 0; min-width: 0; }}
.retailsim-charts {{ display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 8px; }}
.retailsim-chart {{ min-width: 0; overflow: hidden; border: 1px solid #e0e0e0; border-radius: 4px; }}
.retailsim-monitors {{ columns: 4 200px; column-gap: 14px; font-size: 13px; line-height: 1.4; }}
.retailsim-monitor {{ display: block; break-inside: avoid; }}
.retailsim-lesson {{ font-size: 13px; line-height: 1.35; margin: 4px 0 6px 0; color: #333;
                     max-height: 4.1em; overflow-y: auto; }}
.retailsim-side .v-input {{ margin-top: 0 !important; padding-top: 0 !important; }}
.retailsim-side .v-input__slot {{ margin-bottom: 0 !important; }}
.retailsim-side .v-messages {{ display: none; }}
.retailsim-side .v-label {{ font-size: 13px !important; }}
.retailsim-title {{ font-size: 16px; font-weight: 600; margin: 2px 0 6px 0; }}
.retailsim-note {{ font-size: 12px; color: #555; margin-bottom: 12px; }}
"""


@solara.component
def Layout(children=[]):  # noqa: B006 - Solara's signature
    """The whole window is the page: no app bar, no navigation, no framework chrome."""
    return solara.Column(children=children, style={"padding": "0", "width": "100%"})


class Browser(ipyvuetify.VuetifyTemplate):
    """What the page learns from the browser: the width of each chart's cell (``widths``, pixels)
    and the last redraw it has painted (``drawn``, echoing ``tick``).

    Plotly's widget draws its first frame before it is in the page, at Plotly's default 700 px,
    and never refits to its container by itself; so the page measures the cells (now, and whenever
    they change: a resized window, a projector) and the charts are drawn at exactly that width.
    ``drawn`` paces Play: the next week is stepped only once the browser has painted the last one,
    so a slow browser never falls weeks behind the model (and Pause stops what is on the screen)."""

    widths = traitlets.List(traitlets.Int()).tag(sync=True)
    tick = traitlets.Int(0).tag(sync=True)
    drawn = traitlets.Int(0).tag(sync=True)
    template = traitlets.Unicode("""
<template><span style="display: none"></span></template>
<script>
module.exports = {
  watch: {
    tick(value) { requestAnimationFrame(() => requestAnimationFrame(() => { this.drawn = value; })); },
  },
  mounted() {
    this.timer = setInterval(() => {
      const widths = [...document.querySelectorAll(".retailsim-chart")].map(cell => cell.clientWidth);
      if (widths.length && widths.join(",") !== (this.widths || []).join(",")) { this.widths = widths; }
    }, 250);
  },
  destroyed() { clearInterval(this.timer); },
};
</script>""").tag(sync=True)


@solara.component
def Monitors(model, tick: int):
    with solara.Div(classes=["retailsim-monitors"]):
        for name, value in panels.monitors(model).items():
            solara.Text(f"{name}: {value}", classes=["retailsim-monitor"])


@solara.component
def LiveFigure(chart: dict, version: tuple, width: int | None):
    """A Plotly widget made once per session; each redraw sends only the traces' data (x, y, z,
    text) when the traces are the same, not a whole new figure. ``version`` names the model and
    week the chart shows (comparing it is cheaper than comparing charts)."""
    element = figure_class().element()

    def update():
        widget = solara.get_widget(element)
        with locked(widget):
            panels.update_widget(widget, chart, width)

    solara.use_effect(update, [version, width])
    return element


@solara.component
def Charts(model, tick: int, widths: list[int]):
    charts = [build(model) for build in panels.CHARTS]
    with solara.Div(classes=["retailsim-charts"]):
        for index, chart in enumerate(charts):
            with solara.Div(classes=["retailsim-chart"]):
                LiveFigure(chart, (id(model), tick), widths[index] if index < len(widths) else None)


@solara.component
def Lever(spec: dict, value, on_value):
    label = f"{spec['label']}: {shown(spec['path'], value)}"  # the value always in sight, with its unit
    if spec["type"] == "Checkbox":
        solara.Checkbox(label=label, value=value, on_value=on_value)
    elif spec["type"] == "SliderInt":
        solara.SliderInt(label, value=int(value), min=spec["min"], max=spec["max"], step=spec["step"],
                         on_value=on_value, thumb_label=False)
    else:
        solara.SliderFloat(label, value=float(value), min=spec["min"], max=spec["max"], step=spec["step"],
                           on_value=on_value, thumb_label=False)


@solara.component
def Setup(names: list[str], chosen, seed, moved):
    """The lesson preset, the seed and the levers (reactive values of the page; used at Reset)."""
    def levers() -> tuple[dict, str | None]:  # a lesson file edited while the server runs may no longer load
        try:
            return sliders(preset(market.presets()[chosen.value])), None
        except (UserError, KeyError) as problem:
            return {}, str(problem).strip("'")

    specs, problem = solara.use_memo(levers, dependencies=[chosen.value])

    def choose(name: str) -> None:
        chosen.value = name
        moved.value = {}  # the sliders start from the new preset's own values

    solara.Select("Lesson preset", value=chosen.value, values=names, on_value=choose)
    solara.InputText("Seed (Reset reruns with it)", value=seed.value, on_value=seed.set)
    if problem:
        solara.Error(f"This lesson cannot be loaded: {problem}")
    for key, spec in specs.items():
        Lever(spec, moved.value.get(key, spec["value"]), lambda value, key=key: moved.set({**moved.value, key: value}))


@solara.component
def Buttons(running: bool, playing, on_reset, on_step):
    with solara.Row(justify="space-between"):
        solara.Button("Reset", color="primary", on_click=on_reset)
        solara.Button("❚❚ Pause" if playing.value else "▶ Play", color="primary",
                      on_click=lambda: playing.set(not playing.value), disabled=not running)
        solara.Button("Step", color="primary", on_click=on_step, disabled=playing.value or not running)
    solara.Div(children=["Step: one week. Preset, seed and sliders apply at Reset."], classes=["retailsim-note"])


@solara.component
def Board(model, tick: int, widths, on_drawn):
    """The monitors, the lesson and the charts."""
    Monitors(model, tick)
    solara.Div(children=[f"Lesson: {model.scenario.name}. {model.scenario.description or ''}"],
               classes=["retailsim-lesson"])
    Charts(model, tick, widths.value)
    Browser.element(widths=widths.value, on_widths=widths.set, tick=tick, on_drawn=on_drawn)


def wait_for_paint(drawn: dict, asked: int, playing) -> None:
    """Until the browser has painted redraw ``asked``, Pause is pressed, or it stays silent for
    ``PAINT_TIMEOUT_SECONDS``."""
    while drawn["tick"] < asked and playing.value:
        drawn["event"].clear()
        if not drawn["event"].wait(PAINT_TIMEOUT_SECONDS):
            return


@solara.component
def Page():
    """One browser session's dashboard: its own model, made when the session's page first renders
    (Reset replaces it with a new one of the same session)."""
    names = solara.use_memo(lambda: list(presets()), dependencies=[])
    first = solara.use_memo(lambda: DashboardMarket(shoppers=market.SHOPPERS), dependencies=[])
    model = solara.use_reactive(first)
    tick = solara.use_reactive(0)  # redraws asked for in this session: every change redraws
    drawn = solara.use_memo(lambda: {"tick": 0, "event": threading.Event()}, dependencies=[])
    playing = solara.use_reactive(False)
    chosen = solara.use_reactive(names[0])
    seed = solara.use_reactive(str(first.seed))
    moved = solara.use_reactive({})  # lever keyword -> value, only the levers moved on this preset
    error = solara.use_reactive(None)
    lock = solara.use_memo(threading.Lock, dependencies=[])
    widths = solara.use_reactive([])  # of the chart cells, measured in the browser

    def step_once() -> None:
        with lock:
            if model.value.running:
                model.value.step()  # exactly one week
        tick.value += 1

    def painted(value: int) -> None:  # the browser has painted redraw ``value``
        drawn["tick"] = value
        drawn["event"].set()

    def play() -> None:
        try:
            while playing.value and model.value.running:
                step_once()
                wait_for_paint(drawn, tick.value, playing)
                time.sleep(PLAY_PAUSE_SECONDS)
        except Exception as problem:  # noqa: BLE001 - shown in the page, not lost in a thread
            error.value = f"error while playing: {problem}"
        playing.value = False

    solara.lab.use_task(play, dependencies=[playing.value], prefer_threaded=True)

    def reset() -> None:
        playing.value = False
        try:
            with lock:
                model.value = DashboardMarket(scenario=chosen.value, seed=seed.value, shoppers=market.SHOPPERS,
                                              **moved.value)
            error.value = None
        except Exception as problem:  # noqa: BLE001 - a bad seed is one line in the page
            error.value = str(problem)
        tick.value += 1

    solara.Style(CSS)
    solara.Title("retailsim dashboard")
    with solara.Div(classes=["retailsim-page"]):
        with solara.Div(classes=["retailsim-side"]):
            solara.Div(children=[f"retailsim: {market.start_name()}"], classes=["retailsim-title"])
            Buttons(model.value.running, playing, reset, step_once)
            if error.value:
                solara.Error(error.value)
            Setup(names, chosen, seed, moved)
        with solara.Div(classes=["retailsim-main"]):
            Board(model.value, tick.value, widths, painted)
