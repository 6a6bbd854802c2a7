"""Assemble the report: one self-contained HTML file with plotly.js inline (works with no network)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import Any, Callable

import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from ..processes import share_out
from ..results import Result, replace_atomically
from . import economics, notes, rivals, tables, tilemap, timecharts
from .ensemble import Ensemble
from .plain import Figure, as_figure, encoded

CSS = """
body { font-family: system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif; margin: 0;
       color: #222; background: #fafafa; }
header { background: #1f2a36; color: #fff; padding: 18px 28px; }
header h1 { margin: 0 0 6px; font-size: 24px; }
header p { margin: 4px 0; color: #d6dde5; max-width: 1100px; }
nav a { color: #9fd0ff; margin-right: 14px; font-size: 14px; }
section { background: #fff; margin: 18px 24px; padding: 12px 20px 18px; border-radius: 6px;
          box-shadow: 0 1px 3px rgba(0,0,0,0.08); }
section h2 { font-size: 19px; margin: 8px 0; }
p.read { color: #555; font-size: 14px; max-width: 1100px; }
table.figures, table.about { border-collapse: collapse; font-size: 14px; margin: 8px 0; }
table.figures th, table.figures td, table.about th, table.about td { border-bottom: 1px solid #e3e3e3;
          padding: 5px 12px; text-align: right; }
table.figures th:first-child, table.about th { text-align: left; font-weight: 600; }
table.figures small { color: #777; font-weight: normal; }
td.sig { font-weight: 700; }
span.delta { color: #555; }
p.events { color: #555; font-size: 13px; max-width: 1100px; margin: 4px 0 8px; }
ul.notes { font-size: 13px; color: #444; max-width: 1100px; padding-left: 18px; }
details { margin: 8px 0; } pre { background: #f4f4f4; padding: 10px; max-height: 420px; overflow: auto; }
"""


@dataclass
class Section:
    anchor: str
    title: str
    read: str
    figures: list[tuple[str, Figure | go.Figure]] = field(default_factory=list)  # plain data or Plotly objects
    html: str = ""


@dataclass
class Report:
    """The report's sections and figures (kept so tests can check the numbers behind each chart)."""

    title: str
    subtitle: str
    sections: list[Section]

    @cached_property
    def figures(self) -> dict[str, go.Figure]:
        """Every figure as a Plotly figure object (validated), by key."""
        return {key: as_figure(figure) for section in self.sections for key, figure in section.figures}

    def html(self) -> str:
        nav = "".join(f'<a href="#{s.anchor}">{html.escape(s.title)}</a>' for s in self.sections)
        body = []
        for section in self.sections:
            parts = [f'<section id="{section.anchor}"><h2>{html.escape(section.title)}</h2>',
                     f'<p class="read">{section.read}</p>', section.html]
            for key, figure in section.figures:
                spec = figure if isinstance(figure, go.Figure) else encoded(figure)
                parts.append(pio.to_html(spec, full_html=False, include_plotlyjs=False, div_id=f"figure-{key}",
                                         config={"displaylogo": False, "responsive": True}, validate=False))
            parts.append("</section>")
            body.append("".join(parts))
        return (
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(self.title)}</title><style>{CSS}</style>"
            f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>"
            f"<header><h1>{html.escape(self.title)}</h1><p>{self.subtitle}</p><nav>{nav}</nav></header>"
            f"{''.join(body)}</body></html>"
        )

    def write(self, path: str | Path) -> Path:
        """Write atomically: a reader never sees half a report."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_atomically(path, lambda temporary: temporary.write_text(self.html(), encoding="utf-8"))
        return path


def build_report(results: list[Result], period: tuple[int, int] | None = None, answers=None,
                 cores: int = 1) -> Report:
    """The report for finished runs: one scenario, or a baseline (the first) and what-ifs; a
    comparison's differences at the end of the horizon, or over the calendar years ``period``; with
    ``answers`` (``sim.rivals``), a section on what the rivals answer.

    ``cores`` above 1 builds its figures and tables on that many processes (Linux: forked copies,
    :func:`sim.processes.share_out`): the same report, sooner. Leave it at 1 in a process with
    threads of its own (a notebook's kernel, a server)."""
    ensemble = Ensemble(results)
    compare = len(ensemble.names) > 1
    parts = _parts(ensemble, period, compare)
    if cores > 1:
        ensemble.share()  # what every part reads, before the copies are made
    made = dict(zip(parts, share_out(list(parts.values()), cores)))
    k = ensemble.replicates
    band = ("Shaded bands hold the middle 90% of the replicate runs (5th to 95th percentile over seeds); "
            "the line is their mean." if k > 1 else "One replicate: no band. Run with --replicates K for bands.")
    sections = [Section("headline", "Headline figures",
                        f"At the end of the horizon ({ensemble.end_date.date()}), mean over {k} replicate(s)."
                        + (" In brackets: the change against the baseline (in percentage points, pts, for shares)."
                           if compare else "") + (_not_the_period(period, ensemble.weeks) if compare and period else "")
                        + " Other grocers are every other seller of the model's baskets: supermarkets, and general "
                          "merchandisers such as Costco and Target, online sales included.",
                        html=made["headline"] + made["notes"])]
    if answers is not None and compare:
        sections.append(rivals.answers_section(answers, ensemble.baseline))
    events = timecharts.events_key(ensemble)
    marks = ("Numbered dotted verticals mark the scenarios' events (listed above the charts; hover a number for its label). "
             if events else "")
    if compare:
        difference, levels = _differences_section(ensemble, made, period, band, marks, events)
        sections.append(difference)
    else:
        levels = f"{band} {marks}"
    sections += _level_sections(ensemble, made, levels, events)
    if "prices" in made:  # strategic conduct
        sections.insert(-2, _prices_section(made, levels, events))
    return Report(*made["heading"], sections)


def _parts(ensemble: Ensemble, period: tuple[int, int] | None, compare: bool) -> dict[str, Callable[[], Any]]:
    """The report's figures and tables, by name, each to be made once (on any of the processes)."""
    parts: dict[str, Callable[[], Any]] = {
        "heading": partial(_heading, ensemble, period), "headline": partial(tables.headline_table, ensemble, period),
        "notes": partial(notes.notes_html, ensemble),
        "spend-category": partial(timecharts.spend_share_by_category, ensemble),
        "spend-locale": partial(timecharts.spend_share_by_locale, ensemble),
        "channels": partial(timecharts.channel_share, ensemble),
        "memberships": partial(timecharts.membership_composition, ensemble),
        "delivery": partial(timecharts.delivery_race, ensemble), "map": partial(tilemap.state_map, ensemble),
        "economics": partial(economics.firm_economics, ensemble), "bridge": partial(economics.profit_bridge, ensemble),
        "about": partial(tables.about, ensemble),
    }
    if compare:
        parts |= {"differences": partial(timecharts.differences_over_time, ensemble),
                  "differences-table": partial(tables.differences_table, ensemble, period),
                  "yearly-table": partial(tables.yearly_table, ensemble)}
    if any(scenario.conduct == "strategic" for scenario in ensemble.scenarios):
        parts |= {"prices": partial(timecharts.prices, ensemble), "fees": partial(timecharts.fees, ensemble)}
    return parts


def _level_sections(ensemble: Ensemble, made: dict[str, Any], levels: str, events: str) -> list[Section]:
    """The sections of levels over time, the map, the firms' economics and "About this run"."""
    return [
        Section("spend", "Who wins the spend", f"Share of household spend captured by each firm. {levels}",
                [(key, made[key]) for key in ("spend-category", "spend-locale", "channels")], events),
        Section("memberships", "Memberships: who holds Prime, Walmart+, or both",
                f"Shares of households by membership. Diamonds are published figures to compare with (derived: docs/reports.md). {levels}",
                [("memberships", made["memberships"])], events),
        Section("delivery", "The delivery race", f"Share of households each delivery network reaches, by locale. {levels}",
                [("delivery", made["delivery"])], events),
        Section("map", "By state", "The last recorded month, mean over replicates. Use the menu to change the "
                "measure (and the scenario: a what-if shows its difference from the baseline, in points). "
                + tilemap.smallest_state(ensemble) + "Grey tiles: no simulated household in that state.",
                [("map", made["map"])]),
        Section("economics", "Firm economics", f"Profit and loss of each firm, in US$ billion a year of constant 2024 dollars: booked revenue (at Amazon, its own "
                "sales, sellers' fees, advertising and Prime; shopper spend is larger) and operating profit, on "
                f"accounts fitted to the filings (docs/accounts.md). {levels}"
                "The waterfalls show which profit-and-loss lines moved operating profit over the last year"
                + (" (the menu picks the what-if)." if len(ensemble.names) > 2 else "."),
                [("economics", made["economics"]), ("bridge", made["bridge"])], events),
        Section("about", "About this run", "What was run, with which seeds and versions.", html=made["about"]),
    ]


def _not_the_period(period: tuple[int, int], weeks: int) -> str:
    """The headline's caption with a period: its figures are the horizon's end, the answer's are not
    (a first line of "-$0.8bn in total over 2027-2030" sat above a headline change of "+$0.2bn")."""
    years = tables.period_label(period)
    return (f" These are the horizon's end: shares in its last week, profit over its last {min(weeks, 52)} weeks. The answer above "
            f"and \"What the what-ifs change\" are over {years} (shares and surplus: the mean over those years; "
            "profit: their total), so the two can differ, even in sign.")


def _heading(ensemble: Ensemble, period: tuple[int, int] | None) -> tuple[str, str]:
    """The report's title and subtitle. A comparison's header asks the what-ifs' questions and answers
    them in words; the baseline's description stays in "About this run"."""
    compare = len(ensemble.names) > 1
    what = (f"{html.escape(', '.join(ensemble.names[1:]))} against {html.escape(ensemble.baseline)}"
            if compare else html.escape(ensemble.baseline))
    described = ensemble.scenarios[1:] if compare else ensemble.scenarios
    subtitle = " ".join(html.escape(s.description.strip()) for s in described if s.description)
    changed = tables.command_line_set(ensemble)
    if changed:  # said first: the description is the scenario file's, which these runs changed
        subtitle = f'<strong class="answer">Run with {html.escape(changed)}</strong>: changed from the file. ' + subtitle
    if compare:
        subtitle = "".join(f'<strong class="answer">{html.escape(line)}</strong><br>'
                           for line in tables.answers(ensemble, period)) + subtitle
    return f"retailsim report: {what}", subtitle


def _prices_section(made: dict[str, Any], levels: str, events: str) -> Section:
    """"Prices and fees", for a report with strategic conduct: the answers the strategic notes speak of."""
    return Section("prices", "Prices and fees", "Each firm's price index and the membership fees posted: under "
                   f"strategic conduct, what the firms answer each other with (docs/strategy.md). {levels}",
                   [("prices", made["prices"]), ("fees", made["fees"])], events)


def _differences_section(ensemble: Ensemble, made: dict[str, Any], period: tuple[int, int] | None, band: str,
                         marks: str, events: str) -> tuple[Section, str]:
    """A comparison's "What the what-ifs change" (differences lead: levels would hide a fraction of a
    point under one line), and the text that tells readers of the level charts where to look."""
    when = ("at the end of the horizon" if period is None else
            f"over {tables.period_label(period)} (shares and surplus: the period's mean; profit: its total)")
    section = Section(
        "differences", "What the what-ifs change",
        f"Each figure is what-if minus baseline on the same seeds, {when}, so the difference is the levers', "
        "not chance's. In brackets: the 90% confidence interval of the mean difference over replicates; bold "
        "where it excludes zero. Below the table, the same differences year by year. The chart shows the "
        "differences over time in percentage points, one column per what-if, with their 5-95% band: spend "
        f"shares by firm above, memberships below, each row with its own legend. {marks}",
        [("differences", made["differences"])], made["differences-table"] + made["yearly-table"] + events)
    own_band = "; only the baseline carries its band" if ensemble.replicates > 1 else ""
    levels = (f"{band} Colours are the series (legend on the right), line styles the scenarios (key below each "
              f"chart, the baseline solid){own_band}. A what-if's line lies on the baseline's where their "
              f"difference is under a line's width: read it in \"What the what-ifs change\". {marks}")
    return section, levels

