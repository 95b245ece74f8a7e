"""The database: runs each DB operation a handler yields, after a sampled latency.

``Database.run(program)`` is a SimPy sub-process body: for every effect the
program yields it waits a latency drawn for that kind of operation (a read, a
write, a push of jobs to the queue), then runs it through ``coordinator.apply``
against the current ``WaveTable`` and sends the result back. Because each
operation takes time and other processes run meanwhile, handlers interleave
between a check and the act that depends on it, as they do in production.
The operation's effect takes place when its latency has passed.

After each operation that changed the table or asks the driver for
something, ``on_applied(effect, before, after, result)`` lets the run react:
monitors, recorder, and the two effects that ask the driver to put jobs on the
queue (``EnqueueBatches``, ``ScheduleTrigger``).

``in_flight`` counts the programs under way, so a run can let every write in
flight land before it ends (``on_ended`` tells it when one has).

With the replica-lag fault on (``replica``), a plain read sees the table as a
lagging replica shows it, unless the same handler run already changed a row
(Laravel's ``sticky`` connection); writes always go to the primary.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

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
    RecordBatchFinished,
    ScheduleTrigger,
    SetStatus,
    WaveTable,
    apply,
)
from sim.faults import READS, ReplicaView
from sim.rng import Streams

__all__ = ["Database"]

OnApplied = Callable[[Effect, WaveTable, WaveTable, object], None]


class Database:
    """The ``wave_coordination`` table of one run, with latencies."""

    def __init__(self, env: simpy.Environment, table: WaveTable, streams: Streams, wave_size: int,
                 on_applied: OnApplied) -> None:
        self.env = env
        self.table = table
        self.stopped = False
        self.operations = 0
        #: programs started and not yet ended; ``on_ended`` is called each time one ends
        self.in_flight = 0
        self.on_ended: Callable[[], None] | None = None
        #: when a list, every applied operation is appended as (time, label, effect, result); a handler
        #: run's label is unique to it, so a test can follow one run (which run pushed a wave, and why)
        self.trace: list[tuple[float, str, Effect, object]] | None = None
        self._on_applied = on_applied
        #: set when reads go to a lagging replica (the replica-lag fault)
        self.replica: ReplicaView | None = None
        read, write = streams.read_latency, streams.write_latency
        self._latency: dict[type, Callable[[], float]] = {
            ReadCurrentWave: read, ReadWave: read, ReadLowestPending: read, ReadNextMainWave: read,
            ReadActiveWave: read, ReadClaimedWave: read, MarkPushed: write,
            SetStatus: write, ClaimNextWave: write, CompleteFinishedWaves: write, RecordBatchFinished: write,
            EnqueueBatches: lambda: streams.enqueue_latency(wave_size),
            ScheduleTrigger: lambda: streams.enqueue_latency(1),
        }

    def run(self, program: Generator[Effect, object, Any], label: str = "") -> Generator[simpy.Event, Any, Any]:
        """Run ``program`` to its end, one operation per sampled latency; return its result.

        ``label`` names the run in the trace (when tracing is on)."""
        env, latency, replica = self.env, self._latency, self.replica
        sticky = False
        try:
            effect = next(program)
        except StopIteration as stop:
            return stop.value
        self.in_flight += 1
        while True:
            yield env.timeout(latency[type(effect)]())
            if self.stopped:
                program.close()
                self.in_flight -= 1
                return None
            before = self.table
            if replica is not None and not sticky and type(effect) in READS:
                after, result = before, apply(replica.read(env.now), effect, env.now)[1]
            else:
                after, result = apply(before, effect, env.now)
                if replica is not None and after is not before:
                    replica.written(env.now, after)
                    sticky = True
            self.table = after
            self.operations += 1
            if self.trace is not None:
                self.trace.append((env.now, label, effect, result))
            if after is not before or type(effect) is ScheduleTrigger:  # reads change nothing
                self._on_applied(effect, before, after, result)
            try:
                effect = program.send(result)
            except StopIteration as stop:
                self.in_flight -= 1
                if self.on_ended is not None:
                    self.on_ended()
                return stop.value
