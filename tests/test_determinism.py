"""Seeds: same scenario and seed give the same bytes; levers that differ share random numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import sim
from sim.model.geography import Geography
from sim.model.population import draw_households
from sim.results import TIMESERIES
from sim.streams import Streams

from .conftest import small


def test_same_scenario_and_seed_give_byte_identical_parquet(tmp_path: Path) -> None:
    scenario = small()
    first = sim.run(scenario, seed=11).save(tmp_path / "a")
    second = sim.run(scenario, seed=11).save(tmp_path / "b")
    assert (first / TIMESERIES).read_bytes() == (second / TIMESERIES).read_bytes()


def test_different_seeds_differ() -> None:
    scenario = small()
    a = sim.run(scenario, seed=1).series("spend_share", firm="amazon")
    b = sim.run(scenario, seed=2).series("spend_share", firm="amazon")
    assert not np.array_equal(a.to_numpy(), b.to_numpy())


def test_a_lever_changes_nothing_before_it_moves() -> None:
    """Common random numbers: a fee cut in April leaves every figure before April untouched."""
    base = small()
    cut = small(events=[{"date": "2021-04-05", "set": {"walmart.walmart_plus.fee_annual": 49}}])
    a, b = sim.run(base, seed=4).timeseries, sim.run(cut, seed=4).timeseries
    before = pd.Timestamp("2021-04-05")
    pd.testing.assert_frame_equal(a[a.date < before].reset_index(drop=True), b[b.date < before].reset_index(drop=True))
    after_a, after_b = a[a.date >= before], b[b.date >= before]
    assert not np.array_equal(after_a["value"].to_numpy(), after_b["value"].to_numpy())


def test_population_draws_do_not_depend_on_firm_levers() -> None:
    plain = small()
    changed = small(amazon__prime__fee_annual=200, walmart__express__radius_miles=30)
    a = draw_households(plain, Geography.build(plain), Streams(9))
    b = draw_households(changed, Geography.build(changed), Streams(9))
    for column in ("income", "price_utility", "store_miles", "amazon_rank", "tech_rank", "neighbours"):
        assert np.array_equal(getattr(a, column), getattr(b, column)), column


def test_named_streams_are_independent_of_creation_order() -> None:
    first, second = Streams(5), Streams(5)
    x = first["shopping.choice"].random(3)
    second["memberships.decisions"].random(10)
    assert np.array_equal(second["shopping.choice"].random(3), x)
