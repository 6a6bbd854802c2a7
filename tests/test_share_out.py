"""Work shared out among forked copies (sim.processes.share_out): the same values, whatever the copies do."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sim.processes as processes
from sim.cli import main
from sim.experiments import run_replicates
from sim.processes import share_out
from sim.report import build_report

from .conftest import small

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="copies are forked (Linux)")


@pytest.fixture
def three_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(processes, "available_cores", lambda: 3)


def where(k: int) -> tuple[int, int]:
    return k, os.getpid()


@pytest.fixture
def forked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The pids of the copies share_out makes (this process may have other children: a pool's server)."""
    pids: list[int] = []
    make = processes.fork_copy

    def recording() -> int:
        pid = make()
        if pid:
            pids.append(pid)
        return pid

    monkeypatch.setattr(processes, "fork_copy", recording)
    return pids


def reaped(pids: list[int]) -> bool:
    """Every one of these copies has ended and been waited for (none left running, nor a zombie)."""
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue
        return False
    return True


def test_values_come_back_in_order_from_the_copies(three_cores, forked) -> None:
    values = share_out([functools.partial(where, k) for k in range(7)], cores=3)
    assert [k for k, _pid in values] == list(range(7))
    pids = [pid for _k, pid in values]
    assert pids[0::3] == [os.getpid()] * 3  # this process keeps every third task, the copies the others
    assert len(set(pids)) == 3 and os.getpid() not in pids[1::3] + pids[2::3]
    assert len(forked) == 2 and reaped(forked)


def test_one_core_or_one_task_stays_in_this_process(three_cores) -> None:
    assert {pid for _k, pid in share_out([functools.partial(where, k) for k in range(4)], cores=1)} == {os.getpid()}
    assert share_out([functools.partial(where, 5)], cores=3) == [(5, os.getpid())]
    assert share_out([], cores=3) == []


def fails_in_a_copy(first: int, k: int) -> int:
    if os.getpid() != first:
        raise RuntimeError("only in the copy")
    return k * k


def dies_in_a_copy(first: int, k: int) -> int:
    if os.getpid() != first:
        os._exit(3)  # as if killed
    return k + 100


def unpicklable(first: int, k: int):
    return (lambda: k) if os.getpid() != first else k  # a copy cannot send a lambda back


@pytest.mark.parametrize("task", [fails_in_a_copy, dies_in_a_copy, unpicklable])
def test_a_copy_that_fails_costs_time_not_values(three_cores, forked, task) -> None:
    first = os.getpid()
    values = share_out([functools.partial(task, first, k) for k in range(6)], cores=3)
    assert values == [task(first, k) for k in range(6)]
    assert len(forked) == 2 and reaped(forked)


def hangs_in_a_copy(first: int, k: int) -> int:
    if os.getpid() != first:
        time.sleep(3600)  # as if stuck on a lock another thread held at the fork
    return k - 1


def test_a_copy_that_hangs_is_ended_and_its_tasks_done_here(three_cores, forked, monkeypatch) -> None:
    monkeypatch.setattr(processes, "MIN_WAIT_SECONDS", 0.5)
    first, began = os.getpid(), time.monotonic()
    values = share_out([functools.partial(hangs_in_a_copy, first, k) for k in range(6)], cores=3)
    assert values == [k - 1 for k in range(6)]
    assert time.monotonic() - began < 30  # not the copies' hour
    assert len(forked) == 2 and reaped(forked)


def test_a_slow_copy_within_the_wait_is_used(three_cores, monkeypatch) -> None:
    monkeypatch.setattr(processes, "MIN_WAIT_SECONDS", 5.0)
    first = os.getpid()
    values = share_out([functools.partial(slow_in_a_copy, first, k) for k in range(3)], cores=3)
    assert [pid for _k, pid in values][1:] != [first, first]  # the copies' values, not recomputed here
    assert [k for k, _pid in values] == [0, 1, 2]


def slow_in_a_copy(first: int, k: int) -> tuple[int, int]:
    if os.getpid() != first:
        time.sleep(0.5)  # slower than this process's own task, well within the wait
    return k, os.getpid()


def always_fails(k: int) -> int:
    raise ValueError(f"task {k} cannot be done")


def test_a_task_that_fails_everywhere_raises_here_and_leaves_no_copy(three_cores, forked) -> None:
    with pytest.raises(ValueError, match="task 0"):
        share_out([functools.partial(always_fails, k) for k in range(4)], cores=3)
    assert len(forked) == 2 and reaped(forked)


def test_a_copy_that_cannot_start_ends_and_never_returns_to_the_caller(tiny_yaml: Path, tmp_path: Path) -> None:
    """A copy whose set-up fails (no file descriptor left, say) ends: only the first process returns
    from share_out, or steps a run on several cores as the caller (in a separate interpreter: a copy
    that escaped would run the rest of the tests). Each process that returns leaves a file named
    after its pid; the first process's own tasks are slow, so an escaped copy has time to leave one."""
    probe = ("import os, sys, time, functools\n"
             "import sim, sim.processes as p, sim.model.cores as c\n"
             "def broken():\n    raise OSError('no file descriptor left')\n"
             "p.die_with_parent = broken\n"
             "p.available_cores = c.available_cores = lambda: 3\n"
             "first, where = os.getpid(), sys.argv[2]\n"
             "def square(k):\n    time.sleep(0.3 if os.getpid() == first else 0)\n    return k * k\n"
             "values = p.share_out([functools.partial(square, k) for k in range(5)], cores=3)\n"
             "open(os.path.join(where, f'share_out-{os.getpid()}'), 'w').write(repr(values))\n"
             "def stepped(model):\n    open(os.path.join(where, f'run-{os.getpid()}'), 'a').write('.')\n"
             "result = sim.run(sys.argv[1], shoppers=3000, cores=2, progress=stepped)\n"
             "print(result.manifest['cores'])\n")
    done = subprocess.run([sys.executable, "-c", probe, str(tiny_yaml), str(tmp_path)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1"]  # the run's copy ended: the first process stepped it alone
    left = sorted(path.name for path in tmp_path.iterdir() if path.name != tiny_yaml.name)
    assert len(left) == 2 and {name.split("-")[1] for name in left} == {left[0].split("-")[1]}, left
    assert (tmp_path / left[1]).read_text() == "[0, 1, 4, 9, 16]"


def test_a_fork_that_fails_leaves_the_work_here(three_cores, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork() -> int:
        raise OSError("no processes left")

    monkeypatch.setattr(os, "fork", no_fork)
    values = share_out([functools.partial(where, k) for k in range(5)], cores=3)
    assert values == [(k, os.getpid()) for k in range(5)]


def test_a_report_made_on_several_processes_is_the_same_page(three_cores, forked, monkeypatch) -> None:
    base = small(name="base", population__shoppers=300, horizon__end="2021-12-27")
    cut = small(name="cut", population__shoppers=300, horizon__end="2021-12-27",
                events=[{"date": "2021-06-07", "label": "fee cut", "set": {"walmart.walmart_plus.fee_annual": 59}}])
    results = run_replicates([base, cut], [1, 2])
    sent: list[int] = []  # how many parts each copy sent back (none: the first process made them all)
    receive = processes._receive
    monkeypatch.setattr(processes, "_receive", lambda read, deadline: sent.append(len(got := receive(read, deadline))) or got)
    pages = [build_report(results, cores=cores).html() for cores in (1, 2, 3)]
    assert pages[0] == pages[1] == pages[2]
    assert len(forked) == 3 and reaped(forked)
    assert len(sent) == 3 and min(sent) >= 4  # 15 parts: 7 to the one copy, then 5 to each of two


def test_report_command_takes_cores(tiny_yaml: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "run"
    assert main(["run", str(tiny_yaml), "--out", str(out), "--quiet", "--cores", "1"]) == 0
    first = (out / "report.html").read_text()
    assert main(["report", str(out), "--cores", "2"]) == 0
    assert (out / "report.html").read_text() == first
    capsys.readouterr()
    assert main(["report", str(out), "--cores", "0"]) == 2
    assert "--cores: must be from 1" in capsys.readouterr().err
