"""The firms: few, so each is a readable Python object (a Mesa agent) that owns its mechanism."""

from ..vocabulary import LEDGER_LINES, Sales
from .amazon import Amazon
from .base import Firm, Reach
from .rivals import Rivals
from .walmart import Walmart

# The firms of the market, in the order of ``vocabulary.FIRMS`` (the model builds one of each).
FIRM_TYPES = (Amazon, Walmart, Rivals)

__all__ = ["FIRM_TYPES", "LEDGER_LINES", "Amazon", "Firm", "Reach", "Rivals", "Sales", "Walmart"]
