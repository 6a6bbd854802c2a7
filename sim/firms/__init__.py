"""The firms: few, so each is a readable Python object (a Mesa agent) with its own levers."""

from .amazon import Amazon
from ..vocabulary import LEDGER_LINES, Sales
from .base import Firm
from .rivals import Rivals
from .walmart import Walmart

__all__ = ["LEDGER_LINES", "Amazon", "Firm", "Rivals", "Sales", "Walmart"]
