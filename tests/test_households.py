"""US households by year (``population.households``): the path, what it scales, and bad input."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main
from sim.model.market import RetailMarket
from sim.scenario import Scenario

from .conftest import small


def test_households_follow_the_census_path_between_mid_years() -> None:
    """ACS 1-year 2021 127.54M and 2022 129.87M, placed at mid-year: the first of January 2022 is
    their mean; held before 2020's mid-year (Census 126.82M) and after the last year; 2024 to 2025
    (ACS 132.74M, JCHS 134M) at a quarter."""
    population = Scenario().population
    assert population.households_on(dt.date(2021, 7, 2)) == pytest.approx(127.54e6, rel=1e-4)
    assert population.households_on(dt.date(2022, 1, 1)) == pytest.approx((127.54e6 + 129.87e6) / 2, rel=1e-4)
    assert population.households_on(dt.date(2019, 1, 1)) == 126.82e6
    assert population.households_on(dt.date(2024, 10, 1)) == pytest.approx(132.74e6 + 0.25 * 1.26e6, rel=1e-4)
    assert population.households_on(dt.date(2060, 1, 1)) == 148.0e6
    growth = population.households_on(dt.date(2025, 7, 2)) / population.households_on(dt.date(2021, 7, 2))
    assert growth == pytest.approx(1.0507, abs=1e-3)
    assert population.catchment_households == pytest.approx(132.74e6, rel=1e-4)


def _run(households: float) -> RetailMarket:
    # A clinic reaches a fixed number of households (a catchment counted in 2024's), so with twice
    # the households it reaches half the share: clinics are closed here.
    model = RetailMarket(small(population__shoppers=300, population__households=households,
                               walmart__health__clinics_open=False))
    model.run_model()
    return model


def test_twice_the_households_doubles_every_flow_and_leaves_every_choice() -> None:
    """The count scales what the shoppers stand for, not what they do: the same seed with twice the
    households gives the same choices and shares, and twice the sales, fees, advertising and
    fulfilment cost."""
    one, two = _run(131.3e6), _run(262.6e6)
    assert np.array_equal(one.choice, two.choice)
    a, b = (model.collector.recorder.table().set_index(["date", "metric", "firm", "category", "locale", "segment"])
            ["value"] for model in (one, two))
    for metric in ("revenue", "gmv", "membership_revenue", "ad_revenue", "fulfillment_cost"):
        rows = a.index.get_level_values("metric") == metric
        assert rows.any() and a[rows].abs().sum() > 0, metric
        assert np.allclose(b[rows], 2 * a[rows], rtol=1e-12), metric
    for metric in ("spend_share", "channel_share", "membership_share"):
        shares = a.index.get_level_values("metric") == metric
        assert shares.any() and np.allclose(b[shares], a[shares], rtol=1e-12), metric


def test_the_count_moves_every_week_and_catchments_keep_their_share() -> None:
    """Households from 100M (mid-2020) to 190M (mid-2021): the weight each shopper carries and the
    revenue rise week by week (about 30% over the half year recorded); a catchment is an area, so the
    share of households a clinic reaches (counted in 2024's households, here the last year's) does
    not move."""
    model = RetailMarket(small(population__shoppers=300, population__households={2020: 100e6, 2021: 190e6}))
    counts, weights, reach = [], [], []
    while model.running:
        model.step()
        counts.append(model.us_households)
        weights.append(model.weight)
        reach.append(model.walmart.clinic_reach.max())
    assert all(later > earlier for earlier, later in zip(counts, counts[1:]))
    assert weights == pytest.approx([count / 300 for count in counts])
    assert model.catchment_households == 190e6 and len(set(reach)) == 1 and reach[0] > 0
    revenue = model.collector.recorder.series("revenue", firm="walmart")[1]
    assert revenue[-1] > 1.15 * revenue[0]


@pytest.mark.parametrize("text, words", [
    ("population: {us_households: 1.3e8}", "'us_households' was renamed 'population.households'"),
    ("population: {households: {2023: 131.3}}", "greater than or equal to 1000000"),
    ("population: {households: 131.3}", "a flat count of US households is 1 million to 1 billion"),
    ("population: {households: {2030: 13.1e6}}", "more than doubling or halving: give every year in households"),
])
def test_a_bad_household_count_is_one_line_naming_what_is_valid(tmp_path: Path, capsys, text: str,
                                                                 words: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"name: bad\n{text}\n", encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "bad.yaml:2" in error[0] and words in error[0], error


def test_the_old_key_on_the_command_line_names_the_new_one(tiny_yaml: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["run", str(tiny_yaml), "--set", "population.us_households=1e8", "--out", str(out)]) == 2
    assert "population.households" in capsys.readouterr().err and not out.exists()


def test_a_number_in_a_file_is_a_flat_count_not_one_more_year(tmp_path: Path) -> None:
    """In a file a mapping of years adds to the shipped ones; a number replaces them: a flat count."""
    from sim.scenario import load_scenario

    path = tmp_path / "flat.yaml"
    path.write_text("name: flat\npopulation: {households: 131.4e6}\n", encoding="utf-8")
    flat = load_scenario(path).population
    assert {flat.households_on(dt.date(year, 1, 1)) for year in (2019, 2025, 2050)} == {131.4e6}
    path.write_text("name: added\npopulation: {households: {2030: 140.0e6}}\n", encoding="utf-8")
    added = load_scenario(path).population.households
    assert added[2030] == 140.0e6 and added[2024] == 132.74e6
