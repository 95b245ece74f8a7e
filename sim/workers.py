"""The actors of one run: workers, the start, the reconciler; and the wiring.

``Shell`` holds one run's environment, queue, database, monitors and
recorder, and turns what happens into handler runs; it never decides what the
core decides. Every handler run executes ``coordinator.program_for(trigger,
policy, config)``; a batch job's end is ``coordinator.finish_batch``.

* A **worker** takes the next ready job. A batch job runs for a sampled time,
  then records its end; then the ``BatchJobCompleted`` listener runs inside the
  same worker (``listener = "sync"``) or is pushed to the back of the queue as
  a job (``"queued"``). A listener or auto-trigger job runs the handler.
* ``EnqueueBatches`` puts ``wave_size`` batch jobs at the back of the queue;
  ``ScheduleTrigger`` adds a delayed job that runs the handler when a worker
  takes it (after it came due and reached the head of the queue).
* The **start** runs the handler once at t = 0: with no wave current, the core
  dispatches wave 1 (DB-RECONCILE's ``$currentWave === 0``, or ``advance``).
* The **reconciler** (policies with ``reconciler_period_s``) is a scheduler
  process off the queue that runs the handler every period.

With any fault on (``sim.faultsettings``), workers run ``sim.faultworker``'s
loop instead, and ``sim.faults.Faults`` decides, from the run's ``faults``
stream, which trigger is lost, which handler run dies and which read lags.

A run stops when every wave is completed, when it is stalled (quiescent with a
wave left; with a reconciler: quiescent apart from it, and a whole tick changed
nothing), at the horizon, or when it has processed ``max_events`` events (the budget).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from simpy.events import URGENT, Event

from coordinator import (
    AutoTriggerFired,
    BatchJobCompleted,
    ClaimNextWave,
    CompleteFinishedWaves,
    Effect,
    EnqueueBatches,
    MarkPushed,
    ReconcilerTicked,
    ScheduleTrigger,
    SetStatus,
    Status,
    Trigger,
    WaveTable,
    finish_batch,
    new_import,
    policy_named,
    program_for,
)
from sim.clock import SeededEnvironment
from sim.db import Database
from sim.faults import Faults, ReplicaView, mortal
from sim.faultworker import faulty_worker
from sim.monitors import Monitors, quiescent
from sim.queue import BATCH, LISTENER, TRIGGER, Job, JobQueue
from sim.recorder import Recorder
from sim.rng import Streams
from sim.scenario import Scenario

__all__ = ["JOB_ID", "Shell"]

JOB_ID = 1


class Shell:
    """One simulated import, wired and ready to ``run()``."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.config = scenario.config
        self.policy = policy_named(scenario.policy)
        self.streams = Streams(scenario)
        self.env = SeededEnvironment(self.streams.ties)
        self.recorder = Recorder(self.config)
        self.monitors = Monitors(self.config)
        self.queue = JobQueue(self.env, self.recorder.on_depth)
        self.db = Database(self.env, new_import(job_id=JOB_ID, waves=scenario.waves, wave_size=scenario.wave_size),
                           self.streams, scenario.wave_size, self._on_applied)
        self.handlers = 0  # handler runs in flight outside workers (start, reconciler)
        self.ticks = 0
        self.jobs_run = [0, 0, 0]  # by kind: batch, listener, auto-trigger
        self.outcome = "running"
        self.events = 0  # SimPy events processed
        self.ended_s = 0.0
        self.final: WaveTable | None = None
        self.done = self.env.event()
        self.faults = Faults(scenario, self.streams.faults) if Faults.wanted(scenario) else None
        if self.faults is not None and scenario.replica_lag_ms > 0:
            self.db.replica = ReplicaView(self.db.table, self.faults.replica_lag, self.faults.counts)
        self._batches = [[(BATCH, w, b) for b in range(scenario.wave_size)] for w in range(scenario.waves + 1)]

    # -- wiring: what each applied operation means for the run ------------------------------
    def _on_applied(self, effect: Effect, before: WaveTable, after: WaveTable, result: object) -> None:
        now = self.env.now
        if isinstance(effect, EnqueueBatches):
            if not result:  # a conditional push that found the wave already pushed
                return
            self.recorder.on_dispatch(now, effect.wave)
            if effect.once:  # the outbox push also marked the wave processing
                self.recorder.on_status(now, after)
            self.monitors.after_write(effect, before, after, now)
            self.queue.put_many(self._batches[effect.wave])
            self.monitors.after_enqueue(self.queue.ready_batches, now)
        elif isinstance(effect, ScheduleTrigger):
            delay = effect.delay_s if self.faults is None else self.faults.trigger_delay(effect.delay_s)
            if delay is not None:
                self.queue.put_delayed((TRIGGER, 0, 0), delay)
        elif before is not after and isinstance(effect, (SetStatus, ClaimNextWave, CompleteFinishedWaves, MarkPushed)):
            self.recorder.on_status(now, after)
            self.monitors.after_write(effect, before, after, now)
            completing = isinstance(effect, CompleteFinishedWaves) or (
                isinstance(effect, SetStatus) and effect.status is Status.COMPLETED
            )
            if completing and all(r.status is Status.COMPLETED for r in after.rows):
                self._stop("completed")

    def _stop(self, outcome: str) -> None:
        if self.outcome != "running":
            return
        self.outcome, self.ended_s = outcome, self.env.now
        self.final = self.db.table
        self.db.stopped = True
        self.done._ok, self.done._value = True, outcome
        self.env.schedule(self.done, URGENT)

    def _handler(self, trigger: Trigger, label: str) -> Generator[Event, Any, Any]:
        program = program_for(trigger, self.policy, self.config)
        if self.faults is not None and self.scenario.handler_death_rate > 0:
            program = mortal(program, self.faults)
        return self.db.run(program, label)

    def listener(self, wave: int, batch: int) -> Generator[Event, Any, Any]:
        """The ``BatchJobCompleted`` listener of one batch: a handler run."""
        return self._handler(BatchJobCompleted(job_id=JOB_ID, wave=wave, batch=batch), f"listener {wave}.{batch}")

    def auto_trigger(self) -> Generator[Event, Any, Any]:
        """The delayed auto-trigger job: a handler run."""
        return self._handler(AutoTriggerFired(job_id=JOB_ID), "auto-trigger")

    def _check_quiescent(self) -> None:
        q = self.queue
        if self.policy.reconciler_period_s is not None:
            return  # the reconciler judges quiescence after a tick that changed nothing
        if quiescent(ready=len(q.ready), delayed=len(q.delayed), running=q.unfinished, handlers=self.handlers):
            self._stalled()

    def _stalled(self) -> None:
        if self.outcome == "running" and self.monitors.at_quiescence(self.db.table, self.env.now):
            self._stop("stalled")

    # -- actors ------------------------------------------------------------------------------
    def worker(self) -> Generator[Event, Any, None]:
        """Take the next ready job, run it, repeat."""
        env, streams, queue, scenario = self.env, self.streams, self.queue, self.scenario
        sync = scenario.listener == "sync"
        while True:
            job: Job = yield queue.get()
            kind, wave, batch = job
            self.jobs_run[kind] += 1
            if kind == BATCH:
                yield env.timeout(streams.duration())
                yield from self.db.run(finish_batch(JOB_ID, wave, batch), f"batch {wave}.{batch}")
                if sync:
                    yield from self.listener(wave, batch)
                else:
                    queue.put((LISTENER, wave, batch))
            elif kind == LISTENER:
                yield from self.listener(wave, batch)
            else:
                yield from self.auto_trigger()
            queue.task_done()
            self._check_quiescent()

    def start(self) -> Generator[Event, Any, None]:
        """The import starts: one handler run dispatches wave 1."""
        self.handlers += 1
        yield from self._handler(ReconcilerTicked(job_id=JOB_ID), "start")
        self.handlers -= 1
        self._check_quiescent()

    def reconciler(self, period: float) -> Generator[Event, Any, None]:
        """Every ``period`` seconds, run the handler from a scheduler, off the queue."""
        q = self.queue
        quiet_since: float | None = None
        while True:
            yield self.env.timeout(period)
            before = self.db.table
            self.handlers += 1
            yield from self._handler(ReconcilerTicked(job_id=JOB_ID), f"reconciler tick {self.ticks + 1}")
            self.handlers -= 1
            self.ticks += 1
            idle = quiescent(ready=len(q.ready), delayed=len(q.delayed), running=q.unfinished,
                             handlers=self.handlers)
            if not (idle and self.db.table is before):
                quiet_since = None
                continue
            # a claimed wave is relayed only once its lease has run out: judge a stall only after
            # ticks have changed nothing for longer than that
            quiet_since = self.env.now if quiet_since is None else quiet_since
            if self.env.now - quiet_since > self.policy.relay_lease_s:
                self._stalled()

    def run(self) -> str:
        """Run to completion, stall or horizon; return the outcome."""
        env = self.env
        for _ in range(self.scenario.workers):
            env.process(self.worker() if self.faults is None else faulty_worker(self, self.faults))
        env.process(self.start())
        if self.policy.reconciler_period_s is not None:
            env.process(self.reconciler(self.policy.reconciler_period_s))
        env.timeout(self.scenario.horizon_s).callbacks.append(lambda _e: self._stop("horizon"))
        step, done, budget, events = env.step, self.done, self.scenario.max_events, 0
        while done.callbacks is not None:  # env.run(until=done), counting events against the budget
            if events == budget:
                self._stop("budget")
            step()
            events += 1
        self.events = events
        table = self.final if self.final is not None else self.db.table
        self.monitors.at_end(table, self.ended_s, self.outcome == "horizon")
        return self.outcome
