"""The one game of this server process, shared by every browser session (Solara gives each session
its own page state, but a module's objects are the process's). Set by ``retailsim classroom``
before the server answers; the game's own lock guards it."""

from __future__ import annotations

import hmac

GAME = None  # the Game
TEACHER_KEY: str | None = None
STUDENTS = ""  # where students go and the join code, as printed at start


def configure(game, teacher_key: str, students: str) -> None:
    """Install the game, the teacher's key and the students' line for the pages."""
    global GAME, TEACHER_KEY, STUDENTS
    GAME, TEACHER_KEY, STUDENTS = game, teacher_key, students


def is_teacher(key: object) -> bool:
    """Whether ``key`` (from the page's address) is the teacher's."""
    return isinstance(key, str) and TEACHER_KEY is not None and hmac.compare_digest(key.encode(), TEACHER_KEY.encode())
