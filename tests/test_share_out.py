"""Work shared out among forked copies (sim.processes.share_out): the same values, whatever the copies do."""

from __future__ import annotations

import functools
import os
import sys
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


def always_fails(k: int) -> int:
    raise ValueError(f"task {k} cannot be done")


def test_a_task_that_fails_everywhere_raises_here_and_leaves_no_copy(three_cores, forked) -> None:
    with pytest.raises(ValueError, match="task 0"):
        share_out([functools.partial(always_fails, k) for k in range(4)], cores=3)
    assert len(forked) == 2 and reaped(forked)


def test_a_fork_that_fails_leaves_the_work_here(three_cores, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork() -> int:
        raise OSError("no processes left")

    monkeypatch.setattr(os, "fork", no_fork)
    values = share_out([functools.partial(where, k) for k in range(5)], cores=3)
    assert values == [(k, os.getpid()) for k in range(5)]


def test_a_report_made_on_several_processes_is_the_same_page(three_cores, forked) -> None:
    base = small(name="base", population__shoppers=300, horizon__end="2021-12-27")
    cut = small(name="cut", population__shoppers=300, horizon__end="2021-12-27",
                events=[{"date": "2021-06-07", "label": "fee cut", "set": {"walmart.walmart_plus.fee_annual": 59}}])
    results = run_replicates([base, cut], [1, 2])
    pages = [build_report(results, cores=cores).html() for cores in (1, 2, 3)]
    assert pages[0] == pages[1] == pages[2]
    assert len(forked) == 3 and reaped(forked)


def test_report_command_takes_cores(tiny_yaml: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "run"
    assert main(["run", str(tiny_yaml), "--out", str(out), "--quiet", "--cores", "1"]) == 0
    first = (out / "report.html").read_text()
    assert main(["report", str(out), "--cores", "2"]) == 0
    assert (out / "report.html").read_text() == first
    capsys.readouterr()
    assert main(["report", str(out), "--cores", "0"]) == 2
    assert "--cores: must be from 1" in capsys.readouterr().err
