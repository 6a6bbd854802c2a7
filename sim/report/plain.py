"""Figures as plain Plotly data: dicts and numpy arrays, built without Plotly's per-property checks.

Plotly's figure objects validate every property of every trace, shape and annotation as it is set,
which made the report's few hundred traces and event marks cost seconds. The report's figures are
built here as the very dicts ``go.Figure(...).to_dict()`` gives: Plotly still lays out each
figure (subplot grid, axes, titles: one validation per figure, not per trace), and the traces,
event lines and labels are added as dicts. ``go.Figure(figure)`` turns one back into a figure object
(the tests inspect them so).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import plotly
import plotly.graph_objects as go
from _plotly_utils.utils import convert_to_base64

Figure = dict[str, Any]


def blank() -> go.Figure:
    """An empty figure to lay out, without Plotly's default template (the page's is set by :func:`figure`)."""
    return go.Figure(layout={"template": {}})


@lru_cache(maxsize=None)
def _template(name: str) -> dict:
    """A Plotly template's layout and trace defaults as ``go.Figure.to_dict()`` gives them. Plotly's own
    templates are read from the JSON it ships them in (what validating gives, to the value: 0.1 s
    less per report, ``tests/test_report.py``); any other name is looked up and validated."""
    shipped = Path(plotly.__file__).parent / "package_data" / "templates" / f"{name}.json"
    if name.replace("_", "").isalnum() and shipped.is_file():
        return json.loads(shipped.read_text(encoding="utf-8"))
    return validated_template(name)


def validated_template(name: str) -> dict:
    return go.Figure(layout={"template": name}).to_dict()["layout"]["template"]


def figure(layout: go.Figure, template: str, traces: list[dict], shapes: list[dict] | None = None,
           annotations: list[dict] | None = None) -> Figure:
    """A figure as data: the layout of ``layout`` with the named template, then traces, shapes and annotations."""
    spec = layout.to_dict()
    spec["layout"]["template"] = _template(template)
    if shapes:
        spec["layout"].setdefault("shapes", []).extend(shapes)
    if annotations:
        spec["layout"].setdefault("annotations", []).extend(annotations)
    spec["data"] = traces
    return spec


def _copy(value: Any) -> Any:
    """Dicts and lists copied, arrays and scalars shared."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def encoded(spec: Figure) -> Figure:
    """A copy with numpy arrays as Plotly's compact typed arrays (base64), as ``go.Figure.to_dict`` gives them."""
    copy = _copy(spec)
    convert_to_base64(copy)
    return copy


def as_figure(spec: Figure | go.Figure) -> go.Figure:
    """A Plotly figure object (validated) from a figure built here; figure objects pass through."""
    return spec if isinstance(spec, go.Figure) else go.Figure(_copy(spec))

