"""The resumable run store: one small JSON file per finished run, keyed by parameters and seed.

Each file is written to a temporary name and renamed into place, so a killed sweep leaves only
whole records; running the same sweep again skips every key already stored. Records are strict
JSON (an outcome that could not be measured is ``null``). A record that cannot be read (a disk
that filled up, a file edited by hand) is set aside and its run is run again, with a warning.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any


def run_key(base_hash: str, overrides: dict[str, Any], seed: int) -> str:
    """A stable key for one run: the base scenario, the point's values and the seed."""
    content = json.dumps({"base": base_hash, "overrides": overrides, "seed": seed}, sort_keys=True, default=str)
    return hashlib.sha256(content.encode("utf-8")).hexdigest()[:32]


def _number(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


class RunStore:
    """Finished runs of a sweep, one JSON record each, under ``folder``."""

    DAMAGED = "damaged"  # sub-folder where unreadable records are kept, for a look

    def __init__(self, folder: Path, read_only: bool = False) -> None:
        self.folder = folder
        self.read_only = read_only  # another job's store, read from (``sweep --reuse``): never changed
        self.damaged: list[str] = []  # one line each: records set aside since this store was opened
        if not read_only:
            folder.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def put(self, record: dict[str, Any]) -> None:
        path = self._path(record["key"])
        temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        record = {**record, "outcomes": {name: _number(v) for name, v in record["outcomes"].items()}}
        temporary.write_text(json.dumps(record, sort_keys=True, allow_nan=False, default=float), encoding="utf-8")
        os.replace(temporary, path)

    def get(self, key: str, outcomes: list[str] | None = None) -> dict[str, Any] | None:
        """The record of ``key`` (outcomes as floats, NaN where unmeasured), or None if there is
        none or it is damaged (then it is set aside and noted in :attr:`damaged`, unless the store is
        read only)."""
        path = self._path(key)
        if not path.is_file():
            return None
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(record, dict) or record.get("key") != key or not isinstance(record.get("outcomes"), dict):
                raise ValueError("not a run record")
            if outcomes is not None and set(outcomes) - set(record["outcomes"]):
                raise ValueError("outcomes missing")
            record["outcomes"] = {name: float("nan") if v is None else float(v) for name, v in record["outcomes"].items()}
            record.setdefault("error", None)
            if record["error"] is not None and not isinstance(record["error"], str):
                raise ValueError("bad error field")
        except (OSError, UnicodeDecodeError, ValueError, TypeError) as error:
            if not self.read_only:
                self._set_aside(path, error)
            return None
        return record

    def _set_aside(self, path: Path, error: Exception) -> None:
        kept = self.folder / self.DAMAGED
        kept.mkdir(exist_ok=True)
        os.replace(path, kept / path.name)
        reason = str(error).splitlines()[0][:60] if str(error) else type(error).__name__
        self.damaged.append(f"{path} could not be read ({reason}); its run is run again (the file is kept in "
                            f"{kept})")

    def finished(self, keys: set[str] | None = None, outcomes: list[str] | None = None) -> set[str]:
        """Keys of runs that finished without error (failed and damaged runs are run again),
        among ``keys`` if given."""
        done = set()
        for path in self.folder.glob("*.json"):
            if keys is not None and path.stem not in keys:
                continue
            record = self.get(path.stem, outcomes)
            if record is not None and record["error"] is None:
                done.add(path.stem)
        return done
