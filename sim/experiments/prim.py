"""PRIM, the patient rule induction method (Friedman & Fisher 1999), for scenario discovery.

Given cases (a sweep's runs: the swept parameters) and which of them meet a condition, PRIM finds a
*box*, a range of each parameter, inside which the condition holds far more often than overall. It
peels: from the box holding every case it repeatedly cuts off a small slice (a share ``alpha`` of the
cases in the box) at the low or high end of one parameter, the cut that raises the share of cases
meeting the condition the most per case removed, until no cut raises it or too few cases remain.
Every box along the way is kept: the *peeling trajectory*. Words as in EMA Workbench
(``ema_workbench.analysis.prim``; Bryant & Lempert 2010):

- **coverage**: of all cases meeting the condition, the share inside the box (does it find them all?);
- **density**: of the cases inside the box, the share meeting the condition (is it pure?);
- **mass**: the share of all cases inside the box;
- **restricted dimensions**: the parameters whose limits are narrower than the design's span.

Peeling trades coverage for density; :func:`choose` picks one box on the trajectory by a stated
rule (the densest box whose coverage is at least a minimum). :func:`paste` optionally widens a box
again where that raises its density (Friedman & Fisher's pasting).

Differences from EMA Workbench, on purpose: a cut limit is the smallest (or largest) parameter value
left in the box (inclusive), not the cut midway to the next value left out, so a grid's box reads as
grid values; only numeric parameters are peeled. As in EMA Workbench, a peel always removes at
least the cases at the extreme value (tied values on a grid go together), and a peel is chosen by
EMA's default objective ("lenient1": the gain in density per case removed).

Friedman, J. H. & Fisher, N. I. (1999). Bump hunting in high-dimensional data. Statistics and
Computing 9, 123-143. Bryant, B. P. & Lempert, R. J. (2010). Thinking inside the box: a participatory,
computer-assisted approach to scenario discovery. Technological Forecasting and Social Change 77, 34-49.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .prim_options import ALPHA, MIN_COVERAGE, MIN_MASS


@dataclass(frozen=True)
class Box:
    """One box of a trajectory: its limits and how well it separates the cases."""

    step: int  # 0 is every case; each peel (or paste) adds one
    limits: dict[str, tuple[float, float]]  # every parameter's [low, high], inclusive
    restricted: tuple[str, ...]  # parameters whose limits are narrower than the cases' span
    cases: int  # cases inside
    hits: int  # cases inside that meet the condition
    coverage: float  # hits / all cases meeting the condition
    density: float  # hits / cases
    mass: float  # cases / all cases
    pasted: bool = False


class Cases:
    """The cases as arrays: parameter values (rows are cases), whether each meets the condition."""

    def __init__(self, x: pd.DataFrame, hit) -> None:
        self.names = [str(name) for name in x.columns]
        self.values = x.to_numpy(dtype=float)
        self.hit = np.asarray(hit, dtype=bool)
        if len(self.values) != len(self.hit) or not len(self.hit) or not self.names:
            raise ValueError("PRIM needs at least one case and one parameter, and one condition value per case")
        if not np.isfinite(self.values).all():
            raise ValueError("PRIM needs finite parameter values")
        self.span = (self.values.min(axis=0), self.values.max(axis=0))

    def inside(self, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        return ((self.values >= low) & (self.values <= high)).all(axis=1)

    def box(self, low: np.ndarray, high: np.ndarray, step: int, pasted: bool = False) -> Box:
        """The box with these limits; a parameter is restricted when a peel has cut it."""
        inside = self.inside(low, high)
        cases, hits = int(inside.sum()), int(self.hit[inside].sum())
        restricted = tuple(name for name, lo, hi, span_lo, span_hi in zip(self.names, low, high, *self.span)
                           if lo > span_lo or hi < span_hi)
        return Box(step, {name: (float(lo), float(hi)) for name, lo, hi in zip(self.names, low, high)}, restricted,
                   cases, hits, hits / max(int(self.hit.sum()), 1), hits / cases, cases / len(self.hit), pasted)


def _limits(box: Box, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([box.limits[n][0] for n in names]), np.array([box.limits[n][1] for n in names])


def _gain(hit: np.ndarray, old: np.ndarray, new: np.ndarray) -> float:
    """EMA Workbench's "lenient1" objective: the change in density per case removed (or added)."""
    moved = abs(int(old.sum()) - int(new.sum()))
    if moved == 0 or not new.any():
        return -math.inf
    return (hit[new].mean() - hit[old].mean()) / moved


def _peels(column: np.ndarray, inside: np.ndarray, alpha: float):
    """The two candidate peels of one parameter: (side, new limit), the limit being the smallest
    (or largest) value left in the box after cutting about ``alpha`` of its cases off that end."""
    values = column[inside]
    lowest, highest = values.min(), values.max()
    if lowest == highest:
        return
    cut = np.quantile(values, alpha)
    cut = cut if cut > lowest else values[values > lowest].min()  # ties: at least the lowest value goes
    yield 0, values[values >= cut].min()
    cut = np.quantile(values, 1 - alpha)
    cut = cut if cut < highest else values[values < highest].max()
    yield 1, values[values <= cut].max()


def peel(cases: Cases, alpha: float = ALPHA, min_mass: float = MIN_MASS) -> list[Box]:
    """The peeling trajectory, from the box of every case to the last peel that raised the density
    while keeping at least ``min_mass`` of the cases; ties go to the first parameter, low end first."""
    if not 0 < alpha < 0.5 or not 0 <= min_mass < 1:
        raise ValueError(f"alpha must be in (0, 0.5) and min_mass in [0, 1) (got {alpha}, {min_mass})")
    limits = [cases.span[0].copy(), cases.span[1].copy()]
    trajectory = [cases.box(*limits, 0)]
    while True:
        inside = cases.inside(*limits)
        best, best_gain = None, 0.0
        for j, column in enumerate(cases.values.T):
            for side, value in _peels(column, inside, alpha):
                kept = inside & (column >= value if side == 0 else column <= value)
                gain = _gain(cases.hit, inside, kept)
                if gain > best_gain and kept.sum() >= min_mass * len(inside):
                    best, best_gain = (side, j, value), gain
        if best is None:
            return trajectory
        side, j, value = best
        limits[side][j] = value
        trajectory.append(cases.box(*limits, len(trajectory)))


def _pastes(cases: Cases, box: Box, alpha: float):
    """Candidate pastes of a box: (side, parameter, new limit), each restricted limit moved out over
    about ``alpha`` of the box's cases among those inside on every other parameter."""
    low, high = _limits(box, cases.names)
    adding = max(1, math.ceil(alpha * box.cases))
    for j, name in enumerate(cases.names):
        if name not in box.restricted:
            continue
        others_low, others_high = low.copy(), high.copy()
        others_low[j], others_high[j] = -np.inf, np.inf
        others = cases.inside(others_low, others_high)
        column = cases.values[:, j]
        below = np.sort(column[others & (column < low[j])])[::-1]
        if len(below):
            yield 0, j, below[min(adding, len(below)) - 1]
        above = np.sort(column[others & (column > high[j])])
        if len(above):
            yield 1, j, above[min(adding, len(above)) - 1]


def paste(cases: Cases, box: Box, alpha: float = ALPHA, step: int | None = None) -> list[Box]:
    """Friedman & Fisher's pasting: widen ``box`` one limit at a time while that raises its density.
    Returns the pasted boxes in order, numbered from ``step`` (default: the box's step + 1); empty
    when no paste helps; the last is the final box."""
    pasted: list[Box] = []
    current, step = box, box.step + 1 if step is None else step
    while True:
        limits = list(_limits(current, cases.names))
        inside = cases.inside(*limits)
        best, best_gain = None, 0.0
        for side, j, value in _pastes(cases, current, alpha):
            grown = [limits[0].copy(), limits[1].copy()]
            grown[side][j] = value
            gain = _gain(cases.hit, inside, cases.inside(*grown))
            if gain > best_gain:
                best, best_gain = grown, gain
        if best is None:
            return pasted
        current = cases.box(*best, step + len(pasted), pasted=True)
        pasted.append(current)


def _widened(cases: Cases, low: np.ndarray, high: np.ndarray, j: int, sides=(0, 1)) -> list[np.ndarray]:
    """The limits with parameter ``j``'s set back to the cases' span (on ``sides``: 0 low, 1 high)."""
    limits = [low.copy(), high.copy()]
    for side in sides:
        limits[side][j] = cases.span[side][j]
    return limits


def prune(cases: Cases, box: Box) -> Box:
    """``box`` without the limits that exclude no case its other limits keep: a peel that later peels
    made redundant (its cases went with another parameter's cut) restricts nothing, though the box
    would read as if it did. The same cases, hits, coverage and density; fewer restricted parameters."""
    low, high = _limits(box, cases.names)
    inside = cases.inside(low, high)
    for j, name in enumerate(cases.names):
        if name in box.restricted:
            wide = _widened(cases, low, high, j)
            if np.array_equal(cases.inside(*wide), inside):
                low, high = wide
    pruned = cases.box(low, high, box.step, box.pasted)
    return box if pruned.restricted == box.restricted else pruned


def prune_chosen(cases: Cases, trajectory: list[Box], chosen: Box) -> tuple[list[Box], Box]:
    """The chosen box after :func:`prune`, and the trajectory with it in its row: that row then lists the
    limits the box is written with (the same cases and hits as the box peeling made)."""
    pruned = prune(cases, chosen)
    return [pruned if box.step == chosen.step else box for box in trajectory], pruned


def quasi_p(cases: Cases, box: Box) -> dict[str, tuple[float, float]]:
    """EMA Workbench's quasi-p-values of each restricted parameter (``prim_util.calculate_qp``), one for
    each side it limits (NaN for a side at the cases' span): the chance that a box of as many cases,
    drawn from the box with that side's limit set back to the span, holds at least as many that meet the
    condition (a one-sided binomial test). A large value says that limit adds little to the density."""
    from scipy.special import bdtrc  # P(X > k), X binomial; scipy.stats costs a second to import

    low, high = _limits(box, cases.names)
    values = {}
    for j, name in enumerate(cases.names):
        if name not in box.restricted:
            continue
        sides = []
        for side, limit in enumerate((low[j], high[j])):
            if limit == cases.span[side][j]:  # this side is not limited
                sides.append(float("nan"))
                continue
            rate = cases.hit[cases.inside(*_widened(cases, low, high, j, (side,)))].mean()
            sides.append(float(bdtrc(box.hits - 1, box.cases, rate)) if box.hits else 1.0)
        values[name] = (sides[0], sides[1])
    return values


def choose(trajectory: list[Box], min_coverage: float = MIN_COVERAGE) -> Box:
    """The densest box with coverage at least ``min_coverage`` (ties: the higher coverage, then the
    earlier step). The box of every case has coverage 1, so there is always one."""
    if not 0 < min_coverage <= 1:
        raise ValueError(f"min_coverage must be in (0, 1] (got {min_coverage})")
    eligible = [box for box in trajectory if box.coverage >= min_coverage - 1e-12]
    return max(eligible, key=lambda box: (box.density, box.coverage, -box.step))


def trajectory_table(trajectory: list[Box], chosen: Box) -> pd.DataFrame:
    """One row per box: step, cases, hits, coverage, density, mass, the restricted parameters, and
    whether it was pasted or is the chosen box."""
    return pd.DataFrame([{"step": box.step, "cases": box.cases, "hits": box.hits, "coverage": box.coverage,
                          "density": box.density, "mass": box.mass, "restricted_count": len(box.restricted),
                          "restricted": "; ".join(box.restricted), "pasted": box.pasted, "chosen": box.step == chosen.step}
                         for box in trajectory])


def box_table(cases: Cases, box: Box) -> pd.DataFrame:
    """One row per parameter: the box's limits beside the span of the cases, whether it is restricted,
    and the quasi-p-value of each limit it has (:func:`quasi_p`)."""
    significance, neither = quasi_p(cases, box), (float("nan"), float("nan"))
    return pd.DataFrame([{"parameter": name, "low": box.limits[name][0], "high": box.limits[name][1],
                          "span_low": float(lo), "span_high": float(hi), "restricted": name in box.restricted,
                          "quasi_p_low": significance.get(name, neither)[0],
                          "quasi_p_high": significance.get(name, neither)[1]}
                         for name, lo, hi in zip(cases.names, *cases.span)])
