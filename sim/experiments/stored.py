"""Runs already saved, loaded instead of run again (``retailsim run`` and ``compare``, ``--reuse FOLDER``).

A strategist compares what-if after what-if against the same baseline: every comparison ran the
baseline's replicates again, half the work. A run is a pure function of its resolved scenario, its
seed and the model's code (the same inputs give byte-identical results), so a run saved in an
earlier results folder with the same scenario hash and seed, written by the same model version
(:func:`sim.versions.model_version`), *is* the run asked for: it is loaded from its Parquet file.
Runs of another model version, or of a folder that did not record one, are run again; the folders
given are only read.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import UserError
from ..outputs import MANIFEST, kind_of
from ..results import (SET_KEY, TIMESERIES, TIMESERIES_DIGEST, Result, file_digest, read_json_object, run_folders,
                       scenario_hash)
from ..versions import model_version
from ..scenario import Scenario

# What a loaded run's manifest says of the command that made it, not of the run: the command that
# loads it records its own (``--set``, the parameter draw it stands for).
COMMAND_KEYS = (SET_KEY, "parameter_draw", "posterior_particle", "reused_from")


@dataclass
class StoredRuns:
    """The runs of some results folders, by (scenario hash, seed), that this model version made."""

    # (scenario hash, seed) -> (the run's folder, the folder given, its table's digest as written)
    runs: dict[tuple[str, int], tuple[Path, str, str]] = field(default_factory=dict)
    held: Counter = field(default_factory=Counter)  # folder -> runs it holds
    other_model: Counter = field(default_factory=Counter)  # folder -> runs of another model version
    unversioned: Counter = field(default_factory=Counter)  # folder -> runs that record no model version
    unusable: Counter = field(default_factory=Counter)  # folder -> runs not as written (damaged, edited): run again
    used: Counter = field(default_factory=Counter)  # folder -> runs loaded from it

    @classmethod
    def of(cls, folders: list[Path] | None, option: str = "--reuse") -> StoredRuns | None:
        """The runs saved in ``folders`` (results folders written by ``retailsim run`` or ``compare``),
        read before any work; a folder that is not one is one UserError line. None without folders."""
        if not folders:
            return None
        stored, version = cls(), model_version()
        for folder in folders:
            give = "give a results folder written by retailsim run or compare"
            if not Path(folder).is_dir():
                raise UserError(f"{option} {folder}: {'is not a folder' if Path(folder).exists() else 'no such folder'}"
                                f"; {give}")
            if kind_of(Path(folder)) not in ("run", "set", None):
                raise UserError(f"{option} {folder}: is retailsim's {kind_of(Path(folder))} folder, not results of run "
                                f"or compare; {give}")
            try:
                runs = run_folders(folder)
            except UserError as problem:
                raise UserError(f"{option} {problem}") from None
            for run in runs:
                stored.held[str(folder)] += 1
                stored._add(run, str(folder), version)
        return stored

    def _add(self, run: Path, folder: str, version: str) -> None:
        """Index the run in ``run`` (of the folder given as ``folder``) by its inputs, if this model made it."""
        try:
            manifest = read_json_object(run / MANIFEST, run)
            key = (str(manifest["scenario_hash"]), int(manifest["seed"]))
        except (UserError, KeyError, TypeError, ValueError):
            self.unusable[folder] += 1  # a damaged manifest: its run is not known by its inputs
            return
        if manifest.get("model_version") is None:
            self.unversioned[folder] += 1
        elif manifest["model_version"] != version:
            self.other_model[folder] += 1
        elif not isinstance(manifest.get(TIMESERIES_DIGEST), str):
            self.unusable[folder] += 1
        else:
            self.runs.setdefault(key, (run, folder, manifest[TIMESERIES_DIGEST]))

    def take(self, scenario: Scenario, seed: int) -> Result | None:
        """The saved run of ``scenario`` at ``seed``, loaded, or None if none of the folders holds it."""
        wanted = (scenario_hash(scenario), int(seed))
        found = self.runs.get(wanted)
        if found is None:
            return None
        path, folder, digest = found
        try:  # the run as written: its table's digest, and a scenario that is the one its manifest names
            if file_digest(path / TIMESERIES) != digest:
                raise UserError("its table changed since it was written")
            result = Result.load(path)
            if (scenario_hash(result.scenario), result.seed) != wanted:
                raise UserError("its manifest's scenario is not the one its hash names")
        except (UserError, OSError):
            self.unusable[folder] += 1
            del self.runs[wanted]
            return None
        self.used[folder] += 1
        manifest = {key: value for key, value in result.manifest.items() if key not in COMMAND_KEYS}
        return replace(result, manifest={**manifest, "reused_from": str(path)})

    def lines(self) -> list[str]:
        """What was reused from each folder, one line each, with the runs it could not give and why."""
        lines = []
        for folder, held in self.held.items():
            used = self.used[folder]
            why = [f"{count} made by another model version than {model_version()}" if reason == "other" else
                   f"{count} that record no model version (written before retailsim recorded it)" if reason == "old" else
                   f"{count} not as written (damaged or edited since; run again)"
                   for reason, count in (("other", self.other_model[folder]), ("old", self.unversioned[folder]),
                                         ("bad", self.unusable[folder])) if count]
            if not used and not why:
                why = ["none of its runs has these scenarios, as resolved, and seeds"]
            lines.append(f"reused {used} saved run{'s' * (used != 1)} of {folder} (of its {held}"
                         + (f": {'; '.join(why)}" if why else "") + ")")
        return lines
