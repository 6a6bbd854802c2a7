"""A comparison of three what-ifs reads cleanly in a real browser (issue 17): every chart panel has a
legend that covers its lines, no two text labels overlap, and nothing runs past a figure's width.

The checks use the bounding boxes Chromium gives Plotly's SVG at a 1366x768 window:

- **Legends.** A panel counts as legended when every series drawn in it (each visible trace) has an
  entry, in one of its figure's legends, of the same legend group: panels that show the same series
  (the firms in each category) share one legend, and a panel with other series (the memberships
  beside the firms) needs its own. A what-if's line is the same series as the baseline's (one
  entry toggles both; a line-style key says which scenario is which). Heatmaps read through their
  colour bar and waterfalls through their category axis, so they need no legend entry.
- **Labels.** Annotations (event numbers, subplot titles), axis titles, the figure title, legend
  entries and menus must not overlap one another or any tick label (by more than 2 pixels both
  ways); tick labels of different axes must not overlap either.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import sim
from sim.experiments import replicate_seeds, run_replicates
from sim.report import build_report

from .browser import ARTIFACTS, offline_page
from .conftest import small

WINDOW = {"width": 1366, "height": 768}
SLACK = 2  # pixels two boxes may share (anti-aliasing, rounding)
HORIZON = {"population__shoppers": 400, "horizon__end": "2022-03-28"}


def event(date: str, label: str, **settings) -> dict:
    return {"date": date, "label": label, "set": {key.replace("__", "."): value for key, value in settings.items()}}


@pytest.fixture(scope="module")
def comparison() -> list[sim.Result]:
    """A baseline with an event of its own and three what-ifs whose events crowd one autumn (two on one day)."""
    base = small(name="baseline", events=[event("2021-06-07", "Prime fee rises to $139", amazon__prime__fee_annual=139)],
                 **HORIZON)
    what_ifs = [
        small(name="lever_prime_fee_up", events=[event("2021-09-06", "Prime fee rises to $159",
                                                       amazon__prime__fee_annual=159)], **HORIZON),
        small(name="lever_walmart_plus_fee_cut", events=[event("2021-09-06", "Walmart+ fee cut to $49",
                                                               walmart__walmart_plus__fee_annual=49)], **HORIZON),
        small(name="lever_dark_stores_scale_up", events=[
            event("2021-10-04", "Walmart runs 100 dark stores", walmart__dark_stores__count=100),
            event("2021-11-01", "Dark stores reach 200", walmart__dark_stores__count=200)], **HORIZON),
    ]
    return run_replicates([base, *what_ifs], replicate_seeds(7, 2))


# Every figure's boxes: labels (kind, text, edges), its legends' entries (legend group), and per
# panel (x and y axis) the legend group of each drawn trace. Plotly binds each legend entry's trace
# to its element (``__data__``) and keeps the traces it drew in ``_fullData``.
GEOMETRY = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(gd => {
  const box = (el, kind, axis) => { const r = el.getBoundingClientRect();
    return {kind, axis: axis || '', text: el.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
  const labels = [];
  gd.querySelectorAll('g.annotation text.annotation-text').forEach(t => t.textContent && labels.push(box(t, 'annotation')));
  gd.querySelectorAll('g.infolayer g[class^="g-"][class$="title"] text').forEach(t =>
    t.textContent && labels.push(box(t, t.classList.contains('gtitle') ? 'title' : 'axis title')));
  gd.querySelectorAll('g.infolayer g[class^="legend"] g.traces').forEach(t => labels.push(box(t, 'legend entry')));
  gd.querySelectorAll('g.updatemenu-header-group').forEach(t => labels.push(box(t, 'menu')));
  gd.querySelectorAll('g[class$="tick"] text').forEach(t =>
    t.textContent && labels.push(box(t, 'tick', t.parentNode.getAttribute('class'))));
  const shown = new Set();
  gd.querySelectorAll('g.infolayer g[class^="legend"] g.traces').forEach(t => {
    const trace = t.__data__ && t.__data__[0] && t.__data__[0].trace;
    if (trace) shown.add(trace.legendgroup || trace.uid);
  });
  const panels = {};
  gd._fullData.forEach(trace => {
    if (trace.visible !== true || trace.type === 'heatmap' || trace.type === 'waterfall') return;
    if (trace.type === 'scatter' && !(trace.mode.includes('markers') || (trace.mode.includes('lines') && trace.line.width > 0))) return;
    const panel = (trace.xaxis || 'x') + (trace.yaxis || 'y');
    (panels[panel] = panels[panel] || []).push({name: trace.name, legended: shown.has(trace.legendgroup || trace.uid)});
  });
  const r = gd.getBoundingClientRect();
  return {id: gd.id, left: r.left, right: r.right, labels, panels, legends: shown.size};
})"""


def overlap(a: dict, b: dict) -> bool:
    return (min(a["right"], b["right"]) - max(a["left"], b["left"]) > SLACK
            and min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > SLACK)


def collisions(labels: list[dict]) -> list[str]:
    """Pairs of labels that overlap; tick labels of one axis are Plotly's to space, so they are not pairs."""
    found = []
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            if a["kind"] == b["kind"] == "tick" and a["axis"] == b["axis"]:
                continue
            if overlap(a, b):
                found.append(f"{a['kind']} {a['text'][:40]!r} overlaps {b['kind']} {b['text'][:40]!r}")
    return found


def unlegended(figure: dict) -> list[str]:
    return [f"panel {panel}: {sum(not t['legended'] for t in traces)} of {len(traces)} series without a legend entry "
            f"(e.g. {next(t['name'] for t in traces if not t['legended'])!r})"
            for panel, traces in figure["panels"].items() if not all(t["legended"] for t in traces)]


def measure(path: Path) -> list[dict]:
    """Open the report at a 1366x768 window and return every figure's boxes."""
    with offline_page() as page:
        page.set_viewport_size(WINDOW)
        page.goto(path.as_uri())
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot svg.main-svg').length >= 9")
        figures = page.evaluate(GEOMETRY)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report_readable.png"), full_page=True)
        assert page.errors == []
    return figures


def test_a_three_what_if_comparison_is_readable(comparison, tmp_path: Path) -> None:
    path = build_report(comparison).write(tmp_path / "report.html")
    figures = measure(path)
    assert len(figures) >= 9
    problems = []
    for figure in figures:
        problems += [f"{figure['id']}: {problem}" for problem in unlegended(figure)]
        problems += [f"{figure['id']}: {pair}" for pair in collisions(figure["labels"])]
        problems += [f"{figure['id']}: {label['kind']} {label['text'][:40]!r} runs past the figure's width"
                     for label in figure["labels"]
                     if label["left"] < figure["left"] - SLACK or label["right"] > figure["right"] + SLACK]
    assert not problems, f"{len(problems)} readability problems:\n" + "\n".join(problems[:40])


def test_the_checks_see_an_overlap() -> None:
    """The geometry is not vacuous: two boxes sharing more than the slack overlap, touching ones do not."""
    a = {"kind": "annotation", "axis": "", "text": "a", "left": 0, "right": 10, "top": 0, "bottom": 10}
    b = {**a, "text": "b", "left": 7, "right": 20}
    c = {**a, "text": "c", "left": 9, "right": 20}
    assert collisions([a, b]) and not collisions([a, c])
