"""What-ifs not made like their baseline: read-with-care notes (and ``compare``'s warnings) for a what-if
whose differences are not its levers' alone, because it was not made from the baseline's calibration
or because its runs draw other households."""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def fitted_parameters() -> tuple[str, ...]:
    """The dotted paths of the parameters the shipped calibration fits (its ``calibrated.yaml``'s
    ``parameters``); none if the file cannot be read."""
    import yaml

    from ..shipped import CALIBRATION, folder

    try:
        data = yaml.safe_load((folder(CALIBRATION) / "calibrated.yaml").read_text(encoding="utf-8"))
        return tuple(str(path) for path in data["parameters"])
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return ()


def _at(data: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        data = data.get(key) if isinstance(data, dict) else None
    return data


def other_calibration(scenario, base) -> str:
    """Why a what-if's differences are not its levers' alone, if it differs from ``base`` in most of the
    parameters the calibration fits: it was not made from ``base`` (a file without ``extends:``, a dict
    without ``"extends"``), so every value it does not set is the schema's default, not ``base``'s
    fitted one. Empty otherwise (a what-if may change one or two fitted parameters as its levers). The
    report's note and compare's warning."""
    paths = fitted_parameters()
    ours, theirs = scenario.model_dump(mode="json"), base.model_dump(mode="json")
    unlike = [path for path in paths if _at(ours, path) != _at(theirs, path)]
    if len(unlike) * 2 <= len(paths):
        return ""
    return (f"it differs from {base.name} in {len(unlike)} of the {len(paths)} parameters the calibration fits "
            f"({', '.join(unlike[:2])}, ...): it does not start from {base.name}'s calibrated values (a what-if "
            f"of the baseline begins with extends: baseline.yaml), so its differences are mostly the calibration's, "
            "not its levers'.")


def other_households(scenario, base) -> str:
    """Why a what-if's differences are not its levers' alone, if its ``population`` (other than the
    national count) or ``geography`` differ from ``base``'s: on the same seeds its runs draw other
    households. Empty otherwise. The report's note and compare's warning."""
    unlike = scenario.household_blocks_unlike(base)
    if not unlike:
        return ""
    return (f"its {' and '.join(unlike)} differ{'s' * (len(unlike) == 1)} from {base.name}'s, so on the same seeds "
            "its runs draw other households: its differences mix its levers with a different sample of households, "
            "not the levers' effect alone.")
