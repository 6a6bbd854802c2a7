"""Unit costs fitted per particle of a posterior (``sim.calibration.accounts``): the line through
two runs, and a posterior whose draws keep their accounts on the filings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.calibration.accounts import COSTS, FITTED, costs_of, fit_particles, solve
from sim.jobs.executors import InlineExecutor
from sim.jobs.targets import Target
from sim.run import resolve, run
from sim.scenario import load_scenario

from .conftest import SCENARIOS


def _margin(id_: str, firm: str, year: int, value: float, tolerance: float) -> Target:
    return Target(id=id_, description=id_, metric={"metric": "operating_profit", "firm": firm},
                  share_of=[{"metric": "revenue", "firm": firm}], over=[f"{year}-01-01", f"{year}-12-31"],
                  value=value, tolerance=tolerance, confidence="H", source="a test")


def test_the_fit_is_weighted_least_squares_on_the_line_through_two_runs() -> None:
    """Kroger's margins fall 0.01 and 0.02 a step ($1M a store-year) from 0.03 and 0.04; filed 0.02
    (tolerance 0.01) and 0.03 (0.02). Weighted least squares: sum w^2 s (gap - s x) = 0, with
    w = (100, 50), s = (-0.01, -0.02), gap = (-0.01, -0.01): x = (1 + 0.5) / (1 + 1) = 0.75 steps."""
    targets = [_margin("k1", "kroger", 2023, 0.02, 0.01), _margin("k2", "kroger", 2024, 0.03, 0.02)]
    low, high = pd.Series({"k1": 0.03, "k2": 0.04}), pd.Series({"k1": 0.02, "k2": 0.02})
    start = {dotted: 1.0 for dotted in COSTS}
    fitted = solve(targets, low, high, start)
    assert fitted[FITTED["kroger"][0]] == pytest.approx(1.0 + 0.75 * FITTED["kroger"][1])
    assert all(fitted[dotted] == 1.0 for firm, (dotted, _) in FITTED.items() if firm != "kroger")  # no target: kept
    later = solve(targets, low, high, start, lambda target: target.over[1].year <= 2023)  # 2023 alone: exact
    assert later[FITTED["kroger"][0]] == pytest.approx(1.0 + 1.0 * FITTED["kroger"][1])


def test_each_particle_gets_the_costs_that_put_its_own_margins_on_the_filings() -> None:
    """Two particles whose demand differs (the other grocers' assortment): each gets its own overhead
    share, and a run at it meets the one filed margin exactly (margins are linear in the cost)."""
    base = load_scenario(SCENARIOS / "baseline.yaml", {"population.shoppers": 300})
    targets = [_margin("rivals", "rivals", 2024, 0.039, 0.01)]
    particles = pd.DataFrame({"rivals.assortment.grocery": [0.8, 1.2], "weight": [0.3, 0.7]})
    with InlineExecutor() as pool:
        fitted = fit_particles(base, targets, particles, [5], pool, 1, _Bar(), "interrupted")
    assert list(fitted.columns) == ["rivals.assortment.grocery", "weight", *COSTS]
    assert fitted["weight"].tolist() == [0.3, 0.7]
    share = fitted[FITTED["rivals"][0]]
    assert share[0] != pytest.approx(share[1], rel=1e-3) and share.between(0.1, 0.4).all()
    for dotted, _ in FITTED.values():
        if dotted != FITTED["rivals"][0]:  # no target of theirs: the baseline's value, for every particle
            assert (fitted[dotted] == costs_of(base)[dotted]).all()
    for number in (0, 1):
        overrides = {"rivals.assortment.grocery": particles.iloc[number, 0], FITTED["rivals"][0]: share[number]}
        result = run(resolve(base, overrides), seed=5)
        assert targets[0].simulate(result) == pytest.approx(0.039, abs=1e-9)


def test_a_particle_no_valid_cost_fits_keeps_the_base_costs_and_weight_zero() -> None:
    """A filed margin of 95% for the other grocers would need a negative overhead share: no particle
    meets it with a valid cost, so each keeps the baseline's costs (a file the draws can read) and
    weighs nothing; a particle of weight 0 is not run at all."""
    base = load_scenario(SCENARIOS / "baseline.yaml", {"population.shoppers": 300})
    targets = [_margin("rivals", "rivals", 2024, 0.95, 0.01)]
    particles = pd.DataFrame({"rivals.assortment.grocery": [0.8, 1.2, 1.0], "weight": [0.5, 0.5, 0.0]})
    bar = _Bar()
    with InlineExecutor() as pool:
        fitted = fit_particles(base, targets, particles, [5], pool, 1, bar, "interrupted")
    assert fitted["weight"].tolist() == [0.0, 0.0, 0.0]
    assert (fitted[FITTED["rivals"][0]] == costs_of(base)[FITTED["rivals"][0]]).all()
    assert bar.runs == 4  # two live particles x (the base's costs, a step above) x one seed


def test_fitting_a_posterior_file_adds_the_costs_and_keeps_everything_else(tmp_path: Path) -> None:
    """The script's --posterior mode on a two-particle posterior rewrites it with four cost columns
    (fitted again, not appended, when they are there already)."""
    import subprocess
    import sys

    path = tmp_path / "posterior.csv"
    pd.DataFrame({"kroger.assortment.grocery": [0.3, 0.6], "weight": [0.5, 0.5]}).to_csv(path, index=False)
    script = Path(__file__).resolve().parents[1] / "calibration" / "fit_accounts.py"
    command = [sys.executable, str(script), "--posterior", str(path), "--shoppers", "200", "--replicates", "1",
               "--workers", "1"]
    subprocess.run(command, check=True, capture_output=True, text=True)
    once = pd.read_csv(path)
    assert list(once.columns) == ["kroger.assortment.grocery", "weight", *COSTS]
    assert np.isfinite(once[COSTS].to_numpy()).all()
    subprocess.run(command, check=True, capture_output=True, text=True)
    pd.testing.assert_frame_equal(pd.read_csv(path), once)


class _Bar:
    runs = 0

    def update(self, n: int) -> None:
        self.runs += n

    def set_postfix(self, **kwargs) -> None:
        pass

