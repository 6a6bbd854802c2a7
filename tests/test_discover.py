"""Scenario discovery: PRIM finds known boxes, and ``retailsim discover`` on a real (tiny) sweep
prints the box, writes its files, and refuses bad conditions and folders in one line, writing nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.cli import main
from sim.errors import UserError
from sim.experiments import prim
from sim.experiments.discover import BOX, REPORT, TRAJECTORY, number, parse_where
from sim.experiments.sweep import RUNS, run_sweep

FEE, PRIME = "walmart.walmart_plus.fee_annual", "amazon.prime.fee_annual"


# -- PRIM on tables whose answer is known ---------------------------------------------------------
def uniform_cases(seed: int, count: int = 2000) -> pd.DataFrame:
    return pd.DataFrame(np.random.default_rng(seed).uniform(0, 1, (count, 4)), columns=["a", "b", "c", "d"])


def test_prim_recovers_a_known_box_and_leaves_the_other_parameters_alone() -> None:
    x = uniform_cases(1)
    hit = (x["a"] >= 0.2) & (x["a"] <= 0.7) & (x["b"] >= 0.5)
    cases = prim.Cases(x, hit)
    box = prim.choose(prim.peel(cases), min_coverage=0.8)
    assert set(box.restricted) == {"a", "b"}
    assert box.limits["a"][0] == pytest.approx(0.2, abs=0.04) and box.limits["a"][1] == pytest.approx(0.7, abs=0.04)
    assert box.limits["b"][0] == pytest.approx(0.5, abs=0.04)
    assert box.coverage >= 0.8 and box.density >= 0.95
    inside = ((x["a"] >= box.limits["a"][0]) & (x["a"] <= box.limits["a"][1]) & (x["b"] >= box.limits["b"][0]))
    assert box.cases == inside.sum() and box.hits == (inside & hit).sum()
    assert box.coverage == pytest.approx((inside & hit).sum() / hit.sum())


def test_prim_on_a_grid_peels_tied_values_together_and_finds_the_exact_cells() -> None:
    grid = pd.DataFrame([(f, p) for f in range(6) for p in range(6) for _ in range(3)], columns=["fee", "prime"])
    hit = (grid["fee"] <= 2) & (grid["prime"] >= 3)
    box = prim.choose(prim.peel(prim.Cases(grid, hit)), min_coverage=1.0)
    assert box.limits == {"fee": (0.0, 2.0), "prime": (3.0, 5.0)}
    assert (box.coverage, box.density, box.cases, box.hits) == (1.0, 1.0, 27, 27)


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_peeling_trades_coverage_for_density_step_by_step(seed: int) -> None:
    x = uniform_cases(seed, 600)
    noise = np.random.default_rng(seed + 10).uniform(0, 1, len(x))
    hit = (x["c"] + 0.5 * x["d"] + 0.3 * noise) > 1.0
    trajectory = prim.peel(prim.Cases(x, hit), alpha=0.1, min_mass=0.05)
    assert trajectory[0].restricted == () and trajectory[0].mass == 1 and trajectory[0].coverage == 1
    assert len(trajectory) > 3
    for before, after in zip(trajectory, trajectory[1:]):
        assert after.density > before.density
        assert after.coverage <= before.coverage and after.cases < before.cases
        assert after.cases >= 0.05 * len(x)
        assert after.cases >= before.cases * (1 - 0.1) - 2  # one peel takes about alpha of the box
    chosen = prim.choose(trajectory, 0.5)
    assert chosen.coverage >= 0.5
    assert chosen.density == max(box.density for box in trajectory if box.coverage >= 0.5)
    assert prim.choose(trajectory, 1.0).coverage == 1.0


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), count=st.integers(5, 120), columns=st.integers(1, 3),
       levels=st.sampled_from([2, 3, 0]), share=st.floats(0.05, 0.95), min_coverage=st.floats(0.05, 1.0))
def test_every_box_counts_what_its_limits_hold(seed: int, count: int, columns: int, levels: int, share: float,
                                              min_coverage: float) -> None:
    rng = np.random.default_rng(seed)
    values = rng.integers(0, levels, (count, columns)) if levels else rng.normal(0, 1, (count, columns))
    x = pd.DataFrame(values, columns=[f"p{j}" for j in range(columns)])
    hit = rng.uniform(0, 1, count) < share
    if not hit.any():
        hit[0] = True
    cases = prim.Cases(x, hit)
    trajectory = prim.peel(cases)
    chosen = prim.choose(trajectory, min_coverage)
    for box in [*trajectory, *prim.paste(cases, chosen)]:
        inside = np.ones(count, dtype=bool)
        for name, (low, high) in box.limits.items():
            inside &= (x[name] >= low).to_numpy() & (x[name] <= high).to_numpy()
        assert (box.cases, box.hits) == (inside.sum(), (inside & hit).sum())
        assert box.coverage == pytest.approx(box.hits / hit.sum()) and box.density == pytest.approx(box.hits / box.cases)
        assert box.mass == pytest.approx(box.cases / count)
    assert chosen.coverage >= min_coverage - 1e-12 and chosen in trajectory


def test_pasting_widens_a_box_cut_too_far_where_that_raises_its_density() -> None:
    x = uniform_cases(5)
    chance = np.where(x["a"] < 0.5, np.where(x["b"] < 0.3, 0.7, 1.0), 0.1)  # the box b <= 0.3 cuts its best part
    hit = np.random.default_rng(6).uniform(0, 1, len(x)) < chance
    cases = prim.Cases(x, hit)
    narrow = cases.box(np.array([0.0, 0.0, 0.0, 0.0]), np.array([0.5, 0.3, 1.0, 1.0]), step=0)
    pasted = prim.paste(cases, narrow, alpha=0.05)
    assert pasted and all(box.pasted for box in pasted)
    densities = [narrow.density] + [box.density for box in pasted]
    assert densities == sorted(densities) and densities[-1] > narrow.density
    assert pasted[-1].limits["b"][1] > 0.9 and pasted[-1].limits["a"][1] == 0.5


def test_where_is_parsed_strictly() -> None:
    outcomes = ["both", "prime_2030"]
    assert str(parse_where(" prime_2030>=1e-1 ", outcomes)) == "prime_2030 >= 0.1"
    assert parse_where("both < -2", outcomes).value == -2
    for bad in ["both", "both = 0.1", "both == 0.1", "both > abc", "both >> 0.1", "both > 0.1 and x", "both > nan",
                "both > inf", "> 0.1", "both > 0x10", ""]:
        with pytest.raises(UserError, match="expected OUTCOME > VALUE"):
            parse_where(bad, outcomes)
    with pytest.raises(UserError, match=r"unknown outcome 'bothh'; did you mean 'both'\? the sweep's outcomes are both, "
                                        r"prime_2030$"):
        parse_where("bothh > 0.1", outcomes)


def test_limits_read_as_people_write_them() -> None:
    assert [number(v) for v in (49.0, 0.35, 2.1e9, -3.0, 1.25e-5)] == ["49", "0.35", "2.1e9", "-3", "1.25e-5"]
    # A condition's threshold is printed as given: "< 0.577" would be true of a run at 0.576667.
    assert str(parse_where("both < 0.576666", ["both"])) == "both < 0.576666"
    assert number(2.5e-7, exact=True) == "2.5e-7" and number(0.576666, exact=True) == "0.576666"


def test_a_box_as_written_holds_every_case_of_the_box() -> None:
    """Limits are written to four significant digits, rounded outwards: a lower limit of 55.66041523 (a
    case's own value) read 55.7 and shut that case out (and 0.2147 read 0.215)."""
    from sim.experiments.discover import outward

    for value in (55.66041523, 0.21472166, 153.0, 2.1e9, 49.0, 1.25e-5, -3.14159):
        low, high = float(number(outward(value, down=True))), float(number(outward(value, down=False)))
        assert low <= value <= high and (high - low) <= abs(value) * 2e-3
    assert number(outward(55.66041523, down=True)) == "55.66" and number(outward(0.21472166, down=True)) == "0.2147"


# -- the command on a real sweep ------------------------------------------------------------------
BASE = """name: tiny
population: {shoppers: 120}
horizon: {start: 2021-01-04, end: 2021-06-28, warmup_weeks: 4}
"""

SWEEP = f"""name: tiny_grid
base: base.yaml
design: grid
replicates: 2
seed: 4
parameters:
  {FEE}: {{values: [19, 89, 159]}}
  {PRIME}: {{values: [49, 229]}}
outcomes:
  both: {{metric: membership_share, segment: both, at: 2021-06-28}}
  walmart_plus: {{metric: walmart_plus_share, at: 2021-06-28}}
"""


@pytest.fixture(scope="module")
def swept(tmp_path_factory) -> Path:
    """A finished 12-run sweep (two fees, two replicates, 120 households, half a year)."""
    folder = tmp_path_factory.mktemp("discover")
    (folder / "base.yaml").write_text(BASE)
    (folder / "sweep.yaml").write_text(SWEEP)
    result = run_sweep(folder / "sweep.yaml", workers=1, out=folder / "sweep", progress=False)
    assert result.failures == 0 and len(result.runs) == 12
    return folder / "sweep"


def middle(swept: Path, outcome: str = "both") -> float:
    """A value some runs exceed and some do not."""
    values = np.sort(pd.read_parquet(swept / RUNS)[outcome].unique())
    assert len(values) > 2
    return float((values[len(values) // 2 - 1] + values[len(values) // 2]) / 2)


def test_discover_prints_the_box_and_writes_its_files(swept: Path, capsys) -> None:
    value = middle(swept)
    where = f"both > {value:.6f}"
    assert main(["discover", str(swept), "--where", where]) == 0
    printed = capsys.readouterr().out.splitlines()
    runs = pd.read_parquet(swept / RUNS)
    hits = int((runs["both"] > round(value, 6)).sum())
    assert printed[0].startswith(f"both > {round(value, 6)!r} holds in {hits} of 12 runs")
    out = swept.parent / "sweep-discover" / f"both-gt-{round(value, 6):g}"
    assert printed[-3:] == [f"box: {out / BOX}", f"trajectory: {out / TRAJECTORY}", f"report: {out / REPORT}"]
    box = pd.read_csv(out / BOX)
    assert list(box["parameter"]) == [FEE, PRIME]
    # the printed coverage and density are those of the written limits, counted again on the runs
    inside = np.ones(len(runs), dtype=bool)
    for row in box.itertuples():
        inside &= (runs[row.parameter] >= row.low) & (runs[row.parameter] <= row.high)
    meet = runs["both"] > round(value, 6)
    coverage, density = (inside & meet).sum() / meet.sum(), (inside & meet).sum() / inside.sum()
    assert printed[1].startswith("box (the densest with coverage >= 0.8): ")
    assert f": coverage {coverage:.2f}, density {density:.2f}, {inside.sum()} of 12 runs" in printed[1]
    assert coverage >= 0.8 and box["restricted"].any()
    trajectory = pd.read_csv(out / TRAJECTORY)
    assert trajectory["chosen"].sum() == 1 and trajectory.loc[0, "coverage"] == 1
    assert trajectory["density"].is_monotonic_increasing
    page = (out / REPORT).read_text(encoding="utf-8")
    assert "<script src" not in page and 'id="figure-trajectory"' in page and 'id="figure-limits"' in page
    for row in box[box["restricted"]].itertuples():  # each limit's quasi-p-value, in the report's words too
        for side, value in (("lower", row.quasi_p_low), ("upper", row.quasi_p_high)):
            assert (f"{side} limit {value:.2g}" in page) == (value == value), (row.parameter, side, value)
    assert json.loads((out / "manifest.json").read_text())["kind"] == "discover"
    assert sorted(p.name for p in swept.iterdir()) == ["manifest.json", "report.html", "runs.parquet",
                                                        "sensitivity.parquet", "store"], "the sweep folder is untouched"
    assert main(["discover", str(swept), "--where", where]) == 0
    assert "replaced: the earlier discovery" in capsys.readouterr().out


def test_discover_by_design_point_averages_the_replicates(swept: Path) -> None:
    found = sim.discover(swept, where=f"both > {middle(swept)}", by="point", min_coverage=0.5, paste=True)
    assert found.cases == 6 and found.by == "point"
    means = pd.read_parquet(swept / RUNS).groupby("point")["both"].mean()
    assert found.hits == int((means > middle(swept)).sum())
    assert found.chosen.coverage >= 0.5 and " of 6 points" in found.box_in_words()
    assert list(found.trajectory.columns[:6]) == ["step", "cases", "hits", "coverage", "density", "mass"]


def assert_refused(args: list[str], message: str, capsys, watched: Path) -> None:
    before = sorted(p.name for p in watched.iterdir())
    assert main(args) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error, error
    assert sorted(p.name for p in watched.iterdir()) == before, "nothing is written"


@pytest.mark.parametrize("where, message", [
    ("both >> 0.1", "expected OUTCOME > VALUE (or <, >=, <=) with a plain number"),
    ("both", "expected OUTCOME > VALUE"),
    ("prime_2030 > 0.1", "unknown outcome 'prime_2030'; the sweep's outcomes are both, walmart_plus"),
    ("both > 5", "both > 5: no run of the sweep meets it (both runs from"),
    ("both >= -1", "both >= -1: every run of the sweep meets it"),
])
def test_bad_conditions_are_one_line_and_write_nothing(swept: Path, capsys, where: str, message: str) -> None:
    assert_refused(["discover", str(swept), "--where", where], message, capsys, swept.parent)


def test_folders_that_are_not_finished_sweeps_are_refused(swept: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert_refused(["discover", str(tmp_path), "--where", "both > 0.1"], "not a sweep folder", capsys, tmp_path)
    assert_refused(["discover", str(tmp_path / "nope"), "--where", "both > 0.1"], "not a folder", capsys, tmp_path)
    running = tmp_path / "running"
    running.mkdir()
    manifest = json.loads((swept / "manifest.json").read_text())
    (running / "manifest.json").write_text(json.dumps({**manifest, "status": "running"}))
    assert_refused(["discover", str(running), "--where", "both > 0.1"], "the sweep is not finished", capsys, tmp_path)
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "manifest.json").write_text(json.dumps(manifest))
    (damaged / RUNS).write_bytes(b"PAR1 not really")
    assert_refused(["discover", str(damaged), "--where", "both > 0.1"], f"its {RUNS} cannot be read", capsys, tmp_path)
    runs = pd.read_parquet(swept / RUNS)
    runs.assign(**{FEE: np.nan}).to_parquet(damaged / RUNS)  # a parameter's values lost (edited by hand)
    assert_refused(["discover", str(damaged), "--where", "both > 0.1"],
                   f"holds a missing or infinite value of {FEE} in a measured run; the folder is damaged", capsys, tmp_path)
    assert_refused(["discover", str(swept), "--where", f"both > {middle(swept)}", "--out", str(tmp_path)],
                   "was not written by retailsim", capsys, tmp_path)
    assert_refused(["discover", str(swept), "--where", "both > 0.1", "--min-coverage", "1.5"],
                   "--min-coverage: expected a number in (0, 1]", capsys, tmp_path)


def test_a_limit_that_leaves_out_nothing_more_is_dropped_and_each_limit_has_its_quasi_p_value() -> None:
    """A peel that later peels made redundant restricted nothing but read as a limit (a sweep's box named
    the express radius and fraud's share beside the fee, whose limit alone picked the same 48 points);
    the quasi-p-values are EMA Workbench's one-sided binomial test of each limit."""
    a = np.arange(20) % 10
    cases = prim.Cases(pd.DataFrame({"a": a, "b": a, "c": np.arange(20) // 10}), a <= 4)
    box = cases.box(np.array([0, 0, 0]), np.array([4, 6, 1]), step=3)
    assert box.restricted == ("a", "b")
    pruned = prim.prune(cases, box)
    assert pruned.restricted == ("a",) and pruned.limits["b"] == (0.0, 9.0) and pruned.step == 3
    assert (pruned.cases, pruned.hits, pruned.coverage, pruned.density) == (box.cases, box.hits, 1.0, 1.0)
    assert prim.prune(cases, pruned) is pruned
    # On the trajectory the chosen box's row lists the limits it is written with, not the peel's.
    start = cases.box(*cases.span, step=0)
    trajectory, chosen = prim.prune_chosen(cases, [start, box], box)
    assert chosen == pruned and trajectory[0] is start
    rows = prim.trajectory_table(trajectory, chosen)
    assert list(rows["restricted"]) == ["", "a"] and list(rows["chosen"]) == [False, True]
    (low, high), = prim.quasi_p(cases, pruned).values()
    assert np.isnan(low) and high == pytest.approx(0.5 ** 10, rel=1e-12)  # 10 of 10 where half meet it
    # A limit that adds nothing to the density has a quasi-p of 1; one that does, a small one.
    weak = cases.box(np.array([0, 0, 0]), np.array([4, 9, 0]), step=2)
    assert weak.restricted == ("a", "c") and prim.prune(cases, weak) is weak
    values = prim.quasi_p(cases, weak)
    assert values["a"][1] == pytest.approx(0.5 ** 5, rel=1e-12) and values["c"][1] == pytest.approx(1.0)
    table = prim.box_table(cases, weak).set_index("parameter")
    assert table.loc["c", "quasi_p_high"] == pytest.approx(1.0) and table[["quasi_p_low"]].isna().all().all()
    # A parameter limited on both sides has one value a side, each widening that side alone (EMA's
    # calculate_qp): here the cases of a from 2 to 7 meet it, and the box holds a from 2 to 6.
    both = prim.Cases(pd.DataFrame({"a": a}), (a >= 2) & (a <= 7))
    (low, high), = prim.quasi_p(both, both.box(np.array([2]), np.array([6]), step=2)).values()
    # 10 cases, all meeting it; without the low limit 14 of which 10 meet it, without the high one 16 of 12.
    assert low == pytest.approx((10 / 14) ** 10, rel=1e-9) and high == pytest.approx((12 / 16) ** 10, rel=1e-9)


def test_a_discovery_written_from_python_replaces_only_its_own_folder(swept: Path, tmp_path: Path) -> None:
    """``Discovery.write`` skipped the command's check: it replaced a user's folder, the sweep folder
    itself, or a run's results, without a word."""
    from sim.experiments.discover import discover

    found = discover(swept, where=f"both > {middle(swept)}")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious")
    before = sorted(p.name for p in swept.iterdir())
    for folder, words in ((mine, "exists and was not written by retailsim"),
                          (swept, "holds retailsim's sweep results, which this command does not replace")):
        with pytest.raises(UserError, match=re.escape(words)):
            found.write(folder)
    assert (mine / "notes.txt").read_text() == "precious" and sorted(p.name for p in swept.iterdir()) == before
    assert found.write(tmp_path / "new") == tmp_path / "new" and (tmp_path / "new" / BOX).is_file()
    assert found.write(str(tmp_path / "new")) == tmp_path / "new", "its own discovery is replaced"
