"""Is the bank's posterior honest? Its coverage on synthetic truths, the parameters it ties together,
a fit to the early targets that predicts the later ones, and the published figures the fit was not
given; and :func:`fit_bank`, which runs the bank and all of these for ``retailsim calibrate --method bank``.

The coverage check follows Prangle, Blum, Popovic & Sisson (2014), "Diagnostic tools for
approximate Bayesian computation using the coverage property" (Aust. N. Z. J. Stat. 56).
"""

from __future__ import annotations

from concurrent.futures import Executor
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UserError
from ..jobs.targets import Target
from .bank import bank_history, coverage_of, misses, posterior, run_bank, to_unbounded, weighted_quantiles
from .setup import Calibration


def coverage(calibration: Calibration, bank: pd.DataFrame, accept: int, truths: int = 100,
             adjust: bool = True, importance: np.ndarray | None = None) -> pd.DataFrame:
    """How often a synthetic truth's parameter lies in its 90% posterior interval.

    ``truths`` simulations of the bank (drawn with the set-up's seed among those that meet the
    lower bounds, as the published figures do) are each taken as the truth: their simulated target
    values stand for the published ones, and their posterior is computed from the rest of the bank.
    An honest posterior covers about 0.9 of them; far less means it is overconfident. The truths are
    drawn from the first wave (the prior's draws); a bank of several waves is weighed by ``importance``.
    """
    names = [f"target.{t.id}" for t in calibration.targets]
    finite = np.isfinite(bank[names].to_numpy(dtype=float)).all(axis=1)
    bounds = (misses(calibration.targets, bank)[:, [t.value is None for t in calibration.targets]] == 0).all(axis=1)
    first = bank["wave"].to_numpy() == 0 if "wave" in bank else np.ones(len(bank), dtype=bool)
    candidates = np.flatnonzero(finite & bounds & first)
    importance = np.ones(len(bank)) if importance is None else np.asarray(importance, dtype=float)
    generator = np.random.default_rng(calibration.setup.seed)
    chosen = generator.choice(candidates, size=min(truths, len(candidates)), replace=False)
    return coverage_of(calibration, [bank.iloc[row] for row in chosen], lambda k, truth, observed: posterior(
        calibration, bank.drop(index=bank.index[chosen[k]]), accept, observed=observed, adjust=adjust,
        importance=np.delete(importance, chosen[k])))


def tradeoffs(calibration: Calibration, sample: pd.DataFrame, threshold: float = 0.3) -> pd.DataFrame:
    """Pairs of parameters the posterior ties together (weighted correlation on the logit scale,
    |r| above ``threshold``): what the targets fix is a combination, not each one."""
    names = list(calibration.parameters)
    scaled = np.column_stack([to_unbounded(calibration.parameters[n], sample[n].to_numpy()) for n in names])
    weights = sample["weight"].to_numpy()
    centred = scaled - weights @ scaled
    covariance = (centred * weights[:, None]).T @ centred
    sd = np.sqrt(np.diag(covariance))
    rows = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            if sd[i] > 0 and sd[j] > 0 and abs(r := covariance[i, j] / (sd[i] * sd[j])) >= threshold:
                rows.append({"first": names[i], "second": names[j], "correlation": float(r)})
    return pd.DataFrame(rows, columns=["first", "second", "correlation"]).sort_values(
        "correlation", key=np.abs, ascending=False, ignore_index=True)


def split_targets(targets: list[Target], fit_through: int) -> tuple[list[Target], list[Target]]:
    """The targets that end by the end of ``fit_through``, and the later ones; both must be there
    (checked before any work)."""
    early = [t for t in targets if t.end.year <= fit_through]
    late = [t for t in targets if t.end.year > fit_through]
    if not early or not late:
        years = sorted({t.end.year for t in targets})
        if len(years) == 1:
            raise UserError(f"--fit-through {fit_through}: the targets all end in {years[0]}, and the bank fits the "
                            "earlier targets and predicts the later ones: it needs targets ending in two years or more "
                            "(or use --method optuna or abc)")
        raise UserError(f"--fit-through {fit_through}: give a year with targets on both sides (the targets end in "
                        f"{', '.join(map(str, years))}; a year from {years[0]} to {years[-1] - 1})")
    return early, late


def out_of_sample(calibration: Calibration, bank: pd.DataFrame, accept: int, fit_through: int) -> pd.DataFrame:
    """Fit on the targets that end by the end of ``fit_through`` and predict the later ones.

    The prediction of a later target is the posterior predictive: the accepted simulations'
    values of it, weighted as the posterior weighs them (no simulation is run again). ``within``
    compares the predicted mean with the published figure in its tolerance, as the fit's targets are.
    Only the first wave is read: later waves were drawn near what every target says, the later
    ones included, so they would leak the answer.
    """
    early, late = split_targets(calibration.targets, fit_through)
    bank = bank[bank["wave"] == 0] if "wave" in bank else bank
    sample = posterior(calibration, bank, accept, targets=early, adjust=False)
    rows = []
    simulated = bank.set_index("simulation").loc[sample["simulation"]]
    for role, group in (("fitted", early), ("predicted", late)):
        for target in group:
            values = simulated[f"target.{target.id}"].to_numpy(dtype=float)
            mean = float(np.average(values, weights=sample["weight"]))
            low, high = weighted_quantiles(values, sample["weight"].to_numpy(), [0.05, 0.95])
            published = target.published
            rows.append({"target": target.id, "role": role, "published": published, "tolerance": target.tolerance,
                         "predicted_mean": mean, "predicted_low": float(low), "predicted_high": float(high),
                         "miss": target.miss(mean), "within": target.within(mean)})
    return pd.DataFrame(rows)


def predictive_checks(calibration: Calibration, bank: pd.DataFrame, sample: pd.DataFrame) -> pd.DataFrame:
    """The published figures the fit was not given, against what the posterior predicts (its accepted
    simulations, weighted) and what the prior can reach at all (the share of the whole bank within
    tolerance): a figure no simulation of the bank comes near is a miss of the model's structure,
    not of its parameters."""
    simulated = bank.set_index("simulation").loc[sample["simulation"]]
    rows = []
    for check in calibration.checks:
        values = simulated[f"target.{check.id}"].to_numpy(dtype=float)
        prior_draws = bank[bank["wave"] == 0] if "wave" in bank else bank
        everywhere = prior_draws[f"target.{check.id}"].to_numpy(dtype=float)
        mean = float(np.average(values, weights=sample["weight"]))
        low, high = weighted_quantiles(values, sample["weight"].to_numpy(), [0.05, 0.95])
        prior = np.array([check.miss(value) for value in everywhere[np.isfinite(everywhere)]])
        rows.append({"check": check.id, "published": check.published,
                     "tolerance": check.tolerance, "predicted_mean": mean, "predicted_low": float(low),
                     "predicted_high": float(high), "miss": check.miss(mean), "within": check.within(mean),
                     "prior_within": float(np.mean(np.abs(prior) <= 1)) if len(prior) else float("nan"),
                     "prior_low": float(np.nanpercentile(everywhere, 5)),
                     "prior_high": float(np.nanpercentile(everywhere, 95))})
    return pd.DataFrame(rows, columns=["check", "published", "tolerance", "predicted_mean", "predicted_low",
                                       "predicted_high", "miss", "within", "prior_within", "prior_low", "prior_high"])


# The regression adjustment sharpens a posterior, but with many parameters and few accepted
# simulations it can overfit and make it overconfident. The posterior written is the adjusted one
# only if every parameter's 90% interval holds at least this share of the synthetic truths;
# otherwise plain rejection's (measured on the shipped bank: docs/calibration.md).
HONEST_COVERAGE = 0.8


def fit_bank(calibration: Calibration, folder: Path, budget: int, accept: int, pool: Executor, count: int,
             progress: bool, fit_through: int, waves: int = 1):
    """The bank method of :func:`sim.calibration.fitting.calibrate`: run (or finish) the bank, read the
    posterior from it, and check it. Returns the bank as trials (every simulation with its loss),
    the nearest simulation's parameters, the losses in order, the posterior, and the checks."""
    bank, weights = run_bank(calibration, folder, budget, pool, count, progress, accept, waves)
    miss = misses(calibration.targets, bank)
    loss = (miss ** 2).mean(axis=1)
    if not np.isfinite(loss).any():
        errors = bank["error"].dropna()
        raise UserError(f"{folder}: no simulation of the bank could be scored"
                        + (f" (first error: {errors.iloc[0]})" if len(errors) else ""))
    trials = bank.drop(columns=["error"]).assign(candidate=bank["simulation"], loss=loss,
                                                 within=(np.abs(miss) <= 1).sum(axis=1))
    nearest = int(np.nanargmin(loss))
    chosen = {name: bank[name].iloc[nearest] for name in calibration.parameters}  # clipped and rounded by calibrate
    adjusted = coverage(calibration, bank, accept, adjust=True, importance=weights)
    rejection = coverage(calibration, bank, accept, adjust=False, importance=weights)
    adjust = bool(adjusted["coverage"].min() >= HONEST_COVERAGE)
    sample = posterior(calibration, bank, accept, adjust=adjust, importance=weights)
    checked = adjusted.assign(coverage_rejection=rejection["coverage"], mean_width_rejection=rejection["mean_width"])
    diagnostics = {"coverage": checked, "out_of_sample": out_of_sample(calibration, bank, accept, fit_through),
                   "tradeoffs": tradeoffs(calibration, sample), "checks": predictive_checks(calibration, bank, sample),
                   "fit_through": fit_through, "adjusted": adjust, "waves": waves,
                   "effective": float(1 / (sample["weight"] ** 2).sum())}
    return trials, chosen, bank_history(loss, accept), sample, diagnostics


# -- what the checks say, for the command line and calibrated.yaml ---------------------------------
def diagnostic_lines(diagnostics: dict | None) -> list[str]:
    """The bank's checks in a few lines: coverage on synthetic truths, the out-of-sample test, the
    published figures the fit was not given."""
    if not diagnostics:
        return []
    emulated = diagnostics.get("method") == "emulator"
    lines = _emulator_lines(diagnostics) if emulated else _bank_lines(diagnostics)
    sample = diagnostics["out_of_sample"]
    predicted = sample[sample["role"] == "predicted"]
    lines.append(f"out of sample (fitted on {int((sample['role'] == 'fitted').sum())} targets to "
                 f"{diagnostics['fit_through']}): {int(predicted['within'].sum())} of {len(predicted)} later targets "
                 "predicted within tolerance")
    lines += [f"  {row.target:<28} published {row.published:<8.4g} predicted {row.predicted_mean:.4g} "
              f"({row.predicted_low:.4g}-{row.predicted_high:.4g}), miss {row.miss:+.2f}"
              for row in predicted.itertuples()]
    checks = diagnostics["checks"]
    if len(checks):
        lines.append(f"published figures the fit was not given: {int(checks['within'].sum())} of {len(checks)} "
                     "predicted within tolerance")
        lines += [f"  {row.check:<28} published {row.published:<8.4g} predicted {row.predicted_mean:.4g} "
                  f"({row.predicted_low:.4g}-{row.predicted_high:.4g}), miss {row.miss:+.2f}; "
                  f"{row.prior_within:.0%} of the {'design' if emulated else 'bank'} within tolerance"
                  for row in checks.itertuples()]
    return lines


def _bank_lines(diagnostics: dict) -> list[str]:
    cover = diagnostics["coverage"]
    shipped = "coverage" if diagnostics["adjusted"] else "coverage_rejection"
    return [f"coverage of the 90% intervals on {int(cover['truths'].iloc[0])} synthetic truths (0.90 is honest): "
            f"regression-adjusted {cover['coverage'].min():.2f} to {cover['coverage'].max():.2f} by parameter, "
            f"rejection only {cover['coverage_rejection'].min():.2f} to {cover['coverage_rejection'].max():.2f}; "
            f"the posterior written is {'regression-adjusted' if diagnostics['adjusted'] else 'rejection only'} "
            f"(coverage {cover[shipped].min():.2f} at worst; {diagnostics['effective']:.0f} effective simulations; "
            f"{diagnostics['waves']} wave(s))"]


def _emulator_lines(diagnostics: dict) -> list[str]:
    cover, table, reach = diagnostics["coverage"], diagnostics["emulator"], diagnostics["reached"]
    worst = table.loc[table["error_tolerances"].idxmax()]
    return [f"emulators: cross-validated error {table['error_tolerances'].min():.2f} to {worst.error_tolerances:.2f} "
            f"tolerances by target (largest: {worst.target}; run noise included)",
            f"{diagnostics['effective']:.0f} particles, each simulated once: they meet {reach['simulated_median']:.0f} "
            f"targets (5-95%: {reach['simulated_low']:.0f}-{reach['simulated_high']:.0f}); the emulators expected "
            f"{reach['emulated_median']:.0f} ({diagnostics['waves']} wave(s); the chains' largest split R-hat "
            f"{diagnostics['rhat']:.3f}{', above 1.1: run more waves or a longer chain' if diagnostics['rhat'] > 1.1 else ''})",
            f"coverage of the 90% intervals on {int(cover['truths'].iloc[0])} synthetic truths (particles' simulations "
            f"plus a discrepancy of one tolerance; 0.90 is honest): {cover['coverage'].min():.2f} to "
            f"{cover['coverage'].max():.2f} by parameter",
            "(the design is centred on the fit to every target, so the out-of-sample test below is weaker than a bank's)"]


def checks_document(diagnostics: dict | None) -> dict:
    """The checks as ``calibrated.yaml`` records them (nothing for the optuna and ABC methods)."""
    if not diagnostics:
        return {}
    emulated = diagnostics.get("method") == "emulator"
    return {
        "posterior": "emulator particles, equal weights" if emulated else "regression-adjusted"
        if diagnostics["adjusted"] else f"rejection only (the adjustment's coverage fell below {HONEST_COVERAGE})",
        "coverage_90": {row.parameter: round(float(row.coverage), 3) if emulated else
                        {"adjusted": round(float(row.coverage), 3), "rejection": round(float(row.coverage_rejection), 3)}
                        for row in diagnostics["coverage"].itertuples()},
        "out_of_sample": {row.target: {"role": row.role, "published": row.published,
                                       "predicted": round(float(row.predicted_mean), 6),
                                       "miss": round(float(row.miss), 3), "within": bool(row.within)}
                          for row in diagnostics["out_of_sample"].itertuples()},
        "checks": {row.check: {"published": row.published, "predicted": round(float(row.predicted_mean), 6),
                               "miss": round(float(row.miss), 3), "within": bool(row.within),
                               ("design_within" if emulated else "bank_within"): round(float(row.prior_within), 3)}
                   for row in diagnostics["checks"].itertuples()},
    }
