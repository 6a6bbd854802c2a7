"""``retailsim game FILE``: the payoff table of a game file over common seeds (resumable, on a process
pool or Dask), its best responses and pure-strategy Nash equilibria, and a report."""

from __future__ import annotations

import argparse
from pathlib import Path

from .cli_args import RESUMABLE, job_options


def game_file(text: str) -> Path:
    """A game argument: an existing path as given; else a shipped game's name (``membership_fees``);
    else the path as given, for the loader to say it is not found."""
    path = Path(text)
    if path.exists():
        return path
    from .shipped import games

    return games().get(text.strip().removesuffix(".yaml"), path)


def command_game(args: argparse.Namespace) -> int:
    """Play the game, print its equilibria in words, and where the tables and the report are."""
    from .experiments.game import EQUILIBRIA, PAYOFFS, REPORT, run_game
    from .validation import named_kind

    with named_kind(args.file, "game"):
        result = run_game(args.file, workers=args.workers, dask=args.dask, out=args.out, progress=not args.quiet)
    print("\n".join(result.lines()))
    print(f"payoffs: {result.folder / PAYOFFS}\nequilibria: {result.folder / EQUILIBRIA}\n"
          f"report: {result.folder / REPORT}")
    return 0


def add_game_command(commands) -> None:
    """``game``: its arguments and handler."""
    player = commands.add_parser("game", help="the payoff table of the firms' lever menus (resumable), its best "
                                              "responses and pure-strategy Nash equilibria")
    player.add_argument("file", type=game_file, help="game YAML file, or a shipped game's name (membership_fees; "
                                                    "paths: retailsim scenarios)")
    job_options(player, "output folder (default: reports/games/<game name>/)")
    player.set_defaults(handler=command_game, interrupted=RESUMABLE)
