"""Screenshots of a comparison report for docs/reports.md, taken in headless Chromium at 1366x768.

    python docs/images/make_screenshots.py                 # runs the comparison (about a minute), then shoots
    python docs/images/make_screenshots.py --from FOLDER   # shoots the report of a finished `retailsim compare`
    python docs/images/make_screenshots.py --parameter-draws        # the Walmart+ cut over 8 posterior draws (~4 min)

The comparison is the one docs/reports.md describes: the baseline against three lever what-ifs
(a Prime fee rise, a Walmart+ fee cut, dark stores scaled up), 2 replicates of 3,000 households.
With ``--parameter-draws`` it is the Walmart+ fee cut alone over 8 draws from the shipped posterior
x 3 replicates of 5,000 households (docs/calibration.md), and the shots are its two bands.
The report is rebuilt from the saved results with the current report code, opened with the network
off, and each picture is written here as a PNG of fewer than 256 colours (each under ~300 KB).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
LEVERS = ["prime_fee_up", "walmart_plus_fee_cut", "dark_stores_scale_up"]
WINDOW = {"width": 1366, "height": 768}
# name -> what to shoot: the window at the top of the page, or one element (CSS selector).
SHOTS = {
    "report_top.png": None,
    "report_differences.png": "#figure-differences",
    "report_spend.png": "#figure-spend-category",
    "report_memberships.png": "#figure-memberships",
    "report_bridge.png": "#figure-bridge",
}
DRAW_SHOTS = {"report_parameter_bands.png": "#figure-differences", "report_parameter_table.png": "#differences-table"}
DRAWS = ["--parameter-draws", "8", "--replicates", "3", "--shoppers", "5000"]


def compare(out: Path, draws: bool = False) -> None:
    levers = ["walmart_plus_fee_cut"] if draws else LEVERS
    size = DRAWS if draws else ["--replicates", "2", "--shoppers", "3000"]
    command = [sys.executable, "-m", "sim.cli", "compare", "scenarios/baseline.yaml",
               *[f"scenarios/levers/{lever}.yaml" for lever in levers], *size, "--out", str(out), "--quiet"]
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def shoot(report: Path, shots: dict[str, str | None]) -> list[Path]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        try:
            context = browser.new_context(viewport=WINDOW, offline=True)
            context.route("http*://**", lambda route: route.abort())
            page = context.new_page()
            page.goto(report.resolve().as_uri())
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot svg.main-svg').length >= 6")
            page.wait_for_timeout(300)
            for name, selector in shots.items():
                path = HERE / name
                if selector is None:
                    page.screenshot(path=str(path))
                else:
                    page.locator(selector).screenshot(path=str(path))
                written.append(path)
        finally:
            browser.close()
    return written


def shrink(path: Path) -> None:
    """A palette PNG: a chart has few colours, and the file is a third of the size."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="folder", type=Path, help="a finished comparison's folder (else run one)")
    parser.add_argument("--parameter-draws", action="store_true", help="the Walmart+ cut over posterior draws")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from sim.report import build_report
    from sim.results import load_set

    with tempfile.TemporaryDirectory() as scratch:
        folder = args.folder
        if folder is None:
            folder = Path(scratch) / "comparison"
            compare(folder, args.parameter_draws)
        report = build_report(load_set(folder)).write(Path(scratch) / "report.html")
        for path in shoot(report, DRAW_SHOTS if args.parameter_draws else SHOTS):
            shrink(path)
            print(f"{path.relative_to(ROOT)}: {path.stat().st_size / 1000:.0f} KB")


if __name__ == "__main__":
    main()
