"""The firms: few, so each is a readable Python object (a Mesa agent) with its own levers."""

from .amazon import Amazon
from .base import LEDGER_LINES, Firm, Sales
from .rivals import Rivals
from .walmart import Walmart

__all__ = ["LEDGER_LINES", "Amazon", "Firm", "Rivals", "Sales", "Walmart"]
