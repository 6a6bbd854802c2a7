"""One run on several cores: forked copies of the model, each shopping for its own share of households.

A week's shopping (utilities, the logit, welfare, the draw, and monthly the memberships' values) is
about two-thirds of a run, and one household's shopping does not depend on another's in the same
week. Threads do not help: the week is a few hundred short numpy calls with Python between them,
and two threads spent their time waiting for each other's interpreter lock (measured: 7% faster).
So the run forks: each copy (a process with the whole model, built once before the fork) steps the
same weeks, draws the same random numbers and keeps the same books, but shops only for its own
contiguous range of households (:attr:`Cores.spans`; the first process, which alone records the
week's data, shops for fewer); after shopping, every copy writes its
households' choices, spending, baskets, surplus and membership values into shared memory, and reads
the others'. Everything after shopping (the tally, the books, the reviews, the data) is computed by
every copy from the same numbers, so the first process (the one the user started) ends with exactly
the results of a run on one core, to the bit: each household's numbers are the same whichever
process computes them (as with parts of the population, ``PART_SIZE``).

Copies are told apart by one byte over a pair of pipes each: a copy that dies closes its pipes, so
the first process learns it at once and shops for every household itself from that week on (the
same numbers); so it does, after ending it, for a copy silent for a minute (hung: a week takes
milliseconds). A copy whose first process has gone ends. Copies write no file and print nothing.

Only on Linux (``fork``), and only where a caller asks (``sim.run(cores=...)``; ``retailsim run``
by default on the machine's cores): a process with other threads (a notebook's kernel, a server)
should not fork, and each copy holds the model's memory again.
"""

from __future__ import annotations

import mmap
import os
import time

import numpy as np

from ..processes import MIN_WAIT_SECONDS, available_cores, can_fork, end_copy, fork_copy, readable
from ..vocabulary import N_CATEGORIES

# Above this many households a run stays on one core: every copy holds the model's memory (about 1 KiB
# a household, docs/performance.md), and a million-household run would need it several times over.
MAX_SHARED_HOUSEHOLDS = 250_000
# Below this many households a copy, forking and exchanging cost more than they save: measured on 2 cores
# (docs/performance.md), 2,000 households ran as fast on one core as on two, 3,000 faster on two.
MIN_HOUSEHOLDS_PER_CORE = 1_500
# The first process's households, as a share of a copy's. Copies record nothing (``RetailMarket.records``):
# only the first process's results are kept, so it alone collects the week's data and adds the
# memberships' dollars to the surplus, about a fifth of the shopping's time at 20,000 households
# (0.48 s against 2.26 s, docs/performance.md); shopping for 2 households to a copy's 3 evens the two.
FIRST_WEIGHT = 2 / 3


def usable(cores: int, households: int) -> int:
    """How many processes a run of ``households`` shops on when ``cores`` are asked for: 1 where it
    cannot fork or above :data:`MAX_SHARED_HOUSEHOLDS`; never more than the machine's cores, nor
    fewer than :data:`MIN_HOUSEHOLDS_PER_CORE` households each."""
    if not can_fork() or households > MAX_SHARED_HOUSEHOLDS:
        return 1
    return max(1, min(cores, available_cores(), households // MIN_HOUSEHOLDS_PER_CORE))


class Cores:
    """The shared memory and the pipes of one run on several cores, as one copy sees them.

    ``index`` 0 is the first process (the caller's); ``spans[index]`` the households it shops for."""

    def __init__(self, households: int, count: int, memberships: list[str]) -> None:
        n = households
        weights = np.array([FIRST_WEIGHT] + [1.0] * (count - 1))
        ends = np.rint(np.cumsum(weights) / weights.sum() * n).astype(int)
        self.spans = [slice(int(start), int(end)) for start, end in zip([0, *ends[:-1]], ends)]
        self.index = 0
        self.memberships = list(memberships)
        self.rows = 1 + 2 * N_CATEGORIES + len(self.memberships)  # surplus, quantity, spend, values
        floats, choices = self.rows * n * 8, N_CATEGORIES * n
        self._memory = mmap.mmap(-1, 2 * (floats + choices))  # anonymous and shared: seen by every copy
        # Two sets, used in turn: a copy may start the next week's shopping before a slower one has
        # read this week's.
        self._floats = [np.frombuffer(self._memory, np.float64, self.rows * n, offset=p * (floats + choices))
                        .reshape(self.rows, n) for p in (0, 1)]
        self._choices = [np.frombuffer(self._memory, np.int8, choices, offset=p * (floats + choices) + floats)
                         .reshape(N_CATEGORIES, n) for p in (0, 1)]
        self._weeks = 0
        self._links: list[tuple[int, int]] = []  # (read, write) file descriptors: to each copy, or to the first
        self._children: list[int] = []

    @classmethod
    def start(cls, model, cores: int) -> Cores | None:
        """Fork ``cores - 1`` copies of ``model`` (built, not yet stepped), which step it to the end and
        exit; returns the first process's side, or None if the run stays on one core."""
        count = usable(cores, model.households.n)
        if count <= 1:
            return None
        self = cls(model.households.n, count, list(model.membership_value))
        try:
            for index in range(1, count):
                self._fork(model, index)
        except OSError:  # no process or pipe to be had (a limit on processes, on open files): one core
            self.close()
            return None
        return self

    def _fork(self, model, index: int) -> None:
        up, down = os.pipe(), os.pipe()  # copy -> first, first -> copy
        try:
            pid = fork_copy()
        except OSError:
            for fd in (*up, *down):
                os.close(fd)
            raise
        if pid == 0:
            self._run_copy(model, index, (down[0], up[1]), (up[0], down[1]))
        os.close(up[1])
        os.close(down[0])
        self._links.append((up[0], down[1]))
        self._children.append(pid)

    def _run_copy(self, model, index: int, link: tuple[int, int], unused: tuple[int, int]) -> None:
        """In a forked copy: step the model to the end, shopping for ``spans[index]``; never returns."""
        try:
            for fd in (*unused, *(fd for pair in self._links for fd in pair)):
                os.close(fd)  # the first process's ends, and its pipes to earlier copies
            self.index, self._links, self._children = index, [link], []
            model.cores, model.records = self, False
            model.run_model()
        except BaseException:  # noqa: BLE001 (a copy that fails ends; the first process shops for it)
            pass
        os._exit(0)

    @property
    def own(self) -> slice:
        return self.spans[self.index]

    def exchange(self, model, valuing: bool) -> list[slice]:
        """After this copy has shopped for its own households: give them to the other copies and take
        theirs (with the membership values, in a valuing week). Returns the households nobody gave
        (every other copy's, if one has gone; the first process then shops for them, this week and
        after, on one core)."""
        floats, choices = self._floats[self._weeks % 2], self._choices[self._weeks % 2]
        self._weeks += 1
        given = [*self._rows(model, valuing, floats), (model.choice, choices)]
        for mine, shared in given:
            shared[:, self.own] = mine[:, self.own]
        if not self._signal():
            if self.index:
                os._exit(0)  # the first process has gone
            self.close()
            model.cores = None
            return [span for k, span in enumerate(self.spans) if k != 0]
        for k, span in enumerate(self.spans):
            if k != self.index:
                for mine, shared in given:
                    mine[:, span] = shared[:, span]
        return []

    def _rows(self, model, valuing: bool, floats: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """The model's arrays a copy gives each week, as (rows, households) views, each with its rows of
        the shared ``floats``: surplus, quantity, spend, and in a valuing week the memberships' values."""
        arrays = [model.surplus[None, :], model.quantity, model.spend]
        if valuing:
            arrays += [model.membership_value[name][None, :] for name in self.memberships]
        ends = np.cumsum([len(array) for array in arrays])
        return [(array, floats[end - len(array):end]) for array, end in zip(arrays, ends)]

    def _signal(self) -> bool:
        """Wait until every copy has written its households: copies tell the first process, which then
        tells them all. False if a process at the other end has gone, or (to the first process) if a
        copy has been silent for ``MIN_WAIT_SECONDS``, a hang, not a week's work: it is then ended."""
        try:
            if self.index:
                read, write = self._links[0]
                os.write(write, b".")
                return os.read(read, 1) == b"."
            deadline = time.monotonic() + MIN_WAIT_SECONDS
            if not all(readable(read, deadline) and os.read(read, 1) == b"." for read, _write in self._links):
                return False
            for _read, write in self._links:
                os.write(write, b".")
            return True
        except OSError:
            return False

    def close(self) -> None:
        """In the first process: stop the copies (they have nothing left to give) and reap them."""
        for pid, fds in zip(self._children, self._links):
            end_copy(pid, *fds)
        self._links, self._children = [], []

