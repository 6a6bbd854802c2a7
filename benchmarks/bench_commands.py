"""Whole commands, as a user waits for them: wall and CPU seconds of ``retailsim`` in fresh processes.

Times ``retailsim --version`` and ``retailsim run scenarios/baseline.yaml`` at its default size
(report included, and with ``--no-report``), each in a new process, and splits one run into its
phases (import, simulate, write results, build and write the report) in a separate process. The
figures are medians over ``--repeats``; CPU seconds (user + system of the child process) move less
than wall seconds on a shared machine. With ``--checkout`` the same commands run on another
checkout's ``sim`` (a git worktree of an older commit), old and new alternating, so a shared and
noisy machine loads both alike::

    python benchmarks/bench_commands.py --repeats 7
    python benchmarks/bench_commands.py --repeats 3 --shoppers 1000      # the same commands, a smaller run
    python benchmarks/bench_commands.py --repeats 3 --cores 1            # each run in one process
    python benchmarks/bench_commands.py --repeats 3 --compare            # and a 5-replicate comparison
    git worktree add /tmp/old <commit> && python benchmarks/bench_commands.py --checkout /tmp/old

Before timing, each checkout's ``sim`` is compiled to bytecode (``python -m compileall``, as ``make
install`` and ``pip install`` do, and as Python does on a first import where it may write): where
``PYTHONDONTWRITEBYTECODE`` is set and nothing compiled it, every process compiles the package's source
again, 0.05-0.1 s of each command. ``--as-is`` times the checkouts as they are.

``--profile`` instead runs the run's phases under cProfile (once per checkout, alternating) and
prints profiled seconds by phase, down to the parts of a week. The profiler's clock is the
process's CPU time, not cProfile's default (elapsed time, which counts the waits of a loaded
machine against whatever function was running); every Python call costs more under the profiler.
"""

from __future__ import annotations

import argparse
import compileall
import json
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "baseline.yaml"
WHAT_IF = ROOT / "scenarios" / "membership_fee_war.yaml"

# The first argument is a checkout whose sim is imported before the installed (editable) one, or "".
PREAMBLE = r"""
import sys
if sys.argv[1]:
    sys.meta_path = [finder for finder in sys.meta_path if "editable" not in repr(finder).lower()]
    sys.path.insert(0, sys.argv[1])
"""
COMMAND = PREAMBLE + r"""
import sim.cli
if hasattr(sim.cli, "entry"):  # what the retailsim command runs
    sys.argv = ["retailsim", *sys.argv[2:]]
    sim.cli.entry()
sys.exit(sim.cli.main(sys.argv[2:]))
"""
# argv: checkout, scenario, output folder, a file for cProfile's statistics or "", households or "", and
# the run's processes (--cores) or "".
PHASES = PREAMBLE + r"""
import json, time
clocks = (time.perf_counter, time.process_time)
marks = {}
def mark(name):
    marks[name] = [clock() for clock in clocks]
profiler = None
if sys.argv[4]:
    import cProfile
    profiler = cProfile.Profile(time.process_time)  # CPU time: a loaded machine's waits are not counted
    profiler.enable()
mark("start")
def load_modules():
    global sim, run_replicates, build_report, save_set, resolve
    import sim.cli
    from sim.experiments import run_replicates
    from sim.report import build_report
    from sim.results import save_set
    from sim.run import resolve
load_modules()
mark("imported")
def simulate():
    # On as many processes as `retailsim run` uses (sys.argv[6], else its default), where the checkout has them.
    import inspect
    import sim.cli_args
    global cores
    cores = int(sys.argv[6]) if sys.argv[6] else getattr(sim.cli_args, "DEFAULT_CORES", 1)
    scenario = resolve(sys.argv[2], {"population.shoppers": int(sys.argv[5])} if sys.argv[5] else None)
    if "cores" in inspect.signature(run_replicates).parameters:
        return run_replicates([scenario], [scenario.seed], cores=cores)
    return run_replicates([scenario], [scenario.seed])
results = simulate()
mark("simulated")
report = []
def write_report(folder):
    # On the run's processes too, where the checkout's report can use them (as `retailsim run` does).
    import inspect
    begun = [clock() for clock in clocks]
    if "cores" in inspect.signature(build_report).parameters:
        build_report(results, cores=cores).write(folder / "report.html")
    else:
        build_report(results).write(folder / "report.html")
    report.append([clock() - b for clock, b in zip(clocks, begun)])
def write_results():
    save_set(results, sys.argv[3], add=write_report)
write_results()
mark("saved")
if profiler is not None:
    profiler.disable()
    profiler.dump_stats(sys.argv[4])
def between(a, b, clock):
    return marks[b][clock] - marks[a][clock]
figures = {}
for clock, unit in ((0, "wall"), (1, "cpu")):
    figures[f"import {unit}"] = between("start", "imported", clock)
    figures[f"simulate {unit}"] = between("imported", "simulated", clock)
    figures[f"results {unit}"] = between("simulated", "saved", clock) - report[0][clock]
    figures[f"report {unit}"] = report[0][clock]
figures["package"] = sim.__file__
print(json.dumps(figures))
"""

# Profiled phases: (label, file the function is in, function name). Cumulative seconds of each;
# indented labels are parts of the one above (a function called from several phases, such as the
# utilities, counts all its calls: the weekly ones, settling habits and launches).
PROFILE_PHASES = (
    ("import", "<string>", "load_modules"),
    ("simulate", "<string>", "simulate"),
    ("  build the model", "sim/model/market.py", "__init__"),
    ("  settle habits (2 x 10 rounds)", "sim/model/market.py", "settle_habits"),
    ("  launch memberships", "sim/model/market.py", "launch_memberships"),
    ("  firms prepare offers, access", "sim/model/market.py", "firms_prepare_offers"),
    ("  households shop", "sim/model/market.py", "households_shop"),
    ("    utilities (all calls)", "sim/model/choice.py", "decision_utilities"),
    ("      firms' service costs", "sim/model/choice.py", "channel_costs"),
    ("    exponentials of the logit (all calls)", "sim/model/choice.py", "exponentials"),
    ("    membership valuation (monthly)", "sim/model/memberships.py", "membership_values"),
    ("    welfare", "sim/model/choice.py", "welfare"),
    ("    draws", "sim/model/choice.py", "draw"),
    ("    tally", "sim/model/tally.py", "tally"),
    ("  firms book accounts", "sim/model/market.py", "firms_book_accounts"),
    ("  membership reviews (monthly)", "sim/model/market.py", "households_review_memberships"),
    ("  habits learn", "sim/model/market.py", "households_learn"),
    ("  data collection", "sim/model/collect.py", "weekly"),
    ("  the results table", "sim/model/metrics.py", "table"),
    ("write results and report", "<string>", "write_results"),
    ("  build the report", "sim/report/page.py", "build_report"),
)


def wall(script: str, checkout: str, *args: str) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh process."""
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script, checkout, *args], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"the command failed ({args}):\n{done.stderr[-2000:]}")
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return seconds, cpu


def phases(checkout: str, out: Path, stats: str = "", shoppers: int | None = None, cores: int | None = None) -> dict:
    done = subprocess.run([sys.executable, "-c", PHASES, checkout, str(SCENARIO), str(out), stats,
                           str(shoppers or ""), str(cores or "")],
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"the phase run failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(checkout: str, scratch: Path, index: int, shoppers: int | None = None, cores: int | None = None,
            compare: bool = False) -> dict:
    """One round of every measurement for one checkout (``shoppers``: the run's size, else the scenario's;
    ``cores``: the run's processes, else the command's default; ``compare``: also time a comparison)."""
    out = scratch / f"run-{index}"
    size = (("--shoppers", str(shoppers)) if shoppers else ()) + (("--cores", str(cores)) if cores else ())
    figures = {}
    commands = [("--version", ("--version",)),
                ("run + report", ("run", str(SCENARIO), "--out", str(out), "--quiet", *size)),
                ("run --no-report", ("run", str(SCENARIO), "--out", f"{out}-bare", "--quiet", "--no-report", *size))]
    if compare:
        commands.append(("compare (5 replicates)", ("compare", str(SCENARIO), str(WHAT_IF), "--out", f"{out}-compare",
                                                    "--quiet", *size)))
    for name, args in commands:
        figures[f"{name} wall"], figures[f"{name} cpu"] = wall(COMMAND, checkout, *args)
    figures.update({f"phase {k}": v for k, v in phases(checkout, scratch / f"phases-{index}", "", shoppers, cores).items()
                    if k != "package"})
    for folder in scratch.iterdir():
        shutil.rmtree(folder, ignore_errors=True)
    return figures


def profiled(checkout: str, scratch: Path, index: int, shoppers: int | None = None, cores: int | None = None,
             compare: bool = False) -> dict:
    """Profiled seconds by phase of one run (see ``PROFILE_PHASES``), and the profile's total (the first
    process's: profile with ``--cores 1`` to see the whole run's work)."""
    stats_file = scratch / f"profile-{index}.out"
    phases(checkout, scratch / f"phases-{index}", str(stats_file), shoppers, cores)
    stats = pstats.Stats(str(stats_file)).stats
    figures = {"total profiled": sum(entry[2] for entry in stats.values())}
    for label, file, function in PROFILE_PHASES:
        found = [entry for (path, _line, name), entry in stats.items()
                 if name == function and path.replace("\\", "/").endswith(file)]
        figures[label] = sum(entry[3] for entry in found) if found else float("nan")
    shutil.rmtree(scratch / f"phases-{index}", ignore_errors=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--checkout", default="", help="also measure the sim package of this checkout, alternating")
    parser.add_argument("--profile", action="store_true", help="profiled seconds by phase instead of timings")
    parser.add_argument("--shoppers", type=int, default=None,
                        help="households of the run (default: the baseline's own, 20,000)")
    parser.add_argument("--compare", action="store_true",
                        help="also time retailsim compare of the baseline and membership_fee_war (5 replicates)")
    parser.add_argument("--cores", type=int, default=None,
                        help="the run's processes, retailsim run --cores (default: the command's own default)")
    parser.add_argument("--as-is", action="store_true",
                        help="do not compile the checkouts' sim to bytecode first (time them as they are)")
    args = parser.parse_args()
    checkouts = {"this checkout": ""} | ({f"{args.checkout}": args.checkout} if args.checkout else {})
    if not args.as_is:
        for checkout in checkouts.values():
            if not compileall.compile_dir(Path(checkout or ROOT) / "sim", quiet=1):
                sys.exit(f"{checkout or ROOT}: its sim package does not compile")
        print("sim compiled to bytecode first, as an install leaves it (--as-is: not)", file=sys.stderr)
    rounds: dict[str, list[dict]] = {name: [] for name in checkouts}
    one_round = profiled if args.profile else measure
    with tempfile.TemporaryDirectory(prefix="bench-commands-") as scratch:
        for index in range(args.repeats):
            for name, checkout in (checkouts.items() if index % 2 == 0 else reversed(checkouts.items())):
                rounds[name].append(one_round(checkout, Path(scratch), index, args.shoppers, args.cores, args.compare))
                print(f"round {index + 1} {name}: " + ", ".join(f"{k.strip()} {v:.2f}" for k, v in rounds[name][-1].items()),
                      file=sys.stderr, flush=True)
    keys = list(rounds["this checkout"][0])
    unit = "profiled seconds" if args.profile else "seconds (wall: elapsed; cpu: user + system)"
    print(f"medians of {args.repeats} rounds, {unit}")
    print(f"{'':<42}" + "".join(f"{name[-24:]:>26}" for name in checkouts))
    for key in keys:
        print(f"{key:<42}" + "".join(f"{statistics.median(r[key] for r in rounds[name]):>26.2f}" for name in checkouts))


if __name__ == "__main__":
    main()
