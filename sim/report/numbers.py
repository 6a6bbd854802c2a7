"""How figures and differences are written in the report, the printed table and the answers in
words: to the precision their 90% interval allows, one precision for a mean and its interval, and
never in scientific notation (docs/reports.md, "How numbers are rounded")."""

from __future__ import annotations

import math

MOST_DECIMALS = 6  # a difference under 0.0000005 reads as zero: 0.000000


def decimals(value: float, figures: int = 2) -> int:
    """The decimals that show ``value`` to ``figures`` significant figures (none from ``10**figures``
    up; at most :data:`MOST_DECIMALS`); 0 for zero or a missing value."""
    if not value or not math.isfinite(value):
        return 0
    return min(MOST_DECIMALS, max(0, figures - 1 - math.floor(math.log10(abs(value)))))


def figure(value: float, digits: int = 1) -> str:
    """A figure to ``digits`` decimals; one too small to show there (``-0.0015`` at two) to two
    significant figures, so that a difference marked as excluding zero never reads as ``-0.00``
    (and never as ``-1.5e-03``; under 0.0000005 it reads as zero)."""
    if value is None or math.isnan(value):
        return "n/a"
    if value != 0 and abs(value) < 0.5 * 10.0 ** -digits:
        return fixed(value, decimals(value))
    return f"{value + 0.0:,.{digits}f}"  # + 0.0: a negative zero reads 0.0, not -0.0


def fixed(value: float, digits: int, end: bool = False) -> str:
    """``value`` to ``digits`` decimals. One that rounds to zero there reads as zero (``0.00``, not
    ``-0.00``), but an interval's ``end`` keeps its sign: ``[-0.00, 0.17]`` crosses zero, where
    ``[0.00, 0.17]`` read as if it stopped there."""
    if value is None or math.isnan(value):
        return "n/a"
    if round(value, digits) == 0:
        return f"{value:.{digits}f}" if end and value else f"{0.0:.{digits}f}"
    return f"{value:,.{digits}f}"


def interval_decimals(mean: float, low: float, high: float) -> int:
    """One precision for a difference and its 90% interval: two significant figures of the
    interval's width, so that the width shows (0.024 [0.022, 0.026] read "0.02 [0.02, 0.03]",
    -0.0046 [-0.0055, -0.0037] "-0.0046 [-0.01, -0.0037]"); where the interval excludes zero, at
    least two of the mean's, and enough that its end nearest zero does not read as zero. Without an
    interval (one replicate, or every seed's difference the same), two of the mean's, or two
    decimals for zero."""
    if math.isnan(low) or not high > low:
        return decimals(mean) if mean else 2
    digits = decimals(high - low)
    if low > 0 or high < 0:
        digits = max(digits, decimals(mean), decimals(min(abs(low), abs(high)), 1))
    return digits


def difference(mean: float, low: float, high: float) -> tuple[str, int]:
    """A difference with its interval ("0.048 [0.041, 0.055]"; the mean alone without one), and the
    decimals it is written to (:func:`interval_decimals`)."""
    digits = interval_decimals(mean, low, high)
    interval = "" if math.isnan(low) else f" [{fixed(low, digits, True)}, {fixed(high, digits, True)}]"
    return fixed(mean, digits) + interval, digits


def in_words(value: float) -> str:
    """A difference in a sentence, signed: two significant figures under 1 (``-0.073``, ``+0.54``:
    one decimal read -0.073 as -0.1, 37% larger), one decimal from 1 up (``+10.8``)."""
    digits = 1 if abs(value) >= 1 else decimals(value)
    return f"{'+' if value >= 0 else '-'}{abs(value):,.{digits}f}"
