"""The spec language: what a user writes to describe their coordinator.

A spec is a Python module holding one ``Spec``. It declares the tables (SQLAlchemy Core), the initial
rows and jobs as functions of the scope, the job types (generators that yield one step at a time), the
queues and their workers, the fault budgets, the switches (named choices, such as "bug" or "fix") and
the properties. ``docs/your-coordinator.md`` is the user's guide; this module is the reference, and the one
module a spec imports: what a job yields is ``spec.steps``, the parts declared are ``spec.declarations``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from spec.declarations import (
    ACKS,
    FAULTS,
    Ctx,
    JobType,
    Metric,
    Property,
    Saturates,
    Scope,
    Settled,
    Switch,
)
from spec.errors import SourceLocation, Unsupported
from spec.lease import READINGS, Lease
from spec.schema import Schema, Value
from spec.steps import (
    Begin,
    Bulk,
    Choose,
    Commit,
    JobThrew,
    Keep,
    Payload,
    Program,
    Push,
    Record,
    Rollback,
    SqlError,
    begin,
    bulk,
    choose,
    commit,
    is_statement,
    keep,
    push,
    record,
    rollback,
    transaction,
    yielded_at,
)

__all__ = [
    "ACKS", "FAULTS", "Begin", "Bulk", "Choose", "Commit", "Ctx", "JobThrew", "JobType", "Keep", "Metric", "Payload",
    "Program", "Property", "Push", "Record", "Rollback", "Saturates", "Scope", "Settled", "Spec", "SqlError",
    "Switch", "begin", "bulk", "choose", "commit", "is_statement", "keep", "lease", "push", "record", "rollback",
    "transaction", "yielded_at",
]


def _caller() -> tuple[str, int]:
    """The file and line of the code that called the caller (a declaration's place in the spec)."""
    frame = inspect.currentframe()
    caller = frame.f_back.f_back if frame is not None and frame.f_back is not None else None
    return (caller.f_code.co_filename, caller.f_lineno) if caller is not None else ("?", 0)


def _where(fn: Callable[..., Any]) -> SourceLocation:
    try:
        return SourceLocation(inspect.getsourcefile(fn) or "?", inspect.getsourcelines(fn)[1])
    except (OSError, TypeError):
        return SourceLocation("?", 0)


@dataclass
class Spec:
    """One coordinator: tables, jobs, queues, faults, switches and properties.

    ``scope``: named sizes and their defaults (``--scope name=value`` overrides them). ``queues``: each
    queue's worker count, a number or the name of a scope entry. ``order``: ``fifo`` or ``any`` (the
    order a queue delivers in). ``faults``: the default budget of each of ``FAULTS``. ``dialect`` and
    ``level``: the engine and isolation level the model follows (``--dialect``, ``--isolation``).
    ``rollback_before_failure``: whether the worker rolls back a transaction the failed job left open
    before it runs the job's ``on_failure`` (Laravel does since PR #48961); a bool, or a function of the
    scope (so that a switch can choose it).
    """

    name: str
    metadata: sa.MetaData
    scope: dict[str, Value] = field(default_factory=dict)
    queues: dict[str, int | str] = field(default_factory=lambda: {"default": 1})
    order: str = "fifo"
    faults: dict[str, int] = field(default_factory=dict)
    dialect: str = "postgresql"
    level: str | None = None
    rollback_before_failure: bool | Callable[[Scope], bool] = True
    #: the simulation's mean run time of each job type's own work, seconds (``--duration`` overrides it)
    durations: dict[str, float] = field(default_factory=dict)
    doc: str = ""
    jobs: dict[str, JobType] = field(default_factory=dict)
    properties: dict[str, Property] = field(default_factory=dict)
    switches: dict[str, Switch] = field(default_factory=dict)
    settles: dict[str, Settled] = field(default_factory=dict)
    metrics: dict[str, Metric] = field(default_factory=dict)
    #: each periodic job type's period in the simulation, seconds, or a function of the scope
    #: (``every(name, seconds=...)``)
    periods: dict[str, float | Callable[[Scope], float | None]] = field(default_factory=dict)
    #: the periodic job types that are periodic only in some scopes (``every(name, when=...)``)
    periodic_when: dict[str, Callable[[Scope], bool]] = field(default_factory=dict)
    saturated: tuple[Saturates, ...] = ()
    leases: dict[str, Lease] = field(default_factory=dict)
    _rows: Callable[[Scope], Mapping[str, Iterable[Mapping[str, Value]]]] | None = None
    _start: Callable[[Scope], Iterable[tuple[Any, ...]]] | None = None
    periodic: tuple[str, ...] = ()
    source: str = ""  # the file it was loaded from

    def __post_init__(self) -> None:
        if self.order not in ("fifo", "any"):
            raise Unsupported(f"spec {self.name}: order must be 'fifo' or 'any', got {self.order!r}")
        unknown = set(self.faults) - set(FAULTS)
        if unknown:
            raise Unsupported(f"spec {self.name}: unknown faults {sorted(unknown)} (known: {sorted(FAULTS)})")
        self.schema = Schema.of(self.metadata)

    # -- declarations (decorators) ----------------------------------------------------------------------

    def rows(self, fn: Callable[[Scope], Mapping[str, Iterable[Mapping[str, Value]]]]) -> Callable[..., Any]:
        """The initial committed rows, ``{table name: [row dict, ...]}``, from the scope."""
        self._rows = fn
        return fn

    def start(self, fn: Callable[[Scope], Iterable[tuple[Any, ...]]]) -> Callable[..., Any]:
        """The jobs queued at the start, as ``(job type, *payload)`` tuples, from the scope."""
        self._start = fn
        return fn

    def job(self, name: str, *, queue: str = "default", tries: int | str = 1,
            on_failure: Callable[..., Program] | None = None, ack: str = "step",
            listeners: Iterable[str] = (), event: Callable[..., Payload] | None = None,
            ) -> Callable[[Callable[..., Program]], Any]:
        """A job type whose body is the decorated generator ``body(ctx, *payload)``.

        ``tries``: deliveries before a failure is final (a number or a scope entry's name).
        ``on_failure(ctx, *payload)``: a program the worker
        runs, in the same session, when the failure is final (Laravel's ``failed()``, a batch's
        ``recordFailedJob``). ``ack``: when the worker acknowledges the job (``ACKS``). ``listeners``: job
        types the worker pushes, with this job's payload, when it acknowledges a run whose body returned
        (a completion event with queued listeners: Laravel's ``JobProcessed``, Celery's ``link``); a crash
        before the ack fires none of them. ``event(*payload)``: the payload the listeners get (the event's
        fields), when it is not the job's own."""
        fired = tuple(listeners)
        if ack not in ACKS:
            raise Unsupported(f"job {name!r}: ack must be one of {', '.join(ACKS)}, got {ack!r}")
        def register(body: Callable[..., Program]) -> Callable[..., Program]:
            if name in self.jobs:
                raise Unsupported(f"job type {name!r} declared twice", _where(body))
            if not inspect.isgeneratorfunction(body):
                raise Unsupported(f"job {name!r}: its body must be a generator (it yields steps)", _where(body))
            if isinstance(tries, int) and tries < 1:
                raise Unsupported(f"job {name!r}: tries must be at least 1", _where(body))
            self.jobs[name] = JobType(name, body, queue, tries, on_failure, _where(body), ack, fired, event)
            return body
        return register

    def every(self, name: str, seconds: float | Callable[[Scope], float | None] | None = None,
              when: Callable[[Scope], bool] | None = None) -> None:
        """Make job type ``name`` periodic, as a scheduler runs it: it is pushed again whenever none of it is
        queued or running, whether its last run succeeded or failed (the model has no clock, so "every N
        seconds" is "at any time"; the simulation and live runs push it every ``seconds``, when none is queued
        or running, default ``sim.specsettings.DEFAULT_PERIOD_S``). ``seconds`` may be a function of the
        scope; ``when(scope)`` false makes it not periodic in that scope (a policy without a reconciler)."""
        if seconds is not None and not callable(seconds) and not seconds > 0:
            raise Unsupported(f"every({name!r}): seconds must be positive, got {seconds!r}")
        self.periodic = (*self.periodic, name)
        if seconds is not None:
            self.periods[name] = seconds if callable(seconds) else float(seconds)
        if when is not None:
            self.periodic_when[name] = when

    def periodic_in(self, scope: Scope) -> tuple[str, ...]:
        """The job types that are periodic in ``scope``."""
        return tuple(n for n in self.periodic if n not in self.periodic_when or self.periodic_when[n](scope))

    def period_s(self, name: str, scope: Scope) -> float | None:
        """Periodic job type ``name``'s period in ``scope``, seconds (None: the runner's default)."""
        period = self.periods.get(name)
        if period is None:
            return None
        seconds = period(scope) if callable(period) else period
        if seconds is None:
            return None
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not seconds > 0:
            raise Unsupported(f"every({name!r}): seconds must be positive, got {seconds!r}")
        return float(seconds)

    def switch(self, name: str, choices: Iterable[str], default: str, doc: str) -> None:
        """A named choice (``--switch name=choice``), read by programs as ``ctx.scope.<name>``."""
        chosen = tuple(choices)
        if default not in chosen:
            raise Unsupported(f"switch {name!r}: default {default!r} is not one of {chosen}")
        self.switches[name] = Switch(name, chosen, default, doc)

    def always(self, name: str) -> Callable[[Callable[[Any], object]], Any]:
        """A safety property: ``check(world)`` is true in every reachable state (a string return is a
        violation's detail; ``True`` or ``None`` hold)."""
        return self._property(name, "always")

    def eventually(self, name: str) -> Callable[[Callable[[Any], object]], Any]:
        """A liveness goal: from every reachable state, a fault-free run still reaches a state where
        ``check(world)`` is true (and no run stops short of it)."""
        return self._property(name, "eventually")

    def metric(self, name: str) -> Callable[[Callable[[Any], object]], Any]:
        """A number the simulation reports at the end of each run (``wavesim run SPEC``): the decorated
        ``fn(world)`` reads the same view as a property, plus the simulation's clock (``world.now``,
        ``world.times(event)``, ``world.most_within(seconds, event)``), and returns an int or a float. The
        checker ignores metrics."""
        def register(fn: Callable[[Any], object]) -> Callable[[Any], object]:
            if name in self.metrics:
                raise Unsupported(f"metric {name!r} declared twice", _where(fn))
            self.metrics[name] = Metric(name, fn, (fn.__doc__ or "").strip(), _where(fn))
            return fn
        return register

    def settled(self, prop: str, *, premise: Callable[[Any, Any], object]) -> Callable[[Callable[[Any], object]], Any]:
        """Declare when ``always`` property ``prop`` is settled: the decorated ``when(world)`` is true in a
        state from which no later state can violate it, given ``premise(before, after)``, a fact about every
        step that the checker tests on every step it takes (a step against it stops the check, exit 2).

        A state in which every property still open is settled is judged but not expanded (the write-up's
        checker's ``settled``): the same verdicts and shortest lengths, fewer states. ``--no-settled``
        switches it off."""
        def register(when: Callable[[Any], object]) -> Callable[[Any], object]:
            where = _where(when)
            if prop in self.settles:
                raise Unsupported(f"property {prop!r} declared settled twice", where)
            self.settles[prop] = Settled(prop, when, premise, (when.__doc__ or "").strip(), where)
            return when
        return register

    def saturates(self, counted: sa.Column[Any] | str, *, at: int | str | Callable[[Scope], int], why: str) -> None:
        """Declare that no reader of ``counted`` can tell apart two values of ``at`` or more, so the checker
        stores such a value as ``at`` (the write-up's checker's counter abstraction): fewer states, the same
        verdicts and shortest lengths. ``counted``: an Integer column of the spec's tables, or an event's
        name (the ghost count of ``record(event, ...)``, per key, which only properties read). ``at``: a
        number, a scope entry's name or a function of the scope; ``why``: the argument, in a sentence
        (which readers compare the count with what).

        The checker tests the declaration wherever the count is read (``model/specmodel/saturation.py``):
        every statement in a state holding a saturated value is also run with that value raised past the
        bound, and a program sent a different result (after ``keep``'s function), a different write or
        row count, or a property, ``settled`` condition or premise judged otherwise stops the check
        (exit 2). A program that needs only a comparison reads the column through ``keep``.
        ``--no-saturation`` switches the reduction off."""
        where = SourceLocation(*_caller())
        if isinstance(counted, str):
            decl = Saturates(None, counted, at, why.strip(), where)
        else:
            table = getattr(counted, "table", None)
            if not isinstance(counted, sa.Column) or not isinstance(table, sa.Table) or \
                    table.name not in self.schema.names:
                raise Unsupported(f"saturates({counted!r}): give a column of one of the spec's tables, or an "
                                  "event's name", where)
            spec = self.schema.tables[self.schema.names.index(table.name)]
            if spec.columns[spec.index(counted.name)].kind != "int":
                raise Unsupported(f"saturates({table.name}.{counted.name}): only an Integer column saturates", where)
            decl = Saturates(table.name, counted.name, at, why.strip(), where)
        if any(d.name == decl.name for d in self.saturated):
            raise Unsupported(f"saturates({decl.name}) declared twice", where)
        if not decl.why:
            raise Unsupported(f"saturates({decl.name}): say why no reader can tell (why=...)", where)
        self.saturated = (*self.saturated, decl)

    def lease(self, name: str, taken_at: sa.Column[Any], *, owner: sa.Column[Any],
              seconds: float | str | Callable[[Scope], float]) -> Lease:
        """Declare a lease (``spec/lease.py``): a run takes a row by writing ``lease.taken()`` in an UPDATE
        (``taken_at``, a nullable DateTime column, gets the time, ``owner``, a nullable Integer column of the
        same table, the run's id), and another run reads it as run out with ``lease.expired(ctx.scope)`` in a
        WHERE. ``seconds``: the lease's length, a number, a scope entry's or switch's name, or a function of
        the scope.

        The checker has no clock: the switch ``lease_<name>`` says how it reads ``expired()`` (``READINGS``:
        ``expired``, the default, or the assumption ``outlasts-owner``). The simulation compares the simulated
        time with the length, and a real engine its own clock."""
        return self.declare_lease(lease(name, taken_at, owner=owner, seconds=seconds, where=SourceLocation(*_caller())))

    def declare_lease(self, declared: Lease) -> Lease:
        """Declare a lease built with ``spec.lang.lease`` (where the programs that use it are written before
        the ``Spec``)."""
        if declared.name in self.leases:
            raise Unsupported(f"lease {declared.name!r} declared twice", declared.where)
        if declared.owner.table.name not in self.schema.names:
            raise Unsupported(f"lease {declared.name!r}: {declared.owner.table.name} is not one of the spec's "
                              "tables", declared.where)
        self.switch(declared.switch, tuple(READINGS), next(iter(READINGS)),
                    f"how the checker, which has no clock, reads lease {declared.name!r}: " +
                    "; ".join(f"{k}: {v}" for k, v in READINGS.items()))
        self.leases[declared.name] = declared
        return declared

    def _property(self, name: str, kind: str) -> Callable[[Callable[[Any], object]], Any]:
        def register(check: Callable[[Any], object]) -> Callable[[Any], object]:
            if name in self.properties:
                raise Unsupported(f"property {name!r} declared twice", _where(check))
            self.properties[name] = Property(name, kind, check, (check.__doc__ or "").strip(), _where(check))
            return check
        return register

    # -- reading it -------------------------------------------------------------------------------------

    def scope_of(self, given: Mapping[str, str] | None = None) -> Scope:
        """The scope with ``given`` overrides (text from the command line) and every switch's choice."""
        values: dict[str, Value] = dict(self.scope)
        values.update({s.name: s.default for s in self.switches.values()})
        for name, text in (given or {}).items():
            if name in self.switches:
                if text not in self.switches[name].choices:
                    raise Unsupported(f"switch {name}={text}: choose one of {', '.join(self.switches[name].choices)}")
                values[name] = text
            elif name in self.scope:
                values[name] = _parse(name, text, self.scope[name])
            else:
                known = sorted([*self.scope, *self.switches])
                raise Unsupported(f"no scope entry or switch {name!r} (it has {', '.join(known)})")
        return Scope(values)

    def tries(self, job: str, scope: Scope) -> int:
        """How many deliveries job type ``job`` gets in ``scope``."""
        kind = self.jobs[job]
        n = scope[kind.tries] if isinstance(kind.tries, str) else kind.tries
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise Unsupported(f"job {job!r}: tries must be a positive integer, got {n!r}", kind.where)
        return n

    def rolls_back_before_failure(self, scope: Scope) -> bool:
        chosen = self.rollback_before_failure
        return bool(chosen(scope) if callable(chosen) else chosen)

    def initial_rows(self, scope: Scope) -> Mapping[str, Iterable[Mapping[str, Value]]]:
        return self._rows(scope) if self._rows else {}

    def initial_jobs(self, scope: Scope) -> tuple[tuple[str, Payload], ...]:
        out = []
        for item in self._start(scope) if self._start else ():
            job, *payload = item
            if job not in self.jobs:
                raise Unsupported(f"spec {self.name}: the start queues job {job!r}, which is not declared")
            out.append((str(job), tuple(payload)))
        return tuple(out)

    def workers(self, scope: Scope) -> dict[str, int]:
        """Each queue's number of workers in ``scope``."""
        out = {}
        for queue, n in self.queues.items():
            count = scope[n] if isinstance(n, str) else n
            if not isinstance(count, int) or isinstance(count, bool) or count < 1:
                raise Unsupported(f"queue {queue!r}: workers must be a positive integer, got {count!r}")
            out[queue] = count
        for job in self.jobs.values():
            if job.queue not in out:
                raise Unsupported(f"job {job.name!r} runs on queue {job.queue!r}, which has no workers "
                                  f"(queues: {sorted(out)})", job.where)
        return out

    def check_declared(self) -> None:
        """Refuse a spec that cannot run: no jobs, no properties, a periodic job never declared."""
        if not self.jobs:
            raise Unsupported(f"spec {self.name} declares no job types")
        if not self.properties:
            raise Unsupported(f"spec {self.name} declares no properties")
        for name in self.periodic:
            if name not in self.jobs:
                raise Unsupported(f"spec {self.name}: periodic job {name!r} is not declared")
        for name, settled in self.settles.items():
            if self.properties.get(name) is None or self.properties[name].kind != "always":
                raise Unsupported(f"settled({name!r}): only an always property of the spec can be settled",
                                  settled.where)
        for name in self.durations:
            if name not in self.jobs:
                raise Unsupported(f"spec {self.name}: durations names job {name!r}, which is not declared")
        for job in self.jobs.values():
            for name in job.listeners:
                if name not in self.jobs:
                    raise Unsupported(f"job {job.name!r}: listener {name!r} is not declared", job.where)


def lease(name: str, taken_at: sa.Column[Any], *, owner: sa.Column[Any],
          seconds: float | str | Callable[[Scope], float], where: SourceLocation | None = None) -> Lease:
    """A lease on ``taken_at``'s table, for ``Spec.declare_lease`` (``Spec.lease`` says what each part is)."""
    where = where or SourceLocation(*_caller())
    for column, kind in ((taken_at, sa.DateTime), (owner, sa.Integer)):
        if not isinstance(column, sa.Column) or not isinstance(column.table, sa.Table) or \
                not isinstance(column.type, kind) or not column.nullable:
            raise Unsupported(f"lease {name!r}: {column!r} must be a nullable {kind.__name__} column of a table",
                              where)
    if owner.table is not taken_at.table:
        raise Unsupported(f"lease {name!r}: taken_at and owner must be columns of one table", where)
    return Lease(name, taken_at, owner, seconds, where)


def _parse(name: str, text: str, default: Value) -> Value:
    if isinstance(default, bool):
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no"):
            return False
        raise Unsupported(f"scope {name}={text}: expected true or false")
    if isinstance(default, int):
        try:
            return int(text)
        except ValueError:
            raise Unsupported(f"scope {name}={text}: expected an integer") from None
    return text
