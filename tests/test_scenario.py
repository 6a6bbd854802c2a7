"""Scenario files: loading, extends, events, defaults, and one-line errors for bad input."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from sim.errors import ScenarioError
from sim.scenario import Scenario, load_scenario
from sim.scenario.types import Ramp, Trend

from .conftest import SCENARIOS, SHIPPED

BASELINE_FILE = SCENARIOS / "baseline.yaml"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_scenario_validates(path: Path) -> None:
    scenario = load_scenario(path)
    # A lesson is chosen by its file's stem (the dashboard's presets); one that shares its stem with a
    # what-if is named apart, so that their results do not share a folder (see the test of names below).
    assert scenario.name == path.stem or (path.parent.name == "lessons" and scenario.name == f"{path.stem}_lesson")
    assert scenario.description.strip(), "every shipped scenario says what it asks"


def test_at_least_six_what_ifs_extend_the_baseline() -> None:
    what_ifs = [p for p in SHIPPED if p.stem != "baseline"]
    assert len([p for p in what_ifs if p.parent.name == "scenarios"]) >= 6
    for path in what_ifs:
        assert re.search(r"extends: (\.\./)?baseline.yaml", path.read_text(encoding="utf-8"))


def test_extends_overrides_and_events_accumulate(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", "name: base\namazon: {prime: {fee_annual: 119}}\n"
          "events:\n  - {date: 2022-02, set: {amazon.prime.fee_annual: 139}}\n")
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nname: child\n"
                  "walmart: {walmart_plus: {fee_annual: 79}}\n"
                  "events:\n  - {date: 2026-03, label: cut, set: {walmart.walmart_plus.fee_annual: 59}}\n")
    scenario = load_scenario(child)
    assert scenario.name == "child"
    assert scenario.amazon.prime.fee_annual == 119
    assert scenario.walmart.walmart_plus.fee_annual == 79
    assert [event.date for event in scenario.events] == [dt.date(2022, 2, 1), dt.date(2026, 3, 1)]


@pytest.mark.parametrize("event, place", [
    ("{date: 2026-03, set: {walmart.walmart_plus.fee_anual: 59}}", "events[1].set.walmart.walmart_plus.fee_anual"),
    ("{date: 2026-03, set: {walmart.walmart_plus.fee_annual: -5}}", "events[1].set.walmart.walmart_plus.fee_annual"),
    ("{date: 2036-03-02, set: {walmart.walmart_plus.fee_annual: 5}}", "events[1].date"),
])
def test_an_event_is_numbered_as_its_own_file_numbers_it(tmp_path: Path, event: str, place: str) -> None:
    """The parent's events come first in the scenario, but the user reads the file the error names."""
    write(tmp_path, "base.yaml", "name: base\nevents:\n" + "".join(
        f"  - {{date: 2022-0{month}, set: {{amazon.prime.fee_annual: 13{month}}}}}\n" for month in range(1, 6)))
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nname: child\nevents:\n"
                  "  - {date: 2026-01, set: {walmart.walmart_plus.fee_annual: 79}}\n" f"  - {event}\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(child)
    assert (caught.value.source, caught.value.place, caught.value.line) == (str(child), place, 5)


def test_a_list_set_on_the_command_line_replaces_the_files_and_its_errors_are_the_command_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "base.yaml", "name: base\nevents:\n  - {date: 2022-01, set: {amazon.prime.fee_annual: 139}}\n")
    assert load_scenario(path, {"events": []}).events == []
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, {"events": [{"date": "2022-02-07", "set": {"amazon.prime.fee_anual": 1}}]})
    assert (caught.value.source, caught.value.place) == ("--set", "events[0].set.amazon.prime.fee_anual")


def test_partial_block_keeps_the_other_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "name: p\nwalmart: {ads: {dsp_deal: 2025-10}, walmart_plus: {fee_annual: 79}}\n")
    scenario = load_scenario(path)
    defaults = Scenario()
    assert scenario.walmart.ads.revenue_share_of_sales == defaults.walmart.ads.revenue_share_of_sales == 0.0065
    assert scenario.walmart.walmart_plus.perks_value_usd == defaults.walmart.walmart_plus.perks_value_usd
    assert scenario.walmart.ads.dsp_deal == dt.date(2025, 10, 1)


def test_overrides_are_validated_like_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "o.yaml", "name: o\n")
    assert load_scenario(path, {"population.shoppers": 123}).population.shoppers == 123
    with pytest.raises(ScenarioError, match=r"--set: population.shopers: unknown key 'shopers'; did you mean 'shoppers'"):
        load_scenario(path, {"population.shopers": 123})


BAD = [
    ("syntax", "name: x\namazon:\n  prime: {fee_annual: 139\n", r"bad.yaml:\d+: column \d+: YAML syntax error"),
    ("unknown key", "name: x\nwalmart:\n  walmart_plus:\n    fe_annual: 79\n",
     r"bad.yaml:4: walmart.walmart_plus.fe_annual: unknown key 'fe_annual'; did you mean 'fee_annual'\?"),
    ("unknown top key", "name: x\namazn: {}\n", r"bad.yaml:2: amazn: unknown key 'amazn'; did you mean 'amazon'\?"),
    ("wrong type", "name: x\npopulation: {shoppers: lots}\n", r"bad.yaml:2: population.shoppers: .*integer.*'lots'"),
    ("negative fee", "name: x\namazon:\n  prime:\n    fee_annual: -5\n",
     r"bad.yaml:4: amazon.prime.fee_annual: .*greater than or equal to 0 \(got -5\)"),
    ("share above 1", "name: x\nreturns: {fraud_share_of_returns: 1.4}\n",
     r"bad.yaml:2: returns.fraud_share_of_returns: .*less than or equal to 1 \(got 1.4\)"),
    ("event outside horizon", "name: x\nevents:\n  - date: 2035-01\n    set: {amazon.prime.fee_annual: 150}\n",
     r"bad.yaml:3: events\[0\].date: date 2035-01-01 is outside the horizon; valid dates run from 2021-01-04 to 2030-12-30"),
    ("bad month", "name: x\nevents:\n  - date: 2026-13\n    set: {amazon.prime.fee_annual: 150}\n",
     r"bad.yaml:3: events\[0\].date: '2026-13' is not a valid month"),
    ("event path", "name: x\nevents:\n  - date: 2026-01\n    set: {walmart.walmart_plus.fee: 79}\n",
     r"bad.yaml:4: events\[0\].set.walmart.walmart_plus.fee: unknown key 'fee' in walmart.walmart_plus"),
    ("event value", "name: x\nevents:\n  - date: 2026-01\n    set: {walmart.walmart_plus.fee_annual: -79}\n",
     r"bad.yaml:4: events\[0\].set.walmart.walmart_plus.fee_annual: .*greater than or equal to 0 \(got -79\)"),
    ("event on structure", "name: x\nevents:\n  - date: 2026-01\n    set: {population.shoppers: 5}\n",
     r"bad.yaml:4: events\[0\].set.population.shoppers: 'population' cannot change during a run"),
    ("horizon backwards", "name: x\nhorizon: {start: 2025-01-06, end: 2024-01-01}\n",
     r"bad.yaml:2: horizon: end \(2024-01-01\) must be after start \(2025-01-06\)$"),
    ("trend backwards", "name: x\nshoppers:\n  online_gain: {start: 2024-01-01, end: 2023-01-01, per_year: 0.02}\n",
     r"bad.yaml:3: shoppers.online_gain: end \(2023-01-01\) must come after start \(2024-01-01\)$"),
    ("trend too steep", "name: x\nshoppers:\n  online_gain: {start: 2024-01-01, per_year: 0.5}\n",
     r"bad.yaml:3: shoppers.online_gain.per_year: .*less than or equal to 0.1 \(got 0.5\)"),
    ("missing extends", "extends: nothere.yaml\nname: x\n", r"bad.yaml:1: extends: file 'nothere.yaml' not found"),
    ("not a mapping", "- just\n- a list\n", r"bad.yaml: a scenario file must be a mapping"),
    ("key of another block", "name: x\nwalmart_plus: {fee_annual: 49}\n",
     r"bad.yaml:2: walmart_plus: unknown key 'walmart_plus' here; it belongs in another block: walmart.walmart_plus$"),
    ("a value's name in the wrong block", "name: x\nkroger: {turnaround: {start: 2026-02-09}}\n",
     r"bad.yaml:2: kroger.turnaround.start: unknown key 'start'; valid keys: price_cut_at_full, programme, "),
    ("value for a block", "name: x\nshoppers: {own_price_elasticity: 2}\n",
     r"bad.yaml:2: shoppers.own_price_elasticity: should be a block of keys \(grocery, discretionary, health\), "
     r"not a single value \(got 2\)$"),
    ("events as a mapping", "name: x\nevents: {date: 2026-01-01, set: {amazon.prime.fee_annual: 159}}\n",
     r"bad.yaml:2: events: should be a list of events, one '- ' line each: - \{date: 2026-01-01, set: "),
    ("tab", "name: x\nwalmart:\n\twalmart_plus: {fee_annual: 49}\n",
     r"bad.yaml:3: column 1: YAML syntax error: .* \(a tab: YAML indents with spaces only\)$"),
    ("unclosed brace", "name: x\nwalmart: {walmart_plus: {fee_annual: 49}\n",
     r"bad.yaml:2: column \d+: YAML syntax error: .* \(the text ends with a '\{', '\[' or quote opened earlier still open\)$"),
]


@pytest.mark.parametrize("text, pattern", [(t, p) for _, t, p in BAD], ids=[name for name, _, _ in BAD])
def test_bad_scenarios_give_one_clear_line(tmp_path: Path, monkeypatch, text: str, pattern: str) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "bad.yaml", text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario("bad.yaml")
    message = str(caught.value)
    assert "\n" not in message
    assert re.search(pattern, message), message


def test_extends_cycle_is_named(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "a.yaml", "extends: b.yaml\nname: a\n")
    write(tmp_path, "b.yaml", "extends: a.yaml\nname: b\n")
    with pytest.raises(ScenarioError, match=r"extends: cycle of extends: a.yaml -> b.yaml -> a.yaml"):
        load_scenario("a.yaml")


def test_error_in_a_parent_names_the_parent_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "parent.yaml", "name: parent\namazon:\n  prime: {fee_annual: -1}\n")
    write(tmp_path, "child.yaml", "extends: parent.yaml\nname: child\n")
    with pytest.raises(ScenarioError, match=r"^parent.yaml:3: amazon.prime.fee_annual"):
        load_scenario("child.yaml")


def test_json_schema_forbids_unknown_keys() -> None:
    schema = Scenario.model_json_schema()
    assert schema["additionalProperties"] is False
    assert {"amazon", "walmart", "rivals", "events", "horizon", "population"} <= set(schema["properties"])
    json.dumps(schema)


def test_ramp_levels() -> None:
    ramp = Ramp(start=dt.date(2022, 1, 1), years=2.0, initial=0.2, target=0.6)
    assert ramp.level(dt.date(2021, 12, 31)) == 0.0
    assert ramp.level(dt.date(2022, 1, 1)) == pytest.approx(0.2)
    assert ramp.level(dt.date(2023, 1, 1)) == pytest.approx(0.4, abs=1e-3)
    assert ramp.level(dt.date(2030, 1, 1)) == pytest.approx(0.6)


def test_trend_levels() -> None:
    """2% a year from 2022: 0 before, 2% after a year (365.25 days), held from its end."""
    trend = Trend(start=dt.date(2022, 1, 1), per_year=0.02)
    assert trend.level(dt.date(2021, 6, 1)) == 0.0 and trend.level(dt.date(2022, 1, 1)) == 0.0
    assert trend.level(dt.date(2023, 1, 1)) == pytest.approx(0.02 * 365 / 365.25)
    assert trend.level(dt.date(2032, 1, 1)) == pytest.approx(0.02 * 3652 / 365.25)
    held = Trend(start=dt.date(2022, 1, 1), end=dt.date(2024, 1, 1), per_year=0.02)
    assert held.level(dt.date(2030, 1, 1)) == held.level(dt.date(2024, 1, 1)) == pytest.approx(0.02 * 730 / 365.25)


def test_no_key_carries_two_bounds_of_one_kind() -> None:
    """A key typed with a bounded alias (``Capital``: at least 0) and given its own bound in ``Field``
    keeps the alias's, silently: a station at $1e-9 was accepted although the key said $1M or more."""
    from pydantic import BaseModel

    seen, twice = set(), []

    def walk(model: type[BaseModel], prefix: str) -> None:
        if model in seen:
            return
        seen.add(model)
        for name, field in model.model_fields.items():
            kinds = [type(bound).__name__ for bound in field.metadata]
            twice.extend(f"{prefix}{name}" for kind in set(kinds) if kinds.count(kind) > 1)
            for inner in (field.annotation, *getattr(field.annotation, "__args__", ())):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    walk(inner, f"{prefix}{name}.")

    walk(Scenario, "")
    assert len(seen) > 30 and twice == []
    with pytest.raises(ValueError, match="greater than or equal to 1000000"):
        Scenario(amazon={"rural": {"cost_per_station_usd": 1e-9}})


def test_a_calibrated_file_may_fit_one_year_of_a_by_year_series(tmp_path: Path) -> None:
    """As a sweep may vary it: the year joins the shipped series, the other years stay."""
    (tmp_path / "calibrated.yaml").write_text("parameters:\n  economics.price_level.index.2027: 330\n")
    (tmp_path / "s.yaml").write_text("name: s\ncalibration: calibrated.yaml\n")
    index = load_scenario(tmp_path / "s.yaml").economics.price_level.index
    assert index[2027] == 330.0 and index == {**Scenario().economics.price_level.index, 2027: 330.0}
    (tmp_path / "calibrated.yaml").write_text("parameters:\n  economics.price_level.index.soon: 330\n")
    with pytest.raises(ScenarioError, match="'soon' is not a year of 'economics.price_level.index'"):
        load_scenario(tmp_path / "s.yaml")


@pytest.mark.parametrize("named, kind", [("sweeps/delivery_lhs.yaml", "a sweep file"),
                                          ("membership_fee_war.yaml", "a scenario file"),
                                          ("games/membership_fees.yaml", "a game file")])
def test_calibration_naming_another_kind_of_file_says_which(tmp_path: Path, named: str, kind: str) -> None:
    """A sweep's parameters are ranges: 'calibration:' naming a sweep said only "should be a valid number"."""
    (tmp_path / "s.yaml").write_text(f"name: s\ncalibration: {SCENARIOS / named}\n")
    with pytest.raises(ScenarioError, match=f"is {kind}, not the calibrated parameters that 'calibration:' names"):
        load_scenario(tmp_path / "s.yaml")


def test_an_override_of_one_year_wins_over_the_files_year(tmp_path: Path) -> None:
    """The defaults hold a year of a series as text, a file as a number: an override replaces both."""
    (tmp_path / "s.yaml").write_text("name: s\neconomics:\n  price_level:\n    index: {2024: 313.689}\n")
    assert load_scenario(tmp_path / "s.yaml", {"economics.price_level.index.2024": 320.0}).economics.price_level.index[
        2024] == 320.0


def test_shipped_scenarios_have_names_of_their_own() -> None:
    """A run's default folder and a comparison's runs are named after the scenario's ``name:``, so two
    shipped scenarios of one name would write over each other's results (and could not be compared)."""
    from collections import Counter

    from sim.shipped import scenarios

    names = Counter(load_scenario(path).name for path in scenarios().values())
    assert [name for name, count in names.items() if count > 1] == []


def test_a_child_that_moves_the_horizon_starts_from_its_parents_world_as_of_then(tmp_path: Path) -> None:
    """The baseline's events run from 2022: a what-if of 2026 only inherits Prime's 2022 fee rise as the fee it
    starts with, the dark store opened in 2025 as the count, and drops the June 2026 store (after its end);
    a value the child sets itself holds; its own event outside its horizon is still refused at its line."""
    baseline = load_scenario(BASELINE_FILE)
    assert [event.date.year for event in baseline.events][:2] == [2022, 2022]
    child = tmp_path / "spring26.yaml"
    child.write_text(f"extends: {BASELINE_FILE}\nname: spring26\n"
                     "horizon: {start: 2026-01-05, end: 2026-04-27, warmup_weeks: 2}\n"
                     "walmart: {health: {clinics_open: true}}\n")
    scenario = load_scenario(child)
    assert scenario.events == []
    assert scenario.amazon.prime.fee_annual == 139 and baseline.amazon.prime.fee_annual == 119
    assert scenario.walmart.dark_stores.count == 1 and scenario.amazon.health.kiosks > 0
    assert scenario.walmart.health.clinics_open is True, "the child's own value holds over the parent's 2024 closure"
    (tmp_path / "plain.yaml").write_text(child.read_text().replace("walmart: {health: {clinics_open: true}}\n", ""))
    assert load_scenario(tmp_path / "plain.yaml").walmart.health.clinics_open is False  # closed in 2024, as inherited
    assert scenario.amazon.accounts.excess_fulfillment_cost_share == baseline.amazon.accounts.excess_fulfillment_cost_share
    # The same through the command line's --set: the file's later events are dropped, the run ends in 2022.
    short = load_scenario(BASELINE_FILE, {"horizon.end": "2022-03-07"})
    assert [event.date for event in short.events] == [dt.date(2022, 1, 1), dt.date(2022, 2, 18)]
    # A later file or --set that moves the start back finds the parent's world and events as they were.
    back = load_scenario(child, {"horizon.start": "2021-01-04"})
    assert back.amazon.prime.fee_annual == 119 and len(back.events) == len(baseline.events) - 1  # June 2026: dropped
    (tmp_path / "grandchild.yaml").write_text("extends: spring26.yaml\nname: again\nhorizon: {start: 2021-01-04}\n")
    assert load_scenario(tmp_path / "grandchild.yaml").events == back.events
    own = tmp_path / "own.yaml"
    own.write_text(child.read_text() + "events:\n  - {date: 2027-01-01, set: {walmart.dark_stores.count: 5}}\n")
    with pytest.raises(ScenarioError, match=r"own.yaml:6: events\[0\].date: date 2027-01-01 is outside the horizon"):
        load_scenario(own)


def test_a_block_set_whole_on_the_command_line_holds_over_the_events_folded_into_a_moved_start() -> None:
    """``--set amazon.prime={...}`` replaces the block, so its fee is the command line's, not the 2022 event's
    (it ran at $139 while the manifest said $159); a block given a single value is refused as without a
    moved horizon (``--set walmart=3`` ran on Walmart's defaults)."""
    moved = {"horizon.start": "2026-01-05", "horizon.end": "2026-12-28"}
    prime = {"fee_annual": 159, "perks_value_usd": 110.17, "loyalty_usd_per_order": 12}
    assert load_scenario(BASELINE_FILE, {**moved, "amazon.prime": prime}).amazon.prime.fee_annual == 159
    assert load_scenario(BASELINE_FILE, {**moved, "amazon.prime.fee_annual": 159}).amazon.prime.fee_annual == 159
    assert load_scenario(BASELINE_FILE, moved).amazon.prime.fee_annual == 139  # the 2022 rise, folded in
    for dotted, value in (("walmart", 3), ("walmart.dark_stores", 3), ("amazon", "x")):
        with pytest.raises(ScenarioError, match=f"^--set: {dotted}: should be a block of keys"):
            load_scenario(BASELINE_FILE, {**moved, dotted: value})


def test_an_inherited_event_that_sets_what_no_event_may_is_refused_for_its_path(tmp_path: Path) -> None:
    """A parent's event before a child's moved start, setting a path no event may set, was refused for its
    date ("outside the horizon"), which the parent's author did not get wrong: it is named for its path."""
    write(tmp_path, "parent.yaml", "name: p\nevents:\n  - {date: 2024-01-01, set: {population.shoppers: 500}}\n")
    child = write(tmp_path, "child.yaml", "extends: parent.yaml\nname: c\nhorizon: {start: 2026-01-05}\n")
    with pytest.raises(ScenarioError, match=r"parent.yaml:3: events\[0\].set.population.shoppers: 'population' cannot "
                                            r"change during a run"):
        load_scenario(child)
