"""Output folders: retailsim replaces only what it wrote itself, and a kill never loses both versions.

Every folder retailsim writes carries a ``manifest.json`` with ``"written_by": "retailsim"`` and its
``kind``. Before any work (and again before the swap) a command checks its output folder with
:func:`prepare_output`: absent, empty, or retailsim's own of the right kind; anything else is refused.

A results folder is built in a hidden staging sibling and swapped into place (:mod:`sim.swap`); a
kill at any moment leaves either the earlier folder or the new one whole, and
:func:`sim.leftovers.recover` (run by :func:`prepare_output`) restores a parked folder and removes the
leftovers of killed writes on the next start.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple

from .bounds import PLAIN_NAME_PATTERN
from .errors import UserError
from .leftovers import recover, without_stale_files
from .manifests import MANIFEST, WRITTEN_BY, kind_of, read_manifest

RUNS = "runs"  # a results folder's tree of run folders (sim/results.py)
# A plain name: what scenario, sweep and set-up names must be, as they become folder names.
PLAIN_NAME = re.compile(PLAIN_NAME_PATTERN)
MAX_FOLDER_NAME = 200  # bytes; staging siblings add about 30 to a name, and file systems allow 255
MAX_NAME, MAX_PATH = 255, 4000  # bytes: a name, and a whole path (Linux takes 4,096 with the ending zero)
MAX_STAGED_NAME = MAX_NAME - 24  # a name the staging's sibling (".NAME.tmp-PID-XXXXXXXX") still fits


def mark(manifest: dict[str, Any], kind: str) -> dict[str, Any]:
    """The manifest with retailsim's ownership marker, so a later command may replace its folder."""
    return {"written_by": WRITTEN_BY, "kind": kind, **{k: v for k, v in manifest.items() if k not in ("written_by", "kind")}}


def unreadable_manifest(folder: Path, what: str) -> str:
    """Why ``folder`` is not the retailsim folder a command wants: its manifest is damaged, or there is
    no retailsim manifest (``what``: the manifest the command looks for, e.g. "of a sweep")."""
    if (folder / MANIFEST).exists() and read_manifest(folder) is None:
        return f"its {MANIFEST} is damaged (not a readable JSON object)"
    return f"no retailsim {MANIFEST}{' ' + what if what else ''}"


def refuse_inside_ours(path: Path, option: str) -> None:
    """One line if ``path`` (links followed; it need not exist) lies inside a retailsim folder."""
    for ancestor in Path(os.path.realpath(path)).parents:
        if (kind := kind_of(ancestor)) is not None:
            what = {"run": "results", "set": "results (a comparison or replicates)"}.get(kind, kind)
            raise UserError(f"{option} {path}: lies inside {ancestor}, retailsim's {what} folder, which holds only "
                            f"what retailsim writes there; choose a place outside it")


def _writable_parent(folder: Path, option: str) -> None:
    """The nearest existing ancestor of ``folder`` is a folder this user can write into."""
    parent = folder.absolute().parent
    while not parent.exists():
        if parent.is_symlink():
            raise UserError(f"{option} {folder}: {parent} is a broken symbolic link")
        parent = parent.parent
    if not parent.is_dir():
        raise UserError(f"{option} {folder}: {parent} is a file, not a folder")
    refuse_inside_ours(folder, option)
    if problem := unwritable(parent):
        raise UserError(f"{option} {folder}: cannot create a folder in {parent} ({problem}); choose another {option}")


def check_lengths(path: Path, option: str = "--out", most: int = MAX_FOLDER_NAME) -> None:
    """One UserError if a name in ``path`` is longer than the system takes (255 bytes; the last, which
    staging lengthens, ``most``: :data:`MAX_FOLDER_NAME` for a name the user gives), or the whole path is
    (before anything looks at it: the system's answer is a traceback)."""
    names = [os.fsencode(part) for part in path.absolute().parts]
    if len(names[-1]) > most:
        raise UserError(f"{option}: the name {_shortened(path.name)} is {len(names[-1])} bytes long; use at most "
                        f"{most}")
    if long := next((part for part, name in zip(path.absolute().parts, names) if len(name) > MAX_NAME), None):
        raise UserError(f"{option}: the folder {_shortened(long)} in its path is {len(os.fsencode(long))} bytes long; "
                        f"the system takes at most {MAX_NAME}")
    if len(os.fsencode(path.absolute())) > MAX_PATH:
        raise UserError(f"{option}: the path is {len(os.fsencode(path.absolute())):,} bytes long; the system takes at "
                        f"most {MAX_PATH:,}")


def _shortened(name: str) -> str:
    return f"'{name[:24]}...{name[-8:]}'"


def unwritable(folder: Path) -> str | None:
    """Why nothing can be created in ``folder`` (the system's words), or None if something can: a real
    probe, which permissions, immutable folders, read-only and virtual file systems (/proc) all answer."""
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".retailsim-probe-", dir=folder))
    except OSError as error:
        return error.strerror or str(error)
    return None


def prepare_output(folder: Path, kinds: Iterable[str], option: str = "--out",
                   contents: Iterable[str] | None = None, also: Callable[[], None] | None = None,
                   most: int = MAX_FOLDER_NAME) -> str | None:
    """Check, before any work, that retailsim may write ``folder``; one-line UserError if not.

    ``folder`` may be absent, an empty folder, or a retailsim folder whose kind is in ``kinds``
    (and, if ``contents`` is given, holding nothing but those names); ``also``, a command's own check
    of it, raises UserError if not (run now, and again before the swap). Leftovers of killed writes
    next to it are cleaned up first. Returns the kind of the folder that will be replaced or
    resumed, "empty", or None for a new folder. ``most``: the longest name it takes (:func:`check_lengths`).
    """
    folder = Path(folder)
    kinds = tuple(kinds)
    try:  # the results' files (Parquet's among them) are named in UTF-8
        str(folder.absolute()).encode("utf-8")
    except UnicodeEncodeError:
        shown = str(folder).encode("utf-8", "backslashreplace").decode("utf-8")
        raise UserError(f"{option} {shown}: the path is not UTF-8 text; give a folder whose name is") from None
    if folder.name in ("", ".", ".."):
        raise UserError(f"{option} {folder}: not a plain folder name; give a folder to create, e.g. {option} reports/mine")
    check_lengths(folder, option, most)
    recover(folder)
    kind = may_write(folder, kinds, option, contents)
    if also is not None:
        also()
    earlier = CHECKED.get(folder.absolute()) if ONE_COMMAND else None  # a command checks at its start and as
    found = earlier.found if earlier else kind  # it saves: the first look is what it may replace
    CHECKED[folder.absolute()] = Checked(kinds, option, None if contents is None else tuple(contents), also, found)
    return kind


class Checked(NamedTuple):
    """What :func:`prepare_output` checked of a folder, to check again when the results are ready to
    replace it: a command can run for hours, and something may write there meanwhile (another
    retailsim command too)."""

    kinds: tuple[str, ...]
    option: str
    contents: tuple[str, ...] | None
    also: Callable[[], None] | None  # the command's own check of it
    found: str | None  # what the command's first look found there (None: nothing)

    def again(self, folder: Path) -> None:
        """The same checks (the swap holds its lock); one UserError if ``folder`` may no longer be replaced."""
        now = may_write(folder, self.kinds, self.option, self.contents)
        if self.found in (None, "empty") and now not in (None, "empty"):  # not to replace what it never saw
            raise UserError(f"{self.option} {folder}: another command wrote its {now} results there")
        if self.also is not None:
            self.also()


# Each folder prepare_output checked, until its results are swapped in.
CHECKED: dict[Path, Checked] = {}
# True while ``retailsim`` runs one command (sim.cli.main): its checks of a folder are one command's. From
# Python, each call stands alone, so an earlier call that failed leaves nothing a later one inherits.
ONE_COMMAND = False


def may_write(folder: Path, kinds: tuple[str, ...], option: str, contents: Iterable[str] | None) -> str | None:
    """:func:`prepare_output`'s checks of the folder itself (not its name, nor leftovers next to it)."""
    if folder.is_symlink():
        raise UserError(f"{option} {folder}: is a symbolic link; retailsim replaces only folders it wrote itself, "
                        "give the folder's own path or a new one")
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{option} {folder}: is a file, not a results folder; choose another {option}")
    if os.path.ismount(folder):  # a folder is replaced whole, by renaming: a mount point cannot be
        raise UserError(f"{option} {folder}: is a mount point, which retailsim cannot replace; give a folder in it")
    _writable_parent(folder, option)
    if not folder.exists():
        return None
    try:
        entries = sorted(entry.name for entry in os.scandir(folder))
    except OSError as error:
        raise UserError(f"{option} {folder}: cannot read the folder ({error.strerror})") from None
    if not entries:
        return "empty"
    kind = kind_of(folder)
    if kind is None and (folder / MANIFEST).exists() and read_manifest(folder) is None:
        raise UserError(f"{option} {folder}: its {MANIFEST} is damaged (not a readable JSON object), so retailsim "
                        f"cannot tell whether it wrote the folder; it is left as it is: choose a new {option}")
    if kind is None:
        raise UserError(f"{option} {folder}: exists and was not written by retailsim (it has no retailsim "
                        f"manifest.json); retailsim replaces only its own folders: choose a new {option}")
    if kind not in kinds:
        raise UserError(f"{option} {folder}: holds retailsim's {kind} results, which this command does not replace; "
                        f"choose a new {option}")
    if contents is not None:
        names = set(contents)
        entries = without_stale_files(folder, entries, names)
        allowed = recorded(folder, names)
        foreign = [name for name in entries if name not in allowed] + _not_as_written(folder, entries, allowed)
        if RUNS in entries and RUNS in allowed:
            foreign += _foreign_runs(folder, names)
        refuse_foreign(folder, foreign, option)
    return kind


def _not_as_written(folder: Path, entries: list[str], allowed: set[str]) -> list[str]:
    """Entries under one of retailsim's names that are not what it writes there: a folder or a link where
    it writes a file (it writes only ``runs`` as a folder), named as what they are."""
    found = []
    for name in entries:
        path = folder / name
        if name not in allowed or (path.is_dir() if name == RUNS else path.is_file()) and not path.is_symlink():
            continue
        found.append(f"{name} ({'a symbolic link' if path.is_symlink() else 'a folder' if path.is_dir() else 'not a file'})")
    return found


# Names that a folder from before manifests recorded their files may hold without saying whether
# retailsim wrote them: compare --rivals-answer wrote answers.csv from 30 Nov 2026, but such a folder's
# manifest does not say it was run so, so its answers.csv is kept (refused), as it was then.
NEWER_NAMES = {"answers.csv"}


def recorded(folder: Path, contents: set[str]) -> set[str]:
    """The names among ``contents`` that retailsim may replace in ``folder``: those its manifest records
    having written there (``files``), or, in a folder written before manifests recorded their files,
    those that retailsim wrote then. A file a user put in the folder under one of retailsim's names is
    not one of them."""
    files = recorded_files(folder)
    return contents - NEWER_NAMES if files is None else contents & {*files, MANIFEST}


def recorded_files(folder: Path) -> set[str] | None:
    """The files ``folder``'s manifest records retailsim wrote there, or None for a folder written
    before manifests recorded them (or with no readable manifest)."""
    files = (read_manifest(folder) or {}).get("files")
    return set(files) if isinstance(files, list) and all(isinstance(name, str) for name in files) else None


def _foreign_runs(folder: Path, contents: set[str]) -> list[str]:
    """What the ``runs`` tree of a results folder holds that retailsim did not write (paths from
    ``folder``): it writes only run folders (a retailsim manifest and result files, nothing else)
    and the folders above them (nothing but folders); a symbolic link is never its own."""
    root = folder / RUNS
    if root.is_symlink():
        return [RUNS]
    if not root.is_dir():
        return []
    foreign = []
    for path, folders, files in os.walk(root):
        here = Path(path)
        is_run = kind_of(here) is not None
        for name in sorted(folders):
            if (here / name).is_symlink() or is_run:
                foreign.append((here / name).relative_to(folder).as_posix())
        folders[:] = [name for name in folders if not (here / name).is_symlink() and not is_run]
        kept = without_stale_files(here, sorted(files), contents) if is_run else sorted(files)
        ours = recorded(here, contents) if is_run else set()
        foreign += [(here / name).relative_to(folder).as_posix() for name in kept
                    if name not in ours or (here / name).is_symlink()]
        if not is_run and not folders and not files:
            foreign.append(here.relative_to(folder).as_posix() + "/")  # an empty folder: not one of ours
    return foreign


def refuse_foreign(folder: Path, foreign: list[str], option: str = "--out") -> None:
    """One UserError line naming the entries of ``folder`` that retailsim did not write (if any)."""
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise UserError(f"{option} {folder}: holds {shown}, which retailsim did not write; move "
                        f"{'it' if len(foreign) == 1 else 'them'} out or choose a new {option}")
