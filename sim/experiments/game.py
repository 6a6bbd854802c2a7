"""Play a game file: every cell of the payoff table over common seeds, resumable, on any executor,
then the best responses and pure-strategy Nash equilibria (:mod:`.equilibria`).

A cell is one profile of the players' strategies; its runs are the base scenario with the
profile's lever values set by one event on the first day of the payoff period, at each of the
game's seeds. Every cell uses the same seeds (common random numbers, as ``compare`` does), so two
cells differ only by the players' choices. The runs go through the sweep's machinery (the job
store, the folder rules, the executors): an interrupted game continues where it stopped, and a
changed file is refused in the same folder.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from ..errors import UserError
from ..jobs.executors import check_workers, executor
from ..jobs.folders import claim, complete, hold, warn
from ..jobs.outcomes import Outcome, OutcomeValues
from ..jobs.runs import Runs, execute
from ..jobs.store import RunStore, run_key
from ..results import replace_atomically, scenario_hash
from ..scenario import Scenario
from ..scenario.loader import DOCUMENT
from ..vocabulary import FIRMS
from .equilibria import PayoffTable, Solution, deviations, solve
from .gamefile import Game, GameLike, load_game
from .replicates import replicate_seeds

PAYOFFS, EQUILIBRIA, RUNS, STORE, REPORT = "payoffs.csv", "equilibria.csv", "runs.csv", "store", "report.html"
CONTENTS = (PAYOFFS, EQUILIBRIA, RUNS, STORE, REPORT)  # what a game folder holds, beside its manifest
DEFAULT_FOLDER = Path("reports") / "games"
# The market outcomes of a cell, read over the last year of the payoff period (a year's mean is
# steadier than one week): outcome name -> (metric, dimensions).
MARKET = {"prime_share": ("prime_share", {}), "walmart_plus_share": ("walmart_plus_share", {}),
          "both_share": ("membership_share", {"segment": "both"}), "consumer_surplus": ("consumer_surplus", {})}


def outcomes(game: Game) -> dict[str, Outcome]:
    """What each run records: every firm's payoff over the period, and the market at its end."""
    start, end = game.payoff.dates()
    last_year = [end.replace(month=1, day=1), end]
    found = {f"payoff:{firm}": Outcome(metric=game.payoff.metric, firm=firm, over=[start, end], aggregate="sum")
             for firm in FIRMS}
    found.update({f"spend_share:{firm}": Outcome(metric="spend_share", firm=firm, over=last_year) for firm in FIRMS})
    found.update({name: Outcome(metric=metric, over=last_year, **dims) for name, (metric, dims) in MARKET.items()})
    return found


def lever_label(player: str, strategy: dict) -> str:
    """A strategy in words: its levers (less the firm's own prefix) and values, ``walmart_plus.fee_annual=79``."""
    return ", ".join(f"{dotted.removeprefix(player + '.')}={value}" for dotted, value in strategy.items())


def _tasks(game: Game, base: Scenario) -> Iterator[dict]:
    """The game's runs in profile order, each cell at every seed, made one at a time as needed."""
    seeds, base_hash = replicate_seeds(game.seed, game.replicates), scenario_hash(base)
    timeline = base.model_dump(mode="json")["events"]
    when = game.lever_date(base).isoformat()
    for cell, profile in enumerate(game.profiles()):
        choices = game.choices(profile)
        label = "game: " + "; ".join(f"{k}={v}" for k, v in choices.items())
        overrides = {"events": [*timeline, {"date": when, "label": label[:200], "set": choices}]}
        for replicate, seed in enumerate(seeds):
            yield {"key": run_key(base_hash, overrides, seed), "cell": cell, "replicate": replicate, "seed": seed,
                   "choices": choices, "overrides": overrides}


@dataclass
class GameResult:
    """A played game: its table and solution, payoffs.csv and equilibria.csv as frames, its folder."""

    folder: Path
    game: Game
    solution: Solution
    payoffs: pd.DataFrame
    equilibria: pd.DataFrame
    runs: pd.DataFrame

    @property
    def table(self) -> PayoffTable:
        return self.solution.table

    def lines(self) -> list[str]:
        """The summary in words (what ``retailsim game`` prints)."""
        from ..report.game import summary_lines

        return summary_lines(self.game.name, self.game.payoff.metric, self.game.payoff.period, self.solution)


def run_game(path: GameLike, workers: int | None = None, dask: str | None = None, out: str | Path | None = None,
             progress: bool = True) -> GameResult:
    """Play (or finish) a game; every check runs before the folder is touched (the file, the workers,
    the Dask address, the folder), as for a sweep."""
    game, base = load_game(path)
    folder = Path(out) if out is not None else DEFAULT_FOLDER / game.name
    check_workers(workers, dask)
    identity = game.fingerprint(base)
    with executor(workers, dask) as (pool, count):  # a bad --dask address fails here, before the folder
        file = DOCUMENT if isinstance(path, Mapping) else str(path)
        claim(folder, "game", {"fingerprint": identity, "game": game.model_dump(mode="json"), "file": file}, CONTENTS,
              "results of a different game (its players, options, payoff, seeds or base scenario changed since it "
              "started)")
        with hold(folder):
            store = RunStore(folder / STORE)
            names = list(outcomes(game))
            done = store.finished(outcomes=names)
            warn(store.damaged)
            total = game.cells() * game.replicates
            remaining = sum(task["key"] not in done for task in _tasks(game, base))
            started = time.perf_counter()
            if remaining:
                from tqdm import tqdm

                pending = (task for task in _tasks(game, base) if task["key"] not in done)
                runs = Runs(base.model_dump(mode="json"), OutcomeValues(outcomes(game)), "game")
                bar = tqdm(total=total, initial=total - remaining, unit="run", disable=not progress or None,
                           desc=game.name)
                try:
                    execute(runs, pending, remaining, store.put, pool, count, bar, f"interrupted: finished runs are "
                            f"kept in {store.folder}; run the same command again to finish the game")
                finally:
                    bar.close()
            return _finish(game, base, folder, store, identity, time.perf_counter() - started)


def _collect(game: Game, base: Scenario, folder: Path, store: RunStore) -> pd.DataFrame:
    """One row per run, from the store: cell, replicate, seed, the lever values, the outcomes."""
    rows, failed = [], []
    for task in _tasks(game, base):
        record = store.get(task["key"], list(outcomes(game)))
        if record is None:
            warn(store.damaged)
            raise UserError(f"{folder}: the record of run {task['key']} was lost while the game ran; run the same "
                            "command again to run it")
        if record["error"] is not None:
            failed.append(f"cell {task['cell']}, seed {task['seed']}: {record['error']}")
        rows.append({"cell": task["cell"], "replicate": task["replicate"], "seed": task["seed"], **task["choices"],
                     **record["outcomes"], "seconds": record.get("simulation_seconds", 0.0)})
    if failed:
        raise UserError(f"{len(failed)} run(s) of the game failed (first: {failed[0][:200]}); the others are kept in "
                        f"{store.folder}: run the same command again to retry the failed ones")
    return pd.DataFrame(rows)


def payoff_table(game: Game, runs: pd.DataFrame) -> PayoffTable:
    """The players' payoffs as a :class:`PayoffTable` (cells in profile order, replicates in seed order)."""
    players = list(game.players)
    ordered = runs.sort_values(["cell", "replicate"])
    values = ordered[[f"payoff:{p}" for p in players]].to_numpy()  # (cells * replicates, players)
    missing = [p for p, column in zip(players, values.T) if not np.isfinite(column).all()]
    if missing:
        raise UserError(f"{game.name}: the runs did not record {game.payoff.metric} for {missing[0]} over "
                        f"{game.payoff.period[0]}-{game.payoff.period[1]}; choose another payoff metric")
    sizes = tuple(len(game.strategies(p)) for p in players)
    array = values.reshape(*sizes, game.replicates, len(players))
    labels = tuple(tuple(lever_label(p, s) for s in game.strategies(p)) for p in players)
    return PayoffTable(tuple(players), labels, np.moveaxis(array, -2, -1))


def payoffs_frame(game: Game, runs: pd.DataFrame, solution: Solution) -> pd.DataFrame:
    """payoffs.csv: one row per cell and firm: the lever values, the firm's mean payoff and its
    standard error over replicates, its spend share and the market's memberships and surplus at the
    end of the period, whether the firm best-responds there (players only) and whether the cell is
    an equilibrium."""
    rows, profiles = [], game.profiles()
    for cell, group in runs.groupby("cell", sort=True):
        profile = profiles[cell]
        for firm in FIRMS:
            payoff = group[f"payoff:{firm}"]
            player = list(game.players).index(firm) if firm in game.players else None
            rows.append({"cell": cell, **game.choices(profile), "firm": firm,
                         "player": player is not None, "payoff_mean": payoff.mean(),
                         "payoff_se": payoff.std(ddof=1) / np.sqrt(len(payoff)) if len(payoff) > 1 else np.nan,
                         "spend_share": group[f"spend_share:{firm}"].mean(),
                         **{name: group[name].mean() for name in MARKET},
                         "best_response": bool(solution.best[profile][player]) if player is not None else None,
                         "nash": profile in solution.equilibria})
    return pd.DataFrame(rows)


def equilibria_frame(game: Game, solution: Solution) -> pd.DataFrame:
    """equilibria.csv: the Nash equilibria (kind ``nash``) and the profiles within run noise of one
    (kind ``within noise``), with each player's payoff and the deviations the runs cannot tell apart."""
    table, rows = solution.table, []
    for kind, profiles in (("nash", solution.equilibria), ("within noise", solution.near)):
        for profile in profiles:
            row = {"kind": kind, "cell": game.profiles().index(profile), **game.choices(profile)}
            row.update({f"payoff:{p}": table.means[profile][i] for i, p in enumerate(table.players)})
            row["robust"] = solution.robust(profile)
            row["not_distinguishable_from"] = "; ".join(
                f"{table.players[d.player]} {table.strategies[d.player][d.strategy]} (gain {d.gain:.6g}, se {d.se:.3g})"
                for d in deviations(table, profile) if d.distinguishable is False)
            rows.append(row)
    columns = ["kind", "cell", *[d for lv in game.players.values() for d in lv], *[f"payoff:{p}" for p in game.players],
               "robust", "not_distinguishable_from"]
    return pd.DataFrame(rows, columns=columns)


def _finish(game: Game, base: Scenario, folder: Path, store: RunStore, identity: str, seconds: float) -> GameResult:
    runs = _collect(game, base, folder, store)
    solution = solve(payoff_table(game, runs))
    payoffs, equilibria = payoffs_frame(game, runs, solution), equilibria_frame(game, solution)
    seeds = replicate_seeds(game.seed, game.replicates)
    manifest = {"fingerprint": identity, "game": game.model_dump(mode="json"), "base_scenario": base.model_dump(mode="json"),
                "base_scenario_hash": scenario_hash(base), "seeds": seeds, "cells": game.cells(), "runs": len(runs),
                "equilibria": len(solution.equilibria), "simulation_seconds": round(float(runs["seconds"].sum()), 3),
                "wall_seconds_last_session": round(seconds, 3), "levers_take_effect": game.lever_date(base).isoformat()}
    from ..report.game import build_game_report

    for name, frame in ((PAYOFFS, payoffs), (EQUILIBRIA, equilibria), (RUNS, runs)):
        replace_atomically(folder / name, lambda path, frame=frame: frame.to_csv(path, index=False, lineterminator="\n"))
    build_game_report(game, payoffs, solution, manifest).write(folder / REPORT)
    complete(folder, manifest, "game")  # last: until it says complete, the folder is resumable
    return GameResult(folder, game, solution, payoffs, equilibria, runs)


def game(path: GameLike, workers: int | None = None, dask: str | None = None, out: str | Path | None = None,
         progress: bool = False) -> GameResult:
    """Play a game from Python (a notebook, say): ``sim.game("scenarios/games/membership_fees.yaml")``.

    ``path`` is a game file or a dict laid out like one (its ``base:`` relative to the working
    folder). Returns the :class:`GameResult`: ``.payoffs`` and ``.equilibria`` as DataFrames,
    ``.solution`` (best responses, equilibria), ``.lines()`` the summary in words."""
    from ..run import file_or_dict

    file_or_dict("path", path, "a game file")
    return run_game(path, workers=workers, dask=dask, out=out, progress=progress)
