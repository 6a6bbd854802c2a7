"""The ``Shopper`` Mesa agent: one household, a named view onto its row of the columnar state.

Shoppers do not step one by one; the market decides for all of them at once (``choice.py``,
``memberships.py``). The agent exists so that a household can be looked at, and counted, the
Mesa way: ``model.agents_by_type[Shopper]``.
"""

from __future__ import annotations

import mesa

from ..scenario.types import LOCALES
from .choice import CHANNELS


class Shopper(mesa.Agent):
    """One simulated household, standing for ``model.weight`` US households."""

    def __init__(self, model: mesa.Model, index: int) -> None:
        super().__init__(model)
        self.index = int(index)

    @property
    def _columns(self):
        return self.model.households

    @property
    def state(self) -> str:
        return self.model.geography.state_codes[self._columns.state[self.index]]

    @property
    def locale(self) -> str:
        return LOCALES[self._columns.locale[self.index]]

    @property
    def income(self) -> float:
        return float(self._columns.income[self.index])

    @property
    def memberships(self) -> str:
        """``none``, ``prime_only``, ``walmart_plus_only`` or ``both``."""
        prime, plus = bool(self._columns.prime[self.index]), bool(self._columns.walmart_plus[self.index])
        return {(False, False): "none", (True, False): "prime_only",
                (False, True): "walmart_plus_only", (True, True): "both"}[(prime, plus)]

    @property
    def habits(self) -> dict[str, dict[str, float]]:
        """Recent choice shares per category and channel."""
        habit = self._columns.habit[:, :, self.index]
        return {
            category: {channel: float(habit[k, c]) for k, channel in enumerate(CHANNELS)}
            for c, category in enumerate(("grocery", "discretionary", "health"))
        }
