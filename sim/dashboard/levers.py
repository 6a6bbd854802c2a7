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

# The main levers a teacher moves: dotted path -> (label, unit). The unit sets how the value is
# shown beside its label and the slider's step; bounds and defaults come from the schema.
LEVER_TABLE = {
    "walmart.walmart_plus.fee_annual": ("Walmart+ fee", "usd_per_year"),
    "amazon.prime.fee_annual": ("Prime fee", "usd_per_year"),
    "walmart.express.radius_miles": ("Walmart express radius", "miles"),
    "walmart.dark_stores.count": ("Walmart dark stores", "stores"),
    "amazon.rural.investment_per_year_usd": ("Amazon rural investment", "usd_bn_per_year"),
    "amazon.ai.programme.target": ("Amazon AI automation", "share_of_plan"),
    "walmart.ai.tools.target": ("Walmart AI for associates", "share_of_plan"),
    "returns.fraud_share_of_returns": ("Return fraud", "share_of_returns"),
    "walmart.agentic.adoption.target": ("AI shopping agents", "share_of_households"),
    "amazon.satellite.service.target": ("Satellite broadband", "share_reached"),
}
LEVERS = tuple(LEVER_TABLE)
LABELS = {path: label for path, (label, _) in LEVER_TABLE.items()}
# unit -> (how a value is written, the slider's step)
UNITS = {
    "usd_per_year": (lambda v: f"${v:,.0f}/yr", 1.0),
    "usd_bn_per_year": (lambda v: f"${v / 1e9:,.1f}bn/yr", 1e8),
    "miles": (lambda v: f"{v:,.1f} miles", 0.1),
    "stores": (lambda v: f"{v:,.0f} stores", 1),
    "share_of_plan": (lambda v: f"{v:.0%} of plan", 0.01),
    "share_of_returns": (lambda v: f"{v:.0%} of returns", 0.01),
    "share_of_households": (lambda v: f"{v:.0%} of households", 0.01),
    "share_reached": (lambda v: f"{v:.0%} reached", 0.01),
    "price_index": (lambda v: f"{v:.2f} x the reference basket", 0.01),
    "share_of_orders": (lambda v: f"{v:.0%} of orders", 0.01),
}


def shown(dotted_path: str, value: float | bool, table: dict[str, tuple[str, str]] | None = None) -> str:
    """A lever's value as the dashboard writes it beside the label: ``$98/yr``, ``30% of returns``
    (``table``: path -> (label, unit), default the dashboard's ``LEVER_TABLE``)."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return UNITS[(table or LEVER_TABLE)[dotted_path][1]][0](value)


def keyword(dotted: str) -> str:
    """A dotted path as a Python keyword (the model takes its levers by keyword)."""
    return dotted.replace(".", "__")


def dotted(keyword_name: str) -> str:
    return keyword_name.replace("__", ".")


def bounds(dotted_path: str) -> tuple[float | None, float | None]:
    """The schema's bounds of a numeric scenario key (low, high; None where it sets none)."""
    parts = tuple(dotted_path.split("."))
    field = model_at(Scenario, parts).model_fields[parts[-1]]
    low = high = None
    for rule in field.metadata:
        if isinstance(rule, (annotated_types.Ge, annotated_types.Gt)):
            low = float(getattr(rule, "ge", getattr(rule, "gt", None)))
        if isinstance(rule, (annotated_types.Le, annotated_types.Lt)):
            high = float(getattr(rule, "le", getattr(rule, "lt", None)))
    return low, high


def slider(scenario: Scenario, dotted_path: str, table: dict[str, tuple[str, str]] | None = None) -> dict[str, Any]:
    """One lever's slider (kind, bounds, step, starting value, label, path), from the schema, the
    lever's unit and the scenario's value (``table``: path -> (label, unit), default ``LEVER_TABLE``)."""
    value = get_path(scenario, dotted_path)
    label, unit = (table or LEVER_TABLE)[dotted_path]
    if isinstance(value, bool):
        return {"type": "Checkbox", "value": value, "label": label, "path": dotted_path}
    low, high = bounds(dotted_path)
    low = 0.0 if low is None else low
    if high is None or (high > 1.0 and float(value) > 0.0 and high > 10.0 * float(value)):
        # No bound above, or only a sanity limit far above the value (a $10,000 fee): twice the value.
        high = min(max(2.0 * float(value), low + 1.0), high if high is not None else math.inf)
    step = UNITS[unit][1]
    if isinstance(value, int):
        return {"type": "SliderInt", "value": value, "min": int(low), "max": int(math.ceil(high)),
                "step": int(step), "label": label, "path": dotted_path}
    return {"type": "SliderFloat", "value": float(value), "min": low, "max": high, "step": float(step), "label": label,
            "path": dotted_path}


def sliders(scenario: Scenario) -> dict[str, dict[str, Any]]:
    return {keyword(path): slider(scenario, path) for path in LEVERS}
