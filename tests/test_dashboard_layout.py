"""The dashboard on a projector's screen, in a real browser: at 1366x768 and 1280x800 every chart
is whole inside its card and the window, every lever shows its value with its unit, no framework
control is left over, and Step is one week."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from sim.dashboard.levers import LEVERS

from .browser import ARTIFACTS, offline_browser
from .test_dashboard import monitors, served_dashboard, wait_until

SCREENS = [(1366, 768), (1280, 800)]
# What each lever shows, untouched, on the baseline (written out: the test does not reuse the
# dashboard's own formatting). The express radius is a calibrated value, read from the fit.
FITTED = yaml.safe_load((Path(__file__).parents[1] / "calibration" / "calibrated.yaml").read_text())["parameters"]
SHOWN = {"Walmart+ fee": "$98/yr", "Prime fee": "$119/yr",
         "Walmart express radius": f"{FITTED['walmart.express.radius_miles']:.1f} miles",
         "Walmart dark stores": "0 stores", "Amazon rural investment": "$1.6bn/yr",
         "Amazon AI automation": "100% of plan", "Walmart AI for associates": "100% of plan",
         "Return fraud": "10% of returns", "AI shopping agents": "10% of households",
         "Satellite broadband": "50% reached"}
STRAY = ("Page 0", "Use Threads", "Play Interval", "Render Interval", "runs on Solara")

# Each plot's drawing (Plotly's outer SVG), its legend and its card (the cell it is drawn in).
BOXES = """() => [...document.querySelectorAll('.js-plotly-plot')].map(plot => {
    const box = e => { const r = e.getBoundingClientRect();
                       return {left: r.left, right: r.right, width: r.width, top: r.top, bottom: r.bottom}; };
    const card = plot.closest('.retailsim-chart, .vue-grid-item, .v-card') || plot.parentElement;
    const legend = plot.querySelector('g.legend');
    const tiles = [...plot.querySelectorAll('text')]
        .filter(t => ['ME', 'FL', 'MA'].includes(t.textContent.slice(0, 2)));
    return {svg: box(plot.querySelector('svg.main-svg')), card: box(card), legend: legend ? box(legend) : null,
            east: tiles.map(box)};
})"""


@pytest.fixture(scope="module")
def dashboard():
    """``retailsim dashboard`` on a loopback port for this module's browsers, stopped with Ctrl-C."""
    with served_dashboard() as url:
        yield url


def open_at(new_page, url: str, width: int, height: int):
    page = new_page()
    page.set_viewport_size({"width": width, "height": height})
    page.goto(url)
    page.wait_for_selector(".retailsim-monitor", timeout=60_000)
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 4", timeout=60_000)
    return page


def press_step(page) -> tuple[str, str]:
    """Press Step once; the week shown before and after."""
    before = monitors(page)["Week"]
    page.get_by_role("button", name="Step", exact=True).click()
    page.wait_for_function("w => [...document.querySelectorAll('.retailsim-monitor')]"
                           ".some(m => m.innerText.startsWith('Week: ') && m.innerText !== 'Week: ' + w)",
                           arg=before, timeout=30_000)
    return before, monitors(page)["Week"]


def misfit(boxes: list[dict], width: int, height: int) -> str | None:
    """What is not whole, or None: every plot inside its card, every card and legend and the map's
    eastern tiles on the screen (the cards' bottoms too: no scrolling to see a chart)."""
    for number, plot in enumerate(boxes, 1):
        svg, card, legend = plot["svg"], plot["card"], plot["legend"]
        parts = {"drawing": svg, "card": card, **({"legend": legend} if legend else {}),
                 **{f"East Coast tile {i}": tile for i, tile in enumerate(plot["east"], 1)}}
        wrong = [f"the card's bottom at {card['bottom']:.0f} px"] if card["bottom"] > height + 0.5 else []
        if not (card["left"] - 0.5 <= svg["left"] and svg["right"] <= card["right"] + 0.5) \
                or svg["width"] > card["width"] + 0.5:
            wrong.append(f"the drawing ({svg['left']:.0f}-{svg['right']:.0f} px) outside its card "
                         f"({card['left']:.0f}-{card['right']:.0f} px)")
        wrong += [f"the {name}'s right edge at {part['right']:.0f} px" for name, part in parts.items()
                  if part["right"] > width + 0.5]
        if legend and (legend["right"] > card["right"] + 0.5 or legend["bottom"] > svg["bottom"] + 0.5):
            wrong.append("the legend beyond its card or drawing")
        wrong += [f"East Coast tile {i} beyond its card" for i, tile in enumerate(plot["east"], 1)
                  if tile["right"] > card["right"] + 0.5]
        if wrong:
            return f"chart {number} of {len(boxes)} on a {width}x{height} window: " + "; ".join(wrong)
    return None


def wait_whole(page, width: int, height: int, seconds: float) -> None:
    """Wait until every chart on ``page`` is whole (charts redraw as data arrive); on time-out the
    failure says which chart and which part is not."""
    last: list[str | None] = [None]

    def whole() -> bool:
        last[0] = misfit(page.evaluate(BOXES), width, height)
        return last[0] is None

    try:
        wait_until(whole, seconds, "every chart whole")
    except pytest.fail.Exception:
        pytest.fail(f"every chart whole: not within {seconds} s; last seen: {last[0]}")


def test_the_fit_check_names_what_sticks_out() -> None:
    """The check the browser tests wait on, on boxes written out: whole, then a legend past the
    window's edge, then a card below the window's bottom."""
    box = lambda left, right, top=0, bottom=300: {"left": left, "right": right, "width": right - left,  # noqa: E731
                                                  "top": top, "bottom": bottom}
    whole = {"svg": box(10, 600), "card": box(5, 605), "legend": box(400, 590, 10, 60), "east": []}
    assert misfit([whole, whole], 1366, 768) is None
    wide = {**whole, "card": box(700, 1400), "svg": box(710, 1390), "legend": box(1300, 1380, 10, 60)}
    assert misfit([whole, wide], 1366, 768).startswith("chart 2 of 2 on a 1366x768 window: the drawing's right edge")
    assert "the legend's right edge at 1380 px" in misfit([whole, wide], 1366, 768)
    low = {**whole, "card": box(5, 605, 500, 800)}
    assert misfit([low], 1366, 768) == "chart 1 of 1 on a 1366x768 window: the card's bottom at 800 px"


@pytest.mark.parametrize("width, height", SCREENS)
def test_every_chart_is_whole_on_a_projector_screen(dashboard, width, height) -> None:
    with offline_browser(allow=dashboard) as new_page:
        page = open_at(new_page, dashboard, width, height)
        for _ in range(3):  # lines need points, and the legends their entries
            press_step(page)
        try:
            wait_whole(page, width, height, 15)
        finally:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"dashboard_{width}x{height}.png"))
        boxes = page.evaluate(BOXES)
        assert len(boxes) == 4 and sum(1 for plot in boxes if plot["east"]) == 1, "the state map shows its East Coast"
        assert all(plot["legend"] for plot in boxes[:3]), "the line charts show their legends"
        assert page.evaluate("document.documentElement.scrollWidth") <= width, "nothing beyond the window's width"
        assert page.errors == []


def test_no_framework_controls_are_left(dashboard) -> None:
    with offline_browser(allow=dashboard) as new_page:
        page = open_at(new_page, dashboard, 1366, 768)
        body = page.inner_text("body").lower()  # as shown: "PAGE 0" is "Page 0" in capitals
        assert [stray for stray in STRAY if stray.lower() in body] == []
        assert page.errors == []


def test_levers_show_their_values_with_units_without_being_touched(dashboard) -> None:
    assert len(SHOWN) == len(LEVERS)
    with offline_browser(allow=dashboard) as new_page:
        page = open_at(new_page, dashboard, 1366, 768)
        for label, value in SHOWN.items():  # without touching any slider
            lever = page.locator(".v-input").filter(has_text=label)
            assert lever.count() == 1, label
            assert f"{label}: {value}" in lever.inner_text(), lever.inner_text()
            assert lever.locator("[role=slider]").count() == 1
        assert page.errors == []


def test_step_is_one_week_and_play_runs_week_by_week(dashboard) -> None:
    with offline_browser(allow=dashboard) as new_page:
        page = open_at(new_page, dashboard, 1280, 800)
        for _ in range(2):
            before, after = press_step(page)
            assert dt.date.fromisoformat(after) - dt.date.fromisoformat(before) == dt.timedelta(days=7)
        # Play: record every week the page shows, then pause.
        page.evaluate("""() => { window.weeks = [];
            const seen = () => { const m = [...document.querySelectorAll('.retailsim-monitor')]
                .find(m => m.innerText.startsWith('Week: ')); if (m) window.weeks.push(m.innerText.slice(6)); };
            seen();
            new MutationObserver(seen).observe(document.body,
                                               {subtree: true, childList: true, characterData: true}); }""")
        page.get_by_role("button", name="▶ Play").click()
        page.wait_for_function("new Set(window.weeks).size >= 4", timeout=60_000)
        page.get_by_role("button", name="❚❚ Pause").click()
        page.get_by_role("button", name="Step", exact=True).wait_for(state="visible")
        wait_until(lambda: page.get_by_role("button", name="Step", exact=True).is_enabled(), 30, "Step enabled again")
        weeks = sorted({dt.date.fromisoformat(week) for week in page.evaluate("window.weeks")})
        gaps = {(later - earlier).days for earlier, later in zip(weeks, weeks[1:])}
        assert 7 in gaps and all(gap % 7 == 0 for gap in gaps), gaps
        paused = monitors(page)["Week"]
        page.wait_for_timeout(1000)
        assert monitors(page)["Week"] == paused, "Pause stops the weeks"
        assert page.errors == []


def test_a_chart_whose_front_end_loads_late_is_drawn_and_redrawn(dashboard) -> None:
    """Plotly's widget module held back 3 s, past the 2 s anywidget gives a widget to start: every
    chart is still drawn whole and follows Step (nothing sent meanwhile is lost), and the page
    fetches the 5 MB module once for its four charts, not once each."""
    import time

    from sim.dashboard.widget import ROUTE

    fetched = []

    def late(route):
        fetched.append(route.request.url)
        time.sleep(3)
        route.continue_()

    with offline_browser(allow=dashboard) as new_page:
        page = new_page()
        page.route(f"**{ROUTE}", late)
        page.set_viewport_size({"width": 1366, "height": 768})
        page.goto(dashboard)
        page.wait_for_selector(".retailsim-monitor", timeout=60_000)
        drawn = "[...document.querySelectorAll('.js-plotly-plot')]"
        page.wait_for_function(f"{drawn}.length >= 4 && {drawn}.every(plot => (plot.data || []).length > 0)",
                               timeout=60_000)
        points = page.evaluate(f"{drawn}[0].data[0].x.length")
        press_step(page)
        page.wait_for_function(f"{drawn}[0].data[0].x.length > {points}", timeout=30_000)
        assert len(fetched) == 1 and fetched[0].endswith(ROUTE)
        assert page.errors == []
