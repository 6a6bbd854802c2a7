"""The report's tables, as HTML: the headline panel, end-of-horizon differences, about this run."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import numpy as np
import yaml

from ..results import SET_KEY
from ..versions import package_version
from .ensemble import Ensemble, draw_intervals, mean_interval
from .numbers import decimals, difference, figure, fixed, in_words
from .style import FIRM_NAMES, PERCENT, SEGMENT_NAMES


@dataclass(frozen=True)
class Measure:
    """A headline figure: its label, unit, and how to read it from the results."""

    label: str
    unit: str
    metric: str
    dimensions: dict
    scale: float = PERCENT
    last_year_sum: bool = False


YEAR_UNIT = "$bn, last 52 weeks"
HEADLINE = (
    [Measure(f"{FIRM_NAMES[f]} share of spend", "%", "spend_share", {"firm": f}) for f in FIRM_NAMES]
    + [Measure(SEGMENT_NAMES[s], "% of households", "membership_share", {"segment": s}) for s in SEGMENT_NAMES]
    + [Measure(f"{FIRM_NAMES[f]} operating profit", YEAR_UNIT, "operating_profit", {"firm": f},
               scale=1e-9, last_year_sum=True) for f in FIRM_NAMES]
)
DIFFERENCES = HEADLINE + [
    Measure("Walmart share of grocery spend", "%", "spend_share", {"firm": "walmart", "category": "grocery"}),
    Measure("Amazon share of discretionary spend", "%", "spend_share", {"firm": "amazon", "category": "discretionary"}),
    Measure("Prime households", "%", "prime_share", {}),
    Measure("Walmart+ households", "%", "walmart_plus_share", {}),
    Measure("Consumer surplus", "$ per household per week", "consumer_surplus", {}, scale=1.0),
]


def command_line_set(ensemble: Ensemble) -> str:
    """The ``--set`` changes the runs were made with (every scenario's), or ""."""
    changed = dict.fromkeys(item for r in ensemble.results for item in r.manifest.get(SET_KEY) or [])
    return " ".join(f"--set {item}" for item in changed)


def unit_of(ensemble: Ensemble, measure: Measure) -> str:
    """A measure's unit at the end of the horizon: money sums the last 52 weeks, or every recorded week
    of a shorter horizon (and says so)."""
    if measure.last_year_sum and ensemble.weeks < 52:
        return f"$bn, last {ensemble.weeks} weeks"  # every scenario's: a later start's, or a short horizon's
    return measure.unit


def _end_values(ensemble: Ensemble, measure: Measure):
    return ensemble.at_end(measure.metric, scale=measure.scale, last_year_sum=measure.last_year_sum,
                           **measure.dimensions)


def headline_table(ensemble: Ensemble, period: tuple[int, int] | None = None) -> str:
    """The figures a strategist asks first, per scenario (mean over replicates; change vs baseline,
    each what-if's to one precision: two decimals, or more where its largest change is smaller).
    With a ``period`` (the answer's and differences' years), a what-if's heading says its changes
    are at the horizon's end."""
    end = f" <small>(change at the horizon's end, not over {period_label(period)})</small>" if period else ""
    head = "".join(f"<th>{html.escape(name)}{end if name != ensemble.baseline else ''}</th>" for name in ensemble.names)
    values = {measure.label: _end_values(ensemble, measure).mean(axis=1) for measure in HEADLINE}
    digits = {name: max(2, decimals(max(abs(v[name] - v[ensemble.baseline]) for v in values.values()), 1))
              for name in ensemble.names}
    rows = []
    for measure in HEADLINE:
        mean = values[measure.label]
        cells = []
        for name in ensemble.names:
            cell = figure(mean[name])
            if name != ensemble.baseline:
                change = _change(mean[name] - mean[ensemble.baseline], measure.unit, digits[name])
                cell += f' <span class="delta">({change})</span>'
            cells.append(f"<td>{cell}</td>")
        rows.append(f"<tr><th>{html.escape(measure.label)} <small>{html.escape(unit_of(ensemble, measure))}</small></th>"
                    f"{''.join(cells)}</tr>")
    return f'<table class="figures" id="headline-table"><tr><th></th>{head}</tr>{"".join(rows)}</table>'


def _change(change: float, unit: str, digits: int = 2) -> str:
    """A headline's change against the baseline with its unit: points for a percentage, dollars for
    money, to ``digits`` decimals (its column's); one that rounds to zero there reads "+0.00"."""
    number, sign = fixed(abs(change), digits), "-" if round(change, digits) < 0 else "+"
    if unit.startswith("%"):
        return f"{sign}{number} pts"
    return f"{sign}${number}bn" if unit.startswith("$bn") else f"{sign}${number}" if unit.startswith("$") else sign + number


def period_unit(measure: Measure, years: tuple[int, int], partial: str = "") -> str:
    """A measure's unit over a period: shares and surplus are means over its weeks, money its total;
    ``partial`` says where the recorded weeks cover only part of its years (:meth:`Ensemble.partial`)."""
    span = period_label(years) + partial
    return f"$bn, {span} total" if measure.last_year_sum else f"{measure.unit}, mean {span}"


def difference_rows(ensemble: Ensemble, period: tuple[int, int] | None = None) -> list[dict]:
    """Differences (what-if minus baseline, paired by seed) with 90% intervals: at the end of the
    horizon, or over the calendar years ``period`` (first, last): means of shares and surplus over
    its weeks, money summed over them. Over parameter draws, ``low`` and ``high`` are the run-noise
    interval (:func:`~sim.report.ensemble.draw_intervals`) and ``parameter_low`` and
    ``parameter_high`` the 5th-95th percentiles over draws of each draw's mean difference."""
    rows = []
    for measure in DIFFERENCES:
        if period is None:
            values, unit = _end_values(ensemble, measure), unit_of(ensemble, measure)
        else:
            values = ensemble.over(measure.metric, period, scale=measure.scale, total=measure.last_year_sum,
                                   **measure.dimensions)
            unit = period_unit(measure, period, ensemble.partial(period))
        for name in ensemble.names[1:]:
            paired = values.loc[name].to_numpy() - values.loc[ensemble.baseline].to_numpy()
            row = {"measure": measure.label, "unit": unit, "scenario": name}
            if ensemble.draws:
                keys = values.columns
                mean, low, high, parameter_low, parameter_high = draw_intervals(
                    paired, ensemble.draw_of[keys].to_numpy(), ensemble.seed_of[keys].to_numpy())
                row.update(mean=mean, low=low, high=high, parameter_low=parameter_low, parameter_high=parameter_high)
            else:
                mean, low, high = mean_interval(paired)
                row.update(mean=mean, low=low, high=high)
            rows.append(row)
    return rows


def yearly_difference_rows(ensemble: Ensemble) -> list[dict]:
    """The differences year by year over the horizon (each year's mean, or its money's total), with
    a ``year`` column."""
    return [{**row, "year": year} for year in ensemble.years for row in difference_rows(ensemble, (year, year))]


# Differences smaller than these read as "unchanged" when a run has no interval to judge them by.
NOTABLE = {"%": 0.1, "% of households": 0.1, YEAR_UNIT: 0.1, "$ per household per week": 0.05,
           "pts": 0.1, "pts of households": 0.1}  # the last two: the differences tables' units (:func:`points`)


def _notable(unit: str) -> float:
    """The notable size of a difference in ``unit`` (a period's unit reads as its measure's)."""
    if unit.startswith("$bn"):  # a period's total: the yearly size for each of its years
        span = unit.removeprefix("$bn, ").removesuffix(" total").split(" (")[0].split("-")
        years = int(span[-1]) - int(span[0]) + 1 if unit.endswith(" total") else 1
        return NOTABLE[YEAR_UNIT] * years
    return next((size for name, size in NOTABLE.items() if unit.split(",")[0] == name), 1.0)


def _moved(row: dict) -> bool:
    """Whether a difference counts: its 90% interval excludes zero, or, with one replicate (no
    interval), it is at least the unit's notable size."""
    if not math.isnan(row["low"]):
        return row["low"] > 0 or row["high"] < 0
    return abs(row["mean"]) >= _notable(row["unit"])


def _in_words(row: dict) -> str:
    value, unit = row["mean"], row["unit"]
    number = in_words(value)  # signed; two significant figures under 1: a difference that counts never reads "0.0"
    if unit.startswith(("%", "pts")):
        return f"{row['measure']} {number} pts"
    if unit.startswith("$bn"):
        span = unit.removeprefix("$bn, ")  # a period's total says its years: the headline's is the last 52 weeks
        total = "a year" if unit == YEAR_UNIT else f"in total over {span.removesuffix(' total')}" if unit.endswith(" total") else f"over the {span}"
        return f"{row['measure']} {number[0]}${number[1:]}bn {total}"
    cents = f"{'+' if value >= 0 else '-'}{abs(value):,.2f}" if abs(value) >= 0.01 else number  # dollars in cents
    return f"{row['measure'].lower()} {cents[0]}${cents[1:]} {unit.removeprefix('$ ').split(',')[0]}"


def answers(ensemble: Ensemble, period: tuple[int, int] | None = None) -> list[str]:
    """One sentence per what-if: its largest differences from the baseline by the horizon's end, or
    over ``period``."""
    when = f"by {ensemble.end_date.year}" if period is None else f"over {period_label(period)}"
    return answers_of(difference_rows(ensemble, period), ensemble.baseline, ensemble.names[1:], when)


def period_label(period: tuple[int, int]) -> str:
    return f"{period[0]}" if period[0] == period[1] else f"{period[0]}-{period[1]}"


KINDS = {"operating_profit": "profit", "consumer_surplus": "money", "spend_share": "shares"}  # else memberships
METRICS = {measure.label: measure.metric for measure in DIFFERENCES}


def _kind(row: dict) -> str:
    """What a difference is about, read from its measure's metric (its label's words misread "Amazon
    share of discretionary spend" as a membership): profits, other money (consumer surplus), spend
    shares (a category's too) or memberships."""
    metric = METRICS.get(row["measure"])
    if metric is None:  # not one of the report's measures: its unit says money or not
        return "money" if row["unit"].startswith("$") else "members"
    return KINDS.get(metric, "members")


def answers_of(rows: list[dict], baseline: str, what_ifs: list[str], when: str) -> list[str]:
    """One sentence per what-if from the differences' rows, in words ("Walmart+ households +5.5 pts;
    Walmart operating profit -$2.9bn a year; firms' spend shares unchanged"): four of those that
    count, each ranked by its size over its unit's notable size. Each kind's largest (a firm's
    profit, other money, spend shares, memberships) is chosen first, so that one kind cannot crowd
    out another (four membership rows, two of which add up to a third, hid a fee cut's profit;
    consumer surplus hid it too), then every other firm's profit, what a lever's question asks
    (a membership row that mirrors another hid Walmart's -$2.9bn), then the rest by rank. Only a
    row of at least its notable size earns such a place (a -0.073-point share took Walmart's
    profit's); the smaller compete by rank. A difference under a tenth of its notable size (0.01
    points, $0.01bn a year) counts but says nothing: it is left out."""
    sentences = []
    for name in what_ifs:
        mine = [row for row in rows if row["scenario"] == name and not math.isnan(row["mean"])]
        moved = sorted((row for row in mine if _moved(row)),
                       key=lambda row: -abs(row["mean"]) / _notable(row["unit"]))
        material = [row for row in moved if abs(row["mean"]) >= _notable(row["unit"]) / 10]
        notable = [row for row in material if abs(row["mean"]) >= _notable(row["unit"])]
        firsts = list({_kind(row): row for row in reversed(notable)}.values())  # each kind's largest
        firsts += [row for row in notable if _kind(row) == "profit" and row not in firsts]
        picked = (firsts + [row for row in material if row not in firsts])[:4]
        parts = [_in_words(row) for row in material if row in picked]  # in rank order
        parts += _profit_within_noise(mine, picked) + _shares_unsaid(mine, picked)
        body = "; ".join(parts) if parts else "no difference from the baseline stands out"
        sentences.append(f"{name} against {baseline}, {when}: {body}.")
    return sentences


def _shares_unsaid(rows: list[dict], picked: list[dict]) -> list[str]:
    """What a sentence that names no spend share says of them: unchanged, or that those that moved
    move by less than a tenth of their notable size (0.01 points), or than that size (0.1 points)."""
    shares = [row for row in rows if _kind(row) == "shares"]
    if not shares or any(row in picked for row in shares):
        return []
    moved = [row for row in shares if _moved(row)]
    if not moved:
        return ["firms' spend shares unchanged"]
    size = _notable(moved[0]["unit"])
    bound = size / 10 if all(abs(row["mean"]) < size / 10 for row in moved) else size
    return [f"firms' spend shares move by under {bound:g} pts"]


def _profit_within_noise(rows: list[dict], picked: list[dict]) -> list[str]:
    """The largest change of a firm's profit, when run noise holds it but it is larger than any profit
    said (a lever's own firm's profit is what its question asks): said, and said to be within noise."""
    profits = [row for row in rows if _kind(row) == "profit" and not math.isnan(row["low"])]  # noise measured
    said = max((abs(row["mean"]) for row in picked if _kind(row) == "profit"), default=0.0)
    quiet = [row for row in profits if not _moved(row) and abs(row["mean"]) > said
             and abs(row["mean"]) >= _notable(row["unit"]) / 10]
    return [f"{_in_words(max(quiet, key=lambda row: abs(row['mean'])))} (within run noise)"] if quiet else []


def differences_table(ensemble: Ensemble, period: tuple[int, int] | None = None) -> str:
    if ensemble.draws:
        return draws_table(ensemble, difference_rows(ensemble, period))
    rows = difference_rows(ensemble, period)
    what_ifs = ensemble.names[1:]
    head = "".join(f"<th>{html.escape(name)} − {html.escape(ensemble.baseline)}</th>" for name in what_ifs)
    body = []
    for measure in DIFFERENCES:
        cells = []
        for name in what_ifs:
            row = next(r for r in rows if r["measure"] == measure.label and r["scenario"] == name)
            cells.append(_mean_cell(row)[0])
        body.append(f"<tr><th>{html.escape(measure.label)} <small>{html.escape(points(row['unit']))}</small></th>"
                    f"{''.join(cells)}</tr>")
    return f'<table class="figures" id="differences-table"><tr><th></th>{head}</tr>{"".join(body)}</table>'


def _mean_cell(row: dict) -> tuple[str, bool]:
    """A difference's cell (mean and its 90% interval over seeds at one precision, bold where it
    excludes zero), and whether it does."""
    significant = not math.isnan(row["low"]) and (row["low"] > 0 or row["high"] < 0)
    return f'<td class="{"sig" if significant else ""}">{difference(row["mean"], row["low"], row["high"])[0]}</td>', significant


def draws_table(ensemble: Ensemble, rows: list[dict]) -> str:
    """The differences over parameter draws: per what-if, the mean with its run-noise interval, and
    the spread over draws (the parameters' uncertainty), each in its own column."""
    what_ifs, draws = ensemble.names[1:], len(ensemble.draws)
    head = "".join(f'<th colspan="2">{html.escape(name)} − {html.escape(ensemble.baseline)}</th>'
                   for name in what_ifs)
    sub = (f"<th>mean [90% interval over {len(ensemble.seeds)} seed(s)]</th>"
           f"<th>parameters: 5-95% over {draws} draws</th>") * len(what_ifs)
    body = []
    for measure in DIFFERENCES:
        cells = []
        for name in what_ifs:
            row = next(r for r in rows if r["measure"] == measure.label and r["scenario"] == name)
            cell, significant = _mean_cell(row)
            robust = significant and (row["parameter_low"] > 0 if row["low"] > 0 else row["parameter_high"] < 0)
            digits = difference(row["mean"], row["low"], row["high"])[1]  # the cell's precision
            cells.append(f'{cell}<td class="{"sig" if robust else ""}">{fixed(row["parameter_low"], digits, True)} to '
                         f'{fixed(row["parameter_high"], digits, True)}</td>')
        body.append(f"<tr><th>{html.escape(measure.label)} <small>{html.escape(points(row['unit']))}</small></th>"
                    f"{''.join(cells)}</tr>")
    note = (f"<p>Over {draws} draws from the calibration's posterior, each over the same seeds. The first column "
            "of each what-if is run noise: the 90% interval of the mean difference over seeds (each seed's "
            "difference averaged over the draws). The second is what the calibration leaves uncertain: the 5th "
            "to 95th percentiles, over draws, of each draw's mean difference. Bold in the first where the interval "
            "excludes zero; in the second where, besides, every draw's spread stays on that side of zero (the "
            "sign holds across the posterior).</p>")
    return (f'{note}<table class="figures" id="differences-table"><tr><th></th>{head}</tr><tr><th></th>{sub}</tr>'
            f'{"".join(body)}</table>')


def points(unit: str) -> str:
    """A difference's unit: a difference of percentages is in percentage points."""
    return unit.replace("% of households", "pts of households").replace("%", "pts") if unit.startswith("%") else unit


def yearly_table(ensemble: Ensemble) -> str:
    """Each what-if's differences year by year (bold where the 90% interval excludes zero), folded."""
    rows = yearly_difference_rows(ensemble)
    years = ensemble.years
    blocks = []
    for name in ensemble.names[1:]:
        head = "".join(f"<th>{year}</th>" for year in years)
        body = []
        for measure in DIFFERENCES:
            mine = {r["year"]: r for r in rows if r["scenario"] == name and r["measure"] == measure.label}
            unit = "$bn a year" if measure.last_year_sum else points(measure.unit)
            cells = _year_cells([mine[year] for year in years])
            body.append(f"<tr><th>{html.escape(measure.label)} <small>{html.escape(unit)}</small></th>{cells}</tr>")
        blocks.append(f"<details><summary>{html.escape(name)} − {html.escape(ensemble.baseline)}, year by year "
                      f"(each year's mean; money: the year's total; bold where the 90% interval excludes zero; "
                      f"&lt;0.01: nonzero, under the row's precision)</summary><table class=\"figures yearly\">"
                      f"<tr><th></th>{head}</tr>{''.join(body)}</table></details>")
    return "".join(blocks)


def _year_cells(rows: list[dict]) -> str:
    """A row of the year-by-year table (bold where the 90% interval excludes zero), at one precision:
    two significant figures of its largest difference, at least two decimals (it showed "3.3e-05"
    beside "0.05"); a difference too small for that reads "<0.01" (or ">-0.01"), and 0.00 is none."""
    digits = max(2, decimals(max(abs(row["mean"]) for row in rows)))
    cells = []
    for row in rows:
        text = fixed(row["mean"], digits)
        if row["mean"] and round(row["mean"], digits) == 0:
            text = f"{'<' if row['mean'] > 0 else '>-'}{10.0 ** -digits:.{digits}f}"
        cells.append(f'<td class="{"sig" if _moved(row) and not math.isnan(row["low"]) else ""}">{html.escape(text)}</td>')
    return "".join(cells)


def about(ensemble: Ensemble) -> str:
    """The resolved scenarios, seeds, versions and run times."""
    made = [r for r in ensemble.results if not r.manifest.get("reused_from")]  # loaded by --reuse: not run now
    seconds = [r.manifest.get("run_seconds", float("nan")) for r in made]
    versions = {r.manifest.get("model_version", r.manifest.get("package_version", "unknown")) for r in ensemble.results}
    seeds = ", ".join(str(s) for s in ensemble.seeds)
    facts = [
        ("Scenarios", ", ".join(ensemble.names) + f" (baseline: {ensemble.baseline})"),
        ("Seeds", seeds + f" ({ensemble.replicates} replicate(s), common to every scenario)" if not ensemble.draws else
         seeds + f" ({len(ensemble.seeds)} replicate(s) x {len(ensemble.draws)} parameter draws = "
         f"{ensemble.replicates} runs a scenario; every draw uses these seeds, and the level charts' bands pool "
         "draws and seeds)"),
        *([("Parameter draws", f"{len(ensemble.draws)}, posterior particles " + ", ".join(
            str(r.manifest.get("posterior_particle", "?")) for r in ensemble.results if r.scenario.name ==
            ensemble.baseline and r.seed == ensemble.seeds[0]) + " (the resolved scenarios below are draw 0's)")]
          if ensemble.draws else []),
        ("Households simulated", ", ".join(sorted({str(s.population.shoppers) for s in ensemble.scenarios}))),
        *([("Changed on the command line", changed)] if (changed := command_line_set(ensemble)) else []),
        ("Model version", ", ".join(sorted(versions))),
        ("Run time", (f"{np.nansum(seconds):.1f} s of simulation in all, {len(seconds)} run(s), median "
                      f"{np.nanmedian(seconds):.1f} s each" if seconds else "no run was simulated")
         + (f"; {len(ensemble.results) - len(made)} run(s) loaded from earlier results (--reuse)"
            if len(made) < len(ensemble.results) else "")),
        ("Report written by", f"retailsim {package_version()}"),
    ]
    listing = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in facts)
    blocks = []
    for scenario in ensemble.scenarios:
        text = yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
        hashes = {r.manifest.get("scenario_hash", "")[:12] for r in ensemble.results if r.scenario.name == scenario.name}
        blocks.append(f"<details><summary>{html.escape(scenario.name)}: resolved scenario "
                      f"(hash {html.escape(', '.join(sorted(hashes)))})</summary>"
                      f"<p>{html.escape(scenario.description)}</p><pre>{html.escape(text)}</pre></details>")
    return f'<table class="about">{listing}</table>{"".join(blocks)}'
