"""Attack tests (issue 12, item 7): bad scenario files, ``--set`` values, command-line arguments,
``--out`` folders and damaged results folders.

Every bad input must give exit code 2 and at most three lines on stderr, the first
``retailsim: error: <file>[:<line>]: <place>: <message>``, with no traceback, nothing written or
changed (the case folder, which holds an earlier result, is compared byte for byte before and
after), within a few seconds and, for the dangerous inputs, in a subprocess limited to 3 GiB of
address space. Valid inputs must still pass.

The corpus is ``tests/attack/cases.yaml`` (with its files in ``tests/attack/scenarios/``), run by
``tests/attack/harness.py``; ``tests/attack/tally.py`` prints the counts per class. The hypothesis
tests below generate scenario documents and argument lists of their own.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.attack.harness import (
    IS_ROOT,
    SCENARIOS,
    Templates,
    cleanup,
    load_cases,
    new_root,
    run_case,
    run_inprocess,
    snapshot,
    strict_json_problems,
)

CASES = load_cases()
# In-process cases first, so the subprocess cases (started in the background) are ready by their turn.
ORDERED = sorted(CASES, key=lambda case: case.runner == "subprocess")


class Corpus:
    """The work folder, the results templates and the subprocess cases running in the background."""

    def __init__(self) -> None:
        self.root = new_root()
        self.templates = Templates(self.root)
        self.templates.plain()
        self.templates.set()
        self.pool = ThreadPoolExecutor(max_workers=2)
        self.futures = {
            case.id: self.pool.submit(run_case, case, self.root, self.templates)
            for case in ORDERED
            if case.runner == "subprocess" and not (case.skip_if_root and IS_ROOT)
        }

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        cleanup(self.root)


@pytest.fixture(scope="module")
def corpus():
    running = Corpus()
    yield running
    running.close()


@pytest.mark.parametrize("case", ORDERED, ids=[case.id for case in ORDERED])
def test_attack_case(case, corpus: Corpus) -> None:
    if case.skip_if_root and IS_ROOT:
        pytest.skip("running as root: file permissions do not stop root")
    if case.runner == "subprocess":
        outcome = corpus.futures[case.id].result()
    else:
        outcome = run_case(case, corpus.root, corpus.templates)
    assert outcome.ok, outcome.report()


def test_corpus_size_and_expectations() -> None:
    """At least 120 bad inputs, each with the file and the place it must name written down."""
    bad = [case for case in CASES if case.expect.get("exit", 2) == 2]
    assert len(bad) >= 120
    for case in bad:
        assert "file" in case.expect and "place" in case.expect, case.id
    assert {case.cls for case in CASES} >= {"nonfinite_huge", "negative_range", "cross_field", "horizon",
                                             "yaml_structure", "file_kind", "dates", "events", "extends",
                                             "calibration", "names", "set", "options", "out", "report", "accepted"}


# ---------------------------------------------------------------- hypothesis: scenario documents

HYPOTHESIS = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

BASE_DOCUMENT: dict[str, Any] = {
    "name": "tiny",
    "seed": 3,
    "population": {"shoppers": 10, "network_degree": 4, "suburban_share_of_nonrural": 0.66},
    "horizon": {"start": dt.date(2021, 1, 4), "end": dt.date(2021, 2, 1), "warmup_weeks": 0},
    "amazon": {
        "prime": {"fee_annual": 119.0, "perks_value_usd": 20.0},
        "pricing": {"enabled": True, "floor": 0.9, "ceiling": 1.15},
        "rural": {"start": dt.date(2024, 6, 1), "end": dt.date(2026, 12, 31),
                  "projects": [{"name": "Oregon", "opens": dt.date(2025, 9, 1), "capex_usd": 5e8,
                                "states": ["OR", "WA"]}]},
        "health": {"kiosks": 5},
    },
    "walmart": {"walmart_plus": {"fee_annual": 98.0, "launch": dt.date(2020, 9, 15)},
                "dark_stores": {"count": 1}, "online": {"channel_utility": -0.8}},
    "shoppers": {"weekly_budget_usd": {"grocery": 150.0, "discretionary": 90.0, "health": 20.0}},
    "geography": {"store_distance_median_miles": {"urban": 2.0, "suburban": 3.5, "rural": 7.0}},
    "economics": {"depreciation_years": 10.0},
    "returns": {"online_return_rate": 0.19},
    "events": [{"date": dt.date(2021, 1, 18), "label": "cut", "set": {"walmart.walmart_plus.fee_annual": 79}},
               {"date": dt.date(2021, 1, 25), "set": {"amazon.health.kiosks": 6}}],
}

INTERESTING = [float("nan"), float("inf"), float("-inf"), 1e308, -1e308, -1, 0, 1e-300, 10**30, -(10**30),
               "", ".", "..", "a/b", "ZZ", "nan", "inf", "1e308", "2026-02-30", "2026-13", "yes", "~",
               dt.date(1, 1, 1), dt.date(9999, 12, 31), [], {}, None, True]

scalars = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.text(max_size=12),
    st.booleans(),
    st.none(),
    st.dates(),
    st.sampled_from(INTERESTING),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=6)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = []
    if isinstance(node, dict):
        for key, child in node.items():
            found.append(prefix + (key,))
            found.extend(_paths(child, prefix + (key,)))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found.append(prefix + (index,))
            found.extend(_paths(child, prefix + (index,)))
    return found


PATHS = _paths(BASE_DOCUMENT)


def _parent(document: Any, path: tuple) -> Any:
    node = document
    for part in path[:-1]:
        node = node[part]
    return node


@st.composite
def scenario_texts(draw) -> str:
    """A mutation of BASE_DOCUMENT: values replaced by random ones, keys deleted or renamed, lines
    duplicated (duplicate keys), dates made impossible. Where to mutate comes from a seeded
    ``random.Random`` (every path equally likely); the new values from hypothesis."""
    rnd = draw(st.randoms(use_true_random=True))
    document = yaml.safe_load(yaml.safe_dump(BASE_DOCUMENT))
    for _ in range(rnd.randint(1, 3)):
        path = rnd.choice(PATHS)
        try:
            parent = _parent(document, path)
            parent[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue
        action = rnd.choice(["replace", "replace", "interesting", "delete", "rename"])
        if action == "replace":
            parent[path[-1]] = draw(values)
        elif action == "interesting":
            parent[path[-1]] = rnd.choice(INTERESTING)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=10))] = parent.pop(path[-1])
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    lines = text.splitlines()
    textual = rnd.choice(["none", "none", "duplicate", "bad_date"])
    if textual == "duplicate" and lines:
        index = rnd.randrange(len(lines))
        lines.insert(index + 1, lines[index])
    elif textual == "bad_date":
        dated = [i for i, line in enumerate(lines) if line.rstrip().endswith(("2021-02-01", "2024-06-01", "2021-01-18"))]
        if dated:
            i = rnd.choice(dated)
            lines[i] = lines[i].rstrip()[:-10] + rnd.choice(["2026-02-30", "2021-02-29", "2026-13-01"])
    return "\n".join(lines) + "\n"


def _finite(node: Any, where: str = "") -> str | None:
    """The first non-finite number in a dumped scenario, or None."""
    if isinstance(node, float) and not math.isfinite(node):
        return where
    if isinstance(node, dict):
        for key, child in node.items():
            found = _finite(child, f"{where}.{key}" if where else str(key))
            if found:
                return found
    if isinstance(node, list):
        for index, child in enumerate(node):
            found = _finite(child, f"{where}[{index}]")
            if found:
                return found
    return None


def _refusal_problems(rc: Any, out: str, err: str, file: str | None = None) -> list[str]:
    problems = []
    if "Traceback" in err or "Traceback" in out:
        problems.append("traceback")
    if rc not in (0, 2):
        problems.append(f"exit {rc}")
    if rc == 2:
        lines = err.rstrip("\n").splitlines()
        if not lines or len(lines) > 3:
            problems.append(f"{len(lines)} lines on stderr")
        elif not lines[0].startswith("retailsim: error: "):
            problems.append("first line does not start with 'retailsim: error: '")
        elif file and file not in lines[0]:
            problems.append(f"does not name {file}")
    return problems


@HYPOTHESIS
@given(text=scenario_texts())
def test_generated_scenarios_are_accepted_or_refused_in_one_line(text: str) -> None:
    folder = new_root()
    try:
        (folder / "gen.yaml").write_text(text, encoding="utf-8")
        before = snapshot(folder)
        rc, out, err, _ = run_inprocess(["validate", "gen.yaml"], folder)
        problems = _refusal_problems(rc, out, err, "gen.yaml")
        if snapshot(folder) != before:
            problems.append("files changed")
        if rc == 0:
            from sim.scenario import load_scenario

            where = _finite(load_scenario(folder / "gen.yaml").model_dump(mode="python"))
            if where:
                problems.append(f"accepted a non-finite number at {where}")
        assert not problems, f"{problems}\n--- gen.yaml\n{text}--- stderr\n{err}"
    finally:
        cleanup(folder)


# ---------------------------------------------------------------- hypothesis: argument lists

SCENARIO_WORDS = ["tiny.yaml", "tiny_b.yaml", "bad.yaml", "missing.yaml", "notes", "", "-", "reports/tiny"]
FOLDER_WORDS = ["damaged", "notes", "missing", "afile.txt", "tiny.yaml", "", "project", "/proc/retailsim-nowhere"]
OPTIONS = {
    "--seed": ["-1", "0", "7", "abc", "1e99", "", "99999999999999999999"],
    "--replicates": ["0", "1", "2", "-1", "x", "1.5"],
    "--shoppers": ["0", "10", "12", "-5", "many", "99999999999"],
    "--set": ["walmart.walmart_plus.fee_annual=79", "amazon.prime.fee_annual=.nan", "x=1", "=", "novalue",
              "horizon.end=2026-02-30", "name=..", "seed=-1", "amazon.pricing.floor=9"],
    "--out": ["out_new", "notes", "project", "afile.txt", ".", "..", "/proc/retailsim-nowhere/out", "reports/tiny",
              "", "o" * 300, "tiny.yaml"],
}
FLAGS = ["--quiet", "--no-report", "--bogus", "--help", "--version", "-x"]
# Every option with each of its values, and every flag: one group of tokens each.
GROUPS = [(name, value) for name, choices in OPTIONS.items() for value in choices] + [(flag,) for flag in FLAGS]
# What a successful command may change: its own output folders (and nothing else).
MAY_CHANGE = ("reports/tiny", "out_new", "o" * 300)


@st.composite
def argument_lists(draw) -> list[str]:
    """An argument list from the vocabulary. The choices come from a seeded ``random.Random`` that
    hypothesis draws, so every option and value turns up evenly (hypothesis's own choices favour
    the first of a list) and the examples stay reproducible."""
    rnd = draw(st.randoms(use_true_random=True))
    command = rnd.choice(["run", "run", "compare", "validate", "report"])
    words = FOLDER_WORDS if command == "report" else SCENARIO_WORDS
    if command == "run" and rnd.random() < 0.7:
        positionals = [rnd.choice(["tiny.yaml", "tiny_b.yaml"])]  # mostly one good file: the options decide
    else:
        positionals = [rnd.choice(words) for _ in range(rnd.randint(0, 3))]
    if command == "compare":
        # A comparison that ran would write a report (seconds each): always include a missing file.
        positionals.insert(rnd.randint(0, len(positionals)), "missing.yaml")
    groups = [list(rnd.choice(GROUPS)) for _ in range(rnd.randint(0, 3))]
    if groups and len(groups[0]) == 2 and rnd.random() < 0.1:
        groups[0] = ["=".join(groups[0])]  # --name=value
    if command == "run":
        groups.append(["--no-report"])  # a run that goes ahead stays tiny: no report, 10 households
    items = [[word] for word in positionals] + groups
    rnd.shuffle(items)
    argv = [command] + [token for item in items for token in item]
    return argv


def _argument_folder(templates: Templates) -> Path:
    folder = new_root()
    for name, target in (("_base.yaml", "tiny.yaml"), ("_base_b.yaml", "tiny_b.yaml")):
        text = (SCENARIOS / name).read_text(encoding="utf-8").replace("_base.yaml", "tiny.yaml")
        (folder / target).write_text(text, encoding="utf-8")
    (folder / "bad.yaml").write_text("extends: tiny.yaml\nwalmart: {walmart_plus: {fee_annual: .nan}}\n")
    shutil.copytree(templates.plain(), folder / "reports" / "tiny")
    shutil.copytree(templates.plain(), folder / "damaged")
    (folder / "damaged" / "manifest.json").write_text('{"written_by": "retailsim", "scen')
    (folder / "notes").mkdir()
    (folder / "notes" / "notes.txt").write_text("do not delete\n")
    (folder / "project" / ".git").mkdir(parents=True)
    (folder / "project" / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (folder / "afile.txt").write_text("keep\n")
    return folder


@pytest.fixture(scope="module")
def argument_templates():
    root = new_root()
    templates = Templates(root)
    templates.plain()
    yield templates
    cleanup(root)


@settings(HYPOTHESIS, max_examples=200, suppress_health_check=list(HealthCheck))
@given(argv=argument_lists())
def test_generated_argument_lists_exit_0_or_2_in_one_line(argv: list[str], argument_templates: Templates) -> None:
    folder = _argument_folder(argument_templates)
    try:
        before = snapshot(folder)
        rc, out, err, seconds = run_inprocess(argv, folder)
        after = snapshot(folder)
        problems = _refusal_problems(rc, out, err)
        if rc != 0 and after != before:
            problems.append("refused, yet files changed")
        if rc == 0:
            touched = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
            foreign = sorted(k for k in touched if not k.startswith(MAY_CHANGE))
            if foreign:
                problems.append(f"changed files it does not own: {foreign[:4]}")
            problems += strict_json_problems(folder, before, after)
        if seconds > 10:
            problems.append(f"took {seconds:.1f} s")
        assert not problems, f"{problems}\nargv: {argv}\nstderr: {err}"
    finally:
        cleanup(folder)
