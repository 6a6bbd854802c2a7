"""The ``retailsim`` command: thin commands over the Python API.

Errors a user can cause print one line (file, place, what is valid) and exit with code 2.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .errors import UserError
from .cli_args import (DEFAULT_CORES, RESUMABLE, OneLineParser, check_draw_options, core_count, draw_options,
                       job_options, period, resolve_file, scenario_options, server_options, shopper_count,
                       warn_made_alike, warn_reset)
from .cli_calibration import add_calibration_commands
from .cli_classroom import add_classroom_command
from .cli_runs import scenario_changes, run_all, stored_runs
from .cli_discover import add_discover_command
from .cli_game import add_game_command
from .limits import check_workload
from .shipped import any_scenario_file, scenario_file

if TYPE_CHECKING:
    from .results import Result
# The model, pandas, results files and report are imported by the commands that need them (fast --version).

DEFAULT_OUTPUT = Path("reports")
INTERRUPTED = 130  # the exit code of a command stopped by Ctrl-C (128 + SIGINT), as shells give it
REPORT = "report.html"


def write_report(results: list[Result], folder: Path, period: tuple[int, int] | None = None, cores: int = 1) -> Path:
    from .report import build_report
    from .rivals import read_answers

    return build_report(results, period, read_answers(folder), cores=cores).write(folder / REPORT)


def record_set(results: list[Result], assignments: list[str]) -> None:
    """Record the command line's ``--set`` changes in each run's manifest: the report and the printout
    say that the scenario ran changed (a baseline run with --set is not the baseline)."""
    from .results import SET_KEY

    for result in results:
        if assignments:
            result.manifest[SET_KEY] = list(assignments)


def print_summary(results: list[Result]) -> None:
    from .results import SET_KEY

    first, summaries = results[0], [r.summary for r in results]
    seconds = sum(r.manifest["run_seconds"] for r in results if not r.manifest.get("reused_from"))
    loaded = sum(1 for r in results if r.manifest.get("reused_from"))
    print(f"{first.scenario.name}: {len(results)} run(s), {first.scenario.population.shoppers} shoppers, "
          f"{seconds:.1f} s of simulation" + (f" ({loaded} loaded by --reuse, not run)" if loaded else ""))
    if first.manifest.get(SET_KEY):
        print(f"  changed on the command line: --set {' --set '.join(first.manifest[SET_KEY])}")
    which = f"seed {first.seed}" if len(results) == 1 else f"mean of {len(results)} runs, as the report"
    mean = {key: {k: sum(summary[key][k] for summary in summaries) / len(results) for k in summaries[0][key]}
            for key in ("spend_share", "membership_share")}
    print(f"  spend share {summaries[0]['end_date']} ({which}): "
          + ", ".join(f"{k} {v:.1%}" for k, v in mean["spend_share"].items()))
    print("  memberships: " + ", ".join(f"{k} {v:.1%}" for k, v in mean["membership_share"].items()))


def prepare_results_folder(out: Path) -> str | None:
    """Check ``--out`` before any work (see :func:`sim.outputs.prepare_output`)."""
    from .outputs import prepare_output
    from .results import RESULT_FILES, RESULT_KINDS

    return prepare_output(out, RESULT_KINDS, "--out", RESULT_FILES)


def save_results(results: list[Result], out: Path, replaces: str | None, report: bool = True,
                 extra: dict[str, Any] | None = None, add: Any = None, cores: int = 1) -> None:
    """Results and report (and what ``add`` writes), swapped into ``out`` together; says what they
    replaced. The report's figures are made on ``cores`` processes."""
    from .results import RESULT_KINDS, save_set

    period = tuple(extra["period"]) if extra and "period" in extra else None
    writers = ([add] if add else []) + ([lambda folder: write_report(results, folder, period, cores)] if report else [])
    save_set(results, out, extra, add=lambda folder: [write(folder) for write in writers])
    if replaces in RESULT_KINDS:
        print(f"replaced: the earlier results in {out}")
    if report:
        print(f"report: {out / REPORT}")
    print(f"results: {out}")


def command_run(args: argparse.Namespace) -> int:
    from .experiments import replicate_seeds

    scenario = resolve_file(args.scenario, scenario_changes(args))
    warn_reset([scenario], args.set)
    out = args.out or DEFAULT_OUTPUT / scenario.name
    check_workload([scenario], args.replicates)
    replaces = prepare_results_folder(out)
    stored = stored_runs(args.reuse)
    seeds = replicate_seeds(scenario.seed if args.seed is None else args.seed, args.replicates)
    results = run_all([scenario], seeds, args.quiet, cores=args.cores, stored=stored)
    record_set(results, args.set)
    print_summary(results)
    save_results(results, out, replaces, report=not args.no_report, cores=args.cores)
    return 0


def command_compare(args: argparse.Namespace) -> int:
    from .experiments import replicate_seeds

    from .rivals import check_rivals_answer, rivals_answer
    from .comparison import (DIFFERENCES, DIFFERENCES_BY_YEAR, check_comparable, check_names, check_period,
                             comparison_manifest, comparison_name, differences, unlike_baseline,
                             format_differences, plan_draws, write_differences, yearly_differences)
    from .jobs.folders import warn

    check_draw_options(args)
    overrides = scenario_changes(args)
    files = [args.baseline, *args.what_ifs]
    scenarios = [resolve_file(path, overrides) for path in files]
    warn_reset(scenarios, args.set, strategic=args.rivals_answer)
    warn_made_alike(files, scenarios, args.set)
    names = [s.name for s in scenarios]
    check_names(scenarios, files)
    check_comparable(scenarios, files)
    warn(unlike_baseline(scenarios))
    out = args.out or DEFAULT_OUTPUT / comparison_name(names)
    check_workload(scenarios, args.replicates * (args.parameter_draws or 1))
    check_period(args.period, scenarios, "--period")
    if args.rivals_answer:
        check_rivals_answer(scenarios, args)
    root = scenarios[0].seed if args.seed is None else args.seed
    plan = args.parameter_draws and plan_draws(files, overrides, scenarios, args.parameter_draws, args.posterior, root)
    replaces = prepare_results_folder(out)
    stored = stored_runs(args.reuse)
    seeds = replicate_seeds(root, args.replicates)
    results = run_all(scenarios, seeds, args.quiet, plan, cores=args.cores, stored=stored)
    record_set(results, args.set)
    for name in names:
        print_summary([r for r in results if r.scenario.name == name])
    table, by_year = differences(results, args.period), yearly_differences(results)
    from .report.tables import period_label

    when = "at the end of the horizon" if args.period is None else f"over {period_label(args.period)}"
    print("\n".join(format_differences(table, when)))
    answered = args.rivals_answer and rivals_answer(scenarios, seeds, results, table, args, run_all)
    save_results(results, out, replaces, extra=comparison_manifest(names, seeds, args.period, plan and plan.manifest()),
                 add=lambda folder: [write_differences(table, folder / DIFFERENCES), answered and answered(folder),
                                     write_differences(by_year, folder / DIFFERENCES_BY_YEAR)], cores=args.cores)
    print(f"differences: {out / DIFFERENCES} (year by year: {out / DIFFERENCES_BY_YEAR})")
    return 0


def command_report(args: argparse.Namespace) -> int:
    from .comparison import recorded_period
    from .export import load_results
    from .outputs import recorded, unwritable
    from .results import record_files

    folder = args.results
    results = load_results(folder)
    if problem := unwritable(folder):
        raise UserError(f"{folder}: cannot write the report into it ({problem}); nothing was written")
    if (folder / REPORT).exists() and not (folder / REPORT).is_file():
        raise UserError(f"{folder}: its {REPORT} is not a file; nothing was written")
    if (folder / REPORT).exists() and not recorded(folder, {REPORT}):
        raise UserError(f"{folder}: holds a {REPORT} that retailsim did not write; move it out first (nothing was "
                        "written)")
    period = recorded_period(folder, [r.scenario for r in results])  # checked before the manifest is touched
    record_files(folder, REPORT)  # first: a kill while it is written leaves a file the folder calls its own
    print(f"report: {write_report(results, folder, period, args.cores)}")
    return 0


def command_sweep(args: argparse.Namespace) -> int:
    from .experiments.sweep import run_sweep
    from .validation import named_kind

    check_draw_options(args)
    with named_kind(args.file, "sweep"):
        result = run_sweep(args.file, workers=args.workers, dask=args.dask, out=args.out, progress=not args.quiet,
                           parameter_draws=args.parameter_draws, posterior=args.posterior, reuse=args.reuse)
    runs = len(result.runs)
    for folder, count in result.reused.items():
        print(f"reused {count} stored run{'s' * (count != 1)} of {folder}" + ("" if count else
              " (none of its runs is one of this sweep's: another base scenario, other values or seeds; "
              "an lhs design draws every point anew)"))
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
    """Serve the classroom dashboard until Ctrl-C, SIGTERM or SIGHUP (checks and rules: sim/dashboard/serve.py)."""
    from .dashboard.serve import start

    return start(args.scenario, host=args.host, port=args.port, shoppers=args.shoppers, access_code=args.access_code)


def command_validate(args: argparse.Namespace) -> int:
    """Check every scenario or sweep file given; each bad one is one line on stderr, and exit code 2."""
    from .validation import validate_file

    bad = 0
    for path in args.files:
        try:
            print(validate_file(path))
        except UserError as error:
            print(f"retailsim: error: {error}", file=sys.stderr)
            bad += 1
    return 2 if bad else 0


def command_export(args: argparse.Namespace) -> int:
    """Write a results folder's tables as CSV files or one spreadsheet (sim/export.py)."""
    from .export import export, target_of

    target, _ = target_of(args.results, args.format, args.out)
    earlier = target.is_file() or (target.is_dir() and any(target.iterdir()))  # an empty folder held nothing
    written = export(args.results, args.format, args.out)
    if earlier:
        print(f"replaced: the earlier export {written}")
    print(f"{args.format}: {written}")
    return 0


def command_scenarios(args: argparse.Namespace) -> int:
    from .shipped import listing

    print("\n".join(listing()))
    return 0


def command_schema(args: argparse.Namespace) -> int:
    from .scenario import Scenario
    print(json.dumps(Scenario.model_json_schema(), indent=2))
    return 0


def add_run_commands(commands) -> None:
    """``run`` and ``compare``."""
    runner = commands.add_parser("run", help="run a scenario, write its results and report")
    runner.add_argument("scenario", type=scenario_file, help="scenario YAML file, or a shipped scenario's name")
    runner.add_argument("--out", type=Path, help="output folder (default: reports/<scenario name>/)")
    runner.add_argument("--no-report", action="store_true", help="write results only, no report.html")
    scenario_options(runner)
    reuse_option(runner)
    runner.set_defaults(handler=command_run)

    comparer = commands.add_parser("compare", help="run a baseline and what-ifs over common seeds; write a comparison")
    comparer.add_argument("baseline", type=scenario_file, help="the baseline scenario file (or a shipped name)")
    comparer.add_argument("what_ifs", type=scenario_file, nargs="+", metavar="WHATIF",
                          help="what-if scenario files (or shipped names)")
    comparer.add_argument("--out", type=Path, help="output folder (default: reports/<baseline>_vs_<what-if>/)")
    comparer.add_argument("--period", type=period, metavar="YEARS", help="differences over calendar years, e.g. "
                          "2026-2030 (shares: the mean; profit: the total), not at the end of the horizon")
    comparer.add_argument("--rivals-answer", action="store_true", help="also run every scenario with strategic "
                          "prices and say what each firm answers (answers.csv, docs/strategy.md)")
    scenario_options(comparer)
    reuse_option(comparer)
    draw_options(comparer)
    comparer.set_defaults(handler=command_compare, replicates=5)


def reuse_option(command: argparse.ArgumentParser, what: str = "an earlier results folder (of run or compare): a "
                 "run it holds of the same scenario (as resolved) and seed, made by this model version, is loaded, "
                 "not run again (a comparison's baseline, say)") -> None:
    """``--reuse FOLDER`` (run, compare and sweep: each says what it takes from the folder)."""
    command.add_argument("--reuse", type=Path, action="append", default=[], metavar="FOLDER",
                         help=f"{what}. May be given several times")


def add_job_commands(commands) -> None:
    """``sweep`` (``targets`` and ``calibrate``: sim/cli_calibration.py)."""
    sweeper = commands.add_parser("sweep", help="run a parameter sweep (resumable) and its sensitivity analysis")
    sweeper.add_argument("file", type=Path, help="sweep YAML file")
    job_options(sweeper, "output folder (default: reports/sweeps/<sweep name>/)")
    reuse_option(sweeper, "an earlier sweep's folder whose stored runs this sweep also needs (the same model "
                          "version and outcomes; a sweep extended with more replicates, say): they are copied, not "
                          "run again")
    draw_options(sweeper)
    sweeper.set_defaults(handler=command_sweep, interrupted=RESUMABLE)


def add_other_commands(commands) -> None:
    """``dashboard``, ``report``, ``validate``, ``export``, ``scenarios`` and ``schema``."""
    dashboard = commands.add_parser("dashboard", help="serve the live classroom dashboard in the browser")
    dashboard.add_argument("scenario", type=scenario_file, nargs="?",
                           help="scenario file or shipped name (default: the shipped baseline)")
    server_options(dashboard)
    dashboard.add_argument("--shoppers", type=shopper_count, help="households in the dashboard's model (default 2000)")
    dashboard.set_defaults(handler=command_dashboard)

    reporter = commands.add_parser("report", help="rebuild report.html from saved results (runs nothing)")
    reporter.add_argument("results", type=Path, help="a results folder written by run or compare")
    reporter.add_argument("--cores", type=core_count, default=DEFAULT_CORES, metavar="N",
                          help="processes that make the report's figures, at most the CPUs there are (default "
                               "%(default)s; 1: this process only). The report is the same")
    reporter.set_defaults(handler=command_report)

    validator = commands.add_parser("validate", help="check scenario, sweep, game and calibration files without running them")
    validator.add_argument("files", nargs="+", type=any_scenario_file,
                           help="scenario or sweep files (or shipped scenario names)")
    validator.set_defaults(handler=command_validate)

    exporter = commands.add_parser("export", help="write a results folder's tables as CSV files or a spreadsheet")
    exporter.add_argument("results", type=Path, help="a results folder written by run or compare")
    exporter.add_argument("--format", choices=("csv", "xlsx"), default="csv", help="CSV files (default) or one .xlsx")
    exporter.add_argument("--out", type=Path, help="folder (csv) or .xlsx file (default: <results>-csv/ or <results>.xlsx)")
    exporter.set_defaults(handler=command_export)

    lister = commands.add_parser("scenarios", help="list the shipped scenarios, lessons, sweeps and calibration files")
    lister.set_defaults(handler=command_scenarios)

    schema = commands.add_parser("schema", help="print the scenario JSON Schema (for editors)")
    schema.set_defaults(handler=command_schema)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="retailsim", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"retailsim {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    add_run_commands(commands)
    add_job_commands(commands)
    add_calibration_commands(commands)
    add_discover_command(commands)
    add_classroom_command(commands)
    add_game_command(commands)
    add_other_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # --help, --version, or a usage error already printed as one line
        return int(stop.code or 0)
    from . import outputs

    outputs.CHECKED.clear()  # what an earlier command in this process (a test, a notebook) checked and never wrote
    outputs.ONE_COMMAND = True
    try:
        return args.handler(args)
    except UserError as error:
        print(f"retailsim: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:  # a job's folder (sweep, calibrate, game) may already hold its claim and runs
        print(f"retailsim: {getattr(args, 'interrupted', 'interrupted; nothing was written')}", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:  # the reader went away (``retailsim schema | head``): stop quietly, like Unix tools
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit flush cannot fail again
        return 141
    finally:
        outputs.ONE_COMMAND = False
        outputs.CHECKED.clear()


def entry() -> None:
    """The ``retailsim`` command: :func:`main`, then exit.

    Python's cyclic collector looks at its youngest objects every 700 new ones by default; importing
    the libraries and building the report make millions, so it ran thousands of times for little:
    every 20,000 takes 0.2 s off a baseline run (docs/performance.md) and still collects in the long
    commands (sweeps, servers). Everything the command made is still in memory at the end, and the
    interpreter's last collection would walk all of it on the way out (0.24 s after a baseline run);
    frozen, it is skipped. Files are written and closed by then.

    Once interrupted (Ctrl-C, and said so), a second Ctrl-C while the interpreter shuts down would
    print a traceback from its threads' ending (pressed twice, or ``timeout -s INT``, which signals the
    process and then its group): it is ignored, as there is nothing left to stop."""
    gc.set_threshold(20_000, 10, 10)
    code = main()
    if code == INTERRUPTED:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    entry()
