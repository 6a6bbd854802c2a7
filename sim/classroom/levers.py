"""The levers a team sets each round: scenario keys of its firm, with the schema's bounds.

Each lever is a dotted scenario path, as in the solo dashboard (``sim/dashboard/levers.py``, whose
slider rule and units this reuses). Where the game narrows a range for the classroom (a price index
from 0.8 to 1.3, not the schema's 0 to 10) it says so here, and the range always lies inside the
schema's bounds. Every submitted value is checked on the server against its firm, its kind and its
range (:func:`check_value`).
"""

from __future__ import annotations

import math
from typing import Any

from ..dashboard.levers import bounds, shown, slider
from ..errors import UserError
from ..report.style import FIRM_NAMES
from ..scenario.paths import get_path

# firm -> {dotted path: (label, unit, classroom range or None for the dashboard's rule)}
GAME_LEVERS: dict[str, dict[str, tuple[str, str, tuple[float, float] | None]]] = {
    "amazon": {
        "amazon.prime.fee_annual": ("Prime fee", "usd_per_year", None),
        "amazon.prices.discretionary": ("Prices, general merchandise", "price_index", (0.8, 1.3)),
        "amazon.prices.grocery": ("Prices, grocery", "price_index", (0.8, 1.3)),
        "amazon.rural.investment_per_year_usd": ("Rural delivery stations", "usd_bn_per_year", (0.0, 5e9)),
        "amazon.health.pharmacy_same_day.target": ("Same-day pharmacy", "share_reached", None),
        "amazon.ai.programme.target": ("AI automation", "share_of_plan", None),
    },
    "walmart": {
        "walmart.walmart_plus.fee_annual": ("Walmart+ fee", "usd_per_year", None),
        "walmart.prices.grocery": ("Prices, grocery", "price_index", (0.8, 1.3)),
        "walmart.prices.discretionary": ("Prices, general merchandise", "price_index", (0.8, 1.3)),
        "walmart.express.radius_miles": ("Express delivery radius", "miles", (1.0, 30.0)),
        "walmart.dark_stores.count": ("Dark stores", "stores", (0, 200)),
        "walmart.ai.tools.target": ("AI for associates", "share_of_plan", None),
    },
    "kroger": {
        "kroger.prices.grocery": ("Prices, grocery", "price_index", (0.8, 1.3)),
        "kroger.prices.health": ("Prices, pharmacy and health", "price_index", (0.8, 1.3)),
        "kroger.prices.discretionary": ("Prices, general merchandise", "price_index", (0.8, 1.3)),
        "kroger.online_share_of_orders": ("Online orders (pickup, delivery)", "share_of_orders", (0.0, 0.5)),
    },
}
TEAM_FIRMS = tuple(GAME_LEVERS)  # the firms a team may run (the other grocers always follow the scenario)
TABLE = {path: (label, unit) for levers in GAME_LEVERS.values() for path, (label, unit, _) in levers.items()}
FIRM_OF = {path: firm for firm, levers in GAME_LEVERS.items() for path in levers}


class GameError(UserError):
    """Something a player asked for that the game refuses (one line, shown in the page)."""


def specs(scenario) -> dict[str, dict[str, dict[str, Any]]]:
    """Each firm's sliders (kind, min, max, step, label, path), from the schema, the classroom ranges
    and ``scenario``'s values (the game's start): firm -> path -> spec."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for firm, levers in GAME_LEVERS.items():
        out[firm] = {}
        for path, (_, _, classroom) in levers.items():
            spec = slider(scenario, path, TABLE)
            if classroom is not None and spec["type"] != "Checkbox":
                low, high = bounds(path)
                spec["min"] = max(classroom[0], low if low is not None else -math.inf)
                spec["max"] = min(classroom[1], high if high is not None else math.inf)
                if spec["type"] == "SliderInt":
                    spec["min"], spec["max"] = int(spec["min"]), int(spec["max"])
            out[firm][path] = spec
    return out


def written(path: str, value: float | bool) -> str:
    """A lever's value as the pages write it (``$139/yr``, ``1.06 x the reference basket``)."""
    return shown(path, value, TABLE)


def check_value(spec: dict[str, Any], value: object) -> float | int | bool:
    """``value`` as the lever's kind, or a :class:`GameError` naming the lever and its range."""
    label = spec["label"]
    if spec["type"] == "Checkbox":
        if not isinstance(value, bool):
            raise GameError(f"{label}: expected on or off, got {_excerpt(value)}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise GameError(f"{label}: expected a number, got {_excerpt(value)}")
    try:
        number = float(value)
    except ValueError:
        raise GameError(f"{label}: expected a number, got {_excerpt(value)}") from None
    low, high = spec["min"], spec["max"]
    if not math.isfinite(number) or not low - 1e-9 <= number <= high + 1e-9:
        shown_value = written(spec["path"], number) if math.isfinite(number) else _excerpt(value)
        raise GameError(f"{label} must be between {written(spec['path'], low)} and {written(spec['path'], high)}, "
                        f"got {shown_value}")
    if spec["type"] == "SliderInt":
        if number != int(number):
            raise GameError(f"{label}: expected a whole number, got {number:g}")
        return int(number)
    return round(number, 6)  # a slider's steps leave float noise (1.0900000000000003)


def _excerpt(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 24 else text[:21] + "..."


def cost(path: str, value: float, model) -> str:
    """What setting ``path`` to ``value`` costs or brings, in the model's own terms (one line)."""
    p, now = model.params, get_path(model.params, path)
    if path.endswith("fee_annual"):
        membership = path.split(".")[1]
        members = _latest(model, f"{membership}_share") * model.us_households / 1e6
        return (f"${value * members / 1e3:,.1f}bn a year from today's {members:,.0f}M members "
                "(fewer join as it rises)")
    if ".prices." in path:
        change = value / now - 1.0
        if abs(change) < 5e-4:
            return "as now"
        return f"{change:+.0%} on every basket against now: {'more' if change > 0 else 'less'} margin a sale, " \
               f"{'fewer' if change > 0 else 'more'} sales"
    if path == "amazon.rural.investment_per_year_usd":
        rural = p.amazon.rural
        if model.date > rural.end:
            return f"the programme ended in {rural.end:%B %Y}: nothing is spent"
        return (f"${value / 1e9:,.1f}bn of capital a year until {rural.end:%B %Y}; "
                f"a station costs ${rural.cost_per_station_usd / 1e6:,.0f}M and opens {rural.build_lag_weeks} weeks later")
    if path == "amazon.ai.programme.target":
        return f"${p.amazon.ai.capex_per_year_usd / 1e9:,.1f}bn a year at any level (the programme's budget)"
    if path == "walmart.ai.tools.target":
        ai = p.walmart.ai
        return f"${ai.associates * ai.cost_per_associate_per_year_usd * value / 1e6:,.0f}M a year at this level"
    if path == "walmart.dark_stores.count":
        more = int(value) - int(now)
        capital = p.walmart.dark_stores.capex_per_store_usd
        return (f"${more * capital / 1e9:,.2f}bn of capital to open {more} more" if more > 0
                else "no new capital (closing stores refunds nothing)")
    if path == "kroger.online_share_of_orders":
        return "online orders cost more to pick and deliver than a store trip"
    return "no cost line of its own in the model: it changes what shoppers are offered"


def _latest(model, metric: str) -> float:
    values = model.collector.recorder.series(metric)[1]
    return float(values[-1]) if len(values) else 0.0


def firm_name(firm: str) -> str:
    """A firm's name as the pages write it."""
    return FIRM_NAMES.get(firm, firm)
