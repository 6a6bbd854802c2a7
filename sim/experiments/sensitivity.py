"""Sensitivity indices from a sweep's runs, through SALib's ``analyze`` calls.

Sobol: first-order (S1) and total (ST) indices with confidence intervals; Morris: mu*, sigma and mu;
random and lhs designs: the moment-independent delta (SALib's raw estimator) and S1 (Plischke et al.). Grids: none.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .designs import salib_problem
from .sweepfile import Sweep

COLUMNS = ["outcome", "parameter", "method", "index", "value", "conf", "low", "high", "warning"]
BOUNDED = {"S1", "ST", "delta"}  # indices that lie in [0, 1] by definition
TOLERANCE = 0.02  # estimates this little outside [0, 1] are noise around a bound
NEGLIGIBLE = 0.05  # an interval of half-width under this (of the largest mu* for Morris) bounds the index near zero
# Morris screening needs some 10 or more trajectories (Campolongo, Cariboni & Saltelli 2007 use 10 to 20;
# Saltelli et al. 2008, "Global Sensitivity Analysis: The Primer", ch. 3): fewer give mu* from a handful
# of elementary effects, and bootstrap intervals of them that mean nothing.
MIN_TRAJECTORIES = 10
# Random parameters added to an lhs or random design's analysis: the raw delta (and S1) of a parameter
# with no effect is well above 0 at small samples (a median of 0.10 over 40 runs), so an index must
# exceed what these reach (their 90th percentile) to count (Plischke, Borgonovo & Smith 2013 on the bias;
# a dummy parameter is the usual yardstick, e.g. Khorashadi Zadeh et al. 2017).
DUMMIES = 8
DUMMY_FLAG = "no larger than a random dummy parameter's"


def short_names(names: list[str]) -> dict[str, str]:
    """Each dotted parameter's shortest trailing part that no other parameter ends with
    (``walmart_plus.fee_annual`` and ``prime.fee_annual``, not ``fee_annual`` twice)."""
    short = {}
    for name in names:
        parts = name.split(".")
        for size in range(1, len(parts) + 1):
            tail = ".".join(parts[-size:])
            if parts[-size].isdigit() and size < len(parts):  # a year of a series is named with its series
                continue
            if not any(other != name and (other == tail or other.endswith("." + tail)) for other in names):
                break
        short[name] = tail
    return short


def analyze(sweep: Sweep, points: pd.DataFrame, means: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, list[str]]:
    """Indices per outcome from per-point means (rows in design order); and notes on what was skipped."""
    problem, notes, rows = salib_problem(sweep), [], []
    if sweep.design == "grid":
        return pd.DataFrame(columns=COLUMNS), ["grid designs get no sensitivity indices; use sobol, morris, lhs or random"]
    numeric = [name for name in problem["names"] if pd.api.types.is_numeric_dtype(points[name])]
    x = points[problem["names"]].to_numpy(dtype=float) if len(numeric) == len(problem["names"]) else None
    for outcome in sweep.outcomes:
        y = means[outcome].to_numpy(dtype=float)
        if np.isnan(y).any():
            notes.append(f"{outcome}: skipped, {int(np.isnan(y).sum())} point(s) have no value (failed runs)")
            continue
        try:
            found = _indices(sweep, problem, x, y, outcome, seed)
        except (ValueError, ZeroDivisionError, np.linalg.LinAlgError) as error:
            notes.append(f"{outcome}: {sweep.design} analysis failed ({error})")
            continue
        notes += _judge(found, outcome, sweep.samples, sweep.design)
        rows += found
    return pd.DataFrame(rows, columns=COLUMNS), notes


def _judge(rows: list[dict], outcome: str, samples: int, design: str = "") -> list[str]:
    """Mark each index the sample cannot support (its ``warning``) and say so once per outcome.

    Too small a sample shows as an index of [0, 1] estimated outside it (beyond TOLERANCE), or as a
    90% interval wider than the index itself; a narrow interval around zero (half-width under
    NEGLIGIBLE, or under NEGLIGIBLE of the largest mu* for Morris) is a confident "does not matter".
    Morris indices from fewer than MIN_TRAJECTORIES trajectories are all marked, whatever they show."""
    scale = max([abs(r["value"]) for r in rows if r["index"] == "mu_star"] or [1.0]) or 1.0
    names = short_names(list(dict.fromkeys(row["parameter"] for row in rows)))
    few = design == "morris" and samples < MIN_TRAJECTORIES
    flagged, floor_only = [], []  # (index text); those marked only for a dummy's floor
    for row in rows:
        value, conf = row["value"], row["conf"]
        row["low"], row["high"] = value - conf, value + conf
        problems = [f"fewer than {MIN_TRAJECTORIES} trajectories"] if few else []
        if row["index"] in BOUNDED and not -TOLERANCE <= value <= 1 + TOLERANCE:
            problems.append("outside [0, 1]")
        floor = NEGLIGIBLE * (scale if row["index"] == "mu_star" else 1.0)
        if np.isfinite(conf) and conf > floor and 2 * conf > abs(value):
            problems.append("interval wider than the index")
        if conf == 0 and value != 0:  # every resample the same: too few samples to resample at all
            problems.append("no interval (too few samples)")
        null = row.pop("null", -np.inf)
        below = value <= null and null >= NEGLIGIBLE  # (a dummy near 0: a small index is a confident "does not matter")
        row["warning"] = "; ".join(problems + [f"{DUMMY_FLAG} ({null:.2f})"] * below)
        text = f"{row['index']} {names[row['parameter']]} {value:.2f}" + (f" ± {conf:.2f}" if np.isfinite(conf) else "")
        (flagged if problems else floor_only if below else []).append(text)
    # First-order indices share at most all of the variance: a sum well above 1 is the sample's error.
    first = sum(row["value"] for row in rows if row["index"] == "S1") if design == "sobol" else 0.0
    overshoot = ([f"{outcome}: WARNING the first-order indices sum to {first:.2f}, more than the whole variance "
                  f"(samples: {samples}); their shares are unreliable; raise samples"]
                 if first > 1 + TOLERANCE else [])
    floor = ([f"{outcome}: {len(floor_only)} of {len(rows)} indices are no larger than random dummy parameters' "
              f"(which no run reads) reach at this sample size: their parameters are not shown to matter "
              f"({', '.join(floor_only[:4])}{', ...' if len(floor_only) > 4 else ''})"] if floor_only else [])
    if not flagged:
        return overshoot + floor
    why = (f"Morris needs at least {MIN_TRAJECTORIES} trajectories" if few else
           f"{len(flagged)} of {len(rows)} indices are outside [0, 1] or have 90% intervals wider than themselves "
           "(or none at all)")
    return [f"{outcome}: WARNING sample too small for trustworthy sensitivity indices (samples: {samples}); "
            f"{why} ({', '.join(flagged[:4])}{', ...' if len(flagged) > 4 else ''}); raise samples", *overshoot, *floor]


def _indices(sweep: Sweep, problem: dict, x: np.ndarray | None, y: np.ndarray, outcome: str, seed: int) -> list[dict]:
    # Imported here: SALib (with scipy.stats) costs ~0.4 s, and only sweeps need it.
    from SALib.analyze import delta, morris, sobol

    rows = []

    def add(index: str, values, confs) -> None:
        for name, value, conf in zip(problem["names"], values, confs):
            rows.append({"outcome": outcome, "parameter": name, "method": sweep.design, "index": index,
                         "value": float(value), "conf": float(conf)})

    if sweep.design == "sobol":
        if np.ptp(y) == 0:  # a constant outcome: nothing to apportion
            zeros = np.zeros(problem["num_vars"])
            add("S1", zeros, zeros), add("ST", zeros, zeros)
            return rows
        result = sobol.analyze(problem, y, calc_second_order=False, conf_level=0.90, seed=seed)
        add("S1", result["S1"], result["S1_conf"]), add("ST", result["ST"], result["ST_conf"])
    elif sweep.design == "morris":
        result = morris.analyze(problem, x, y, num_levels=sweep.levels, conf_level=0.90, seed=seed)
        nan = np.full(problem["num_vars"], np.nan)
        add("mu_star", result["mu_star"], result["mu_star_conf"]), add("sigma", result["sigma"], nan)
        add("mu", result["mu"], nan)
    else:
        if x is None:
            raise ValueError("parameters given as lists of non-numbers cannot be analysed")
        # Dummy parameters, drawn at random and read by no run, measure the estimators' bias at this sample
        # size: a real parameter whose index is no larger is not shown to matter (_judge).
        dummies = np.random.default_rng(seed).random((len(y), DUMMIES))
        wide = np.hstack([x, dummies])
        unit = {"num_vars": wide.shape[1], "names": [*problem["names"], *(f"dummy {k}" for k in range(DUMMIES))],
                "bounds": [[float(c.min()), float(c.max())] for c in wide.T]}
        # SALib's delta sets its own warning filter and formatter; record its notices instead of
        # letting them reach the terminal, and put its formatter back.
        formatter = warnings.formatwarning
        try:
            with warnings.catch_warnings(record=True):
                result = delta.analyze(unit, wide, y, conf_level=0.90, seed=seed)
        finally:
            warnings.formatwarning = formatter
        real = problem["num_vars"]
        add("delta", result["delta_raw"][:real], result["delta_raw_conf"][:real])
        add("S1", result["S1"][:real], result["S1_conf"][:real])
        for row in rows:  # what a parameter with no effect reaches: the dummies' 90th percentile
            row["null"] = float(np.quantile(result["delta_raw" if row["index"] == "delta" else "S1"][real:], 0.9))
    return rows
