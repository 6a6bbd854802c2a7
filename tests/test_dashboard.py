"""The classroom dashboard in a real browser: press step, move a slider, see the monitors change."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from sim.dashboard.levers import LEVERS, slider, sliders
from sim.dashboard.model import DashboardMarket, build, presets
from sim.scenario import load_scenario
from sim.scenario.firms import DarkStores

from .browser import ARTIFACTS, chromium, offline_page

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
    assert fee["value"] == 98.0 and fee["min"] == 0.0 and fee["max"] == 196.0


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
    assert lesson.params.memberships.imitation_q_per_year == 0.76 and lesson.scenario.description


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
    """``retailsim dashboard`` on a loopback port, shared by the module's browser tests; stopped with
    Ctrl-C (SIGINT) at the end, which must be quiet: exit 0, one line, the port free."""
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
        fee = page.locator(".v-input").filter(has_text="Walmart+ fee").locator("[role=slider]")
        fee.focus()
        fee.press("Home")
        page.get_by_role("button", name="Reset", exact=True).click()
        page.wait_for_function("document.body.innerText.includes('Walmart+ fee: $0/yr')", timeout=30_000)
        assert monitors(page)["Walmart+ fee"] == "$0/yr"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        assert page.errors == []


# -- presets by name only ------------------------------------------------------------------------------

def test_presets_are_names_and_anything_else_is_refused_without_opening_a_file(monkeypatch) -> None:
    import builtins
    import io

    from sim.dashboard.app import model_params
    from sim.dashboard.model import UnknownPreset, preset, preset_file

    names = list(presets())
    assert model_params()["scenario"]["values"] == names and all("/" not in name and "." not in name for name in names)
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
    with pytest.raises(Exception, match="No connection adapters"):  # refused by requests before any socket
        cdn.get_data(Path(server_settings.assets.proxy_cache_dir), "no-such-package@1.0.0/x.js")
    options = check(ROOT / "scenarios" / "baseline.yaml", "0.0.0.0", "8765")
    assert options.code_generated and len(options.access_code) == 16
    assert check(ROOT / "scenarios" / "baseline.yaml").access_code is None
