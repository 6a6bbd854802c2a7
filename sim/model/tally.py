"""The week's purchases, counted once by locale, category and channel, for firms and metrics alike."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .population import N_CATEGORIES, N_CHANNELS

N_LOCALES = 3


def one_hot(groups: np.ndarray, size: int) -> np.ndarray:
    """(households, size) matrix with a 1 in each household's group."""
    matrix = np.zeros((len(groups), size))
    matrix[np.arange(len(groups)), groups] = 1.0
    return matrix


@dataclass(frozen=True)
class Tally:
    """Totals over simulated households (multiply by the household weight for US figures)."""

    spend: np.ndarray  # (locales, categories, channels) dollars at the channels' prices
    base_spend: np.ndarray  # the same baskets at reference prices
    orders: np.ndarray  # household-category purchases
    users: np.ndarray  # (5, locales): households using Amazon, Walmart store, Walmart online, rivals, any Walmart


def cell_base(locale: np.ndarray) -> np.ndarray:
    """(categories, households): each household's (locale, category) cell, before adding its channel
    (fixed for a run, so :func:`tally` gets it ready-made)."""
    return (locale * N_CATEGORIES + np.arange(N_CATEGORIES)[:, None]) * N_CHANNELS


def tally(locale: np.ndarray, base: np.ndarray, choice: np.ndarray, spend: np.ndarray, budget: np.ndarray) -> Tally:
    """Count a week of choices (``choice``, ``spend`` and ``budget`` are (categories, households);
    ``base`` is :func:`cell_base` of ``locale``)."""
    cells = (base + choice).ravel()
    shape, size = (N_LOCALES, N_CATEGORIES, N_CHANNELS), N_LOCALES * N_CATEGORIES * N_CHANNELS
    return Tally(
        spend=np.bincount(cells, weights=spend.ravel(), minlength=size).reshape(shape),
        base_spend=np.bincount(cells, weights=budget.ravel(), minlength=size).reshape(shape),
        orders=np.bincount(cells, minlength=size).reshape(shape).astype(float),
        users=users_by_locale(locale, choice),
    )


def users_by_locale(locale: np.ndarray, choice: np.ndarray) -> np.ndarray:
    """(5, locales): households using each channel in any category, and Walmart in either form.

    Each household's channels used are one bit each of a small code (see :func:`count_codes`)."""
    code = np.zeros(choice.shape[1], dtype=np.int64)
    for category in choice:
        code |= 1 << category.astype(np.int64)
    bits = code_bits(N_CHANNELS)
    uses = np.vstack([bits, np.maximum(bits[1], bits[2])])  # the fifth row: any Walmart channel
    return uses @ count_codes(code, locale, N_LOCALES, N_CHANNELS).T


def flag_code(flags: list[np.ndarray]) -> np.ndarray:
    """Boolean flags per household packed as the bits of one integer code (flag k is bit k)."""
    code = np.zeros(len(flags[0]), dtype=np.int64)
    for bit, flag in enumerate(flags):
        code |= flag.astype(np.int64) << bit
    return code


def count_codes(code: np.ndarray, groups: np.ndarray, n_groups: int, n_bits: int) -> np.ndarray:
    """(groups, codes): how many households have each code, per group, with one ``bincount``.

    Sums of these counts over the codes that have a bit set count the households with that flag:
    exact, and one pass over the households whatever the number of flags."""
    codes = 1 << n_bits
    return np.bincount(groups * codes + code, minlength=n_groups * codes).reshape(n_groups, codes).astype(float)


def code_bits(n_bits: int) -> np.ndarray:
    """(bits, codes): 1 where code has the bit."""
    return ((np.arange(1 << n_bits)[None, :] >> np.arange(n_bits)[:, None]) & 1).astype(float)
