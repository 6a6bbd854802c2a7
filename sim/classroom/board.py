"""The results every page shows (teacher and teams alike): the latest round in figures, the league
table, four charts, and the decisions the page may see. Built only from a page's :func:`view`."""

from __future__ import annotations

import html
from typing import Any

import solara

from ..dashboard.app import Browser, LiveFigure
from .levers import FIRM_OF, TABLE, firm_name, written
from .view import latest_results, league

CSS = """
.classroom-table { border-collapse: collapse; font-size: 12px; margin: 2px 0 6px 0; }
.classroom-table th, .classroom-table td { padding: 1px 8px; border-bottom: 1px solid #e6e6e6; text-align: right; }
.classroom-table th:first-child, .classroom-table td:first-child { text-align: left; }
.classroom-head { font-size: 14px; font-weight: 600; margin: 2px 0; }
.classroom-line { font-size: 12px; color: #333; margin: 0 0 4px 0; }
.classroom-lever { font-size: 13px; margin: 0; }
.classroom-cost { font-size: 11px; color: #555; margin: -8px 0 6px 0; line-height: 1.25; }
.classroom-code { font-size: 30px; font-weight: 700; letter-spacing: 4px; margin: 0 0 2px 0; }
.classroom-status { font-size: 13px; margin: 4px 0 8px 0; }
.classroom-hidden { font-size: 12px; color: #555; font-style: italic; }
.classroom-submit { position: sticky; bottom: 0; background: #fff; padding: 6px 0 4px 0; z-index: 2; }
.classroom-submit .v-alert { margin: 4px 0 0 0; font-size: 12px; padding: 6px 10px; }
"""


def _table(header: list[str], rows: list[list[str]], name: str) -> None:
    """An HTML table (every cell escaped: team names come from players)."""
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    solara.HTML(tag="div", unsafe_innerHTML=f'<table class="classroom-table {name}"><tr>{head}</tr>{body}</table>')


def _headline(seen: dict[str, Any]) -> str:
    if not seen["rounds"]:
        return f"Before the game: the quarter to {seen['start']}. Round 1 starts on {seen['start']}."
    last = seen["rounds"][-1]
    return f"Results of round {last['number']} ({last['first']} to {last['last']})"


@solara.component
def League(seen: dict[str, Any]):
    """The league table: firms ranked by what their teams' decisions did to their operating margin
    (against the same market left alone: :func:`sim.classroom.view.league`)."""
    rows = []
    for row in league(seen):
        members = "" if row["members_millions"] is None else f"{row['members_millions']:,.1f}M"
        rows.append([f"{row['rank']}. {firm_name(row['firm'])}", ", ".join(row["teams"]) or "(scenario)",
                     f"{row['spend_share']:.1%}", f"{100 * row['share_effect']:+.2f}", members,
                     f"{row['operating_profit_usd_bn']:,.1f}", f"{row['profit_effect_usd_bn']:+,.2f}",
                     f"{100 * row['margin_effect']:+.2f}"])
    _table(["Firm", "Teams", "Spend share", "by decisions (pts)", "Members", "Profit $bn/yr*", "by decisions",
            "Margin by decisions (pts)"], rows, "classroom-league")


def _market_line(seen: dict[str, Any]) -> str:
    market = latest_results(seen)["market"]
    events = seen["rounds"][-1]["events"] if seen["rounds"] else []
    news = f" Events this round: {', '.join(events)}." if events else ""
    return (f"Consumer welfare ${market['consumer_surplus_usd']:,.2f} a household a week; households with both "
            f"memberships {market['both_memberships']:.1%}. *Profit is on accounts fitted to the filings' margins (docs/accounts.md). "
            f"\"By decisions\": against the same market over the same weeks and events had no team decided anything, "
            f"so the market's own trend (online gains on stores) does not count; the league ranks by the margin's.{news}")


@solara.component
def Charts(charts: list[dict], played: tuple, widths):
    """The charts, redrawn only when the market has moved (``played``: the round and the next week;
    a team's submission changes the game, not the charts) or the cells' widths change."""
    with solara.Div(classes=["retailsim-charts"]):
        for index, chart in enumerate(charts):
            with solara.Div(classes=["retailsim-chart"]):
                LiveFigure(chart, played, widths.value[index] if index < len(widths.value) else None)
    Browser.element(widths=widths.value, on_widths=widths.set, tick=0, on_drawn=lambda value: None)


@solara.component
def Decisions(seen: dict[str, Any]):
    """Each played round's decisions that this page may see: the firms' (combined) and the teams'."""
    solara.Div(children=["Decisions"], classes=["classroom-head"])
    if seen["firm"] is not None and not seen["revealed"]:
        solara.Div(children=["Rivals' decisions are hidden until your teacher reveals them; you see your own "
                             "firm's."], classes=["classroom-hidden"])
    rows = []
    for played in reversed(seen["rounds"]):
        for path, value in played["applied"].items():
            teams = [f"{team}: {written(path, values[path])}" for team, values in played["submissions"].items()
                     if path in values]
            rows.append([f"R{played['number']}", firm_name(FIRM_OF[path]), TABLE[path][0], written(path, value),
                         "; ".join(teams)])
    if rows:
        _table(["Round", "Firm", "Lever", "Decision (median)", "Teams' submissions"], rows, "classroom-decisions")
    else:
        solara.Div(children=["No decisions yet."], classes=["classroom-line"])


@solara.component
def Board(seen: dict[str, Any], charts: list[dict], widths):
    """The results, the league table, the charts and the visible decisions."""
    solara.Div(children=[_headline(seen)], classes=["classroom-head"])
    League(seen)
    solara.Div(children=[_market_line(seen)], classes=["classroom-line"])
    Charts(charts, (seen["round"], seen["next_week"]), widths)
    Decisions(seen)
