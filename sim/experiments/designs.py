"""Experiment designs: the points of a sweep, one row per point, one column per parameter."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from ..scenario import Scenario
from ..streams import stream_key
from .sweepfile import Parameter, Sweep, SweepLike, as_whole, check_drawn, is_integer


def salib_problem(sweep: Sweep) -> dict:
    """SALib's problem dict (ranges only; used by sobol and morris, and by the analyses)."""
    names = list(sweep.parameters)
    bounds = [list(p.range) if p.range is not None else [0.0, 1.0] for p in sweep.parameters.values()]
    return {"num_vars": len(names), "names": names, "bounds": bounds}


def from_unit(parameter: Parameter, u: np.ndarray) -> np.ndarray:
    """Map uniform [0, 1) draws onto a parameter (inverse CDF for distributions)."""
    if parameter.range is not None:
        low, high = parameter.range
        return low + u * (high - low)
    if parameter.values is not None:
        index = np.minimum((u * len(parameter.values)).astype(int), len(parameter.values) - 1)
        return np.array(parameter.values, dtype=object)[index]
    from scipy import stats  # only distributions need it

    d = parameter.distribution
    if d.kind == "normal":
        return stats.norm.ppf(u, loc=d.mean, scale=d.sd)
    if d.kind == "lognormal":
        return stats.lognorm.ppf(u, s=d.sigma, scale=d.median)
    return stats.triang.ppf(u, c=(d.mode - d.low) / (d.high - d.low), loc=d.low, scale=d.high - d.low)


def _grid_axis(parameter: Parameter) -> list:
    if parameter.values is not None:
        return list(parameter.values)
    return list(np.linspace(*parameter.range, parameter.steps))


def sample(sweep: Sweep) -> pd.DataFrame:
    """The design's points: columns ``point`` and one per parameter (dotted path), in design order."""
    from SALib.sample import latin, morris, sobol  # ~0.4 s to import; only sweeps need it

    names, parameters = list(sweep.parameters), list(sweep.parameters.values())
    seed = int(np.random.SeedSequence(sweep.seed, spawn_key=(stream_key("sweep.design"),)).generate_state(1)[0])
    if sweep.design == "grid":
        columns = dict(zip(names, zip(*itertools.product(*(_grid_axis(p) for p in parameters)))))
    elif sweep.design in ("sobol", "morris"):
        problem = salib_problem(sweep)
        matrix = (sobol.sample(problem, sweep.samples, calc_second_order=False, seed=seed) if sweep.design == "sobol"
                  else morris.sample(problem, sweep.samples, num_levels=sweep.levels, seed=seed))
        columns = {name: matrix[:, i] for i, name in enumerate(names)}
    else:
        if sweep.design == "lhs":
            unit = latin.sample({"num_vars": len(names), "names": names, "bounds": [[0, 1]] * len(names)},
                                sweep.samples, seed=seed)
        else:
            unit = np.random.default_rng(seed).random((sweep.samples, len(names)))
        columns = {name: from_unit(p, unit[:, i]) for i, (name, p) in enumerate(zip(names, parameters))}
    frame = pd.DataFrame({name: list(values) for name, values in columns.items()})
    for name in names:
        if is_integer(name):
            frame[name] = as_whole(frame[name])
        elif sweep.parameters[name].values is None:
            frame[name] = frame[name].astype(float)
    frame.insert(0, "point", np.arange(len(frame)))
    return frame


def checked_sample(path: SweepLike, sweep: Sweep, base: Scenario) -> pd.DataFrame:
    """:func:`sample`, refused in one line (:func:`~sim.experiments.sweepfile.check_drawn`) if a
    distribution drew a value the scenario would refuse: the points ``sweep`` runs, and the check
    ``validate`` makes."""
    points = sample(sweep)
    check_drawn(path, sweep, base, points)
    return points
