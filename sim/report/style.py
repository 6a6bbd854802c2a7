"""One look across every figure: a colour per firm (Okabe-Ito, colour-blind safe), units, fonts."""

from __future__ import annotations

FIRM_COLOURS = {"amazon": "#E69F00", "walmart": "#0072B2", "kroger": "#D55E00", "rivals": "#009E73"}
FIRM_NAMES = {"amazon": "Amazon", "walmart": "Walmart", "kroger": "Kroger", "rivals": "Other grocers"}
CHANNEL_COLOURS = {"amazon": "#E69F00", "walmart_store": "#0072B2", "walmart_online": "#56B4E9", "kroger": "#D55E00",
                   "rivals": "#009E73"}
CHANNEL_NAMES = {"amazon": "Amazon", "walmart_store": "Walmart store", "walmart_online": "Walmart delivery/pickup",
                 "kroger": "Kroger", "rivals": "Other grocers"}
SEGMENT_COLOURS = {"none": "#7F7F7F", "prime_only": "#E69F00", "walmart_plus_only": "#0072B2", "both": "#CC79A7"}
SEGMENT_NAMES = {"none": "No membership", "prime_only": "Prime only", "walmart_plus_only": "Walmart+ only",
                 "both": "Both"}
CATEGORY_NAMES = {"grocery": "Grocery and essentials", "discretionary": "Discretionary goods",
                  "health": "Health and pharmacy", "all": "All categories"}
LOCALE_NAMES = {"urban": "Urban", "suburban": "Suburban", "rural": "Rural", "all": "All households"}
# Scenarios are told apart by line style (the baseline solid); colours stay the firms'.
# Six styles a legend's short swatch still tells apart (a long dash alone reads as solid there).
SCENARIO_DASHES = ["solid", "dash", "dot", "dashdot", "longdashdot", "8px,3px,2px,3px,2px,3px"]
EVENT_COLOUR = "#555555"
# The line-style key of a comparison is grey: its entries say which scenario, never which firm.
KEY_COLOUR = "#555555"
# A waterfall's rises and falls in greys: green and vermilion already mean the other grocers and Kroger.
RISE_COLOUR, FALL_COLOUR = "#4D4D4D", "#B3B3B3"
FONT = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"
TEMPLATE = "plotly_white"
PERCENT = 100.0
BILLIONS_A_YEAR = 52.0 / 1e9  # weekly dollars -> $bn a year


def rgba(hex_colour: str, alpha: float) -> str:
    """A hex colour as an rgba() string with transparency (for bands)."""
    red, green, blue = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def scenario_label(name: str, baseline: str, firm_label: str) -> str:
    return firm_label if name == baseline else f"{firm_label} · {name}"

