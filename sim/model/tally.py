"""The week's purchases, counted once by locale, category and channel, for firms and metrics alike."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..firms.states import code_bits, flag_code
from ..vocabulary import FIRM_OF_CHANNEL, FIRMS, N_CATEGORIES, N_CHANNELS, N_LOCALES

__all__ = ["FIRST_FIRM_ROW", "Tally", "cell_base", "code_bits", "count_codes", "flag_code", "one_hot", "tally"]

FIRST_FIRM_ROW = N_CHANNELS  # the rows of ``Tally.users`` after the channels: each firm, in any of its channels


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
    users: np.ndarray  # (channels + firms, locales): households using each channel, then each firm


def cell_base(locale: np.ndarray) -> np.ndarray:
    """(categories, households): each household's (locale, category) cell, before adding its channel
    (fixed for a run, so :func:`tally` gets it ready-made)."""
    return (locale * N_CATEGORIES + np.arange(N_CATEGORIES)[:, None]) * N_CHANNELS


CHANNEL_BITS = max(1, (N_CHANNELS - 1).bit_length())  # bits that hold a channel's index
CHOICE_BITS = CHANNEL_BITS * N_CATEGORIES  # a household's channel in each category, one field per category


def choice_code(choice: np.ndarray) -> np.ndarray:
    """Each household's week as one small code: the channel chosen in category k is the k-th field of
    ``CHANNEL_BITS`` bits."""
    code = choice[0].astype(np.int32)
    for category in range(1, N_CATEGORIES):
        code |= np.left_shift(choice[category], CHANNEL_BITS * category, dtype=np.int32)
    return code


def _choice_tables() -> tuple[np.ndarray, np.ndarray]:
    """For every choice code: (category x channel, codes) 1 where that category went to that channel,
    and (channels + firms, codes) 1 where the household used each channel in any category, then each
    firm in any of its channels."""
    codes = np.arange(1 << CHOICE_BITS)
    chosen = np.stack([(codes >> CHANNEL_BITS * category) & ((1 << CHANNEL_BITS) - 1)
                       for category in range(N_CATEGORIES)])  # (categories, codes)
    went = chosen[:, None, :] == np.arange(N_CHANNELS)[None, :, None]  # (categories, channels, codes)
    uses = went.any(axis=0)
    firm_uses = [uses[FIRM_OF_CHANNEL == firm].any(axis=0) for firm in range(len(FIRMS))]
    return went.reshape(-1, len(codes)).astype(float), np.vstack([uses, *firm_uses]).astype(float)


ORDERS_OF_CODE, USES_OF_CODE = _choice_tables()


def tally(locale: np.ndarray, base: np.ndarray, choice: np.ndarray, spend: np.ndarray, quantity: np.ndarray) -> Tally:
    """Count a week of choices (``choice``, ``spend`` and ``quantity`` (the baskets at reference prices) are (categories, households);
    ``base`` is :func:`cell_base` of ``locale``).

    Dollars are summed per (locale, category, channel) cell; orders and users are counts of the
    households' choice codes (one ``bincount`` over households, then exact sums over codes)."""
    cells = (base + choice).ravel()
    shape, size = (N_LOCALES, N_CATEGORIES, N_CHANNELS), N_LOCALES * N_CATEGORIES * N_CHANNELS
    households = count_codes(choice_code(choice), locale, N_LOCALES, CHOICE_BITS)  # (locales, codes)
    return Tally(
        spend=np.bincount(cells, weights=spend.ravel(), minlength=size).reshape(shape),
        base_spend=np.bincount(cells, weights=quantity.ravel(), minlength=size).reshape(shape),
        orders=(households @ ORDERS_OF_CODE.T).reshape(shape),
        users=USES_OF_CODE @ households.T,
    )


def count_codes(code: np.ndarray, groups: np.ndarray, n_groups: int, n_bits: int) -> np.ndarray:
    """(groups, codes): how many households have each code, per group, with one ``bincount``.

    Sums of these counts over the codes that have a bit set count the households with that flag:
    exact, and one pass over the households whatever the number of flags."""
    codes = 1 << n_bits
    return np.bincount(groups * codes + code, minlength=n_groups * codes).reshape(n_groups, codes).astype(float)
