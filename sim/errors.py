"""Errors a user can cause and fix: printed as one line by the command line, never a traceback."""


COMMAND_LINE = "--set"  # the source that errors name for a value given with --set


class UserError(Exception):
    """A problem in the user's input: the message names the file, the place and what is valid."""

    exit_code = 2


class Interrupted(UserError):
    """The user stopped a long job (Ctrl-C); the message says what was kept."""

    exit_code = 130


class ScenarioError(UserError):
    """A scenario file (or a ``--set`` override) that cannot be used, with where and why."""

    def __init__(self, source: str, place: str, message: str, line: int | None = None) -> None:
        self.source, self.place, self.message, self.line = source, place, message, line
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {place}: {message}" if place else f"{where}: {message}")
