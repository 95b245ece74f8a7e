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

With any fault on (``sim.faultsettings``), the same worker loop calls the
hooks of ``sim.faultworker`` at the points where a batch job can fail, and
``sim.faults.Faults`` decides, from the run's ``faults`` stream, which worker
crashes, which try fails, which event is lost or repeated, which trigger is
lost, which handler run dies and which read lags.

A run stops when every wave is completed and no DB operation is in flight
(the handler runs under way finish first, so a late write that overwrites
``completed`` is seen, and the run goes on if one did; the makespan is when
the last wave was completed); when it is stalled (quiescent with a wave left;
with a reconciler: quiescent apart from it, and a whole tick changed nothing);
at the horizon; or when it has processed ``max_events`` events (the budget).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from simpy import Interrupt
from simpy.events import URGENT, Event

from coordinator import (
    AutoTriggerFired,
    BatchJobCompleted,
    ClaimNextWave,
    CompleteFinishedWaves,
    Decision,
    Effect,
    EnqueueBatches,
    ImportStarted,
    MarkPushed,
    ReconcilerTicked,
    ScheduleTrigger,
    SetStatus,
    Status,
    Trigger,
    WaveTable,
    finish_batch,
    new_import,
    program_for,
)
from sim.clock import SeededEnvironment
from sim.db import Database
from sim.faults import Faults, ReplicaView, mortal
from sim.faultworker import WorkerFaults
from sim.monitors import Monitors, quiescent
from sim.queue import BATCH, LISTENER, TRIGGER, Job, JobQueue
from sim.recorder import Recorder
from sim.rng import Streams
from sim.scenario import Scenario

__all__ = ["JOB_ID", "Shell"]

JOB_ID = 1


def _all_completed(table: WaveTable) -> bool:
    return all(r.status is Status.COMPLETED for r in table.rows)


class Shell:
    """One simulated import, wired and ready to ``run()``."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.config = scenario.config
        self.policy = scenario.resolved_policy
        self.streams = Streams(scenario)
        self.env = SeededEnvironment(self.streams.ties)
        self.recorder = Recorder(self.config)
        self.monitors = Monitors(self.config)
        self.queue = JobQueue(self.env, self.recorder.on_depth)
        self.db = Database(self.env, new_import(job_id=JOB_ID, waves=scenario.waves, wave_size=scenario.wave_size),
                           self.streams, scenario.wave_size, self._on_applied)
        self.db.on_ended = self._finish_if_drained
        self.handlers = 0  # handler runs in flight outside workers (start, reconciler)
        self.handler_runs = 0  # handler runs started; the DB trace names each run by its number
        self.ticks = 0
        self.jobs_run = [0, 0, 0]  # by kind: batch, listener, auto-trigger
        self.outcome = "running"
        self.events = 0  # SimPy events processed
        self.ended_s = 0.0
        self.final: WaveTable | None = None
        #: when the table last read every wave completed (the makespan, once the writes in flight drained)
        self.completed_at: float | None = None
        self.done = self.env.event()
        self.faults = Faults(scenario, self.streams.faults) if Faults.wanted(scenario) else None
        if self.faults is not None and scenario.replica_lag_ms > 0:
            self.db.replica = ReplicaView(self.db.table, self.faults.replica_lag, self.faults.counts)
        self.sync = scenario.listener == "sync"
        #: the worker loop's fault hooks; None with every fault off
        self.hooks = WorkerFaults(self.env, self.queue, scenario, self.faults) if self.faults is not None else None
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
            if completing and _all_completed(after):
                if self.completed_at is None or not _all_completed(before):  # not a repeated completion
                    self.completed_at = now
                self._finish_if_drained()

    def _finish_if_drained(self) -> None:
        """End a completed run only once no DB operation is in flight: a late write (a handler's
        ``SET processing`` landing after ``completed``) must be seen, not dropped."""
        if self.completed_at is not None and self.db.in_flight == 0 and _all_completed(self.db.table):
            self._stop("completed", at=self.completed_at)

    def _stop(self, outcome: str, at: float | None = None) -> None:
        if self.outcome != "running":
            return
        self.outcome, self.ended_s = outcome, self.env.now if at is None else at
        self.final = self.db.table
        self.db.stopped = True
        self.done._ok, self.done._value = True, outcome
        self.env.schedule(self.done, URGENT)

    def _handler(self, trigger: Trigger, label: str) -> Generator[Event, Any, Any]:
        program = program_for(trigger, self.policy, self.config)
        if self.faults is not None and self.scenario.handler_death_rate > 0:
            program = mortal(program, self.faults)
        self.handler_runs += 1  # a repeated event runs the same listener twice: the number tells the runs apart
        if self.db.trace is not None:  # the label names the run in the trace only: no text built otherwise
            label = f"{label} #{self.handler_runs}"
        decision = yield from self.db.run(program, label)
        if isinstance(decision, Decision):  # None when the run died or the run stopped
            self.recorder.on_decision(decision.path, decision.outcome)
        return decision

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
        """Take the next ready job, run it, repeat (with faults on, the hooks of ``sim.faultworker``)."""
        queue, hooks = self.queue, self.hooks
        while True:
            job: Job = yield queue.get()
            kind, wave, batch = job[:3]
            self.jobs_run[kind] += 1
            if kind == BATCH:
                try:
                    yield from self._batch_job(job)
                except Interrupt as stop:  # only an armed crash interrupts a worker
                    assert hooks is not None
                    hooks.crashed(job, stop.cause)
            elif kind == LISTENER:
                yield from self.listener(wave, batch)
            else:
                yield from self.auto_trigger()
            queue.task_done()
            self._check_quiescent()

    def _batch_job(self, job: Job) -> Generator[Event, Any, None]:
        """Run one batch for a sampled time, record its end, deliver its ``BatchJobCompleted``."""
        env, hooks, wave, batch = self.env, self.hooks, job[1], job[2]
        if hooks is not None and hooks.out_of_tries(job):
            yield from self._fail_for_good(wave, batch)
            return
        duration = self.streams.duration()
        crash = hooks.arm(job, duration, env.now) if hooks is not None else None
        yield env.timeout(duration)
        if hooks is not None:
            failed = hooks.try_failed(job)
            if failed is not None:
                if not failed:
                    yield from self._fail_for_good(wave, batch)
                return
        yield from self.db.run(finish_batch(JOB_ID, wave, batch), f"batch {wave}.{batch}")
        if crash is not None:
            assert hooks is not None
            yield from hooks.after_record(crash)
        yield from self._fire(wave, batch)

    def _fire(self, wave: int, batch: int) -> Generator[Event, Any, None]:
        """Deliver the batch's ``BatchJobCompleted`` (lost or repeated when faults say so)."""
        for _ in range(1 if self.hooks is None else self.hooks.event_copies()):
            if self.sync:
                yield from self.listener(wave, batch)
            else:
                self.queue.put((LISTENER, wave, batch))

    def _fail_for_good(self, wave: int, batch: int) -> Generator[Event, Any, None]:
        """No tries left: record the batch failed; ``BatchJobCompleted`` fires only under the
        ``failed_batch_fires`` reading (docs/readings.md)."""
        assert self.hooks is not None
        self.hooks.failed_for_good()
        yield from self.db.run(finish_batch(JOB_ID, wave, batch, failed=True), f"batch {wave}.{batch} failed")
        if self.policy.failed_batch_fires:
            yield from self._fire(wave, batch)

    def start(self) -> Generator[Event, Any, None]:
        """The import starts: one handler run dispatches wave 1."""
        self.handlers += 1
        yield from self._handler(ImportStarted(job_id=JOB_ID), "start")
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
            env.process(self.worker())
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
