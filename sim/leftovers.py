"""The leftovers of killed writes, and their clean-up: only what carries retailsim's marks is touched.

A write is staged in a hidden sibling of its folder (``.NAME.tmp-PID-XXXXXXXX``, holding
:data:`STAGING_MARK`), and an earlier folder it replaces is parked beside it (``.NAME.old-PID``) until
the swap is done (:mod:`sim.swap`); a file is written as ``.NAME.tmp-PID`` and renamed. A kill can
leave any of these. :func:`recover` (which :func:`sim.outputs.prepare_output` runs before any work)
puts a parked folder back or removes it, and removes a dead process's staging;
:func:`remove_stale_files` removes a dead process's temporary files. :func:`discard` removes a folder
so that a kill at any moment leaves it recognisably ours.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .manifests import kind_of

STAGING_MARK = ".retailsim-staging"  # inside every staging folder, so only ours are ever cleaned up


_STALE_FILE = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<pid>\d+)$")


def remove_stale_files(folder: Path, names: set[str]) -> None:
    """Remove the temporary files (``.NAME.tmp-PID``) that killed writes of ``names`` left in ``folder``."""
    if folder.is_dir():
        without_stale_files(folder, sorted(os.listdir(folder)), names)


def without_stale_files(folder: Path, entries: list[str], contents: set[str]) -> list[str]:
    """Remove the temporary files a killed write left inside ``folder`` (``.report.html.tmp-PID``
    of one of ``contents``, from a dead process); the other entries."""
    kept = []
    for name in entries:
        found = _STALE_FILE.match(name)
        path = folder / name
        if found and found["name"] in contents and path.is_file() and not _alive(int(found["pid"])):
            path.unlink(missing_ok=True)
        else:
            kept.append(name)
    return kept


_LEFTOVER = r"^\.{name}\.(?:tmp-(?P<tmp>\d+)-[0-9a-f]{{8}}|old-(?P<old>\d+))$"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # this process too; another user's answers PermissionError: alive
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _ours(path: Path) -> bool:
    return (path / STAGING_MARK).is_file() or kind_of(path) is not None


def discard(path: Path) -> None:
    """Remove a folder of ours (staging, or earlier results once replaced) so that a kill at any moment
    leaves it recognisably ours for :func:`recover`: the staging mark goes in first and out last (a plain
    ``rmtree`` could remove the manifest first). A kill between the last two calls leaves an empty folder."""
    with contextlib.suppress(OSError):
        (path / STAGING_MARK).touch()
    with contextlib.suppress(OSError):
        for entry in os.scandir(path):
            if entry.name == STAGING_MARK:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
    shutil.rmtree(path, ignore_errors=True)


def recover(target: Path) -> list[str]:
    """Clean up after killed writes next to ``target``; returns what was done, one line each.

    A parked earlier folder (``.NAME.old-PID`` of a dead process) goes back in place if nothing
    replaced it, and is removed if something did; a staging folder of a dead process is removed.
    Only folders that carry retailsim's marks are touched.
    """
    parent = target.absolute().parent
    if not target.name or not parent.is_dir():
        return []
    pattern = re.compile(_LEFTOVER.format(name=re.escape(target.name)))
    done = []
    try:
        siblings = [entry for entry in os.scandir(parent) if entry.name.startswith(f".{target.name}.")]
    except OSError:
        return []
    with locked(parent):
        for entry in siblings:
            found = pattern.match(entry.name)
            path = Path(entry.path)
            if not found or not entry.is_dir(follow_symlinks=False) or _alive(int(found["tmp"] or found["old"])):
                continue
            if not _ours(path):
                continue
            if found["old"] and not target.exists():
                os.replace(path, target)
                done.append(f"restored {target} from an interrupted write")
            else:
                discard(path)
                done.append(f"removed {path.name}, left by an interrupted write")
    return done


@contextmanager
def locked(parent: Path) -> Iterator[None]:
    """Hold an exclusive lock on the parent folder, so two commands never swap the same folder at once."""
    try:
        descriptor = os.open(parent, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)
