"""The state of a spec's world: the database, the queues, the workers' runs, ghost counts, faults spent.

One frozen, hashable value, as in a TLA+ spec: each field is one variable. A worker slot is also a
database session (slot ``i`` runs its jobs on session ``i``), so a run and its transaction move together
when symmetry renames workers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from spec.lang import Record
from spec.schema import Value
from spec.state import DbState
from spec.view import View

__all__ = ["PARTS", "Job", "Run", "View", "World", "canonical", "ghost_dict", "renamed"]


@dataclass(frozen=True, slots=True)
class Job:
    """A queued job: its type, payload, which delivery it is, and whether it was pushed with a delay."""

    type: str
    payload: tuple[Value, ...]
    attempt: int = 1
    delayed: bool = False
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __hash__(self) -> int:  # cached: states are hashed many times as dict keys
        h = self._hash
        if not h:
            h = hash((self.type, self.payload, self.attempt, self.delayed,)) or 1
            object.__setattr__(self, "_hash", h)
        return h

    def __str__(self) -> str:
        args = ", ".join(repr(v) for v in self.payload)
        return f"{self.type}({args})" + (f" try {self.attempt}" if self.attempt > 1 else "")


@dataclass(frozen=True, slots=True)
class Run:
    """A worker's job in progress: ``phase`` is ``body``, ``failure`` (its on_failure program) or ``ack``
    (the program ended; the worker has not acknowledged the job yet); ``history`` what the phase's program
    was sent so far; ``fires``: in ``ack``, the body returned and the ack fires the job type's listeners."""

    job: Job
    phase: str
    history: tuple[Any, ...] = ()
    fires: bool = False
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __hash__(self) -> int:  # cached: states are hashed many times as dict keys
        h = self._hash
        if not h:
            h = hash((self.job, self.phase, self.history, self.fires,)) or 1
            object.__setattr__(self, "_hash", h)
        return h


@dataclass(frozen=True, slots=True)
class World:
    """The whole state: database, queues (one tuple per queue; sorted on an any-order queue), worker slots
    (``None``: idle), ghost counts by (event, key), faults spent (in ``FAULTS`` order), jobs failed for good
    (sorted)."""

    db: DbState
    queues: tuple[tuple[Job, ...], ...]
    slots: tuple[Run | None, ...]
    ghost: tuple[tuple[tuple[str, tuple[Value, ...]], int], ...] = ()
    spent: tuple[int, ...] = ()
    failed: tuple[Job, ...] = ()
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __hash__(self) -> int:  # cached: states are hashed many times as dict keys
        h = self._hash
        if not h:
            h = hash((self.db, self.queues, self.slots, self.ghost, self.spent, self.failed,)) or 1
            object.__setattr__(self, "_hash", h)
        return h

    def with_db(self, db: DbState) -> World:
        return World(db, self.queues, self.slots, self.ghost, self.spent, self.failed)

    def but(self, *, db: DbState | None = None, queues: tuple[tuple[Job, ...], ...] | None = None,
            slots: tuple[Run | None, ...] | None = None, ghost: tuple[Any, ...] | None = None,
            spent: tuple[int, ...] | None = None, failed: tuple[Job, ...] | None = None) -> World:
        """This world with the fields given changed (``dataclasses.replace``, without its introspection:
        the search builds a world per transition)."""
        return World(self.db if db is None else db, self.queues if queues is None else queues,
                      self.slots if slots is None else slots, self.ghost if ghost is None else ghost,
                      self.spent if spent is None else spent, self.failed if failed is None else failed)

    def recorded(self, records: tuple[Record, ...]) -> World:
        if not records:
            return self
        counts = dict(self.ghost)
        met = len(counts)
        for r in records:
            counts[(r.event, r.key)] = counts.get((r.event, r.key), 0) + 1
        # a dict keeps the order the ghost had: only a new key needs sorting
        return self.but(ghost=tuple(sorted(counts.items(), key=repr)) if len(counts) > met else tuple(counts.items()))


def canonical(world: World, ranges: tuple[range, ...], number: Callable[[object], int],
              owners: Callable[[DbState, dict[int, int]], DbState] | None = None) -> World:
    """``world`` with the workers of each queue sorted by what they run and their session (symmetry).

    ``number`` gives each distinct run and session a fixed number, so the order is a function of the
    values alone and two states that differ only by worker names get the same representative. ``owners``
    renames the sessions that rows name as their leases' owners (``model/specmodel/leases.py``)."""
    order: list[int] = []
    slots, sessions = world.slots, world.db.sessions
    for r in ranges:
        if len(r) < 2 or len({(id(slots[s]), id(sessions[s])) for s in r}) < 2:  # one worker, or all alike
            order.extend(r)
            continue
        order.extend(sorted(r, key=lambda s: (number(slots[s]), number(sessions[s]))))
    if order == list(range(len(world.slots))):
        return world
    return renamed(world, order, owners)


def renamed(world: World, order: list[int], owners: Callable[[DbState, dict[int, int]], DbState] | None = None,
            ) -> World:
    """``world`` with worker ``order[i]`` (its run and its session) as worker ``i``."""
    db = world.db.permuted(tuple(order))
    if owners is not None:
        db = owners(db, {old: i for i, old in enumerate(order)})
    return world.but(db=db, slots=tuple(world.slots[s] for s in order))


#: the parts of a world a ``View`` reads, each as a function of the world (the committed tables by their
#: database state, whose hash is kept: a finer key, and a cheap one)
PARTS: dict[str, Callable[[World], object]] = {
    "tables": lambda w: w.db, "ghost": lambda w: w.ghost, "queues": lambda w: w.queues,
    "slots": lambda w: w.slots, "failed": lambda w: w.failed,
}


def ghost_dict(world: World) -> Mapping[str, int]:
    return {f"{e}{list(k) if k else ''}": n for (e, k), n in world.ghost}
