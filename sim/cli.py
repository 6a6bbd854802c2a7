"""The ``retailsim`` command: thin commands over the Python API.

Errors a user can cause print one line (file, place, what is valid) and exit with code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml

from . import __version__
from .errors import ScenarioError, UserError
from .experiments import replicate_seeds, run_replicates
from .model.market import RetailMarket
from .results import Result, load_set, save_set
from .run import resolve
from .scenario import Scenario, load_scenario
from .scenario.loader import COMMAND_LINE

DEFAULT_OUTPUT = Path("reports")
REPORT = "report.html"


def parse_assignment(text: str) -> tuple[str, Any]:
    """``PATH=VALUE`` from ``--set``; the value is read as YAML (numbers, booleans, dates, lists)."""
    path, equals, value = text.partition("=")
    if not equals or not path.strip():
        raise ScenarioError(COMMAND_LINE, text, "expected PATH=VALUE, e.g. walmart.walmart_plus.fee_annual=79")
    try:
        return path.strip(), yaml.safe_load(value)
    except yaml.YAMLError:
        raise ScenarioError(COMMAND_LINE, path, f"cannot read the value '{value}'") from None


def positive(text: str) -> int:
    """A whole number of at least 1, for argparse."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    changes = dict(parse_assignment(item) for item in args.set)
    if args.shoppers is not None:
        changes["population.shoppers"] = args.shoppers
    return changes


class Progress:
    """A progress bar over all weekly steps of all runs (silent when stderr is not a terminal)."""

    def __init__(self, scenarios: list[Scenario], runs_each: int, quiet: bool) -> None:
        self.bar = None
        if not quiet:
            from tqdm import tqdm

            weeks = sum(len(RetailMarket.calendar(s.horizon)) for s in scenarios) * runs_each
            self.bar = tqdm(total=weeks, unit="wk", file=sys.stderr, disable=None)

    def step(self, _model) -> None:
        if self.bar is not None:
            self.bar.update()

    def describe(self, scenario: Scenario, seed: int) -> None:
        if self.bar is not None:
            self.bar.set_description(f"{scenario.name} seed {seed}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_all(scenarios: list[Scenario], seeds: list[int], quiet: bool) -> list[Result]:
    """Every scenario at every seed, with one progress bar."""
    progress = Progress(scenarios, len(seeds), quiet)
    try:
        return run_replicates(scenarios, seeds, on_run=progress.describe, progress=progress.step)
    finally:
        progress.close()


def write_report(results: list[Result], folder: Path) -> Path:
    from .report import build_report

    return build_report(results).write(folder / REPORT)


def print_summary(results: list[Result]) -> None:
    first = results[0]
    summary = first.summary
    seconds = sum(r.manifest["run_seconds"] for r in results)
    print(f"{first.scenario.name}: {len(results)} run(s), {first.scenario.population.shoppers} shoppers, "
          f"{seconds:.1f} s")
    print(f"  spend share {summary['end_date']} (seed {first.seed}): "
          + ", ".join(f"{k} {v:.1%}" for k, v in summary["spend_share"].items()))
    print("  memberships: " + ", ".join(f"{k} {v:.1%}" for k, v in summary["membership_share"].items()))


def command_run(args: argparse.Namespace) -> int:
    scenario = resolve(args.scenario, _overrides(args))
    out = args.out or DEFAULT_OUTPUT / scenario.name
    seeds = replicate_seeds(scenario.seed if args.seed is None else args.seed, args.replicates)
    results = run_all([scenario], seeds, args.quiet)
    save_set(results, out)
    print_summary(results)
    if not args.no_report:
        print(f"report: {write_report(results, out)}")
    print(f"results: {out}")
    return 0


def command_compare(args: argparse.Namespace) -> int:
    overrides = _overrides(args)
    scenarios = [resolve(path, overrides) for path in [args.baseline, *args.what_ifs]]
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        raise UserError(f"scenario names must differ to be compared (got {', '.join(names)}); set name: in each file")
    seeds = replicate_seeds(scenarios[0].seed if args.seed is None else args.seed, args.replicates)
    out = args.out or DEFAULT_OUTPUT / "_vs_".join(names)
    results = run_all(scenarios, seeds, args.quiet)
    save_set(results, out, extra={"baseline": names[0], "what_ifs": names[1:], "seeds": seeds})
    for name in names:
        print_summary([r for r in results if r.scenario.name == name])
    print(f"report: {write_report(results, out)}")
    print(f"results: {out}")
    return 0


def command_report(args: argparse.Namespace) -> int:
    results = load_set(args.results)
    print(f"report: {write_report(results, args.results)}")
    return 0


def command_sweep(args: argparse.Namespace) -> int:
    from .experiments.sweep import run_sweep

    result = run_sweep(args.file, workers=args.workers, dask=args.dask, out=args.out, progress=not args.quiet)
    runs = len(result.runs)
    print(f"{runs} runs, {result.failures} failed; sensitivity: {len(result.sensitivity)} indices")
    for note in result.notes:
        print(f"  note: {note}")
    if result.failures:
        for row in result.runs[result.runs["error"].notna()].head(5).itertuples():
            print(f"  failed: point {row.point}, seed {row.seed}: {row.error}")
    print(f"report: {result.folder / 'report.html'}")
    print(f"results: {result.folder}")
    return 1 if result.failures else 0


def command_dashboard(args: argparse.Namespace) -> int:
    """Serve the classroom dashboard (Mesa's SolaraViz) on this machine until Ctrl-C."""
    import os
    import subprocess

    from .dashboard.model import DEFAULT_SHOPPERS

    scenario_path = (args.scenario or Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml").resolve()
    load_scenario(scenario_path)  # a bad file is one clear line here, not an error in the browser
    env = {**os.environ, "RETAILSIM_DASHBOARD_SCENARIO": str(scenario_path),
           "RETAILSIM_DASHBOARD_SHOPPERS": str(args.shoppers or DEFAULT_SHOPPERS)}
    print(f"dashboard: http://{args.host}:{args.port}/  (Ctrl-C to stop)", flush=True)
    command = [sys.executable, "-m", "solara", "run", "sim.dashboard.app", "--host", args.host,
               "--port", str(args.port), "--production", "--no-open"]
    try:
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return 0


def print_fit(fit) -> None:
    """One line per target: within or not, published, simulated mean and spread, miss in tolerances."""
    for row in fit.table.itertuples():
        mark = "ok  " if row.within else "MISS"
        print(f"  {mark} {row.target:<28} published {row.published!s:>8}  simulated {row.simulated_mean:10.4g} "
              f"(sd {row.simulated_sd:.2g})  miss {row.miss:+.2f} tolerances")


def command_targets(args: argparse.Namespace) -> int:
    """How well a scenario reproduces the calibration targets (mean over replicates)."""
    from .calibration import evaluate, load_targets

    targets = load_targets(args.targets)
    scenario = resolve(args.scenario, _overrides(args))
    seeds = replicate_seeds(scenario.seed if args.seed is None else args.seed, args.replicates)
    fit = evaluate(targets, run_all([scenario], seeds, args.quiet))
    print(f"{scenario.name} against {args.targets} ({len(seeds)} replicates, {scenario.population.shoppers} households)")
    print_fit(fit)
    print(f"loss (mean squared miss): {fit.loss:.3f}; {int(fit.table['within'].sum())} of {len(fit.table)} within tolerance")
    return 0


def command_calibrate(args: argparse.Namespace) -> int:
    """Fit the free parameters to the targets; write calibrated.yaml and a calibration report."""
    from .calibration.fitting import calibrate

    result = calibrate(args.setup, method=args.method, budget=args.budget, workers=args.workers, dask=args.dask,
                       out=args.out, population=args.population, batch=args.batch, write=not args.no_write,
                       progress=not args.quiet)
    table = result.fit.table
    print(f"{args.method}: {result.simulated} candidates; chosen parameters on fresh seeds: loss {result.fit.loss:.3f}, "
          f"{int(table['within'].sum())} of {len(table)} targets within tolerance")
    print_fit(result.fit)
    print(f"how tightly the targets pin each parameter ({result.identification['basis'].iloc[0]}):")
    for row in result.identification.to_dict("records"):
        detail = (f"moves {row['moves_most']} by {row['shift']:.2f} tolerances" if "shift" in row
                  else f"{row['share_of_bounds']:.0%} of its bounds")
        print(f"  {row['parameter']:<48} {result.chosen[row['parameter']]:<12.5g} {row['reading']} ({detail})")
    if result.calibrated_path is not None:
        print(f"calibrated: {result.calibrated_path}")
    print(f"report: {result.folder / 'report.html'}")
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

    def scenario_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--seed", type=int, help="root seed of the replicates (default: the scenario's)")
        command.add_argument("--replicates", type=positive, default=1, metavar="K",
                             help="runs per scenario over K common seeds (default 1)")
        command.add_argument("--shoppers", type=positive, help="number of simulated households")
        command.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                             help="override a scenario value, e.g. --set walmart.walmart_plus.fee_annual=79")
        command.add_argument("--quiet", action="store_true", help="no progress bar")

    runner = commands.add_parser("run", help="run a scenario, write its results and report")
    runner.add_argument("scenario", type=Path, help="scenario YAML file")
    runner.add_argument("--out", type=Path, help="output folder (default: reports/<scenario name>/)")
    runner.add_argument("--no-report", action="store_true", help="write results only, no report.html")
    scenario_options(runner)
    runner.set_defaults(handler=command_run)

    comparer = commands.add_parser("compare", help="run a baseline and what-ifs over common seeds; write a comparison")
    comparer.add_argument("baseline", type=Path, help="the baseline scenario file")
    comparer.add_argument("what_ifs", type=Path, nargs="+", metavar="WHATIF", help="what-if scenario files")
    comparer.add_argument("--out", type=Path, help="output folder (default: reports/<baseline>_vs_<what-if>/)")
    scenario_options(comparer)
    comparer.set_defaults(handler=command_compare, replicates=5)

    sweeper = commands.add_parser("sweep", help="run a parameter sweep (resumable) and its sensitivity analysis")
    sweeper.add_argument("file", type=Path, help="sweep YAML file")
    sweeper.add_argument("--workers", type=positive, help="worker processes (default: the CPUs available)")
    sweeper.add_argument("--dask", metavar="ADDRESS", help="'local' for a Dask LocalCluster, or a scheduler address")
    sweeper.add_argument("--out", type=Path, help="output folder (default: reports/sweeps/<sweep name>/)")
    sweeper.add_argument("--quiet", action="store_true", help="no progress bar")
    sweeper.set_defaults(handler=command_sweep)

    checker = commands.add_parser("targets", help="how well a scenario reproduces the calibration targets")
    checker.add_argument("scenario", type=Path, nargs="?", default=Path("scenarios/baseline.yaml"))
    checker.add_argument("--targets", type=Path, default=Path("calibration/targets.yaml"))
    scenario_options(checker)
    checker.set_defaults(handler=command_targets, replicates=3)

    calibrator = commands.add_parser("calibrate", help="fit the free parameters to the targets (resumable)")
    calibrator.add_argument("setup", type=Path, nargs="?", default=Path("calibration/setup.yaml"),
                            help="calibration set-up (default: calibration/setup.yaml)")
    calibrator.add_argument("--method", choices=("optuna", "abc"), default="optuna",
                            help="optuna: simulated method of moments (default); abc: ABC-SMC posterior (pyabc)")
    calibrator.add_argument("--budget", type=positive, metavar="N",
                            help="candidates (optuna, default 300) or simulated particles (abc, default 600)")
    calibrator.add_argument("--workers", type=positive, help="worker processes (default: the CPUs available)")
    calibrator.add_argument("--dask", metavar="ADDRESS", help="'local' for a Dask LocalCluster, or a scheduler address")
    calibrator.add_argument("--out", type=Path, help="working folder (default: reports/calibration/<name>-<method>/)")
    calibrator.add_argument("--population", type=positive, default=24, help="ABC particles per generation (default 24)")
    calibrator.add_argument("--batch", type=positive, default=4, help="optuna candidates asked at once (default 4)")
    calibrator.add_argument("--no-write", action="store_true", help="leave calibrated.yaml as it is (report only)")
    calibrator.add_argument("--quiet", action="store_true", help="no progress bar")
    calibrator.set_defaults(handler=command_calibrate)

    dashboard = commands.add_parser("dashboard", help="serve the live classroom dashboard in the browser")
    dashboard.add_argument("scenario", type=Path, nargs="?", help="scenario file (default: scenarios/baseline.yaml)")
    dashboard.add_argument("--port", type=positive, default=8765)
    dashboard.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    dashboard.add_argument("--shoppers", type=positive, help="households in the dashboard's model (default 2000)")
    dashboard.set_defaults(handler=command_dashboard)

    reporter = commands.add_parser("report", help="rebuild report.html from saved results (runs nothing)")
    reporter.add_argument("results", type=Path, help="a results folder written by run or compare")
    reporter.set_defaults(handler=command_report)

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
        return error.exit_code
    except KeyboardInterrupt:
        print("retailsim: interrupted; nothing was written", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (``retailsim schema | head``): stop quietly, like Unix tools
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit flush cannot fail again
        return 141


if __name__ == "__main__":
    sys.exit(main())
