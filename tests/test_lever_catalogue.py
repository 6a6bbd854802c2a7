"""The lever catalogue: every what-if in ``scenarios/levers/`` moves what ``docs/levers.md`` says it moves.

``docs/levers.md`` has a markdown table under the heading ``## Catalogue`` with the columns
``| lever | mechanism | changes | outcome | period | sign | low | high | unit | source |``, a row per
documented effect:

- ``lever`` names ``scenarios/levers/<lever>.yaml``;
- ``outcome`` is ``metric[firm=...,category=...,segment=...,locale=...]`` (dimensions not named are
  ``all``);
- ``period`` is a year (``2030``) or a range of years (``2027-2030``): the mean of the weekly values
  dated in those calendar years;
- ``sign`` is ``+``, ``-`` or ``0`` (no claim on the sign); ``low`` and ``high`` bound the mean difference;
- ``unit`` is ``pts`` (difference of shares times 100), ``%`` (relative difference of the level,
  times 100) or ``usd_bn_per_year`` (difference of weekly US dollars times 52 over 1e9;
  ``consumer_surplus``, dollars per household a week, is first multiplied by the US households).

Each row runs the lever's what-if and the baseline on the same seeds (``SEEDS`` common seeds at
``SHOPPERS`` households, every run of the file once, on two worker processes) and checks that the
mean difference has the documented sign and lies within ``[low, high]``. The running and the
units are ``benchmarks/levers.py``'s, so a catalogue written from that benchmark's output is checked
the same way. A missing or malformed catalogue fails every catalogue test with one clear line;
``RETAILSIM_LEVER_CATALOGUE=path`` reads another file instead (for drafting one).
"""

from __future__ import annotations

import math
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from sim.cli import main as retailsim
from sim.jobs.executors import default_workers
from sim.scenario import load_scenario

from .conftest import ROOT, SCENARIOS

if str(ROOT) not in sys.path:  # benchmarks/ is a folder of scripts; workers import it by this path too
    sys.path.insert(0, str(ROOT))

from benchmarks.levers import (  # noqa: E402
    UNITS, Outcome, in_unit, lever_files, mean_interval, paired_differences, period_means, run_all,
)

CATALOGUE = ROOT / "docs" / "levers.md"
HEADING = "## Catalogue"
COLUMNS = ("lever", "mechanism", "changes", "outcome", "period", "sign", "low", "high", "unit", "source")
LEVERS = (
    "prime_fee_up", "walmart_plus_fee_cut", "amazon_rural_push", "oregon_warehouse_off", "walmart_express_wider",
    "dark_stores_scale_up", "amazon_ai_off", "ai_talent_exodus", "walmart_ai_off", "return_fraud_surge",
    "amazon_pharmacy_push", "walmart_clinics_reopen", "satellite_broadband_fast", "dsp_deal_off",
    "store_services_scale_up", "agentic_commerce_fast", "kroger_turnaround_full", "whole_foods_same_day",
    "online_growth_stalls",
)
SHOPPERS = 3000  # 20 scenarios x 2 seeds: about 140 CPU seconds (Nov 2026), 70 s on two workers
SEEDS = [2021, 557503428]  # replicate_seeds(2021, 2): the benchmark's first two seeds
WORKERS = min(2, default_workers())
PERIOD = re.compile(r"^(?P<first>\d{4})(?:\s*[-\u2013]\s*(?P<last>\d{4}))?$")
SIGNS = {"+": 1, "-": -1, "\u2212": -1, "0": 0}


class CatalogueError(ValueError):
    """A catalogue that cannot be read: one line naming the file, the line and the problem."""


@dataclass(frozen=True)
class Row:
    """One documented effect of a lever."""

    line: int
    lever: str
    mechanism: str
    changes: str
    outcome: Outcome
    first: int
    last: int
    sign: int
    low: float
    high: float
    unit: str
    source: str

    @property
    def period(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"

    @property
    def name(self) -> str:
        return f"{self.lever}:{self.outcome.label}:{self.period}:{self.unit}"


def cells(line: str) -> list[str]:
    """The cells of a table line (``\\|`` is a pipe inside a cell), stripped, without code backticks."""
    parts = re.split(r"(?<!\\)\|", line.strip().removeprefix("|").removesuffix("|"))
    return [part.replace("\\|", "|").strip().strip("`").strip() for part in parts]


def number(text: str) -> float:
    return float(text.replace("\u2212", "-"))  # a typographic minus reads as a minus


def parse_row(values: list[str], line: int, where: str) -> Row:
    """A table row as a :class:`Row`; raises CatalogueError naming the line."""
    lever, mechanism, changes, outcome, period, sign, low, high, unit, source = values

    def fail(problem: str) -> CatalogueError:
        return CatalogueError(f"{where}:{line}: {problem}")

    if not re.fullmatch(r"[a-z0-9_]+", lever):
        raise fail(f"lever {lever!r} is not a file name of scenarios/levers/ (letters, digits, _)")
    try:
        parsed = Outcome.parse(outcome)
    except ValueError as error:
        raise fail(str(error)) from None
    years = PERIOD.match(period)
    if years is None:
        raise fail(f"period {period!r} is not a year (2030) or a range of years (2027-2030)")
    first, last = int(years["first"]), int(years["last"] or years["first"])
    if last < first:
        raise fail(f"period {period!r} runs backwards")
    if sign not in SIGNS:
        raise fail(f"sign {sign!r} is not one of +, - or 0")
    try:
        bounds = number(low), number(high)
    except ValueError:
        raise fail(f"low {low!r} and high {high!r} must be numbers") from None
    if not all(map(math.isfinite, bounds)):
        raise fail(f"low {low!r} and high {high!r} must be finite numbers")
    if bounds[0] > bounds[1]:
        raise fail(f"low ({low}) is above high ({high})")
    if SIGNS[sign] > 0 and bounds[1] <= 0 or SIGNS[sign] < 0 and bounds[0] >= 0:
        raise fail(f"sign {sign} cannot hold anywhere in [{low}, {high}]")
    if unit not in UNITS:
        raise fail(f"unit {unit!r} is not one of {', '.join(UNITS)}")
    return Row(line, lever, mechanism, changes, parsed, first, last, SIGNS[sign], *bounds, unit, source)


def table_under(lines: list[str], heading_at: int) -> int | None:
    """The index of the first table line under the heading at ``heading_at``, or None when another
    heading (or the end of the file) comes first."""
    body = heading_at + 1
    while body < len(lines) and not lines[body].lstrip().startswith("|"):
        if re.match(r"#{1,2} ", lines[body]):
            return None
        body += 1
    return body if body < len(lines) else None


def table_rows(lines: list[str], body: int) -> list[tuple[int, str]]:
    """The table's rows after its header and separator (which start at ``body``), with their line
    numbers counted from 1, up to the first line that is not a table line."""
    rows = []
    for number, line in enumerate(lines[body + 2:], start=body + 3):
        if not line.lstrip().startswith("|"):
            break
        rows.append((number, line))
    return rows


def parse_catalogue(text: str, where: str) -> list[Row]:
    """The rows of the table under ``## Catalogue``; raises CatalogueError if there is none or it is
    malformed (wrong columns, a short row, a value that cannot be read)."""
    lines = text.splitlines()
    starts = [number for number, line in enumerate(lines) if line.strip() == HEADING]
    if len(starts) != 1:
        raise CatalogueError(f"{where}: needs exactly one heading '{HEADING}' (found {len(starts)})")
    body = table_under(lines, starts[0])
    if body is None:
        raise CatalogueError(f"{where}:{starts[0] + 1}: no table under '{HEADING}'")
    header = tuple(name.lower() for name in cells(lines[body]))
    if header != COLUMNS:
        raise CatalogueError(f"{where}:{body + 1}: the columns are {' | '.join(header)}; expected "
                             f"{' | '.join(COLUMNS)}")
    if body + 1 >= len(lines) or not all(re.fullmatch(r":?-{3,}:?", cell) for cell in cells(lines[body + 1])):
        raise CatalogueError(f"{where}:{body + 2}: the header needs a separator line (| --- | --- | ...)")
    rows = []
    for number, line in table_rows(lines, body):
        values = cells(line)
        if len(values) != len(COLUMNS):
            raise CatalogueError(f"{where}:{number}: {len(values)} cells; the table has {len(COLUMNS)} columns")
        rows.append(parse_row(values, number, where))
    if not rows:
        raise CatalogueError(f"{where}:{body + 1}: the table under '{HEADING}' has no rows")
    return rows


def read_catalogue(path: Path) -> list[Row]:
    """The catalogue's rows; CatalogueError if the file is missing or malformed."""
    where = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
    if not path.is_file():
        raise CatalogueError(f"{where} is missing: the lever catalogue (a table under '{HEADING}' with columns "
                             f"{' | '.join(COLUMNS)}) must document every lever in scenarios/levers/")
    return parse_catalogue(path.read_text(encoding="utf-8"), where)


CATALOGUE_PATH = Path(os.environ.get("RETAILSIM_LEVER_CATALOGUE", CATALOGUE))


def _catalogue() -> tuple[list[Row], str | None]:
    try:
        return read_catalogue(CATALOGUE_PATH), None
    except CatalogueError as error:
        return [], str(error)


ROWS, PROBLEM = _catalogue()
MISSES_HEADING = "## Bands the model misses"


def recorded_misses(text: str) -> dict[str, tuple[int, float]]:
    """The catalogue rows that ``## Bands the model misses`` records, as row names (lever, outcome,
    period and unit, as :attr:`Row.name`), each with the line of its record and the model's recorded
    difference (the first number of the ``model`` cell): a table with the columns
    ``| lever | outcome | period | unit | model | why |``."""
    lines, found = text.splitlines(), {}
    stripped = [line.strip() for line in lines]
    body = table_under(lines, stripped.index(MISSES_HEADING)) if MISSES_HEADING in stripped else None
    if body is None:
        return found
    for at, line in table_rows(lines, body):
        lever, outcome, period, unit, model, *_ = cells(line)
        recorded = re.match(r"\s*([+\-\u2212]?\d+(?:\.\d+)?)", model)
        if recorded is None:
            raise CatalogueError(f"line {at}: the model cell {model!r} does not start with the recorded difference")
        found[f"{lever}:{Outcome.parse(outcome).label}:{period}:{unit}"] = (at, number(recorded[1]))
    return found


MISSED = recorded_misses(CATALOGUE_PATH.read_text(encoding="utf-8")) if CATALOGUE_PATH.is_file() else {}


def catalogue_rows() -> list[Row]:
    """The catalogue's rows, or a test failure saying why there are none."""
    if PROBLEM is not None:
        pytest.fail(PROBLEM, pytrace=False)
    return ROWS


# -- the parser itself, on small inline catalogues -------------------------------------------------------

EXAMPLE = """\
# Levers

Some prose, and a table that is not the catalogue:

| a | b |
| - | - |

## Catalogue

What each lever does, in numbers.

| lever | mechanism | changes | outcome | period | sign | low | high | unit | source |
|-------|-----------|---------|---------|--------|------|-----|------|------|--------|
| `prime_fee_up` | Prime fee rise | amazon.prime.fee_annual 139 -> 159 | `prime_share` | 2027-2030 | - | -3 | -0.2 | pts | FACTS.md |
| dsp_deal_off | ad deal \\| DSP | amazon.ads.dsp_deal: none | operating_profit[firm=amazon] | 2030 | − | −1.0 | −0.1 | usd_bn_per_year | [a](b) |
| walmart_plus_fee_cut | fee cut | fee 98 -> 49 | spend_share[category=grocery, firm=walmart] | 2026–2030 | 0 | -0.5 | +2 | % |  |

## Next section
| not | read |
"""


def test_the_parser_reads_the_catalogue_table_and_nothing_else() -> None:
    rows = parse_catalogue(EXAMPLE, "example.md")
    assert [row.lever for row in rows] == ["prime_fee_up", "dsp_deal_off", "walmart_plus_fee_cut"]
    first, second, third = rows
    assert (first.line, first.outcome, first.first, first.last, first.sign, first.low, first.high, first.unit) == (
        14, Outcome("prime_share"), 2027, 2030, -1, -3.0, -0.2, "pts")
    assert first.changes == "amazon.prime.fee_annual 139 -> 159" and first.source == "FACTS.md"
    assert second.mechanism == "ad deal | DSP" and second.outcome == Outcome("operating_profit", firm="amazon")
    assert (second.period, second.sign, second.low, second.high) == ("2030", -1, -1.0, -0.1)
    assert third.outcome == Outcome("spend_share", firm="walmart", category="grocery")
    assert (third.period, third.sign, third.high, third.unit, third.source) == ("2026-2030", 0, 2.0, "%", "")
    assert third.name == "walmart_plus_fee_cut:spend_share[firm=walmart,category=grocery]:2026-2030:%"


def _replace(old: str, new: str) -> str:
    assert old in EXAMPLE
    return EXAMPLE.replace(old, new, 1)


@pytest.mark.parametrize("text, problem", [
    (EXAMPLE.replace("## Catalogue", "## Levers"), "example.md: needs exactly one heading '## Catalogue' (found 0)"),
    (EXAMPLE.replace("| lever | mechanism", "| name | mechanism"), "example.md:12: the columns are name | mechanism"),
    (_replace("|-------|-----------|", "| lever |-----------|"), "example.md:13: the header needs a separator line"),
    (_replace("| 2027-2030 |", "| 2030-2027 |"), "example.md:14: period '2030-2027' runs backwards"),
    (_replace("| 2027-2030 |", "| 2027 to 2030 |"), "example.md:14: period '2027 to 2030' is not a year"),
    (_replace("| - | -3 |", "| down | -3 |"), "example.md:14: sign 'down' is not one of +, - or 0"),
    (_replace("| - | -3 | -0.2 |", "| - | -0.2 | -3 |"), "example.md:14: low (-0.2) is above high (-3)"),
    (_replace("| - | -3 | -0.2 |", "| + | -3 | -0.2 |"), "example.md:14: sign + cannot hold anywhere in [-3, -0.2]"),
    (_replace("| -3 | -0.2 | pts |", "| -3 | about 0 | pts |"), "example.md:14: low '-3' and high 'about 0' must be numbers"),
    (_replace("| -0.2 | pts |", "| -0.2 | points |"), "example.md:14: unit 'points' is not one of pts, %, usd_bn_per_year"),
    (_replace("`prime_share`", "prime_shares"), "example.md:14: outcome 'prime_shares': unknown metric"),
    (_replace("`prime_share`", "prime_share[firm=target]"), "example.md:14: outcome 'prime_share[firm=target]': firm must be"),
    (_replace("`prime_share`", "prime_share[channel=x]"), "example.md:14: outcome 'prime_share[channel=x]': 'channel=x' is not"),
    (_replace("| FACTS.md |", "|"), "example.md:14: 9 cells; the table has 10 columns"),
    (_replace("`prime_fee_up`", "../baseline"), "example.md:14: lever '../baseline' is not a file name"),
])
def test_the_parser_names_the_line_and_the_problem(text: str, problem: str) -> None:
    with pytest.raises(CatalogueError) as raised:
        parse_catalogue(text, "example.md")
    assert str(raised.value).startswith(problem), str(raised.value)


def test_a_missing_catalogue_is_one_clear_line(tmp_path) -> None:
    with pytest.raises(CatalogueError, match=r"levers.md is missing: the lever catalogue \(a table under "
                                             r"'## Catalogue' with columns lever \| mechanism"):
        read_catalogue(tmp_path / "levers.md")
    with pytest.raises(CatalogueError, match="has no rows"):
        parse_catalogue(EXAMPLE.split("| `prime_fee_up`")[0], "example.md")


def test_outcome_labels_read_back_as_the_same_outcome() -> None:
    outcome = Outcome.parse("membership_share[ segment=both ]")
    assert outcome == Outcome("membership_share", segment="both") and outcome.label == "membership_share[segment=both]"
    assert Outcome.parse("consumer_surplus[locale=rural]").locale == "rural"
    for label in ("consumer_surplus", "spend_share[firm=amazon,category=grocery,locale=TX]",
                  "channel_share[category=health,segment=walmart_online,locale=urban]"):
        assert Outcome.parse(label).label == label
    with pytest.raises(ValueError, match="firm is given twice"):
        Outcome.parse("spend_share[firm=amazon,firm=walmart]")


def test_differences_in_each_unit_by_hand() -> None:
    assert in_unit(0.25, 0.20, "pts", "spend_share", 1e8) == pytest.approx(5.0)
    assert in_unit(110.0, 100.0, "%", "operating_profit", 1e8) == pytest.approx(10.0)
    assert in_unit(2e9, 1e9, "usd_bn_per_year", "operating_profit", 1e8) == pytest.approx(52.0)
    # consumer_surplus is dollars per household a week: $1 more for 100M households is $5.2bn a year
    assert in_unit(3.0, 2.0, "usd_bn_per_year", "consumer_surplus", 1e8) == pytest.approx(5.2)
    with pytest.raises(ValueError, match="baseline's level is 0"):
        in_unit(1.0, 0.0, "%", "capex", 1e8)
    mean, low, high = mean_interval([1.0, 3.0])
    assert mean == 2.0 and low < 1.0 and high > 3.0


def test_a_period_is_the_mean_of_its_weeks() -> None:
    import pandas as pd

    dates = pd.to_datetime(["2026-12-28", "2027-01-04", "2027-06-07", "2028-01-03", "2029-01-01"])
    weekly = pd.DataFrame({"date": dates, "outcome": "prime_share", "value": [9.0, 1.0, 2.0, 6.0, 9.0]})
    assert period_means(weekly, 2027, 2027)["prime_share"] == pytest.approx(1.5)
    assert period_means(weekly, 2027, 2028)["prime_share"] == pytest.approx(3.0)
    with pytest.raises(ValueError, match="no weeks recorded in 2031-2031"):
        period_means(weekly, 2031, 2031)


# -- the lever files -------------------------------------------------------------------------------------

def _plain(path: Path) -> dict:
    return load_scenario(path).model_dump(mode="json", exclude={"name", "description"})


def test_the_lever_folder_holds_exactly_the_catalogued_levers() -> None:
    assert sorted(lever_files()) == sorted(LEVERS)


@pytest.mark.parametrize("lever", LEVERS)
def test_each_lever_extends_the_baseline_changes_something_and_validates(lever: str, capsys) -> None:
    path = SCENARIOS / "levers" / f"{lever}.yaml"
    assert path.is_file(), f"{path} is missing"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("extends: ../baseline.yaml\n")
    scenario = load_scenario(path)
    # Named apart from the top-level what-ifs (amazon_rural_push, return_fraud_surge...), whose reports
    # would otherwise share reports/<name>/.
    assert scenario.name == f"lever_{lever}" and len(scenario.description) > 80
    baseline = load_scenario(SCENARIOS / "baseline.yaml")
    assert scenario.events[:len(baseline.events)] == baseline.events  # the baseline's events are kept
    assert _plain(path) != _plain(SCENARIOS / "baseline.yaml")
    assert retailsim(["validate", str(path)]) == 0
    assert f"ok (lever_{lever}," in capsys.readouterr().out


def test_the_whole_foods_lever_is_the_shipped_what_if() -> None:
    assert _plain(SCENARIOS / "levers" / "whole_foods_same_day.yaml") == _plain(SCENARIOS / "whole_foods_same_day.yaml")


# -- the catalogue against the lever files, and against the model ----------------------------------------

def test_every_lever_has_a_catalogue_row() -> None:
    documented = {row.lever for row in catalogue_rows()}
    missing = [lever for lever in LEVERS if lever not in documented]
    assert not missing, f"levers with no row in the catalogue: {', '.join(missing)}"


def test_every_recorded_miss_names_a_catalogue_row() -> None:
    """A record under '## Bands the model misses' that matches no row would excuse nothing and go stale."""
    names = {row.name for row in catalogue_rows()}
    assert set(MISSED) <= names, f"records matching no catalogue row: {sorted(set(MISSED) - names)}"


def test_the_report_warns_of_every_lever_whose_band_the_model_misses() -> None:
    """A strategist reads the report, not the catalogue: each lever recorded as missing its band has the
    report's note for a what-if that moves it (sim.report.notes.RECORDED_MISSES), and no other does."""
    from sim.report.notes import RECORDED_MISSES

    assert {name.split(":")[0] for name in MISSED} == set(RECORDED_MISSES)


def test_recorded_misses_are_read_from_their_own_table() -> None:
    text = EXAMPLE + """
## Bands the model misses

| lever | outcome | period | unit | model | why |
|---|---|---|---|---|---|
| prime_fee_up | `prime_share` | 2027-2030 | pts | +0.1 | a reason |
"""
    assert recorded_misses(text) == {"prime_fee_up:prime_share:2027-2030:pts": (len(text.splitlines()), 0.1)}
    assert recorded_misses(EXAMPLE) == {}
    with pytest.raises(CatalogueError, match="does not start with the recorded difference"):
        recorded_misses(text.replace("| +0.1 |", "| about a tenth |"))


def test_every_catalogue_row_names_a_lever_file() -> None:
    files = lever_files()
    strays = [f"line {row.line}: {row.lever}" for row in catalogue_rows() if row.lever not in files]
    assert not strays, f"catalogue rows naming no file in scenarios/levers/: {'; '.join(strays)}"


@pytest.fixture(scope="module")
def runs() -> dict:
    """The baseline and every catalogued lever at ``SEEDS`` and ``SHOPPERS``: weekly values of every
    catalogued outcome (run once for the whole file)."""
    rows = catalogue_rows()
    files = lever_files()
    scenarios = {"baseline": SCENARIOS / "baseline.yaml",
                 **{row.lever: files[row.lever] for row in rows if row.lever in files}}
    return run_all(scenarios, SEEDS, SHOPPERS, [row.outcome for row in rows], workers=WORKERS)


@pytest.mark.parametrize("row", ROWS or [None], ids=[row.name for row in ROWS] or ["catalogue"])
def test_the_lever_moves_the_outcome_as_documented(row: Row | None, request) -> None:
    catalogue_rows()  # fails with the reason when there is no catalogue to check
    if row.lever not in lever_files():
        pytest.fail(f"line {row.line}: no file scenarios/levers/{row.lever}.yaml", pytrace=False)
    runs = request.getfixturevalue("runs")
    differences = paired_differences(runs, row.lever, "baseline", SEEDS, row.outcome, row.unit, row.first, row.last)
    mean = sum(differences) / len(differences)
    said = (f"{row.lever} - baseline in {row.outcome.label} over {row.period}: mean {mean:+.4g} {row.unit} "
            f"(by seed {', '.join(f'{d:+.4g}' for d in differences)}; {SHOPPERS} households); the catalogue "
            f"(line {row.line}) says sign {'+-0'[[1, -1, 0].index(row.sign)]} within [{row.low:g}, {row.high:g}]")
    assert math.isfinite(mean), said
    met = (mean > 0 if row.sign > 0 else mean < 0 if row.sign < 0 else True) and row.low <= mean <= row.high
    if row.name in MISSED:  # a band the model misses is a finding: recorded, with why, and kept true
        line, recorded = MISSED[row.name]
        assert not met, f"{said}: the model now meets the band that line {line} records as missed; remove that record"
        assert math.copysign(1, mean) == math.copysign(1, recorded), (
            f"{said}: line {line} records the model's difference as {recorded:+g}, of the other sign: update the record")
        return
    assert met, said
