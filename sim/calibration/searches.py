"""The two searches of ``retailsim calibrate``: optuna (TPE, then CMA-ES) and pyabc's ABC-SMC.

Each takes the calibration, a :class:`~sim.calibration.candidates.Candidates` runner and a working
folder, and returns the candidates it scored, the chosen parameter values, its history and (ABC
only) the posterior sample.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterator
from concurrent.futures import Executor
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UserError
from ..jobs.executors import InlineExecutor
from ..jobs.runs import Runs, run_tasks
from ..jobs.targets import Target, evaluate_values
from ..scenario.loader import display
from ..streams import stream_key
from .candidates import Candidates
from .setup import Calibration, FreeParameter

OPTUNA_JOURNAL, ABC_DATABASE = "optuna.journal", "abc.db"
EXPLORE_SHARE = 0.6  # optuna: TPE explores this share of the budget, then CMA-ES refines from the best
# pyabc's perturbation kernel on a nearly flat direction of the posterior; harmless, and raised in
# worker processes (which import this module to unpickle the model), so filtered here.
warnings.filterwarnings("ignore", message="covariance is not symmetric positive-semidefinite", category=RuntimeWarning)


def batch_starts(budget: int, batch: int) -> Iterator[tuple[int, int]]:
    """Where each batch of candidates starts and how many it asks: a function of the budget and
    batch alone, so a resumed search cuts its batches exactly where an uninterrupted one does."""
    explored, start = math.ceil(EXPLORE_SHARE * budget), 0
    while start < budget:
        size = min(batch, budget - start if start >= explored else explored - start)
        yield start, size
        start += size


def batch_seed(seed: int, start: int) -> int:
    """The sampler's seed for the batch that starts after ``start`` candidates."""
    return int(np.random.SeedSequence([seed, start], spawn_key=(stream_key("calibration.optuna"),)).generate_state(1)[0])


def recover_journal(journal: Path) -> str | None:
    """Cut a torn last line (a write killed half way) off the journal, keeping it in ``.torn``.

    optuna appends whole lines; a kill -9 mid-write leaves a last line without its newline, which
    the next append would glue to a good one and make the journal unreadable for good. Returns a
    warning line when something was cut.
    """
    if not journal.is_file():
        return None
    with open(journal, "rb+") as file:
        size = file.seek(0, os.SEEK_END)
        end, block = size, 1 << 16
        while end > 0:  # find the last newline, reading backwards
            start = max(0, end - block)
            file.seek(start)
            chunk = file.read(end - start)
            found = chunk.rfind(b"\n")
            if found >= 0:
                cut = start + found + 1
                break
            end = start
        else:
            cut = 0
        if cut == size:
            return None
        file.seek(cut)
        torn = file.read()
        with open(journal.with_name(journal.name + ".torn"), "ab") as kept:
            kept.write(torn + b"\n")
        file.truncate(cut)
        file.flush()
        os.fsync(file.fileno())
    return (f"{journal}: its last line was cut short by an interrupted write ({len(torn)} bytes); it was removed "
            f"and kept in {journal.name}.torn, and its candidate is run again")


def run_optuna(calibration: Calibration, candidates: Candidates, folder: Path, budget: int, batch: int,
                progress: bool, warn=None, first: dict | None = None):
    """TPE then CMA-ES, a batch at a time; resumable from the journal, and resumed = uninterrupted.

    ``first`` (some or all of the free parameters) is the first candidate asked, the others drawn.

    Only scored candidates are written to the journal, one line each (``add_trial``). Each batch
    is proposed by a fresh sampler (seeded from the set-up's seed and where the batch starts) over
    an in-memory copy of the candidates scored before it, so what it proposes depends on the
    journal alone: a search killed at any point and resumed asks exactly what an uninterrupted one
    asks, and a batch cut short is completed with the same candidates.
    """
    from optuna.trial import TrialState
    from tqdm import tqdm

    study = _open_study(calibration, folder, warn)

    def scored() -> list:
        """Candidates scored so far, in order (a candidate whose runs failed counts)."""
        return [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL))
                if "means" in t.user_attrs]

    finished = scored()
    explored = math.ceil(EXPLORE_SHARE * budget)
    bar = tqdm(total=budget, initial=min(len(finished), budget), unit="candidate", disable=not progress or None,
               desc=f"{calibration.setup.name} (optuna)")
    try:
        for start, size in batch_starts(budget, batch):
            if start + size <= len(finished):
                continue
            asked = _propose(calibration, finished[:start], start, start >= explored, finished[:explored], size,
                             first if start == 0 else None)
            _score(study, candidates, asked[len(finished) - start:], bar)
            finished = scored()
            losses = [t.value for t in finished if t.state == TrialState.COMPLETE]
            if losses:
                bar.set_postfix(best_loss=f"{min(losses):.3f}")
    finally:
        bar.close()
    return _optuna_result(calibration, finished)


def _open_study(calibration: Calibration, folder: Path, warn):
    """The study of the folder's journal (a torn last line recovered first), or a new one."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    journal = folder / OPTUNA_JOURNAL
    note = recover_journal(journal)
    if note and warn is not None:
        warn([note])
    journal.with_name(journal.name + ".lock").unlink(missing_ok=True)  # stale: this command holds the folder
    try:
        return optuna.create_study(study_name=calibration.setup.name, direction="minimize", load_if_exists=True,
                                   storage=JournalStorage(JournalFileBackend(str(journal))))
    except (ValueError, KeyError, TypeError) as error:
        reason = str(error).splitlines()[0][:80] if str(error) else type(error).__name__
        raise UserError(f"{folder}: {OPTUNA_JOURNAL} is damaged ({reason}) and cannot be resumed; move the folder "
                        "aside or choose a new --out") from None


def _score(study, candidates: Candidates, asked: list, bar) -> None:
    """Run the ``asked`` candidates side by side, then add each to the journal in order, as it is scored."""
    from optuna.trial import TrialState, create_trial

    names = list(candidates.calibration.parameters)
    running = [(trial, candidates.submit({name: trial.params[name] for name in names})) for trial in asked]
    for trial, futures in running:
        fit = candidates.score(futures)
        means = {k: (float(v) if math.isfinite(v) else None)
                 for k, v in zip(fit.table["target"], fit.table["simulated_mean"].map(float))}
        attrs = {"means": means, "within": int(fit.table["within"].sum())}
        if not math.isfinite(fit.loss):
            attrs["error"] = fit.errors[0] if fit.errors else "a target could not be simulated"
        study.add_trial(create_trial(  # one line in the journal: a candidate is there whole or not at all
            state=TrialState.COMPLETE if math.isfinite(fit.loss) else TrialState.FAIL,
            value=fit.loss if math.isfinite(fit.loss) else None, params=trial.params,
            distributions=trial.distributions, user_attrs=attrs, system_attrs=trial.system_attrs))
        bar.update(1)


def _optuna_result(calibration: Calibration, finished: list):
    """The scored candidates as a table, the best loss by candidate, and the best candidate's values."""
    from optuna.trial import TrialState

    parameters = calibration.parameters
    complete = [(number, t) for number, t in enumerate(finished) if t.state == TrialState.COMPLETE]
    if not complete:
        errors = [t.user_attrs["error"] for t in finished if "error" in t.user_attrs]
        raise UserError(f"{display(calibration.source)}: no candidate could be scored"
                        + (f" (first error: {errors[0]})" if errors else ""))
    trials = pd.DataFrame([{"candidate": number, **{n: t.params[n] for n in parameters}, "loss": t.value,
                            "within": t.user_attrs.get("within"),
                            **{f"target.{k}": (np.nan if v is None else v) for k, v in t.user_attrs.get("means", {}).items()}}
                           for number, t in complete])
    history = pd.DataFrame({"candidate": trials["candidate"], "loss": trials["loss"],
                            "best_loss": trials["loss"].cummin()})
    best = min(complete, key=lambda item: (item[1].value, item[0]))[1]
    return trials, dict(best.params), history, None


def _propose(calibration: Calibration, before: list, start: int, refine: bool, explored: list, size: int,
             first: dict | None = None) -> list:
    """The ``size`` candidates of the batch that starts after the scored candidates ``before``
    (``first``, if given, is the batch's first candidate; any parameter it leaves out is drawn)."""
    import optuna
    from optuna.trial import TrialState

    parameters, seed = calibration.parameters, batch_seed(calibration.setup.seed, start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if refine:
            # Refine: CMA-ES follows narrow valleys that TPE's proposals keep missing. It starts
            # from the distribution of the best tenth of the explored candidates (a warm start).
            source = [t for t in explored if t.state == TrialState.COMPLETE]
            sampler = optuna.samplers.CmaEsSampler(source_trials=source if len(source) >= 10 else None, seed=seed,
                                                   warn_independent_sampling=False)
        else:
            sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True,
                                                 n_startup_trials=max(10, 2 * len(parameters)))
        memory = optuna.create_study(direction="minimize", sampler=sampler)
        memory.add_trials(before)
        if first:
            memory.enqueue_trial(first, skip_if_exists=False)
        for _ in range(size):
            trial = memory.ask()
            for name, parameter in parameters.items():
                _suggest(trial, name, parameter)
    return memory.get_trials(deepcopy=True)[len(before):]  # with what the sampler stored (CMA-ES's state)


def _suggest(trial, name: str, parameter: FreeParameter) -> float:
    low, high = parameter.range
    if parameter.integer:
        return trial.suggest_int(name, int(math.ceil(low)), int(math.floor(high)), log=parameter.log)
    return trial.suggest_float(name, low, high, log=parameter.log)


# -- ABC-SMC ------------------------------------------------------------------------------------
class _AbcModel:
    """pyabc's model: a parameter set -> the targets' means over the seeds (picklable for workers)."""

    def __init__(self, runs: Runs, seeds: list[int], parameters: dict[str, dict]) -> None:
        self.runs, self.seeds, self.parameters = runs, seeds, parameters

    def __call__(self, values) -> dict[str, float]:
        free = {name: FreeParameter.model_validate(spec) for name, spec in self.parameters.items()}
        overrides = {name: free[name].clip(values[_abc_name(i)]) for i, name in enumerate(free)}
        rows = run_tasks(self.runs, [{"overrides": overrides, "seed": seed} for seed in self.seeds])
        return {name: float(np.mean([row["outcomes"][name] for row in rows])) for name in self.runs.read.names}


class _AbcDistance:
    """The calibration loss of a candidate's target means (the published values are in the targets)."""

    def __init__(self, targets: list[dict]) -> None:
        self.targets = targets

    def __call__(self, simulated: dict, observed: dict) -> float:
        specs = [Target.model_validate(target) for target in self.targets]
        return evaluate_values(specs, [simulated]).loss


def _abc_name(index: int) -> str:
    return f"p{index}"  # pyabc keeps parameter names as SQL columns: plain names, mapped back here


def _seeded_evaluation(payload: bytes, seed: int, generation: int, job: int):
    """One of pyabc's evaluations (a proposal drawn, simulated and judged) with numpy's and Python's
    global generators, which pyabc draws from, seeded from the set-up's seed, the generation and the
    job's number: the same evaluation whatever process or worker runs it."""
    import random

    import cloudpickle

    state = np.random.SeedSequence([seed, generation + 1, job]).generate_state(2)
    np.random.seed(int(state[0]))
    random.seed(int(state[1]))
    return cloudpickle.loads(payload)()


def _seeded_sampler(pool: Executor, count: int, seed: int):
    """pyabc's sampler for ``retailsim calibrate``: evaluations on the job pool, ``count`` at a time,
    each seeded by its generation and number, and taken in their numbers' order until the population
    is full. So the search is the same in one process and on any number of workers (pyabc's own
    samplers seed each job from the operating system), and a generation counts the evaluations up
    to its last accepted one (those a larger pool ran beyond it are discarded, not counted)."""
    import cloudpickle
    from pyabc.sampler import Sampler

    class SeededSampler(Sampler):
        def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False,
                                    ana_vars=None):
            payload, sample = cloudpickle.dumps(simulate_one), self._create_empty_sample()
            running, taken, submitted = {}, 0, 0
            while sample.n_accepted < n and taken < max_eval:
                while len(running) < count:
                    running[submitted] = pool.submit(_seeded_evaluation, payload, seed, t, submitted)
                    submitted += 1
                sample.append(running.pop(taken).result())  # in the jobs' order, whichever ends first
                taken += 1
            for future in running.values():
                future.cancel()
            self.nr_evaluations_ = taken
            return sample

    return SeededSampler()


def run_abc(calibration: Calibration, candidates: Candidates, folder: Path, budget: int, population: int,
             pool: Executor, count: int, progress: bool):
    import logging
    import random

    # pyabc draws from numpy's global generator (and importing it draws from Python's), and our
    # evaluations seed Python's too (in this process with one worker): both are restored after the search.
    global_state, python_state = np.random.get_state(), random.getstate()
    import pyabc

    logging.getLogger("ABC").setLevel(logging.INFO if progress else logging.WARNING)  # pyabc's own reports

    parameters = calibration.parameters
    names = list(parameters)
    priors = {}
    for index, parameter in enumerate(parameters.values()):
        low, high = parameter.range
        priors[_abc_name(index)] = (pyabc.RV("loguniform", low, high) if parameter.log
                                    else pyabc.RV("uniform", low, high - low))
    model = _AbcModel(candidates.runs, candidates.seeds,
                      {name: p.model_dump(mode="json") for name, p in parameters.items()})
    np.random.seed(calibration.setup.seed)
    sampler = _seeded_sampler(pool, 1 if isinstance(pool, InlineExecutor) else count, calibration.setup.seed)
    sampler.show_progress = progress
    abc = pyabc.ABCSMC(model, pyabc.Distribution(**priors), _AbcDistance(candidates.runs.read.specs),
                       population_size=population, sampler=sampler)
    database = f"sqlite:///{(folder / ABC_DATABASE).resolve()}"
    observed = {t.id: t.published for t in calibration.targets}
    if (folder / ABC_DATABASE).is_file() and (latest := pyabc.History(database)).n_populations > 0:
        abc.load(database, latest.id)  # the latest run: a resumed search goes on from its newest generation
        np.random.seed(batch_seed(calibration.setup.seed, int(latest.total_nr_simulations)))  # not the first draws again
    else:
        abc.new(database, observed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=FutureWarning)  # pyabc on pandas 3
            history = abc.run(max_total_nr_simulations=budget, max_nr_populations=100)
    finally:
        np.random.set_state(global_state)
        random.setstate(python_state)
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
