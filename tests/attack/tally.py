"""Count how many attack cases the importable ``sim`` handles cleanly, by class.

    .venv/bin/python tests/attack/tally.py                       # the working tree
    PYTHONPATH=/tmp/before .venv/bin/python tests/attack/tally.py  # an older checkout (a git worktree)
    ... tally.py -v                                               # also every failing case and its output
    ... tally.py --only events,extends                            # some classes only

"Clean" means every expectation of the case holds (see harness.py). Subprocess cases run two at a
time; in-process cases one after another.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

# This folder is first on sys.path (the script's own), so ``harness`` imports without touching the
# ``sim`` that PYTHONPATH chooses.
from harness import Templates, cleanup, load_cases, new_root, run_case, sim_root, startup_seconds  # noqa: E402


def run_all(cases, root, templates, workers=2, keep=False):
    outcomes = {}
    templates.plain()
    if any(c.setup and any("set_results" in a for a in c.setup) for c in cases):
        templates.set()
    isolated = [c for c in cases if c.runner == "subprocess"]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {c.id: pool.submit(run_case, c, root, templates, keep) for c in isolated}
        for case in cases:
            if case.runner != "subprocess":
                outcomes[case.id] = run_case(case, root, templates, keep)
        for key, future in futures.items():
            outcomes[key] = future.result()
    return [outcomes[c.id] for c in cases]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="print every case that is not clean")
    parser.add_argument("--only", help="comma-separated classes to run")
    parser.add_argument("--keep", action="store_true", help="keep the case folders (their path is printed)")
    args = parser.parse_args()
    cases = load_cases()
    if args.only:
        wanted = set(args.only.split(","))
        cases = [c for c in cases if c.cls in wanted]
    root = new_root()
    started = time.perf_counter()
    try:
        outcomes = run_all(cases, root, Templates(root), keep=args.keep)
    finally:
        if args.keep:
            print(f"case folders kept in {root}")
        else:
            cleanup(root)
    total, clean, skipped = Counter(), Counter(), Counter()
    failing = defaultdict(list)
    for outcome in outcomes:
        cls = outcome.case.cls
        if outcome.skipped:
            skipped[cls] += 1
            continue
        total[cls] += 1
        if outcome.ok:
            clean[cls] += 1
        else:
            failing[cls].append(outcome)
    print(f"sim from {sim_root()}; {len(outcomes)} cases in {time.perf_counter() - started:.0f} s "
          f"(a subprocess starts in {startup_seconds():.1f} s here)")
    print(f"{'class':<18} {'clean':>5} / {'cases':<5} skipped")
    for cls in sorted(total, key=lambda c: (c == "accepted", c)):
        print(f"{cls:<18} {clean[cls]:>5} / {total[cls]:<5} {skipped[cls] or ''}")
    bad = [c for c in total if c != "accepted"]
    print(f"{'all bad inputs':<18} {sum(clean[c] for c in bad):>5} / {sum(total[c] for c in bad):<5}")
    if args.verbose:
        for cls in sorted(failing):
            print(f"\n== {cls}")
            for outcome in failing[cls]:
                print("  " + outcome.report().replace("\n", "\n  "))
    return 0


if __name__ == "__main__":
    sys.exit(main())
