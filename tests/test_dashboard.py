"""The classroom dashboard in a real browser: press step, move a slider, see the monitors change."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def dashboard():
    """``retailsim dashboard`` on a loopback port; stopped after the test."""
    chromium()  # skip early (or fail in CI) without a browser
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "sim.cli", "dashboard", "--port", str(port), "--shoppers", "500"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ})
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("the dashboard did not start within 90 s: " + process.stdout.read().decode()[-2000:])
    yield url
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


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
