"""The command line's words: ``--set PATH=VALUE``, bounded whole numbers, one-line usage errors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .bounds import MAX_SEED, MAX_SHOPPERS, MIN_SHOPPERS
from .errors import COMMAND_LINE, ScenarioError
from .limits import MAX_REPLICATES


def parse_assignment(text: str) -> tuple[str, Any]:
    """``PATH=VALUE`` from ``--set``; the value is read as YAML (numbers, booleans, dates, lists)."""
    path, equals, value = text.partition("=")
    if not equals or not all(part.strip() for part in path.split(".")):
        raise ScenarioError(COMMAND_LINE, (path.strip() if equals and path.strip() else text)[:60],
                            "expected PATH=VALUE with a dotted path of keys, e.g. "
                            "walmart.walmart_plus.fee_annual=79")
    from .scenario.loader import parse_yaml  # the YAML reader and the schema load only when --set is used

    try:
        return path.strip(), parse_yaml(value, COMMAND_LINE)[0]
    except ScenarioError as error:
        raise ScenarioError(COMMAND_LINE, path.strip(), f"cannot read the value '{value[:60]}' ({error.message})") from None


def warn_reset(scenarios: list, assignments: list[str], strategic: bool = False) -> None:
    """A warning line for each ``--set`` that one of ``scenarios``' own events sets again later, and for
    each scenario that sets what only strategic conduct reads while its conduct is fixed (unless
    ``strategic``: compare --rivals-answer runs them strategic too), and for each that sets a block whole
    (its other keys take their defaults, not the file's: ``memberships={taste_sd_usd: 50}`` dropped the
    calibrated Walmart+ liking)."""
    from .jobs.folders import warn
    from .scenario import Scenario
    from .scenario.paths import blocks_set_whole, reset_by_events

    changes = dict(parse_assignment(item) for item in assignments)
    lines = blocks_set_whole(Scenario, changes)
    lines += [line for scenario in scenarios for line in reset_by_events(scenario, changes)]
    if not strategic:
        lines += [line for scenario in scenarios for line in inert_under_fixed_conduct(scenario)]
    warn(list(dict.fromkeys(lines)))


def warn_made_alike(files: list, scenarios: list, assignments: list[str]) -> None:
    """A warning line for each ``--set`` of compare that takes a what-if's own lever away (it changes every
    scenario alike): the files are read again without the command line's changes to tell."""
    from .jobs.folders import warn
    from .scenario.paths import made_alike

    if assignments:
        plain = [resolve_file(path, None) for path in files]
        warn(made_alike(plain, scenarios, dict(parse_assignment(item) for item in assignments)))


def inert_under_fixed_conduct(scenario) -> list[str]:
    """Warning lines for the settings of a fixed-conduct scenario that only strategic conduct reads: the
    other grocers' and Kroger's counts of independent firms (set, or set by an event)."""
    if scenario.conduct != "fixed":
        return []
    blocks = {firm: getattr(scenario, firm) for firm in ("rivals", "kroger")}
    keys = [f"{firm}.independent_firms" for firm, block in blocks.items()
            if block.independent_firms != type(block).model_fields["independent_firms"].default]
    keys += [key for event in scenario.events for key in event.set if key.endswith(".independent_firms")]
    return [f"{scenario.name}: {key} acts only under strategic conduct, and this scenario's conduct is fixed "
            "(--set conduct=strategic, or compare --rivals-answer)" for key in dict.fromkeys(keys)]


def whole_number(low: int, high: int | None = None):
    """An argparse type: a whole number from ``low`` to ``high``."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got '{text[:40]}'") from None
        if value < low or (high is not None and value > high):
            span = f"from {low:,} to {high:,}" if high is not None else f"at least {low:,}"
            raise argparse.ArgumentTypeError(f"must be {span}, got {value:,}" if abs(value) < 10**30
                                             else f"must be {span}")
        return value

    return parse


positive = whole_number(1)
seed_number = whole_number(0, MAX_SEED)
replicate_count = whole_number(1, MAX_REPLICATES)
draw_count = whole_number(1, MAX_REPLICATES)  # parameter draws: as replicates (sim.experiments.posterior)
shopper_count = whole_number(MIN_SHOPPERS, MAX_SHOPPERS)
# A command's processes: a run's copies or runs side by side (each holds a model), then the report's parts.
DEFAULT_CORES = 2
core_count = whole_number(1, 1024)  # --cores: more than the machine has are not used (sim.model.cores.usable)


def period(text: str) -> tuple[int, int]:
    """``--period``: calendar years ``2026-2030`` (first, last) or one year ``2026``."""
    first, dash, last = text.strip().partition("-")
    try:
        years = (int(first), int(last) if dash else int(first))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected years as 2026-2030 or 2026, got '{text[:40]}'") from None
    if not 1900 <= years[0] <= years[1] <= 2200:
        raise argparse.ArgumentTypeError(f"expected a first year no later than the last, within 1900-2200, got '{text[:40]}'")
    return years


class OneLineParser(argparse.ArgumentParser):
    """argparse, with its usage errors as one line (the usage itself is for --help) and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        command = self.prog.removeprefix("retailsim").strip()
        where = f"{command}: " if command else ""
        self.exit(2, f"retailsim: error: {where}{message}{self._nearest_option(message)}; see '{self.prog} --help'\n")

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        self._words = list(sys.argv[1:] if args is None else args)
        return super().parse_args(args, namespace)

    def _nearest_option(self, message: str) -> str:
        """"; did you mean --X?" for an unknown flag close to one of the command's own options, or the
        commands that have it when it is another command's."""
        import difflib

        if not message.startswith("unrecognized arguments:"):
            return ""
        commands = {name: parser for action in self._actions if isinstance(action, argparse._SubParsersAction)
                    for name, parser in action.choices.items()}
        used = next((commands[word] for word in getattr(self, "_words", []) if word in commands), None)
        own = options_of(self) | (options_of(used) if used is not None else set())
        for word in message.removeprefix("unrecognized arguments:").split():
            flag = word.split("=")[0]
            if not flag.startswith("--"):
                continue
            elsewhere = sorted(name for name, parser in commands.items() if flag in options_of(parser))
            if flag not in own and elsewhere:
                return f" ({flag} is an option of {', '.join(elsewhere)})"
            close = ["--shoppers"] if flag == "--households" else difflib.get_close_matches(flag, sorted(own), 1, 0.75)
            if close:
                return f" (did you mean {close[0]}?)"
        return ""


def options_of(parser: argparse.ArgumentParser) -> set[str]:
    """A parser's own long options (not its subcommands')."""
    return {option for action in parser._actions for option in action.option_strings if option.startswith("--")}


def scenario_options(command: argparse.ArgumentParser) -> None:
    """The options of every command that runs scenarios."""
    command.add_argument("--seed", type=seed_number, help="root seed of the replicates (default: the scenario's)")
    command.add_argument("--replicates", type=replicate_count, default=1, metavar="K",
                         help=f"runs per scenario over K common seeds (default %(default)s, at most {MAX_REPLICATES:,})")
    command.add_argument("--shoppers", type=shopper_count, help="number of simulated households")
    command.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                         help="override a scenario value from the start, e.g. --set walmart.walmart_plus.fee_annual=79, "
                              "or from a date: --set amazon.prime.fee_annual@2026-01-01=119 (in compare, in every "
                              "scenario alike)")
    command.add_argument("--cores", type=core_count, default=DEFAULT_CORES, metavar="N",
                         help="processes to use, at most the CPUs there are (default %(default)s; 1: this process "
                              "only): several runs go side by side, one a process (from 5 million household-weeks "
                              "in all), and a single run of 3,000 to 250,000 households shares its households "
                              "among them. The results are the same")
    command.add_argument("--quiet", action="store_true", help="no progress bar")


# What a resumable job (sweep, calibrate, game) says when Ctrl-C stops it: its folder keeps its claim and runs.
RESUMABLE = ("interrupted; what was finished is kept in the output folder, if it was made: the same command "
             "resumes it")


def resolve_file(path, overrides):
    """:func:`sim.run.resolve` of a scenario file the command line gave: a sweep, game or calibration
    file is named as such, with the command that runs it."""
    from .run import resolve
    from .validation import named_kind

    with named_kind(path, "scenario"):
        return resolve(path, overrides)


def job_options(command: argparse.ArgumentParser, out_help: str) -> None:
    """The options of the resumable jobs (sweep, calibrate)."""
    command.add_argument("--workers", type=positive, help="worker processes (default: the CPUs available)")
    command.add_argument("--dask", metavar="ADDRESS", help="'local' for a Dask LocalCluster, or a scheduler address")
    command.add_argument("--out", type=Path, help=out_help)
    command.add_argument("--quiet", action="store_true", help="no progress bar")


def draw_options(command: argparse.ArgumentParser) -> None:
    """``--parameter-draws`` and ``--posterior`` (compare, sweep): runs over the calibration's posterior."""
    command.add_argument("--parameter-draws", type=draw_count, metavar="K",
                         help="run over K draws from the calibration's posterior, each over the same seeds "
                              "(K x replicates runs a scenario); the report separates parameter and run-noise bands")
    command.add_argument("--posterior", type=Path, metavar="FILE",
                         help="posterior CSV for --parameter-draws (default: posterior.csv beside the baseline's "
                              "calibrated.yaml, written by retailsim calibrate: --method emulator, bank or abc)")


def check_draw_options(args: argparse.Namespace) -> None:
    """``--posterior`` alone did nothing: one line, before any work."""
    from .experiments.posterior import check_posterior_given

    check_posterior_given(args.posterior, args.parameter_draws, ("--posterior", "--parameter-draws"))


def server_options(command: argparse.ArgumentParser) -> None:
    """The options of the commands that serve pages (dashboard, classroom): where to listen, and the code."""
    command.add_argument("--port", default="8765", metavar="N", help="port to listen on, 1-65535 (default 8765)")
    command.add_argument("--host", default="127.0.0.1", metavar="IP",
                         help="address to listen on (default 127.0.0.1: this machine only; any other needs an access code)")
    command.add_argument("--access-code", metavar="CODE",
                         help="code a browser must present (8-64 letters, digits, - or _; default: a random one when "
                              "--host is not 127.0.0.1)")
