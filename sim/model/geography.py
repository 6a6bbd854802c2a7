"""The 50 states plus DC, each split into urban, suburban and rural zones.

A zone is a (state, locale) pair. Zone-level facts that are the same for every household in the
zone (what share of it a delivery network reaches, broadband) live in arrays indexed by zone;
which households inside a zone are reached is decided by each household's own rank (see
``population.py``), so coverage grows from the most to the least reachable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

import numpy as np
import pandas as pd

from ..scenario.schema import Scenario
from ..vocabulary import LOCALES, RURAL, SUBURBAN, URBAN

__all__ = ["RURAL", "SUBURBAN", "URBAN", "Geography", "allocate", "load_states"]


def load_states() -> pd.DataFrame:
    """The state table: USPS code, name, 2020 population, 2020 rural share, tile-map position."""
    with resources.files("sim.model").joinpath("data/states.csv").open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle)


@dataclass(frozen=True)
class Geography:
    """Zones and their shares of US households."""

    states: pd.DataFrame
    zone_state: np.ndarray  # (zones,) index into ``states``
    zone_locale: np.ndarray  # (zones,) URBAN, SUBURBAN or RURAL
    zone_share: np.ndarray  # (zones,) share of US households
    _zones_in: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_zones(self) -> int:
        return len(self.zone_state)

    @property
    def state_codes(self) -> list[str]:
        return list(self.states["code"])

    def locale_share(self, locale: int) -> float:
        """Share of US households living in zones of ``locale``."""
        return float(self.zone_share[self.zone_locale == locale].sum())

    def zones_in(self, codes: list[str]) -> np.ndarray:
        """Boolean mask of the zones in the states named by USPS code (read-only; cached, as
        firms ask every week)."""
        key = tuple(codes)
        if key not in self._zones_in:
            wanted = np.isin(self.states["code"].to_numpy(), codes)[self.zone_state]
            wanted.flags.writeable = False
            self._zones_in[key] = wanted
        return self._zones_in[key]

    @classmethod
    def build(cls, scenario: Scenario) -> Geography:
        states = load_states()
        population = states["population_2020"].to_numpy(dtype=float)
        rural = states["rural_share_2020"].to_numpy(dtype=float)
        suburban = scenario.population.suburban_share_of_nonrural * (1.0 - rural)
        locale_shares = np.stack([1.0 - rural - suburban, suburban, rural], axis=1)
        share = (population / population.sum())[:, None] * locale_shares
        zone_state, zone_locale = np.divmod(np.arange(len(states) * len(LOCALES)), len(LOCALES))
        return cls(states, zone_state, zone_locale, share.reshape(-1))


def allocate(shares: np.ndarray, total: int) -> np.ndarray:
    """Split ``total`` whole households across shares by largest remainder (exact and deterministic)."""
    exact = shares / shares.sum() * total
    counts = np.floor(exact).astype(np.int64)
    short = total - counts.sum()
    if short:
        order = np.argsort(-(exact - counts), kind="stable")
        counts[order[:short]] += 1
    return counts
