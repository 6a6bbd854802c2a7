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


def count_by(flags: np.ndarray, membership: np.ndarray) -> np.ndarray:
    """How many households have each flag, per group: (flags, groups), exact (sums of 0/1)."""
    return flags.astype(np.float64) @ membership


@dataclass(frozen=True)
class Tally:
    """Totals over simulated households (multiply by the household weight for US figures)."""

    spend: np.ndarray  # (locales, categories, channels) dollars at the channels' prices
    base_spend: np.ndarray  # the same baskets at reference prices
    orders: np.ndarray  # household-category purchases
    users: np.ndarray  # (5, locales): households using Amazon, Walmart store, Walmart online, rivals, any Walmart


def tally(locale: np.ndarray, choice: np.ndarray, spend: np.ndarray,
          budget: np.ndarray) -> Tally:
    """Count a week of choices (``choice``, ``spend`` and ``budget`` are (categories, households))."""
    cells = ((locale * N_CATEGORIES + np.arange(N_CATEGORIES)[:, None]) * N_CHANNELS + choice).ravel()
    shape, size = (N_LOCALES, N_CATEGORIES, N_CHANNELS), N_LOCALES * N_CATEGORIES * N_CHANNELS
    return Tally(
        spend=np.bincount(cells, weights=spend.ravel(), minlength=size).reshape(shape),
        base_spend=np.bincount(cells, weights=budget.ravel(), minlength=size).reshape(shape),
        orders=np.bincount(cells, minlength=size).reshape(shape).astype(float),
        users=users_by_locale(locale, choice),
    )


def users_by_locale(locale: np.ndarray, choice: np.ndarray) -> np.ndarray:
    """(5, locales): households using each channel in any category, and Walmart in either form.

    Each household's channels used are one bit each of a small code; households are counted by
    (locale, code) with one ``bincount``, and the codes' bits are summed (exact integer counts)."""
    code = np.zeros(choice.shape[1], dtype=np.int64)
    for category in choice:
        code |= 1 << category.astype(np.int64)
    codes = 1 << N_CHANNELS
    counts = np.bincount(locale * codes + code, minlength=N_LOCALES * codes).reshape(N_LOCALES, codes)
    bits = (np.arange(codes)[None, :] >> np.arange(N_CHANNELS)[:, None]) & 1  # (channels, codes)
    uses = np.vstack([bits, bits[1] | bits[2]])  # the fifth row: any Walmart channel
    return (uses @ counts.T).astype(float)
