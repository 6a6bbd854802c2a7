"""Runs the attack corpus (``cases.yaml``) against whichever ``sim`` is importable.

Each case sets up a fresh folder (``<root>/<id>/work``, the command's working folder), snapshots
the whole case folder (which always holds an existing results folder, ``work/reports/tiny``),
runs the command, and checks the expectations of the fixed product:

- exit code 2 (or 0 for inputs that must be accepted);
- stderr of at most 3 lines, the first ``retailsim: error: <file>[:<line>]: <place>: <message>``
  (``match: strict``, the default), or naming the file and the place anywhere in that line
  (``match: tokens``, for options and folders whose order the format does not fix);
- no ``Traceback`` anywhere;
- nothing written, deleted or changed in the case folder on a refusal;
- finished within the case's ``seconds``: by default 5 s of CPU time in-process (CPU, not wall
  time, so that other work on a shared machine does not fail a case; a command that hangs without
  using CPU is stopped by the watchdog below), and in a subprocess 5 s of wall time after
  the interpreter's start (the time ``python -m sim.cli validate _base.yaml`` takes, measured once,
  is added, so a loaded machine does not fail the cases); in a subprocess under ``RLIMIT_AS`` =
  3 GiB with a 20 s timeout.

Most cases run in-process through ``sim.cli.main`` (fast; a SIGALRM watchdog stops one that hangs,
say on a FIFO, after 10 s); the dangerous ones (``/dev/zero``, an alias bomb, huge files and
sizes, deep nesting, 10^9 replicates, long horizons) run as ``python -m sim.cli`` in a subprocess
with the limits above. Used by ``tests/test_attack.py`` and ``tests/attack/tally.py``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "scenarios"
CASES = HERE / "cases.yaml"
BASE = "_base.yaml"
MEMORY_LIMIT = 3 << 30  # bytes of address space a subprocess may use
TIMEOUT = 20.0  # seconds before a subprocess is killed
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


_startup: list[float] = []
_startup_lock = threading.Lock()


def startup_seconds() -> float:
    """How long ``python -m sim.cli validate _base.yaml`` takes here: the interpreter's and the
    imports' share of every subprocess case (measured once, the lowest of three)."""
    with _startup_lock:
        if not _startup:
            work = Path(tempfile.mkdtemp(prefix="retailsim-attack-start-"))
            try:
                shutil.copy(SCENARIOS / BASE, work / BASE)
                times = []
                for _ in range(3):
                    rc, _out, err, seconds = run_subprocess(["validate", BASE], work)
                    if rc != 0:
                        raise RuntimeError(f"the tiny base scenario does not validate: {err}")
                    times.append(seconds)
                _startup.append(min(times))
            finally:
                shutil.rmtree(work, ignore_errors=True)
        return _startup[0]


def sim_root() -> Path:
    """The source tree of the ``sim`` under test (the working tree, or ``/tmp/before``)."""
    import sim

    return Path(sim.__file__).resolve().parents[1]


@dataclass
class Case:
    id: str
    cls: str
    argv: list[str]
    expect: dict[str, Any]
    files: list[str] = field(default_factory=list)
    setup: list[dict[str, Any]] = field(default_factory=list)
    runner: str = "inproc"
    seconds: float | None = None
    skip_if_root: bool = False
    note: str = ""

    @property
    def limit(self) -> float:
        if self.seconds is not None:
            return self.seconds
        return 5.0 if self.runner == "inproc" else 5.0 + startup_seconds()


def load_cases(path: Path = CASES) -> list[Case]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    cases = []
    for entry in raw:
        entry = dict(entry)
        entry["cls"] = entry.pop("class")
        cases.append(Case(**entry))
    ids = [c.id for c in cases]
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates, f"duplicate case ids: {duplicates}"
    return cases


# ---------------------------------------------------------------- results folders to damage


class Templates:
    """Results folders written once by the code under test, copied into each case that needs one."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._plain: Path | None = None
        self._set: Path | None = None

    def _work(self) -> Path:
        work = self.root / "_templates"
        work.mkdir(parents=True, exist_ok=True)
        for name in (BASE, "_base_b.yaml"):
            shutil.copy(SCENARIOS / name, work / name)
        return work

    def plain(self) -> Path:
        if self._plain is None:
            work = self._work()
            rc, out, err, _ = run_inprocess(["run", BASE, "--no-report", "--quiet", "--out", "plain"], work)
            if rc != 0:
                raise RuntimeError(f"cannot write the template results folder (exit {rc}): {err}")
            self._plain = work / "plain"
        return self._plain

    def set(self) -> Path:
        if self._set is None:
            work = self._work()
            rc, out, err, _ = run_inprocess(
                ["compare", BASE, "_base_b.yaml", "--replicates", "1", "--quiet", "--out", "set"], work)
            if rc != 0:
                raise RuntimeError(f"cannot write the template comparison folder (exit {rc}): {err}")
            self._set = work / "set"
        return self._set


# ---------------------------------------------------------------- set-up actions


def _events_file(path: Path, n: int, bad: dict[str, Any] | None) -> None:
    """``n`` events on the tiny base's four weeks; ``bad`` replaces one with a broken event."""
    dates = ["2021-01-04", "2021-01-11", "2021-01-18", "2021-01-25", "2021-02-01"]
    lines = ["# generated: many events", f"extends: {BASE}", "events:"]
    for i in range(n):
        date, path_, value = dates[i % len(dates)], "walmart.walmart_plus.fee_annual", 90 + i % len(dates)  # one value a date
        if bad and i == bad["index"]:
            date = bad.get("date", date)
            path_ = bad.get("path", path_)
            value = bad.get("value", value)
        lines.append(f"  - {{date: {date}, label: e{i}, set: {{{path_}: {value}}}}}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _chain(work: Path, n: int, last: str) -> None:
    for i in range(n):
        parent = f"chain_{i + 1:04d}.yaml" if i + 1 < n else last
        (work / f"chain_{i:04d}.yaml").write_text(f"extends: {parent}\n", encoding="utf-8")


def setup_case(case: Case, work: Path, templates: Templates) -> None:
    work.mkdir(parents=True)
    for name in dict.fromkeys([BASE, "_base_b.yaml", *case.files]):
        source = SCENARIOS / name
        target = work / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
    # Every case has an earlier result that must survive it byte for byte.
    shutil.copytree(templates.plain(), work / "reports" / "tiny", symlinks=True)
    for action in case.setup:
        (kind, spec), = action.items()
        if kind == "results":
            shutil.copytree(templates.plain(), work / spec, symlinks=True)
        elif kind == "set_results":
            shutil.copytree(templates.set(), work / spec, symlinks=True)
        elif kind == "mkdir":
            (work / spec).mkdir(parents=True, exist_ok=True)
        elif kind == "write":
            (work / spec["path"]).parent.mkdir(parents=True, exist_ok=True)
            (work / spec["path"]).write_text(spec["text"], encoding="utf-8")
        elif kind == "write_bytes":
            (work / spec["path"]).parent.mkdir(parents=True, exist_ok=True)
            (work / spec["path"]).write_bytes(bytes.fromhex(spec["hex"]))
        elif kind == "remove":
            target = work / spec
            shutil.rmtree(target) if target.is_dir() and not target.is_symlink() else target.unlink()
        elif kind == "fifo":
            os.mkfifo(work / spec)
        elif kind == "symlink":
            os.symlink(spec["to"], work / spec["path"])
        elif kind == "truncate":
            target = sorted(work.glob(spec["path"]))[0]  # a pattern may stand for a seed
            size = target.stat().st_size
            keep = spec["keep"]
            os.truncate(target, int(size * keep) if isinstance(keep, float) else keep)
        elif kind == "garbage":
            (work / spec["path"]).write_bytes(hashlib.shake_256(spec["path"].encode()).digest(spec["size"]))
        elif kind == "big":
            with open(work / spec["path"], "w", encoding="utf-8") as handle:
                handle.write(f"extends: {BASE}\ndescription: >\n")
                line = "  " + "x" * 98 + "\n"
                for _ in range(spec["mb"] * 10_000):
                    handle.write(line)
        elif kind == "events":
            _events_file(work / spec["path"], spec["n"], spec.get("bad"))
        elif kind == "chain":
            _chain(work, spec["n"], spec.get("last", BASE))
        elif kind == "deep":
            opener, closer = spec.get("open", "["), spec.get("close", "]")
            text = spec.get("prefix", "") + opener * spec["depth"] + closer * spec["depth"] + "\n"
            (work / spec["path"]).write_text(text, encoding="utf-8")
        elif kind == "json":
            (work / spec["path"]).write_text(json.dumps(spec["data"]), encoding="utf-8")
        elif kind == "manifest":
            target = work / spec["path"]
            data = json.loads(target.read_text(encoding="utf-8"))
            for key in spec.get("drop", []):
                data.pop(key, None)
            for key, value in (spec.get("set") or {}).items():
                node = data
                parts = key.split(".")
                for part in parts[:-1]:
                    node = node[int(part)] if isinstance(node, list) else node[part]
                if isinstance(node, list):
                    node[int(parts[-1])] = value
                else:
                    node[parts[-1]] = value
            target.write_text(json.dumps(data, indent=2), encoding="utf-8")
        elif kind == "raw_json":
            (work / spec["path"]).write_text(spec["text"], encoding="utf-8")
        elif kind == "parquet_foreign":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.table({"x": [1, 2, 3], "y": ["a", "b", "c"]}), work / spec)
        elif kind == "chmod":
            os.chmod(work / spec["path"], int(str(spec["mode"]), 8))
        else:
            raise ValueError(f"{case.id}: unknown set-up action {kind}")


# ---------------------------------------------------------------- running


class CaseTimeout(BaseException):
    """Raised by the watchdog alarm in a command run in-process that did not finish in time."""


def _alarm(signum, frame):
    raise CaseTimeout()


def run_inprocess(argv: list[str], cwd: Path, timeout: float = TIMEOUT) -> tuple[Any, str, str, float]:
    """``sim.cli.main(argv)`` in ``cwd`` with stdout and stderr captured; an escaping exception is
    printed as the interpreter would (a traceback, exit 1). In the main thread a SIGALRM watchdog
    stops a command that hangs (say, opening a FIFO) after ``timeout`` seconds: exit "timeout".
    The seconds returned are the CPU time the command used (this process's; the subprocess cases
    that may run in other threads meanwhile only wait)."""
    from sim.cli import main

    out, err = io.StringIO(), io.StringIO()
    previous = os.getcwd()
    os.chdir(cwd)
    watchdog = threading.current_thread() is threading.main_thread()
    if watchdog:
        old_handler = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    started = time.process_time()
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                rc = main(list(argv))
            except SystemExit as stop:
                rc = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
                if stop.code is not None and not isinstance(stop.code, int):
                    print(stop.code, file=sys.stderr)
            except CaseTimeout:
                rc = "timeout"
            except Exception:  # noqa: BLE001 - the point is to see it
                traceback.print_exc()
                rc = 1
    except CaseTimeout:  # the alarm came while the output was being collected
        rc = "timeout"
    finally:
        if watchdog:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_handler)
        os.chdir(previous)
    return rc, out.getvalue(), err.getvalue(), time.process_time() - started


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_subprocess(argv: list[str], cwd: Path, timeout: float = TIMEOUT) -> tuple[Any, str, str, float]:
    """``python -m sim.cli argv`` in ``cwd``, limited to 3 GiB of address space and ``timeout`` s."""
    env = {**os.environ, "PYTHONPATH": str(sim_root()), "PYTHONDONTWRITEBYTECODE": "1", "COLUMNS": "100"}
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "sim.cli", *argv], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_limit_memory,
                             start_new_session=True)
    try:
        out, err = child.communicate(timeout=timeout)
        rc: Any = child.returncode
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        out, err = child.communicate()
        rc = "timeout"
    elapsed = time.perf_counter() - started
    return rc, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), elapsed


def substitute(argv: list[str]) -> list[str]:
    tree = str(sim_root())
    return [str(a).replace("{TREE}", tree) for a in argv]


# ---------------------------------------------------------------- checking


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every entry below ``folder``: kind, mode, size, content hash or link target (no links followed,
    no FIFOs opened)."""
    entries: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            info = os.lstat(path)
            relative = os.path.relpath(path, folder)
            if stat.S_ISREG(info.st_mode):
                digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
                entries[relative] = ("file", info.st_mode, info.st_size, digest)
            elif stat.S_ISLNK(info.st_mode):
                entries[relative] = ("link", os.readlink(path))
            else:
                entries[relative] = ("other", info.st_mode)
    return entries


def describe_changes(before: dict[str, tuple], after: dict[str, tuple]) -> str:
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
    parts = []
    for label, names in (("added", added), ("removed", removed), ("changed", changed)):
        if names:
            parts.append(f"{label} {len(names)}: " + ", ".join(names[:4]) + (" ..." if len(names) > 4 else ""))
    return "; ".join(parts)


def _alternatives(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _pattern(text: str) -> str:
    """An expected file or place as a regular expression (``re:`` marks one given as a pattern)."""
    return text[3:] if text.startswith("re:") else re.escape(text)


def _token(text: str) -> str:
    return r"(?<![\w.\-/])" + _pattern(text) + r"(?![\w\-\[])"


def naming_problem(line: str, expect: dict[str, Any]) -> str | None:
    """Why the error line does not name the expected file and place (None when it does)."""
    files, places = _alternatives(expect.get("file")), _alternatives(expect.get("place"))
    if expect.get("match", "strict") == "strict":
        pattern = r"^retailsim: error: "
        if files:
            pattern += "(?:" + "|".join(_pattern(f) for f in files) + r")(?::\d+)?: "
        if places:
            pattern += "(?:" + "|".join(_pattern(p) for p in places) + "): "
        pattern += r"\S"
        if not re.match(pattern, line):
            want = f"{'|'.join(files) or '<any>'}[:line]: {'|'.join(places) or '<any>'}: <message>"
            return f"expected 'retailsim: error: {want}'"
        return None
    for label, options in (("file", files), ("place", places)):
        if options and not any(re.search(_token(o), line) for o in options):
            return f"does not name the {label} ({' or '.join(options)})"
    return None


@dataclass
class Outcome:
    case: Case
    rc: Any = None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return self.skipped is None and not self.problems

    def report(self) -> str:
        tail = self.stderr.strip().splitlines()
        shown = "\n    ".join(tail[:3] + (["..."] + tail[-3:] if len(tail) > 6 else tail[3:6]))
        return (f"{self.case.id} [{self.case.cls}] exit {self.rc} in {self.seconds:.1f} s: "
                + "; ".join(self.problems) + (f"\n    {shown}" if shown else ""))


def check(case: Case, rc: Any, out: str, err: str, seconds: float, before: dict, after: dict) -> list[str]:
    problems: list[str] = []
    expect = case.expect
    wanted = expect.get("exit", 2)
    if rc != wanted:
        problems.append(f"exit {rc}, expected {wanted}")
    if "Traceback" in err or "Traceback" in out:
        problems.append("traceback")
    if seconds > case.limit:
        problems.append(f"took {seconds:.1f} s (limit {case.limit:g} s)")
    if wanted == 0:
        return problems
    lines = err.rstrip("\n").splitlines()
    if not lines:
        problems.append("nothing on stderr")
    else:
        if len(lines) > 3:
            problems.append(f"{len(lines)} lines on stderr")
        if not lines[0].startswith("retailsim: error: "):
            problems.append("first line does not start with 'retailsim: error: '")
        else:
            why = naming_problem(lines[0], expect)
            if why:
                problems.append(why)
            if expect.get("message_re") and not re.search(expect["message_re"], lines[0], re.IGNORECASE):
                problems.append(f"message does not match /{expect['message_re']}/")
    if before != after:
        problems.append("files changed: " + describe_changes(before, after))
    return problems


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not strict JSON")


def strict_json_problems(folder: Path, before: dict[str, tuple], after: dict[str, tuple]) -> list[str]:
    """JSON files a command wrote that are not strict JSON (NaN, Infinity)."""
    problems = []
    for name, entry in after.items():
        if name.endswith(".json") and entry[0] == "file" and before.get(name) != entry:
            try:
                json.loads((folder / name).read_text(encoding="utf-8"), parse_constant=_no_constants)
            except ValueError as error:
                problems.append(f"{name}: {error}")
    return problems


def run_case(case: Case, root: Path, templates: Templates, keep: bool = False) -> Outcome:
    """Set up, run and check one case in ``root/<id>`` (removed afterwards unless ``keep``)."""
    if case.skip_if_root and IS_ROOT:
        return Outcome(case, skipped="running as root: file permissions do not stop root")
    folder = root / case.id
    if folder.exists():
        shutil.rmtree(folder)
    work = folder / "work"
    setup_case(case, work, templates)
    before = snapshot(folder)
    argv = substitute(case.argv)
    if case.runner == "subprocess":
        rc, out, err, seconds = run_subprocess(argv, work)
    else:
        rc, out, err, seconds = run_inprocess(argv, work, timeout=max(10.0, 2 * case.limit))
    after = snapshot(folder)
    outcome = Outcome(case, rc, out, err, seconds)
    outcome.problems = check(case, rc, out, err, seconds, before, after)
    if rc == 0:
        outcome.problems += strict_json_problems(folder, before, after)
    if not keep:
        cleanup(folder)
    return outcome


def cleanup(root: Path) -> None:
    """Remove a work root, first making anything a case made read-only writable again."""
    for dirpath, dirnames, _ in os.walk(root):
        for name in dirnames:
            try:
                os.chmod(os.path.join(dirpath, name), 0o755)
            except OSError:
                pass
    shutil.rmtree(root, ignore_errors=True)


def new_root() -> Path:
    return Path(tempfile.mkdtemp(prefix="retailsim-attack-"))
