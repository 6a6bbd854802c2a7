"""Read-with-care notes: what a reader must know so that a figure does not mislead.

A lever whose effect a cap or an end date cuts off says so here, as do levels the model does not
yet calibrate. Each note is one sentence of plain HTML, shown under the headline table.
"""

from __future__ import annotations

import html

from .ensemble import Ensemble

PROFITS = ("Profit is fitted to the filings' operating margins (Amazon North America 2021-2025, Walmart U.S. "
           "FY2022-FY2026, Kroger FY2023-FY2024, four other grocers 2024) through one unit cost per firm, every "
           "other cost from the filings (docs/accounts.md). The model's dollars do not grow with prices or the "
           "market, so revenue stays near its 2024 level throughout, and Amazon's 2022 loss (a network built for "
           "the pandemic) is not reproduced.")


def notes(ensemble: Ensemble) -> list[str]:
    """The notes for these runs; a note that holds for several scenarios names them together."""
    found: dict[str, list[str]] = {}
    end = ensemble.end_date.date()
    for name, scenario in zip(ensemble.names, ensemble.scenarios):
        beyond = ensemble.wide("amazon_rural_stations_beyond_cap", firm="amazon")[name].mean(axis=1)
        if (beyond > 0.5).any():
            since = beyond[beyond > 0.5].index[0].date()
            found.setdefault(
                f"from {since}, up to {beyond.max():,.0f} of Amazon's rural stations are beyond those that take "
                f"rural same-day to its cap of {scenario.amazon.rural.max_rural_coverage:.0%}: their capital is "
                "spent but they reach no new household and serve no new town.", []).append(name)
        rural = scenario.amazon.rural
        if rural.end < end and rural.investment_per_year_usd > 0:
            found.setdefault(f"Amazon's rural programme stops investing on {rural.end}; rural reach stays where the "
                             "stations built by then take it.", []).append(name)
        if scenario.conduct == "strategic":
            found.setdefault(
                f"prices are strategic: every {scenario.strategy.review_weeks} weeks "
                f"{', '.join(scenario.strategy.firms)} set their {' and '.join(scenario.strategy.categories)} prices "
                "as best responses to their rivals', valuing a dollar of goods sold at what makes the start's prices "
                "an equilibrium (docs/MODEL.md, 7.7b); the price index shows each firm's answer, and profits move "
                "with it.", []).append(name)
        dark = ensemble.wide("walmart_dark_store_reach", firm="walmart")[name].mean(axis=1)
        if (dark >= 1.0).any():
            since = dark[dark >= 1.0].index[0].date()
            found.setdefault(f"from {since} Walmart's dark stores reach every urban and suburban household they "
                             "can; more dark stores add cost, not reach.", []).append(name)
    return [PROFITS] + [f"{html.escape(', '.join(names))}: {text}" for text, names in found.items()]


def notes_html(ensemble: Ensemble) -> str:
    items = "".join(f"<li>{note}</li>" for note in notes(ensemble))
    return f'<ul class="notes" id="notes"><strong>Read with care</strong>{items}</ul>'
