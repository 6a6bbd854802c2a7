"""The ``retailsim`` command: thin commands over the Python API.

Errors a user can cause print one line (file, place, what is valid) and exit with code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from . import __version__
from .errors import ScenarioError, UserError
from .run import resolve, run
from .scenario import Scenario, load_scenario
from .scenario.loader import COMMAND_LINE

DEFAULT_OUTPUT = Path("reports")


def parse_assignment(text: str) -> tuple[str, Any]:
    """``PATH=VALUE`` from ``--set``; the value is read as YAML (numbers, booleans, dates, lists)."""
    path, equals, value = text.partition("=")
    if not equals or not path.strip():
        raise ScenarioError(COMMAND_LINE, text, "expected PATH=VALUE, e.g. walmart.walmart_plus.fee_annual=79")
    try:
        return path.strip(), yaml.safe_load(value)
    except yaml.YAMLError:
        raise ScenarioError(COMMAND_LINE, path, f"cannot read the value '{value}'") from None


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    changes = dict(parse_assignment(item) for item in args.set)
    if args.shoppers is not None:
        changes["population.shoppers"] = args.shoppers
    return changes


def command_run(args: argparse.Namespace) -> int:
    scenario = resolve(args.scenario, _overrides(args))
    out = args.out or DEFAULT_OUTPUT / scenario.name
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        weeks = (scenario.horizon.end - scenario.horizon.start).days // 7 + 1 + scenario.horizon.warmup_weeks
        bar = tqdm(total=weeks, desc=scenario.name, unit="wk", file=sys.stderr, disable=None)
    try:
        result = run(scenario, seed=args.seed, progress=(lambda _model: bar.update()) if bar else None)
    finally:
        if bar is not None:
            bar.close()
    result.save(out)
    summary = result.summary
    share = summary["spend_share"]
    members = summary["membership_share"]
    print(f"{scenario.name} (seed {result.seed}, {scenario.population.shoppers} shoppers) "
          f"ran in {result.manifest['run_seconds']:.1f} s")
    print(f"  spend share {summary['end_date']}: " + ", ".join(f"{k} {v:.1%}" for k, v in share.items()))
    print(f"  memberships: " + ", ".join(f"{k} {v:.1%}" for k, v in members.items()))
    print(f"results: {out}")
    return 0


def command_validate(args: argparse.Namespace) -> int:
    for path in args.files:
        scenario = load_scenario(path)
        print(f"{path}: ok ({scenario.name}, {len(scenario.events)} events)")
    return 0


def command_schema(args: argparse.Namespace) -> int:
    print(json.dumps(Scenario.model_json_schema(), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="retailsim", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"retailsim {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    runner = commands.add_parser("run", help="run a scenario and write its results")
    runner.add_argument("scenario", type=Path, help="scenario YAML file")
    runner.add_argument("--seed", type=int, help="seed of the run (default: the scenario's)")
    runner.add_argument("--shoppers", type=int, help="number of simulated households")
    runner.add_argument("--out", type=Path, help="output folder (default: reports/<scenario name>/)")
    runner.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                        help="override a scenario value, e.g. --set walmart.walmart_plus.fee_annual=79")
    runner.add_argument("--quiet", action="store_true", help="no progress bar")
    runner.set_defaults(handler=command_run)

    validator = commands.add_parser("validate", help="check scenario files without running them")
    validator.add_argument("files", nargs="+", type=Path)
    validator.set_defaults(handler=command_validate)

    schema = commands.add_parser("schema", help="print the scenario JSON Schema (for editors)")
    schema.set_defaults(handler=command_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except UserError as error:
        print(f"retailsim: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("retailsim: interrupted; nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
