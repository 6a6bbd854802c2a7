"""Where Amazon's rural delivery stations reach: rural households as the 2020 Census finds them, county
by county, and stations built where they reach the most households not yet reached.

A station serves a catchment of ``amazon.rural.station_area_sq_mi`` square miles. Placed at random
over a county's rural land (a Boolean model: overlapping discs), ``k`` stations leave a county's
households unreached with probability ``exp(-k x area / land)``, so a county's same-day share is
``1 - (1 - base) exp(-k area / land)``, where ``base`` is the rural same-day share before the
programme. The next station goes where it reaches the most households not yet reached: its gain,
``area x density x (1 - share)``, is largest in the densest county least served. Built that way
(stations taken as divisible, as the budget buys them), every county with stations ends with its
unreached share equal to ``theta / density``: one threshold ``theta`` set by the number of
stations. The first stations go to the densest rural counties and each reaches fewer new households
than the one before; no cap is needed for the build-out to saturate, and a budget has a best size.

Next-day reaches ``next_day_area_per_same_day`` times a station's same-day catchment, on the same
placement. ``max_rural_coverage`` (1 by default: none) caps a county's same-day share; stations that
the cap leaves with nothing to reach are counted apart (``amazon_rural_stations_beyond_cap``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from ..vocabulary import RURAL


def load_rural_counties() -> pd.DataFrame:
    """Each county's rural people and rural land (2020 Census; built by ``calibration/rural_counties.py``)."""
    path = resources.files("sim.model").joinpath("data/rural_counties.csv")
    with path.open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle, dtype={"county": str})


@lru_cache(maxsize=1)
def _counties() -> pd.DataFrame:
    return load_rural_counties()


@dataclass(frozen=True)
class BuildOut:
    """Stations in each county, and the shares of its rural households they bring same-day and next-day."""

    stations: np.ndarray  # (counties,)
    same_day: np.ndarray  # (counties,)
    next_day: np.ndarray  # (counties,)
    beyond_cap: float  # stations the cap leaves with nothing to reach


class RuralLand:
    """The model's rural households spread over the counties' rural land.

    Each state's rural zone holds the model's count of its households (``households`` of it), split
    over its counties by their rural people; density is households a square mile of rural land."""

    def __init__(self, geography, households: float) -> None:
        counties = _counties()
        codes = {code: index for index, code in enumerate(geography.state_codes)}
        state = counties["state"].map(codes).to_numpy()
        zone_of_state = {geography.zone_state[z]: z for z in np.flatnonzero(geography.zone_locale == RURAL)}
        self.zone = np.array([zone_of_state[s] for s in state])
        people = counties["rural_population_2020"].to_numpy(dtype=float)
        in_state = np.bincount(state, weights=people, minlength=len(codes))[state]
        self.households = households * geography.zone_share[self.zone] * people / in_state
        self.land = counties["rural_land_sq_mi"].to_numpy(dtype=float)
        self.density = self.households / self.land
        self.n_zones = geography.n_zones
        self._in_zone = np.bincount(self.zone, weights=self.households, minlength=self.n_zones)
        self._curves: dict[tuple, tuple] = {}

    def build_out(self, stations: float, area: float, base: float, next_day_base: float, next_day_area: float,
                  cap: float = 1.0) -> BuildOut:
        """``stations`` of ``area`` square miles each, placed where each reaches the most households not
        yet reached (module docstring), from a same-day share ``base`` and a next-day share ``next_day_base``."""
        if stations <= 0 or base >= 1.0 or cap <= base:
            zeros = np.zeros_like(self.land)
            return BuildOut(zeros, zeros + base, np.maximum(zeros + next_day_base, base), max(0.0, stations))
        gain, room = self._gain(base), self._room(base, cap)
        tops, totals, slopes = self._curve(area, base, cap)
        beyond = max(0.0, stations - totals[-1]) if slopes[-1] == 0 else 0.0
        placed = stations - beyond
        i = int(np.searchsorted(totals, placed, side="right")) - 1
        level = tops[i] - (placed - totals[i]) / slopes[i] if slopes[i] > 0 else tops[i]
        per_station = area / self.land  # the share of a county's rural land one station covers
        built = np.clip(gain - level, 0.0, room) / per_station
        same_day = 1.0 - (1.0 - base) * np.exp(-per_station * built)
        next_day = 1.0 - (1.0 - next_day_base) * np.exp(-next_day_area * per_station * built)
        return BuildOut(built, same_day, np.maximum(next_day, same_day), beyond)

    def _gain(self, base: float) -> np.ndarray:
        """Each county's gain from its first station, in logs: ``log((1 - base) density)`` (a station's
        households over its area)."""
        return np.log((1.0 - base) * self.density)

    @staticmethod
    def _room(base: float, cap: float) -> float:
        """How far (in the same logs) the cap lets a county's gain fall: infinite without a cap."""
        return float(np.log((1.0 - base) / (1.0 - cap))) if cap < 1.0 else np.inf

    def _curve(self, area: float, base: float, cap: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The threshold's breakpoints (log gains where a county joins, and where it reaches the cap and
        leaves), the stations built by each, and the stations a unit of the threshold takes below it.
        Cached by its terms (they change only by a scenario's events)."""
        key = (area, base, cap)
        if key not in self._curves:
            gain, room = self._gain(base), self._room(base, cap)
            weight = self.land / area  # stations a unit of log threshold takes in a county
            capped = np.isfinite(room)
            points = np.concatenate([gain, gain - room]) if capped else gain
            change = np.concatenate([weight, -weight]) if capped else weight
            order = np.argsort(-points, kind="stable")
            tops, slopes = points[order], np.maximum(np.cumsum(change[order]), 0.0)
            slopes[-1] = 0.0 if capped else slopes[-1]
            totals = np.concatenate([[0.0], np.cumsum(slopes[:-1] * -np.diff(tops))])
            self._curves[key] = (tops, totals, slopes)
        return self._curves[key]

    def zone_shares(self, county: np.ndarray, fill: np.ndarray) -> np.ndarray:
        """Each zone's share of households from the counties' (``fill`` where a zone has no county)."""
        reached = np.bincount(self.zone, weights=self.households * county, minlength=self.n_zones)
        return np.where(self._in_zone > 0, reached / np.where(self._in_zone > 0, self._in_zone, 1.0), fill)

    def reached(self, county: np.ndarray, base: float) -> float:
        """Households a share of each county above ``base`` comes to."""
        return float((self.households * (county - base)).sum())
