"""The dashboard's levers: slider specifications generated from the scenario schema.

Each lever is a dotted scenario path. Its kind (slider, switch), bounds and default come from the
schema and the loaded scenario, so nothing here declares a range or a default a second time. Where
the schema leaves a value unbounded above, or bounds it only by a sanity limit more than ten times
its default (a fee below $10,000 a year), the slider runs to twice its default.
"""

from __future__ import annotations

import math
from typing import Any

import annotated_types

from ..scenario import Scenario
from ..scenario.paths import get_path, model_at

# The main levers a teacher moves (labels are the schema's descriptions where it has one).
LEVERS = (
    "walmart.walmart_plus.fee_annual",
    "amazon.prime.fee_annual",
    "walmart.express.radius_miles",
    "walmart.dark_stores.count",
    "amazon.rural.investment_per_year_usd",
    "amazon.ai.programme.target",
    "walmart.ai.tools.target",
    "returns.fraud_share_of_returns",
    "walmart.agentic.adoption.target",
    "amazon.satellite.service.target",
)
LABELS = {
    "walmart.walmart_plus.fee_annual": "Walmart+ fee ($/yr)",
    "amazon.prime.fee_annual": "Prime fee ($/yr)",
    "walmart.express.radius_miles": "Walmart express radius (miles)",
    "walmart.dark_stores.count": "Walmart dark stores",
    "amazon.rural.investment_per_year_usd": "Amazon rural investment ($/yr)",
    "amazon.ai.programme.target": "Amazon AI automation (0-1)",
    "walmart.ai.tools.target": "Walmart AI for associates (0-1)",
    "returns.fraud_share_of_returns": "Return fraud (share of returns)",
    "walmart.agentic.adoption.target": "AI shopping agents (share)",
    "amazon.satellite.service.target": "Satellite broadband (share reached)",
}


def keyword(dotted: str) -> str:
    """A dotted path as a Python keyword (SolaraViz passes parameters by keyword)."""
    return dotted.replace(".", "__")


def dotted(keyword_name: str) -> str:
    return keyword_name.replace("__", ".")


def _bounds(dotted_path: str) -> tuple[float | None, float | None]:
    parts = tuple(dotted_path.split("."))
    field = model_at(Scenario, parts).model_fields[parts[-1]]
    low = high = None
    for rule in field.metadata:
        if isinstance(rule, (annotated_types.Ge, annotated_types.Gt)):
            low = float(getattr(rule, "ge", getattr(rule, "gt", None)))
        if isinstance(rule, (annotated_types.Le, annotated_types.Lt)):
            high = float(getattr(rule, "le", getattr(rule, "lt", None)))
    return low, high


def slider(scenario: Scenario, dotted_path: str) -> dict[str, Any]:
    """A SolaraViz user-parameter spec for one lever, from the schema and the scenario's value."""
    value = get_path(scenario, dotted_path)
    label = LABELS.get(dotted_path, dotted_path)
    if isinstance(value, bool):
        return {"type": "Checkbox", "value": value, "label": label}
    low, high = _bounds(dotted_path)
    low = 0.0 if low is None else low
    if high is None or (high > 1.0 and float(value) > 0.0 and high > 10.0 * float(value)):
        # No bound above, or only a sanity limit far above the value (a $10,000 fee): twice the value.
        high = min(max(2.0 * float(value), low + 1.0), high if high is not None else math.inf)
    if isinstance(value, int):
        return {"type": "SliderInt", "value": value, "min": int(low), "max": int(math.ceil(high)),
                "step": max(1, int((high - low) // 100)), "label": label}
    step = (high - low) / 100.0
    return {"type": "SliderFloat", "value": float(value), "min": low, "max": high, "step": step, "label": label}


def sliders(scenario: Scenario) -> dict[str, dict[str, Any]]:
    return {keyword(path): slider(scenario, path) for path in LEVERS}
