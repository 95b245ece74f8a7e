"""A spec's queue worker: one OS process, one database connection, the worker loop the model assumes.

It pops the next job of its queue and runs the job type's program step by step on its own connection:
each statement (the user's SQLAlchemy Core object, re-targeted to the prefixed tables by
``SpecDatabase.retarget``) is one real statement, ``begin()``/``commit()``/``rollback()`` are real
transaction boundaries (``dbdriver.specsessions.BEGIN``: SQLite ``BEGIN IMMEDIATE``, PostgreSQL ``BEGIN
ISOLATION LEVEL ...``, MariaDB ``SET TRANSACTION ...; START TRANSACTION``), a push is a real push onto
the target job type's queue (never inside the transaction: the queue is another system), a delayed push a
real delayed job. An engine error the model names (deadlock, duplicate key, ...) is thrown into the
program as ``SqlError``; any other (a dropped connection) ends the run as a raise. ``choose(...)`` takes
one option, drawn from the process's seeded generator. ``record(...)`` goes to the run's event log
(``live/specplan.py``) right after the step before it returned. A job type the plan gives a duration
(``SpecPlan.durations``) first does its own work: it sleeps an exponential draw of that mean, from the
stream the write-up's live worker draws its batches from; a push goes to the queue the plan runs the job
type on (``SpecPlan.queue_for``).

Each delivery that ends writes how (``end``: acked, retried, failed, or gave_up when ``on_failure`` raised,
the words of the simulation's ``jobs``) once its job is acked or released. When the program ends, as
``model/specmodel/actions.py`` decides it: an open transaction is rolled back
(the connection is reset), the job type's listeners are pushed when the body returned, then the job is
deleted (the ack). A raise releases the job with its try count up while it has tries left, else records
it as failed and runs its ``on_failure`` (after a rollback when the spec's ``rollback_before_failure``
says so), then acks it. Crash points (``FaultPlan.point``): inside the pop transaction, before every step
(``before step N``, N counting from 1: inside an open transaction when the program has begun one) and
after the program ended but before the ack; a kill there leaves the job reserved, and the queue
delivers it again after ``retry_after`` with the same try count.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from dbdriver.errors import one_line
from dbdriver.specdb import SpecDatabase
from dbdriver.specsessions import BEGIN, SETUP, error_kind, in_transaction, normal
from live.db import DB_ERRORS
from live.faults import FaultLog, FaultPlan, drop_connection
from live.jobqueue import Reserved, reserved_jobs
from live.specplan import SpecPlan, job_payload, load_spec_file
from spec.errors import SourceLocation, Unsupported
from spec.executor import Engine
from spec.lang import Begin, Bulk, Choose, Commit, Ctx, Keep, Push, Record, Rollback, Spec, SqlError, yielded_at
from spec.lease import owned_by
from spec.results import Result

__all__ = ["Connection", "spec_worker"]



class Connection:
    """The worker's one connection to the spec's tables (made again after the server dropped it)."""

    def __init__(self, db: SpecDatabase, level: str | None) -> None:
        self.db, self.level = db, level
        self.conn: Any = None

    def _connected(self) -> Any:
        if self.conn is None:
            self.conn = self.db.engine.connect()
            for line in SETUP[self.db.dialect]:
                with contextlib.suppress(sa.exc.DBAPIError):  # a server may refuse it: its own timeouts apply
                    self.conn.exec_driver_sql(line)
        return self.conn

    def run(self, op: Any) -> Result:
        """One step: BEGIN (at the step's level, else the run's), COMMIT, ROLLBACK or a statement."""
        conn = self._connected()
        if isinstance(op, Begin | Commit | Rollback):
            if isinstance(op, Begin):
                levels = BEGIN[self.db.dialect]
                lines = levels.get(op.level or self.level) or levels[None]  # SQLite has one way to begin
            else:
                lines = ("COMMIT",) if isinstance(op, Commit) else ("ROLLBACK",)
            for line in lines:
                conn.exec_driver_sql(line)
            return Result()
        result = conn.execute(self.db.retarget(op))
        rowcount = result.rowcount  # before the rows are read (psycopg forgets it with the cursor)
        if not result.returns_rows:
            return Result(rowcount=rowcount)
        columns = tuple(result.keys())
        rows = tuple(tuple(normal(v) for v in r) for r in result.all())
        return Result(columns, rows, rowcount)

    def reset_connected(self) -> None:
        """Connect now (if not yet), with nothing open."""
        self._connected()
        self.reset()

    def reset(self) -> None:
        """Roll back whatever is open (the connection is reset between jobs); a dead connection is closed."""
        if self.conn is None:
            return
        try:
            if in_transaction(self.conn):
                self.conn.exec_driver_sql("ROLLBACK")
        except Exception:  # noqa: BLE001 - a closed or dropped connection: the driver's own error, any
            self.discard()

    def discard(self) -> None:
        """Close the connection (whatever state it is in); the next step connects again."""
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
        self.conn = None

    def close(self) -> None:
        self.reset()
        self.discard()


class _Worker:
    """One worker process's job runs."""

    def __init__(self, plan: SpecPlan, spec: Spec, slot: int, incarnation: int) -> None:
        """Everything slow to set up (the spec's import, the engine, the queues, a first connection), so that
        it is done before the process says it is ready and every worker starts taking jobs at once."""
        self.spec, self.slot, self.incarnation = spec, slot, incarnation
        self.scope = spec.scope_of(plan.given)
        self.db = SpecDatabase(plan.run.db_url, spec.metadata, plan.prefix)
        self.model = Engine.of(spec.schema, self.db.dialect)  # what the checker refuses on this engine (refused)
        self.conn = Connection(self.db, plan.run.isolation or (spec.level if spec.level else None))
        with contextlib.suppress(*DB_ERRORS):  # a server that refuses now is met again at the first step
            self.conn.reset_connected()
        self.queues = {name: plan.open_queue(name) for name in plan.workers}
        self.name = f"worker-{slot}.{incarnation}"
        self.start(plan)

    def start(self, plan: SpecPlan) -> None:
        """Take the plan with the run's start time: the logs' times count from it."""
        s = plan.run.live
        self.plan = plan
        self.faults = FaultPlan(seed=s.seed, role="worker", slot=self.slot, incarnation=self.incarnation,
                                kill_rate=s.kill_rate, drop_rate=s.drop_rate, log=plan.run.open_fault_log(),
                                kill_at=s.kill_at, kill_at_times=s.kill_at_times)
        self.events: FaultLog = plan.open_events()
        self.choices = random.Random(f"{s.seed}:choose:{self.slot}:{self.incarnation}")
        # the write-up's live worker's stream of batch durations (live/worker.py), by the same name
        self.durations = random.Random(f"{s.seed}:durations:{self.slot}:{self.incarnation}")
        self.pause = s.wall(s.step_s)

    def close(self) -> None:
        self.conn.close()
        self.db.dispose()
        for q in self.queues.values():
            q.close()

    # -- a job -----------------------------------------------------------------------------------------

    def take(self, job: Reserved) -> None:
        p = job.payload
        name, args, tries = str(p["job"]), tuple(p["args"]), int(p["try"])
        self.events.write("take", job=name, args=list(args), attempt=tries, delivery=job.attempts, worker=self.name)
        kind = self.spec.jobs[name]
        queue = self.queues[self.plan.queue_for(self.spec, name)]
        ctx = Ctx(self.scope, name, tries)
        mean = self.plan.durations.get(name)
        if mean:  # the job's own work before its first step (SpecPlan.durations)
            time.sleep(self.plan.run.live.wall(self.durations.expovariate(1.0 / mean)))
        # the run's id, written as the owner of a lease it takes (spec/lease.py): random, as a process id is
        # reused, so that no two runs of any worker share one
        self.run_id = int.from_bytes(os.urandom(4), "big") >> 1
        raised = self.drive(kind.body(ctx, *args), name)
        if raised is None:
            self.conn.reset()
            self.faults.point("after the program ended, before its ack", job=name)
            self.push_all([Push(listener, kind.fired(args)) for listener in kind.listeners])
            queue.delete(job)
            self.events.write("end", job=name, outcome="acked")
            return
        self.events.write("raise", job=name, args=list(args), attempt=tries, error=raised)
        if tries < self.spec.tries(name, self.scope):
            self.conn.reset()
            queue.retry(job, job_payload(name, args, tries + 1), 0.0)
            self.events.write("end", job=name, outcome="retried")
            return
        self.events.write("failed", job=name, args=list(args))
        if kind.on_failure is None or self.spec.rolls_back_before_failure(self.scope):
            self.conn.reset()
        gave_up = kind.on_failure is not None and self.drive(kind.on_failure(ctx, *args), name) is not None
        self.conn.reset()
        self.faults.point("after the program ended, before its ack", job=name)
        queue.delete(job)
        self.events.write("end", job=name, outcome="gave_up" if gave_up else "failed")  # gave up: on_failure raised

    def drive(self, program: Any, job: str) -> str | None:
        """Run ``program`` to its end; None when it returned, else the error it raised, as text."""
        value: Any = None
        throw: BaseException | None = None
        first, step = True, 0
        while True:
            try:
                op = program.throw(throw) if throw is not None else next(program) if first else program.send(value)
            except StopIteration:
                return None
            except Exception as error:  # noqa: BLE001 - the job raised: a failure the worker handles
                return f"{type(error).__name__}: {error}"
            first, throw, value = False, None, None
            if isinstance(op, Record):
                self.events.write("record", event=op.event, key=list(op.key))
                continue
            if isinstance(op, Choose):
                value = self.choices.choice(op.options)
                continue
            step += 1
            time.sleep(self.pause)  # the application's own code between two steps (LiveSettings.step_s)
            self.faults.point(f"before step {step}", job=job)
            if isinstance(op, Push | Bulk):
                pushes = list(op.pushes) if isinstance(op, Bulk) else [op]
                unknown = [p.job for p in pushes if p.job not in self.spec.jobs]
                if unknown:
                    return f"push of job type {unknown[0]!r}, which the spec does not declare"
                if self.queue_waits_on_own_transaction():
                    return (f"refused on sqlite: {yielded_at(program)}: a push inside an open transaction cannot "
                            "go through the database queue on SQLite: the transaction holds the file's one write "
                            "lock, which the queue's INSERT would wait for until the run ends; give --queue "
                            "redis://..., or run on PostgreSQL or MariaDB")
                self.push_all(pushes)
                continue
            statement = op.statement if isinstance(op, Keep) else op
            if not isinstance(op, Begin | Commit | Rollback) and not hasattr(statement, "is_dml"):
                return f"the program yielded {op!r}, which is not a step"
            if self.faults.should_drop(f"before step {step}", job=job):
                drop_connection(self.conn)
            if not isinstance(statement, Begin | Commit | Rollback):
                refused = self.refused(statement, yielded_at(program))
                if refused is not None:
                    return refused
            try:
                if not isinstance(statement, Begin | Commit | Rollback):  # a lease is owned by this run
                    statement = owned_by(statement, self.run_id, self.plan.run.live.scale)
                result = self.conn.run(statement)
            except DB_ERRORS as err:
                kind = error_kind(err) if isinstance(err, sa.exc.DBAPIError) else None
                if kind is None:  # not an error the model raises in a program (a dropped connection ...)
                    self.conn.discard()
                    return one_line(err, self.db.url)
                throw = SqlError(kind, one_line(err, self.db.url))
                continue
            try:
                value = op.fn(result) if isinstance(op, Keep) else result
            except Exception as error:  # noqa: BLE001 - keep()'s function raised: the job raised
                return f"{type(error).__name__}: {error}"

    def queue_waits_on_own_transaction(self) -> bool:
        """Whether a push now would wait on this job's own transaction: SQLite's database queue lives in the
        spec's file, so its INSERT needs the write lock that the job's open transaction holds (a push is never
        part of the transaction; on a server, or with Redis, it goes on beside it)."""
        return (self.db.dialect == "sqlite" and self.plan.run.queue_url is None and self.conn.conn is not None
                and in_transaction(self.conn.conn))

    def refused(self, statement: Any, where: SourceLocation) -> str | None:
        """The checker's refusal of ``statement`` on this engine, as the job's raise: an engine may run a
        statement the model refuses by leaving part of it out (SQLAlchemy writes SQLite's FOR UPDATE SKIP
        LOCKED as a plain SELECT), and a run of that would say nothing of the lock the spec asked for."""
        try:
            self.model.plan(statement, where)
        except Unsupported as refusal:
            return f"refused on {self.db.dialect}: {refusal}"
        return None

    def push_all(self, pushes: list[Push]) -> None:
        """Each push onto its job type's queue; the immediate ones of one queue in one queue operation."""
        by_queue: dict[str, list[dict[str, Any]]] = {}
        for p in pushes:
            name = self.plan.queue_for(self.spec, p.job)
            if p.delayed:
                self.queues[name].later(job_payload(p.job, p.payload, delayed=True),
                                        self.plan.run.live.wall(self.plan.deliver_delayed_s))
            else:
                by_queue.setdefault(name, []).append(job_payload(p.job, p.payload))
        for name, payloads in by_queue.items():
            self.queues[name].push_wave(payloads, None)


def spec_worker(worker: _Worker) -> None:
    """The worker loop of ``worker``, until SIGTERM (or a kill)."""
    stopping = [False]

    def _term(_sig: int, _frame: Any) -> None:
        stopping[0] = True

    signal.signal(signal.SIGTERM, _term)
    plan = worker.plan
    queue = worker.queues[plan.queue_of_slot(worker.slot)]
    in_pop = lambda: worker.faults.point("inside the pop transaction")  # noqa: E731
    parent = os.getppid()
    for job in reserved_jobs(queue, in_pop, lambda: not stopping[0] and not plan.run.orphaned(parent)):
        try:
            worker.take(job)
        except DB_ERRORS as err:  # the queue or the connection failed outside a step: back on the queue
            worker.events.write("job-error", job=job.payload, error=type(err).__name__)
            worker.conn.reset()
            with contextlib.suppress(*DB_ERRORS):
                queue.release(job, 0.0)
    worker.close()


def main(plan_text: str, role: str, slot: int, incarnation: int) -> None:
    """A spawned process of a spec's run (``live.proc``): wait for the start, then play ``role``."""
    plan = SpecPlan.from_json(plan_text)
    if role == "spec-worker":
        worker = _Worker(plan, load_spec_file(plan.spec_file), slot, incarnation)
        plan.run.ready(role, slot, incarnation)
        worker.start(replace(plan, run=plan.run.wait_for_start()))
        spec_worker(worker)
        return
    from live.periodic import spec_chaos

    plan.run.ready(role, slot, incarnation)
    spec_chaos(replace(plan, run=plan.run.wait_for_start()), slot, incarnation)
