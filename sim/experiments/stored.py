"""Runs already saved, loaded instead of run again (``retailsim run`` and ``compare``, ``--reuse FOLDER``).

A strategist compares what-if after what-if against the same baseline: every comparison ran the
baseline's replicates again, half the work. A run is a pure function of its resolved scenario, its
seed and the model's code (the same inputs give byte-identical results), so a run saved in an
earlier results folder with the same scenario hash and seed, written by the same model version
(:func:`sim.results.model_version`), *is* the run asked for: it is loaded from its Parquet file.
Runs of another model version, or of a folder that did not record one, are run again; the folders
given are only read.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import UserError
from ..outputs import MANIFEST
from ..results import SET_KEY, Result, model_version, read_json_object, run_folders, scenario_hash
from ..scenario import Scenario

# What a loaded run's manifest says of the command that made it, not of the run: the command that
# loads it records its own (``--set``, the parameter draw it stands for).
COMMAND_KEYS = (SET_KEY, "parameter_draw", "posterior_particle", "reused_from")


@dataclass
class StoredRuns:
    """The runs of some results folders, by (scenario hash, seed), that this model version made."""

    runs: dict[tuple[str, int], tuple[Path, str]] = field(default_factory=dict)  # -> (its folder, the folder given)
    held: Counter = field(default_factory=Counter)  # folder -> runs it holds
    other_model: Counter = field(default_factory=Counter)  # folder -> runs of another (or no recorded) model version
    used: Counter = field(default_factory=Counter)  # folder -> runs loaded from it

    @classmethod
    def of(cls, folders: list[Path] | None, option: str = "--reuse") -> StoredRuns | None:
        """The runs saved in ``folders`` (results folders written by ``retailsim run`` or ``compare``),
        read before any work; a folder that is not one is one UserError line. None without folders."""
        if not folders:
            return None
        stored, version = cls(), model_version()
        for folder in folders:
            if not Path(folder).is_dir():
                raise UserError(f"{option} {folder}: {'is not a folder' if Path(folder).exists() else 'no such folder'}"
                                "; give a results folder written by retailsim run or compare")
            for run in run_folders(folder):
                manifest = read_json_object(run / MANIFEST, run)
                stored.held[str(folder)] += 1
                if manifest.get("model_version") != version:
                    stored.other_model[str(folder)] += 1
                    continue
                try:
                    key = (str(manifest["scenario_hash"]), int(manifest["seed"]))
                except (KeyError, TypeError, ValueError):
                    continue  # an old or damaged manifest: its run is not known by its inputs
                stored.runs.setdefault(key, (run, str(folder)))
        return stored

    def take(self, scenario: Scenario, seed: int) -> Result | None:
        """The saved run of ``scenario`` at ``seed``, loaded, or None if none of the folders holds it."""
        found = self.runs.get((scenario_hash(scenario), int(seed)))
        if found is None:
            return None
        path, folder = found
        result = Result.load(path)
        self.used[folder] += 1
        manifest = {key: value for key, value in result.manifest.items() if key not in COMMAND_KEYS}
        return replace(result, manifest={**manifest, "reused_from": str(path)})

    def lines(self) -> list[str]:
        """What was reused from each folder, one line each (and why nothing was, where nothing was)."""
        lines = []
        for folder, held in self.held.items():
            used, other = self.used[folder], self.other_model[folder]
            line = f"reused {used} saved run{'s' * (used != 1)} of {folder}"
            if not used:
                line += (f" (its {other} run{'s were' if other != 1 else ' was'} made by another model version than "
                         f"{model_version()})" if other == held else
                         " (none of its runs has these scenarios, as resolved, and seeds)")
            lines.append(line)
        return lines
