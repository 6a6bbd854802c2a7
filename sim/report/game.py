"""The game report: each player's payoff table with its best-response arrows, the bimatrix (two
players) or the best responses per profile (three or more), and the market the equilibria leave.

It reads a solved payoff table and payoffs.csv's rows; it never runs the model, and it imports
nothing of the experiment layer at run time.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .page import Report, Section
from .style import FIRM_COLOURS, FIRM_NAMES, FONT, PERCENT, TEMPLATE, rgba
from .tables import period_label

if TYPE_CHECKING:  # shapes only: the report is handed a solved game
    from ..experiments.equilibria import Deviation, PayoffTable, Solution
    from ..experiments.gamefile import Game

BILLIONS = 1e-9  # payoffs are dollars over the period; shown in $bn
MAX_ARROW_CELLS = 144  # beyond a 12 x 12 table, arrows hide the numbers: best replies are marked instead
EQUILIBRIUM_COLOUR, NEAR_COLOUR = "#000000", "#999999"


def _bn(value: float) -> str:
    return f"{value * BILLIONS:,.2f}"


def _name(firm: str) -> str:
    return FIRM_NAMES.get(firm, firm)


def _deviation_words(table: PayoffTable, d: Deviation) -> str:
    firm = _name(table.players[d.player])
    spread = "" if math.isnan(d.se) else f", s.e. {_bn(d.se)}"
    return f"{firm} {table.strategies[d.player][d.strategy]} ({firm}'s gain {_bn(d.gain)} $bn{spread})"


def summary_lines(name: str, metric: str, period: tuple[int, int], solution: Solution) -> list[str]:
    """The equilibria in words: each with its payoffs and the neighbours the runs cannot tell from it."""
    table = solution.table
    span = period_label(period)  # as the reports' periods read
    sizes = " x ".join(map(str, table.sizes))
    lines = [f"{name}: {sizes} payoff table ({int(np.prod(table.sizes))} cells x {table.replicates} replicate(s), "
             f"common seeds); payoff: {metric} summed over {span}, $bn"]
    if table.replicates < 2:
        lines.append("  one replicate: no estimate of run noise, so no difference can be called distinguishable; "
                     "use replicates: 2 or more")
    if not solution.equilibria:
        lines.append("No pure-strategy Nash equilibrium: from every profile some firm gains by changing its choice.")
    for profile in solution.equilibria:
        payoffs = ", ".join(f"{_name(p)} {_bn(table.means[profile][i])}" for i, p in enumerate(table.players))
        lines.append(f"Nash equilibrium: {_profile_words(table, profile)} (payoffs $bn: {payoffs})")
        close = solution.close_calls(profile)
        if close:
            lines.append("  not distinguishable (a tie, or a gain within run noise) from: "
                         + "; ".join(_deviation_words(table, d) for d in close))
        elif solution.robust(profile):
            lines.append("  every unilateral deviation loses by more than the run noise")
    for profile in solution.near:
        lines.append(f"Within run noise of an equilibrium (no firm's gain from deviating is distinguishable): "
                     f"{_profile_words(table, profile)}")
    return lines


def _profile_words(table: PayoffTable, profile: tuple[int, ...]) -> str:
    return " and ".join(f"{_name(p)} {table.strategies[i][s]}" for i, (p, s) in enumerate(zip(table.players, profile)))


def payoff_heatmaps(solution: Solution) -> go.Figure:
    """Two players: each one's payoff over the table (rows: the first player's strategies, columns:
    the second's), its best-response arrows (from a cell to its best reply; faint where the gain is
    within run noise) and the equilibria outlined."""
    table = solution.table
    rows, cols = table.strategies
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.06,
                        subplot_titles=[f"{_name(p)}: payoff ($bn) and best replies" for p in table.players])
    for i, player in enumerate(table.players):
        z = table.means[..., i] * BILLIONS
        fig.add_trace(go.Heatmap(z=z, x=list(cols), y=list(rows), colorscale="Cividis", showscale=False,
                                 texttemplate="%{z:.2f}", name=_name(player),
                                 hovertemplate=f"{_name(table.players[0])} %{{y}}<br>{_name(table.players[1])} %{{x}}"
                                               f"<br>{_name(player)} %{{z:.3f}} $bn<extra></extra>"), row=1, col=i + 1)
        if z.size <= MAX_ARROW_CELLS:
            _arrows(fig, solution, i, i + 1)
        for profile, colour in [*((p, EQUILIBRIUM_COLOUR) for p in solution.equilibria),
                                *((p, NEAR_COLOUR) for p in solution.near)]:
            fig.add_shape(type="rect", x0=profile[1] - 0.5, x1=profile[1] + 0.5, y0=profile[0] - 0.5, y1=profile[0] + 0.5,
                          line={"color": colour, "width": 3, "dash": "solid" if colour == EQUILIBRIUM_COLOUR else "dot"},
                          row=1, col=i + 1)
        fig.update_xaxes(title_text=_name(table.players[1]), type="category", row=1, col=i + 1)
        fig.update_yaxes(title_text=_name(table.players[0]) if i == 0 else None, type="category", autorange="reversed",
                         showticklabels=i == 0, row=1, col=i + 1)  # the rows' labels once, on the left
    fig.update_layout(title={"text": "Payoff tables: arrows point to each firm's best reply; equilibria outlined"},
                      template=TEMPLATE, font={"family": FONT}, height=200 + 70 * max(len(rows), 3))
    return fig


def _arrows(fig: go.Figure, solution: Solution, player: int, col: int) -> None:
    """From each cell where ``player`` is not best-responding, an arrow to its (first) best reply."""
    table, colour = solution.table, FIRM_COLOURS.get(solution.table.players[player], "#333333")
    axis = "" if col == 1 else str(col)
    for profile in table.profiles():
        if solution.best[profile][player]:
            continue
        target = list(profile)
        target[player] = int(np.flatnonzero(_best_along(solution, profile, player))[0])
        gain = next(d for d in solution.deviations(profile) if d.player == player and d.strategy == target[player])
        faint = gain.distinguishable is False
        # Beside the cells' numbers, not through them: the row firm's arrows right of centre, the column firm's
        # below; arrows from neighbouring strategies alternate their offset, so one never hides another.
        shift = 0.18 + 0.14 * (profile[player] % 2)
        dx, dy = (shift, 0.0) if player == 0 else (0.0, shift)
        fig.add_annotation(x=target[1] + dx, y=target[0] + dy, ax=profile[1] + dx, ay=profile[0] + dy,
                           xref=f"x{axis}", yref=f"y{axis}", axref=f"x{axis}", ayref=f"y{axis}", showarrow=True,
                           arrowhead=2, arrowwidth=2, text="", arrowcolor=rgba(colour, 0.35 if faint else 0.95),
                           standoff=8, startstandoff=8)


def _best_along(solution: Solution, profile: tuple[int, ...], player: int) -> np.ndarray:
    index = list(profile)
    index[player] = slice(None)
    return solution.best[tuple(index)][..., player]


def bimatrix_html(solution: Solution) -> str:
    """The bimatrix as a table: each cell 'row payoff, column payoff' in $bn, a best reply underlined
    and marked *, equilibria shaded."""
    table = solution.table
    rows, cols = table.strategies
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = []
    for r, row in enumerate(rows):
        cells = []
        for c in range(len(cols)):
            parts = []
            for i in range(2):
                text = _bn(table.means[r, c, i])
                parts.append(f"<u>{text}*</u>" if solution.best[r, c, i] else text)
            shade = ' style="background:#e8e8e8;font-weight:700"' if (r, c) in solution.equilibria else ""
            cells.append(f"<td{shade}>{', '.join(parts)}</td>")
        body.append(f"<tr><th>{html.escape(row)}</th>{''.join(cells)}</tr>")
    corner = f"{_name(table.players[0])} \\ {_name(table.players[1])}"
    return (f'<table class="figures" id="bimatrix"><tr><th>{html.escape(corner)}</th>{head}</tr>{"".join(body)}'
            "</table>")


def best_response_html(solution: Solution) -> str:
    """Three or more players: every profile, each player's payoff, * where it best-responds, and its
    best replies to the others' choices; equilibria shaded."""
    table = solution.table
    head = "".join(f'<th style="text-align:left">{html.escape(_name(p))}</th>' for p in table.players)
    body = []
    for profile in table.profiles():
        cells = []
        for i in range(len(table.players)):
            best = [table.strategies[i][s] for s in np.flatnonzero(_best_along(solution, profile, i))]
            mark = "*" if solution.best[profile][i] else f" (best: {', '.join(best)})"
            cells.append(f'<td style="text-align:left">{html.escape(table.strategies[i][profile[i]])}: '
                         f"{_bn(table.means[profile][i])}"
                         f"{html.escape(mark)}</td>")
        shade = ' style="background:#e8e8e8;font-weight:700"' if profile in solution.equilibria else ""
        body.append(f"<tr{shade}>{''.join(cells)}</tr>")
    return f'<table class="figures" id="best-responses"><tr>{head}</tr>{"".join(body)}</table>'


def outcome_figure(payoffs: pd.DataFrame, cells: list[int], labels: list[str]) -> go.Figure | None:
    """Spend shares by firm (%) in the given cells (the equilibria): one stacked bar each, the firms' colours."""
    if not cells:
        return None
    fig = go.Figure()
    for firm in dict.fromkeys(payoffs["firm"]):
        shares = [float(payoffs[(payoffs["cell"] == c) & (payoffs["firm"] == firm)]["spend_share"].iloc[0]) * PERCENT
                  for c in cells]
        fig.add_trace(go.Bar(x=labels, y=shares, name=_name(firm), marker={"color": FIRM_COLOURS.get(firm, "#777777")},
                             texttemplate="%{y:.1f}%", hovertemplate=f"{_name(firm)}: %{{y:.1f}}% of spend<extra></extra>"))
    fig.update_layout(title={"text": "Share of household spend in the last year of the period"}, template=TEMPLATE,
                      font={"family": FONT}, height=420, barmode="stack", yaxis={"title": {"text": "% of spend"}},
                      legend={"orientation": "h", "y": -0.25})
    return fig


def outcome_html(table: PayoffTable, payoffs: pd.DataFrame, cells: list[int], labels: list[str]) -> str:
    """Memberships and consumer surplus in the last year of the period, one row per equilibrium."""
    if not cells:
        return "<p>No equilibrium to show.</p>"
    firms = list(dict.fromkeys(payoffs["firm"]))
    head = ("<th>equilibrium</th><th>Prime %</th><th>Walmart+ %</th><th>both %</th><th>consumer surplus "
            "<small>$/household/week</small></th>" + "".join(f"<th>{_name(f)} payoff <small>$bn</small></th>" for f in firms))
    body = []
    for cell, label in zip(cells, labels):
        rows = payoffs[payoffs["cell"] == cell].set_index("firm")
        first = rows.iloc[0]
        values = [first["prime_share"] * PERCENT, first["walmart_plus_share"] * PERCENT, first["both_share"] * PERCENT]
        words = _profile_words(table, table.profiles()[cell])
        body.append(f'<tr><th>{html.escape(label)}: <small>{html.escape(words)}</small></th>' + "".join(f"<td>{v:.1f}</td>" for v in values)
                    + f"<td>{first['consumer_surplus']:.2f}</td>"
                    + "".join(f"<td>{_bn(rows.loc[f, 'payoff_mean'])}</td>" for f in firms) + "</tr>")
    return f'<table class="figures" id="equilibrium-outcomes"><tr>{head}</tr>{"".join(body)}</table>'


def build_game_report(game: Game, payoffs: pd.DataFrame, solution: Solution, manifest: dict) -> Report:
    """The report of a played game (payoffs.csv's rows and the solved table)."""
    table = solution.table
    first, last = game.payoff.period
    span = period_label((first, last))
    lines = summary_lines(game.name, game.payoff.metric, game.payoff.period, solution)
    noise = ("Each payoff is the mean over the replicates; a deviation's gain is the mean paired difference (same "
             "seeds), and it is within run noise when its 90% interval includes zero."
             if table.replicates > 1 else "One replicate: the runs give no estimate of their noise.")
    read = (f"Each firm's {html.escape(game.payoff.metric)} summed over {span}, in $bn, when the firms' choices "
            f"take effect on {manifest['levers_take_effect']}. {noise} ")
    if len(table.players) == 2:
        read += ("Left: the first firm's payoff (it picks the row); right: the second's (it picks the column). An "
                 "arrow leads from a cell to the firm's best reply to the other's choice (faint: a gain within run "
                 "noise); a cell no arrow leaves in either panel is an equilibrium (outlined; dotted: within noise "
                 "of one). Below, the bimatrix: row payoff, column payoff; * a best reply.")
        section = Section("payoffs", "Payoff tables and best replies", read, [("payoffs", payoff_heatmaps(solution))],
                          bimatrix_html(solution))
    else:
        read += ("Every profile, each firm's choice and payoff; * where the choice is a best reply to the others', "
                 "else the best replies; equilibria shaded.")
        section = Section("payoffs", "Best responses per profile", read, html=best_response_html(solution))
    shown = solution.equilibria or solution.near
    cells = [table.profiles().index(p) for p in shown]
    labels = [f"{'equilibrium' if solution.equilibria else 'within noise'} {n}" for n in range(1, len(shown) + 1)]
    kind = "equilibria" if solution.equilibria else "profiles within run noise of an equilibrium"
    figure = outcome_figure(payoffs, cells, labels)
    outcomes = Section("outcomes", "The market at the equilibria", f"The {kind}: spend shares, memberships and "
                       f"consumer surplus over the last year of {span} (means over replicates).",
                       [("outcomes", figure)] if figure is not None else [], outcome_html(table, payoffs, cells, labels))
    about = (f"Base scenario {html.escape(manifest['base_scenario']['name'])}, seeds "
             f"{', '.join(map(str, manifest['seeds']))}, {manifest['runs']} runs, "
             f"{manifest['simulation_seconds']:.0f} s of simulation.")
    summary = "".join(f"<strong>{html.escape(line)}</strong><br>" for line in lines)
    return Report(f"retailsim game: {game.name}", summary + html.escape(game.description.strip()),
                  [section, outcomes, Section("about", "About this game", about)])
