"""How long a classroom round takes to advance: the goal is under 2 s at 20,000 households.

For each household count (default 20,000) this builds the game (``sim/classroom/game.py``), joins
three teams (Amazon, Walmart, Kroger), and for ``--rounds`` rounds has every team submit changed
decisions, then times

- **advance**: ``Game.advance()``, what the teacher's button runs: combine the decisions, apply
  them, play the round's weeks, read the results;
- **pages**: what each page then computes on the server, for the teacher and the three teams:
  its view of the game and the four charts' data (``view``, ``charts``);
- **rewind**: once, at the end, back to the last round (every earlier round replayed);

and prints medians (wall and CPU time; the machine may be shared). With ``--browser`` it also starts
``retailsim classroom`` and times a round in headless Chromium with the teacher's page and three
teams' pages open, from the click on "Advance the market" to the new round's results on all four
screens (the whole round trip: the model, every session's redraw, websockets, Plotly; the four
Chromium pages share this machine's cores with the server, as they would not in a classroom)::

    python benchmarks/bench_classroom.py
    python benchmarks/bench_classroom.py --shoppers 2000 20000 --round year --rounds 5 --browser
"""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEAMS = (("Red", "amazon"), ("Blue", "walmart"), ("Green", "kroger"))


def timed(call) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    value = call()
    return time.perf_counter() - wall, time.process_time() - cpu, value


def decisions(round_number: int) -> dict[str, dict[str, float]]:
    """Each team's decisions for a round: every round a different fee and price (so each round
    really changes the market)."""
    step = round_number % 3
    return {"Red": {"amazon.prime.fee_annual": 129.0 + 5 * step, "amazon.prices.discretionary": 0.97 + 0.01 * step},
            "Blue": {"walmart.walmart_plus.fee_annual": 88.0 + 5 * step, "walmart.dark_stores.count": 10 * step},
            "Green": {"kroger.prices.grocery": 1.03 + 0.01 * step}}


def bench_server(shoppers: int, round_length: str, rounds: int) -> dict[str, list[float]]:
    from sim.classroom.charts import charts
    from sim.classroom.game import Game, Settings
    from sim.classroom.market import WEEKS
    from sim.classroom.view import view
    from sim.scenario import load_scenario
    from sim.shipped import baseline

    scenario = load_scenario(baseline(), {"population.shoppers": shoppers})
    build, _, game = timed(lambda: Game(Settings(scenario, dt.date(2025, 1, 1), WEEKS[round_length], "ABC123")))
    print(f"{shoppers:,} households: the game built (stepped to {game.start}) in {build:.1f} s")
    for team, firm in TEAMS:
        game.join(team, firm, "ABC123")
    times: dict[str, list[float]] = {"advance wall": [], "advance CPU": [], "pages wall": []}
    for number in range(1, rounds + 1):
        for team, values in decisions(number).items():
            game.submit(team, values)
        wall, cpu, _ = timed(game.advance)
        times["advance wall"].append(wall)
        times["advance CPU"].append(cpu)

        def pages() -> None:
            for team in (None, *[name for name, _ in TEAMS]):
                with game.lock:
                    charts(game.market, view(game, team), game.before_start)

        times["pages wall"].append(timed(pages)[0])
    wall = timed(lambda: game.rewind(rounds))[0]
    print(f"  rewind to round {rounds} (replaying {rounds - 1} rounds): {wall:.2f} s")
    return times


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def bench_browser(shoppers: int, round_length: str, rounds: int) -> tuple[list[float], list[float]]:
    """Click to results on the teacher's screen, and on all four, per round (seconds)."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    server = subprocess.Popen([sys.executable, "-m", "sim.cli", "classroom", "--shoppers", str(shoppers), "--port",
                               str(port), "--round", round_length, "--join-code", "ABC123"],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        key = server.stdout.readline().split("teacher=")[1].split()[0]
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            pages = []
            for team, firm in (("teacher", None), *TEAMS):
                page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
                page.goto(f"{url}?teacher={key}" if firm is None else url)
                if firm is not None:
                    page.get_by_label("Team name").fill(team)
                    page.locator(".v-select").filter(has_text="Firm your team runs").click()
                    page.locator(".menuable__content__active .v-list-item__title").filter(
                        has_text=firm.title()).click()
                    page.get_by_label("Join code (from your teacher)").fill("ABC123")
                    page.get_by_role("button", name="Join").click()
                page.wait_for_selector(".js-plotly-plot", timeout=120_000)
                pages.append(page)
            teacher, everyone = [], []
            for number in range(1, rounds + 1):
                started = time.perf_counter()
                pages[0].get_by_role("button", name="Advance the market").click()
                for page in pages:  # the teacher's first
                    page.wait_for_function("w => document.body.innerText.includes(w)",
                                           arg=f"Results of round {number}", timeout=120_000)
                    if page is pages[0]:
                        teacher.append(time.perf_counter() - started)
                everyone.append(time.perf_counter() - started)
            browser.close()
        return teacher, everyone
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoppers", type=int, nargs="+", default=[20_000])
    parser.add_argument("--round", choices=("quarter", "year"), default="quarter")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--browser", action="store_true", help="also time rounds in headless Chromium")
    args = parser.parse_args()
    for shoppers in args.shoppers:
        times = bench_server(shoppers, args.round, args.rounds)
        medians = ", ".join(f"{name} {statistics.median(values):.3f} s" for name, values in times.items())
        print(f"{shoppers:,} households, a {args.round} a round, median of {args.rounds} rounds: {medians}")
        print("  every round's advance (wall, s): " + " ".join(f"{t:.3f}" for t in times["advance wall"]))
        if args.browser:
            for where, seconds in zip(("the teacher's screen", "all four screens"),
                                      bench_browser(shoppers, args.round, args.rounds)):
                print(f"  in the browser, click to results on {where}: median {statistics.median(seconds):.2f} s "
                      f"({' '.join(f'{t:.2f}' for t in seconds)})")


if __name__ == "__main__":
    main()
