"""Parameter draws: scenarios over particles of the calibration's posterior (``--parameter-draws K``).

The posterior is a CSV file (``calibration/posterior.csv``, written by ``retailsim calibrate
--method bank`` or ``--method abc`` beside ``calibrated.yaml``): one row per particle, a column per
free parameter named by its dotted scenario key, and a ``weight`` column. K particles are drawn by weight with
systematic resampling, from the ``parameter_draws`` stream of the run's root seed, so the same
command draws the same particles. Each draw's values override the calibrated ones in the baseline
and every what-if alike, except where a scenario sets that key itself (in its files, or with
``--set``): a lever keeps its own value. ``docs/calibration.md`` says why and how to read it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ScenarioError, UserError
from ..jobs.inputs import check_parameter
from ..limits import MAX_REPLICATES
from ..run import ScenarioLike, resolve
from ..scenario import Scenario
from ..scenario.loader import display, read_yaml
from ..scenario.paths import leaf_keys
from ..streams import Streams

POSTERIOR = "posterior.csv"  # beside calibrated.yaml
WEIGHT = "weight"
MAX_PARAMETER_DRAWS = MAX_REPLICATES  # the runs (draws x replicates x scenarios) are bounded by sim.limits
HOW = "retailsim calibrate --method bank writes it beside calibrated.yaml"
FILE_KEYS = ("extends", "calibration", "events", "name", "description", "seed")  # not parameter values


@dataclass(frozen=True)
class Posterior:
    """A weighted sample of the free parameters: ``particles`` (a column per dotted key) and ``weights``."""

    path: Path
    particles: pd.DataFrame
    weights: np.ndarray

    @property
    def parameters(self) -> list[str]:
        return list(self.particles.columns)

    def draw(self, draws: int, root_seed: int) -> list[int]:
        """``draws`` particle numbers by weight: systematic resampling (one uniform offset, then
        evenly spaced points through the cumulative weights), from the root seed's own stream."""
        offset = Streams(root_seed)["parameter_draws"].random()
        cumulative = np.cumsum(self.weights) / self.weights.sum()
        cumulative[-1] = 1.0
        positions = (offset + np.arange(draws)) / draws
        return [int(i) for i in np.searchsorted(cumulative, positions, side="right")]

    def values(self, particle: int) -> dict[str, float | int]:
        """One particle's values as scenario overrides (whole numbers stay whole)."""
        row = self.particles.iloc[particle]
        return {name: int(row[name]) if pd.api.types.is_integer_dtype(self.particles[name]) else float(row[name])
                for name in self.particles.columns}


def check_posterior_given(posterior: Any, draws: Any, names: tuple[str, str] = ("posterior", "parameter_draws")) -> None:
    """A posterior given without parameter draws would do nothing (it was silently ignored): one line,
    naming the two as the caller calls them (``names``: the command's flags, or the function's keywords)."""
    if posterior is not None and not draws:
        raise UserError(f"{names[0]} {posterior}: only {names[1]} reads a posterior; give {names[1]} K too, or "
                        f"leave {names[0]} out")


def check_draws(draws: Any) -> int:
    """The number of draws, 1 to :data:`MAX_PARAMETER_DRAWS` (one line otherwise)."""
    if isinstance(draws, bool) or not isinstance(draws, int) or not 1 <= draws <= MAX_PARAMETER_DRAWS:
        raise UserError(f"parameter draws must be a whole number from 1 to {MAX_PARAMETER_DRAWS:,} (got {draws!r})")
    return draws


def calibration_of(source: ScenarioLike) -> tuple[Path, Path] | None:
    """The scenario file that names a ``calibration:`` (it or the nearest file it extends) and the
    calibrated file it names; ``None`` for a Scenario, a dict, or a file chain with no calibration."""
    if not isinstance(source, (str, Path)):
        return None
    path = Path(source).resolve()
    for _ in range(32):  # the loader already refused cycles and chains over its own limit
        data, _ = read_yaml(path)
        if isinstance(data.get("calibration"), str):
            return path, (path.parent / data["calibration"]).resolve()
        if not isinstance(data.get("extends"), str):
            return None
        path = (path.parent / data["extends"]).resolve()
    return None


def find_posterior(baseline: ScenarioLike, given: str | Path | None) -> Path:
    """The posterior file: ``given``, or ``posterior.csv`` beside the baseline's calibrated file."""
    if given is not None:
        path = Path(given)
        if not path.is_file():
            raise UserError(f"--posterior {display(path)}: no such file; give a posterior CSV ({HOW})")
        return path
    linked = calibration_of(baseline)
    if linked is None:
        raise UserError(f"--parameter-draws: the baseline names no calibration: file, so there is no posterior "
                        f"beside it; give --posterior FILE ({HOW})")
    path = linked[1].parent / POSTERIOR
    if not path.is_file():
        raise UserError(f"--parameter-draws: no posterior file {display(path)} (beside {linked[1].name}, which "
                        f"{display(linked[0])} names); make it with 'retailsim calibrate --method bank' (the optuna "
                        "method makes none), or give --posterior FILE")
    return path


def load_posterior(path: Path, baseline: Scenario) -> Posterior:
    """The posterior file checked before any run: a ``weight`` column of finite, non-negative
    weights that do not all vanish, and every other column a value of the scenario that may vary,
    every particle's value valid there. Each problem is one line naming the file."""
    source = display(path)
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise UserError(f"{source}: cannot be read as a posterior CSV ({str(error).splitlines()[0][:80]})") from None
    if WEIGHT not in table.columns:
        raise UserError(f"{source}: no '{WEIGHT}' column; a posterior has a column per parameter (its dotted key) "
                        f"and a '{WEIGHT}' column")
    if table.empty or len(table.columns) < 2:
        raise UserError(f"{source}: {'no particles' if table.empty else 'no parameter columns'}; {HOW}")
    numbers = table.apply(pd.to_numeric, errors="coerce")
    bad = [name for name in table.columns if numbers[name].isna().any() or not np.isfinite(numbers[name]).all()]
    if bad:
        row = int(np.argmax(~np.isfinite(numbers[bad[0]].to_numpy(dtype=float)))) + 2  # the file's line (1: header)
        raise UserError(f"{source}: column '{bad[0]}' holds a value that is not a finite number "
                        f"(line {row}: {str(table[bad[0]].iloc[row - 2])[:40]!r})")
    weights = numbers[WEIGHT].to_numpy(dtype=float)
    if (weights < 0).any() or weights.sum() <= 0:
        row = int(np.argmax(weights < 0)) + 2 if (weights < 0).any() else None
        raise UserError(f"{source}: weights must be zero or more and not all zero"
                        + (f" (line {row} has {weights[row - 2]:g})" if row else ""))
    particles = numbers.drop(columns=WEIGHT)
    for name in particles.columns:
        if str(name) == "population.shoppers":  # a run's sample size, not a parameter of the world
            raise UserError(f"{source}: column '{name}' is the number of simulated households, not a parameter to "
                            "draw (set it with --shoppers); leave it out of the posterior")
        rows = list(dict.fromkeys((particles[name].idxmin(), particles[name].idxmax())))  # the extremes suffice
        try:
            check_parameter(baseline, str(name), [particles[name][row].item() for row in rows], {}, source, verb="drawn")
        except ScenarioError as error:
            raise UserError(f"{source}: column '{name}'{_line_of(baseline, name, particles[name], rows)}: "
                            f"{error.message}") from None
    return Posterior(path, particles, weights)


def _line_of(baseline: Scenario, name: str, column: pd.Series, rows: list[int]) -> str:
    """", line N": the file's line (1 is the header) of the one extreme value of a column that is not
    valid; "" when the column itself is the problem (both fail, or an unknown key)."""
    bad = []
    for row in rows:
        try:
            check_parameter(baseline, str(name), [column[row].item()], {}, "", verb="drawn")
        except ScenarioError:
            bad.append(row)
    return f", line {bad[0] + 2}" if len(bad) == 1 and len(rows) == 2 else ""


def own_keys(source: ScenarioLike, overrides: Mapping[str, Any]) -> set[str]:
    """The dotted keys a scenario sets itself: in its file and the files it extends (not in their
    calibrated file), in a dict, and in ``overrides`` (``--set``). A :class:`Scenario` object keeps
    no record of where its values came from, so only ``overrides`` count for it."""
    keys = set(overrides)
    if isinstance(source, Mapping):
        keys |= leaf_keys(dict(source))
    elif isinstance(source, (str, Path)):
        path = Path(source).resolve()
        for _ in range(32):
            data, _ = read_yaml(path)
            keys |= leaf_keys({k: v for k, v in data.items() if k not in FILE_KEYS})
            if not isinstance(data.get("extends"), str):
                break
            path = (path.parent / data["extends"]).resolve()
    return keys


def _sets(own: set[str], key: str) -> bool:
    return any(key == mine or key.startswith(f"{mine}.") for mine in own)


def draw_changes(values: Mapping[str, Any], own: set[str]) -> dict[str, Any]:
    """One draw's values as overrides, less the keys a scenario sets itself (``own``)."""
    return {key: value for key, value in values.items() if not _sets(own, key)}


def drawn_scenarios(sources: Sequence[ScenarioLike], overrides: Mapping[str, Any],
                    values: Mapping[str, Any]) -> list[Scenario]:
    """Each scenario with one draw's ``values`` over its calibrated ones, except the keys it sets
    itself; ``overrides`` (``--set``, ``--shoppers``) on top, as always."""
    return [resolve(source, {**draw_changes(values, own_keys(source, overrides)), **overrides})
            for source in sources]


def describe(posterior: Posterior, particles: list[int]) -> dict[str, Any]:
    """What a comparison's manifest records of its draws."""
    return {"posterior": display(posterior.path), "draws": len(particles), "resampling": "systematic",
            "particles": particles, "parameters": posterior.parameters,
            "effective_particles": round(float(posterior.weights.sum() ** 2 / (posterior.weights ** 2).sum()), 1)}
