"""Later waves of a bank: simulations drawn near the posterior so far, weighted back to the prior.

A first wave of prior draws over 18 parameters rarely lands where every target is met at once, so
its posterior is nearly the prior. Each later wave (``--waves``) draws its parameter sets from a
mixture of Gaussians around the posterior so far (on the logit scale of the bounds; each centre an
accepted simulation, chosen by its weight; covariance twice the posterior's, as in the population
Monte Carlo ABC of Beaumont, Cornuet, Marin & Robert 2009, Biometrika 96). The posterior then reads
every wave at once, each simulation weighted by prior / (the mixture of all the waves' sampling
densities, each in proportion to its simulations): multiple importance sampling with the balance
heuristic (Veach & Guibas 1995), which keeps the posterior the prior's times the likelihood's
whatever the waves proposed. An integer parameter is rounded after its draw, so its density is read
at the rounded value: an approximation of at most half a step.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from .setup import Calibration

SPREAD = 2.0  # the proposal's covariance, as a multiple of the posterior's
MAX_WAVES = 10


def logit_scale(calibration: Calibration, values: pd.DataFrame) -> np.ndarray:
    """Each row's parameters on the logit scale of their bounds (n x parameters)."""
    from .bank import to_unbounded

    return np.column_stack([to_unbounded(parameter, values[name].to_numpy(dtype=float))
                            for name, parameter in calibration.parameters.items()])


def prior_log_density(z: np.ndarray) -> np.ndarray:
    """The prior (uniform on each parameter's scale) as a density on the logit scale: the logistic."""
    return -(np.logaddexp(0, z) + np.logaddexp(0, -z)).sum(axis=1)


class Proposal:
    """A wave's sampling density: Gaussians around the accepted simulations, weighted as the posterior is."""

    def __init__(self, calibration: Calibration, sample: pd.DataFrame) -> None:
        self.centres = logit_scale(calibration, sample)
        self.weights = sample["weight"].to_numpy(dtype=float) / sample["weight"].sum()
        centred = self.centres - self.weights @ self.centres
        covariance = SPREAD * (centred * self.weights[:, None]).T @ centred
        covariance += 1e-6 * np.eye(len(covariance))  # a direction the accepted do not span stays sampled
        self.cholesky = np.linalg.cholesky(covariance)
        self.inverse = np.linalg.inv(covariance)
        self.log_norm = -0.5 * (len(covariance) * np.log(2 * np.pi) + np.linalg.slogdet(covariance)[1])

    def draw(self, size: int, rng: np.random.Generator) -> np.ndarray:
        components = rng.choice(len(self.weights), size=size, p=self.weights)
        return self.centres[components] + rng.standard_normal((size, len(self.cholesky))) @ self.cholesky.T

    def log_density(self, z: np.ndarray) -> np.ndarray:
        terms = []
        for centre, weight in zip(self.centres, self.weights):
            offset = z - centre
            terms.append(np.log(weight) + self.log_norm - 0.5 * np.einsum("ij,jk,ik->i", offset, self.inverse, offset))
        return logsumexp(np.column_stack(terms), axis=1)


def wave_design(calibration: Calibration, proposal: Proposal, size: int, wave: int) -> pd.DataFrame:
    """``size`` parameter sets drawn from ``proposal`` (seeded by the set-up's seed and the wave),
    as a scenario takes them."""
    from .bank import from_unbounded

    rng = np.random.default_rng([calibration.setup.seed, wave])
    z = proposal.draw(size, rng)
    return pd.DataFrame({name: [parameter.clip(value) for value in from_unbounded(parameter, z[:, column])]
                         for column, (name, parameter) in enumerate(calibration.parameters.items())})


def importance(calibration: Calibration, bank: pd.DataFrame, proposals: dict[int, Proposal]) -> np.ndarray:
    """Each simulation's weight back to the prior: prior / (the waves' sampling densities, mixed in
    proportion to their simulations), scaled to a mean of 1. All ones for a bank of one wave."""
    if not proposals:
        return np.ones(len(bank))
    z = logit_scale(calibration, bank)
    prior = prior_log_density(z)
    counts = bank["wave"].value_counts()
    shares = {wave: counts.get(wave, 0) / len(bank) for wave in [0, *proposals]}
    mixture = logsumexp(np.column_stack(
        [np.log(shares[0]) + prior] + [np.log(shares[wave]) + proposals[wave].log_density(z)
                                       for wave in proposals if shares[wave] > 0]), axis=1)
    weights = np.exp(prior - mixture)
    return weights / weights.mean()
