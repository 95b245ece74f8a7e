"""The parts of a spec that ``Spec`` declares: the scope a run is checked in, a job type, a property, a metric,
a settled property, a saturated count, a switch; and the fault kinds and acknowledgements a spec may name."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from spec.errors import SourceLocation, Unsupported
from spec.schema import Value
from spec.steps import Payload, Program

__all__ = ["ACKS", "FAULTS", "Ctx", "JobType", "Metric", "Property", "Saturates", "Scope", "Settled", "Switch"]

#: the fault kinds a spec may give a budget, and what each does
FAULTS: dict[str, str] = {
    "crash": "a worker dies at any step of a job, before its ack: its open transaction rolls back and the "
             "queue redelivers the job (at-least-once)",
    "throw": "a job raises at any step (a timeout, a bug): the worker handles the failure as the spec's "
             "on_failure and tries say",
    "duplicate": "the queue delivers a job twice: a copy stays queued when a worker takes it",
    "lose_delayed": "a delayed job is lost before it is delivered",
}

#: when a worker acknowledges a job whose program ended, and what each means
ACKS: dict[str, str] = {
    "step": "a step of its own after the program's last one (a crash in between redelivers the job)",
    "with_last_step": "in the same step as the program's last operation (no window between them: a model that "
                      "treats a run's end as atomic with its last write)",
}


class Scope(Mapping[str, Value]):
    """The scope's sizes and the switches' values, by name and as attributes (``ctx.scope.jobs``)."""

    def __init__(self, values: Mapping[str, Value]) -> None:
        self._values = dict(values)
        self._hash: int | None = None  # the values never change: hashed once

    def __getitem__(self, name: str) -> Value:
        return self._values[name]

    def __iter__(self) -> Any:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __getattr__(self, name: str) -> Value:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"the scope has no {name!r} (it has {sorted(self._values)})") from None

    def __repr__(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self._values.items())

    def __hash__(self) -> int:  # a job's ctx holds the scope, and its frame's locals are compared by hash
        if self._hash is None:
            self._hash = hash(tuple(self._values.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Scope) and self._values == other._values

    def __reduce__(self) -> tuple[Any, ...]:  # a copy in another process hashes its strings anew
        return Scope, (self._values,)


@dataclass(frozen=True, slots=True)
class Ctx:
    """What a running job knows besides its payload: the scope, its type, and which delivery this is."""

    scope: Scope
    job: str
    attempt: int = 1


@dataclass(frozen=True, slots=True)
class JobType:
    """A job type: its body, the queue it runs on, how many tries, the program a final failure runs, when it
    is acknowledged (``ACKS``) and the listener jobs its success fires."""

    name: str
    body: Callable[..., Program]
    queue: str
    tries: int | str  # a number, or the name of a scope entry
    on_failure: Callable[..., Program] | None
    where: SourceLocation
    ack: str = "step"
    listeners: tuple[str, ...] = ()
    event: Callable[..., Payload] | None = None

    def fired(self, payload: Payload) -> Payload:
        """The payload its listeners get when a run with ``payload`` succeeds."""
        return payload if self.event is None else tuple(self.event(*payload))


@dataclass(frozen=True, slots=True)
class Property:
    """A named property: ``always`` (a predicate every reachable state satisfies) or ``eventually`` (a goal
    every fault-free run still reaches)."""

    name: str
    kind: str  # "always" | "eventually"
    check: Callable[[Any], object]
    doc: str
    where: SourceLocation


@dataclass(frozen=True, slots=True)
class Metric:
    """A number the simulation reports at the end of each run: ``fn(world)`` over the properties' view
    (``spec.view.View``) with the simulation's clock."""

    name: str
    fn: Callable[[Any], object]
    doc: str
    where: SourceLocation


@dataclass(frozen=True, slots=True)
class Settled:
    """A property that can no longer be violated once ``when(world)`` holds, because of ``premise``: a fact
    about every step (``premise(before, after)`` is true, or a string naming what broke it), which the
    checker tests on every step it takes."""

    prop: str
    when: Callable[[Any], object]
    premise: Callable[[Any, Any], object]
    doc: str
    where: SourceLocation


@dataclass(frozen=True, slots=True)
class Saturates:
    """A count stored saturated, a value of ``at`` or more as ``at``, because no reader can tell such values
    apart (``Spec.saturates``): integer column ``table.column``, or (``table`` None) the ghost count of
    ``record(column, ...)``, per key. ``at``: a number, a scope entry's name or a function of the scope;
    ``why``: the author's reason."""

    table: str | None
    column: str
    at: int | str | Callable[[Scope], int]
    why: str
    where: SourceLocation

    @property
    def name(self) -> str:
        return f"{self.table}.{self.column}" if self.table is not None else f"record({self.column!r})"

    def bound(self, scope: Scope) -> int:
        """``at`` in ``scope``: a non-negative integer."""
        n = self.at(scope) if callable(self.at) else scope[self.at] if isinstance(self.at, str) else self.at
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise Unsupported(f"saturates({self.name}): at must be a non-negative integer, got {n!r}", self.where)
        return n


@dataclass(frozen=True, slots=True)
class Switch:
    """A named choice of the spec (a bug or its fix, a reading of the code), its default and why."""

    name: str
    choices: tuple[str, ...]
    default: str
    doc: str
