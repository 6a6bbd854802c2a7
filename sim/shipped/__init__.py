"""Where the shipped scenarios, lessons, sweeps and calibration files are, installed or in a checkout.

The files live in the project's top-level ``scenarios/`` and ``calibration/`` folders, where users
edit them and ``retailsim calibrate`` rewrites ``calibrated.yaml``. A wheel installs the same files
as package data in ``sim/shipped/scenarios/`` and ``sim/shipped/calibration/`` (setup.py maps the
two folders onto data packages), side by side as in a checkout, so their relative links
(``calibration: ../calibration/calibrated.yaml``, ``extends: baseline.yaml``, a sweep's ``base:``)
resolve unchanged. In a checkout, and in an editable install of one, there is no
``sim/shipped/scenarios/`` folder and the top-level folders are the shipped files.

What a bare command means:

- a scenario argument that is not an existing file but a shipped name (``baseline``,
  ``membership_fee_war``, ``lessons/multi_homing``) is that shipped file: ``retailsim run baseline``
  works from any folder; an existing path always wins, so real files behave as before;
- ``retailsim targets`` with no arguments reads the working folder's ``scenarios/baseline.yaml`` and
  ``calibration/targets.yaml`` (a user in their project folder means their own files), and the
  shipped ones where the working folder has none;
- ``retailsim calibrate`` with no set-up uses the working folder's ``calibration/setup.yaml``; it
  never rewrites the installed files: without a project folder it needs ``--no-write``;
- ``retailsim dashboard`` with no scenario starts from the shipped baseline, and its lesson presets
  are the shipped lessons.
"""

from __future__ import annotations

import argparse
import difflib
from importlib import resources
from pathlib import Path

from ..errors import UserError

SCENARIOS = "scenarios"
CALIBRATION = "calibration"
LESSONS = "lessons"
LEVERS = "levers"
SWEEPS = "sweeps"
GAMES = "games"
BASELINE = "baseline"
SUFFIXES = (".yaml", ".yml")


class MissingShippedFiles(UserError):
    """The shipped files are not where an installed or checked-out retailsim keeps them."""


def folder(name: str) -> Path:
    """The shipped ``scenarios`` or ``calibration`` folder (a real folder on disk)."""
    installed = resources.files(__package__) / name  # sim/shipped/<name> in an installed wheel
    if installed.is_dir():
        return Path(str(installed))
    checkout = Path(__file__).resolve().parents[2] / name  # a checkout (or an editable install of it)
    if checkout.is_dir():
        return checkout
    raise MissingShippedFiles(f"retailsim's shipped {name} folder is missing (looked in {installed} and "
                              f"{checkout}); reinstall retailsim")


def baseline() -> Path:
    """The shipped baseline scenario file."""
    return folder(SCENARIOS) / f"{BASELINE}.yaml"


def lessons_folder() -> Path:
    """The folder of the dashboard's lesson presets."""
    return folder(SCENARIOS) / LESSONS


def lessons() -> dict[str, Path]:
    """The lesson presets: name (the file's stem) -> file, in name order."""
    return {path.stem: path for path in sorted(lessons_folder().glob("*.yaml"))}


def levers() -> dict[str, Path]:
    """The lever catalogue's what-ifs (``docs/levers.md``): one mechanism of the articles each."""
    return {path.stem: path for path in sorted((folder(SCENARIOS) / LEVERS).glob("*.yaml"))}


def sweeps() -> dict[str, Path]:
    """The shipped sweep files: name -> file."""
    return {path.stem: path for path in sorted((folder(SCENARIOS) / SWEEPS).glob("*.yaml"))}


def games() -> dict[str, Path]:
    """The shipped game files (``retailsim game``): name -> file."""
    return {path.stem: path for path in sorted((folder(SCENARIOS) / GAMES).glob("*.yaml"))}


def calibration_files() -> dict[str, Path]:
    """The shipped calibration set-up, targets and fitted parameters: name -> file."""
    return {path.stem: path for path in sorted(folder(CALIBRATION).glob("*.yaml"))}


def scenarios() -> dict[str, Path]:
    """Every shipped scenario by the name a command accepts: the baseline first, then the what-ifs,
    then the lessons as ``lessons/<name>`` and the lever catalogue as ``levers/<name>`` (either may
    share its stem with a what-if)."""
    what_ifs = sorted(folder(SCENARIOS).glob("*.yaml"), key=lambda path: (path.stem != BASELINE, path.stem))
    return {**{path.stem: path for path in what_ifs},
            **{f"{LESSONS}/{name}": path for name, path in lessons().items()},
            **{f"{LEVERS}/{name}": path for name, path in levers().items()}}


def project_or_shipped(relative: str) -> Path:
    """``relative`` (``scenarios/...`` or ``calibration/...``) in the working folder if it is a file
    there, as it was always read; otherwise the shipped file of that name."""
    local = Path(relative)
    if local.is_file():
        return local
    top, _, rest = relative.partition("/")
    return folder(top) / rest


def calibration_setup(write: bool) -> Path:
    """The set-up ``retailsim calibrate`` uses when none is named: the working folder's; the shipped
    one only when nothing is written (``--no-write``), since a fit rewrites ``calibrated.yaml`` next
    to its set-up and the installed files are not the user's to rewrite."""
    local = Path(CALIBRATION) / "setup.yaml"
    if local.is_file() or not write:
        return project_or_shipped(local.as_posix())
    raise UserError(f"no {local.as_posix()} in this folder: name a set-up file, run calibrate in a project folder "
                    f"(copy {folder(SCENARIOS)} and {folder(CALIBRATION)} into it), or add --no-write to fit the "
                    f"shipped set-up without saving")


def scenario_file(text: str, strict: bool = True) -> Path:
    """A scenario argument: an existing path as given (the loader refuses a folder in its own words);
    else a shipped scenario's name; else, for an argument that looks like a file (a ``.yaml`` name),
    the path as given (the loader says it is not found). Anything else is a one-line usage error
    naming the valid names (``strict``), or returned as given so that the loader reports it
    (``retailsim validate`` reports every bad file)."""
    path = Path(text)
    try:
        if path.exists():
            return path
    except OSError:  # a name too long for the file system, say: the loader names the problem
        return path
    shipped = scenarios()
    name = text.strip().removesuffix("/")
    if name in shipped:
        return shipped[name]
    if not strict or path.suffix.lower() in SUFFIXES:
        return path
    shown = repr(text) if len(text) <= 60 else repr(text[:57] + "...")
    close = difflib.get_close_matches(name, list(shipped), n=1, cutoff=0.75)
    if close:
        raise argparse.ArgumentTypeError(f"{shown} is neither a file nor a shipped scenario; did you mean "
                                         f"'{close[0]}'? (every shipped scenario: retailsim scenarios)")
    raise argparse.ArgumentTypeError(f"{shown} is neither a file nor a shipped scenario; shipped scenarios: "
                                     f"{', '.join(shipped)} (paths: retailsim scenarios)")


def any_scenario_file(text: str) -> Path:
    """:func:`scenario_file` that never refuses (for ``retailsim validate``)."""
    return scenario_file(text, strict=False)


def listing() -> list[str]:
    """The lines ``retailsim scenarios`` prints: every shipped file by name, with its path."""

    def section(title: str, table: dict[str, Path]) -> list[str]:
        width = max(len(name) for name in table)
        return [title, *(f"  {name:<{width}}  {path}" for name, path in table.items())]

    return [*section("scenarios (retailsim run NAME, compare, validate, targets, dashboard):", scenarios()),
            *section("sweeps (retailsim sweep PATH):", sweeps()),
            *(section("games (retailsim game PATH):", games()) if games() else []),
            *section("calibration (retailsim targets --targets PATH; calibrate PATH --no-write):", calibration_files())]
