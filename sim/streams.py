"""Named random streams: one ``SeedSequence`` per run, one generator per random process.

Every random process in the model (drawing the population, wiring the social network, weekly
channel choices, monthly membership decisions, the AI talent lottery...) draws from its own
stream, derived from the run seed and the stream's name. Two scenarios that differ in one lever
therefore see the same random numbers everywhere else (common random numbers), and adding a new
stream never shifts the numbers of an existing one.
"""

from __future__ import annotations

import zlib

import numpy as np


def stream_key(name: str) -> int:
    """A stable 32-bit key for a stream name (``hash()`` is salted per process, crc32 is not)."""
    return zlib.crc32(name.encode("utf-8"))


class Streams:
    """The random generators of one run, created on first use and keyed by name."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._generators: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        generator = self._generators.get(name)
        if generator is None:
            sequence = np.random.SeedSequence(entropy=self.seed, spawn_key=(stream_key(name),))
            generator = np.random.Generator(np.random.PCG64(sequence))
            self._generators[name] = generator
        return generator

    def child_seed(self, name: str) -> int:
        """A plain integer seed derived from this run's seed, for libraries that want one."""
        sequence = np.random.SeedSequence(entropy=self.seed, spawn_key=(stream_key(name),))
        return int(sequence.generate_state(1, dtype=np.uint32)[0])


def uniform_columns(generator: np.random.Generator, rows: int, households: int, drawn: slice) -> np.ndarray:
    """``generator.random((rows, households))`` with only the columns ``drawn`` drawn (the others are
    NaN), leaving ``generator`` where the whole draw leaves it: the drawn columns hold the very numbers
    the whole draw puts there. A PCG64 float64 is one step of the generator, and ``advance`` skips
    steps without making them; a copy of a run on several cores draws its own households' alone."""
    values = np.full((rows, households), np.nan)
    bits = generator.bit_generator
    before = bits.state
    for row in values:
        bits.advance(drawn.start)
        generator.random(out=row[drawn])
        bits.advance(households - drawn.stop)
    if before["has_uint32"]:  # a half-used 64-bit step (a 32-bit draw's): advance drops it, a float64 draw keeps it
        after = bits.state
        bits.state = {**after, "has_uint32": before["has_uint32"], "uinteger": before["uinteger"]}
    return values


def uniform_again(state: dict, rows: int, households: int) -> np.ndarray:
    """The whole ``random((rows, households))`` draw a PCG64 generator in ``state`` (its
    ``bit_generator.state``, taken before :func:`uniform_columns`) makes."""
    bits = np.random.PCG64(0)
    bits.state = state
    return np.random.Generator(bits).random((rows, households))
