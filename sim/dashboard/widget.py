"""The live charts' Plotly widget, with its front end loaded once per page and never lost.

Plotly's ``FigureWidget`` is an anywidget: each widget carries its front end, a 5 MB JavaScript
module, in its own state, so a page of four charts sent 20 MB down its websocket and the browser
compiled the module four times. And anywidget gives a widget's front end 2 s to load: one that
takes longer is never initialised, every later update to it is dropped, and the chart stays an
empty frame for the session (a team's fourth chart in a loaded CI run; delaying the module by 3 s
in a test leaves a chart empty the same way).

Served by ``retailsim dashboard`` or ``retailsim classroom``, the module is served once, at
:data:`ROUTE` (:class:`WidgetScript`, behind the access gate; gzip-compressed and cached by the
browser), and each chart carries a small loader (:data:`LOADER`) instead:

- every page loads the module itself, as a module script in its head, so the browser evaluates it
  (a second or more of its main thread on a loaded machine) before the page boots and creates the
  charts' widgets. Evaluated later, by the first chart, it held up the other charts' start past
  anywidget's 2 s, and one chart in three pages or so was lost (repeated visits, 2 Dec 2026);
- the loader initialises at once and waits for the module only when it draws, then asks the server
  for the figure whole (:meth:`ServedFigure.resync`), so what was sent meanwhile is not lost,
  however long the module took.

Run by plain ``solara run sim.dashboard.app`` (no such route), the charts are Plotly's own widget.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import threading
from copy import deepcopy
from pathlib import Path
from typing import Any, Callable

import plotly
import traitlets
from plotly.graph_objs import FigureWidget

BUNDLE = Path(plotly.__file__).parent / "package_data" / "widgetbundle.js"
ROUTE = f"/retailsim/plotly-widget-{plotly.__version__}.js"  # versioned: cached for good
SERVED = "RETAILSIM_PLOTLY_WIDGET_SERVED"  # "1": this process's server answers ROUTE (serve.gated_solara)
SCRIPT = f'<script type="module" src="{ROUTE}"></script>'.encode()
RESYNC = {"retailsim": "resync"}
LOADER = """
const plotly = import(new URL("%s", window.location.href).href);  // one fetch per page
export default () => {
  let widget, synced;
  const ready = plotly.then((module) => { widget = module.default(); });
  return {
    initialize({ model }) {  // at once: the module is awaited by render, not by anywidget's 2 s
      synced = ready.then(() => new Promise((resolve) => {
        widget.initialize({ model });
        model.on("change:_synced", () => resolve());  // after the figure's state, in the same order
        model.send(%s);
      }));
    },
    async render(view) { await synced; return widget.render(view); },
  };
};
""" % (ROUTE, json.dumps(RESYNC))


class ServedFigure(FigureWidget):
    """Plotly's ``FigureWidget`` whose front end is imported from :data:`ROUTE`."""

    _esm = LOADER
    _synced = traitlets.Int(0).tag(sync=True)  # counts the front end's resyncs (see resync)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._draw_lock = threading.RLock()  # a resync and a redraw never interleave (see resync)
        self.on_msg(self.resync)

    def resync(self, widget: Any, content: Any, buffers: Any) -> None:
        """Answer the front end's request for the figure whole: Plotly's own state of it (data and
        layout, as Plotly sends them to a notebook), then ``_synced`` counted up, which the front
        end waits for; state changes reach it in the order they are sent. Under the lock, so an
        update is either wholly in that state or wholly sent after it."""
        if content != RESYNC:
            return
        with self._draw_lock:
            self._widget_layout = deepcopy(self._layout_obj._props)
            self._widget_data = deepcopy(self._data)
            self.send_state(["_widget_data", "_widget_layout"])  # even if equal to the traits' last values
            self._synced += 1


def figure_class() -> type[FigureWidget]:
    """The widget class the charts use: :class:`ServedFigure` when this server answers :data:`ROUTE`."""
    return ServedFigure if os.environ.get(SERVED) == "1" else FigureWidget


def locked(widget: FigureWidget):
    """The lock a redraw of ``widget`` holds (a :class:`ServedFigure`'s; none for Plotly's own)."""
    return getattr(widget, "_draw_lock", None) or contextlib.nullcontext()


class WidgetScript:
    """ASGI middleware answering ``GET`` (and ``HEAD``) :data:`ROUTE` with Plotly's widget module, read
    once (gzip-compressed for a browser that accepts it: 1.5 MB instead of 5 MB, which matters to a
    class on one Wi-Fi); anything else goes to ``app``."""

    def __init__(self, app: Callable) -> None:
        self.app, self.bodies = app, {}

    @staticmethod
    def injecting(send: Callable) -> Callable:
        """``send``, with a page (an HTML response) loading the module itself, as a deferred module
        script, so the browser evaluates it (a second or more of its main thread) before the page
        boots and creates the charts' widgets, whose 2 s start the evaluation would otherwise eat."""
        start: dict[str, Any] = {}
        parts: list[bytes] = []

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = dict((key.lower(), value) for key, value in message.get("headers", ()))
                if headers.get(b"content-type", b"").startswith(b"text/html") and b"content-encoding" not in headers:
                    start.update(message)
                    return
            elif message["type"] == "http.response.body" and start:
                parts.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                page = b"".join(parts).replace(b"</head>", SCRIPT + b"</head>", 1)
                headers = [(key, str(len(page)).encode() if key.lower() == b"content-length" else value)
                           for key, value in start["headers"]]
                await send({**start, "headers": headers})
                message = {"type": "http.response.body", "body": page}
            await send(message)

        return sending

    def body(self, compressed: bool) -> bytes:
        if compressed not in self.bodies:
            plain = BUNDLE.read_bytes()
            self.bodies[compressed] = gzip.compress(plain, mtime=0) if compressed else plain
        return self.bodies[compressed]

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope.get("path") != ROUTE or scope.get("method") not in ("GET", "HEAD"):
            headers = scope.get("headers", ())
            if any(key.lower() == b"accept" and b"text/html" in value for key, value in headers):  # a page
                scope = {**scope, "headers": [(key, value) for key, value in headers if key.lower() != b"accept-encoding"]}
                return await self.app(scope, receive, self.injecting(send))
            return await self.app(scope, receive, send)
        accepted = b",".join(value for key, value in scope.get("headers", ()) if key.lower() == b"accept-encoding")
        compressed = b"gzip" in accepted.lower()
        body = self.body(compressed)
        headers = [(b"content-type", b"text/javascript; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                   (b"cache-control", b"private, max-age=31536000, immutable"), (b"vary", b"accept-encoding")]
        await send({"type": "http.response.start", "status": 200,
                    "headers": headers + ([(b"content-encoding", b"gzip")] if compressed else [])})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
