"""A spec, simulated: its workers take jobs from its queues and run their programs with sampled timings.

A thin shell around the spec's own programs and the checker's lock model, as ``sim.workers`` is around the
write-up's handlers. One SimPy process per worker takes a job from its queue (the front of a FIFO queue, a
random one of an any-order queue), spends the job type's sampled duration, then runs the job's program:
each operation it yields takes a sampled latency and then runs, atomically, as the checker runs it:

- a statement, BEGIN, COMMIT or ROLLBACK goes through ``spec.Engine`` on the in-memory database
  (``sim.specdb``), the worker's slot being its session. ``Blocked`` makes the process wait until another session ends a
  statement or a transaction, then the statement runs again; when the engine names several outcomes (a
  deadlock: one per transaction it may abort), one is drawn;
- a push puts the job on its queue (a delayed one after its delay; the ``lose_delayed`` fault drops it);
- ``record`` counts an event, ``choose`` draws one of its options.

A run's end follows ``spec.running``, as the checker's does: ack and listeners, retry, failure for good,
the failure handler. Faults the spec budgets strike at their opportunities with their chance
(``sim.specsettings``): a crash at a step rolls the run's transaction back and redelivers its job after
``retry_after_s``; a throw raises in the job's body where it stands; a duplicate leaves a copy of a taken
job queued; a delayed job may be lost. The worker of a crashed run starts again at once.

``always`` properties are judged after every step, and the first violation's time kept (a property is judged
again only when a part of the world it read last time has changed: ``sim.specjudged``); ``eventually``
properties at the end: reached, or stalled when the run went quiet without reaching them (undecided when
the horizon or the event budget stopped it). Periodic jobs are pushed every period when none is queued or
running; a run with periodic jobs ends when it is quiet twice with a tick between and nothing changed.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Iterator
from typing import Any

import numpy as np
import simpy

from sim.clock import SeededEnvironment
from sim.rng import TieKeys, in_blocks
from sim.specdb import SimDb, shared_engine
from sim.specjudged import AlwaysJudged
from sim.specsettings import DEFAULT_PERIOD_S, SpecSettings
from sim.specworld import SimJob, SimRun, SimView, SimWorld, SpecRecorder
from spec.errors import Unsupported
from spec.lang import (
    Begin,
    Bulk,
    Choose,
    Commit,
    Ctx,
    JobThrew,
    Keep,
    Push,
    Record,
    Rollback,
    Spec,
    SqlError,
    is_statement,
    yielded_at,
)
from spec.lease import on_a_clock
from spec.results import Failed
from spec.running import FailForGood, GiveUp, Retry, after_raise, fired
from spec.state import initial

__all__ = ["SpecShell"]

#: what a program yields besides statements, record() and choose(); the transaction boundaries among them
_OPERATIONS, _BOUNDARIES = Push | Bulk | Begin | Commit | Rollback | Keep, Begin | Commit | Rollback
DRAWN = 256  # values drawn at once from each stream (``sim.rng.in_blocks``)
#: how a program's drive ends: it returned, it raised (with the text), or its worker crashed
RETURNED, CRASHED = "returned", "crashed"


def is_write(op: Any) -> bool:
    """An INSERT, UPDATE or DELETE (kept or not): its latency is ``write_ms``."""
    return bool(getattr(op.statement if isinstance(op, Keep) else op, "is_dml", False))


class _Raised(str):
    """The text of the exception a program raised."""


class SpecShell:
    """One simulated run of ``spec`` under ``settings``; ``run()`` returns its outcome."""

    def __init__(self, spec: Spec, settings: SpecSettings) -> None:
        spec.check_declared()
        self.spec, self.settings = spec, settings
        self.scope = spec.scope_of(dict(settings.scope))
        on_a_clock(spec.leases, self.scope, "the simulation")
        self.engine, timed = shared_engine(spec.schema, settings.dialect or spec.dialect)
        self.level = settings.level or spec.level
        if self.level:
            self.engine.dialect.check_level(self.level)
        self.order = settings.order or spec.order
        workers = spec.workers(self.scope)
        self.queue_names = tuple(workers)
        self.queue_index = {job: self.queue_names.index(kind.queue) for job, kind in spec.jobs.items()}
        for job, queue in settings.queue_of:  # a deployment's choice of queue, over the spec's
            if job not in spec.jobs or queue not in self.queue_names:
                raise Unsupported(f"queue_of {job}={queue}: the spec has no job type {job!r} or no queue {queue!r} "
                                  f"(queues: {', '.join(self.queue_names)})")
            self.queue_index[job] = self.queue_names.index(queue)
        self._write_ms = settings.statement_ms if settings.write_ms is None else settings.write_ms
        self.slot_queue = tuple(q for q, n in enumerate(workers.values()) for _ in range(n))
        self.tries = {name: spec.tries(name, self.scope) for name in spec.jobs}
        self.rollback_first = spec.rolls_back_before_failure(self.scope)
        self.periodic = spec.periodic_in(self.scope)
        durations, db, ties, faults, choices = (
            np.random.Generator(np.random.PCG64(s)) for s in np.random.SeedSequence(settings.seed).spawn(5))
        # each stream drawn in blocks, one kind of draw per stream, which numpy gives value for value as single
        # draws would: the same numbers, without a numpy call per draw (the choices' bounds vary: drawn singly)
        # (a block of DRAWN: a spec's run is often short, and a block drawn is drawn whole)
        self._durations = in_blocks(durations.standard_normal if settings.duration_distribution == "lognormal"
                                    else durations.standard_exponential, DRAWN).__next__
        self._normal = in_blocks(db.standard_normal, DRAWN).__next__
        self._uniform = in_blocks(faults.random, DRAWN).__next__
        self._choices = choices
        self.env = SeededEnvironment(TieKeys(ties))
        state = initial(spec.schema, spec.initial_rows(self.scope), sessions=len(self.slot_queue))
        if self.level:
            for s in range(len(self.slot_queue)):
                state = self.engine.set_level(state, s, self.level)
        self.world = SimWorld(state, [[] for _ in self.queue_names], [None] * len(self.slot_queue))
        self.recorder = SpecRecorder(len(self.queue_names))
        self.faults = settings.faults(spec.faults)
        self.spent = dict.fromkeys(self.faults, 0)
        self._idle: list[list[simpy.Event]] = [[] for _ in self.queue_names]  # workers waiting for a job
        self.view = SimView(self.world, spec.schema, self.scope)
        self._always = AlwaysJudged([p for p in spec.properties.values() if p.kind == "always"], self.world,
                                    self.view, self.recorder.violations, lambda: self.env.now)
        self._check_always = self._always.judge  # after every step, every push, every run's end
        self.db = SimDb(self.engine, self.world, self.env, self.recorder,
                        lambda n: int(self._choices.integers(n)), self._check_always, timed)
        self.done = self.env.event()
        self.outcome = "quiet"
        self.ended_s = 0.0
        self.events = 0
        self._quiet_mark: tuple[Any, ...] | None = None
        self._ticks = 0

    # -- the run ----------------------------------------------------------------------------------------

    def run(self) -> str:
        """Run until quiet, stuck, the horizon or the event budget; return the outcome."""
        env = self.env
        for s, q in enumerate(self.slot_queue):
            env.process(self._worker(s, q))
        for job, payload in self.spec.initial_jobs(self.scope):
            self._push(SimJob(job, payload))
        for name in self.periodic:
            period = self.spec.period_s(name, self.scope)
            env.process(self._ticker(name, DEFAULT_PERIOD_S if period is None else period))
        self._check_always()
        self._settle()
        step, peek, done, budget, events = env.step, env.peek, self.done, self.settings.max_events, 0
        horizon = self.settings.horizon_s
        while done.callbacks is not None:  # env.run(until=done), with the budget, the horizon and a stuck end
            if events == budget:
                self._stop("budget")
                break
            due = peek()
            if due == math.inf:
                self._stop("stuck")  # runs wait for locks nobody will release, and nothing else can move
                break
            if due > horizon:
                self._stop("horizon")
                self.ended_s = self.world.now = horizon
                break
            step()
            events += 1
        self.events = events
        return self.outcome

    def _stop(self, outcome: str) -> None:
        if not self.done.triggered:
            self.outcome, self.ended_s = outcome, self.env.now
            self.world.now = self.env.now
            self.done.succeed()

    def _settle(self) -> None:
        """Stop when quiet: at once without periodic jobs; else when quiet again after a tick changed
        nothing."""
        if not self.world.quiet() or self.done.triggered:
            return
        if not self.periodic:
            self._stop("quiet")
            return
        mark = (self.world.db.tables, tuple(sorted(self.world.counts.items(), key=repr)), len(self.world.failed))
        if self._quiet_mark is not None and self._quiet_mark[0] == mark and self._ticks > self._quiet_mark[1]:
            self._stop("quiet")
        elif self._quiet_mark is None or self._quiet_mark[0] != mark:
            self._quiet_mark = (mark, self._ticks)

    # -- queues -----------------------------------------------------------------------------------------

    def _queue_of(self, job: str) -> int:
        return self.queue_index[job]

    def _push(self, job: SimJob) -> None:
        if job.type not in self.spec.jobs:
            raise Unsupported(f"push of job type {job.type!r}, which the spec does not declare")
        q = self._queue_of(job.type)
        self.world.enqueue(q, job)
        self.recorder.job_queued(job.type, 1)
        self._depth()
        if self._idle[q]:
            self._idle[q].pop(0).succeed()

    def _later(self, job: SimJob, delay: float, *, losable: bool) -> None:
        """Push ``job`` after ``delay`` (a delayed push, or a crashed run's redelivery); it counts as on its
        way from now on."""
        self.world.pending += 1
        self.env.process(self._arrive(job, delay, losable))

    def _arrive(self, job: SimJob, delay: float, losable: bool) -> Generator[Any, Any, None]:
        yield self.env.timeout(delay)
        self.world.pending -= 1
        if losable and self._fault("lose_delayed"):
            self.recorder.ended(job.type, "lost")
            self._settle()
            return
        self._push(job)

    def _depth(self) -> None:
        self.recorder.queues(self.env.now, tuple(len(q) for q in self.world.queues))

    def _ticker(self, name: str, period: float) -> Generator[Any, Any, None]:
        while True:
            yield self.env.timeout(period)
            if not any(j.type == name for q in self.world.queues for j in q) and \
                    not any(r is not None and r.job.type == name for r in self.world.slots):
                self._ticks += 1
                self._push(SimJob(name, ()))

    # -- chance -----------------------------------------------------------------------------------------

    def _fault(self, name: str) -> bool:
        rate, budget = self.faults[name]
        if rate <= 0 or self.spent[name] >= budget or self._uniform() >= rate:
            return False
        self.spent[name] += 1
        return True

    def _latency(self, median_ms: float, times: int = 1) -> float:
        return times * (median_ms / 1000.0) * math.exp(self.settings.db_sigma * self._normal())

    def _duration(self, job: str) -> float:
        mean = self.settings.duration_of(job, self.spec.durations)
        if mean <= 0:
            return 0.0
        if self.settings.duration_distribution == "lognormal":
            sigma = self.settings.duration_sigma
            mu = math.log(mean) - sigma * sigma / 2  # so that the mean stays the job's mean
            return math.exp(mu + sigma * self._durations())
        return mean * self._durations()

    # -- workers and runs -------------------------------------------------------------------------------

    def _worker(self, s: int, q: int) -> Generator[Any, Any, None]:
        queue = self.world.queues[q]
        while True:
            if not queue:
                wake = self.env.event()
                self._idle[q].append(wake)
                yield wake
                continue
            i = 0 if self.order == "fifo" else int(self._choices.integers(len(queue)))
            job = queue[i]
            if self._fault("duplicate"):
                self.recorder.ended(job.type, "duplicated")  # a copy stays queued
            else:
                self.world.take(q, i)
                self.recorder.job_queued(job.type, -1)
            self._depth()
            self.world.occupy(s, SimRun(job))
            yield from self._run(s, job)
            self.world.occupy(s, None)
            self._check_always()  # the run's end: the world may be idle now
            self._settle()

    def _run(self, s: int, job: SimJob) -> Generator[Any, Any, None]:
        kind = self.spec.jobs[job.type]
        yield self.env.timeout(self._duration(job.type))
        ended = yield from self._drive(s, kind.body(Ctx(self.scope, job.type, job.attempt), *job.payload), job)
        if ended == CRASHED:
            return
        if isinstance(ended, _Raised):
            decision = after_raise(kind, "body", job.attempt, self.tries[job.type], self.rollback_first)
            if isinstance(decision, Retry):
                self.db.disconnect(s)
                self.recorder.ended(job.type, "retried")
                self._push(SimJob(job.type, job.payload, decision.attempt, job.delayed))
                return
            assert isinstance(decision, FailForGood)
            self.world.failed.append(job)
            self._check_always()
            if decision.rollback:
                self.db.disconnect(s)
            if decision.run_failure:
                assert kind.on_failure is not None
                run = self.world.slots[s]
                assert run is not None
                run.phase = "failure"
                handled = yield from self._drive(
                    s, kind.on_failure(Ctx(self.scope, job.type, job.attempt), *job.payload), job)
                if handled == CRASHED:
                    return
                if isinstance(handled, _Raised):
                    assert isinstance(after_raise(kind, "failure", job.attempt, 1, True), GiveUp)
                    self.db.disconnect(s)
                    self.recorder.ended(job.type, "gave_up")
                    return
        if kind.ack == "step":
            yield self.env.timeout(self._latency(self.settings.push_ms))
            if self._fault("crash"):
                self._crash(s, job)
                return
        for name, payload in fired(kind, job.payload, ended == RETURNED):
            self._push(SimJob(name, payload))
        self.db.disconnect(s)
        self.recorder.ended(job.type, "acked" if ended == RETURNED else "failed")
        self._check_always()

    def _crash(self, s: int, job: SimJob) -> None:
        self.db.disconnect(s)
        self.recorder.ended(job.type, "crashed")
        self._later(job, self.settings.retry_after_s, losable=False)

    def _drive(self, s: int, gen: Generator[Any, Any, Any], job: SimJob) -> Generator[Any, Any, object]:
        """Run one program to its end; RETURNED, CRASHED or the text it raised (``_Raised``)."""
        value: Any = None
        throw: BaseException | None = None
        first = True
        body = self.world.slots[s] is not None and self.world.slots[s].phase == "body"  # type: ignore[union-attr]
        while True:
            try:
                op = gen.throw(throw) if throw is not None else next(gen) if first else gen.send(value)
            except StopIteration:
                return RETURNED
            except Unsupported:
                raise
            except Exception as error:
                return _Raised(f"{type(error).__name__}: {error}")
            first, throw, value = False, None, None
            if isinstance(op, Record):
                self.world.now = self.env.now
                self.world.record(op)
                self._check_always()
                continue
            if isinstance(op, Choose):
                value = op.options[int(self._choices.integers(len(op.options)))]
                continue
            if not isinstance(op, _OPERATIONS) and not is_statement(op):
                raise Unsupported(f"job {job.type!r} yielded {op!r}: a program yields SQLAlchemy statements, "
                                  "begin(), keep(), commit(), rollback(), push(), bulk(), record() or choose()",
                                  yielded_at(gen))
            if self._fault("crash"):
                gen.close()
                self._crash(s, job)
                return CRASHED
            if body and self._fault("throw"):
                throw = JobThrew("the throw fault")
                continue
            if isinstance(op, Push | Bulk):
                pushes = op.pushes if isinstance(op, Bulk) else (op,)
                yield self.env.timeout(self._latency(self.settings.push_ms,
                                                     len(pushes) if self.settings.push_per_job else 1))
                for one in pushes:
                    pushed = SimJob(one.job, one.payload, delayed=one.delayed)
                    if one.delayed:
                        self._later(pushed, one.delay, losable=True)
                    else:
                        self._push(pushed)
                self._check_always()
                continue
            yield self.env.timeout(self._latency(self._write_ms if is_write(op) else self.settings.statement_ms))
            try:
                outcome = yield from self.db.step(s, op, job.type)
            except Unsupported as refused:
                raise refused.at(yielded_at(gen)) from None
            if isinstance(outcome, Failed):
                throw = SqlError(outcome.error, outcome.message)
            elif isinstance(op, Keep):
                value = op.fn(outcome.result)
            elif isinstance(op, _BOUNDARIES):
                value = None
            else:
                value = outcome.result

    def open_runs(self) -> Iterator[str]:
        """The jobs still running at the end (a stuck run's are waiting for locks)."""
        return (str(r.job) for r in self.world.slots if r is not None)
