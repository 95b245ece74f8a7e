"""Fault injection at run time: every fault decision of one run, from one stream.

``Faults`` draws each decision from the run's ``faults`` stream (only for the
faults that are on, so a run without faults draws nothing from it), which is
what makes one seed reproduce a faulty run exactly. The shell asks it; the
core never knows. What each setting means is in ``sim.faultsettings``.

A crash cuts a running worker short with ``process.interrupt(WorkerCrashed)``;
a dying handler run is a program that stops before a write (``mortal``).
``FaultCounts`` keeps what was injected, for tests and for the curious.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Generator, Iterator
from dataclasses import asdict, dataclass
from itertools import chain, count
from typing import Any

import numpy as np
import simpy

from coordinator import (
    ClaimNextWave,
    CompleteFinishedWaves,
    Effect,
    EnqueueBatches,
    MarkPushed,
    ReadActiveWave,
    ReadClaimedWave,
    ReadCurrentWave,
    ReadLowestPending,
    ReadNextMainWave,
    ReadWave,
    ScheduleTrigger,
    SetStatus,
    WaveTable,
)
from sim.faultsettings import faults_on
from sim.rng import BLOCK
from sim.scenario import Scenario

__all__ = ["READS", "FaultCounts", "Faults", "ReplicaView", "WorkerCrashed", "crash_after", "mortal"]

#: the operations a replica can answer (conditional UPDATEs go to the primary)
READS: tuple[type, ...] = (
    ReadCurrentWave, ReadWave, ReadLowestPending, ReadNextMainWave, ReadActiveWave, ReadClaimedWave,
)
#: the operations a dying handler run never gets to
_ACTS: tuple[type, ...] = (
    SetStatus, ClaimNextWave, CompleteFinishedWaves, EnqueueBatches, ScheduleTrigger, MarkPushed,
)
#: lognormal shape of the replica lag (median ``replica_lag_ms``; p99 about ten times the median)
REPLICA_LAG_SIGMA = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerCrashed:
    """A worker process died while it held a batch job (the interrupt's cause)."""

    wave: int
    batch: int
    reserved_at: float
    after_record: bool


@dataclass(slots=True)
class FaultCounts:
    """How often each fault struck in one run."""

    crashes: int = 0
    events_lost: int = 0
    events_duplicated: int = 0
    failed_tries: int = 0
    batches_failed: int = 0
    stale_reads: int = 0
    triggers_lost: int = 0
    triggers_skewed: int = 0
    handler_deaths: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _values(draw: Callable[[int], np.ndarray]) -> Callable[[], float]:
    blocks: Iterator[list[float]] = (draw(BLOCK).tolist() for _ in count())
    return chain.from_iterable(blocks).__next__


class Faults:
    """The fault decisions of one run."""

    def __init__(self, scenario: Scenario, gen: np.random.Generator) -> None:
        self.scenario = scenario
        self.counts = FaultCounts()
        self._uniform = _values(gen.random)
        self._normal = _values(gen.standard_normal)

    @staticmethod
    def wanted(scenario: Scenario) -> bool:
        """Whether any fault of ``scenario`` is on."""
        return bool(faults_on(scenario.to_dict()))

    def _chance(self, rate: float) -> bool:
        return rate > 0.0 and self._uniform() < rate

    # -- batch jobs -------------------------------------------------------------------------
    def crash(self, duration: float) -> tuple[bool, float] | None:
        """None, or a crash: (after the result committed?, else seconds into the work)."""
        if not self._chance(self.scenario.crash_rate):
            return None
        u = self._uniform()
        return (True, 0.0) if u < 0.5 else (False, (u - 0.5) * 2.0 * duration)

    def try_fails(self) -> bool:
        """This try of a batch job fails."""
        return self._chance(self.scenario.batch_failure_rate)

    def event_copies(self) -> int:
        """How many times a ``BatchJobCompleted`` event is delivered: 0 (lost), 1 or 2."""
        s = self.scenario
        if self._chance(s.event_loss_rate):
            self.counts.events_lost += 1
            return 0
        if self._chance(s.event_duplicate_rate):
            self.counts.events_duplicated += 1
            return 2
        return 1

    # -- the auto-trigger --------------------------------------------------------------------
    def trigger_delay(self, delay_s: float) -> float | None:
        """The delay after which the scheduled job really comes due, or None when it is lost."""
        s = self.scenario
        if self._chance(s.trigger_loss_rate):
            self.counts.triggers_lost += 1
            return None
        if s.clock_skew_s > 0.0:
            self.counts.triggers_skewed += 1
            return max(0.0, delay_s + s.clock_skew_s * self._normal())
        return delay_s

    # -- handler runs ------------------------------------------------------------------------
    def dies(self) -> bool:
        """A handler run dies before its next write."""
        if self._chance(self.scenario.handler_death_rate):
            self.counts.handler_deaths += 1
            return True
        return False

    def replica_lag(self) -> float:
        """One read's replica lag, in seconds."""
        return self.scenario.replica_lag_ms / 1000.0 * math.exp(REPLICA_LAG_SIGMA * self._normal())


class ReplicaView:
    """The versions of the table a lagging replica can still show, by the time they were written."""

    def __init__(self, table: WaveTable, lag: Callable[[], float], counts: FaultCounts) -> None:
        self.times: list[float] = [-math.inf]
        self.tables: list[WaveTable] = [table]
        self._lag = lag
        self._counts = counts

    def written(self, now: float, table: WaveTable) -> None:
        """The primary has a new version."""
        self.times.append(now)
        self.tables.append(table)

    def read(self, now: float) -> WaveTable:
        """The table as the replica shows it at ``now``: as it was one sampled lag ago."""
        i = bisect_right(self.times, now - self._lag()) - 1
        if i < len(self.tables) - 1:
            self._counts.stale_reads += 1
        return self.tables[i]


def mortal(program: Generator[Effect, object, Any], faults: Faults) -> Generator[Effect, object, Any]:
    """``program``, except that before each write it may die (returning None, the rest never runs)."""
    try:
        effect = next(program)
    except StopIteration as stop:
        return stop.value
    while True:
        if isinstance(effect, _ACTS) and faults.dies():
            program.close()
            return None
        result = yield effect
        try:
            effect = program.send(result)
        except StopIteration as stop:
            return stop.value


def crash_after(env: simpy.Environment, victim: simpy.Process, delay: float,
                cause: WorkerCrashed) -> Generator[simpy.Event, Any, None]:
    """A process that kills ``victim`` after ``delay`` seconds."""
    yield env.timeout(delay)
    if victim.is_alive:
        victim.interrupt(cause)
