"""A real browser for the tests: Debian's Chromium driven headless by Playwright, network off."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def chromium() -> str:
    """Chromium's path; skips the test where it is missing, except in CI, where it must be installed."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        reason = "Chromium is not installed: run `sudo apt-get install chromium` (CI installs it in .ci/run)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@contextmanager
def offline_page(allow: str | None = None):
    """A Playwright page in headless Chromium with every network request refused (but ``allow``,
    a loopback server of the project's own)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed: make test installs it")
    executable = chromium()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            context = browser.new_context(offline=allow is None, viewport={"width": 1400, "height": 1000})

            def gate(route):
                if allow is not None and route.request.url.startswith(allow):
                    route.continue_()
                else:
                    route.abort()

            context.route("http*://**", gate)
            page = context.new_page()
            page.errors = []
            page.on("pageerror", lambda error: page.errors.append(str(error)))
            page.on("console", lambda message: message.type == "error" and page.errors.append(message.text))
            yield page
        finally:
            browser.close()


@contextmanager
def offline_browser(allow: str, executable: str | None = None):
    """Headless Chromium (``executable``: a wrapper of it, e.g. one that enters a network namespace)
    yielding ``new_page()``: each call a page in a context of its own (its own cookies, so its own
    server session), every request refused but those starting with ``allow``."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed: make test installs it")
    path = chromium()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable or path, args=CHROMIUM_FLAGS)
        try:
            def new_page():
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                context.route("http*://**", lambda route: route.continue_() if route.request.url.startswith(allow)
                              else route.abort())
                page = context.new_page()
                page.errors = []
                page.on("pageerror", lambda error: page.errors.append(str(error)))
                page.on("console", lambda message: message.type == "error" and page.errors.append(message.text))
                return page

            yield new_page
        finally:
            browser.close()
