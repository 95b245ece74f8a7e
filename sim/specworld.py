"""The simulated world of a spec: the database, the queues, the workers' runs, ghost counts, failed jobs.

Mutable where the checker's ``World`` is frozen, but with the same field names (``db``, ``queues``,
``slots``, ``ghost``, ``failed``), so a spec's properties read it through the same ``spec.view.View``; its
metrics read ``SimView``, which adds the clock. ``SpecRecorder`` appends what happens (queue depth when it
changes, each job's end by outcome, lock waits, property violations) and computes nothing on the hot path.
``SimWorld.part`` gives each part a property can read as a value that changes whenever the part does, so the
driver judges a property again only when something it read has changed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sim.monitors import max_in_window
from spec.lang import Record, Scope
from spec.schema import Schema, Value
from spec.state import DbState
from spec.view import View

__all__ = ["OUTCOMES", "SimJob", "SimRun", "SimView", "SimWorld", "SpecRecorder"]

#: how a job's delivery ends (``jobs`` in a run's JSON counts them per job type)
OUTCOMES = ("acked", "retried", "failed", "gave_up", "crashed", "duplicated", "lost")


@dataclass(frozen=True, slots=True)
class SimJob:
    """A queued job: its type, payload, which delivery it is, and whether it was pushed with a delay."""

    type: str
    payload: tuple[Value, ...]
    attempt: int = 1
    delayed: bool = False

    def __str__(self) -> str:
        args = ", ".join(repr(v) for v in self.payload)
        return f"{self.type}({args})" + (f" try {self.attempt}" if self.attempt > 1 else "")


@dataclass(slots=True)
class SimRun:
    """A worker's job in progress and the phase it is in (``body``, ``failure`` or ``ack``)."""

    job: SimJob
    phase: str = "body"


@dataclass(slots=True)
class SimWorld:
    """The whole simulated state; ``pending`` counts jobs on their way to a queue (delayed, redelivered)."""

    db: DbState
    queues: list[list[SimJob]]
    slots: list[SimRun | None]
    counts: Counter[tuple[str, tuple[Value, ...]]] = field(default_factory=Counter)
    failed: list[SimJob] = field(default_factory=list)
    pending: int = 0
    now: float = 0.0  # the simulated time, kept up to date by the driver
    times: dict[str, list[tuple[float, tuple[Value, ...]]]] = field(default_factory=dict)  # event -> (t, key)
    recorded: int = 0  # how many ``record``s so far: the ghost counts' version
    #: how many times a job was queued or taken, or a worker's run began or ended: the version of ``queues``
    #: and ``slots``, which change only through ``enqueue``, ``take`` and ``occupy``
    moves: int = 0
    #: ``ghost`` as last built; one object until the next record, so a view's count cache keeps it
    _ghost: list[tuple[tuple[str, tuple[Value, ...]], int]] | None = field(default=None, repr=False, compare=False)

    def part(self, name: str) -> object:
        """A value of the part ``name`` of the world (as ``View.reads`` names them) that differs whenever
        what a ``View`` reads of it differs; ``None`` for a part with no such value (the clock)."""
        if name == "tables":
            return self.db.tables  # immutable: a new tuple when a commit changes them
        if name == "ghost":
            return self.recorded  # ``counts`` changes only in ``record``
        if name in ("queues", "slots"):
            return self.moves
        if name == "failed":
            return len(self.failed)  # only ever appended to
        return None

    def version(self) -> tuple[object, ...]:
        """A value that differs whenever any part with a value (``part``) differs."""
        return self.db.tables, self.recorded, self.moves, len(self.failed)

    @property
    def ghost(self) -> list[tuple[tuple[str, tuple[Value, ...]], int]]:
        """Ghost counts as the checker's ``World.ghost`` holds them: ``((event, key), n)`` pairs."""
        if self._ghost is None:
            self._ghost = list(self.counts.items())
        return self._ghost

    def record(self, r: Record) -> None:
        self.counts[(r.event, r.key)] += 1
        self.recorded += 1
        self._ghost = None
        self.times.setdefault(r.event, []).append((self.now, r.key))

    def enqueue(self, q: int, job: SimJob) -> None:
        self.queues[q].append(job)
        self.moves += 1

    def take(self, q: int, i: int) -> None:
        del self.queues[q][i]
        self.moves += 1

    def occupy(self, s: int, run: SimRun | None) -> None:
        """Worker ``s`` begins ``run`` (``None``: its run ended)."""
        self.slots[s] = run
        self.moves += 1

    def depth(self) -> int:
        return sum(len(q) for q in self.queues)

    def quiet(self) -> bool:
        """No job queued, running, or on its way to a queue."""
        return self.pending == 0 and not any(self.queues) and all(r is None for r in self.slots)


class SimView(View):
    """The view a spec's metrics read in the simulation: the properties' view, with the clock."""

    def __init__(self, world: SimWorld, schema: Schema, scope: Scope) -> None:
        super().__init__(world, schema, scope)
        self._sim = world
        #: table -> (the tables read, their rows of it as dicts, those rows as stored)
        self._rows: dict[str, tuple[object, list[dict[str, Value]], tuple[tuple[Value, ...], ...]]] = {}

    def rows(self, table: str) -> list[dict[str, Value]]:
        """The committed rows of ``table``, built once per database state: properties are judged after every
        step, each reading the rows many times, and the tables only change on a write. A row a commit left
        as it was (the same stored tuple) keeps its dict from the state before."""
        tables = self._sim.db.tables
        kept = self._rows.get(table)
        if kept is not None and kept[0] is tables:
            self.reads.add("tables")
            return kept[1]
        rows = super().rows(table) if kept is None else None  # the first read checks the table's name
        stored = tables[self._schema.names.index(table)]
        if rows is None:
            assert kept is not None
            self.reads.add("tables")
            names = [c.name for c in self._schema.tables[self._schema.names.index(table)].columns]
            before = {id(row): i for i, row in enumerate(kept[2])}  # kept[2] keeps them alive: ids are theirs
            rows = [kept[1][i] if i is not None else dict(zip(names, row, strict=True))
                    for row, i in ((row, before.get(id(row))) for row in stored)]
        self._rows[table] = (tables, rows, stored)
        return rows

    @property
    def now(self) -> float:
        """The simulated time, in seconds."""
        self.reads.add("clock")
        return self._sim.now

    def count(self, event: str, *key: Value) -> int:
        """``View.count``, read from the world's counter itself (its ``ghost`` is a new list on each read)."""
        if not key:
            return super().count(event)
        self.reads.add("ghost")
        return self._sim.counts.get((event, key), 0)

    def times(self, event: str, *key: Value) -> list[float]:
        """When each ``record(event, *key)`` happened (with no key: every key), in simulated seconds."""
        self.reads.add("clock")
        return [t for t, k in self._sim.times.get(event, ()) if not key or k == tuple(key)]

    def most_within(self, seconds: float, event: str, *key: Value) -> int:
        """The most ``record(event, *key)`` in any window of ``seconds`` (waves dispatched in one second)."""
        return max_in_window(self.times(event, *key), seconds)


class SpecRecorder:
    """Appends tuples during the run: queue depths, job ends, lock waits, first violations."""

    def __init__(self, queues: int) -> None:
        self.depth: list[tuple[float, tuple[int, ...]]] = [(0.0, (0,) * queues)]
        self.peak = 0
        self.ends: Counter[tuple[str, str]] = Counter()
        self.waits: list[tuple[float, float, str]] = []  # (from, to, job type) of each lock wait
        self.statements = 0
        self.deadlocks = 0
        self.violations: dict[str, tuple[float, str]] = {}
        self.queued: Counter[str] = Counter()  # jobs queued now, by type
        self.peaks: Counter[str] = Counter()  # the most jobs of each type queued at once

    def job_queued(self, job: str, change: int) -> None:
        n = self.queued[job] = self.queued[job] + change
        if n > self.peaks[job]:
            self.peaks[job] = n

    def queues(self, t: float, depths: tuple[int, ...]) -> None:
        if depths != self.depth[-1][1]:
            if self.depth[-1][0] == t:
                self.depth[-1] = (t, depths)
            else:
                self.depth.append((t, depths))
            self.peak = max(self.peak, sum(depths))

    def ended(self, job: str, outcome: str) -> None:
        self.ends[(job, outcome)] += 1

    def jobs(self, types: list[str]) -> dict[str, dict[str, int]]:
        """Per job type, how many deliveries ended each way (every outcome, zero included)."""
        return {t: {o: self.ends[(t, o)] for o in OUTCOMES} for t in types}

    def to_series(self) -> dict[str, Any]:
        return {"t": [round(t, 6) for t, _ in self.depth], "depth": [list(d) for _, d in self.depth]}
