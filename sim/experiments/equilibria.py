"""Best responses and pure-strategy Nash equilibria of a finite game, from its payoff table, with
the run noise that decides which differences a reader may trust.

Pure numbers in, pure numbers out: no simulation and no files, so a hand-computed game (the
prisoner's dilemma, matching pennies) is solved by the same code as a simulated one. The payoff
of a player in a profile is the mean over replicates; a deviation's gain is the mean of the
paired differences (same seed, so common random numbers cancel most of the noise), and it is
*distinguishable* when the 90% Student-t interval of that mean excludes zero, as ``compare``
marks its differences.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from itertools import product

import numpy as np

LEVEL = 0.90  # the confidence of "distinguishable", as compare's intervals
RELATIVE_TIE = 1e-12  # payoffs this close (relative) are equal: identical runs, or rounding


@dataclass(frozen=True)
class PayoffTable:
    """The payoffs of every profile: ``runs[s_1, ..., s_n, player, replicate]``, the players' strategy
    labels in ``strategies`` (one tuple per player, its length the player's axis)."""

    players: tuple[str, ...]
    strategies: tuple[tuple[str, ...], ...]
    runs: np.ndarray = field(repr=False)

    def __post_init__(self) -> None:
        runs = np.asarray(self.runs, dtype=float)
        if runs.ndim == len(self.players):  # one replicate given without its axis
            raise ValueError("runs needs a player axis and a replicate axis after the strategy axes")
        sizes = tuple(len(s) for s in self.strategies)
        if len(self.strategies) != len(self.players) or runs.shape[:-1] != (*sizes, len(self.players)):
            raise ValueError(f"runs has shape {runs.shape}; expected {(*sizes, len(self.players))} + (replicates,)")
        if not np.isfinite(runs).all():
            raise ValueError("every payoff must be a finite number (a failed run leaves a hole in the table)")
        object.__setattr__(self, "runs", runs)

    @classmethod
    def from_means(cls, players, strategies, means) -> PayoffTable:
        """A table of exact payoffs (one replicate): ``means[s_1, ..., s_n, player]``."""
        return cls(tuple(players), tuple(map(tuple, strategies)), np.asarray(means, dtype=float)[..., None])

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(len(s) for s in self.strategies)

    @property
    def replicates(self) -> int:
        return self.runs.shape[-1]

    @cached_property
    def means(self) -> np.ndarray:
        """Mean payoff over replicates: ``means[s_1, ..., s_n, player]``."""
        return self.runs.mean(axis=-1)

    def profiles(self) -> list[tuple[int, ...]]:
        """Every profile, the last player's strategy changing fastest."""
        return list(product(*(range(size) for size in self.sizes)))

    def label(self, profile: tuple[int, ...]) -> str:
        return ", ".join(f"{player} {self.strategies[i][s]}" for i, (player, s) in enumerate(zip(self.players, profile)))


@dataclass(frozen=True)
class Deviation:
    """What ``player`` gains by switching, alone, from a profile to ``strategy``: the mean paired
    difference of its payoff, its standard error (NaN with one replicate) and whether the 90%
    interval excludes zero (False for a tie; None: one replicate, no estimate of noise)."""

    player: int
    strategy: int
    gain: float
    se: float
    distinguishable: bool | None


def best_responses(table: PayoffTable) -> np.ndarray:
    """``best[s_1, ..., s_n, i]``: whether player i's strategy in that profile is one of its best
    replies to the others' strategies there (ties: every strategy at the maximum)."""
    best = np.zeros(table.means.shape, dtype=bool)
    for i in range(len(table.players)):
        payoff = table.means[..., i]
        top = payoff.max(axis=i, keepdims=True)
        best[..., i] = payoff >= top - RELATIVE_TIE * np.abs(top)
    return best


def nash_equilibria(table: PayoffTable) -> list[tuple[int, ...]]:
    """The pure-strategy Nash equilibria: profiles where every player best-responds (may be none)."""
    everyone = best_responses(table).all(axis=-1)
    return [tuple(int(s) for s in profile) for profile in np.argwhere(everyone)]


def _t_quantile(replicates: int) -> float:
    from scipy.special import stdtrit  # Student's t quantile, as scipy.stats.t.ppf gives it, without scipy.stats' import (about a second)

    return float(stdtrit(replicates - 1, 0.5 + LEVEL / 2))


def deviations(table: PayoffTable, profile: tuple[int, ...]) -> list[Deviation]:
    """Every unilateral deviation from ``profile``: each player to each of its other strategies."""
    found = []
    k = table.replicates
    quantile = _t_quantile(k) if k > 1 else math.nan
    for i in range(len(table.players)):
        here = table.runs[profile][i]
        for s in range(table.sizes[i]):
            if s == profile[i]:
                continue
            there = list(profile)
            there[i] = s
            difference = table.runs[tuple(there)][i] - here
            gain = float(difference.mean())
            se = float(difference.std(ddof=1) / math.sqrt(k)) if k > 1 else math.nan
            tied = abs(gain) <= RELATIVE_TIE * max(abs(here.mean()), abs(here.mean() + gain))
            clear = False if tied else None if k < 2 else bool(abs(gain) > quantile * se)
            found.append(Deviation(i, s, gain, se, clear))
    return found


def within_noise(table: PayoffTable, profile: tuple[int, ...]) -> bool:
    """No player gains distinguishably by deviating from ``profile`` (a Nash equilibrium, or one
    that the runs cannot tell from one); with one replicate, only an exact equilibrium."""
    tolerance = RELATIVE_TIE * np.abs(table.means[profile]).max()
    return all(d.gain <= tolerance or d.distinguishable is False for d in deviations(table, profile))


@dataclass(frozen=True)
class Solution:
    """A solved table: best replies, the equilibria, and the profiles within run noise of one."""

    table: PayoffTable
    best: np.ndarray = field(repr=False)
    equilibria: list[tuple[int, ...]]
    near: list[tuple[int, ...]]  # not equilibria, but no player's gain from deviating is distinguishable

    def deviations(self, profile: tuple[int, ...]) -> list[Deviation]:
        """Every unilateral deviation from ``profile`` (see :func:`deviations`)."""
        return deviations(self.table, profile)

    def close_calls(self, profile: tuple[int, ...]) -> list[Deviation]:
        """Deviations from ``profile`` whose payoff the runs cannot tell from its own (not distinguishable)."""
        return [d for d in deviations(self.table, profile) if d.distinguishable is False]

    def robust(self, profile: tuple[int, ...]) -> bool | None:
        """Every deviation from ``profile`` loses distinguishably (None with one replicate)."""
        found = deviations(self.table, profile)
        if self.table.replicates < 2:
            return None
        return all(d.gain < 0 and d.distinguishable for d in found)


def solve(table: PayoffTable) -> Solution:
    """Best responses, pure-strategy Nash equilibria, and the profiles within run noise of one."""
    equilibria = nash_equilibria(table)
    near = [p for p in table.profiles() if p not in equilibria and within_noise(table, p)]
    return Solution(table, best_responses(table), equilibria, near)
