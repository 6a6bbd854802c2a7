"""Which retailsim made a result: the package's version, and the model's (the package version and a hash
of the files that decide a run's numbers). Results, sweeps, calibrations and ``--reuse`` record and
compare them."""

from __future__ import annotations

import functools
import hashlib
from importlib import metadata
from pathlib import Path


def package_version() -> str:
    try:
        return metadata.version("retailsim")
    except metadata.PackageNotFoundError:
        return "unknown"


# What never decides the numbers of a run: the layers that drive runs, keep them or show them. Every
# other source file of the package (the model, the firms, the scenario schema and defaults, the run
# and its random streams, and any module added beside them) is part of the model version.
NOT_MODEL = ("calibration", "classroom", "comparison.py", "dashboard", "experiments", "export.py", "jobs",
             "outputs.py", "report", "rivals.py", "shipped", "validation.py")
MODEL_ANYWAY = ("jobs/outcomes.py",)  # how a sweep's outcome is read from a run: it decides the numbers it keeps
MODEL_SUFFIXES = (".py", ".csv", ".json", ".yaml")  # code, and the data it reads (sim/model/data/*.csv)


@functools.cache
def model_version() -> str:
    """The package version and a hash of the model's source files, e.g. ``0.4.0+3f2a9c1be0d4``.

    A checkout's package version stays the same while its code changes; the hash does not, so a
    resumed sweep or calibration never mixes runs of two different models, and a stored run is
    reused (``--reuse``) only by the model that made it. About 6 ms, once a process.
    """
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in model_files():
        digest.update(name.encode() + b"\0" + (root / name).read_bytes() + b"\0")
    return f"{package_version()}+{digest.hexdigest()[:12]}"


def model_files() -> list[str]:
    """The package's files that decide a run's numbers (their paths inside it, sorted): its code and
    the data it reads, but the layers that drive, keep or show runs."""
    root, names = Path(__file__).resolve().parent, []
    for file in sorted(path for path in root.rglob("*") if path.suffix in MODEL_SUFFIXES and path.is_file()):
        name = file.relative_to(root).as_posix()
        top = name.split("/")[0]
        if name in MODEL_ANYWAY or (top not in NOT_MODEL and not top.startswith("cli")):  # cli.py, cli_args.py, ...
            names.append(name)
    return names
