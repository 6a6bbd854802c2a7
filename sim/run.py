"""``run(scenario, seed) -> Result``: the one entry point every user of the model goes through."""

from __future__ import annotations

import gc
import platform
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mesa
import numpy as np

from .errors import ScenarioError
from .model.market import RetailMarket
from .results import Result, package_version, scenario_hash
from .scenario import Scenario, load_scenario
from .scenario.loader import COMMAND_LINE, load_document, override

ScenarioLike = Scenario | str | Path | Mapping[str, Any]


def resolve(scenario: ScenarioLike, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """A validated scenario from a path, a Scenario, or a mapping laid out like a scenario file
    (validated as a file is; errors name ``<dict>``), with dotted-path ``overrides`` applied."""
    if isinstance(scenario, Scenario):
        return override(scenario, overrides or {}, COMMAND_LINE) if overrides else scenario
    if isinstance(scenario, Mapping):
        return load_document(scenario, overrides)
    return load_scenario(scenario, overrides)


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
        progress: Callable[[RetailMarket], None] | None = None) -> Result:
    """Run one scenario once and return its results; touches no global state.

    ``scenario`` is a file's path, a :class:`Scenario`, or a dict laid out like a scenario file
    (``{"name": "cheap_plus", "walmart": {"walmart_plus": {"fee_annual": 79}}}``: keys not given keep
    their defaults, and it is validated as a file is, its errors naming ``<dict>``).
    ``seed`` defaults to the scenario's own; ``shoppers`` and ``overrides`` (dotted paths such as
    ``{"walmart.walmart_plus.fee_annual": 79}``) change the scenario before it runs.
    ``progress`` is called after every weekly step.
    """
    changes = dict(overrides or {})
    if shoppers is not None:
        changes["population.shoppers"] = shoppers
    resolved = resolve(scenario, changes)
    seed = resolved.seed if seed is None else int(seed)
    if seed < 0:
        raise ScenarioError(COMMAND_LINE, "seed", f"must be a whole number >= 0 (got {seed})")
    started = time.perf_counter()
    with cyclic_collector_paused():
        model = RetailMarket(resolved, seed)
        try:
            model.run_model(progress)
            timeseries = model.collector.recorder.table()
        finally:
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
        "versions": {"python": platform.python_version(), "numpy": np.__version__, "mesa": mesa.__version__},
        "run_seconds": round(time.perf_counter() - started, 3),
        "weeks": int(timeseries["date"].nunique()),
        "rows": len(timeseries),
    }
    return Result(resolved, seed, timeseries, manifest)
