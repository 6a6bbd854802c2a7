"""Amazon's rural stations over the 2020 Census's rural counties (``sim/firms/rural.py``): built where each
reaches the most households not yet reached, so each reaches fewer than the one before; a cap, when a
scenario sets one, holds; the old keys name their new ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.cli import main
from sim.firms.rural import RuralLand, load_rural_counties
from sim.model.geography import Geography
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
AREA, SAME_DAY, NEXT_DAY, NEXT_AREA = 6_000.0, 0.02, 0.30, 2.0


@pytest.fixture(scope="module")
def land() -> RuralLand:
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    return RuralLand(Geography.build(scenario), 131e6)


def reached(land: RuralLand, stations: np.ndarray) -> float:
    """Households brought same-day by ``stations`` per county, written out from the Boolean model."""
    share = 1.0 - (1.0 - SAME_DAY) * np.exp(-AREA / land.land * stations)
    return float((land.households * (share - SAME_DAY)).sum())


def test_the_counties_are_the_census_rural_people_and_land() -> None:
    counties = load_rural_counties()
    assert counties["rural_population_2020"].sum() == 66_300_254  # the 2020 Census's rural people, 50 states + DC
    assert counties["rural_land_sq_mi"].sum() == pytest.approx(3_429_166, rel=1e-5)
    assert counties["county"].is_unique and (counties["rural_land_sq_mi"] > 0).all()


def test_the_households_are_the_model_s_rural_zones(land: RuralLand) -> None:
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    geography = Geography.build(scenario)
    rural = geography.zone_locale == 2
    in_zone = np.bincount(land.zone, weights=land.households, minlength=geography.n_zones)
    assert in_zone[rural] == pytest.approx(131e6 * geography.zone_share[rural], rel=1e-9)


@pytest.mark.parametrize("stations", [3.0, 40.0, 138.0])
def test_stations_go_where_each_reaches_the_most_households_not_yet_reached(land: RuralLand, stations) -> None:
    built = land.build_out(stations, AREA, SAME_DAY, NEXT_DAY, NEXT_AREA)
    assert built.stations.sum() == pytest.approx(stations, rel=1e-9) and built.beyond_cap == 0
    gain = AREA * land.density * (1.0 - built.same_day)  # what one more station in each county reaches
    with_stations = built.stations > 0
    assert gain[with_stations].max() == pytest.approx(gain[with_stations].min(), rel=1e-9)
    assert gain[~with_stations].max() <= gain[with_stations].min() * (1 + 1e-9)
    # No other placement of as many stations reaches more: spread by land, or a twentieth of a station
    # at a time where it reaches most.
    by_land = stations * land.land / land.land.sum()
    one_by_one = np.zeros_like(land.land)
    for _ in range(int(stations * 20)):
        now = AREA * land.density * np.exp(-AREA / land.land * one_by_one)
        one_by_one[np.argmax(now)] += 0.05
    best = reached(land, built.stations)
    assert best == pytest.approx(land.reached(built.same_day, SAME_DAY), rel=1e-9)
    assert best > reached(land, one_by_one) > reached(land, by_land)


def test_each_station_reaches_fewer_households_than_the_one_before(land: RuralLand) -> None:
    counts = np.arange(0.0, 2_001.0, 25.0)
    households = [land.reached(land.build_out(k, AREA, SAME_DAY, NEXT_DAY, NEXT_AREA).same_day, SAME_DAY)
                  for k in counts]
    steps = np.diff(households)
    assert (steps > 0).all() and (np.diff(steps) < 0).all()
    assert steps[0] > 5 * steps[-1]
    every = land.households.sum() * (1 - SAME_DAY)
    assert households[-1] < every and land.reached(
        land.build_out(1e6, AREA, SAME_DAY, NEXT_DAY, NEXT_AREA).same_day, SAME_DAY) > 0.999 * every


def test_next_day_reaches_further_on_the_same_stations(land: RuralLand) -> None:
    built = land.build_out(100.0, AREA, SAME_DAY, NEXT_DAY, NEXT_AREA)
    expected = 1.0 - (1.0 - NEXT_DAY) * np.exp(-NEXT_AREA * AREA / land.land * built.stations)
    assert built.next_day == pytest.approx(np.maximum(expected, built.same_day), rel=1e-12)
    none = land.build_out(0.0, AREA, SAME_DAY, NEXT_DAY, NEXT_AREA)
    assert set(none.same_day) == {SAME_DAY} and set(none.next_day) == {NEXT_DAY}


def test_a_cap_holds_and_the_stations_it_leaves_idle_are_counted(land: RuralLand) -> None:
    some = land.build_out(200.0, AREA, SAME_DAY, NEXT_DAY, NEXT_AREA, cap=0.5)
    assert some.same_day.max() == pytest.approx(0.5) and some.beyond_cap == 0
    assert some.stations.sum() == pytest.approx(200.0, rel=1e-9)
    room = (land.land / AREA * np.log((1 - SAME_DAY) / 0.5)).sum()  # stations that take every county to it
    every = land.build_out(room + 50.0, AREA, SAME_DAY, NEXT_DAY, NEXT_AREA, cap=0.5)
    assert every.same_day == pytest.approx(np.full_like(land.land, 0.5))
    assert every.beyond_cap == pytest.approx(50.0, rel=1e-6)


@pytest.mark.parametrize("old, new", [("rural_households_per_station: 180000", "amazon.rural.station_area_sq_mi"),
                                      ("towns_per_station: 60", "amazon.rural.rural_households_per_town"),
                                      ("next_day_gain_per_same_day: 2", "amazon.rural.next_day_area_per_same_day")])
def test_an_old_station_key_names_its_new_one(tmp_path: Path, capsys, old: str, new: str) -> None:
    path = tmp_path / "old.yaml"
    path.write_text(f"name: old\namazon:\n  rural:\n    {old}\n", encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "old.yaml:4" in error[0] and f"was renamed '{new}'" in error[0], error
    # The same key set by an event, as a block (an event's block is checked on its own).
    key, value = old.split(": ")
    path.write_text(f"name: old\nevents:\n  - date: 2026-03\n    set: {{amazon.rural: {{{key}: {value}}}}}\n", encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "old.yaml:4: events[0].set.amazon.rural" in error[0] and f"was renamed '{new}'" in error[0], error


def test_a_run_that_starts_late_finds_amazons_network_as_built() -> None:
    """A run from June 2025 (the programme began in June 2024; metro same-day grows from January 2021)
    starts where a run from 2021 stands then: the stations started before it, live after their lag,
    their capital depreciating, and the metros' same-day coverage."""
    import sim
    from tests.test_levers import short

    late = sim.run(short(ROOT / "scenarios" / "baseline.yaml"), seed=1)
    full = sim.run(ROOT / "scenarios" / "baseline.yaml", seed=1, overrides={"population.shoppers": 2000})
    first = late.timeseries["date"].min()
    for metric, where in [("amazon_same_day_reach", {"locale": "urban"}), ("amazon_same_day_reach", {"locale": "rural"}),
                          ("amazon_rural_stations", {"firm": "amazon"}), ("depreciation", {"firm": "amazon"})]:
        ours, theirs = late.series(metric, **where), full.series(metric, **where)
        assert ours.loc[first] == pytest.approx(theirs.loc[first], rel=1e-12), (metric, where)
    assert late.series("amazon_rural_stations", firm="amazon").loc[first] > 20  # not a network started afresh
