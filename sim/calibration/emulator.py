"""A posterior around the fitted point from emulators of the targets (``--method emulator``).

Rejection ABC on a bank of prior draws (``--method bank``) stays near the prior in 29 dimensions:
its accepted simulations miss most targets, and so do the parameter draws of a what-if. This method
asks a narrower question, in the manner of history matching with emulators (Craig, Goldstein,
Seheult & Smith 1997, in *Case Studies in Bayesian Statistics* 3; Vernon, Goldstein & Bower 2010,
*Bayesian Analysis* 5): which parameter sets *near the fitted point* are consistent with the
published figures, each within about its tolerance?

1. **Design**: ``budget`` simulations around the point, on the logit scale of the bounds (half with
   a spread of 0.5, half 0.25; a point on a bound is moved 2% inside it first), each run once at its
   own seed and stored as a bank's simulations are (resumable).
2. **Emulators**: each target's value (its logarithm where it is positive) as a quadratic function of
   the parameters, fitted by ridge regression with the penalty chosen by 5-fold cross-validation; the
   cross-validated error, run noise included, is kept for each target.
3. **Posterior**: the prior (uniform on the bounds) times a Gaussian likelihood of each target's miss,
   in tolerances, with variance 1 plus the emulator's error squared (in tolerances): a tolerance is
   read as one standard deviation of what the model may differ from the figure. Sampled by adaptive
   Metropolis (Haario, Saksman & Tamminen 2001, *Bernoulli* 7) in 8 chains started apart over the
   design, their agreement measured by split R-hat, inside the region the design covers (each
   parameter within 2.5 of the design's standard deviations of the point, and 2% inside its bounds).
4. **Later waves** (``--waves``): ``budget`` more simulations drawn from the posterior so far, widened
   by 0.35; the emulators are refitted on every simulation.
5. **Particles**: ``population`` draws of the last posterior, each simulated once. They are the
   posterior written (equal weights); the published figures the fit was not given are read from
   their runs, and so is the fit the particles really reach, against what the emulators expected.
6. **The point**: a point fitted by the mean squared miss can leave a target near its tolerance,
   where half of the fresh seeds miss it. The margin point is the parameter set nearest the point
   (in the design's standard deviations, within 0.7 of them) at which the emulators put every target
   within 0.6 tolerances (history matching's implausibility cut-off, Vernon et al. 2010, drawn
   tighter). It is simulated beside the point on the fit's seeds and replaces it only if it meets
   more targets there, or as many with a smaller largest miss; the one kept is checked again on
   fresh seeds and written to ``calibrated.yaml`` only if it moved. (Minimising the largest miss
   instead, tried on 4 Dec 2026, moved the growth parameters too and predicted the e-commerce checks
   of 2025-2026 worse: 7 of 11 against 9.)

Honesty checks: coverage on synthetic truths (particles' simulations, plus a discrepancy of one
tolerance, taken in turn as the published figures, the posterior sampled again on the emulators),
and the out-of-sample test (the posterior fitted to the early targets alone, the later ones
predicted by the emulators; weak, as the design is centred on a fit to every target). What the
method does not say: anything about parameter sets far from the point (another mode would go
unseen); a parameter whose particles crowd the design's edge is bounded by the design, not the
targets (``at_edge``).
"""

from __future__ import annotations

from concurrent.futures import Executor
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UserError
from ..jobs.targets import Target, standing
from .bank import LEVEL, _run_wave, bank_tasks, coverage_of, from_unbounded, misses, to_unbounded
from .setup import Calibration

SPREADS = (0.5, 0.25)  # the first wave's design: standard deviations on the logit scale, half the runs each
WIDEN = 0.35  # a later wave's draws: the posterior's, plus this much Gaussian spread
INSIDE = 0.02  # a point on a bound starts this share of the bounds inside it
TRUST = 2.5  # the region the posterior may use: this many design standard deviations from the point
REACH = 0.7  # the margin point's region: this many design standard deviations, where the design is densest
# The margin point: every target within MARGIN tolerances, so that the run noise of a few fresh seeds'
# mean (a standard deviation of 0.1-0.25 tolerances at 5,000 households, measured) rarely takes it past
# 1; PENALTY weighs a squared miss beyond the margin against a squared design standard deviation moved.
MARGIN, PENALTY, STARTS = 0.6, 30.0, 5
FOLDS, ALPHAS = 5, (0.1, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
CHAINS, STEPS = 8, 30000
EMULATOR = "emulator.csv"
EDGE_Z = float(np.log((1 - INSIDE) / INSIDE))  # the logit scale's reach: a value on a bound reads as INSIDE it


def centre_of(calibration: Calibration, point: dict[str, float]) -> np.ndarray:
    """The point on the logit scale of the bounds, a bound moved ``INSIDE`` its range inward."""
    return np.array([np.clip(to_unbounded(parameter, np.array([float(point[name])]))[0], -EDGE_Z, EDGE_Z)
                     for name, parameter in calibration.parameters.items()])


def scaled(calibration: Calibration, values: pd.DataFrame, centre: np.ndarray) -> np.ndarray:
    """Parameter sets on the logit scale less the centre, a value on a bound read as ``INSIDE`` it (an
    integer parameter rounded onto its bound would otherwise sit 14 logit units out)."""
    from .waves import logit_scale

    return np.clip(logit_scale(calibration, values), -EDGE_Z, EDGE_Z) - centre


def values_of(calibration: Calibration, z: np.ndarray) -> pd.DataFrame:
    """Parameter sets (as a scenario takes them) from the logit scale."""
    return pd.DataFrame({name: [parameter.clip(value) for value in from_unbounded(parameter, z[:, column])]
                         for column, (name, parameter) in enumerate(calibration.parameters.items())})


def quadratic(x: np.ndarray) -> np.ndarray:
    """Every parameter, its square and each pair's product (n x (d + d(d+1)/2))."""
    upper = np.triu_indices(x.shape[1])
    return np.hstack([x, (x[:, :, None] * x[:, None, :])[:, upper[0], upper[1]]])


class Emulator:
    """Each target as a quadratic ridge regression on the parameters' logit scale, around ``centre``."""

    def __init__(self, calibration: Calibration, bank: pd.DataFrame, centre: np.ndarray) -> None:
        self.targets, self.centre = list(calibration.targets), centre
        values = bank[[f"target.{t.id}" for t in self.targets]].to_numpy(dtype=float)
        keep = np.isfinite(values).all(axis=1)
        if keep.sum() < 2 * FOLDS:
            raise UserError(f"{calibration.setup.name}: only {int(keep.sum())} simulations of the design could be "
                            "scored; the emulators need at least 10")
        x, values = scaled(calibration, bank[keep], centre), values[keep]
        self.spread = np.maximum(x.std(axis=0), 1e-3)
        self.logged = (values > 0).all(axis=0)
        fitted = np.where(self.logged, np.log(np.where(self.logged, values, 1.0)), values)
        features = quadratic(x)
        self.mean, self.scale = features.mean(axis=0), np.where(features.std(axis=0) > 0, features.std(axis=0), 1.0)
        standard = (features - self.mean) / self.scale
        self.alpha, self.error = self._cross_validate(standard, fitted, values)
        self.coef, self.intercept = _ridge(standard, fitted, self.alpha)

    def _cross_validate(self, standard: np.ndarray, fitted: np.ndarray, values: np.ndarray):
        """Each target's penalty (the smallest cross-validated error) and that error, in its own units."""
        folds = np.random.default_rng(0).permutation(len(standard)) % FOLDS
        errors = np.zeros((len(ALPHAS), fitted.shape[1]))
        for fold in range(FOLDS):
            train, test = folds != fold, folds == fold
            for row, alpha in enumerate(ALPHAS):
                coef, intercept = _ridge(standard[train], fitted[train], np.full(fitted.shape[1], alpha))
                predicted = self._back(standard[test] @ coef + intercept)
                errors[row] += ((predicted - values[test]) ** 2).sum(axis=0)
        best = errors.argmin(axis=0)
        return np.array(ALPHAS)[best], np.sqrt(errors[best, np.arange(fitted.shape[1])] / len(standard))

    def _back(self, fitted: np.ndarray) -> np.ndarray:
        return np.where(self.logged, np.exp(np.minimum(fitted, 700.0)), fitted)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Each target's emulated value at ``x`` (logit scale less the centre; n x targets)."""
        return self._back(((quadratic(x) - self.mean) / self.scale) @ self.coef + self.intercept)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame({"target": [t.id for t in self.targets], "penalty": self.alpha,
                             "logarithm": self.logged, "error": self.error,
                             "error_tolerances": self.error / np.array([t.tolerance for t in self.targets])})


def _ridge(features: np.ndarray, fitted: np.ndarray, alphas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ridge coefficients of each column of ``fitted`` at its own penalty (an unpenalised intercept)."""
    centre_x, centre_y = features.mean(axis=0), fitted.mean(axis=0)
    u, s, vt = np.linalg.svd(features - centre_x, full_matrices=False)
    projected = u.T @ (fitted - centre_y)
    coef = np.column_stack([vt.T @ (s / (s ** 2 + alpha) * projected[:, k]) for k, alpha in enumerate(alphas)])
    return coef, centre_y - centre_x @ coef


def sample(emulator: Emulator, targets: list[Target], draws: int, rng: np.random.Generator,
           published: dict[str, float] | None = None, steps: int = STEPS, chains: int = CHAINS,
           checks: dict | None = None) -> np.ndarray:
    """``draws`` parameter sets (logit scale less the centre) from the emulated posterior of ``targets``
    (``published`` replaces their published values: a synthetic truth's), by adaptive Metropolis from
    starts spread over the design; ``checks`` (if given) gets the chains' largest split R-hat."""
    columns = [emulator.targets.index(t) for t in targets]
    variance = 1.0 + (emulator.error[columns] / np.array([t.tolerance for t in targets])) ** 2
    trust = TRUST * emulator.spread

    def log_posterior(x: np.ndarray) -> np.ndarray:
        values = emulator.predict(x)[:, columns]
        miss = np.column_stack([t.misses(values[:, k], None if published is None else published.get(t.id))
                                for k, t in enumerate(targets)])
        z = x + emulator.centre
        density = -(np.logaddexp(0, z) + np.logaddexp(0, -z)).sum(axis=1) - 0.5 * (miss ** 2 / variance).sum(axis=1)
        inside = (np.abs(x) <= trust).all(axis=1) & (np.abs(z) <= EDGE_Z).all(axis=1)
        return np.where(inside & np.isfinite(density), density, -np.inf)

    dimension = len(emulator.centre)
    x = np.clip(rng.normal(0.0, 1.0, (chains, dimension)) * emulator.spread, -0.9 * trust, 0.9 * trust)
    x = np.clip(x + emulator.centre, -EDGE_Z, EDGE_Z) - emulator.centre  # overdispersed starts, inside the region
    current, history = log_posterior(x), []
    factor = np.linalg.cholesky(np.diag((0.1 * emulator.spread) ** 2))
    for step in range(steps):
        if step >= 2000 and step % 500 == 0:  # adapt to the second half of the chains so far
            recent = np.concatenate(history[len(history) // 2:])
            factor = np.linalg.cholesky(np.cov(recent.T) * 2.38 ** 2 / dimension + 1e-9 * np.eye(dimension))
        proposal = x + rng.standard_normal((chains, dimension)) @ factor.T
        proposed = log_posterior(proposal)
        accept = np.log(rng.random(chains)) < proposed - current
        x[accept], current[accept] = proposal[accept], proposed[accept]
        history.append(x.copy())
    if checks is not None:
        checks["rhat"] = split_rhat(np.stack(history[steps // 2:]))
    kept = np.concatenate(history[steps // 2:])
    return kept[np.linspace(0, len(kept) - 1, draws).round().astype(int)]


def split_rhat(chains: np.ndarray) -> float:
    """The largest split R-hat over parameters (Gelman et al. 2013, *Bayesian Data Analysis* 11.4) of
    chains stored as steps x chains x parameters: near 1 when the chains agree, above 1.1 when not."""
    half = chains.shape[0] // 2
    parts = np.concatenate([chains[:half], chains[half:2 * half]], axis=1)  # each chain's two halves
    within = parts.var(axis=0, ddof=1).mean(axis=0)
    between = half * parts.mean(axis=0).var(axis=0, ddof=1)
    pooled = (half - 1) / half * within + between / half
    return float(np.max(np.sqrt(pooled / np.maximum(within, 1e-300))))


def run_design(calibration: Calibration, folder: Path, z: np.ndarray, wave: int, budget: int, pool: Executor,
               count: int, progress: bool) -> pd.DataFrame:
    """Simulate the parameter sets ``z`` (logit scale) once each, as wave ``wave`` of the folder's store."""
    return _run_wave(calibration, folder, bank_tasks(calibration, budget, wave, values_of(calibration, z)), pool,
                     count, progress)


def first_design(centre: np.ndarray, budget: int, rng: np.random.Generator) -> np.ndarray:
    spreads = np.repeat(SPREADS, -(-budget // len(SPREADS)))[:budget]
    return centre + rng.normal(0.0, 1.0, (budget, len(centre))) * spreads[:, None]


def emulated_posterior(calibration: Calibration, folder: Path, point: dict[str, float], budget: int,
                       population: int, waves: int, pool: Executor, count: int, progress: bool):
    """Run the design and its later waves, fit the emulators and simulate the particles. Returns every
    simulation (``wave`` = the wave, the particles last), the particles' rows, the last emulator and
    its posterior chains' largest split R-hat."""
    centre = centre_of(calibration, point)
    rng = np.random.default_rng([calibration.setup.seed, 31])
    bank = run_design(calibration, folder, first_design(centre, budget, rng), 0, budget, pool, count, progress)
    for wave in range(1, waves):
        drawn = sample(Emulator(calibration, bank, centre), calibration.targets, budget, rng)
        design = centre + drawn + rng.normal(0.0, WIDEN, drawn.shape)
        bank = pd.concat([bank, run_design(calibration, folder, design, wave, budget, pool, count, progress)],
                         ignore_index=True)
    emulator, checks = Emulator(calibration, bank, centre), {}
    drawn = sample(emulator, calibration.targets, population, rng, checks=checks)
    particles = run_design(calibration, folder, centre + drawn, waves, budget, pool, count, progress)
    return pd.concat([bank, particles], ignore_index=True), particles, emulator, checks["rhat"]


def emulator_coverage(calibration: Calibration, emulator: Emulator, particles: pd.DataFrame,
                      truths: int = 20, steps: int = STEPS) -> pd.DataFrame:
    """How often a synthetic truth's parameter lies in its 90% interval: particles' simulations taken in
    turn as the published figures, each plus a discrepancy drawn as the likelihood reads a tolerance
    (Gaussian, one tolerance), and each one's posterior sampled again on the emulators, as the
    posterior itself is."""
    finite = particles[np.isfinite(particles[[f"target.{t.id}" for t in calibration.targets]]).all(axis=1)]
    rng = np.random.default_rng([calibration.setup.seed, 37])
    chosen = finite.iloc[rng.choice(len(finite), size=min(truths, len(finite)), replace=False)]

    def posterior_of(k: int, truth: pd.Series, observed: dict[str, float]) -> pd.DataFrame:
        published = {t.id: observed[t.id] + rng.normal(0.0, t.tolerance) for t in calibration.targets if t.id in observed}
        return values_of(calibration, emulator.centre + sample(emulator, calibration.targets, 400, rng,
                                                               published, steps=steps)).assign(weight=1.0)

    return coverage_of(calibration, [truth for _, truth in chosen.iterrows()], posterior_of)


def emulator_out_of_sample(calibration: Calibration, emulator: Emulator, early: list[Target], late: list[Target],
                           rng: np.random.Generator, draws: int = 400) -> pd.DataFrame:
    """Fit to the early targets alone; every target as the emulators predict it over that posterior."""
    predicted = emulator.predict(sample(emulator, early, draws, rng))
    rows = []
    for role, group in (("fitted", early), ("predicted", late)):
        for target in group:
            values = predicted[:, emulator.targets.index(target)]
            mean = float(values.mean())
            low, high = np.quantile(values, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
            rows.append({"target": target.id, "role": role, "published": target.published,
                         "tolerance": target.tolerance, "predicted_mean": mean, "predicted_low": float(low),
                         "predicted_high": float(high), "miss": target.miss(mean), "within": target.within(mean)})
    return pd.DataFrame(rows)


def reached(calibration: Calibration, emulator: Emulator, particles: pd.DataFrame) -> dict[str, float]:
    """How many targets the particles meet, simulated (one seed each) and as the emulators expected."""
    simulated = (np.abs(misses(calibration.targets, particles)) <= 1).sum(axis=1)
    expected = emulator.predict(scaled(calibration, particles, emulator.centre))
    emulated = (np.abs(np.column_stack([t.misses(expected[:, k]) for k, t in enumerate(calibration.targets)])) <= 1)
    return {"simulated_median": float(np.median(simulated)), "simulated_low": float(np.percentile(simulated, 5)),
            "simulated_high": float(np.percentile(simulated, 95)), "emulated_median": float(np.median(emulated.sum(1)))}


def at_edge(calibration: Calibration, emulator: Emulator, particles: pd.DataFrame) -> dict[str, float]:
    """Each parameter's share of particles near the edge of the region the design covers (beyond 0.8 of
    the way out): where it is large, the design, not the targets, bounds the posterior."""
    x = np.abs(scaled(calibration, particles, emulator.centre))
    return {name: float(np.mean(x[:, column] > 0.8 * TRUST * emulator.spread[column]))
            for column, name in enumerate(calibration.parameters)}


def nearest_with_margin(emulator: Emulator, rng: np.random.Generator, starts: int = STARTS) -> np.ndarray:
    """The parameter set (logit scale less the centre) nearest the centre, in design standard deviations
    and within ``REACH`` of them, at which every target's emulated miss is within ``MARGIN`` tolerances:
    Powell's search from the centre and from ``starts - 1`` draws around it, on the squared distance
    plus ``PENALTY`` times each squared miss beyond the margin. Targets met with a margin do not pull,
    so the point moves only where it is fragile and keeps the committed fit's other choices."""
    from scipy.optimize import minimize

    reach = REACH * emulator.spread

    def where(u: np.ndarray) -> np.ndarray:
        return np.clip(reach * np.tanh(u) + emulator.centre, -EDGE_Z, EDGE_Z) - emulator.centre

    def objective(u: np.ndarray) -> float:
        x = where(u)
        values = emulator.predict(x[None, :])[0]
        miss = np.abs(np.array([t.miss(values[k]) for k, t in enumerate(emulator.targets)], dtype=float))
        if not np.isfinite(miss).all():
            return float("inf")
        return float(((x / emulator.spread) ** 2).sum() + PENALTY * (np.maximum(miss - MARGIN, 0.0) ** 2).sum())

    found = [minimize(objective, u, method="Powell", options={"xtol": 1e-3, "ftol": 1e-6, "maxiter": 20000})
             for u in [np.zeros(len(reach)), *rng.normal(0.0, 0.5, (starts - 1, len(reach)))]]
    return where(min(found, key=lambda result: result.fun).x)


def choose_point(candidates, point: dict[str, float], moved: dict[str, float]) -> tuple[dict[str, float], pd.DataFrame,
                                                                                     bool]:
    """The point or the margin point, whichever meets more targets on the fit's seeds (as many: the
    smaller largest miss; a tie keeps the point), both fits' misses side by side, and whether it moved."""
    futures = {name: candidates.submit(values) for name, values in (("point", point), ("margin", moved))}
    fits = {name: candidates.score(future) for name, future in futures.items()}

    def rank(name: str) -> tuple[int, float]:  # more targets met first, then the smaller largest miss
        met, largest, _worst = standing(fits[name].table["miss"])
        return -met, largest

    table = pd.DataFrame({"target": fits["point"].table["target"], "point": fits["point"].table["miss"].to_numpy(),
                          "margin": fits["margin"].table["miss"].to_numpy()})
    better = rank("margin") < rank("point")
    return (moved if better else point), table, better


def fit_emulator(calibration: Calibration, folder: Path, budget: int, population: int, pool: Executor, count: int,
                 progress: bool, fit_through: int, waves: int, point: dict[str, float], candidates):
    """The emulator method of :func:`sim.calibration.fitting.calibrate`: every simulation as trials
    (with its loss), the point or the margin point near it (:func:`choose_point`; checked again on fresh
    seeds), the losses by simulation, the particles (equal weights) and the checks."""
    from .diagnostics import predictive_checks, split_targets, tradeoffs

    bank, particles, emulator, rhat = emulated_posterior(calibration, folder, point, budget, population, waves, pool,
                                                         count, progress)
    miss = misses(calibration.targets, bank)
    loss = (miss ** 2).mean(axis=1)
    trials = bank.drop(columns=["error"]).assign(candidate=bank["simulation"], loss=loss,
                                                 within=(np.abs(miss) <= 1).sum(axis=1))
    if not np.isfinite(loss[bank["wave"].to_numpy() == waves]).any():  # the particles' rows come last
        raise UserError(f"{folder}: no particle's simulation could be scored")
    moved = values_of(calibration, emulator.centre[None, :] + nearest_with_margin(emulator, np.random.default_rng(
        [calibration.setup.seed, 43]))[None, :]).iloc[0].to_dict()
    chosen, margin, better = choose_point(candidates, dict(point), candidates.written(moved))
    sample_ = particles[[*calibration.parameters, "simulation"]].assign(weight=1.0 / len(particles))
    early, late = split_targets(calibration.targets, fit_through)
    rng = np.random.default_rng([calibration.setup.seed, 41])
    diagnostics = {"method": "emulator", "coverage": emulator_coverage(calibration, emulator, particles),
                   "out_of_sample": emulator_out_of_sample(calibration, emulator, early, late, rng),
                   "tradeoffs": tradeoffs(calibration, sample_), "checks": predictive_checks(calibration, bank, sample_),
                   "fit_through": fit_through, "adjusted": False, "waves": waves, "effective": float(len(particles)),
                   "emulator": emulator.table(), "reached": reached(calibration, emulator, particles),
                   "rhat": rhat, "at_edge": at_edge(calibration, emulator, particles), "margin": margin,
                   "moved": better, "reach": REACH, "margin_tolerances": MARGIN}
    history = pd.DataFrame({"simulation": bank["simulation"], "wave": bank["wave"], "loss": loss})
    return trials, chosen, history, sample_, diagnostics
