"""The two searches of ``retailsim calibrate``: optuna (TPE, then CMA-ES) and pyabc's ABC-SMC.

Each takes the calibration, a :class:`~sim.calibration.candidates.Candidates` runner and a working
folder, and returns the candidates it scored, the chosen parameter values, its history and (ABC
only) the posterior sample.
"""

from __future__ import annotations

import math
import warnings
from concurrent.futures import Executor
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UserError
from ..experiments.executors import InlineExecutor
from ..scenario.loader import display
from .candidates import Candidates, simulate_targets
from .setup import Calibration, FreeParameter
from .targets import Target, evaluate_values

OPTUNA_JOURNAL, ABC_DATABASE = "optuna.journal", "abc.db"
EXPLORE_SHARE = 0.6  # optuna: TPE explores this share of the budget, then CMA-ES refines from the best
# pyabc's perturbation kernel on a nearly flat direction of the posterior; harmless, and raised in
# worker processes (which import this module to unpickle the model), so filtered here.
warnings.filterwarnings("ignore", message="covariance is not symmetric positive-semidefinite", category=RuntimeWarning)


def run_optuna(calibration: Calibration, candidates: Candidates, folder: Path, budget: int, batch: int,
                progress: bool):
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    from optuna.trial import TrialState
    from tqdm import tqdm

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    parameters, seed = calibration.parameters, calibration.setup.seed
    storage = JournalStorage(JournalFileBackend(str(folder / OPTUNA_JOURNAL)))
    explore = optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=max(10, 2 * len(parameters)))
    study = optuna.create_study(study_name=calibration.setup.name, storage=storage, sampler=explore,
                                direction="minimize", load_if_exists=True)
    explored = math.ceil(EXPLORE_SHARE * budget)
    for stale in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):  # interrupted last time
        study.tell(stale.number, state=TrialState.FAIL)
        if set(stale.params) == set(parameters):  # its runs were lost: run the same candidate again
            study.enqueue_trial(stale.params)

    def finished() -> int:
        """Candidates scored so far (a candidate whose runs failed counts; one lost to a crash does not)."""
        return sum("means" in trial.user_attrs
                   for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL)))

    bar = tqdm(total=budget, initial=min(finished(), budget), unit="candidate", disable=not progress or None,
               desc=f"{calibration.setup.name} (optuna)")
    try:
        while (done := finished()) < budget:
            if done >= explored and not isinstance(study.sampler, optuna.samplers.CmaEsSampler):
                # Refine: CMA-ES follows narrow valleys that TPE's proposals keep missing. It starts
                # from the distribution of the best tenth of the candidates so far (a warm start).
                source = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                    study.sampler = optuna.samplers.CmaEsSampler(
                        source_trials=source if len(source) >= 10 else None, seed=seed, warn_independent_sampling=False)
            asked = [study.ask() for _ in range(min(batch, budget - done if done >= explored else explored - done))]
            running = [(trial, candidates.submit({name: _suggest(trial, name, p) for name, p in parameters.items()}))
                       for trial in asked]
            for trial, futures in running:
                fit = candidates.score(futures)
                trial.set_user_attr("means", dict(zip(fit.table["target"], fit.table["simulated_mean"].map(float))))
                trial.set_user_attr("within", int(fit.table["within"].sum()))
                if math.isfinite(fit.loss):
                    study.tell(trial, fit.loss)
                else:
                    trial.set_user_attr("error", fit.errors[0] if fit.errors else "a target could not be simulated")
                    study.tell(trial, state=TrialState.FAIL)
                bar.update(1)
            if study.best_trials:
                bar.set_postfix(best_loss=f"{study.best_value:.3f}")
    finally:
        bar.close()
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        errors = [t.user_attrs["error"] for t in study.get_trials(deepcopy=False) if "error" in t.user_attrs]
        raise UserError(f"{display(calibration.source)}: no candidate could be scored"
                        + (f" (first error: {errors[0]})" if errors else ""))
    trials = pd.DataFrame([{"candidate": t.number, **{n: t.params[n] for n in parameters}, "loss": t.value,
                            "within": t.user_attrs.get("within"),
                            **{f"target.{k}": v for k, v in t.user_attrs.get("means", {}).items()}}
                           for t in complete]).sort_values("candidate", ignore_index=True)
    history = pd.DataFrame({"candidate": trials["candidate"], "loss": trials["loss"],
                            "best_loss": trials["loss"].cummin()})
    return trials, dict(study.best_trial.params), history, None


def _suggest(trial, name: str, parameter: FreeParameter) -> float:
    low, high = parameter.range
    if parameter.integer:
        return trial.suggest_int(name, int(math.ceil(low)), int(math.floor(high)), log=parameter.log)
    return trial.suggest_float(name, low, high, log=parameter.log)


# -- ABC-SMC ------------------------------------------------------------------------------------
class _AbcModel:
    """pyabc's model: a parameter set -> the targets' means over the seeds (picklable for workers)."""

    def __init__(self, base: dict, targets: list[dict], seeds: list[int], parameters: dict[str, dict]) -> None:
        self.base, self.targets, self.seeds, self.parameters = base, targets, seeds, parameters

    def __call__(self, values) -> dict[str, float]:
        free = {name: FreeParameter.model_validate(spec) for name, spec in self.parameters.items()}
        overrides = {name: free[name].clip(values[_abc_name(i)]) for i, name in enumerate(free)}
        runs = [simulate_targets(self.base, overrides, seed, self.targets) for seed in self.seeds]
        return {key: float(np.mean([r[key] for r in runs])) for key in runs[0]}


class _AbcDistance:
    """The calibration loss of a candidate's target means (the published values are in the targets)."""

    def __init__(self, targets: list[dict]) -> None:
        self.targets = targets

    def __call__(self, simulated: dict, observed: dict) -> float:
        specs = [Target.model_validate(target) for target in self.targets]
        return evaluate_values(specs, [simulated]).loss


def _abc_name(index: int) -> str:
    return f"p{index}"  # pyabc keeps parameter names as SQL columns: plain names, mapped back here


def run_abc(calibration: Calibration, candidates: Candidates, folder: Path, budget: int, population: int,
             pool: Executor, count: int, progress: bool):
    import logging

    import pyabc
    from pyabc.sampler import ConcurrentFutureSampler, SingleCoreSampler

    logging.getLogger("ABC").setLevel(logging.INFO if progress else logging.WARNING)  # pyabc's own reports

    parameters = calibration.parameters
    names = list(parameters)
    priors = {}
    for index, parameter in enumerate(parameters.values()):
        low, high = parameter.range
        priors[_abc_name(index)] = (pyabc.RV("loguniform", low, high) if parameter.log
                                    else pyabc.RV("uniform", low, high - low))
    model = _AbcModel(candidates.base, candidates.targets, candidates.seeds,
                      {name: p.model_dump(mode="json") for name, p in parameters.items()})
    global_state = np.random.get_state()  # pyabc draws from numpy's global generator: seed it, then restore it
    np.random.seed(calibration.setup.seed)
    # In this process pyabc's proposals follow the seed; in workers pyabc reseeds each job from the OS.
    sampler = SingleCoreSampler() if isinstance(pool, InlineExecutor) else ConcurrentFutureSampler(pool, client_max_jobs=count)
    sampler.show_progress = progress
    abc = pyabc.ABCSMC(model, pyabc.Distribution(**priors), _AbcDistance(candidates.targets),
                       population_size=population, sampler=sampler)
    database = f"sqlite:///{(folder / ABC_DATABASE).resolve()}"
    observed = {t.id: t.value if t.value is not None else t.above for t in calibration.targets}
    if (folder / ABC_DATABASE).is_file() and pyabc.History(database).n_populations > 0:
        abc.load(database, 1)
    else:
        abc.new(database, observed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=FutureWarning)  # pyabc on pandas 3
            history = abc.run(max_total_nr_simulations=budget, max_nr_populations=100)
    finally:
        np.random.set_state(global_state)
    particles = history.get_population(t=history.max_t).particles
    posterior = pd.DataFrame([{name: float(particle.parameter[_abc_name(i)]) for i, name in enumerate(names)}
                              | {"weight": particle.weight, "loss": particle.distance} for particle in particles])
    chosen = posterior.loc[posterior["loss"].idxmin(), names].to_dict()
    populations = history.get_all_populations()
    populations = populations[populations["t"] >= 0]
    trials = posterior.assign(candidate=np.arange(len(posterior)), within=np.nan)
    epsilon = pd.DataFrame({"generation": populations["t"].astype(int), "epsilon": populations["epsilon"],
                            "simulations": populations["samples"].cumsum()})
    return trials, chosen, epsilon, posterior
