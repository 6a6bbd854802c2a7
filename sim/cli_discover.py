"""``retailsim discover SWEEP_FOLDER --where "OUTCOME > VALUE"``: scenario discovery (PRIM) on a finished sweep."""

from __future__ import annotations

import argparse
from pathlib import Path


def _share(text: str) -> float:
    """A share in (0, 1], for --min-coverage."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got '{text[:40]}'") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text[:40]}")
    return value


def _alpha(text: str) -> float:
    """The peeling share, for --alpha."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 0.5), got '{text[:40]}'") from None
    if not 0 < value < 0.5:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 0.5), got {text[:40]}")
    return value


def command_discover(args: argparse.Namespace) -> int:
    """Find the box, print it in words, write the box, the trajectory and a report beside the sweep."""
    from .experiments.discover import BOX, REPORT, TRAJECTORY, check_out, default_out, discover

    found = discover(args.folder, args.where, min_coverage=args.min_coverage, by=args.by, alpha=args.alpha,
                     paste=args.paste)
    out = args.out or default_out(args.folder, found.condition, args.by)
    replaces = check_out(out)
    print("\n".join(found.lines()))
    found.write(out)
    if replaces == "discover":
        print(f"replaced: the earlier discovery in {out}")
    print(f"box: {out / BOX}\ntrajectory: {out / TRAJECTORY}\nreport: {out / REPORT}")
    return 0


def add_discover_command(commands) -> None:
    """``discover``: its arguments and handler."""
    from .experiments.prim_options import ALPHA, MIN_COVERAGE

    finder = commands.add_parser("discover", help="find the lever ranges of a finished sweep under which a condition "
                                                  "on an outcome holds (PRIM scenario discovery)")
    finder.add_argument("folder", type=Path, metavar="SWEEP_FOLDER", help="a finished sweep's folder")
    finder.add_argument("--where", required=True, metavar="EXPR",
                        help="the condition, OUTCOME > VALUE (or <, >=, <=), e.g. --where \"both_2030 > 0.3\"")
    finder.add_argument("--min-coverage", type=_share, default=MIN_COVERAGE, metavar="C",
                        help=f"the chosen box is the densest with at least this coverage (default {MIN_COVERAGE})")
    finder.add_argument("--by", choices=("run", "point"), default="run",
                        help="a case is a run (default) or a design point with the outcome averaged over replicates")
    finder.add_argument("--alpha", type=_alpha, default=ALPHA,
                        help=f"share of the box's cases each peel removes (default {ALPHA})")
    finder.add_argument("--paste", action="store_true", help="widen the chosen box afterwards where that raises "
                                                             "its density (Friedman and Fisher's pasting)")
    finder.add_argument("--out", type=Path, help="output folder (default: SWEEP_FOLDER-discover/<condition>/, beside "
                                                 "the sweep folder)")
    finder.set_defaults(handler=command_discover)
