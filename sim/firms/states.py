"""Service states: a household's access flags packed into one small code.

A firm's service costs depend on a few flags per household (same-day reach, pharmacy, its
membership...). Its rules are written once over every possible combination of them (a table of
a few states), and each household's code picks its column: the same numbers as computing them
household by household, for a fraction of the work. Flag k is bit k of the code.
"""

from __future__ import annotations

import numpy as np

from ..vocabulary import HEALTH, N_CATEGORIES


def flag_code(flags: list[np.ndarray]) -> np.ndarray:
    """Boolean flags per household packed as the bits of one integer code (flag k is bit k)."""
    # The smallest integer that holds the bits: small codes are cheaper to build and count.
    dtype = np.uint8 if len(flags) <= 8 else np.int16 if len(flags) < 16 else np.int64
    code = np.zeros(len(flags[0]), dtype=dtype)
    for bit, flag in enumerate(flags):
        code |= np.left_shift(np.asarray(flag, dtype=bool).view(np.uint8), bit, dtype=dtype)
    return code


def code_bits(n_bits: int) -> np.ndarray:
    """(bits, codes): 1 where code has the bit."""
    return ((np.arange(1 << n_bits)[None, :] >> np.arange(n_bits)[:, None]) & 1).astype(float)


def state_flags(n_flags: int) -> np.ndarray:
    """(flags, states) booleans: every combination of ``n_flags`` flags, one column per state code."""
    return code_bits(n_flags).astype(bool)


def with_flag(code: np.ndarray, flag: np.ndarray, bit: int) -> np.ndarray:
    """A state code with one more flag (a membership, say) as bit ``bit``."""
    return code | np.left_shift(np.asarray(flag, dtype=bool).view(np.uint8), bit, dtype=np.uint8)


def by_category(everyday: np.ndarray, health: np.ndarray) -> np.ndarray:
    """A (categories, states) table: ``everyday`` for grocery and discretionary, ``health`` for health."""
    out = np.empty((N_CATEGORIES, len(everyday)))
    out[:HEALTH] = everyday
    out[HEALTH] = health
    return out
