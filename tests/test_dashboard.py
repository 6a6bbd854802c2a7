"""The classroom dashboard in a real browser: press step, move a slider, see the monitors change."""

from __future__ import annotations

import gzip
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from sim.dashboard.levers import LEVERS, shown, slider, sliders
from sim.dashboard.model import DashboardMarket, build, presets
from sim.scenario import load_scenario
from sim.scenario.walmart import DarkStores

from .browser import ARTIFACTS, chromium, offline_browser, offline_page

ROOT = Path(__file__).resolve().parents[1]


def test_sliders_come_from_the_schema_and_the_scenario() -> None:
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    specs = sliders(scenario)
    assert len(specs) == len(LEVERS)
    fraud = specs["returns__fraud_share_of_returns"]
    assert (fraud["min"], fraud["max"], fraud["value"]) == (0.0, 1.0, scenario.returns.fraud_share_of_returns)
    dark = specs["walmart__dark_stores__count"]
    assert dark["type"] == "SliderInt" and dark["max"] == DarkStores.model_fields["count"].metadata[-1].le
    fee = slider(scenario, "walmart.walmart_plus.fee_annual")
    assert fee["value"] == 98.0 and fee["min"] == 0.0 and fee["max"] == 196.0 and fee["step"] == 1.0
    assert shown("walmart.walmart_plus.fee_annual", 98.0) == "$98/yr"
    assert shown("amazon.rural.investment_per_year_usd", 3.2e9) == "$3.2bn/yr"
    assert shown("returns.fraud_share_of_returns", 0.3) == "30% of returns"


def test_a_moved_lever_holds_for_the_whole_run() -> None:
    base = str(ROOT / "scenarios" / "baseline.yaml")
    moved = build(base, 3, 100, {"amazon__prime__fee_annual": 79.0})
    assert moved.amazon.prime.fee_annual == 79.0
    assert all("amazon.prime.fee_annual" not in event.set for event in moved.events), "the $139 event is dropped"
    untouched = build(base, 3, 100, {"amazon__prime__fee_annual": 119.0})
    assert any("amazon.prime.fee_annual" in event.set for event in untouched.events)


def test_the_dashboard_model_starts_at_the_horizon_and_has_lesson_presets() -> None:
    model = DashboardMarket(shoppers=200)
    assert model.date == model.scenario.horizon.start - __import__("datetime").timedelta(days=7)
    assert {"multi_homing", "word_of_mouth", "last_mile_race", "return_fraud",
            "automation_vs_augmentation"} <= set(presets())
    lesson = DashboardMarket(scenario="word_of_mouth", shoppers=200)
    assert lesson.params.memberships.imitation_q_per_year == 1.0 and lesson.scenario.description


def test_profit_is_shown_as_a_level_and_its_change() -> None:
    """The monitors show each firm's operating profit of the latest 13 weeks (annualised, on accounts
    fitted to the filings) and its change from the run's first 13 weeks, once there are 26."""
    import re

    from sim.dashboard.panels import monitors

    model = DashboardMarket(shoppers=200)
    for _ in range(20):
        model.step()
    assert monitors(model)["Amazon operating profit"] == "shown after 26 weeks"
    for _ in range(10):
        model.step()
    shown_now = monitors(model)
    for firm in ("Amazon", "Walmart"):
        assert re.fullmatch(r"-?[\d,]+\.\d \$bn/yr \([+-][\d,]+\.\d since 2021 Q1\)", shown_now[f"{firm} operating profit"])


def test_the_sliders_start_from_the_chosen_presets_values() -> None:
    """Choosing a preset shows its own lever values, and an untouched lever keeps the preset's value
    (only moved levers reach the model): the last-mile race keeps its doubled rural investment."""
    race = presets()["last_mile_race"]
    specs = sliders(load_scenario(race))
    assert specs["amazon__rural__investment_per_year_usd"]["value"] == 3.2e9
    assert build(race, 1, 100, {}).amazon.rural.investment_per_year_usd == 3.2e9


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def wait_until(condition, seconds: float, what: str, step: float = 0.1):
    """Poll ``condition`` until it returns something true, for at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds} s")
        time.sleep(step)


def answers(url: str, **headers: str) -> int | None:
    """The HTTP status of a GET (no redirects followed), or None while nothing listens."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(urllib.request.Request(url, headers=headers),
                                                          timeout=2) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


def start_dashboard(*options: str, prefix: tuple[str, ...] = (), env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([*prefix, sys.executable, "-m", "sim.cli", "dashboard", "--shoppers", "500", *options],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, **(env or {})})


def stop(process: subprocess.Popen, sig: int, seconds: float = 15) -> tuple[int, str, str]:
    """Send ``sig`` and wait (bounded) for the exit: (exit code, stdout, stderr)."""
    process.send_signal(sig)
    try:
        out, err = process.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"the dashboard did not stop within {seconds} s of {signal.Signals(sig).name}: {err[-2000:]}")
    return process.returncode, out, err


@pytest.fixture(scope="module")
def dashboard():
    """``retailsim dashboard`` on a loopback port, shared by the module's browser tests."""
    with served_dashboard() as url:
        yield url


@contextmanager
def served_dashboard():
    """``retailsim dashboard`` on a free loopback port (its URL); stopped with Ctrl-C (SIGINT) at the
    end, which must be quiet: exit 0, one line, the port free."""
    chromium()  # skip early (or fail in CI) without a browser
    port = free_port()
    process = start_dashboard("--port", str(port))
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until(lambda: answers(url) == 200 or process.poll() is not None, 120, "the dashboard starting")
        if process.poll() is not None:
            pytest.fail("the dashboard did not start: " + process.stderr.read()[-2000:])
        yield url
    finally:
        if process.poll() is None:
            code, out, err = stop(process, signal.SIGINT)
            assert (code, err.strip()) == (0, "dashboard: stopped (SIGINT)"), err[-2000:]
            assert out.strip() == f"dashboard: {url}  (Ctrl-C to stop)"
            assert port_is_free("127.0.0.1", port)


def monitors(page) -> dict[str, str]:
    texts = page.locator(".retailsim-monitor").all_inner_texts()
    return dict(text.split(": ", 1) for text in texts)


def fee_lever(page):
    return page.locator(".v-input").filter(has_text="Walmart+ fee")


def test_step_and_slider_change_the_monitors_in_a_real_browser(dashboard) -> None:
    with offline_page(allow=dashboard) as page:
        page.goto(dashboard)
        page.wait_for_selector(".retailsim-monitor", timeout=60_000)
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 4", timeout=60_000)
        before = monitors(page)
        page.get_by_role("button", name="Step", exact=True).click()
        page.wait_for_function(f"!document.body.innerText.includes('Week: {before['Week']}')", timeout=30_000)
        after = monitors(page)
        assert after["Week"] > before["Week"]
        assert before["Walmart+ fee"] == "$98/yr"
        # Move the Walmart+ fee slider to its minimum, then Reset: the new model runs with it.
        fee = fee_lever(page).locator("[role=slider]")
        fee.focus()
        fee.press("Home")
        wait_until(lambda: "Walmart+ fee: $0/yr" in fee_lever(page).inner_text(), 15, "the slider showing its value")
        assert monitors(page)["Walmart+ fee"] == "$98/yr", "the model changes only at Reset"
        page.get_by_role("button", name="Reset", exact=True).click()
        page.wait_for_function("[...document.querySelectorAll('.retailsim-monitor')]"
                               ".some(m => m.innerText === 'Walmart+ fee: $0/yr')", timeout=30_000)
        assert monitors(page)["Walmart+ fee"] == "$0/yr"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        assert page.errors == []


# -- presets by name only ------------------------------------------------------------------------------

def test_presets_are_names_and_anything_else_is_refused_without_opening_a_file(monkeypatch) -> None:
    import builtins
    import io

    from sim.dashboard.model import UnknownPreset, preset, preset_file

    names = list(presets())
    assert all("/" not in name and "." not in name for name in names)
    preset.cache_clear()
    opened = []

    def refuse(*args, **kwargs):
        opened.append(args[:1])
        raise AssertionError(f"opened {args[:1]}")

    bad = ["/etc/passwd", "../../etc/passwd", str(ROOT / "scenarios" / "baseline.yaml"), "baseline.yaml",
           "scenarios/lessons/word_of_mouth", "", "x" * 5000, 3, ["baseline"]]
    errors = []
    with monkeypatch.context() as patch:
        for target, name in ((builtins, "open"), (io, "open"), (os, "open"), (Path, "open"), (Path, "read_text"),
                             (Path, "read_bytes")):
            patch.setattr(target, name, refuse)
        for value in bad:
            with pytest.raises(UnknownPreset) as refused:
                DashboardMarket(scenario=value, shoppers=100)
            errors.append(str(refused.value))
            with pytest.raises(UnknownPreset):
                preset_file(value)
        with pytest.raises(UnknownPreset):
            preset_file(None)  # (DashboardMarket's own default, scenario=None, is the start scenario)
    assert opened == []
    for message in errors:
        assert message.startswith("unknown lesson preset ") and "choose one of baseline, " in message
        assert "root:" not in message and len(message) < 200 and "\n" not in message
    assert preset_file("word_of_mouth") == str(ROOT / "scenarios" / "lessons" / "word_of_mouth.yaml")


# -- options are checked before anything starts --------------------------------------------------------

def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    from sim.cli import main

    code = main(["dashboard", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv, expected", [
    (("--port", "0"), "retailsim: error: --port: expected a whole number from 1 to 65535, got 0"),
    (("--port", "65536"), "retailsim: error: --port: expected a whole number from 1 to 65535, got 65536"),
    (("--port", "http"), "retailsim: error: --port: expected a whole number from 1 to 65535, got 'http'"),
    (("--host", "dashboard.example.org"), "retailsim: error: --host: expected an IP address of this machine "
                                          "such as 127.0.0.1 or 0.0.0.0 (names are not looked up), got "
                                          "'dashboard.example.org'"),
    (("--host", "192.0.2.1"), "retailsim: error: cannot listen on --host 192.0.2.1: Cannot assign requested "
                              "address; use an address of this machine (127.0.0.1, or 0.0.0.0 for every network)"),
    (("--access-code", "short"), "retailsim: error: --access-code: expected 8 to 64 letters, digits, '-' or '_'"),
    (("--access-code", "spaces are not allowed"), "retailsim: error: --access-code: expected 8 to 64 letters, "
                                                  "digits, '-' or '_'"),
    (("/dev",), "retailsim: error: /dev: not a regular file (a scenario is a YAML file)"),
    (("no/such/scenario.yaml",), "retailsim: error: no/such/scenario.yaml: cannot read the scenario: "
                                 "No such file or directory"),
])
def test_bad_options_are_one_line_and_exit_2_before_anything_starts(capsys, argv, expected) -> None:
    started = time.monotonic()
    assert run_cli(capsys, "--port", str(free_port()), *argv) == (2, "", expected + "\n")
    assert time.monotonic() - started < 10


def test_a_busy_port_suggests_a_free_one(capsys) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out, err = run_cli(capsys, "--port", str(port))
    assert (code, out) == (2, "") and err.count("\n") == 1
    prefix = f"retailsim: error: port {port} on 127.0.0.1 is in use; try --port "
    assert err.startswith(prefix)
    assert port_is_free("127.0.0.1", int(err[len(prefix):]))


def test_a_scenario_that_does_not_validate_is_refused_before_the_server_starts(capsys, tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nwalmart: {walmart_plus: {fee_annual: -5}}\n")
    port = free_port()
    code, out, err = run_cli(capsys, str(bad), "--port", str(port))
    assert (code, out) == (2, "") and err.count("\n") == 1 and err.startswith(f"retailsim: error: {bad}")
    assert port_is_free("127.0.0.1", port)
    # The households of every session's model are checked as run checks them, and named as given.
    for shoppers in ("2000000000", "5"):
        code, out, err = run_cli(capsys, "--port", str(port), "--shoppers", shoppers)
        assert (code, out) == (2, "") and err.count("\n") == 1 and "argument --shoppers: must be from 10" in err, err


# -- the access gate -----------------------------------------------------------------------------------

def asgi(app, scope: dict, messages: list[dict] | None = None) -> list[dict]:
    """Drive an ASGI app with one request; what it sent."""
    import asyncio

    incoming = list(messages or [{"type": "http.request", "body": b""}])
    sent = []

    async def receive():
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def http(path: str = "/", query: str = "", host: str = "127.0.0.2:8765", cookie: str | None = None,
         kind: str = "http") -> dict:
    headers = [(b"host", host.encode())] + ([(b"cookie", cookie.encode())] if cookie else [])
    return {"type": kind, "path": path, "query_string": query.encode(), "headers": headers, "root_path": ""}


def test_without_the_access_code_nothing_reaches_the_app() -> None:
    from sim.dashboard.serve import AccessGate, check_code

    reached = []

    async def app(scope, receive, send):
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"the dashboard"})

    code = check_code("classroom-42")
    gate = AccessGate(app, code, 8765)
    for scope in (http(), http(query="code=wrong-code"), http("/static/main.js"), http(query="code="),
                  http(cookie="retailsim_dashboard_8765=classroom-42"), http(cookie="retailsim_dashboard_8765=x"),
                  http("/_solara/api/close/k", query="code=Classroom-42")):
        sent = asgi(gate, scope)
        assert sent[0]["status"] == 403 and b"access code" in sent[1]["body"] and b"the dashboard" not in sent[1]["body"]
    refused = asgi(gate, http("/jupyter/api/kernels/k/channels", kind="websocket"), [{"type": "websocket.connect"}])
    assert refused == [{"type": "websocket.close", "code": 1008}]  # before accept: uvicorn answers 403
    assert reached == []

    granted = asgi(gate, http("/", query="code=classroom-42&lang=en"))
    headers = dict(granted[0]["headers"])
    assert granted[0]["status"] == 303 and headers[b"location"] == b"/?lang=en"
    cookie = headers[b"set-cookie"].decode()
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "classroom-42" not in cookie
    value = cookie.split(";")[0]
    assert asgi(gate, http("/", cookie=value))[1]["body"] == b"the dashboard"
    assert asgi(gate, http("/jupyter/api/kernels/k/channels", cookie=value, kind="websocket"))[0]["status"] == 200
    assert reached == ["/", "/jupyter/api/kernels/k/channels"]
    # The cookie of one code does not open a dashboard with another.
    assert asgi(AccessGate(app, check_code("another-code"), 8765), http(cookie=value))[0]["status"] == 403


def test_the_charts_widget_module_is_served_once_cached_and_only_behind_the_gate() -> None:
    from sim.dashboard.serve import AccessGate, check_code
    from sim.dashboard.widget import BUNDLE, ROUTE, WidgetScript

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"the dashboard"})

    served = WidgetScript(app)
    sent = asgi(served, {**http(ROUTE), "method": "GET"})
    headers = dict(sent[0]["headers"])
    assert sent[0]["status"] == 200 and headers[b"content-type"].startswith(b"text/javascript")
    assert b"immutable" in headers[b"cache-control"] and sent[1]["body"] == BUNDLE.read_bytes()
    head = asgi(served, {**http(ROUTE), "method": "HEAD"})
    assert head[0]["headers"] == sent[0]["headers"] and head[1]["body"] == b""
    gzipped = asgi(served, {**http(ROUTE), "method": "GET",
                            "headers": [(b"host", b"127.0.0.2:8765"), (b"accept-encoding", b"gzip, deflate, br")]})
    assert dict(gzipped[0]["headers"])[b"content-encoding"] == b"gzip" and b"content-encoding" not in headers
    assert gzip.decompress(gzipped[1]["body"]) == BUNDLE.read_bytes() and len(gzipped[1]["body"]) < len(sent[1]["body"]) / 2
    for scope in ({**http(ROUTE), "method": "POST"}, {**http("/retailsim/other.js"), "method": "GET"}):
        assert asgi(served, scope)[1]["body"] == b"the dashboard"

    async def page(scope, receive, send):  # as Solara would answer: compressed if the browser accepts it
        compressed = any(key == b"accept-encoding" for key, _ in scope["headers"])
        body = b"<html><head><title>t</title></head><body></body></html>"
        body = gzip.compress(body) if compressed else body
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(body)).encode()),
            *([(b"content-encoding", b"gzip")] if compressed else [])]})
        await send({"type": "http.response.body", "body": body[:10], "more_body": True})
        await send({"type": "http.response.body", "body": body[10:]})

    browser = [(b"host", b"127.0.0.2:8765"), (b"accept", b"text/html,*/*"), (b"accept-encoding", b"gzip")]
    sent = asgi(WidgetScript(page), {**http("/"), "method": "GET", "headers": browser})
    script = f'<script type="module" src="{ROUTE}"></script>'.encode()
    body = b"".join(message.get("body", b"") for message in sent[1:])
    assert body == b"<html><head><title>t</title>" + script + b"</head><body></body></html>"  # evaluated before the page boots
    assert dict(sent[0]["headers"])[b"content-length"] == str(len(body)).encode()
    other = asgi(WidgetScript(page), {**http("/"), "method": "GET", "headers": browser[:1] + browser[2:]})  # not a page
    assert dict(other[0]["headers"])[b"content-encoding"] == b"gzip" and script not in gzip.decompress(
        b"".join(message.get("body", b"") for message in other[1:]))
    refused = asgi(AccessGate(served, check_code("classroom-42"), 8765), {**http(ROUTE), "method": "GET"})
    assert refused[0]["status"] == 403 and b"access code" in refused[1]["body"]


def test_on_loopback_only_requests_naming_this_machine_reach_the_app() -> None:
    from sim.dashboard.serve import AccessGate

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    gate = AccessGate(app, None, 8765)
    for host in ("127.0.0.1:8765", "localhost:8765", "[::1]:8765"):
        assert asgi(gate, http(host=host))[0]["status"] == 200
    for host in ("attacker.example:8765", "", "127.0.0.1.attacker.example"):  # DNS rebinding
        assert asgi(gate, http(host=host))[0]["status"] == 403


def test_solara_is_configured_to_contact_nothing(monkeypatch) -> None:
    from sim.dashboard.serve import OFFLINE_ENVIRONMENT, check, offline

    for name, value in OFFLINE_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)  # restored after the test
    offline()
    import solara.server.cdn_helper as cdn
    import solara.server.settings as server_settings
    import solara.settings as solara_settings

    assert server_settings.telemetry.mixpanel_enable is False and solara_settings.assets.proxy is True
    assert OFFLINE_ENVIRONMENT["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    import solara.util

    # A closed tab's session ends 10 minutes after its page went away (Solara's own: 24 hours).
    assert solara.util.parse_timedelta(server_settings.kernel.cull_timeout) == 600
    with pytest.raises(Exception, match="No connection adapters"):  # refused by requests before any socket
        cdn.get_data(Path(server_settings.assets.proxy_cache_dir), "no-such-package@1.0.0/x.js")
    options = check(ROOT / "scenarios" / "baseline.yaml", "0.0.0.0", "8765")
    assert options.code_generated and len(options.access_code) == 16
    assert check(ROOT / "scenarios" / "baseline.yaml").access_code is None


# -- in the real browser -------------------------------------------------------------------------------

def open_dashboard(page, url: str) -> dict[str, str]:
    page.goto(url)
    page.wait_for_selector(".retailsim-monitor", timeout=60_000)
    return monitors(page)


def step(page, times: int = 1) -> str:
    """Press Step ``times`` times (each one week); the week shown afterwards."""
    for _ in range(times):
        week = monitors(page)["Week"]
        page.get_by_role("button", name="Step", exact=True).click()
        page.wait_for_function(f"!document.body.innerText.includes('Week: {week}')", timeout=30_000)
    return monitors(page)["Week"]


# The server of the tests below runs with this audit hook (a sitecustomize on PYTHONPATH): every
# socket operation of the process is checked before it happens; one aimed outside 127.0.0.0/8 (or
# ::1), or a lookup of any name but localhost, is logged and refused, so nothing can leave even if
# something tried. It also logs binds (proof that the hook sees the server's sockets), YAML files
# opened (presets loaded) and child processes (which would escape the hook).
AUDIT_HOOK = r"""
import ipaddress, json, os, sys

_log = os.open(os.environ["RETAILSIM_AUDIT_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)


def _write(**record):
    os.write(_log, (json.dumps({"pid": os.getpid(), **record}, default=repr) + "\n").encode())


def _local(host):
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host is None or host in ("", "localhost"):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _hook(event, args):
    if not event.startswith(("socket.", "open", "subprocess.", "os.exec", "os.posix_spawn", "os.system")):
        return
    if event == "open":
        if isinstance(args[0], (str, bytes, os.PathLike)) and os.fsdecode(args[0]).endswith(".yaml"):
            _write(event=event, target=os.fsdecode(args[0]))
        return
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg", "socket.bind"):
        address = args[-1]
        if not isinstance(address, tuple):  # a Unix socket: on this machine
            return
        host = address[0]
    elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr"):
        host = args[0]
    elif event == "socket.getnameinfo":
        host = args[0][0]
    elif event.startswith(("subprocess.", "os.exec", "os.posix_spawn", "os.system")):
        import traceback
        _write(event=event, target=args[0], verdict="child process",
               stack=[f"{f.filename}:{f.lineno}" for f in traceback.extract_stack()[-12:-1]])
        return
    else:
        return
    if _local(host):
        _write(event=event, target=host)
        return
    _write(event=event, target=host, verdict="refused")
    raise PermissionError(f"{event} {host!r}: refused by the test's audit hook (network cut)")


sys.addaudithook(_hook)
_write(event="installed")
"""


class Namespace:
    """The network namespace of a process (one that has only its own loopback): run Python calls
    in it (a thread entered with setns) and Chromium (through nsenter)."""

    def __init__(self, pid: int) -> None:
        self.path = f"/proc/{pid}/ns/net"
        # Until ``unshare`` has made it, the process is still in this process's namespace.
        wait_until(lambda: os.stat(self.path).st_ino != os.stat("/proc/self/ns/net").st_ino, 10,
                   "the network namespace being made")
        self.fd = os.open(self.path, os.O_RDONLY)  # keeps the namespace alive after the process ends

    def run(self, call):
        import ctypes
        import threading

        outcome: dict = {}

        def enter_and_call():
            try:
                if ctypes.CDLL(None, use_errno=True).setns(self.fd, 0x40000000) != 0:  # CLONE_NEWNET
                    raise OSError(ctypes.get_errno(), "setns")
                outcome["value"] = call()
            except BaseException as error:  # noqa: BLE001 - re-raised in the caller
                outcome["error"] = error

        thread = threading.Thread(target=enter_and_call)
        thread.start()
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    def chromium(self, folder: Path) -> str:
        wrapper = folder / "chromium-in-namespace"
        wrapper.write_text(f'#!/bin/sh\nexec nsenter --net={self.path} {chromium()} "$@"\n')
        wrapper.chmod(0o755)
        return str(wrapper)

    def close(self) -> None:
        os.close(self.fd)


def cut_network_prefix() -> tuple[str, ...] | None:
    """``unshare`` arguments that start a command in a new network namespace with only its loopback
    up, or None where this machine does not allow it (then the audit hook alone cuts the network)."""
    ip = shutil.which("ip") or shutil.which("ip", path="/usr/sbin:/sbin")
    if not (ip and shutil.which("unshare") and shutil.which("nsenter")):
        return None
    prefix = ("unshare", "--net", "--", "sh", "-c", f'{ip} link set lo up && exec "$@"', "sh")
    try:
        done = subprocess.run([*prefix, "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return prefix if done.returncode == 0 else None


class Shared:
    """A dashboard shared on another address (127.0.0.2: still this machine), with the network cut."""

    def __init__(self, folder: Path) -> None:
        folder.joinpath("sitecustomize.py").write_text(AUDIT_HOOK)
        self.log = folder / "audit.jsonl"
        prefix = cut_network_prefix()
        self.cut = prefix is not None
        self.port = 8765 if self.cut else free_port("127.0.0.2")  # a fresh namespace has every port free
        self.process = start_dashboard(
            "--host", "127.0.0.2", "--port", str(self.port), prefix=prefix or (),
            env={"PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")]),
                 "RETAILSIM_AUDIT_LOG": str(self.log)})
        self.namespace = Namespace(self.process.pid) if self.cut else None
        self.url = f"http://127.0.0.2:{self.port}/"
        self.executable = self.namespace.chromium(folder) if self.cut else None
        try:
            wait_until(lambda: self.process.poll() is not None or self.here(answers, self.url) == 403, 120,
                       "the shared dashboard starting")
        finally:
            if self.process.poll() is not None or self.here(answers, self.url) != 403:
                self.process.kill()
                err = self.process.communicate()[1]
                self.stop()
                pytest.fail(f"the shared dashboard did not start: {err[-2000:]}")
        line = self.process.stdout.readline().strip()  # printed before the server answers
        assert line.startswith(f"dashboard: {self.url}?code=") and line.endswith("; Ctrl-C to stop)"), line
        self.code = line.split("?code=")[1].split()[0]
        self.sessions = 0

    def here(self, call, *args):
        """``call(*args)`` where the server is (in its namespace when the network is cut)."""
        return self.namespace.run(lambda: call(*args)) if self.cut else call(*args)

    def records(self) -> list[dict]:
        import json

        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()
        if self.namespace:
            self.namespace.close()


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    chromium()
    server = Shared(tmp_path_factory.mktemp("shared"))
    try:
        yield server
    finally:
        server.stop()


def test_another_host_needs_the_access_code_printed_at_start(shared) -> None:
    served = len(shared.records())
    for path in ("", "?code=wrong-code-1", "static/assets/style.css", "jupyter/api/kernels/x",
                 "_solara/api/close/x"):
        assert shared.here(answers, shared.url + path) == 403
    upgrade = (b"GET /jupyter/api/kernels/k/channels HTTP/1.1\r\nHost: 127.0.0.2\r\nUpgrade: websocket\r\n"
               b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")

    def websocket_status() -> bytes:
        with socket.create_connection(("127.0.0.2", shared.port), timeout=5) as sock:
            sock.sendall(upgrade)
            return sock.recv(100).split(b"\r\n")[0]

    assert shared.here(websocket_status) == b"HTTP/1.1 403 Forbidden"
    # Nothing behind the gate ran: no preset (YAML) was opened since the server started answering.
    assert [r for r in shared.records()[served:] if r["event"] == "open"] == []
    assert shared.here(answers, f"{shared.url}?code={shared.code}") == 303


def test_each_browser_session_has_its_own_model(shared, tmp_path) -> None:
    with offline_browser(allow=shared.url, executable=shared.executable) as new_page:
        first, second = new_page(), new_page()  # two contexts: two sessions, as two students
        entry = f"{shared.url}?code={shared.code}"
        first.goto(entry)
        second.goto(entry)
        first.wait_for_selector(".retailsim-monitor", timeout=90_000)
        second.wait_for_selector(".retailsim-monitor", timeout=90_000)
        shared.sessions += 2
        assert first.url == shared.url  # the code is exchanged for a cookie, not left in the address
        start = monitors(first)["Week"]
        assert monitors(second)["Week"] == start
        moved = step(first, 2)
        assert moved > start
        second.wait_for_timeout(500)  # a shared model would redraw here at the next update
        assert monitors(second)["Week"] == start  # the other session did not move
        assert step(second) > start and monitors(first)["Week"] == moved
        # The preset menu lists names only, never a server path.
        second.locator(".v-select").filter(has_text="Lesson preset").click()
        options = second.locator(".menuable__content__active .v-list-item__title").all_inner_texts()
        assert options == list(presets())
        assert first.errors == [] and second.errors == []


def test_nothing_tries_to_leave_the_machine_and_sigterm_frees_the_port(shared) -> None:
    """With a browser session open, then SIGTERM: the port is free within seconds, and the server
    never tried to reach anything but this machine (its telemetry, version check and CDN are off)."""
    with offline_browser(allow=shared.url, executable=shared.executable) as new_page:
        page = new_page()
        page.goto(f"{shared.url}?code={shared.code}")
        page.wait_for_selector(".retailsim-monitor", timeout=90_000)
        if shared.sessions == 0:  # run alone: make the session do something
            step(page)
        stopped = time.monotonic()
        code, out, err = stop(shared.process, signal.SIGTERM)
        assert time.monotonic() - stopped < 10 and code == 0
    assert shared.here(lambda: port_is_free("127.0.0.2", shared.port))
    assert err.splitlines() == ["retailsim: warning: --host 127.0.0.2 lets other machines reach the dashboard; "
                                "they need its access code", "dashboard: stopped (SIGTERM)"]
    records = [r for r in shared.records() if r["pid"] == shared.process.pid]
    assert {"event": "installed", "pid": shared.process.pid} in records  # the hook ran in the server
    assert any(r["event"] == "socket.bind" and r["target"] == "127.0.0.2" for r in records)
    assert any(r["event"] == "open" for r in records)  # the sessions' presets, after the code
    assert [r for r in shared.records() if r.get("verdict") == "refused"] == [], "something tried to leave the machine"
    # The only child process: ``ldconfig -p`` run by ctypes.util.find_library (sim/model/allocator.py,
    # tuning malloc); it reads a local cache and opens no socket. Any other would escape the hook.
    children = {r["target"] for r in shared.records() if r.get("verdict") == "child process"}
    assert children <= {"/sbin/ldconfig"}, children
    assert shared.cut or pytest.skip("no network namespace here: the audit hook alone cut the network")


def test_sighup_stops_the_server_and_frees_the_port() -> None:
    port = free_port()
    process = start_dashboard("--port", str(port))
    url = f"http://127.0.0.1:{port}/"
    wait_until(lambda: process.poll() is not None or answers(url) == 200, 120, "the dashboard starting")
    code, out, err = stop(process, signal.SIGHUP)
    assert (code, err.strip()) == (0, "dashboard: stopped (SIGHUP)") and port_is_free("127.0.0.1", port)


def test_a_lesson_that_does_not_load_is_left_out_of_the_menu_with_one_line(tmp_path: Path, monkeypatch) -> None:
    """A teacher's lesson with a typo, chosen in the menu, turned the whole page into a traceback. The
    server loads every lesson as it starts: a bad one is left out, with the file, line and fix."""
    from sim.dashboard import model

    good = next(iter(sorted(model.LESSONS.glob("*.yaml"))))
    (tmp_path / good.name).write_text(good.read_text().replace("../baseline.yaml", str(model.LESSONS.parent / "baseline.yaml")))
    (tmp_path / "typo.yaml").write_text(f"extends: {model.LESSONS.parent / 'baseline.yaml'}\nname: typo\n"
                                       "returns: {fraud_share_of_retruns: 0.3}\n")
    monkeypatch.setattr(model, "LESSONS", tmp_path)
    monkeypatch.setattr(model, "LEFT_OUT", set())
    lines = model.check_lessons()
    assert len(lines) == 1 and lines[0].startswith("lesson preset typo left out: ")
    assert "typo.yaml:3: returns.fraud_share_of_retruns: unknown key 'fraud_share_of_retruns'; did you mean " \
           "'fraud_share_of_returns'?" in lines[0]
    assert "typo" not in model.presets() and good.stem in model.presets()


def test_the_charts_before_the_first_recorded_week_show_the_quarter_to_come_not_the_year_2000() -> None:
    """The dashboard opens a week before the horizon (nothing recorded yet): its line charts drew Plotly's
    empty axes, January to November 2000 and -1 to 4. They show the quarter ahead, 0-100%, and say how to start."""
    from sim.dashboard import panels

    model = DashboardMarket(shoppers=200)
    for chart in (panels.spend_chart, panels.membership_chart, panels.delivery_chart):
        layout = chart(model)["layout"]
        assert layout["xaxis"]["range"][0] == model.date.isoformat() and layout["yaxis"]["range"] == [0, 100]
        assert layout["annotations"][0]["text"] == "Step or Play to record the first week"
    model.step()
    layout = panels.spend_chart(model)["layout"]
    assert "range" not in layout["xaxis"] and layout["annotations"] == []
