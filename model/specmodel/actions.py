"""The spec's actions: every step the world can take from a state, each one atomic in a real system.

Normal steps: a worker takes a job from its queue (``take``), a run executes its next operation
(``step``: one statement, one BEGIN/COMMIT/ROLLBACK, one push or one bulk push), a worker acknowledges a
finished job (``ack``; with the job type's ``ack="with_last_step"`` it happens in the step that ends the
program, and there is no ``ack`` step), a periodic job is pushed (``tick``). Faults, each within its
budget: ``crash`` (the worker dies before its ack: its transaction rolls back and the job is
redelivered), ``throw`` (the job raises where it stands), ``duplicate`` (a take that leaves a copy
queued) and ``lose_delayed``.

Decisions a job system makes (retry, fail for good, give up, fire listeners) are ``spec.running``'s, and
the simulation follows the same ones; this model adds only how they fall into steps:

- A retry's rollback and release are one step (a crash between them redelivers the job, which is the same).
- A transaction still open when a run is acknowledged is rolled back with the ack (the connection is
  reset); a crash redelivers the job with the same try count.
- A run that waits for a lock may crash but not ``throw``.
- The ack pushes the listeners ``spec.running.fired`` names in the same step.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from model.specmodel.leases import Owners
from model.specmodel.programs import Branch, Ended, Next, Op, Programs, Raised, Thrown
from model.specmodel.saturation import Saturation
from model.specmodel.waits import Waits
from model.specmodel.world import Job, Run, World, canonical
from spec.errors import Unsupported
from spec.executor import Engine, Step
from spec.lang import FAULTS, Begin, Bulk, Commit, Ctx, Keep, Push, Rollback, Scope, Spec, is_statement
from spec.results import Blocked, Done, Failed
from spec.running import GiveUp, Retry, after_raise, fired
from spec.state import DbState, initial
from spec.statements import Plan

__all__ = ["FAULT_NAMES", "Label", "Model", "sent_after"]

FAULT_NAMES = tuple(FAULTS)
#: (kind, slot or queue, detail): ``kind`` is take/step/ack/tick or a fault name
Label = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Move:
    """One transition: its label, the state it leads to, and whether it is a fault."""

    label: Label
    world: World
    fault: bool = False
    outcome: Any = None  # a step's outcome: the engine's Done, Blocked or Failed (for the trace)


def sent_after(op: Any, outcome: Done | Failed) -> Any:
    """What a program is sent once ``op`` gave ``outcome``: the result (through ``keep``'s function), or the
    engine's error, which the program sees raised."""
    if isinstance(outcome, Failed):
        return Thrown(outcome.error, outcome.message)
    return op.fn(outcome.result) if isinstance(op, Keep) else outcome.result


class Model:
    """A spec in one scope: its engine, workers, fault budgets and the successor function."""

    def __init__(self, spec: Spec, scope: Scope, *, dialect: str | None = None, level: str | None = None,
                 budgets: dict[str, int] | None = None, order: str | None = None, symmetry: bool = True,
                 frames: bool = True, saturation: bool = True, wait_merge: bool = True) -> None:
        spec.check_declared()
        self.spec, self.scope = spec, scope
        self.periodic = spec.periodic_in(scope)
        self.engine = Engine.of(spec.schema, dialect or spec.dialect)
        self.level = level or spec.level
        if self.level:
            self.engine.dialect.check_level(self.level)
        self.order = order or spec.order
        if self.order not in ("fifo", "any"):
            raise Unsupported(f"queue order must be fifo or any, got {self.order!r}")
        merged = dict(spec.faults)
        merged.update(budgets or {})
        unknown = set(merged) - set(FAULTS)
        if unknown:
            raise Unsupported(f"unknown faults {sorted(unknown)} (known: {', '.join(FAULTS)})")
        self.budgets = tuple(int(merged.get(f, 0)) for f in FAULT_NAMES)
        workers = spec.workers(scope)
        self.queue_names = tuple(workers)
        self.ranges: tuple[range, ...] = ()
        start = 0
        for q in self.queue_names:
            self.ranges = (*self.ranges, range(start, start + workers[q]))
            start += workers[q]
        self.slot_queue = tuple(i for i, r in enumerate(self.ranges) for _ in r)
        self.symmetry = symmetry
        self.rollback_first = spec.rolls_back_before_failure(scope)
        self.tries = {name: spec.tries(name, scope) for name in spec.jobs}
        self.frames = frames
        #: the spec's ``saturates`` declarations, used and tested (``saturation=False``: none)
        self.saturation = Saturation(spec, scope) if saturation else None
        #: where the spec's leases keep their owners, when a reading reads them: a run's rows are released
        #: when it ends
        self.owners = Owners(spec, scope)
        if not self.owners:
            self.engine = replace(self.engine, owners=False)
        #: waits that keep nothing are not steps (``model.specmodel.waits``; ``wait_merge=False``: every wait is)
        self.waits = Waits(self.engine) if wait_merge else None
        # id(statement) -> (statement, its plan): holding the statement keeps its id, which ``_outcomes`` keys
        # on, from being reused; the engine keeps plans by structure beneath it (``spec.plans``)
        self._plans: dict[int, tuple[Any, Plan]] = {}
        self._outcomes: dict[tuple[DbState, int, int, Any], tuple[Step, ...]] = {}
        self.programs = Programs(self._program, merge=frames, op_key=self._op_value)
        self._interned: dict[object, int] = {}
        self._by_id: dict[int, tuple[object, int]] = {}
        self._runs: dict[Run, Run] = {}

    # -- the initial state ------------------------------------------------------------------------------

    def initial(self) -> World:
        db = initial(self.spec.schema, self.spec.initial_rows(self.scope), sessions=len(self.slot_queue))
        if self.level:
            for s in range(len(self.slot_queue)):
                db = self.engine.set_level(db, s, self.level)
        if self.saturation:
            db = self.saturation.db(db)
        queues: list[list[Job]] = [[] for _ in self.queue_names]
        for job, payload in self.spec.initial_jobs(self.scope):
            queues[self._queue_of(job)].append(Job(job, payload))
        world = World(db, tuple(self._ordered(q) for q in queues), (None,) * len(self.slot_queue),
                      spent=(0,) * len(FAULT_NAMES))
        return self.canonical(world)

    def saturated(self, world: World) -> World:
        """``world`` with its saturated columns stored as the search stores them (``spec.saturates``)."""
        return self.saturation.world(world) if self.saturation else world

    def canonical(self, world: World) -> World:
        if not self.symmetry:
            return world
        return canonical(world, self.ranges, self._intern, self.owners.renamed if self.owners else None)

    def _intern(self, value: object) -> int:
        """A number per distinct run or session, in the order first met: a cheap, fixed sort key. Found
        again by the object's identity first (the object is held, so its id is not reused)."""
        known = self._by_id.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        n = self._interned.get(value)
        if n is None:
            n = self._interned[value] = len(self._interned)
        self._by_id[id(value)] = (value, n)
        return n

    def _queue_of(self, job: str) -> int:
        return self.queue_names.index(self.spec.jobs[job].queue)

    def _ordered(self, jobs: list[Job] | tuple[Job, ...]) -> tuple[Job, ...]:
        return tuple(jobs) if self.order == "fifo" else tuple(sorted(jobs, key=repr))

    def plan_of(self, op: Any, where: Any) -> Plan:
        """The engine's plan of a statement the programs yielded (planned once per statement object)."""
        return self._plan(op, where)

    def _plan(self, op: Any, where: Any) -> Plan:
        planned = self._plans.get(id(op))
        if planned is None or planned[0] is not op:
            planned = self._plans[id(op)] = (op, self.engine.plan(op, where))
            if self.waits is not None:
                self.waits.learn(planned[1], where)
        return planned[1]

    def _op_value(self, op: Any, where: Any) -> Any:
        """An operation as a value: a statement by its plan (what the engine runs), a ``keep`` by its plan
        and function, the others as they are."""
        if isinstance(op, Keep):
            return ("keep", self._plan(op.statement, where) if is_statement(op.statement) else op, op.fn)
        return self._plan(op, where) if is_statement(op) else op

    def _program(self, job: str, phase: str, attempt: int) -> tuple[Any, Ctx]:
        kind = self.spec.jobs[job]
        return (kind.body if phase == "body" else kind.on_failure), Ctx(self.scope, job, attempt)

    def next_of(self, run: Run) -> Next:
        return self.programs.next(run.job.type, run.phase, run.job.attempt, run.job.payload, run.history)

    # -- successors -------------------------------------------------------------------------------------

    def moves(self, world: World) -> Iterator[Move]:
        """Every transition from ``world`` (states not yet made canonical)."""
        yield from self._takes(world)
        for s, run in enumerate(world.slots):
            if run is None:
                continue
            if run.phase == "ack":
                yield Move(("ack", s), self._ack(world, s))
            else:
                yield from self._steps(world, s, run)
            if self._can_spend(world, "crash"):
                yield Move(("crash", s), self._crash(world, s), fault=True)
            if run.phase == "body" and not world.db.sessions[s].waiting and self._can_spend(world, "throw"):
                for w in self._settle(self._spent(world, "throw"), s, replace(run, history=(*run.history,
                                                                                          Thrown("throw")))):
                    yield Move(("throw", s), w, fault=True)
        if self._can_spend(world, "lose_delayed"):
            for q, jobs in enumerate(world.queues):
                for i, job in enumerate(jobs):
                    if job.delayed and (i == 0 or jobs[i - 1] != job):
                        rest = jobs[:i] + jobs[i + 1:]
                        yield Move(("lose_delayed", q, str(job)),
                                   self._with_queue(self._spent(world, "lose_delayed"), q, rest), fault=True)
        yield from self._ticks(world)

    def _ticks(self, world: World) -> Iterator[Move]:
        """A scheduler's tick of each periodic job none of which is queued or running, whatever its last
        run did."""
        for name in self.periodic:
            if not any(j.type == name for q in world.queues for j in q) and \
                    not any(r is not None and r.job.type == name for r in world.slots):
                yield Move(("tick", name), self._pushed(world, Job(name, ())))

    def _takes(self, world: World) -> Iterator[Move]:
        for q, jobs in enumerate(world.queues):
            free = next((s for s in self.ranges[q] if world.slots[s] is None), None)
            if free is None or not jobs:
                continue
            choices = range(1) if self.order == "fifo" else range(len(jobs))
            for i in choices:
                if i > 0 and jobs[i] == jobs[i - 1]:
                    continue
                job = jobs[i]
                rest = jobs[:i] + jobs[i + 1:]
                for w in self._settle(self._with_queue(world, q, rest), free, Run(job, "body")):
                    yield Move(("take", free, str(job)), w)
                if self._can_spend(world, "duplicate"):
                    for w in self._settle(self._spent(world, "duplicate"), free, Run(job, "body")):
                        yield Move(("duplicate", free, str(job)), w, fault=True)

    def _steps(self, world: World, s: int, run: Run) -> Iterator[Move]:
        nxt = self.next_of(run)
        assert isinstance(nxt, Op), nxt
        op, db = nxt.op, world.db
        if isinstance(op, Push | Bulk):
            pushed = world
            for one in op.pushes if isinstance(op, Bulk) else (op,):
                if one.job not in self.spec.jobs:
                    raise Unsupported(f"push of job type {one.job!r}, which the spec does not declare", nxt.where)
                pushed = self._pushed(pushed, Job(one.job, one.payload, delayed=one.delayed))
            for w in self._settle(pushed, s, Run(run.job, run.phase, (*run.history, None))):
                yield Move(("step", s), w)
            return
        outcomes: tuple[Step, ...]
        statement: Any = None
        try:
            if isinstance(op, Begin):
                outcomes = (self.engine.begin(db, s, op.level),)
            elif isinstance(op, Commit):
                outcomes = (self.engine.commit(db, s),)
            elif isinstance(op, Rollback):
                outcomes = (self.engine.rollback(db, s),)
            else:
                statement = op.statement if isinstance(op, Keep) else op
                if not is_statement(statement):
                    raise Unsupported(f"keep() of {statement!r}, which is not a SQLAlchemy statement", nxt.where)
                outcomes = self._execute(db, s, statement, nxt, op.fn if isinstance(op, Keep) else None)
        except Unsupported as refused:
            raise refused.at(nxt.where) from None
        for branch, (after, outcome) in enumerate(outcomes):
            if isinstance(outcome, Blocked):
                if after != db and not (self.waits is not None and is_statement(statement) and
                                        self.waits.keeps_nothing(db, after, s, self._plan(statement, nxt.where))):
                    yield Move(("step", s, branch), world.but(db=after), outcome=outcome)
                continue
            assert isinstance(outcome, Done | Failed)
            grown = Run(run.job, run.phase, (*run.history, sent_after(op, outcome)))
            for w in self._settle(world.but(db=after), s, grown):
                yield Move(("step", s, branch), w, outcome=outcome)
            if self.spec.jobs[run.job.type].ack == "with_last_step" and self._can_spend(world, "crash"):
                # the ack comes with the last step, but a worker may still die between the two
                for w in self._settle(world.but(db=after), s, grown, ack_now=False):
                    if w.slots[s] is not None and w.slots[s].phase == "ack":  # type: ignore[union-attr]
                        yield Move(("crash_after", s, branch), self._crash(w, s), fault=True, outcome=outcome)

    def _execute(self, db: DbState, s: int, op: Any, nxt: Op, fn: Any = None) -> tuple[Step, ...]:
        """``engine.execute``, memoised: a statement object is planned once (a program position yields the
        same object every time, ``Programs``), and its outcomes in one database state are computed once.
        With saturated columns, the outcomes are saturated, and the statement is tested once in each
        witness of ``db`` (``fn``: the ``keep`` function its program reads it through)."""
        key = (db, s, id(op), fn)
        found = self._outcomes.get(key)
        if found is None:
            plan = self._plan(op, nxt.where)
            found = self.engine.execute_plan(db, s, plan, nxt.where)
            if self.saturation:
                found = self.saturation.steps(found)
                self.saturation.check_statement(
                    db, found, lambda witness: self.engine.execute_plan(witness, s, plan, nxt.where), fn, nxt.where)
            self._outcomes[key] = found
        return found

    def _settle(self, world: World, s: int, run: Run, ack_now: bool = True) -> Iterator[World]:
        """The worlds after ``run`` (in slot ``s``) was sent its last input: it stands at its next real
        step, has ended (awaiting its ack) or has failed (handled by the worker)."""
        nxt = self.next_of(run)
        world = world.recorded(nxt.records)
        if self.saturation and nxt.records:
            world = self.saturation.ghost(world)
        if isinstance(nxt, Branch):
            for option in nxt.options:
                yield from self._settle(world, s, Run(run.job, run.phase, (*run.history, option)), ack_now)
        elif isinstance(nxt, Op):
            j = run.job
            history = self.programs.representative(j.type, run.phase, j.attempt, j.payload, run.history, nxt)
            yield self._with_slot(world, s, run if history is run.history else Run(j, run.phase, history))
        elif isinstance(nxt, Ended):
            yield self._ended(world, s, run.job, fires=run.phase == "body", ack_now=ack_now)
        else:
            assert isinstance(nxt, Raised)
            yield from self._failed(world, s, run)

    def _failed(self, world: World, s: int, run: Run) -> Iterator[World]:
        kind = self.spec.jobs[run.job.type]
        decision = after_raise(kind, run.phase, run.job.attempt, self.tries[run.job.type], self.rollback_first)
        if isinstance(decision, GiveUp):
            yield self._ended(world.but(db=self.engine.disconnect(world.db, s)), s, run.job)
            return
        if isinstance(decision, Retry):
            again = replace(run.job, attempt=decision.attempt)
            released = self._pushed(world.but(db=self.engine.disconnect(world.db, s)), again)
            yield self._with_slot(released, s, None)
            return
        # every tick of a periodic job is the same job, so its failures are kept once: counted, a scheduler
        # whose ticks keep failing would make the space endless
        once = run.job.type in self.periodic and run.job in world.failed
        failed = world if once else world.but(failed=tuple(sorted((*world.failed, run.job), key=repr)))
        if decision.rollback:
            failed = failed.but(db=self.engine.disconnect(failed.db, s))
        if not decision.run_failure:
            yield self._ended(failed, s, run.job)
            return
        yield from self._settle(failed, s, Run(run.job, "failure"))

    def _ended(self, world: World, s: int, job: Job, *, fires: bool = False, ack_now: bool = True) -> World:
        """The world once the program of the run in slot ``s`` ended: the run awaits its ack, or (with the
        job type's ``ack="with_last_step"``, unless ``ack_now`` is false) is acknowledged at once.
        ``fires``: its body returned."""
        kind = self.spec.jobs[job.type]
        fires = fires and bool(kind.listeners)
        world = self._with_slot(world, s, Run(job, "ack", fires=fires))
        return self._ack(world, s) if kind.ack == "with_last_step" and ack_now else world

    def _ack(self, world: World, s: int) -> World:
        run = world.slots[s]
        assert run is not None
        for name, payload in fired(self.spec.jobs[run.job.type], run.job.payload, run.fires):
            world = self._pushed(world, Job(name, payload))
        return self._with_slot(world.but(db=self.engine.disconnect(world.db, s)), s, None)

    def _crash(self, world: World, s: int) -> World:
        run = world.slots[s]
        assert run is not None
        crashed = self._spent(world, "crash").but(db=self.engine.disconnect(world.db, s))
        return self._with_slot(self._pushed(crashed, run.job), s, None)

    # -- small pieces -----------------------------------------------------------------------------------

    def _pushed(self, world: World, job: Job) -> World:
        q = self._queue_of(job.type)
        return self._with_queue(world, q, self._ordered((*world.queues[q], job)))

    @staticmethod
    def _with_queue(world: World, q: int, jobs: tuple[Job, ...]) -> World:
        return world.but(queues=world.queues[:q] + (jobs,) + world.queues[q + 1:])

    def _with_slot(self, world: World, s: int, run: Run | None) -> World:
        if run is not None:  # one object per distinct run: states then compare and sort by identity
            run = self._runs.setdefault(run, run)
        elif self.owners:  # the run ended: the leases it holds are held by nobody
            world = world.but(db=self.owners.released(world.db, s))
        return world.but(slots=world.slots[:s] + (run,) + world.slots[s + 1:])

    def _can_spend(self, world: World, fault: str) -> bool:
        i = FAULT_NAMES.index(fault)
        return world.spent[i] < self.budgets[i]

    @staticmethod
    def _spent(world: World, fault: str) -> World:
        i = FAULT_NAMES.index(fault)
        return world.but(spent=world.spent[:i] + (world.spent[i] + 1,) + world.spent[i + 1:])
