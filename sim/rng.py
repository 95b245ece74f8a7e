"""One seeded random stream per source of chance, drawn in blocks.

``numpy.random.SeedSequence(seed).spawn(4)`` gives independent generators for
batch durations, DB latency, same-instant tie-breaks and (later) faults, so a
change in how often one stream is drawn never shifts another. Values are
drawn and transformed in numpy blocks and handed out one at a time through a
plain iterator, which keeps the hot path to one ``next()``; the order of
draws, and so every run, is fixed by the seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from itertools import chain, count

import numpy as np

from sim.scenario import Scenario

__all__ = ["BLOCK", "Streams", "TieKeys", "in_blocks"]

BLOCK = 4096


def in_blocks(draw: Callable[[int], np.ndarray], block: int = BLOCK) -> Iterator[float]:
    """An endless iterator over ``draw(block)``, ``draw(block)``, ... as Python numbers."""
    blocks: Iterator[list[float]] = (draw(block).tolist() for _ in count())
    return chain.from_iterable(blocks)


class TieKeys:
    """Unique, seeded keys that order events scheduled for the same instant.

    A key is a random 30-bit number above a 32-bit sequence number, so keys
    never repeat within a run (up to 2**32 events) and their order is random.
    """

    __slots__ = ("next_key",)

    def __init__(self, gen: np.random.Generator) -> None:
        seq = count()

        def draw(n: int) -> np.ndarray:
            start = next(seq) * n
            low = np.arange(start, start + n, dtype=np.int64) & 0xFFFFFFFF
            return (gen.integers(0, 2**30, size=n, dtype=np.int64) << 32) | low

        #: call to get the next key
        self.next_key: Callable[[], int] = in_blocks(draw).__next__  # type: ignore[assignment]

    def next(self) -> int:
        return self.next_key()


class Streams:
    """The stochastic inputs of one run: durations, DB latencies, tie-break keys."""

    __slots__ = ("_duration", "_factor", "_read", "_write", "_enqueue", "ties", "faults")

    def __init__(self, scenario: Scenario) -> None:
        durations, db, ties, faults = (
            np.random.Generator(np.random.PCG64(s)) for s in np.random.SeedSequence(scenario.seed).spawn(4)
        )
        mean = scenario.batch_mean_s
        if scenario.batch_distribution == "lognormal":
            sigma = scenario.batch_sigma
            mu = math.log(mean) - sigma * sigma / 2  # so that the mean is batch_mean_s
            self._duration = in_blocks(lambda n: np.exp(mu + sigma * durations.standard_normal(n))).__next__
        else:
            self._duration = in_blocks(lambda n: mean * durations.standard_exponential(n)).__next__
        db_sigma = scenario.db_sigma
        #: lognormal factors around 1 (median 1), one per DB operation
        self._factor = in_blocks(lambda n: np.exp(db_sigma * db.standard_normal(n))).__next__
        self._read = scenario.db_read_ms / 1000.0
        self._write = scenario.db_write_ms / 1000.0
        self._enqueue = scenario.enqueue_ms_per_job / 1000.0
        self.ties = TieKeys(ties)
        #: reserved for fault injection; not drawn yet
        self.faults = faults

    def duration(self) -> float:
        """One batch job's run time, in seconds."""
        return self._duration()

    def read_latency(self) -> float:
        """One SELECT, in seconds (lognormal around the median)."""
        return self._read * self._factor()

    def write_latency(self) -> float:
        """One UPDATE and its commit, in seconds."""
        return self._write * self._factor()

    def enqueue_latency(self, jobs: int) -> float:
        """Pushing ``jobs`` jobs to the queue, one round trip each."""
        return jobs * self._enqueue * self._factor()
