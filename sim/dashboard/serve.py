"""Start the classroom dashboard: every check first, then Solara's Starlette app under uvicorn, in
this process.

The rules (``docs/teaching.md``, "Sharing the dashboard safely"):

- Everything is checked before anything starts: the port (1-65535, free: a busy one suggests a free
  one), the host (an IP address, never a name to look up), the access code's form and the scenario
  (a regular file that validates). Problems are one :class:`~sim.errors.UserError` line.
- The server listens on 127.0.0.1 by default. Any other ``--host`` prints a warning and needs an
  access code (``--access-code`` or a random one printed at start): until a browser presents it
  (``/?code=...`` once, then a cookie), every request gets a plain 403 page and never reaches Solara,
  so no session, model or preset is made for it. Without a code, requests must name this machine in
  their ``Host`` header (a page elsewhere cannot reach the dashboard through DNS rebinding).
- Nothing contacts the network: Solara's telemetry (Mixpanel, and its IP lookup) is off, its CDN
  proxy serves only the local copy of its front end (``solara-assets``) and can fetch nothing, and
  ``solara run``'s version check is never run.
- SIGINT, SIGTERM and SIGHUP stop the server (open sessions get a few seconds), freeing the port.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import ipaddress
import os
import re
import secrets
import signal
import socket
import stat
import sys
import threading
import warnings
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qsl, urlencode

from ..errors import UserError
from .sessions import sessions_closed_first

LOOPBACK = ("127.0.0.1", "::1")  # the hosts that need no access code
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")  # what a browser on this machine sends as Host
CODE_FORM = re.compile(r"[A-Za-z0-9_-]{8,64}")
GRACE_SECONDS = 3  # open sessions get this long to close when the server stops
# The front end's files come from solara-assets on this machine; a file missing there must not be
# fetched from the CDN: requests cannot open a file: URL, so the proxy answers 404 without a socket.
OFFLINE_CDN = "file:///retailsim-dashboard-fetches-nothing/"
OFFLINE_ENVIRONMENT = {
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",  # no Mixpanel events, no api.ipify.org lookup
    "SOLARA_ASSETS_CDN": OFFLINE_CDN,
    "SOLARA_ASSETS_PROXY": "True",  # serve the local front end (else the page would name the CDN)
    "SOLARA_MODE": "production",
    "SOLARA_CHECK_HOOKS": "off",  # the lint reads every component's source at start; nothing to check at run time
    "SOLARA_THEME_SHOW_BANNER": "False",  # no "This website runs on Solara" badge over the charts
    "SOLARA_THEME_TITLE": "retailsim dashboard",
    "SOLARA_APP": "sim.dashboard.app",
}
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass(frozen=True)
class Options:
    """A dashboard start, checked: ``access_code`` is None only on a loopback host without one."""

    scenario: Path
    host: str
    port: int
    shoppers: int
    access_code: str | None
    code_generated: bool = False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"


def parse_port(text: object) -> int:
    try:
        port = int(str(text).strip())
    except ValueError:
        raise UserError(f"--port: expected a whole number from 1 to 65535, got '{str(text)[:20]}'") from None
    if not 1 <= port <= 65535:
        raise UserError(f"--port: expected a whole number from 1 to 65535, got {port}")
    return port


def parse_host(text: str) -> str:
    """An IP address (``localhost`` is 127.0.0.1). Names are refused: looking one up would ask DNS."""
    if text.strip().lower() == "localhost":
        return "127.0.0.1"
    try:
        return str(ipaddress.ip_address(text.strip().strip("[]")))
    except ValueError:
        raise UserError(f"--host: expected an IP address of this machine such as 127.0.0.1 or 0.0.0.0 "
                        f"(names are not looked up), got '{text[:40]}'") from None


def check_code(text: str) -> str:
    if not CODE_FORM.fullmatch(text):
        raise UserError("--access-code: expected 8 to 64 letters, digits, '-' or '_'")
    return text


def check_scenario(path: Path, shoppers: int) -> Path:
    """The start scenario: a regular file that loads and validates with the dashboard's households
    (one line if not)."""
    from ..scenario import load_scenario

    try:
        mode = path.stat().st_mode
    except OSError as error:
        raise UserError(f"{path}: cannot read the scenario: {error.strerror}") from None
    if not stat.S_ISREG(mode):
        raise UserError(f"{path}: not a regular file (a scenario is a YAML file)")
    # A bad file is one clear line here, not an error in the browser; so is a model too large.
    load_scenario(path, {"population.shoppers": shoppers})
    return path.resolve()


def check(scenario: Path, host: str = "127.0.0.1", port: object = 8765, shoppers: int = 2000,
          access_code: str | None = None) -> Options:
    """Every option checked, cheapest first; the scenario last (it is loaded)."""
    port_number, address = parse_port(port), parse_host(host)
    code, generated = (check_code(access_code), False) if access_code is not None else (None, False)
    if code is None and address not in LOOPBACK:
        code, generated = secrets.token_urlsafe(12), True
    return Options(check_scenario(Path(scenario), int(shoppers)), address, port_number, int(shoppers), code, generated)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def free_port(host: str) -> int | None:
    with contextlib.suppress(OSError), socket.socket(_family(host)) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]
    return None


def listen(host: str, port: int) -> socket.socket:
    """The server's listening socket, bound now (so a busy port is an error before anything starts)."""
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: restart over TIME_WAIT
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            other = free_port(host)
            hint = f"; try --port {other}" if other else "; choose another with --port N"
            raise UserError(f"port {port} on {host} is in use{hint}") from None
        if error.errno == errno.EACCES:
            raise UserError(f"port {port} needs privileges on this machine; try --port 8765 (or any above 1023)") from None
        raise UserError(f"cannot listen on --host {host}: {error.strerror}; use an address of this machine "
                        "(127.0.0.1, or 0.0.0.0 for every network)") from None
    sock.set_inheritable(True)
    return sock


# -- access control ----------------------------------------------------------------------------------

Scope = dict[str, Any]
FORBIDDEN = (b"403 Forbidden\n\nThis retailsim dashboard needs its access code. Open the address that "
             b"`retailsim dashboard` printed when it started (it ends in ?code=...).\n")
MISDIRECTED = b"403 Forbidden\n\nThis retailsim dashboard answers only to addresses of this machine.\n"


def _host_name(scope: Scope) -> str:
    for key, value in scope.get("headers", ()):
        if key == b"host":
            name = value.decode("latin-1").strip().lower()
            return name.rsplit(":", 1)[0] if not name.endswith("]") else name
    return ""


class AccessGate:
    """ASGI middleware in front of Solara's app.

    With a ``code``: a request passes only with the cookie that ``/?code=CODE`` sets; anything else
    gets a plain 403 (a websocket is refused before it is accepted), and the wrapped app never sees
    it. Without one (loopback): a request passes only if its Host header names this machine."""

    def __init__(self, app: Callable, code: str | None, port: int, forbidden: bytes = FORBIDDEN) -> None:
        self.app, self.code, self.cookie, self.forbidden = app, code, f"retailsim_dashboard_{port}", forbidden
        self.token = None if code is None else hmac.new(code.encode(), b"retailsim dashboard", hashlib.sha256).hexdigest()

    def _cookie_ok(self, scope: Scope) -> bool:
        for key, value in scope.get("headers", ()):
            if key == b"cookie":
                jar = SimpleCookie()
                with contextlib.suppress(CookieError):
                    jar.load(value.decode("latin-1"))
                if self.cookie in jar and hmac.compare_digest(jar[self.cookie].value.encode(), self.token.encode()):
                    return True
        return False

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] not in ("http", "websocket"):  # lifespan: our sessions close before Solara's shutdown
            return await self.app(scope, sessions_closed_first(receive), send)
        if self.code is None:
            if _host_name(scope) in LOOPBACK_NAMES:
                return await self.app(scope, receive, send)
            return await self._refuse(scope, receive, send, MISDIRECTED)
        if self._cookie_ok(scope):
            return await self.app(scope, receive, send)
        if scope["type"] == "http":
            query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
            given = [value for key, value in query if key == "code"]
            if given and hmac.compare_digest(given[-1].encode(), self.code.encode()):
                rest = urlencode([(key, value) for key, value in query if key != "code"])
                location = "/" + scope.get("path", "/").lstrip("/") + (f"?{rest}" if rest else "")
                cookie = f"{self.cookie}={self.token}; Path=/; HttpOnly; SameSite=Lax"
                return await _plain(send, 303, b"", [(b"location", location.encode("latin-1")),
                                                     (b"set-cookie", cookie.encode())])
        return await self._refuse(scope, receive, send, self.forbidden)

    @staticmethod
    async def _refuse(scope: Scope, receive: Callable, send: Callable, body: bytes) -> None:
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008})  # before accept: the server answers 403
            return
        await _plain(send, 403, body)


async def _plain(send: Callable, status: int, body: bytes, headers: list | None = None) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store"), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


# -- the server --------------------------------------------------------------------------------------

SESSION_KEPT = "10m"  # how long a session outlives its last page (Solara's time format)


def offline(app: str = OFFLINE_ENVIRONMENT["SOLARA_APP"], title: str = OFFLINE_ENVIRONMENT["SOLARA_THEME_TITLE"]) -> None:
    """Solara's settings for a server that contacts nothing (environment first: Solara reads it at
    import; then the loaded settings themselves, in case Solara was imported already), serving the
    page module ``app`` under ``title``."""
    os.environ.update({**OFFLINE_ENVIRONMENT, "SOLARA_APP": app, "SOLARA_THEME_TITLE": title})
    import solara.server.settings as server_settings
    import solara.settings as solara_settings

    server_settings.telemetry.mixpanel_enable = False
    server_settings.theme.show_banner = False
    server_settings.theme.title = title
    # A closed tab's session (its thread, its market) is ended this long after its page went away, not
    # Solara's 24 hours: a class opens and closes dozens of tabs (threads 24 -> 42 and 277 -> 343 MB
    # over a lesson, measured). A page that comes back later (a laptop that slept) starts afresh;
    # a classroom team joins again and finds its submission, which the game holds.
    server_settings.kernel.cull_timeout = SESSION_KEPT
    solara_settings.assets.cdn = OFFLINE_CDN
    if not solara_settings.assets.proxy:
        raise UserError("Solara's local front end is unavailable (its cache folder could not be made), and the "
                        "page would load it from the internet; reinstall with `make install`")


def application(options: Options) -> Callable:
    """Solara's Starlette app for ``sim.dashboard.app``, behind the access gate."""
    from . import model

    model.configure(options.scenario, options.shoppers)
    os.environ.update({"RETAILSIM_DASHBOARD_SCENARIO": str(options.scenario),
                       "RETAILSIM_DASHBOARD_SHOPPERS": str(options.shoppers)})
    return gated_solara(options)


def gated_solara(options: Options, app: str = OFFLINE_ENVIRONMENT["SOLARA_APP"],
                 title: str = OFFLINE_ENVIRONMENT["SOLARA_THEME_TITLE"], forbidden: bytes = FORBIDDEN) -> Callable:
    """Solara's Starlette app serving the page module ``app``, offline, behind the access gate (the
    dashboard's and the classroom game's)."""
    os.environ.update({"SERVER_NAME": options.host, "SERVER_PORT": str(options.port)})
    offline(app, title)
    # Plain http on a classroom address: Solara warns at every page that its cookie cannot be samesite=none.
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")
    from solara.server.starlette import app as starlette_app

    from .widget import SERVED, WidgetScript

    os.environ[SERVED] = "1"  # the charts load Plotly's module from WidgetScript's route
    return AccessGate(WidgetScript(starlette_app), options.access_code, options.port, forbidden)


def _server_class():
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, stopped by SIGINT, SIGTERM or SIGHUP, without re-raising the signal."""

        stopped_by: int | None = None

        @contextlib.contextmanager
        def capture_signals(self):
            if threading.current_thread() is not threading.main_thread():
                yield
                return

            def stop(sig: int, frame: object) -> None:
                if self.should_exit:  # a second signal: stop without waiting for sessions
                    self.force_exit = True
                self.should_exit, self.stopped_by = True, sig

            previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return Server


def announcement(options: Options) -> list[str]:
    """What ``retailsim dashboard`` prints once it listens: the address to open."""
    if options.access_code is None:
        return [f"dashboard: {options.url}  (Ctrl-C to stop)"]
    return [f"dashboard: {options.url}?code={options.access_code}  (access code {options.access_code}; "
            f"Ctrl-C to stop)"]


def serve(options: Options, out=None, err=None, *, name: str = "dashboard", lines: list[str] | None = None,
          app: Callable[[Options], Callable] = application) -> int:
    """Bind, announce (``lines``, default the dashboard's), serve ``app(options)`` until a stop
    signal; 0 when stopped by one. ``name`` starts the lines written to stderr."""
    out, err = out or sys.stdout, err or sys.stderr
    sock = listen(options.host, options.port)
    try:
        if options.host not in LOOPBACK:
            print(f"retailsim: warning: --host {options.host} lets other machines reach the {name}; "
                  f"they need its access code", file=err, flush=True)
        for line in announcement(options) if lines is None else lines:
            print(line, file=out, flush=True)
        import uvicorn

        asgi_app = app(options)
        config = uvicorn.Config(asgi_app, log_level="warning", access_log=False, lifespan="on",
                                timeout_graceful_shutdown=GRACE_SECONDS)
        server = _server_class()(config)
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # Ctrl-C before the server took over the signals
        print(f"{name}: stopped", file=err, flush=True)
        return 0
    finally:
        sock.close()
    how = f" ({signal.Signals(server.stopped_by).name})" if server.stopped_by else ""
    print(f"{name}: stopped{how}", file=err, flush=True)
    return 0


def start(scenario: Path | None = None, host: str = "127.0.0.1", port: object = 8765, shoppers: int | None = None,
          access_code: str | None = None) -> int:
    """``retailsim dashboard``: check everything, then serve until a stop signal."""
    from ..shipped import baseline
    from .model import DEFAULT_SHOPPERS

    options = check(scenario or baseline(), host, port, shoppers or DEFAULT_SHOPPERS,
                    access_code)
    from .model import check_lessons

    for line in check_lessons():
        print(f"dashboard: warning: {line}", file=sys.stderr)
    return serve(options)
