"""What marks a folder as retailsim's: its ``manifest.json``, with ``"written_by": "retailsim"`` and its
``kind`` (or, from before the marker, the keys its kind always wrote)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

WRITTEN_BY = "retailsim"
MANIFEST = "manifest.json"
# Manifest keys by which folders written before the marker existed are recognised.
LEGACY_KEYS = {"run": ("scenario_hash", "seed"), "set": ("runs",), "sweep": ("fingerprint", "sweep"),
               "calibration": ("fingerprint", "method")}


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """A folder's manifest.json as a dict, or None when it is absent or not a JSON object."""
    path = folder / MANIFEST
    try:
        if not path.is_file() or path.stat().st_size > 64 * 2**20:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def kind_of(folder: Path) -> str | None:
    """The kind of retailsim folder ``folder`` is (run, set, sweep, calibration), or None if not one."""
    manifest = read_manifest(folder)
    if manifest is None:
        return None
    if manifest.get("written_by") == WRITTEN_BY:
        return str(manifest.get("kind"))
    for kind, keys in LEGACY_KEYS.items():
        if all(key in manifest for key in keys):
            return kind
    return None
