"""What a property or a metric reads: one view of a world, for the checker and the simulation alike.

A world here is anything with the checker's field names: ``db`` (a ``DbState``), ``queues`` (sequences of
jobs with a ``type``), ``slots`` (runs with a ``job``, or ``None`` for an idle worker), ``ghost`` (``((event,
key), count)`` pairs) and ``failed`` (jobs failed for good). ``model.specmodel.world.World`` is one, the
simulation's ``sim.specworld.SimWorld`` another, so a spec's properties and metrics read the same view in
both, and ``judge`` is their one verdict.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

from spec.errors import Unsupported
from spec.lang import Metric, Property, Scope
from spec.schema import Schema, Value

__all__ = ["View", "judge", "max_in_window", "measure"]


class View:
    """What a property reads: committed rows, ghost counts, the queues, runs, failed jobs, the scope.

    ``reads`` names the parts of the world read so far (``tables``, ``ghost``, ``queues``, ``slots``,
    ``failed``): a judgement's result depends on them alone, so the checker caches it on them
    (``model.specmodel.judged``)."""

    def __init__(self, world: Any, schema: Schema, scope: Scope) -> None:
        self._world, self._schema, self.scope = world, schema, scope
        self._counts: tuple[object, dict[tuple[str, tuple[Value, ...]], int]] | None = None
        self.reads: set[str] = set()

    def rows(self, table: str) -> list[dict[str, Value]]:
        """The committed rows of ``table``, in key order, as dicts."""
        t = self._schema.names.index(table) if table in self._schema.names else -1
        if t < 0:
            raise KeyError(f"no table {table!r} (tables: {list(self._schema.names)})")
        names = [c.name for c in self._schema.tables[t].columns]
        self.reads.add("tables")
        return [dict(zip(names, row, strict=True)) for row in self._world.db.tables[t]]

    def row(self, table: str, key: int) -> dict[str, Value] | None:
        spec = self._schema.tables[self._schema.names.index(table)]
        for row in self.rows(table):
            if row[spec.columns[spec.key].name] == key:
                return row
        return None

    def count(self, event: str, *key: Value) -> int:
        """How many times ``record(event, *key)`` happened (with no key: every key)."""
        self.reads.add("ghost")
        if not key:
            return sum(n for (e, _), n in self._world.ghost if e == event)
        ghost = self._world.ghost
        if self._counts is None or self._counts[0] is not ghost:  # one dict per ghost value: a simulated
            self._counts = (ghost, dict(ghost))                   # world's ghost changes under one view
        return self._counts[1].get((event, tuple(key)), 0)

    def queued(self, job: str | None = None) -> int:
        self.reads.add("queues")
        return sum(1 for q in self._world.queues for j in q if job is None or j.type == job)

    def running(self, job: str | None = None) -> int:
        self.reads.add("slots")
        return sum(1 for r in self._world.slots if r is not None and (job is None or r.job.type == job))

    def failed(self, job: str | None = None) -> int:
        self.reads.add("failed")
        return sum(1 for j in self._world.failed if job is None or j.type == job)

    @property
    def idle(self) -> bool:
        """No job queued or running."""
        return self.queued() == 0 and self.running() == 0


def judge(prop: Property, view: View) -> str | None:
    """The violation's detail, or None when ``prop``'s predicate holds in ``view``."""
    try:
        verdict = prop.check(view)
    except Exception as error:
        raise Unsupported(f"property {prop.name!r} raised {type(error).__name__}: {error}", prop.where) from None
    if verdict is True or verdict is None:
        return None
    if verdict is False:
        return prop.doc or f"{prop.name} is false"
    return str(verdict)


def measure(metric: Metric, view: Any) -> float:
    """The value of a spec's ``metric`` in ``view`` (a number; anything else is refused at its line): a view
    with a clock, the simulation's (``sim.specworld``) or a live run's (``live.specview``)."""
    try:
        value = metric.fn(view)
    except Exception as error:
        raise Unsupported(f"metric {metric.name!r} raised {type(error).__name__}: {error}", metric.where) from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Unsupported(f"metric {metric.name!r} gave {value!r}: a metric is a number", metric.where)
    return value


def max_in_window(times: Sequence[float], width: float = 1.0) -> int:
    """The most events in any window ``[t, t + width)`` of a run's time (``most_within`` of a metric's view)."""
    ordered = sorted(times)
    best = 0
    for i, t in enumerate(ordered):
        # events at t .. t + width, excluding t + width itself
        j = bisect_right(ordered, t + width - 1e-12, lo=i)
        best = max(best, j - i)
    return best
