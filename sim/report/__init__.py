"""Reports: tables of finished runs in, Plotly figures and one self-contained HTML page out.

Reports read results; they never run the model.
"""

from .ensemble import Ensemble
from .page import Report, build_report

__all__ = ["Ensemble", "Report", "build_report"]
