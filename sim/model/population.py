"""The households: one agent set whose state is columns (numpy arrays), drawn once per run.

As in mesa-frames, the agent abstraction is the *set*, not the row: every phase of the week is a
vectorised operation over all households, and no per-household Python object exists (at a
million households such objects cost seconds to build and hundreds of MiB). To look at one
household, ``model.households.look(index, model.geography.state_codes)`` returns a plain view of
its row, and ``frame()`` the whole set as a table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..scenario.schema import Scenario
from ..streams import Streams
from ..vocabulary import (CATEGORIES, CHANNELS, FIRMS, HOURS_WORKED_PER_YEAR, LOCALES, MEMBERSHIPS, N_CATEGORIES,
                          N_CHANNELS, RURAL, SEGMENTS)
from .geography import Geography, allocate


@dataclass
class Households:
    """Every household's attributes and state, one array element per household.

    Ranks are uniform draws that fix a household's place in a roll-out order: a network that
    reaches a share ``s`` of a zone reaches the households whose rank is below ``s``.
    """

    zone: np.ndarray
    state: np.ndarray
    locale: np.ndarray
    income: np.ndarray  # US dollars a year
    price_utility: np.ndarray  # utility of one dollar
    value_of_time: np.ndarray  # dollars an hour
    budget: np.ndarray  # (categories, n) dollars a week at reference prices
    store_miles: np.ndarray  # to the nearest Walmart
    rival_miles: np.ndarray  # to the nearest rival store
    kroger_miles: np.ndarray  # to the nearest Kroger-family store, for the households near one
    amazon_rank: np.ndarray  # order of Amazon's same/next-day reach within the zone
    rollout_rank: np.ndarray  # order of Walmart's express-store roll-out
    dark_store_rank: np.ndarray  # order of dark-store reach
    pharmacy_rank: np.ndarray  # order of pharmacy same-day reach
    access_rank: np.ndarray  # order of broadband reach
    tech_rank: np.ndarray  # order of taking up AI shopping agents
    rival_rank: np.ndarray  # whose options include a Kroger-family store: those below its reach
    service_rank: np.ndarray  # order of Walmart stores becoming service platforms (and clinics' reach)
    prime_taste: np.ndarray  # dollars a year of own liking for Prime
    walmart_plus_taste: np.ndarray
    walmart_plus_consider: np.ndarray  # bool: considered Walmart+ at launch
    prime_consider: np.ndarray  # bool: had weighed Prime by the first week
    neighbours: np.ndarray  # (n, degree) indexes of the households each one hears from
    firm_taste: np.ndarray | None = field(default=None)  # (firms, n) dollars an order of lasting liking; None: none
    walmart_online_taste: np.ndarray | None = field(default=None)  # (n,) dollars an order more for Walmart online
    regular_rank: np.ndarray | None = field(default=None)  # (n,) order of becoming a Walmart online regular
    prime: np.ndarray = field(default=None)  # bool
    walmart_plus: np.ndarray = field(default=None)  # bool
    prime_months: np.ndarray = field(default=None)  # months held
    walmart_plus_months: np.ndarray = field(default=None)
    habit: np.ndarray = field(default=None)  # (channels, categories, n) recent choice shares

    def __post_init__(self) -> None:
        n = len(self.zone)
        self.prime = np.zeros(n, dtype=bool) if self.prime is None else self.prime
        self.walmart_plus = np.zeros(n, dtype=bool) if self.walmart_plus is None else self.walmart_plus
        self.prime_months = np.zeros(n, dtype=np.int32) if self.prime_months is None else self.prime_months
        self.walmart_plus_months = (
            np.zeros(n, dtype=np.int32) if self.walmart_plus_months is None else self.walmart_plus_months
        )
        if self.habit is None:
            self.habit = np.zeros((N_CHANNELS, N_CATEGORIES, n))

    @property
    def n(self) -> int:
        return len(self.zone)

    def __len__(self) -> int:
        return self.n

    def segment(self) -> np.ndarray:
        """Each household's memberships as an index into ``SEGMENTS`` (membership k is bit k)."""
        index = np.zeros(self.n, dtype=np.uint8)
        for bit, name in enumerate(MEMBERSHIPS):
            index += getattr(self, name).view(np.uint8) << bit
        return index

    def look(self, index: int, state_codes: tuple[str, ...] | list[str]) -> dict[str, Any]:
        """One household as a plain dict: where it lives, its income, memberships and habits."""
        i = int(index)
        return {
            "index": i,
            "state": state_codes[self.state[i]],
            "locale": LOCALES[self.locale[i]],
            "income": float(self.income[i]),
            "memberships": SEGMENTS[sum(int(getattr(self, name)[i]) << bit for bit, name in enumerate(MEMBERSHIPS))],
            "habits": {category: {channel: float(self.habit[k, c, i]) for k, channel in enumerate(CHANNELS)}
                       for c, category in enumerate(CATEGORIES)},
        }

    def frame(self) -> pd.DataFrame:
        """The set as a table, one row per household and one column per one-dimensional attribute."""
        return pd.DataFrame({name: column for name, column in vars(self).items()
                             if isinstance(column, np.ndarray) and column.ndim == 1})

    def part(self, households: slice) -> Households:
        """A contiguous range of households as views: writes (habits) reach the whole population."""
        columns = {}
        for name, column in vars(self).items():
            if column is None:  # a taste the scenario draws none of
                columns[name] = None
            elif name in ("budget", "firm_taste"):
                columns[name] = column[:, households]
            elif name == "habit":
                columns[name] = column[:, :, households]
            else:
                columns[name] = column[households]
        return Households(**columns)


def _lognormal(rng: np.random.Generator, median: np.ndarray, sigma: float) -> np.ndarray:
    return median * np.exp(sigma * rng.standard_normal(len(median)))


def draw_network(zone: np.ndarray, state: np.ndarray, degree: int, same_zone_share: float,
                 rng: np.random.Generator) -> np.ndarray:
    """Each household's neighbours, (households, degree): mostly in its own zone, the rest elsewhere
    in its state. Stored column by column (Fortran order), so that one neighbour of every household
    is contiguous: that is how the monthly reviews read it."""
    n = len(zone)
    neighbours = np.empty((n, degree), dtype=np.int64, order="F")
    if degree == 0:
        return neighbours
    by_zone, by_state = _group_order(zone), _group_order(state)
    zone_start, zone_size = _group_spans(zone)
    state_start, state_size = _group_spans(state)
    local = np.ascontiguousarray((rng.random((n, degree)) < same_zone_share).T)
    position = np.ascontiguousarray(rng.random((n, degree)).T)
    # Column by column: each neighbour of every household is one contiguous pass (and the result is
    # built in Fortran order directly).
    for k in range(degree):
        in_zone = zone_start + (position[k] * zone_size).astype(np.int64)
        if by_zone is not None:
            in_zone = by_zone[in_zone]
        in_state = state_start + (position[k] * state_size).astype(np.int64)
        if by_state is not None:
            in_state = by_state[in_state]
        neighbours[:, k] = np.where(local[k], in_zone, in_state)
    return neighbours


def _group_order(groups: np.ndarray) -> np.ndarray | None:
    """Households ordered by group, stably; None when they already are (zones are drawn in order)."""
    if len(groups) < 2 or bool((groups[1:] >= groups[:-1]).all()):
        return None
    return np.argsort(groups, kind="stable")


def _group_spans(groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each household's group's first position in :func:`_group_order` and the group's size."""
    counts = np.bincount(groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return starts[groups], counts[groups]


def correlated_pair(normals: np.ndarray, correlation: float) -> np.ndarray:
    """Two standard normal rows with the given correlation (the first row is kept as drawn)."""
    return np.stack([normals[0], correlation * normals[0] + np.sqrt(1.0 - correlation ** 2) * normals[1]])


def draw_households(scenario: Scenario, geography: Geography, streams: Streams) -> Households:
    """Draw the population. Each attribute has its own stream, so adding one never moves another."""
    people, world, shopping = scenario.population, scenario.geography, scenario.shoppers
    counts = allocate(geography.zone_share, people.shoppers)
    zone = np.repeat(np.arange(geography.n_zones), counts)
    state, locale = geography.zone_state[zone], geography.zone_locale[zone]
    n = len(zone)

    median_income = np.where(locale == RURAL, people.rural_income_ratio, 1.0) * people.median_income_usd
    income = _lognormal(streams["population.income"], median_income, people.income_sigma)
    relative = income / people.median_income_usd
    price_utility = _lognormal(
        streams["population.price"],
        shopping.price_utility_per_usd * relative ** -shopping.price_income_elasticity,
        shopping.price_sigma,
    )
    value_of_time = shopping.value_of_time_share_of_wage * income / float(HOURS_WORKED_PER_YEAR)
    elasticity = np.array(shopping.budget_income_elasticity.as_tuple())[:, None]
    budget = np.array(shopping.weekly_budget_usd.as_tuple())[:, None] * relative[None, :] ** elasticity

    store_median = np.asarray(world.store_distance_median_miles.as_tuple())[locale]
    rival_median = np.asarray(world.rival_distance_median_miles.as_tuple())[locale]
    store_miles = _lognormal(streams["population.store_distance"], store_median, world.distance_sigma)
    rival_miles = _lognormal(streams["population.rival_distance"], rival_median, world.distance_sigma)
    # A Kroger store, where there is one, is about as far as the nearest other grocer.
    kroger_miles = _lognormal(streams["population.kroger_distance"], rival_median, world.distance_sigma)

    ranks = streams["population.ranks"].random((6, n))
    store_ranks = streams["population.store_ranks"].random((2, n))  # a stream of their own: the others stay as drawn
    tastes = correlated_pair(streams["population.membership_taste"].standard_normal((2, n)),
                             scenario.memberships.taste_correlation) * np.array(scenario.memberships.spreads_usd())[:, None]
    consider = streams["population.walmart_plus_consider"].random(n)
    prime_consider = streams["population.prime_consider"].random(n)  # its own stream: the others stay as drawn
    neighbours = draw_network(zone, state, people.network_degree, people.network_same_zone_share,
                              streams["population.network"])
    spread = np.asarray([getattr(shopping.firm_taste_sd_usd, firm) for firm in FIRMS])
    # Its own stream, drawn only when some firm has a spread: a scenario without one is unchanged.
    firm_taste = (streams["population.firm_taste"].standard_normal((len(spread), n)) * spread[:, None]
                  if spread.any() else None)
    online_spread = shopping.walmart_online_taste_sd_usd  # its own stream too, drawn only when non-zero
    online_taste = (streams["population.walmart_online_taste"].standard_normal(n) * online_spread
                    if online_spread else None)
    return Households(
        zone=zone, state=state, locale=locale, income=income, price_utility=price_utility,
        value_of_time=value_of_time, budget=budget, store_miles=store_miles, rival_miles=rival_miles,
        kroger_miles=kroger_miles,
        amazon_rank=ranks[0], rollout_rank=ranks[1], dark_store_rank=ranks[2], pharmacy_rank=ranks[3],
        access_rank=ranks[4], tech_rank=ranks[5], rival_rank=store_ranks[0], service_rank=store_ranks[1],
        prime_taste=tastes[0], walmart_plus_taste=tastes[1],
        walmart_plus_consider=consider < scenario.memberships.walmart_plus_initial_consideration,
        prime_consider=prime_consider < scenario.memberships.prime_initial_consideration,
        neighbours=neighbours, firm_taste=firm_taste, walmart_online_taste=online_taste,
        # The order in which households become Walmart online regulars: a stream of its own.
        regular_rank=streams["population.walmart_online_regulars"].random(n),
    )
