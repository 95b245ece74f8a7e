"""One seeded random stream per source of chance, drawn in blocks.

``numpy.random.SeedSequence(seed).spawn(4)`` gives independent generators for
batch durations, DB latency, same-instant tie-breaks and (later) faults, so a
change in how often one stream is drawn never shifts another. Values are drawn
in blocks and handed out one at a time, which keeps the hot path to a list
index; the order of draws, and so every run, is fixed by the seed.
"""

from __future__ import annotations

import math

import numpy as np

from sim.scenario import Scenario

__all__ = ["BLOCK", "Streams", "TieKeys"]

BLOCK = 4096


class _Block:
    """Hands out values of one kind from a generator, a block at a time."""

    __slots__ = ("_draw", "_i", "_values")

    def __init__(self, draw: object) -> None:
        self._draw = draw
        self._values: list[float] = []
        self._i = 0

    def next(self) -> float:
        if self._i >= len(self._values):
            self._values = self._draw(BLOCK).tolist()  # type: ignore[operator]
            self._i = 0
        v = self._values[self._i]
        self._i += 1
        return v


class TieKeys:
    """Unique, seeded keys that order events scheduled for the same instant."""

    __slots__ = ("_block", "_n")

    def __init__(self, gen: np.random.Generator) -> None:
        self._block = _Block(lambda n: gen.integers(0, 2**30, size=n, dtype=np.int64))
        self._n = 0

    def next(self) -> int:
        self._n += 1
        return (int(self._block.next()) << 32) | (self._n & 0xFFFFFFFF)


class Streams:
    """The stochastic inputs of one run: durations, DB latencies, tie-break keys."""

    __slots__ = ("_dur", "_db", "_dur_mul", "_dur_shift", "_lognormal", "_read", "_write", "_sigma",
                 "_enqueue", "ties", "faults")

    def __init__(self, scenario: Scenario) -> None:
        durations, db, ties, faults = (
            np.random.Generator(np.random.PCG64(s)) for s in np.random.SeedSequence(scenario.seed).spawn(4)
        )
        self._lognormal = scenario.batch_distribution == "lognormal"
        if self._lognormal:
            sigma = scenario.batch_sigma
            self._dur = _Block(durations.standard_normal)
            self._dur_mul, self._dur_shift = sigma, math.log(scenario.batch_mean_s) - sigma * sigma / 2
        else:
            self._dur = _Block(durations.standard_exponential)
            self._dur_mul, self._dur_shift = scenario.batch_mean_s, 0.0
        self._db = _Block(db.standard_normal)
        self._read = scenario.db_read_ms / 1000.0
        self._write = scenario.db_write_ms / 1000.0
        self._enqueue = scenario.enqueue_ms_per_job / 1000.0
        self._sigma = scenario.db_sigma
        self.ties = TieKeys(ties)
        #: reserved for fault injection; not drawn yet
        self.faults = faults

    def duration(self) -> float:
        """One batch job's run time, in seconds."""
        if self._lognormal:
            return math.exp(self._dur_shift + self._dur_mul * self._dur.next())
        return self._dur_mul * self._dur.next()

    def read_latency(self) -> float:
        """One SELECT, in seconds (lognormal around the median)."""
        return self._read * math.exp(self._sigma * self._db.next())

    def write_latency(self) -> float:
        """One UPDATE and its commit, in seconds."""
        return self._write * math.exp(self._sigma * self._db.next())

    def enqueue_latency(self, jobs: int) -> float:
        """Pushing ``jobs`` jobs to the queue, one round trip each."""
        return jobs * self._enqueue * math.exp(self._sigma * self._db.next())
