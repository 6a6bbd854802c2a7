"""The classroom game in real browsers: a teacher and three teams, each in a Chromium context of its
own (own cookies, own server session), play three rounds of ``retailsim classroom``. Decisions reach
the shared market, each team sees only what it should, the teacher's controls work, every chart is
whole at 1366x768, and nothing errors (no console errors, no Python tracebacks)."""

from __future__ import annotations

import csv
import io
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from .browser import ARTIFACTS, chromium, offline_browser
from .test_dashboard import ROOT, answers, free_port, port_is_free, stop, wait_until
from .test_dashboard_layout import wait_whole

JOIN_CODE = "ABC123"
SCREEN = {"width": 1366, "height": 768}


@pytest.fixture(scope="module")
def classroom():
    """``retailsim classroom`` on a free loopback port: (url, teacher key, the process)."""
    chromium()
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "sim.cli", "classroom", "--shoppers", "1000", "--port", str(port),
                                "--join-code", JOIN_CODE, "--teams-per-firm", "1", "--minutes", "30"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until(lambda: answers(url) == 200 or process.poll() is not None, 120, "the classroom starting")
        if process.poll() is not None:
            pytest.fail("the classroom did not start: " + process.stderr.read()[-2000:])
        teacher = process.stdout.readline().strip()
        students = process.stdout.readline().strip()
        assert teacher.startswith(f"classroom: teacher page {url}?teacher=") and teacher.endswith("Ctrl-C to stop)")
        assert students == f"classroom: students open {url} and join with code {JOIN_CODE}"
        yield url, teacher.split("teacher=")[1].split()[0], process
    finally:
        if process.poll() is None:
            code, out, err = stop(process, signal.SIGINT)
            # Nothing else on stderr: no Python traceback from any page, no warning.
            assert (code, err.strip()) == (0, "classroom: stopped (SIGINT)"), err[-3000:]
            assert port_is_free("127.0.0.1", port)


def text(page) -> str:
    return page.inner_text("body")


def shows(page, words: str, seconds: float = 60) -> None:
    page.wait_for_function("w => document.body.innerText.includes(w)", arg=words, timeout=seconds * 1000)


def opened(new_page, url: str):
    """A new context's page at ``url``, loading (the pages load side by side; each waits later)."""
    page = new_page()
    page.set_viewport_size(SCREEN)
    page.goto(url, wait_until="commit")
    return page


def shows_in(page, selector: str, words: str, seconds: float = 15) -> None:
    wait_until(lambda: words in page.locator(selector).inner_text(), seconds, f"{words!r} in {selector}")


def join(page, team: str, firm: str, code: str = JOIN_CODE) -> None:
    shows(page, "join the game")
    page.get_by_label("Team name").fill(team)
    page.locator(".v-select").filter(has_text="Firm your team runs").click()
    page.locator(".menuable__content__active .v-list-item__title").filter(has_text=firm).click()
    page.get_by_label("Join code (from your teacher)").fill(code)
    page.get_by_role("button", name="Join").click()


def move(page, lever: str, key: str, times: int, expect: str) -> None:
    """Press ``key`` ``times`` times on ``lever``'s slider (the n-th lever of the page), one press at a
    time (each waits for the page to show the new value: a press sent before the server's answer
    to the last could be undone by it), until the page shows ``expect`` beside its name."""
    labels = page.locator(".classroom-lever").all_inner_texts()
    index = next(i for i, label in enumerate(labels) if label.startswith(lever + ":"))
    label, slider = page.locator(".classroom-lever").nth(index), page.locator(".retailsim-side [role=slider]").nth(index)
    slider.focus()
    for _ in range(times):
        before = label.inner_text()
        slider.press(key)
        wait_until(lambda: label.inner_text() != before, 15, f"{lever} moving")
    shows(page, f"{lever}: {expect}", 15)


def submit(page, round_number: int) -> None:
    page.get_by_role("button", name="Submit decisions").click()
    shows(page, f"Submitted for round {round_number}", 15)


def advance(teacher, pages, round_number: int) -> None:
    teacher.get_by_role("button", name="Advance the market").click()
    for page in [teacher, *pages]:
        shows(page, f"Results of round {round_number}")
        shows(page, f"Round {round_number + 1}: decide")


def choose(page, select: str, option: str) -> None:
    page.locator(".v-select").filter(has_text=select).click()
    page.locator(".menuable__content__active .v-list-item__title").filter(has_text=option).first.click()


def league(page) -> str:
    return page.locator(".classroom-league").inner_text()


def whole(page) -> None:
    """Every chart whole within the window (as the solo dashboard's layout test). A chart is refitted
    by a round trip (the page measures its cell, the server redraws at that width) over a server
    that is redrawing four sessions' pages: it gets the time every other server answer gets here
    (``shows``, 60 s), and a time-out names the part that is not whole."""
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 4", timeout=60_000)
    wait_whole(page, SCREEN["width"], SCREEN["height"], 60)
    assert page.evaluate("document.documentElement.scrollWidth") <= SCREEN["width"]


def test_a_teacher_and_three_teams_play_three_rounds(classroom) -> None:
    url, key, process = classroom
    with offline_browser(allow=url) as new_page:
        teacher = opened(new_page, f"{url}?teacher={key}")
        red, blue, green = (opened(new_page, url) for _ in range(3))
        stranger = opened(new_page, url + "?teacher=not-the-key")  # a wrong key: a student's join form, no more
        join(stranger, "Red", "Amazon", "WRONG9")
        shows(stranger, "that is not this game's join code: ask your teacher for it")
        for page, team, firm in ((red, "Red", "Amazon"), (blue, "Blue", "Walmart"), (green, "Green", "Kroger")):
            join(page, team, firm)
        for page, team, firm in ((red, "Red", "Amazon"), (blue, "Blue", "Walmart"), (green, "Green", "Kroger")):
            shows(page, f"Team {team} · {firm}")
            # Amazon's and Walmart's levers run below the window: the Submit button stays in view (it was at
            # y 748-784 of 768, its confirmation below the screen).
            box = page.get_by_role("button", name="Submit decisions").bounding_box()
            assert box["y"] + box["height"] <= SCREEN["height"], (team, box)
        shows(teacher, JOIN_CODE)
        shows(teacher, "Teams: 0 of 3 submitted")
        # The round's timer (--minutes 30) counts down on every page.
        clock = red.locator(".classroom-status").inner_text()
        assert clock.startswith("Round 1: decide for a quarter from 2025-01-06 · 2") and clock.endswith(" left")
        wait_until(lambda: red.locator(".classroom-status").inner_text() != clock, 10, "the clock ticking")
        # A second team for Amazon is refused: the teacher allowed one team a firm.
        stranger.get_by_label("Team name").fill("Purple")
        stranger.get_by_label("Join code (from your teacher)").fill(JOIN_CODE)
        stranger.get_by_role("button", name="Join").click()
        shows(stranger, "Amazon already has 1 teams: choose another firm")

        # Round 1: Red cuts the Prime fee by $10; Blue submits Walmart's levers as they are; Green sends nothing.
        move(red, "Prime fee", "ArrowLeft", 10, "$129/yr")
        submit(red, 1)
        submit(blue, 1)
        shows(teacher, "Teams: 2 of 3 submitted")
        advance(teacher, [red, blue, green], 1)
        shows(red, "Prime fee: $129/yr")  # the lever as the market now runs it, read from the model
        shows_in(teacher, ".classroom-decisions", "$129/yr")  # (a page's parts arrive one after another)
        shows_in(blue, ".classroom-decisions", "Walmart+ fee")  # its own firm's decisions, drawn
        assert "Prime fee" not in text(blue) and "Prime fee" not in text(green), "rivals' decisions are hidden"
        shows(blue, "Rivals' decisions are hidden")

        # Round 2: the teacher injects a fraud surge and reveals the rivals' decisions; Blue cuts Walmart+.
        choose(teacher, "Event from the articles", "Return fraud surge")
        teacher.get_by_role("button", name="Inject at the next round").click()
        shows(teacher, "Next round: Return fraud surge")
        assert "Return fraud surge" not in text(red), "the teacher's plans are the teacher's"
        teacher.get_by_role("button", name="Reveal rivals' decisions").click()
        shows(blue, "Prime fee")
        shows_in(blue, ".classroom-decisions", "$129/yr")
        move(blue, "Walmart+ fee", "ArrowLeft", 5, "$93/yr")
        submit(blue, 2)
        advance(teacher, [red, blue, green], 2)
        shows(red, "Events this round: Return fraud surge")
        shows_in(red, ".classroom-decisions", "Walmart+ fee")

        # Round 3: pause (no decisions), resume, hide again; Green raises Kroger's grocery prices.
        teacher.get_by_role("button", name="Hide rivals' decisions").click()
        teacher.get_by_role("button", name="Pause").click()
        shows(green, "PAUSED by the teacher")
        wait_until(lambda: green.get_by_role("button", name="Submit decisions").is_disabled(), 15, "decisions closed")
        teacher.get_by_role("button", name="Resume").click()
        wait_until(lambda: green.get_by_role("button", name="Submit decisions").is_enabled(), 15, "decisions open")
        wait_until(lambda: "Walmart+ fee" not in text(red), 15, "the rivals hidden again")
        move(green, "Prices, grocery", "ArrowRight", 4, "1.12 x the reference basket")
        submit(green, 3)
        advance(teacher, [red, blue, green], 3)
        played = league(teacher)
        assert "Green" in played
        wait_until(lambda: league(red) == played, 15, "the same league table on a team's page")

        # Rewind to round 3 and replay it with the same decision: the same results.
        choose(teacher, "Rewind to round", "3")
        teacher.get_by_role("button", name="Rewind…", exact=True).click()  # asks first, saying what it forgets
        shows(teacher, "Rewind to round 3: round 3 is forgotten (results too) and every submission is cleared")
        teacher.get_by_role("button", name="Rewind now", exact=True).click()
        for page in (teacher, green):
            shows(page, "Round 3: decide")
            shows(page, "Results of round 2")
        shows(green, "Prices, grocery: 1.08 x the reference basket")
        move(green, "Prices, grocery", "ArrowRight", 4, "1.12 x the reference basket")
        submit(green, 3)
        advance(teacher, [red, blue, green], 3)
        wait_until(lambda: league(teacher) == played, 15, "the replayed round's league table as before")

        ARTIFACTS.mkdir(exist_ok=True)
        for name, page in (("teacher", teacher), ("team", red)):
            page.evaluate("window.scrollTo(0, 0)")
            try:
                whole(page)
            finally:
                page.screenshot(path=str(ARTIFACTS / f"classroom_{name}_1366x768.png"))
        # The history, downloaded as the teacher would.
        with teacher.expect_download() as download:
            teacher.get_by_role("button", name="Decisions (CSV)").click()
        rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
        assert {"round": "1", "team": "Red", "lever": "amazon.prime.fee_annual", "value": "129.0"}.items() <= \
            next(row for row in rows if row["team"] == "Red" and row["lever"] == "amazon.prime.fee_annual").items()
        assert any(row["team"] == "teacher" and row["value"] == "fraud_surge" for row in rows)

        # The teacher removes Green (a team that left): its page offers the join form, and it may rejoin.
        choose(teacher, "Remove a team", "Green")
        teacher.get_by_role("button", name="Remove", exact=True).click()
        shows(green, "Your teacher removed team Green from the game: join again to play on.")
        shows(teacher, "Teams: 0 of 2 submitted")
        join(green, "Green", "Kroger")
        shows(green, "Team Green · Kroger")
        shows(teacher, "Teams: 0 of 3 submitted")

        for page in (teacher, red, blue, green, stranger):
            assert page.errors == []
