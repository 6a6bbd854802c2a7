"""The resumable run store: one small JSON file per finished run, keyed by parameters and seed.

Each file is written to a temporary name and renamed into place, so a killed sweep leaves only
whole records; running the same sweep again skips every key already stored.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any


def run_key(base_hash: str, overrides: dict[str, Any], seed: int) -> str:
    """A stable key for one run: the base scenario, the point's values and the seed."""
    content = json.dumps({"base": base_hash, "overrides": overrides, "seed": seed}, sort_keys=True, default=str)
    return hashlib.sha256(content.encode("utf-8")).hexdigest()[:32]


class RunStore:
    """Finished runs of a sweep, one JSON record each, under ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def put(self, record: dict[str, Any]) -> None:
        path = self._path(record["key"])
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(record, sort_keys=True, default=float), encoding="utf-8")
        os.replace(temporary, path)

    def get(self, key: str) -> dict[str, Any] | None:
        path = self._path(key)
        if not path.is_file():
            return None
        return json.loads(path.read_text(encoding="utf-8"))

    def finished(self) -> set[str]:
        """Keys of runs that finished without error (failed runs are tried again)."""
        keys = set()
        for path in self.folder.glob("*.json"):
            if json.loads(path.read_text(encoding="utf-8")).get("error") is None:
                keys.add(path.stem)
        return keys
