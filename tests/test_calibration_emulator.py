"""The emulator method: quadratic emulators of the targets around a fitted point, a posterior
sampled on them, checked on problems whose answer is known, and the command run end to end."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from sim.calibration.bank import BANK_STORE, from_unbounded, interval
from sim.calibration.emulator import Emulator, emulator_coverage, emulator_out_of_sample, sample, values_of
from sim.calibration.fitting import calibrate
from sim.calibration.options import read_calibrated
from sim.calibration.setup import FreeParameter
from sim.cli import main
from sim.jobs.targets import Target

from .test_calibration_fit import BOUNDS, TRUTH, synthetic_setup

NOISE = 0.02


def _target(name: str, value: float, at: str = "2022-01-03", tolerance: float = NOISE) -> Target:
    return Target(id=name, description=name, metric={"metric": "prime_share"}, at=at, value=value,
                  tolerance=tolerance, confidence="H", source="a test")


def linear_problem(size: int = 600, seed: int = 1, noise: float = NOISE):
    """Two parameters on [0, 1], the fitted point at (0.35, 0.55); three noisy summaries a = x, b = y and
    c = x + y (2024), published at the values of x = 0.3, y = 0.6. A design around the point on the
    logit scale, as the method draws it."""
    rng = np.random.default_rng(seed)
    parameters = {"x": FreeParameter(range=(0.0, 1.0), why="test"), "y": FreeParameter(range=(0.0, 1.0), why="test")}
    targets = [_target("a", 0.3), _target("b", 0.6), _target("c", 0.9, at="2024-01-01")]
    calibration = SimpleNamespace(parameters=parameters, targets=targets, checks=(),
                                  setup=SimpleNamespace(seed=seed, name="linear"))
    centre = np.log(np.array([0.35, 0.55]) / (1 - np.array([0.35, 0.55])))
    z = centre + rng.normal(0.0, 1.0, (size, 2)) * np.repeat([0.5, 0.25], size // 2)[:, None]
    return calibration, simulate(calibration, z, rng, noise), centre


def simulate(calibration, z: np.ndarray, rng: np.random.Generator, noise: float = NOISE) -> pd.DataFrame:
    table = values_of(calibration, z)
    x, y = table["x"].to_numpy(), table["y"].to_numpy()
    return table.assign(**{"target.a": x + rng.normal(0, noise, len(x)), "target.b": y + rng.normal(0, noise, len(x)),
                           "target.c": x + y + rng.normal(0, noise, len(x)), "simulation": np.arange(len(x)),
                           "error": None})


def test_an_emulator_learns_a_smooth_response_and_its_error_is_the_noise() -> None:
    """The response in the parameters is smooth but not quadratic on the logit scale; the emulator's
    cross-validated error is about the run noise (0.02), and it predicts new points as well."""
    calibration, design, centre = linear_problem()
    emulator = Emulator(calibration, design, centre)
    assert emulator.error == pytest.approx([NOISE, NOISE, NOISE * 1.0], rel=0.25)
    rng = np.random.default_rng(9)
    fresh = centre + rng.normal(0.0, 0.3, (200, 2))
    truth = values_of(calibration, fresh)
    predicted = emulator.predict(fresh - centre)
    assert np.abs(predicted[:, 0] - truth["x"]).max() < 0.02
    assert np.abs(predicted[:, 2] - (truth["x"] + truth["y"])).max() < 0.03


def test_the_posterior_finds_the_published_figures_and_is_as_wide_as_their_tolerance() -> None:
    calibration, design, centre = linear_problem()
    emulator = Emulator(calibration, design, centre)
    drawn = values_of(calibration, centre + sample(emulator, calibration.targets, 1000, np.random.default_rng(3)))
    table = drawn.assign(weight=1.0)
    for name, truth in (("x", 0.3), ("y", 0.6)):
        low, high = interval(table, name)
        assert low < truth < high
        assert 0.02 < high - low < 0.15  # a tolerance of 0.02 (plus the emulator's error) each, three summaries
    assert table["x"].mean() == pytest.approx(0.3, abs=0.015)


def test_coverage_on_synthetic_truths_is_honest_and_falls_when_the_noise_is_ignored(monkeypatch) -> None:
    calibration, design, centre = linear_problem()
    emulator = Emulator(calibration, design, centre)
    rng = np.random.default_rng(5)
    particles = simulate(calibration, centre + sample(emulator, calibration.targets, 200, rng), rng)
    table = emulator_coverage(calibration, emulator, particles, truths=40, steps=4000)
    assert table["coverage"].between(0.8, 1.0).all(), table
    # Tolerances a tenth of the noise, and no emulator error: intervals too narrow to hold the truths.
    monkeypatch.setattr(emulator, "error", np.zeros(3))
    narrow = SimpleNamespace(**{**vars(calibration), "targets": [
        _target("a", 0.3, tolerance=NOISE / 10), _target("b", 0.6, tolerance=NOISE / 10),
        _target("c", 0.9, "2024-01-01", NOISE / 10)]})
    emulator.targets = narrow.targets
    overconfident = emulator_coverage(narrow, emulator, particles, truths=40, steps=4000)
    assert (overconfident["coverage"] < 0.6).all(), overconfident


def test_out_of_sample_predicts_a_later_figure_from_the_early_ones() -> None:
    """a and b (2022) pin x and y; c = x + y (2024) is then predicted within its tolerance."""
    calibration, design, centre = linear_problem()
    emulator = Emulator(calibration, design, centre)
    early, late = calibration.targets[:2], calibration.targets[2:]
    table = emulator_out_of_sample(calibration, emulator, early, late, np.random.default_rng(4))
    predicted = table.set_index("target").loc["c"]
    assert predicted["role"] == "predicted" and bool(predicted["within"])
    assert predicted["predicted_low"] < 0.9 < predicted["predicted_high"]


def test_a_design_point_on_a_bound_is_moved_inside_it() -> None:
    from sim.calibration.emulator import INSIDE, centre_of

    calibration, _, _ = linear_problem()
    centre = centre_of(calibration, {"x": 0.0, "y": 1.0})
    values = [from_unbounded(calibration.parameters[name], np.array([z]))[0] for name, z in zip("xy", centre)]
    assert values == pytest.approx([INSIDE, 1 - INSIDE])


def test_an_integer_parameter_rounded_onto_its_bound_stays_on_the_designs_scale() -> None:
    """A station lag of 39 weeks in [4, 40]: design runs round to 40, on the bound. Read on the raw
    logit scale they would sit 14 units out and stretch the design's spread (and the region the
    posterior may use) sevenfold; read as 2% inside the bound they stay near the others."""
    from sim.calibration.emulator import EDGE_Z, centre_of, first_design, scaled

    parameters = {"lag": FreeParameter(range=(4, 40), integer=True, why="test"),
                  "x": FreeParameter(range=(0.0, 1.0), why="test")}
    calibration = SimpleNamespace(parameters=parameters, targets=[_target("a", 0.3)], checks=(),
                                  setup=SimpleNamespace(seed=1, name="lag"))
    centre = centre_of(calibration, {"lag": 39, "x": 0.4})
    design = values_of(calibration, first_design(centre, 400, np.random.default_rng(2)))
    assert (design["lag"] == 40).mean() > 0.02  # some runs on the bound, enough to stretch a raw logit scale
    x = scaled(calibration, design, centre)
    assert np.abs(x + centre).max() <= EDGE_Z + 1e-9
    assert x[:, 0].std() < 1.0  # about the design's 0.4, not 2.9


def test_split_rhat_tells_agreeing_chains_from_chains_apart() -> None:
    from sim.calibration.emulator import split_rhat

    rng = np.random.default_rng(0)
    agreeing = rng.normal(0, 1, (2000, 4, 3))
    apart = agreeing + np.arange(4)[None, :, None]  # each chain around its own mean
    assert split_rhat(agreeing) < 1.01 and split_rhat(apart) > 1.5


def test_the_command_runs_resumes_and_writes_equal_weight_particles(tmp_path: Path) -> None:
    """On the synthetic model (600 households): a design of 24 and a second wave, 8 particles, around
    the point the set-up's calibrated.yaml names, written beside it (calibrated.yaml itself is kept, as
    the point meets its targets exactly on the fit's seeds);
    the same command again runs nothing new."""
    setup = synthetic_setup(tmp_path, BOUNDS)
    (tmp_path / "calibrated.yaml").write_text("# Written by `retailsim calibrate` (an earlier fit)\nparameters:\n"
                                              + "".join(f"  {k}: {v}\n" for k, v in TRUTH.items()))
    work = tmp_path / "work"
    committed = (tmp_path / "calibrated.yaml").read_text()
    result = calibrate(setup, method="emulator", budget=24, population=8, waves=2, workers=1, out=work, write=True,
                       progress=False)
    assert (tmp_path / "calibrated.yaml").read_text() == committed  # the point meets every target exactly: not moved
    assert result.chosen == pytest.approx(TRUTH)  # and it is what is checked again on fresh seeds
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "posterior.csv"), pd.read_csv(work / "posterior.csv"))
    posterior = pd.read_csv(work / "posterior.csv")
    assert len(posterior) == 8 and posterior["weight"].to_numpy() == pytest.approx(np.full(8, 1 / 8))
    assert set(result.trials["wave"]) == {0, 1, 2} and len(result.trials) == 24 + 24 + 8
    within = result.trials[result.trials["wave"] == 2]["within"]  # the particles' own runs
    assert result.diagnostics["reached"]["simulated_median"] == np.median(within)
    assert 0.9 < result.diagnostics["rhat"] < 1.5
    for name, (low, high) in BOUNDS.items():
        assert posterior[name].between(low, high).all()
    stored = len(list((work / BANK_STORE).rglob("*.json")))
    again = calibrate(setup, method="emulator", budget=24, population=8, waves=2, workers=1, out=work, write=True,
                      progress=False)
    assert len(list((work / BANK_STORE).rglob("*.json"))) == stored  # every simulation was read back, none rerun
    pd.testing.assert_frame_equal(again.trials, result.trials)
    report = (work / "report.html").read_text(encoding="utf-8")
    assert "cross-validated error" in report and "synthetic truths" in report
    assert (work / "emulator.csv").exists() and read_calibrated(tmp_path / "calibrated.yaml")["parameters"] == TRUTH
    # The point meets every target exactly on the fit's seeds (they made the targets): nothing can beat it.
    assert not result.diagnostics["moved"] and (result.diagnostics["margin"]["point"] == 0).all()
    assert "The committed point is kept" in report


def test_the_margin_point_moves_only_as_far_as_the_margin_and_within_its_reach() -> None:
    """The linear problem's point (0.35, 0.55) misses the figures of (0.3, 0.6) by 2.5 tolerances on
    a and b; the nearest point with every miss within the margin stops near the margin on the point's
    side (it does not go on to the figures); a target met with a margin does not move it; a figure out
    of reach leaves the point at the region's edge, not beyond."""
    from sim.calibration.emulator import MARGIN, REACH, nearest_with_margin

    calibration, design, centre = linear_problem()
    emulator = Emulator(calibration, design, centre)
    found = values_of(calibration, centre + nearest_with_margin(emulator, np.random.default_rng(5))[None, :]).iloc[0]
    for name, figure, side in (("x", 0.3, 1), ("y", 0.6, -1)):
        miss = (found[name] - figure) / NOISE * side
        assert MARGIN - 0.05 < miss < MARGIN + 0.15  # the penalty lets a miss sit a little past the margin
    met = [_target("a", 0.35), _target("b", 0.55), _target("c", 0.9, at="2024-01-01")]  # the point's own values
    emulator.targets = met
    assert np.abs(nearest_with_margin(emulator, np.random.default_rng(5))).max() < 0.02
    emulator.targets = [_target("a", 0.05), _target("b", 0.6), _target("c", 0.65, at="2024-01-01")]
    x = nearest_with_margin(emulator, np.random.default_rng(5))
    assert abs(x[0]) == pytest.approx(REACH * emulator.spread[0], rel=0.02)  # as far as the reach allows


class _Fits:
    """Candidates that score each parameter set by the misses it names (a stand-in for simulations)."""

    def __init__(self, misses: dict[str, list[float]]) -> None:
        self.misses = misses

    def submit(self, values: dict) -> str:
        return values["name"]

    def score(self, name: str):
        miss = self.misses[name]
        return SimpleNamespace(table=pd.DataFrame({"target": [f"t{k}" for k in range(len(miss))], "miss": miss}))


@pytest.mark.parametrize("point, margin, moved", [
    ([0.2, 1.05, 0.1], [0.9, 0.95, 0.9], True),  # more targets met, though a larger mean miss
    ([0.2, 0.95, 0.1], [0.6, 0.7, 0.6], True),  # as many: the smaller largest miss
    ([0.2, 0.7, 0.1], [0.6, 0.7, 0.6], False),  # a tie keeps the point
    ([0.2, 0.7, 1.1], [0.6, 0.7, 1.2], False),
    ([0.2, 1.05, 0.1], [0.5, 0.5, float("nan")], False),  # a target the margin point could not measure: missed
])
def test_the_margin_point_replaces_the_point_only_when_it_meets_the_targets_better(point, margin, moved) -> None:
    from sim.calibration.emulator import choose_point

    chosen, table, better = choose_point(_Fits({"p": point, "m": margin}), {"name": "p"}, {"name": "m"})
    assert better == moved and chosen == {"name": "m" if moved else "p"}
    assert table["point"].tolist() == point and table["margin"].fillna(-1).tolist() == [-1 if m != m else m
                                                                                      for m in margin]


def test_the_report_reads_both_fits_as_the_choice_ranked_them() -> None:
    """The calibration report's sentence counts what the choice counted: a target the margin point
    could not measure is missed, and the largest miss names its target."""
    from sim.calibration.emulator import choose_point
    from sim.report.calibration import margin_sentence

    _chosen, table, better = choose_point(_Fits({"p": [0.2, 1.05, 0.1], "m": [0.5, 0.5, float("nan")]}),
                                          {"name": "p"}, {"name": "m"})
    sentence = margin_sentence({"margin": table, "reach": 0.7, "margin_tolerances": 0.6, "moved": better})
    assert "the margin point (" in sentence and "met 2 of 3 targets, largest miss inf tolerances (t2)" in sentence
    assert "the committed point met 2 of 3 targets, largest miss 1.05 tolerances (t1)" in sentence
    assert sentence.endswith("The committed point is kept.")


def test_a_folder_resumes_from_the_point_it_started_from_after_moving_it(tmp_path: Path) -> None:
    """Once a run has written its margin point to calibrated.yaml, the same command in the same folder
    starts from the point the folder records (it is not refused as another calibration); a
    calibrated.yaml that another run wrote since is the start as before (and a resume is refused)."""
    import json

    from sim.calibration.options import defaults

    calibration = SimpleNamespace(calibrated_path=tmp_path / "calibrated.yaml",
                                  parameters={"x": FreeParameter(range=(0.0, 1.0), why="test")})
    calibration.calibrated_path.write_text("parameters:\n  x: 0.4\n")
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"start": {"x": 0.3}, "moved_to": {"x": 0.4}}))
    assert defaults(calibration, "emulator", 24, None, None, folder) == (24, 24, {"x": 0.3})
    calibration.calibrated_path.write_text("parameters:\n  x: 0.5\n")  # refitted by another run since
    assert defaults(calibration, "emulator", 24, None, None, folder) == (24, 24, {"x": 0.5})


@pytest.mark.parametrize("arguments, message", [
    (["--budget", "20", "--population", "21"], "--population 21: give 2 to 20 particles"),
    (["--budget", "5"], "the emulators need at least 10 simulations a wave"),
    (["--waves", "0"], "--waves 0: give 1 to 10 waves"),
])
def test_bad_emulator_options_are_one_line_before_any_work(tmp_path: Path, capsys, arguments, message) -> None:
    root = Path(__file__).resolve().parents[1]
    for name in ("setup.yaml", "targets.yaml", "checks.yaml", "accounts.yaml", "calibrated.yaml"):
        (tmp_path / name).write_text((root / "calibration" / name).read_text())
    setup = tmp_path / "setup.yaml"
    setup.write_text(setup.read_text().replace("../scenarios/baseline.yaml", str(root / "scenarios" / "baseline.yaml")))
    assert main(["calibrate", str(setup), "--method", "emulator", "--no-write", "--out", str(tmp_path / "work"),
                 "--quiet", *arguments]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and len(error.splitlines()) == 1, error
    assert not (tmp_path / "work").exists()
