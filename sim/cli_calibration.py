"""``retailsim targets`` (how well a scenario meets the calibration targets) and ``retailsim calibrate``
(fit the free parameters; ``sim.calibration.fitting``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .cli_args import RESUMABLE, job_options, positive, resolve_file, scenario_options
from .cli_runs import scenario_changes, run_all
from .shipped import calibration_setup, project_or_shipped, scenario_file


def command_targets(args: argparse.Namespace) -> int:
    """How well a scenario reproduces the calibration targets (mean over replicates)."""
    from .calibration import evaluate, load_targets
    from .experiments import replicate_seeds
    from .jobs.outcomes import recorded_series

    scenario = resolve_file(args.scenario, scenario_changes(args))
    targets = load_targets(args.targets, (scenario.horizon.start, scenario.horizon.end), recorded_series(scenario))
    seeds = replicate_seeds(scenario.seed if args.seed is None else args.seed, args.replicates)
    fit = evaluate(targets, run_all([scenario], seeds, args.quiet, cores=args.cores))
    print(f"{scenario.name} against {args.targets} ({len(seeds)} replicates, {scenario.population.shoppers} households)")
    print("\n".join(fit.lines()))
    print(f"loss (mean squared miss): {fit.loss:.3f}; {int(fit.table['within'].sum())} of {len(fit.table)} within tolerance")
    return 0


def command_calibrate(args: argparse.Namespace) -> int:
    """Fit the free parameters to the targets; write calibrated.yaml and a calibration report."""
    from .calibration.fitting import calibrate
    from .validation import named_kind

    setup = args.setup or calibration_setup(write=not args.no_write)
    with named_kind(setup, "calibration set-up"):
        result = calibrate(setup, method=args.method, budget=args.budget, workers=args.workers, dask=args.dask,
                           out=args.out, population=args.population, batch=args.batch, write=not args.no_write,
                           progress=not args.quiet, start_from=args.start_from, fit_through=args.fit_through,
                           waves=args.waves)
    print("\n".join(result.lines()))
    return 0


def add_calibration_commands(commands) -> None:
    """``targets`` and ``calibrate``."""
    checker = commands.add_parser("targets", help="how well a scenario reproduces the calibration targets")
    checker.add_argument("scenario", type=scenario_file, nargs="?",
                         default=project_or_shipped("scenarios/baseline.yaml"),
                         help="scenario file or shipped name (default: scenarios/baseline.yaml here, else shipped)")
    checker.add_argument("--targets", type=Path, default=project_or_shipped("calibration/targets.yaml"),
                         help="targets file (default: calibration/targets.yaml here, else the shipped one)")
    scenario_options(checker)
    checker.set_defaults(handler=command_targets, replicates=3)

    calibrator = commands.add_parser("calibrate", help="fit the free parameters to the targets (resumable)")
    calibrator.add_argument("setup", type=Path, nargs="?",
                            help="calibration set-up (default: calibration/setup.yaml in this folder; the shipped one "
                                 "with --no-write)")
    calibrator.add_argument("--method", choices=("optuna", "abc", "bank", "emulator"), default="optuna", help="optuna: simulated method of moments "
                            "(default); abc: ABC-SMC posterior (pyabc); bank: posterior from a stored bank of prior "
                            "simulations (rejection ABC); emulator: posterior around the committed fit, from emulators, "
                            "and the nearest point that meets every target with a margin")
    calibrator.add_argument("--budget", type=positive, metavar="N",
                            help="candidates (optuna, default 300), simulated particles (abc, default 600), the "
                                 "bank's simulations (bank, default 2000) or a wave's (emulator, default 500)")
    job_options(calibrator, "working folder (default: reports/calibration/<name>-<method>/)")
    calibrator.add_argument("--population", type=positive, help="ABC particles per generation (default 24); bank: "
                            "simulations accepted (default 5%% of the bank); emulator: particles (default 200)")
    calibrator.add_argument("--fit-through", type=int, metavar="YEAR", help="bank, emulator: the out-of-sample test fits "
                            "the targets to YEAR and predicts the later ones (default 2023)")
    calibrator.add_argument("--waves", type=int, help="bank, emulator: waves of --budget simulations, "
                            "each later one drawn near the posterior so far (default 1)")
    calibrator.add_argument("--batch", type=positive, default=4, help="optuna candidates asked at once (default 4)")
    calibrator.add_argument("--no-write", action="store_true", help="leave calibrated.yaml as it is (report only)")
    calibrator.add_argument("--start-from", type=Path, metavar="FILE",
                            help="an earlier fit (calibrated.yaml): the first candidate (optuna), the emulators' centre")
    calibrator.set_defaults(handler=command_calibrate, interrupted=RESUMABLE)
