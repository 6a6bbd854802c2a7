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

COLUMNS = ["outcome", "parameter", "method", "index", "value", "conf"]


def analyze(sweep: Sweep, points: pd.DataFrame, means: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, list[str]]:
    """Indices per outcome from per-point means (rows in design order); and notes on what was skipped."""
    problem, notes, rows = salib_problem(sweep), [], []
    if sweep.design == "grid":
        return pd.DataFrame(columns=COLUMNS), ["grid designs get no sensitivity indices; use sobol, morris or lhs"]
    numeric = [name for name in problem["names"] if pd.api.types.is_numeric_dtype(points[name])]
    x = points[problem["names"]].to_numpy(dtype=float) if len(numeric) == len(problem["names"]) else None
    for outcome in sweep.outcomes:
        y = means[outcome].to_numpy(dtype=float)
        if np.isnan(y).any():
            notes.append(f"{outcome}: skipped, {int(np.isnan(y).sum())} point(s) have no value (failed runs)")
            continue
        try:
            rows += _indices(sweep, problem, x, y, outcome, seed)
        except (ValueError, ZeroDivisionError, np.linalg.LinAlgError) as error:
            notes.append(f"{outcome}: {sweep.design} analysis failed ({error})")
    return pd.DataFrame(rows, columns=COLUMNS), notes


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
        unit = {**problem, "bounds": [[float(c.min()), float(c.max())] for c in x.T]}
        # SALib's delta sets its own warning filter and formatter; record its notices instead of
        # letting them reach the terminal, and put its formatter back.
        formatter = warnings.formatwarning
        try:
            with warnings.catch_warnings(record=True):
                result = delta.analyze(unit, x, y, conf_level=0.90, seed=seed)
        finally:
            warnings.formatwarning = formatter
        add("delta", result["delta_raw"], result["delta_raw_conf"]), add("S1", result["S1"], result["S1_conf"])
    return rows
