"""``run(scenario, seed) -> Result``: the one entry point every user of the model goes through."""

from __future__ import annotations

import gc
import platform
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from .framework import mesa
from .errors import ScenarioError, UserError
from .model.cores import Cores
from .model.market import RetailMarket
from .results import Result, scenario_hash
from .versions import model_version, package_version
from .scenario import Scenario, load_scenario
from .scenario.changes import override
from .scenario.loader import COMMAND_LINE, load_document
from .scenario.paths import DATED
from .scenario.schema import MAX_SEED

ScenarioLike = Scenario | str | Path | Mapping[str, Any]


def whole(name: str, value: Any, minimum: int = 0, maximum: int | None = None) -> int | None:
    """An API argument that must be a whole number of at least ``minimum`` (and at most ``maximum``;
    a seed at most ``MAX_SEED``, as the command line's), or None: one line if not."""
    maximum = MAX_SEED if maximum is None and name == "seed" else maximum
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum
                              or (maximum is not None and value > maximum)):
        bound = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum:,}"
        raise UserError(f"{name} must be a whole number {bound} (got {value!r})")
    return None if value is None else int(value)


def file_or_dict(name: str, value: Any, what: str) -> None:
    """An API argument that must be a file's path or a dict laid out like one: one line if not."""
    if not isinstance(value, (str, Path, Mapping)):
        raise UserError(f"{name} must be {what}'s path or a dict laid out like one (got {type(value).__name__})")


def checked_source(scenario: Any, overrides: Any) -> None:
    """What the API's ``scenario`` and ``overrides`` may be; one line naming what would be valid."""
    if not isinstance(scenario, (Scenario, str, Path, Mapping)):
        raise UserError(f"scenario must be a file's path, a Scenario or a dict laid out like a scenario file "
                        f"(got {type(scenario).__name__})")
    if overrides is not None and not (isinstance(overrides, Mapping) and all(isinstance(k, str) for k in overrides)):
        raise UserError("overrides must be a dict of dotted scenario paths and values, e.g. "
                        "{'walmart.walmart_plus.fee_annual': 79}" + f" (got {type(overrides).__name__})")


def api_resolve(scenario: ScenarioLike, overrides: Mapping[str, Any] | None, shoppers: int | None = None) -> Scenario:
    """:func:`resolve` for the Python API: its arguments checked, an override's error naming
    ``overrides`` (or ``shoppers``) rather than the command line's ``--set``, and a warning for each
    override that an event of the scenario sets again later (it holds only until then)."""
    import warnings

    from .scenario.paths import blocks_set_whole, reset_by_events

    checked_source(scenario, overrides)
    changes = dict(overrides or {})
    if whole("shoppers", shoppers, 1) is not None:
        changes["population.shoppers"] = int(shoppers)
    try:
        resolved = resolve(scenario, changes)
    except ScenarioError as error:
        if error.source != COMMAND_LINE:
            raise
        source = "shoppers" if error.place == "population.shoppers" and shoppers is not None else "overrides"
        raise ScenarioError(source, error.place, error.message) from None
    given = dict(overrides or {})
    for line in blocks_set_whole(Scenario, given, "overrides") + reset_by_events(resolved, given, "overrides"):
        warnings.warn(line, UserWarning, stacklevel=3)
    return resolved


def resolve(scenario: ScenarioLike, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """A validated scenario from a path, a Scenario, or a mapping laid out like a scenario file
    (validated as a file is; errors name ``<dict>``), with dotted-path ``overrides`` applied: from the
    start, or, keyed ``path@DATE``, from that date (an event after the scenario's own)."""
    if isinstance(scenario, Scenario):
        return override(scenario, overrides or {}, COMMAND_LINE) if overrides else scenario
    plain = {key: value for key, value in (overrides or {}).items() if DATED not in key}
    dated = {key: value for key, value in (overrides or {}).items() if DATED in key}
    loaded = load_document(scenario, plain) if isinstance(scenario, Mapping) else load_scenario(scenario, plain)
    return override(loaded, dated, COMMAND_LINE) if dated else loaded


@contextmanager
def cyclic_collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a run, then free the run's cycles at once.

    Registering tens of thousands of Mesa agents, then recording every week, made the collector
    sweep the growing heap again and again: about a tenth of a 20,000-household run. Reference
    counting still frees every array as the run goes; the model's own cycles (agents and model refer
    to each other) are all still in the youngest generation when it ends, and one collection of that
    generation frees them, so a process that runs many models does not grow.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.collect(0)
        if enabled:
            gc.enable()


def run(scenario: ScenarioLike, seed: int | None = None, *, shoppers: int | None = None,
        overrides: Mapping[str, Any] | None = None,
        progress: Callable[[RetailMarket], None] | None = None, cores: int = 1) -> Result:
    """Run one scenario once and return its results; touches no global state.

    ``scenario`` is a file's path, a :class:`Scenario`, or a dict laid out like a scenario file
    (``{"name": "cheap_plus", "walmart": {"walmart_plus": {"fee_annual": 79}}}``: keys not given keep
    their defaults, and it is validated as a file is, its errors naming ``<dict>``).
    ``seed`` defaults to the scenario's own; ``shoppers`` and ``overrides`` (dotted paths such as
    ``{"walmart.walmart_plus.fee_annual": 79}``, from the start; keyed ``path@DATE``, from that date)
    change the scenario before it runs. An override that the scenario's own events set again later
    holds only until then: a ``UserWarning`` says so.
    ``progress`` is called after every weekly step.
    ``cores`` above 1 runs it on that many processes (Linux only; forked copies of the model that each
    shop for a share of the households, :mod:`sim.model.cores`): the same results to the bit, sooner.
    Leave it at 1 in a process with threads of its own (a notebook's kernel, a server) or inside a
    pool's worker.
    """
    seed = whole("seed", seed)
    cores = whole("cores", cores, 1)
    resolved = api_resolve(scenario, overrides, shoppers)
    seed = resolved.seed if seed is None else seed
    started = time.perf_counter()
    with cyclic_collector_paused():
        model = RetailMarket(resolved, seed)
        model.cores = Cores.start(model, cores)
        try:
            model.run_model(progress)
            used = 1 if model.cores is None else len(model.cores.spans)  # None: a copy ended early
            timeseries = model.collector.recorder.table()
        finally:
            if model.cores is not None:
                model.cores.close()
            # Mesa 3.3 keeps a per-model id counter keyed by the model; drop it so runs do not leak.
            mesa.Agent._ids.pop(model, None)
            del model
    manifest = {
        "scenario": resolved.model_dump(mode="json"),
        "scenario_name": resolved.name,
        "scenario_hash": scenario_hash(resolved),
        "seed": seed,
        "shoppers": resolved.population.shoppers,
        "package_version": package_version(),
        "model_version": model_version(),
        "versions": {"python": platform.python_version(), "numpy": np.__version__, "mesa": mesa.__version__},
        "run_seconds": round(time.perf_counter() - started, 3),
        "cores": used,
        "weeks": int(timeseries["date"].nunique()),
        "rows": len(timeseries),
    }
    return Result(resolved, seed, timeseries, manifest)
