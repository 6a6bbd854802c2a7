"""A run on several cores (sim.model.cores): the same results to the bit, whatever happens to the copies."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
import sim.model.cores as cores_module
from sim.cli import main
from sim.model.cores import Cores, usable
from sim.streams import Streams, uniform_again, uniform_columns

from .conftest import ROOT, SCENARIOS, small

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="runs on several cores fork (Linux)")

# The baseline, small: its Walmart+ launch (September 2020, in the warm-up), month starts (membership
# values exchanged), and every event of its horizon (fees, capacity, dark stores, clinics closing).
SHORT = {"population.shoppers": 700}


@pytest.fixture
def many_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let a small run use up to three copies, even on a machine with fewer cores (slower, same numbers)."""
    monkeypatch.setattr(cores_module, "MIN_HOUSEHOLDS_PER_CORE", 100)
    monkeypatch.setattr(cores_module, "available_cores", lambda: 3)


def assert_same_bits(a: sim.Result, b: sim.Result) -> None:
    assert list(a.timeseries.columns) == list(b.timeseries.columns)
    for column in a.timeseries.columns:
        left, right = a.timeseries[column].to_numpy(), b.timeseries[column].to_numpy()
        if left.dtype.kind == "f":
            assert np.array_equal(left.view(np.int64), right.view(np.int64)), column  # bits, NaNs included
        else:
            assert np.array_equal(left, right), column


@pytest.mark.parametrize("drawn", [slice(0, 0), slice(0, 400), slice(400, 1000), slice(250, 750), slice(0, 1000)])
def test_a_copy_draws_its_households_numbers_alone(drawn: slice) -> None:
    """The numbers a copy draws for its own households are the whole draw's, and the generator goes on
    as after the whole draw; the first process can make the whole draw again from the state before."""
    whole, own = Streams(7)["shopping.choice"], Streams(7)["shopping.choice"]
    whole.random(5), own.random(5)  # mid-stream, as in any week after the first
    whole.integers(9, size=3, dtype=np.uint32), own.integers(9, size=3, dtype=np.uint32)  # half a step kept
    state = own.bit_generator.state
    expected, drawn_alone = whole.random((6, 1000)), uniform_columns(own, 6, 1000, drawn)
    assert np.array_equal(drawn_alone[:, drawn], expected[:, drawn])
    assert np.isnan(np.delete(drawn_alone, np.arange(1000)[drawn], axis=1)).all()
    halves = [generator.integers(1 << 31, size=5, dtype=np.uint32) for generator in (whole, own)]
    assert np.array_equal(*halves)
    assert np.array_equal(whole.random(50), own.random(50))
    assert np.array_equal(uniform_again(state, 6, 1000), expected)


@pytest.mark.usefixtures("many_cores")
@pytest.mark.parametrize("cores", [2, 3])
def test_several_cores_give_one_cores_results_to_the_bit(cores: int) -> None:
    baseline = SCENARIOS / "baseline.yaml"
    one = sim.run(baseline, overrides=SHORT)
    several = sim.run(baseline, overrides=SHORT, cores=cores)
    assert one.manifest["cores"] == 1 and several.manifest["cores"] == cores
    assert_same_bits(one, several)


@pytest.mark.usefixtures("many_cores")
def test_strategic_conduct_and_parts_that_straddle_the_copies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Price reviews value every household on every copy; parts of 64 households cut across the copies'
    ranges (700 / 2 is not a multiple of 64)."""
    monkeypatch.setattr("sim.model.market.PART_SIZE", 64)
    scenario = sim.load_scenario(SCENARIOS / "baseline.yaml", {"conduct": "strategic", "population.shoppers": 700})
    one, two = sim.run(scenario), sim.run(scenario, cores=2)
    assert two.manifest["cores"] == 2
    assert_same_bits(one, two)


@pytest.mark.usefixtures("many_cores")
def test_a_copy_that_dies_is_taken_over_by_the_first_process(monkeypatch: pytest.MonkeyPatch) -> None:
    exchange = Cores.exchange

    def dies_in_week_30(self: Cores, model, valuing: bool):
        if self.index == 1 and self._weeks == 30:
            os._exit(1)  # in the forked copy only: as if the out-of-memory killer had ended it
        return exchange(self, model, valuing)

    monkeypatch.setattr(Cores, "exchange", dies_in_week_30)
    baseline = SCENARIOS / "baseline.yaml"
    one = sim.run(baseline, overrides=SHORT)
    survived = sim.run(baseline, overrides=SHORT, cores=3)
    assert survived.manifest["cores"] == 1  # shopped alone from week 30
    assert_same_bits(one, survived)


@pytest.mark.usefixtures("many_cores")
def test_a_copy_that_hangs_is_ended_and_taken_over(monkeypatch: pytest.MonkeyPatch) -> None:
    exchange = Cores.exchange
    started: list[int] = []
    start = Cores.start.__func__

    def recording(cls, model, cores):
        copies = start(cls, model, cores)
        started.extend(copies._children if copies else [])
        return copies

    def hangs_in_week_30(self: Cores, model, valuing: bool):
        if self.index == 2 and self._weeks == 30:
            time.sleep(3600)  # in the forked copy only: as if stuck on a lock
        return exchange(self, model, valuing)

    monkeypatch.setattr(Cores, "start", classmethod(recording))
    monkeypatch.setattr(Cores, "exchange", hangs_in_week_30)
    monkeypatch.setattr(cores_module, "MIN_WAIT_SECONDS", 1.0)
    baseline = SCENARIOS / "baseline.yaml"
    one = sim.run(baseline, overrides=SHORT)
    began = time.monotonic()
    survived = sim.run(baseline, overrides=SHORT, cores=3)
    assert time.monotonic() - began < 60  # not the copy's hour
    assert survived.manifest["cores"] == 1
    assert_same_bits(one, survived)
    assert len(started) == 2
    for pid in started:  # the hung copy was ended, and both reaped
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


@pytest.mark.usefixtures("many_cores")
def test_the_copies_are_reaped(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[int] = []
    start = Cores.start.__func__

    def recording(cls, model, cores):
        copies = start(cls, model, cores)
        started.extend(copies._children)
        return copies

    monkeypatch.setattr(Cores, "start", classmethod(recording))
    sim.run(small(population__shoppers=500), cores=3)
    assert len(started) == 2
    for pid in started:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # gone, not a zombie: a zombie still answers signal 0


def test_copies_end_when_the_first_process_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "killed.py"
    script.write_text(
        "import sys, time\n"
        "import sim, sim.model.cores as c\n"
        "c.MIN_HOUSEHOLDS_PER_CORE = 100\n"
        "c.available_cores = lambda: 3\n"
        "def progress(model):\n"
        "    if model.steps == 8:\n"
        "        print(*model.cores._children, flush=True)\n"
        "        time.sleep(600)\n"
        f"sim.run({str(SCENARIOS / 'baseline.yaml')!r}, overrides={SHORT!r}, cores=3, progress=progress)\n",
        encoding="utf-8")
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        copies = [int(pid) for pid in process.stdout.readline().split()]
        assert len(copies) == 2
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    deadline = time.monotonic() + 20
    alive = copies
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if Path(f"/proc/{pid}").exists()
                 and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"]
        time.sleep(0.1)
    assert alive == []


def test_how_many_copies_a_run_gets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cores_module, "available_cores", lambda: 2)
    assert usable(1, 20_000) == 1
    assert usable(2, 20_000) == 2
    assert usable(4, 20_000) == 2  # never more than the machine's cores
    assert usable(2, 2_999) == 1  # under 1,500 households a copy, one process is as fast
    assert usable(2, 3_000) == 2
    assert usable(2, cores_module.MAX_SHARED_HOUSEHOLDS + 1) == 1  # each copy holds the model's memory


def test_cores_on_the_command_line(tiny_yaml: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for bad in ("0", "-1", "two", "100000"):
        assert main(["run", str(tiny_yaml), "--cores", bad, "--out", str(tmp_path / bad)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "--cores" in err[0]
        assert not (tmp_path / bad).exists()
    for cores in ("1", "64"):  # more than the machine has: those it has
        out = tmp_path / f"cores{cores}"
        assert main(["run", str(tiny_yaml), "--cores", cores, "--out", str(out), "--quiet", "--no-report"]) == 0
        assert pd.read_parquet(out / "timeseries.parquet").shape[0] > 0


def test_the_api_checks_cores() -> None:
    with pytest.raises(sim.UserError, match="cores must be a whole number >= 1"):
        sim.run(small(), cores=0)


@pytest.mark.usefixtures("many_cores")
def test_runs_side_by_side_give_the_same_results(monkeypatch: pytest.MonkeyPatch) -> None:
    """Several runs (compare's, --replicates) go one a process on a pool, with the results in order."""
    monkeypatch.setattr("sim.processes.available_cores", lambda: 2)
    monkeypatch.setattr("sim.experiments.replicates.MIN_SIDE_BY_SIDE_HOUSEHOLD_WEEKS", 0)
    from sim.experiments import replicate_seeds, run_replicates
    from sim.experiments.replicates import side_by_side

    baseline = sim.load_scenario(SCENARIOS / "baseline.yaml", SHORT)
    cut = sim.load_scenario(SCENARIOS / "membership_fee_war.yaml", SHORT)
    seeds = replicate_seeds(5, 2)
    assert side_by_side(2, [(baseline, seeds[0]), (cut, seeds[0])]) == 2
    told, weeks = [], []
    one = run_replicates([baseline, cut], seeds)
    pooled = run_replicates([baseline, cut], seeds, on_run=lambda s, seed: told.append((s.name, seed)),
                            progress=weeks.append, cores=2)
    assert told == [(s.name, seed) for s in (baseline, cut) for seed in seeds]
    assert len(weeks) == 4 * len(sim.model.market.RetailMarket.calendar(baseline.horizon))
    assert [(r.scenario.name, r.seed) for r in pooled] == [(r.scenario.name, r.seed) for r in one]
    for a, b in zip(one, pooled):
        assert b.manifest["cores"] == 1
        assert_same_bits(a, b)


def test_how_many_runs_go_side_by_side(monkeypatch: pytest.MonkeyPatch) -> None:
    from sim.experiments.replicates import side_by_side

    monkeypatch.setattr("sim.processes.available_cores", lambda: 2)
    tiny, quick_look = small(), sim.load_scenario(SCENARIOS / "baseline.yaml", {"population.shoppers": 2000})
    assert side_by_side(2, [(tiny, 1), (tiny, 2)]) == 1  # 400 households for 25 weeks: a pool costs more
    assert side_by_side(2, [(quick_look, seed) for seed in range(10)]) == 2  # 11 million household-weeks
    assert side_by_side(1, [(quick_look, seed) for seed in range(10)]) == 1
    assert side_by_side(8, [(quick_look, seed) for seed in range(10)]) == 2  # the CPUs there are
    assert side_by_side(2, [(quick_look, 1)]) == 1  # one run: it shares its households instead
    huge = sim.load_scenario(SCENARIOS / "baseline.yaml", {"population.shoppers": 300_000})
    assert side_by_side(2, [(huge, 1), (huge, 2)]) == 1  # each process would hold a 300,000-household model


@pytest.mark.usefixtures("many_cores")
def test_a_fork_that_fails_leaves_the_run_on_one_core(monkeypatch: pytest.MonkeyPatch) -> None:
    """No process to be had (a limit on processes): the copies already made end, and the run goes on."""
    fork, made = os.fork, []

    def second_fails() -> int:
        if made:
            raise BlockingIOError(11, "Resource temporarily unavailable")
        pid = fork()
        if pid:
            made.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", second_fails)
    descriptors = len(os.listdir("/proc/self/fd"))
    one = sim.run(SCENARIOS / "baseline.yaml", overrides=SHORT)
    fell_back = sim.run(SCENARIOS / "baseline.yaml", overrides=SHORT, cores=3)
    assert fell_back.manifest["cores"] == 1
    assert_same_bits(one, fell_back)
    assert len(made) == 1 and not Path(f"/proc/{made[0]}").exists()  # the first copy was ended and reaped
    assert len(os.listdir("/proc/self/fd")) == descriptors


def group_alive(group: int) -> list[str]:
    """The live (not zombie) processes of a process group."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            alive.append(stat.parent.name)
    return alive


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL])
def test_runs_side_by_side_stop_with_the_first_process(tmp_path: Path, how: signal.Signals) -> None:
    """Ctrl-C (to the whole process group, as a terminal sends it) stops a comparison's pool at once;
    a first process that is killed leaves no pool behind (its server and workers end with it)."""
    script = tmp_path / "pooled.py"
    script.write_text(
        "import sys\n"
        "import sim.experiments.replicates as r\n"
        "r.MIN_SIDE_BY_SIDE_HOUSEHOLD_WEEKS = 0\n"
        "from sim.cli import main\n"
        "if __name__ == '__main__':\n"
        "    sys.exit(main(sys.argv[1:]))\n", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, str(script), "compare", "baseline", "membership_fee_war", "--shoppers", "3000",
         "--replicates", "4", "--cores", "2", "--quiet", "--out", str(tmp_path / "out")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, start_new_session=True)
    try:
        time.sleep(2.5)  # the pool has started: 8 runs of about a second each, two at a time
        assert process.poll() is None
        if how == signal.SIGINT:
            os.killpg(process.pid, signal.SIGINT)
        else:
            os.kill(process.pid, signal.SIGKILL)
        begun = time.monotonic()
        _out, err = process.communicate(timeout=30)
        if how == signal.SIGINT:
            assert process.returncode == 130 and time.monotonic() - begun < 2
            assert err.strip() == "retailsim: interrupted; nothing was written"
            assert not (tmp_path / "out").exists()
        deadline = time.monotonic() + 10
        while group_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert group_alive(process.pid) == []
    finally:  # whatever the outcome, nothing of the test stays behind
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
