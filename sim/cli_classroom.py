"""``retailsim classroom [SCENARIO]``: the classroom game, teams running Amazon, Walmart and Kroger in one
shared market (checks and rules: sim/classroom/serve.py and docs/teaching.md)."""

from __future__ import annotations

import argparse

from .cli_args import positive, server_options, shopper_count
from .shipped import scenario_file


def _minutes(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of minutes, got '{text[:20]}'") from None


def command_classroom(args: argparse.Namespace) -> int:
    """Serve the game until Ctrl-C, SIGTERM or SIGHUP."""
    from .classroom.serve import start

    return start(args.scenario, host=args.host, port=args.port, shoppers=args.shoppers, access_code=args.access_code,
                 round_length=args.round, start=args.start, teams=args.teams, max_teams=args.max_teams,
                 teams_per_firm=args.teams_per_firm, minutes=args.minutes, join_code=args.join_code)


def add_classroom_command(commands) -> None:
    """``classroom``: its arguments and handler."""
    game = commands.add_parser("classroom", help="serve the classroom game: teams run Amazon, Walmart and Kroger in "
                                                 "one shared market, round by round")
    game.add_argument("scenario", type=scenario_file, nargs="?",
                      help="scenario file or shipped name (default: the shipped baseline)")
    game.add_argument("--round", choices=("quarter", "year"), default="quarter", help="a round's length (default quarter)")
    game.add_argument("--start", metavar="DATE", help="the first round's week, YYYY-MM or YYYY-MM-DD (default 2025-01)")
    game.add_argument("--teams", metavar="NAME=FIRM,...",
                      help="the teams and their firms, e.g. 'Red=amazon,Blue=walmart,Green=kroger'; only these may "
                           "join (default: teams choose a name and a firm)")
    game.add_argument("--max-teams", type=positive, default=9, metavar="N", help="teams in the game, 1 to 30 (default 9)")
    game.add_argument("--teams-per-firm", type=positive, metavar="N",
                      help="teams that may share a firm (default 3, or as many as --teams puts on one); their "
                           "decisions combine by the median")
    game.add_argument("--minutes", type=_minutes, default=0.0, metavar="M",
                      help="a round's timer: decisions close when it ends (default 0: no timer)")
    game.add_argument("--join-code", metavar="CODE", help="the code teams type to join, 4-12 letters or digits "
                                                          "(default: a random one of 6)")
    server_options(game)
    game.add_argument("--shoppers", type=shopper_count, help="households in the shared market (default 5000)")
    game.set_defaults(handler=command_classroom)
