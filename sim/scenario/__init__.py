"""Scenario files: the pydantic schema, YAML loading with ``extends:`` and events, clear errors."""

from .changes import apply_changes
from .loader import load_scenario
from .schema import Event, Scenario

__all__ = ["Event", "Scenario", "apply_changes", "load_scenario"]
