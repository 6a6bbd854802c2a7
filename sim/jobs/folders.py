"""Working folders of sweeps and calibrations: claimed before any work, resumed only by the same job.

A job is known by its fingerprint (:func:`fingerprint`: a hash of what decides its numbers, the
:func:`model_version` included) and ends with a ``complete`` manifest (:func:`complete`).

A sweep or calibration folder is built up over several sessions (its run store, its study), so it
is never swapped into place whole like a results folder. Instead :func:`claim` checks it before any
work, with :func:`sim.outputs.prepare_output`: a new or empty folder gets its ``running`` manifest
(atomically, through a staging sibling, so a kill leaves either no folder or one with a whole
manifest); an existing one is resumed only when its manifest names the same job (fingerprint) and
the same model version. Anything else is one line and the folder is left as it was.

While a command works in a folder it holds an exclusive ``flock`` on it (:func:`hold`), which the
kernel releases when the process ends however it ends, so a second command into the same folder is
refused and leftovers of a killed one (temporary files) can be removed safely.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..outputs import MANIFEST, check_lengths, mark, prepare_output, read_manifest, refuse_foreign
from ..swap import staging
from ..results import replace_atomically, write_json
from ..versions import model_version, package_version

TEMPORARY = re.compile(r"^\..+\.tmp-(\d+)$")  # written by replace_atomically (and the run store)


def fingerprint(content: dict[str, Any]) -> str:
    """Hash of what decides a job's numbers (``content``, plain JSON), the model version included."""
    content = {**content, "model_version": model_version()}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def claim(folder: Path, kind: str, identity: dict[str, Any], contents: Iterable[str], changed: str,
          option: str = "--out") -> dict[str, Any] | None:
    """Check ``folder`` for a ``kind`` job with ``identity`` (fingerprint and such); start or resume it.

    Returns the manifest of the job being resumed, or None for a new one (whose ``running``
    manifest is then in place). ``contents`` are the names the job writes (others are foreign);
    ``changed`` says what differs when the fingerprint does not match. Every refusal is one line.
    """
    folder = Path(folder)
    check_lengths(folder, option)
    if (folder / MANIFEST).exists() and read_manifest(folder) is None:
        raise UserError(f"{option} {folder}: its {MANIFEST} is damaged (truncated or not a JSON object), so it "
                        f"cannot be resumed; move the folder aside or choose a new {option}")
    found = prepare_output(folder, (kind,), option)
    if found in (None, "empty"):
        manifest = mark({**identity, "model_version": model_version(), "status": "running"}, kind)
        with staging(folder, keep=False) as temporary:  # a claim: if another began there meanwhile, it is theirs
            write_json(temporary / MANIFEST, manifest)
        return None
    manifest = read_manifest(folder) or {}
    allowed = set(contents) | {MANIFEST}
    refuse_foreign(folder, sorted(name for name in os.listdir(folder)
                                  if name not in allowed and not TEMPORARY.match(name)), option)
    if (started := other_model(manifest)) is not None:
        raise UserError(f"{option} {folder}: was started with {started}, and this is {model_version()}; runs of two "
                        f"model versions are never mixed: choose a new {option}, or delete {folder} to start over")
    if any(manifest.get(key) != identity.get(key) for key in ("fingerprint", "method", "start")):
        raise UserError(f"{option} {folder}: holds {changed}; choose a new {option}, or delete {folder} to start over")
    return manifest


def other_model(manifest: dict[str, Any]) -> str | None:
    """Which model made a job folder (its ``manifest``), when it is not this model version: None if it is."""
    version = manifest.get("model_version")
    if version == model_version():
        return None
    return f"model version {version}" if version else "an older retailsim that did not record its model version"


def complete(folder: Path, manifest: dict[str, Any], kind: str) -> None:
    """Mark the job in ``folder`` complete: its final ``manifest`` with the status and versions,
    replacing the ``running`` one atomically (a kill leaves the old one or the new one). Written
    last: until it says complete, the folder is resumable."""
    manifest = {**manifest, "status": "complete", "package_version": package_version(),
                "model_version": model_version()}
    replace_atomically(folder / MANIFEST, lambda path: write_json(path, mark(manifest, kind)))


@contextmanager
def hold(folder: Path, option: str = "--out") -> Iterator[None]:
    """Work in ``folder`` alone: an exclusive lock for the block, then remove dead commands' temporaries."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"{option} {folder}: another retailsim command is working in this folder; wait for it "
                            "to finish, or choose a new " + option) from None
        remove_temporaries(folder)
        yield
    finally:
        os.close(descriptor)


def remove_temporaries(folder: Path) -> list[Path]:
    """Temporary files of killed writes (``.NAME.tmp-PID``) in ``folder`` and one level below."""
    removed = []
    for path in [*folder.glob(".*.tmp-*"), *folder.glob("*/.*.tmp-*")]:
        found = TEMPORARY.match(path.name)
        if found and int(found[1]) != os.getpid() and path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def warn(lines: list[str], most: int = 3) -> None:
    """Warnings on stderr, one line each (at most ``most``, then how many more)."""
    for line in lines[:most]:
        print(f"retailsim: warning: {line}", file=sys.stderr)
    if len(lines) > most:
        print(f"retailsim: warning: ... and {len(lines) - most} more like it", file=sys.stderr)
