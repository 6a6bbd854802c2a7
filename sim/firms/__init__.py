"""The firms: few, so each is a readable Python object (a Mesa agent) that owns its mechanism."""

from ..vocabulary import LEDGER_LINES, Sales
from .amazon import Amazon
from .base import Firm, Reach
from .rivals import Kroger, Rivals
from .walmart import Walmart

# The firms of the market, in the order of ``vocabulary.FIRMS`` (the model builds one of each).
FIRM_TYPES = (Amazon, Walmart, Kroger, Rivals)

__all__ = ["FIRM_TYPES", "LEDGER_LINES", "Amazon", "Firm", "Kroger", "Reach", "Rivals", "Sales", "Walmart"]
