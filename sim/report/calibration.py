"""The calibration report: each target against its fit, the loss over the search, the parameters."""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..jobs.targets import standing
from .page import Report, Section
from .style import FONT, TEMPLATE

if TYPE_CHECKING:  # the report reads the calibration's shape; it never runs anything
    from ..calibration.fitting import CalibrationResult
    from ..calibration.setup import Calibration

WITHIN, OUTSIDE, CANDIDATE, BEST = "#009E73", "#D55E00", "#0072B2", "#E69F00"


def _short(name: str) -> str:
    return ".".join(name.split(".")[-2:])


def targets_figure(result: CalibrationResult) -> go.Figure:
    """Each target's miss in tolerances (0 = on the published value, +-1 = the tolerance), with the
    replicate spread as error bars; hover gives the values in their own units."""
    table = result.fit.table.iloc[::-1]
    tolerance = table["tolerance"].to_numpy()
    colours = [WITHIN if within else OUTSIDE for within in table["within"]]
    fig = go.Figure()
    fig.add_vrect(x0=-1, x1=1, fillcolor="rgba(0,158,115,0.10)", line_width=0, layer="below")
    fig.add_trace(go.Scatter(
        x=table["miss"], y=table["target"], mode="markers", marker={"size": 11, "color": colours},
        error_x={"type": "data", "array": table["simulated_sd"] / tolerance, "visible": True, "color": "#555"},
        customdata=np.column_stack([table["published"].astype(str), table["simulated_mean"], table["simulated_sd"],
                                    table["tolerance"]]),
        hovertemplate="%{y}<br>published %{customdata[0]} (tolerance %{customdata[3]:.3g})<br>"
                      "simulated %{customdata[1]:.4g} (sd %{customdata[2]:.2g})<br>miss %{x:+.2f} tolerances"
                      "<extra></extra>", showlegend=False))
    fig.add_vline(x=0, line={"color": "#333", "width": 1})
    fig.update_layout(title={"text": "Each target: simulated mean against the published value (in tolerances; "
                                     "bars = replicate spread, shaded = within tolerance)"},
                      xaxis_title="miss (simulated - published) / tolerance", template=TEMPLATE,
                      font={"family": FONT}, height=120 + 34 * len(table), margin={"l": 190})
    return fig


def targets_table(result: CalibrationResult) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(row.target)}</th><td>{html.escape(str(row.published))}</td><td>&plusmn;{row.tolerance:.3g}</td>"
        f"<td>{row.simulated_mean:.4g}</td><td>{row.simulated_sd:.2g}</td><td>{row.miss:+.2f}</td>"
        f"<td>{'yes' if row.within else '<b>no</b>'}</td></tr>" for row in result.fit.table.itertuples())
    return ("<table class='figures'><tr><th>target</th><th>published</th><th>tolerance</th><th>simulated mean</th>"
            f"<th>sd</th><th>miss</th><th>within</th></tr>{rows}</table>")


def search_figure(result: CalibrationResult) -> go.Figure:
    """optuna: every candidate's loss and the best so far; ABC: the tolerance epsilon by generation."""
    history = result.history
    fig = go.Figure()
    if result.method == "optuna":
        fig.add_trace(go.Scatter(x=history["candidate"], y=history["loss"], mode="markers", name="candidate",
                                 marker={"size": 5, "color": CANDIDATE, "opacity": 0.5}))
        fig.add_trace(go.Scatter(x=history["candidate"], y=history["best_loss"], mode="lines", name="best so far",
                                 line={"color": BEST, "width": 2.5, "shape": "hv"}))
        fig.update_layout(title={"text": "Loss over the search (mean squared miss in tolerances; log scale)"},
                          xaxis_title="candidate", yaxis_title="loss", yaxis_type="log")
    elif result.method == "emulator":
        for wave, group in history.groupby("wave"):
            fig.add_trace(go.Scatter(x=group["simulation"], y=group["loss"], mode="markers", marker={"size": 4},
                                     name="particles" if wave == history["wave"].max() else f"design, wave {wave + 1}"))
        fig.update_layout(title={"text": "Every simulation's loss, by wave: the design around the fit, then the "
                                         "particles (log scale)"}, xaxis_title="simulation", yaxis_title="loss",
                          yaxis_type="log")
    elif result.method == "bank":
        fig.add_trace(go.Scatter(x=history["rank"], y=history["loss"], mode="lines", name="simulation",
                                 line={"color": CANDIDATE, "width": 2},
                                 hovertemplate="%{x}th nearest<br>loss %{y:.3g}<extra></extra>"))
        fig.add_trace(go.Scatter(x=[1, len(history)], y=[history["threshold"].iloc[0]] * 2, mode="lines",
                                 name="acceptance threshold", line={"color": BEST, "width": 2, "dash": "dash"}))
        fig.update_layout(title={"text": "The bank: every simulation's loss, nearest first (log scales); those under "
                                         "the threshold make the posterior"},
                          xaxis_title="simulations, nearest first", yaxis_title="loss", yaxis_type="log",
                          xaxis_type="log")
    else:
        fig.add_trace(go.Scatter(x=history["simulations"], y=history["epsilon"], mode="lines+markers",
                                 name="epsilon", line={"color": BEST, "width": 2.5},
                                 customdata=history["generation"],
                                 hovertemplate="generation %{customdata}<br>%{x} simulations<br>epsilon %{y:.3g}"
                                               "<extra></extra>"))
        fig.update_layout(title={"text": "ABC-SMC: the acceptance threshold (loss) by generation"},
                          xaxis_title="particles simulated", yaxis_title="epsilon (loss)", yaxis_type="log")
    fig.update_layout(template=TEMPLATE, font={"family": FONT}, height=420)
    return fig


def parameters_figure(calibration: Calibration, result: CalibrationResult) -> go.Figure:
    """optuna: loss against each parameter (a flat floor = loosely identified); ABC: weighted
    posterior histograms over the prior bounds. The chosen value is marked."""
    names = list(calibration.parameters)
    columns = 3
    rows = math.ceil(len(names) / columns)
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=[_short(n) for n in names],
                        vertical_spacing=0.5 / max(rows, 1) if rows > 1 else 0.1, horizontal_spacing=0.07)
    for index, name in enumerate(names):
        row, col = index // columns + 1, index % columns + 1
        parameter = calibration.parameters[name]
        if result.posterior is None:
            trials = result.trials
            fig.add_trace(go.Scatter(x=trials[name], y=trials["loss"], mode="markers", showlegend=False,
                                     marker={"size": 4, "color": CANDIDATE, "opacity": 0.5},
                                     hovertemplate=f"{name}=%{{x:.4g}}<br>loss %{{y:.3g}}<extra></extra>"),
                          row=row, col=col)
            fig.update_yaxes(type="log", row=row, col=col, title_text="loss" if col == 1 else None)
        else:
            posterior = result.posterior
            fig.add_trace(go.Histogram(x=posterior[name], y=posterior["weight"], histfunc="sum", nbinsx=20,
                                       marker={"color": CANDIDATE}, showlegend=False,
                                       hovertemplate=f"{name} %{{x}}<br>weight %{{y:.3f}}<extra></extra>"),
                          row=row, col=col)
            fig.update_yaxes(title_text="posterior weight" if col == 1 else None, row=row, col=col)
        fig.add_vline(x=result.chosen[name], line={"color": BEST, "width": 2, "dash": "dash"}, row=row, col=col)
        low, high = parameter.range
        fig.update_xaxes(range=[np.log10(low), np.log10(high)] if parameter.log else [low, high],
                         type="log" if parameter.log else None, row=row, col=col)
    title = ("Loss against each parameter (one dot per candidate; dashed: the chosen value)" if result.posterior is None
             else "Posterior of each parameter over its prior bounds (dashed: the chosen particle)")
    fig.update_layout(title={"text": title}, template=TEMPLATE, font={"family": FONT}, height=250 * rows + 120)
    return fig


def identification_table(calibration: Calibration, result: CalibrationResult) -> str:
    profile = "shift" in result.identification
    head = "moved to" if profile else "posterior 5-95%"
    rows = "".join(
        f"<tr><th>{html.escape(row['parameter'])}</th>"
        f"<td>{calibration.parameters[row['parameter']].range[0]:.4g} - {calibration.parameters[row['parameter']].range[1]:.4g}</td>"
        f"<td>{result.chosen[row['parameter']]:.4g}</td>"
        f"<td>{row['plausible_low']:.4g} - {row['plausible_high']:.4g}</td>"
        + (f"<td>{row['shift']:.2f} ({html.escape(row['moves_most'])})</td>" if profile
           else f"<td>{row['share_of_bounds']:.0%}</td>")
        + f"<td>{html.escape(row['reading'])}</td></tr>"
        for row in result.identification.to_dict("records"))
    basis = html.escape(result.identification["basis"].iloc[0]) if len(result.identification) else ""
    return ("<table class='figures'><tr><th>parameter</th><th>bounds</th><th>chosen</th>"
            f"<th>{head}</th><th>{'largest target shift' if profile else 'share of bounds'}</th><th>reading</th></tr>"
            f"{rows}</table>"
            f"<p class='read'>Reading from: {basis}.</p>")


def checks_tables(result: CalibrationResult) -> str:
    """The bank's coverage on synthetic truths, the out-of-sample test and the parameters that trade off."""
    emulated = result.method == "emulator"
    coverage = emulator_coverage_table(result) if emulated else bank_coverage_table(result)
    sample = result.diagnostics["out_of_sample"]
    rows = "".join(f"<tr><th>{html.escape(row.target)}</th><td>{html.escape(row.role)}</td><td>{row.published:.4g}</td>"
                   f"<td>{row.predicted_mean:.4g} ({row.predicted_low:.4g} - {row.predicted_high:.4g})</td>"
                   f"<td>{row.miss:+.2f}</td><td>{'yes' if row.within else '<b>no</b>'}</td></tr>"
                   for row in sample.itertuples())
    fitted = int((sample["role"] == "fitted").sum())
    prediction = ("<table class='figures'><tr><th>target</th><th>role</th><th>published</th>"
                  f"<th>posterior predictive (5-95%)</th><th>miss</th><th>within</th></tr>{rows}</table>"
                  f"<p class='read'>Fitted on the {fitted} targets that end by {result.diagnostics['fit_through']}; "
                  "the later targets are predicted from the accepted simulations, which never saw them.</p>")
    pairs = result.diagnostics["tradeoffs"]
    rows = "".join(f"<tr><th>{html.escape(row.first)}</th><td>{html.escape(row.second)}</td><td>{row.correlation:+.2f}"
                   "</td></tr>" for row in pairs.itertuples()) or "<tr><td colspan='3'>none above 0.3</td></tr>"
    trade = ("<table class='figures'><tr><th>parameter</th><th>trades off with</th><th>posterior correlation</th></tr>"
             f"{rows}</table><p class='read'>Pairs the targets tie together: they fix a combination, not each one.</p>")
    checks = result.diagnostics["checks"]
    rows = "".join(f"<tr><th>{html.escape(row.check)}</th><td>{row.published:.4g} &plusmn;{row.tolerance:.3g}</td>"
                   f"<td>{row.predicted_mean:.4g} ({row.predicted_low:.4g} - {row.predicted_high:.4g})</td>"
                   f"<td>{row.miss:+.2f}</td><td>{'yes' if row.within else '<b>no</b>'}</td>"
                   f"<td>{row.prior_low:.4g} - {row.prior_high:.4g}</td><td>{row.prior_within:.0%}</td></tr>"
                   for row in checks.itertuples())
    first = "the design, first wave" if emulated else "prior draws, first wave"
    unseen = ("" if not len(checks) else
              "<table class='figures'><tr><th>published figure, not given to the fit</th><th>published</th>"
              "<th>posterior predictive (5-95%)</th><th>miss</th><th>within</th><th>{first} (5-95%)</th>"
              f"<th>{first} within tolerance</th></tr>{rows}</table><p class='read'>A figure that few or none of the "
              "prior's simulations reach is missed by the model's structure, whatever its parameters.</p>")
    return coverage + prediction + trade + unseen



def bank_coverage_table(result: CalibrationResult) -> str:
    cover = result.diagnostics["coverage"]
    rows = "".join(f"<tr><th>{html.escape(row.parameter)}</th><td>{row.coverage:.2f}</td><td>{row.mean_width:.0%}</td>"
                   f"<td>{row.coverage_rejection:.2f}</td><td>{row.mean_width_rejection:.0%}</td></tr>"
                   for row in cover.itertuples())
    return ("<table class='figures'><tr><th>parameter</th><th>coverage (adjusted)</th><th>width</th>"
            f"<th>coverage (rejection only)</th><th>width</th></tr>{rows}</table>"
            f"<p class='read'>Share of {int(cover['truths'].iloc[0])} synthetic truths inside their 90% interval "
            "(0.90 is honest; less is overconfident), and the interval's mean width as a share of the bounds. "
            f"The posterior written is the <b>{'regression-adjusted' if result.diagnostics['adjusted'] else 'rejection-only'}"
            "</b> one: the adjusted one is used only when every parameter's coverage is at least 0.8.</p>")


def emulator_coverage_table(result: CalibrationResult) -> str:
    cover, table, reach = result.diagnostics["coverage"], result.diagnostics["emulator"], result.diagnostics["reached"]
    rows = "".join(f"<tr><th>{html.escape(row.parameter)}</th><td>{row.coverage:.2f}</td><td>{row.mean_width:.0%}</td>"
                   "</tr>" for row in cover.itertuples())
    errors = "".join(f"<tr><th>{html.escape(row.target)}</th><td>{row.error_tolerances:.2f}</td>"
                     f"<td>{'log' if row.logarithm else 'level'}</td></tr>" for row in table.itertuples())
    return ("<table class='figures'><tr><th>target</th><th>emulator's cross-validated error (tolerances)</th>"
            f"<th>emulated as</th></tr>{errors}</table><p class='read'>Run noise is part of each error (every "
            f"simulation is one seed). The {result.diagnostics['effective']:.0f} particles, each simulated once, meet "
            f"{reach['simulated_median']:.0f} targets (5-95%: {reach['simulated_low']:.0f} to "
            f"{reach['simulated_high']:.0f}); the emulators expected {reach['emulated_median']:.0f}. The sampler's "
            f"chains agree to a largest split R-hat of {result.diagnostics['rhat']:.3f} (above 1.1 would mean "
            f"they do not).</p><p class='read'>{margin_sentence(result.diagnostics)}</p>"
            "<table class='figures'><tr><th>parameter</th><th>coverage</th><th>width</th></tr>"
            f"{rows}</table><p class='read'>Share of {int(cover['truths'].iloc[0])} synthetic truths (particles' "
            "simulations, plus a discrepancy of one tolerance, taken as the published figures) inside their 90% interval (0.90 is honest; less is "
            "overconfident), and the interval's mean width as a share of the bounds.</p>")

def margin_sentence(diagnostics: dict) -> str:
    """The committed point against the margin point near it, on the fit's seeds, and which was kept."""
    table = diagnostics["margin"]

    def fit(column: str) -> str:  # as the choice ranked them (a target not measured: missed)
        met, largest, worst = standing(table[column])
        return (f"met {met} of {len(table)} targets, largest miss {largest:.2f} tolerances "
                f"({html.escape(str(table['target'].iloc[worst]))})")

    return (f"On the fit's seeds, the margin point (the nearest to the committed point, within "
            f"{diagnostics['reach']} of the design's standard deviations, at which the emulators put every target "
            f"within {diagnostics['margin_tolerances']} tolerances) {fit('margin')}; the committed point "
            f"{fit('point')}. " + ("The margin point is the better of the two, and is what the fresh seeds check."
                                   if diagnostics["moved"] else "The committed point is kept."))


def build_calibration_report(calibration: Calibration, result: CalibrationResult, document: dict[str, Any]) -> Report:
    within = int(result.fit.table["within"].sum())
    subtitle = (f"{html.escape(document['method'])}; {document['candidates']} candidates, each "
                f"{html.escape(document['runs_per_candidate'])}; checked on {html.escape(document['check'])}: "
                f"loss {result.fit.loss:.3f}, {within} of {len(result.fit.table)} targets within tolerance. "
                f"retailsim {html.escape(document['version'])}, {document['date']}.")
    sections = [
        Section("targets", "Targets against the fit",
                "Each target's simulated mean on fresh seeds (not those of the search) against the published value, "
                "in units of its tolerance. The table gives the values in their own units.",
                [("targets", targets_figure(result))], targets_table(result)),
        Section("search", "The search", {"optuna": "How the loss fell as candidates were tried.",
                                         "abc": "How ABC-SMC tightened its acceptance threshold.",
                                         "bank": "How near the bank's simulations came to the published figures.",
                                         "emulator": "How near the design's simulations and the particles came to "
                                                     "the published figures."}[
            result.method], [("search", search_figure(result))]),
        Section("parameters", "The parameters and how well the facts pin them",
                ("Each dot is a candidate: a parameter whose low-loss candidates spread across its bounds is left loose "
                 "by the targets. The table moves each parameter a tenth of its bounds either way from the chosen value, "
                 "the others held, and gives the largest change of any target's miss: a tolerance or more means pinned, "
                 "under a quarter of one loose."
                 if result.posterior is None else
                 "The posterior over each parameter's prior bounds: a narrow posterior means the targets pin the "
                 "parameter down; one as wide as the prior means they leave it loose."),
                [("parameters", parameters_figure(calibration, result))], identification_table(calibration, result)),
    ]
    if result.diagnostics:
        sections.append(Section("checks", "Is the posterior honest?",
                                ("How well the emulators stand in for the model, the posterior's 90% intervals on "
                                 "synthetic truths, and a fit to the early targets that predicts the later ones (on "
                                 "the emulators)." if result.method == "emulator" else
                                 "The posterior's 90% intervals on synthetic truths (simulations of the bank taken in "
                                 "turn as the truth, their posterior from the rest), and a fit to the early targets "
                                 "that predicts the later ones."), [], checks_tables(result)))
    return Report(f"Calibration: {calibration.setup.name}", subtitle, sections)
