"""Games: hand-computed tables solved exactly (no simulation), run noise told apart from real gains,
bad game files refused in one line before any work, and a small real game played end to end
through the command line, resumed after an interruption without rerunning finished cells."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import sim
from sim.cli import main
from sim.experiments.equilibria import PayoffTable, best_responses, nash_equilibria, solve
from sim.experiments.game import EQUILIBRIA, PAYOFFS, REPORT, STORE

DUO = ("walmart", "amazon")


def table(means, strategies=(("a", "b"), ("x", "y")), players=DUO) -> PayoffTable:
    return PayoffTable.from_means(players, strategies, means)


def test_prisoners_dilemma_has_one_equilibrium_both_defect() -> None:
    # (row payoff, column payoff); cooperate = 0, defect = 1: defecting is dominant for both.
    pd_table = table([[(-1, -1), (-3, 0)], [(0, -3), (-2, -2)]], (("cooperate", "defect"),) * 2)
    assert nash_equilibria(pd_table) == [(1, 1)]
    best = best_responses(pd_table)
    assert best[..., 0].tolist() == [[False, False], [True, True]]  # the row player defects whatever the column does
    assert best[..., 1].tolist() == [[False, True], [False, True]]
    from sim.report.game import summary_lines

    lines = summary_lines("pd", "operating_profit", (2026, 2030), solve(pd_table))
    assert any(line.startswith("Nash equilibrium: Walmart defect and Amazon defect") for line in lines)


def test_the_report_draws_an_arrow_from_every_cell_a_firm_would_leave_and_outlines_the_equilibrium() -> None:
    from sim.report.game import payoff_heatmaps

    dilemma = solve(table([[(-1, -1), (-3, 0)], [(0, -3), (-2, -2)]], (("cooperate", "defect"),) * 2))
    figure = payoff_heatmaps(dilemma)
    arrows = [a for a in figure.layout.annotations if a.showarrow]
    assert len(arrows) == 4  # each firm leaves "cooperate" in two cells
    assert {(round(a.ay), round(a.y)) for a in arrows if a.xref == "x"} == {(0, 1)}  # the row firm: down to defect
    assert {(round(a.ax), round(a.x)) for a in arrows if a.xref == "x2"} == {(0, 1)}  # the column firm: right
    outlines = [shape for shape in figure.layout.shapes if shape.type == "rect"]
    assert len(outlines) == 2 and {(s.x0 + 0.5, s.y0 + 0.5) for s in outlines} == {(1.0, 1.0)}


def test_a_coordination_game_has_both_equilibria_and_matching_pennies_none() -> None:
    battle = table([[(2, 1), (0, 0)], [(0, 0), (1, 2)]])
    assert nash_equilibria(battle) == [(0, 0), (1, 1)]
    pennies = solve(table([[(1, -1), (-1, 1)], [(-1, 1), (1, -1)]]))
    assert pennies.equilibria == [] and pennies.near == []
    from sim.report.game import summary_lines

    assert any(line.startswith("No pure-strategy Nash equilibrium") for line in
               summary_lines("pennies", "operating_profit", (2026, 2026), pennies))


def test_ties_make_every_tied_strategy_a_best_response() -> None:
    # The row player is indifferent when the column plays x; the column player strictly prefers x.
    tied = table([[(3, 1), (0, 0)], [(3, 2), (1, 0)]])
    best = best_responses(tied)
    assert best[:, 0, 0].tolist() == [True, True]  # both rows tie against x
    assert best[:, 1, 0].tolist() == [False, True]
    assert nash_equilibria(tied) == [(0, 0), (1, 0)]


def test_three_players_with_dominant_strategies() -> None:
    # Each firm earns its own strategy's index plus a small externality from the others': 1 is dominant.
    sizes = (2, 2, 3)
    means = np.zeros((*sizes, 3))
    for profile in np.ndindex(*sizes):
        for i in range(3):
            means[profile][i] = profile[i] + 0.1 * sum(profile) - 0.1 * profile[i]
    trio = PayoffTable.from_means(("amazon", "walmart", "kroger"), [("0", "1"), ("0", "1"), ("0", "1", "2")], means)
    assert nash_equilibria(trio) == [(1, 1, 2)]
    from sim.report.game import best_response_html

    assert best_response_html(solve(trio)).count("<tr") == 1 + 12


def test_a_gain_within_run_noise_is_not_called_distinguishable() -> None:
    # The row player gains 0.1 by playing b against x; the column player plays x whatever the row does.
    means = np.array([[(2.0, 1.0), (0.0, 0.0)], [(2.1, 1.0), (0.0, 0.0)]])
    strategies = (("a", "b"), ("x", "y"))
    exact = solve(PayoffTable(DUO, strategies, means[..., None] + np.zeros(6)))
    assert exact.equilibria == [(1, 0)] and exact.near == [] and exact.robust((1, 0)) is True
    # Independent noise of sd 1 per run (no common seeds): 0.1 is within it, and the solution says so.
    noise = np.random.default_rng(7).normal(0, 1.0, size=(2, 2, 2, 6))
    noisy = solve(PayoffTable(DUO, strategies, means[..., None] + noise))
    row_switch = next(d for d in noisy.deviations((1, 0)) if d.player == 0)
    assert row_switch.distinguishable is False and row_switch.se > 0.3
    assert {(0, 0), (1, 0)} <= set(noisy.equilibria + noisy.near), "neither profile can be told from the other"
    assert noisy.robust((1, 0)) is False
    # The same noise in every cell of a replicate (common seeds) cancels in the paired differences.
    shared = solve(PayoffTable(DUO, strategies, means[..., None] + noise[0, 0, 0]))
    assert shared.equilibria == [(1, 0)] and shared.near == [] and shared.robust((1, 0)) is True


def test_a_table_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="expected"):
        PayoffTable(DUO, (("a", "b"), ("x",)), np.zeros((2, 2, 2, 1)))


BASE = """name: tiny
population: {shoppers: 120}
horizon: {start: 2021-01-04, end: 2021-12-27, warmup_weeks: 2}
"""

GAME = """name: tiny_game
base: base.yaml
players:
  walmart:
    walmart.walmart_plus.fee_annual: [49, 98]
  amazon:
    amazon.prime.fee_annual: [119, 159]
payoff: {metric: operating_profit, period: 2021}
replicates: 2
seed: 4
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / "base.yaml").write_text(BASE)
    (tmp_path / "game.yaml").write_text(GAME)
    monkeypatch.chdir(tmp_path)
    return tmp_path


BAD = [
    ("unknown lever", "walmart.walmart_plus.fee_annual:", "walmart.walmart_plus.fee_anual:",
     r"game.yaml:\d+: players.walmart.walmart.walmart_plus.fee_anual: unknown key 'fee_anual' in "
     r"walmart.walmart_plus; did you mean 'fee_annual'\?"),
    ("out of bounds", "[49, 98]", "[49, -5]", r"players.walmart.walmart.walmart_plus.fee_annual: -5 is not valid here"),
    ("unknown firm", "  amazon:\n", "  amazn:\n", r"game.yaml:\d+: players.amazn: unknown firm 'amazn'; did you mean 'amazon'\?"),
    ("empty options", "[119, 159]", "[]", r"players.amazon.amazon.prime.fee_annual: the option list is empty"),
    ("one option twice", "[119, 159]", '[119, "119"]',
     r"players.amazon.amazon.prime.fee_annual: option '119' is the same value as 119, listed before it"),
    ("a date lever", "amazon.prime.fee_annual: [119, 159]", "amazon.rural.end: [2025-01-01, 2027-01-01]",
     r"players.amazon.amazon.rural.end: 'amazon.rural.end' is a date, and dates cannot be chosen yet"),
    ("too large", "[119, 159]", "[" + ", ".join(str(100 + k) for k in range(300)) + "]",
     r"players: the payoff table has 2 x 300 = 600 cells, over the limit of 512"),
    ("another firm's lever", "    amazon.prime.fee_annual", "    walmart.dark_stores.count",
     r"players.amazon.walmart.dark_stores.count: a player's levers live under its own block"),
    ("period outside", "period: 2021", "period: 2026-2030", r"payoff.period: 2026-2030 is outside the base scenario's "
     r"horizon \(2021-01-04 to 2021-12-27\); choose years from 2021 to 2021, or a horizon that covers them"),
    ("period outside a horizon of no whole year", "period: 2021}\n", "period: 2023}\nset: {horizon.end: 2021-06-28}\n",
     r"payoff.period: 2023-2023 is outside the base scenario's horizon \(2021-01-04 to 2021-06-28\); it holds no "
     r"whole year: a horizon that covers them"),
    ("period part of a year", "seed: 4\n", "seed: 4\nset: {horizon.end: 2021-03-29}\n",
     r"payoff.period: 2021-2021 is not whole in the base scenario's horizon \(2021-01-04 to 2021-03-29\): its payoff "
     r"would sum part of a year; it holds no whole year: a horizon that covers them"),
    ("set a block whole", "seed: 4\n", "seed: 4\nset: {memberships: {taste_sd_usd: 50}}\n",
     r"game.yaml:\d+: set.memberships: sets the block memberships whole, so the keys it does not name take their "
     r"defaults, not the base scenario's; give each key by its path, e.g. memberships.taste_sd_usd: 50"),
    ("not money", "metric: operating_profit", "metric: spend_share", r"payoff.metric: .*not a firm's money metric"),
    ("one player", "  amazon:\n    amazon.prime.fee_annual: [119, 159]\n", "", r"players: a game needs at least two players"),
    ("fee chosen before strategic fees", "seed: 4\n", "seed: 4\nset: {conduct: strategic}\n",
     r"players.walmart.walmart.walmart_plus.fee_annual: under strategic conduct walmart chooses this fee itself from "
     r"strategy.fees_from \(2026-01-01\), and a fee chosen on 2021-01-04 is history to it; start the payoff period in "
     r"2026 or later, or set strategy.fees: false"),
]


@pytest.mark.parametrize("old, new, pattern", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_game_files_give_exit_2_and_one_line_before_any_work(folder: Path, capsys, old: str, new: str,
                                                                  pattern: str) -> None:
    assert old in GAME
    (folder / "game.yaml").write_text(GAME.replace(old, new, 1))
    assert main(["game", "game.yaml", "--workers", "1", "--out", "out", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert re.search(pattern, err), err
    assert not (folder / "out").exists(), "nothing is written before the file is valid"


def test_validate_checks_game_files_as_the_game_command_does(folder: Path, capsys) -> None:
    (folder / "game.yaml").write_text(GAME)
    (folder / "bad.yaml").write_text(GAME.replace("  amazon:\n", "  amazn:\n", 1))
    assert main(["validate", "game.yaml"]) == 0
    assert re.search(r"game.yaml: ok \(game .*: .* x .*, \d+ cells x \d+ replicate", capsys.readouterr().out)
    assert main(["validate", "game.yaml", "bad.yaml"]) == 2
    out, err = capsys.readouterr()
    assert "game.yaml: ok" in out and "did you mean 'amazon'" in err and len(err.strip().splitlines()) == 1
    # Written as a flow mapping with quoted keys, the file is still a game (the look at the text misses it).
    import json


    (folder / "flow.yaml").write_text(json.dumps(yaml.safe_load(GAME), default=str))
    assert main(["validate", "flow.yaml"]) == 0
    assert re.search(r"flow.yaml: ok \(game tiny_game: walmart x amazon, 4 cells", capsys.readouterr().out)


def test_validate_checks_the_calibration_files_too(capsys) -> None:
    shipped = Path(sim.__file__).resolve().parents[1] / "calibration"
    files = [str(shipped / name) for name in ("setup.yaml", "targets.yaml", "checks.yaml", "calibrated.yaml")]
    assert main(["validate", *files]) == 0
    out = capsys.readouterr().out
    counts = {name: len(yaml.safe_load((shipped / f"{name}.yaml").read_text())["targets"]) for name in ("targets", "checks")}
    assert "setup.yaml: ok (calibration set-up" in out and f"targets.yaml: ok ({counts['targets']} targets)" in out
    assert f"checks.yaml: ok ({counts['checks']} targets)" in out and "calibrated.yaml: ok (calibrated parameters: " in out


def test_a_folder_the_tool_did_not_write_is_left_alone(folder: Path, capsys) -> None:
    (folder / "notes").mkdir()
    (folder / "notes" / "mine.txt").write_text("keep me")
    assert main(["game", "game.yaml", "--workers", "1", "--out", "notes", "--quiet"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert (folder / "notes" / "mine.txt").read_text() == "keep me" and len(list((folder / "notes").iterdir())) == 1


def test_a_small_game_runs_end_to_end_and_resumes_without_rerunning_finished_cells(folder: Path, monkeypatch,
                                                                                   capsys) -> None:
    import sim.jobs.runs as worker
    from sim.jobs.store import RunStore

    simulated: list[int] = []
    real_run = worker.run
    monkeypatch.setattr(worker, "run", lambda scenario, seed: simulated.append(seed) or real_run(scenario, seed))
    real_put, kept = RunStore.put, []

    def put_then_stop(store, record):  # the user presses Ctrl-C after the third run is stored
        real_put(store, record)
        kept.append(record["key"])
        if len(kept) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(RunStore, "put", put_then_stop)
    assert main(["game", "game.yaml", "--workers", "1", "--out", "cut", "--quiet"]) == 130
    assert "run the same command again to finish the game" in capsys.readouterr().err
    store = folder / "cut" / STORE
    first = {path.name: path.stat().st_mtime_ns for path in store.glob("*.json")}
    assert len(first) == 3 and not (folder / "cut" / PAYOFFS).exists()

    monkeypatch.setattr(RunStore, "put", real_put)
    simulated.clear()
    assert main(["game", "game.yaml", "--workers", "1", "--out", "cut", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert len(simulated) == 4 * 2 - 3, "only the runs the interruption left undone"
    assert {path.name: path.stat().st_mtime_ns for path in store.glob("*.json") if path.name in first} == first
    assert len(list(store.glob("*.json"))) == 8

    payoffs = pd.read_csv(folder / "cut" / PAYOFFS)
    equilibria = pd.read_csv(folder / "cut" / EQUILIBRIA)
    assert len(payoffs) == 4 * 4 and (folder / "cut" / REPORT).stat().st_size > 100_000
    runs = pd.read_csv(folder / "cut" / "runs.csv")
    assert runs.groupby("cell")["seed"].apply(tuple).nunique() == 1, "every cell runs on the same seeds"
    # The equilibria are the cells where both players best-respond, as payoffs.csv marks them.
    players = payoffs[payoffs["player"]]
    both = players.groupby("cell")["best_response"].all()
    assert sorted(equilibria.loc[equilibria["kind"] == "nash", "cell"]) == sorted(both[both].index)
    assert ("Nash equilibrium:" in printed) != ("No pure-strategy Nash equilibrium" in printed)

    # Played uninterrupted in another folder, and from Python over the finished store: the same tables.
    simulated.clear()
    assert main(["game", "game.yaml", "--workers", "1", "--out", "whole", "--quiet"]) == 0
    assert (folder / "whole" / PAYOFFS).read_bytes() == (folder / "cut" / PAYOFFS).read_bytes()
    simulated.clear()
    again = sim.game("game.yaml", out="cut")
    assert simulated == [], "a finished game is read back from its store"
    assert list(again.equilibria["cell"]) == list(equilibria["cell"])
    assert np.allclose(again.payoffs["payoff_mean"], payoffs["payoff_mean"], rtol=1e-12)

    # A changed file is refused in the same folder, in one line.
    (folder / "game.yaml").write_text(GAME.replace("seed: 4", "seed: 5"))
    assert main(["game", "game.yaml", "--workers", "1", "--out", "cut", "--quiet"]) == 2
    assert "holds results of a different game" in capsys.readouterr().err


def test_the_shipped_example_game_loads() -> None:
    from sim.experiments.gamefile import load_game

    path = Path(__file__).resolve().parents[1] / "scenarios" / "games" / "membership_fees.yaml"
    game, base = load_game(path)
    assert game.cells() == 9 and base.population.shoppers == game.shoppers
    from sim.cli_game import game_file
    from sim.shipped import games

    assert games()["membership_fees"] == path and game_file("membership_fees") == path


def test_a_base_event_that_would_undo_a_choice_is_refused(folder: Path, capsys) -> None:
    (folder / "base.yaml").write_text(BASE + "events:\n  - {date: 2021-06-07, label: fee cut, "
                                             "set: {walmart.walmart_plus.fee_annual: 59}}\n")
    assert main(["game", "game.yaml", "--workers", "1", "--out", "out", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert re.search(r"players.walmart.walmart.walmart_plus.fee_annual: the base scenario's event of 2021-06-07 "
                     r"\(fee cut\) sets this lever after the players choose it on 2021-01-04", err), err
    (folder / "game.yaml").write_text(GAME + "set: {walmart.walmart_plus.fee_annual: 79}\n")
    assert main(["game", "game.yaml", "--workers", "1", "--out", "out", "--quiet"]) == 2
    assert "set.walmart.walmart_plus.fee_annual: is a lever of the game" in capsys.readouterr().err


def test_dask_gives_the_same_table_as_one_process(folder: Path) -> None:
    pytest.importorskip("distributed")
    (folder / "game.yaml").write_text(GAME.replace("replicates: 2", "replicates: 1"))
    inline = sim.game("game.yaml", workers=1, out="inline")
    dask = sim.game("game.yaml", workers=2, dask="local", out="dask")
    assert (folder / "dask" / PAYOFFS).read_bytes() == (folder / "inline" / PAYOFFS).read_bytes()
    assert inline.solution.equilibria == dask.solution.equilibria
    assert any("one replicate: no estimate of run noise" in line for line in dask.lines())


def test_cells_share_their_history_until_the_choices_take_effect(folder: Path) -> None:
    from sim.experiments.game import _tasks
    from sim.experiments.gamefile import load_game
    from sim.scenario.changes import override

    (folder / "base.yaml").write_text(BASE.replace("end: 2021-12-27", "end: 2022-12-26"))
    (folder / "game.yaml").write_text(GAME.replace("period: 2021", "period: 2022"))
    game, base = load_game("game.yaml")
    first, last = (task for task in _tasks(game, base) if task["replicate"] == 0 and task["cell"] in (0, 3))
    runs = [sim.run(override(base, task["overrides"], "game"), seed=task["seed"]).timeseries for task in (first, last)]
    before, after = (pd.Timestamp("2022-01-01") > runs[0]["date"]), (runs[0]["date"] >= pd.Timestamp("2022-01-01"))
    assert runs[0].loc[before, "value"].equals(runs[1].loc[before, "value"]), "the same seeds and history before 2022"
    prime = (runs[0]["metric"] == "prime_share") & after
    assert not np.allclose(runs[0].loc[prime, "value"], runs[1].loc[prime, "value"]), "the Prime fee matters after"
