"""Swapping a finished results folder into place (the second half of :mod:`sim.outputs`' promise).

A results folder is built in a hidden staging sibling (``.NAME.tmp-PID-XXXXXXXX``) and swapped into
place by :class:`staging`: with Linux's atomic ``renameat2(RENAME_EXCHANGE)`` where the file system
has it, otherwise by two renames, the earlier folder parked as ``.NAME.old-PID``. At every instant
of a ``kill -9`` either the earlier folder is intact (in place, or parked) or the new one is
complete in place; :func:`sim.leftovers.recover` restores a parked folder and removes the leftovers of
killed writes on the next start. If the swap itself is refused (the folder's ownership changed while
retailsim worked, or the system will not rename it: an immutable folder, another user's in a sticky
folder), the new results are kept beside it under a visible name (``NAME.new-PID-XXXX``), which no
later command removes, and one line says so.
"""

from __future__ import annotations

import ctypes
import errno
import os
import uuid
from pathlib import Path

from .errors import UserError
from .leftovers import STAGING_MARK, discard, locked
from .outputs import CHECKED

_RENAME_EXCHANGE, _AT_FDCWD = 2, -100


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically (Linux renameat2); False where the system or file system cannot."""
    try:  # the C library already loaded (no ldconfig subprocess)
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(second))


def swap_into_place(temporary: Path, target: Path, keep: bool = True) -> None:
    """Put the finished folder ``temporary`` at ``target``, replacing an earlier one atomically (``keep``:
    whether ``temporary`` is kept beside ``target`` when ``target`` changed meanwhile)."""
    with locked(target.absolute().parent):
        (temporary / STAGING_MARK).unlink(missing_ok=True)
        _still_ours(temporary, target, keep)
        try:
            if not target.exists():
                os.rename(temporary, target)
                return
            if _exchange(temporary, target):
                discard(temporary)  # now the earlier folder
                return
            parked = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.rename(target, parked)
        except OSError as error:  # nothing moved: the earlier folder is in place
            kept = keep_beside(temporary, target)
            raise UserError(f"--out {target}: the system refused to replace it ({error.strerror}); it is left as it "
                            f"was, and the new results are in {kept}") from None
        os.rename(temporary, target)
        discard(parked)


def keep_beside(finished: Path, target: Path) -> Path:
    """``finished`` renamed to a visible sibling of ``target`` (no later command removes it):
    ``NAME.new-PID-XXXX`` (a file's before its suffix: ``book.new-PID-XXXX.xlsx``)."""
    suffix = target.suffix if finished.is_file() else ""  # a file keeps its type: book.new-PID-XXXX.xlsx
    kept = target.with_name(f"{target.name.removesuffix(suffix)}.new-{os.getpid()}-{uuid.uuid4().hex[:4]}{suffix}")
    os.rename(finished, kept)
    return kept


def _still_ours(finished: Path, target: Path, keep: bool = True) -> None:
    """Check ``target`` again as :func:`prepare_output` did (under the swap's lock): if something that
    retailsim did not write appeared there while it worked, ``target`` is left as it is and the
    ``finished`` folder is kept beside it, named in one line."""
    checked = CHECKED.pop(target.absolute(), None)
    try:
        if checked is not None:
            checked.again(target)
    except UserError as error:
        if not keep:  # a job's claim (its manifest alone): nothing worth keeping
            discard(finished)
            raise UserError(f"{error} (another command began there at the same time; run the same command again "
                            "to resume it)") from None
        kept = keep_beside(finished, target)
        raise UserError(f"{error} (it changed while retailsim worked; the new results are in {kept})") from None


class staging:
    """A hidden sibling folder to write into; it replaces ``target`` only if the block finishes.

    ``target`` must have been checked with :func:`prepare_output` first.
    """

    def __init__(self, target: Path, keep: bool = True) -> None:
        self.target, self.keep = Path(target), keep

    def __enter__(self) -> Path:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        # mkdir (unlike mkdtemp) honours the umask, so the folder gets the user's usual permissions.
        self.temporary = self.target.with_name(f".{self.target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        self.temporary.mkdir()
        (self.temporary / STAGING_MARK).touch()
        return self.temporary

    def __exit__(self, kind, value, traceback) -> None:
        if kind is not None:
            discard(self.temporary)
            CHECKED.pop(self.target.absolute(), None)  # a later command here looks afresh
            return
        swap_into_place(self.temporary, self.target, self.keep)
