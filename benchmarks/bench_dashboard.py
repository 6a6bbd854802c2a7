"""How long a week takes in the classroom dashboard: the model's step and the chart redraw, apart.

For each household count (default 2,000, the dashboard's default, and 20,000) this builds the
dashboard's model, then for ``--weeks`` weeks times

- **step**: ``model.step()``, one week (the model's share of a Step);
- **figures**: the four charts and the monitors built from the recorder (``sim/dashboard/panels.py``);
- **update**: those figures put into Plotly widgets as the dashboard does it, sending only the
  traces' data (``panels.update_widget``);
- **before**: the same redraw as the dashboard did it before: a ``go.Figure`` per chart and
  Solara's ``FigurePlotly`` replacing every trace and the layout each time;
- **message**: the JSON the widgets would send the browser for one redraw, in kilobytes, both ways.

and prints medians (CPU and wall time; the machine may be shared). With ``--browser`` it also starts
``retailsim dashboard`` for each household count and times a Step in headless Chromium, from the
click to the new week on the screen (the whole round trip: step, redraw, websocket, Plotly), and the
time a page takes to open, from the address to all four charts drawn: one page alone (median of
``--opens``, each in a fresh browser context, as a new visitor) and four pages opened at once (a
teacher and three teams)::

    python benchmarks/bench_dashboard.py
    python benchmarks/bench_dashboard.py --shoppers 2000 20000 --weeks 52 --browser
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(call) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    value = call()
    return time.perf_counter() - wall, time.process_time() - cpu, value


SENT: dict[int, list[int]] = {}  # widget id -> bytes of each message it sent


def message_kb(widget) -> float:
    """Kilobytes of the widget's outgoing messages since the last call (as JSON text)."""
    sent = SENT.pop(id(widget), [])
    return sum(sent) / 1024


def recording_widget():
    """A Plotly FigureWidget that counts the bytes of the state changes it would send the browser."""
    from plotly.graph_objs import FigureWidget

    widget = FigureWidget()

    def size(change) -> None:
        if change["new"] is not None:
            text = json.dumps(change["new"], default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v))
            SENT.setdefault(id(widget), []).append(len(text))

    widget.observe(size, names=["_py2js_addTraces", "_py2js_deleteTraces", "_py2js_relayout", "_py2js_restyle",
                                "_py2js_update"])
    return widget


def replace_whole(widget, chart: dict) -> None:
    """The dashboard before: a ``go.Figure`` built (its template validated and copied), then, as
    Solara's FigurePlotly does, the layout set, every trace added and the old ones removed."""
    import plotly.graph_objects as go

    figure = go.Figure(chart)
    widget.layout = figure.layout
    length = len(widget.data)
    widget.add_traces(figure.data)
    widget.data = list(widget.data)[length:]


def bench_model(shoppers: int, weeks: int) -> dict[str, float]:
    from sim.dashboard import panels
    from sim.dashboard.model import DashboardMarket

    _, build_cpu, model = timed(lambda: DashboardMarket(shoppers=shoppers))
    ours = [recording_widget() for _ in panels.CHARTS]
    theirs = [recording_widget() for _ in panels.CHARTS]
    keys = ("step", "step_cpu", "figures", "update", "update_whole", "kb", "kb_whole")
    rows: dict[str, list[float]] = {key: [] for key in keys}
    for _ in range(weeks):
        wall, cpu, _ = timed(model.step)
        rows["step"].append(wall)
        rows["step_cpu"].append(cpu)
        wall, _, figures = timed(lambda: (panels.monitors(model), [build(model) for build in panels.CHARTS])[1])
        rows["figures"].append(wall)
        for widget in ours + theirs:
            message_kb(widget)
        wall, _, _ = timed(lambda: [panels.update_widget(w, f, 470) for w, f in zip(ours, figures)])
        rows["update"].append(wall)
        rows["kb"].append(sum(message_kb(w) for w in ours))
        wall, _, _ = timed(lambda: [replace_whole(w, f) for w, f in zip(theirs, figures)])
        rows["update_whole"].append(wall)
        rows["kb_whole"].append(sum(message_kb(w) for w in theirs))
    result = {key: statistics.median(values[1:]) for key, values in rows.items()}  # the first redraw is whole
    result["build_cpu"] = build_cpu
    result["last_date"] = str(model.date)
    return result


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


DRAWN = ("[...document.querySelectorAll('.js-plotly-plot')].length >= 4 && "
         "[...document.querySelectorAll('.js-plotly-plot')].every(plot => (plot.data || []).length > 0)")


def opening(browser, url: str, pages: int) -> float:
    """Seconds from opening ``pages`` pages at once (each in a fresh context) to every chart drawn on all."""
    started = time.perf_counter()
    opened = []
    for _ in range(pages):
        page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
        page.goto(url, wait_until="commit")
        opened.append(page)
    for page in opened:
        page.wait_for_function(DRAWN, timeout=300_000)
    seconds = time.perf_counter() - started
    for page in opened:
        page.context.close()
    return seconds


def bench_browser(shoppers: int, steps: int, opens: int) -> dict[str, float]:
    """Median seconds from a click on Step to the new week on the screen; seconds to open a page
    alone (median of ``opens``) and four at once."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "sim.cli", "dashboard", "--shoppers", str(shoppers),
                               "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              env={**os.environ})
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                 args=["--no-sandbox", "--disable-gpu"])
            alone = statistics.median(opening(browser, url, 1) for _ in range(opens))
            four = opening(browser, url, 4)
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.goto(url)
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 4", timeout=180_000)
            times = []
            for _ in range(steps):
                week = page.locator(".retailsim-monitor").first.inner_text()
                started = time.perf_counter()
                page.get_by_role("button", name="Step", exact=True).click()
                page.wait_for_function("w => document.querySelector('.retailsim-monitor').innerText !== w",
                                       arg=week, timeout=60_000)
                times.append(time.perf_counter() - started)
            browser.close()
        return {"step": statistics.median(times[1:]), "open": alone, "open4": four}
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoppers", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--weeks", type=int, default=52, help="weeks stepped and redrawn per size (default 52)")
    parser.add_argument("--browser", action="store_true", help="also time Step in headless Chromium")
    parser.add_argument("--browser-steps", type=int, default=12)
    parser.add_argument("--opens", type=int, default=3, help="pages opened alone, one after another (default 3)")
    args = parser.parse_args()
    print(f"medians over {args.weeks - 1} weeks from the horizon's start (ms; kB per redraw of the four charts)")
    print(f"{'households':>10} {'step':>7} {'step cpu':>8} {'figures':>8} {'update':>7} {'before':>7} "
          f"{'kB':>6} {'kB before':>9}" + ("  browser Step  open 1 page  open 4 pages" if args.browser else ""))
    for shoppers in args.shoppers:
        r = bench_model(shoppers, args.weeks)
        line = (f"{shoppers:>10,} {r['step'] * 1e3:>7.1f} {r['step_cpu'] * 1e3:>8.1f} {r['figures'] * 1e3:>8.1f} "
                f"{r['update'] * 1e3:>7.1f} {r['update_whole'] * 1e3:>7.1f} {r['kb']:>6.1f} {r['kb_whole']:>9.1f}")
        if args.browser:
            b = bench_browser(shoppers, args.browser_steps, args.opens)
            line += f"  {b['step'] * 1e3:>9.0f} ms  {b['open']:>9.1f} s  {b['open4']:>10.1f} s"
        print(line, flush=True)


if __name__ == "__main__":
    main()
