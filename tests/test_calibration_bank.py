"""The bank method: a posterior read from a stored bank of prior simulations (rejection ABC with
regression adjustment), checked for coverage on synthetic truths, and a bank that resumes, extends
and is reused by a refit without running anything again."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.calibration import accounts
from sim.calibration.bank import BANK_STORE, bank_fingerprint, interval, posterior, prior_design
from sim.calibration.diagnostics import coverage, out_of_sample, tradeoffs
from sim.calibration.fitting import calibrate
from sim.calibration.setup import FreeParameter, load_setup
from sim.jobs.targets import Target
from sim.cli import main
from sim.errors import ScenarioError
from sim.scenario import Scenario

from .test_calibration_fit import BOUNDS, TRUTH, synthetic_setup


# -- the method on a problem whose answer is known ------------------------------------------------
def _target(name: str, value: float, tolerance: float, at: str = "2022-01-03") -> Target:
    return Target(id=name, description=name, metric={"metric": "prime_share"}, at=at, value=value,
                  tolerance=tolerance, confidence="H", source="a test")


def linear_problem(size: int = 3000, seed: int = 1):
    """Two parameters on [0, 1], three noisy linear summaries: a = x + noise, b = y + noise and
    c = x + y + noise (so x and y trade off in c), with the 'published' figures those of x=0.3, y=0.6.
    The exact posterior is nearly Gaussian around the truth, with a spread set by the noise."""
    rng = np.random.default_rng(seed)
    parameters = {"x": FreeParameter(range=(0.0, 1.0), why="test"), "y": FreeParameter(range=(0.0, 1.0), why="test")}
    x, y = rng.uniform(size=size), rng.uniform(size=size)
    noise = 0.05
    bank = pd.DataFrame({"simulation": np.arange(size), "x": x, "y": y,
                         "target.a": x + rng.normal(0, noise, size), "target.b": y + rng.normal(0, noise, size),
                         "target.c": x + y + rng.normal(0, noise, size), "error": None})
    targets = [_target("a", 0.3, noise), _target("b", 0.6, noise), _target("c", 0.9, noise, at="2024-01-01")]
    calibration = SimpleNamespace(parameters=parameters, targets=targets, checks=(), setup=SimpleNamespace(seed=seed))
    return calibration, bank


def test_the_posterior_concentrates_on_the_truth_and_the_adjustment_sharpens_it() -> None:
    calibration, bank = linear_problem()
    adjusted = posterior(calibration, bank, accept=150)
    plain = posterior(calibration, bank, accept=150, adjust=False)
    assert adjusted["weight"].sum() == pytest.approx(1.0) and (adjusted["weight"] > 0).all()
    assert list(plain["loss"]) == sorted(plain["loss"])  # nearest first
    for name, truth in (("x", 0.3), ("y", 0.6)):
        low, high = interval(adjusted, name)
        assert low < truth < high
        assert high - low < 0.25  # the prior's 90% interval is 0.9 wide
        assert high - low < np.subtract(*interval(plain, name)[::-1])  # regression adjustment narrows it
        assert adjusted[name].between(0, 1).all()  # the logit scale keeps adjusted values in the bounds


def test_coverage_on_synthetic_truths_is_near_its_nominal_level() -> None:
    """On the linear problem the adjusted posterior's 90% intervals hold about 90% of 200 truths
    taken from the bank (a binomial 5-95% band is 0.85-0.94; an overconfident method falls below)."""
    calibration, bank = linear_problem()
    table = coverage(calibration, bank, accept=150, truths=200)
    assert table["coverage"].between(0.82, 0.97).all(), table
    # With a tenth of the acceptances the intervals are narrower but still honest in this problem;
    # what would fail is an interval that ignores the noise: shrink it and coverage collapses.
    narrow = coverage(calibration, bank.assign(**{"target.a": bank["x"], "target.b": bank["y"],
                                                   "target.c": bank["x"] + bank["y"]}), accept=150, truths=200)
    assert (narrow["mean_width"] < table["mean_width"]).all()


def test_trade_offs_and_the_out_of_sample_split() -> None:
    """c = x + y ties x and y together once a and b are left out: fitting on c (2024) alone, the
    posterior's correlation is strongly negative; a fit through 2022 (a and b) predicts c."""
    calibration, bank = linear_problem()
    only_c = SimpleNamespace(parameters=calibration.parameters, targets=calibration.targets[2:], checks=(),
                             setup=calibration.setup)
    pairs = tradeoffs(only_c, posterior(only_c, bank, accept=300, adjust=False))
    assert list(pairs[["first", "second"]].iloc[0]) == ["x", "y"] and pairs["correlation"].iloc[0] < -0.6
    table = out_of_sample(calibration, bank, accept=150, fit_through=2022).set_index("target")
    assert list(table["role"]) == ["fitted", "fitted", "predicted"]
    assert abs(table.loc["c", "predicted_mean"] - 0.9) < 0.05 and table.loc["c", "within"]
    assert table.loc["c", "predicted_low"] < 0.9 < table.loc["c", "predicted_high"]


def test_a_second_wave_narrows_the_posterior_and_stays_honest() -> None:
    """A second wave drawn near the first wave's posterior, weighed back to the prior, gives a
    narrower rejection posterior around the truth, and its 90% intervals still hold about 90% of
    synthetic truths drawn from the prior (the first wave)."""
    from sim.calibration.waves import Proposal, importance, wave_design

    calibration, first = linear_problem(size=1500)
    first = first.assign(wave=0)
    proposal = Proposal(calibration, posterior(calibration, first, accept=75, adjust=False))
    design = wave_design(calibration, proposal, 1500, wave=1)
    rng = np.random.default_rng(9)
    second = pd.DataFrame({"simulation": np.arange(1500, 3000), "wave": 1, "x": design["x"], "y": design["y"],
                           "target.a": design["x"] + rng.normal(0, 0.05, 1500),
                           "target.b": design["y"] + rng.normal(0, 0.05, 1500),
                           "target.c": design["x"] + design["y"] + rng.normal(0, 0.05, 1500), "error": None})
    assert design["x"].between(0, 1).all() and abs(design["x"].median() - 0.3) < 0.1  # drawn near the posterior
    both = pd.concat([first, second], ignore_index=True)
    weights = importance(calibration, both, {1: proposal})
    assert weights.mean() == pytest.approx(1.0) and (weights[both["wave"] == 1] < weights[both["wave"] == 0].max()).all()
    one = posterior(calibration, first, accept=75, adjust=False)
    two = posterior(calibration, both, accept=75, adjust=False, importance=weights)
    for name, truth in (("x", 0.3), ("y", 0.6)):
        low, high = interval(two, name)
        assert low < truth < high
        assert high - low < 0.8 * np.subtract(*interval(one, name)[::-1])
    table = coverage(calibration, both, accept=75, truths=150, adjust=False, importance=weights)
    assert table["coverage"].between(0.8, 0.99).all(), table


# -- the bank on the model ----------------------------------------------------------------------
def test_a_bank_resumes_extends_and_is_reused_by_a_refit(tmp_path: Path, monkeypatch) -> None:
    setup = synthetic_setup(tmp_path, BOUNDS, replicates=1)
    check = {"id": "prime_2023", "description": "a figure the fit is not given", "metric": {"metric": "prime_share"},
             "at": "2023-06-26", "value": 0.5, "tolerance": 0.02, "confidence": "H", "source": "a test"}
    (tmp_path / "checks.yaml").write_text(yaml.safe_dump({"targets": [check]}))
    setup.write_text(setup.read_text() + "checks: checks.yaml\n")
    work = tmp_path / "bank"
    first = calibrate(setup, method="bank", budget=24, population=6, workers=1, out=work, write=False,
                      progress=False, fit_through=2022)
    store = work / BANK_STORE
    assert len(list(store.glob("*.json"))) == 24
    extended = calibrate(setup, method="bank", budget=36, population=8, workers=1, out=work, write=False,
                         progress=False, fit_through=2022)
    assert len(list(store.glob("*.json"))) == 36
    columns = list(TRUTH) + ["seed", "loss"]
    pd.testing.assert_frame_equal(extended.trials[columns].iloc[:24].reset_index(drop=True), first.trials[columns])
    # The prior design covers the bounds, the first 24 of 36 are the 24 (a Sobol prefix).
    design = prior_design(load_setup(setup), 36)
    assert list(design.iloc[:24].itertuples(index=False)) == list(prior_design(load_setup(setup), 24).itertuples(index=False))
    for name, (low, high) in BOUNDS.items():
        assert design[name].between(low, high).all() and design[name].max() - design[name].min() > 0.8 * (high - low)
    # A refit with other tolerances reads the same bank and runs nothing.
    before = {path: path.stat().st_mtime_ns for path in store.glob("*.json")}
    document = yaml.safe_load((tmp_path / "targets.yaml").read_text())
    for target in document["targets"]:
        target["tolerance"] *= 2
    (tmp_path / "targets.yaml").write_text(yaml.safe_dump(document))
    # With accounts: named, each particle of the posterior written gets its unit costs fitted (one seed here).
    margin = {"id": "rivals_margin_2024", "description": "the other grocers' margin", "confidence": "H",
              "metric": {"metric": "operating_profit", "firm": "rivals"}, "share_of": [{"metric": "revenue", "firm": "rivals"}],
              "over": ["2024-01-01", "2024-12-31"], "value": 0.039, "tolerance": 0.01, "source": "a test"}
    (tmp_path / "accounts.yaml").write_text(yaml.safe_dump({"targets": [margin]}))
    setup.write_text(setup.read_text() + "accounts: accounts.yaml\n")
    monkeypatch.setattr(accounts, "PARTICLE_REPLICATES", 1)
    wider = calibrate(setup, method="bank", budget=36, population=8, workers=1, out=work, write=True, progress=False,
                      fit_through=2022)
    assert {path: path.stat().st_mtime_ns for path in store.glob("*.json")} == before
    assert wider.trials["loss"].to_numpy() == pytest.approx(extended.trials["loss"].to_numpy() / 4)
    # What it writes: the posterior beside calibrated.yaml, the checks, and a report with them.
    written = pd.read_csv(tmp_path / "posterior.csv")
    assert list(written.columns) == [*BOUNDS, *accounts.COSTS, "weight"] and len(written) == 8
    assert written["weight"].sum() == pytest.approx(1.0)
    overhead = written["rivals.accounts.overhead_share_of_sales"]
    assert overhead.between(0.1, 0.4).all() and overhead.nunique() > 1  # fitted per particle
    kept = Scenario().kroger.accounts.store_cost_per_store_year_usd
    assert (written["kroger.accounts.store_cost_per_store_year_usd"] == kept).all()  # no target: the default's
    # A refit reads the unit costs' runs from the folder's store and runs none of them again.
    runs = {path: path.stat().st_mtime_ns for path in (work / accounts.STORE).glob("*.json")}
    assert len(runs) == 16  # 8 particles x (the base's costs, a step above) x 1 seed
    calibrate(setup, method="bank", budget=36, population=8, workers=1, out=work, write=True, progress=False,
              fit_through=2022)
    assert {path: path.stat().st_mtime_ns for path in (work / accounts.STORE).glob("*.json")} == runs
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "posterior.csv"), written)
    for name, (low, high) in BOUNDS.items():
        assert written[name].between(low, high).all()
    assert set(pd.read_csv(work / "coverage.csv")["parameter"]) == set(BOUNDS)
    assert set(pd.read_csv(work / "out_of_sample.csv")["role"]) == {"fitted", "predicted"}
    calibrated = yaml.safe_load((tmp_path / "calibrated.yaml").read_text())
    assert set(calibrated["coverage_90"]) == set(BOUNDS) and "out_of_sample" in calibrated
    # The adjusted posterior is written only when its intervals hold on the synthetic truths.
    honest = min(row["adjusted"] for row in calibrated["coverage_90"].values()) >= 0.8
    assert calibrated["posterior"].startswith("regression-adjusted" if honest else "rejection only")
    assert wider.diagnostics["adjusted"] == honest
    assert "Is the posterior honest?" in (work / "report.html").read_text(encoding="utf-8")
    # The check is measured in every simulation and predicted from the accepted ones, never fitted.
    checks = pd.read_csv(work / "checks.csv").set_index("check")
    accepted = wider.trials.set_index("simulation").loc[wider.posterior["simulation"], "target.prime_2023"]
    assert checks.loc["prime_2023", "predicted_mean"] == pytest.approx(np.average(accepted, weights=wider.posterior["weight"]))
    assert checks.loc["prime_2023", "prior_within"] == pytest.approx(np.mean(np.abs(wider.trials["target.prime_2023"] - 0.5) <= 0.02))
    assert "prime_2023" not in set(wider.fit.table["target"]) and calibrated["checks"]["prime_2023"]["published"] == 0.5
    # A changed bound is a different bank: refused, the folder untouched.
    setup.write_text(setup.read_text().replace("- 150.0", "- 140.0"))
    with pytest.raises(Exception, match="holds a different calibration"):
        calibrate(setup, method="bank", budget=36, population=8, workers=1, out=work, write=False, progress=False)
    assert len(list(store.glob("*.json"))) == 36


def test_the_banks_fingerprint_follows_what_a_target_measures_not_its_published_value() -> None:
    """A bank is reused only for the same measures: a target read as a year, or as a growth, is a
    different figure of the same runs, while a new published value or tolerance needs no rerun."""
    calibration = load_setup(Path(__file__).resolve().parents[1] / "calibration" / "setup.yaml")
    revenue = next(target for target in calibration.targets if target.yearly)
    growth = next(target for target in calibration.checks if target.growth_from is not None)
    shipped = bank_fingerprint(calibration)

    def changed(target: Target, **fields) -> str:
        swap = lambda group: [Target(**{**t.model_dump(), **fields}) if t is target else t for t in group]
        return bank_fingerprint(SimpleNamespace(**{**vars(calibration), "targets": swap(calibration.targets),
                                                   "checks": tuple(swap(calibration.checks))},
                                                parameters=calibration.parameters))

    assert changed(revenue, yearly=False) != shipped
    start, end = growth.growth_from
    assert changed(growth, growth_from=(start + dt.timedelta(days=7), end)) != shipped
    assert changed(revenue, value=revenue.value * 1.1, tolerance=revenue.tolerance * 2) == shipped


def test_a_check_that_is_also_a_target_is_refused_in_one_line(tmp_path: Path) -> None:
    setup = synthetic_setup(tmp_path, BOUNDS, replicates=1)
    targets = yaml.safe_load((tmp_path / "targets.yaml").read_text())
    (tmp_path / "checks.yaml").write_text(yaml.safe_dump({"targets": targets["targets"][:1]}))
    setup.write_text(setup.read_text() + "checks: checks.yaml\n")
    with pytest.raises(ScenarioError, match="'prime_2021' is a target too"):
        load_setup(setup)


@pytest.mark.parametrize("arguments, message", [
    (["--budget", "20", "--population", "20"], "--population 20: give 2 to 19"),
    (["--budget", "20"], "--population 20 (the default for this set-up): give 2 to 19"),  # not given: said so
    (["--budget", "5"], "a bank needs at least 10 simulations"),
    (["--fit-through", "2030"], "--fit-through 2030: give a year with targets on both sides"),
    (["--waves", "0"], "--waves 0: give 1 to 10 waves"),
])
def test_bad_bank_options_are_one_line_before_any_work(tmp_path: Path, capsys, arguments, message) -> None:
    root = Path(__file__).resolve().parents[1]
    for name in ("setup.yaml", "targets.yaml", "checks.yaml", "accounts.yaml"):
        (tmp_path / name).write_text((root / "calibration" / name).read_text())
    setup = tmp_path / "setup.yaml"
    setup.write_text(setup.read_text().replace("../scenarios/baseline.yaml", str(root / "scenarios" / "baseline.yaml")))
    assert main(["calibrate", str(setup), "--method", "bank", "--no-write", "--out", str(tmp_path / "work"), "--quiet",
                 *arguments]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and len(error.splitlines()) == 1, error
    assert not (tmp_path / "work").exists()


def test_the_shipped_posterior_is_valid_for_the_shipped_baseline() -> None:
    """calibration/posterior.csv (from the emulator method) names every free parameter of the set-up and, as the
    set-up names accounts:, each fitted unit cost; each value inside its bounds; it loads for
    --parameter-draws against the shipped baseline."""
    from sim.experiments.posterior import find_posterior, load_posterior
    from sim.scenario import load_scenario

    root = Path(__file__).resolve().parents[1]
    baseline = root / "scenarios" / "baseline.yaml"
    path = find_posterior(baseline, None)
    assert path.resolve() == (root / "calibration" / "posterior.csv").resolve()
    table = pd.read_csv(path)
    setup = load_setup(root / "calibration" / "setup.yaml")
    assert setup.setup.accounts is not None
    assert list(table.columns) == [*setup.parameters, *accounts.COSTS, "weight"]
    assert (table[accounts.COSTS].nunique() > 1).all()  # fitted particle by particle
    assert table["weight"].sum() == pytest.approx(1.0) and (table["weight"] > 0).all()
    for name, parameter in setup.parameters.items():
        assert table[name].between(*parameter.range).all(), name
    loaded = load_posterior(path, load_scenario(baseline))
    assert len(loaded.draw(8, 0)) == 8
