"""What a job yields, one atomic action of a real system at a time, and what it may be thrown.

A job body is a generator ``body(ctx, *payload)``. It yields one operation at a time and is sent its
result:

- a SQLAlchemy Core ``select``/``insert``/``update``/``delete``: sent a ``spec.Result``, or thrown a
  ``SqlError`` when the engine raises (deadlock, duplicate key ...);
- ``keep(statement, fn)``: the statement, as above, but the program is sent ``fn(result)``, a hashable value:
  only what the program keeps of the result becomes its state (as SQL computing the value would);
- ``begin()``, ``commit()``, ``rollback()``: the session's transaction;
- ``push(job, *payload, delay=None)``: put a job on its queue (never part of a transaction);
- ``bulk(push(...), push(...), ...)``: put several jobs on their queues in one queue operation (Laravel's
  ``Queue::bulk`` and ``Bus::batch()->dispatch()``, Sidekiq's ``push_bulk``): one step;
- ``record(event, *key)``: count an event in ghost state that properties read (not a step of its own:
  it happens with the step before it);
- ``choose(*options)``: the model tries every option (not a step of its own either).

Each of these is one atomic action of a real system: one statement, one transaction boundary, one queue
push. Other programs run between any two of them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from spec.errors import SourceLocation, Unsupported
from spec.schema import Value

__all__ = [
    "Begin", "Bulk", "Choose", "Commit", "JobThrew", "Keep", "Payload", "Program", "Push", "Record", "Rollback",
    "SqlError", "begin", "bulk", "choose", "commit", "is_statement", "keep", "push", "record", "rollback",
    "steps_made", "transaction", "unyielded", "yielded_at",
]

Payload = tuple[Value, ...]
Program = Generator[Any, Any, Any]


@dataclass(frozen=True, slots=True)
class Begin:
    """Open a transaction (``level``: an isolation level name, or the session's default)."""

    level: str | None = None


@dataclass(frozen=True, slots=True)
class Commit:
    """Commit the open transaction."""


@dataclass(frozen=True, slots=True)
class Rollback:
    """Roll the open transaction back."""


@dataclass(frozen=True, slots=True)
class Push:
    """Put a job of type ``job`` with ``payload`` on its queue; ``delayed`` jobs may be lost (a fault).
    ``delay``: the seconds the simulation holds a delayed job back (the checker has no clock)."""

    job: str
    payload: Payload
    delayed: bool = False
    delay: float = 0.0


@dataclass(frozen=True, slots=True)
class Keep:
    """Run ``statement``; the program is sent ``fn(result)`` (a hashable value), and only that is kept."""

    statement: Any
    fn: Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Bulk:
    """Put every job of ``pushes`` on its queue, in order, in one queue operation."""

    pushes: tuple[Push, ...]


@dataclass(frozen=True, slots=True)
class Record:
    """Count one ``event`` (with ``key``) in ghost state."""

    event: str
    key: Payload


@dataclass(frozen=True, slots=True)
class Choose:
    """The model tries each of ``options``; the program is sent the one taken."""

    options: tuple[Value, ...]


#: while a driver runs a program to its end (``steps_made``), each step its calls made and where: a step made
#: and never yielded (``record(...)`` without ``yield``) would be dropped without a word, and a property
#: reading its count would hold falsely, so the driver refuses the program instead
_Step = TypeVar("_Step")
_MADE: ContextVar[list[tuple[object, SourceLocation]] | None] = ContextVar("steps_made", default=None)


def _made(step: _Step) -> _Step:
    made = _MADE.get()
    if made is not None:
        frame = inspect.currentframe()  # climbs out of this module to the user's line that made the step
        while frame is not None and frame.f_code.co_filename == __file__:
            frame = frame.f_back
        where = SourceLocation(frame.f_code.co_filename, frame.f_lineno) if frame else SourceLocation("?", 0)
        made.append((step, where))
    return step


@contextmanager
def steps_made() -> Iterator[list[tuple[object, SourceLocation]]]:
    """Collect the steps made while the block runs (a program run by a driver)."""
    made: list[tuple[object, SourceLocation]] = []
    token = _MADE.set(made)
    try:
        yield made
    finally:
        _MADE.reset(token)


def unyielded(made: list[tuple[object, SourceLocation]], yielded: list[object]) -> Unsupported | None:
    """The refusal of the first step ``made`` that is not among ``yielded`` (by identity; a ``bulk``'s pushes
    count as yielded with it), else None."""
    seen = {id(op) for op in yielded}
    seen |= {id(p) for op in yielded if isinstance(op, Bulk) for p in op.pushes}
    for step, where in made:
        if id(step) not in seen:
            name = type(step).__name__.lower()
            return Unsupported(f"{name}(...) was made but never yielded, so it would do nothing: write "
                               f"`yield {name}(...)`", where)
    return None


def begin(level: str | None = None) -> Begin:
    return _made(Begin(level))


def commit() -> Commit:
    return _made(Commit())


def rollback() -> Rollback:
    return _made(Rollback())


def push(job: str, *payload: Value, delay: float | None = None) -> Push:
    """A push; ``delay`` (seconds) marks the job delayed in the model, where time is not measured, and holds
    it back that long in the simulation."""
    delayed = delay is not None and delay > 0
    return _made(Push(job, tuple(payload), delayed, float(delay) if delayed and delay is not None else 0.0))


def keep(statement: Any, fn: Callable[[Any], Any]) -> Keep:
    """A statement whose result the program reads only through ``fn``: two results ``fn`` maps to the same
    value leave the program in the same state (``fn`` must be deterministic)."""
    return _made(Keep(statement, fn))


def bulk(*pushes: Push) -> Bulk:
    """Several pushes as one queue operation (one step); none may be delayed."""
    if not pushes or not all(isinstance(p, Push) for p in pushes):
        raise Unsupported("bulk() takes one or more push(...) values")
    if any(p.delayed for p in pushes):
        raise Unsupported("bulk() of a delayed push: push delayed jobs one at a time")
    return _made(Bulk(tuple(pushes)))


def record(event: str, *key: Value) -> Record:
    return _made(Record(event, tuple(key)))


def choose(*options: Value) -> Choose:
    if not options:
        raise Unsupported("choose() with no options")
    return Choose(tuple(options))


class SqlError(Exception):
    """The engine raised ``kind`` (``spec.DEADLOCK``, ``spec.DUPLICATE_KEY`` ...) on the statement."""

    def __init__(self, kind: str, message: str = "") -> None:
        super().__init__(message or kind)
        self.kind = kind


class JobThrew(Exception):
    """The ``throw`` fault: the job raised here (a timeout, a crash in its own code)."""


def transaction(body: Program, level: str | None = None) -> Program:
    """``yield from transaction(gen)``: BEGIN, the body's steps, COMMIT; ROLLBACK and re-raise if it raises."""
    yield Begin(level)
    try:
        result = yield from body
    except BaseException:
        yield Rollback()
        raise
    yield Commit()
    return result


def is_statement(op: Any) -> bool:
    """A SQLAlchemy Core statement (the engine's plan decides whether it is in the subset)."""
    return hasattr(op, "is_dml") or hasattr(op, "is_select")


def yielded_at(gen: Any) -> SourceLocation:
    """Where a running program stands: the innermost frame of the user's own code in a chain of
    ``yield from`` (not this module's helpers, such as ``transaction``)."""
    frames = []
    while gen is not None and getattr(gen, "gi_frame", None) is not None:
        frames.append(gen.gi_frame)
        gen = getattr(gen, "gi_yieldfrom", None)
    for frame in reversed(frames):
        if frame.f_globals.get("__name__") != __name__:
            return SourceLocation(frame.f_code.co_filename, frame.f_lineno)
    return SourceLocation(frames[-1].f_code.co_filename, frames[-1].f_lineno) if frames else SourceLocation("?", 0)
