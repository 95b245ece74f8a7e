"""What a spec's properties read in a live run, built from the real rows, the real queues and the events.

``LiveView`` answers what the model's ``View`` answers (``model/specmodel/world.py``), so a property
written for ``wavesim check`` is judged, unchanged, on a live run: ``rows``/``row`` are the committed rows
of the spec's tables as the database returns them (read under the prefix, by the spec's own table names),
``count`` the ghost records the workers wrote to the event log, ``queued``/``running`` the jobs ready or
delayed / reserved in the real queues, ``failed`` the jobs recorded as failed for good, ``idle`` no job
queued or running; for a spec's metrics, ``now``, ``times`` and ``most_within`` read the run's scenario
seconds and the event log's record lines, as the simulation's clock.

``judge`` runs a property's check on a view: True or None hold, False or a string (the detail) violate,
and an exception in the check is a violation whose detail names it (a row the check did not expect is a
finding about the run, not a crash of the harness).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from spec.lang import Property, Scope
from spec.view import max_in_window

__all__ = ["LiveView", "ghost_counts", "judge", "record_times"]


def ghost_counts(events: Iterable[Mapping[str, Any]]) -> Counter[tuple[str, tuple[Any, ...]]]:
    """The ``record`` lines of an event log as counts by (event, key)."""
    return Counter((str(e["event"]), tuple(e["key"])) for e in events if e.get("kind") == "record")


def record_times(events: Iterable[Mapping[str, Any]]) -> list[tuple[str, tuple[Any, ...], float]]:
    """The ``record`` lines of an event log as (event, key, scenario seconds), in the log's order."""
    return [(str(e["event"]), tuple(e["key"]), float(e["at_s"])) for e in events if e.get("kind") == "record"]


class LiveView:
    """One reading of a live run, as a property reads it."""

    def __init__(self, rows: Mapping[str, list[dict[str, Any]]], keys: Mapping[str, str],
                 ghost: Mapping[tuple[str, tuple[Any, ...]], int], jobs: Iterable[tuple[str, str]],
                 failed: Iterable[str], scope: Scope, *, now: float = 0.0,
                 records: Iterable[tuple[str, tuple[Any, ...], float]] = ()) -> None:
        self.tables, self._keys, self._ghost, self.scope = rows, keys, ghost, scope
        self._jobs = list(jobs)  # (job type, ready | delayed | reserved)
        self._failed = list(failed)
        self._now = now
        self._records = list(records)  # (event, key, scenario seconds) of each record line, in log order

    def rows(self, table: str) -> list[dict[str, Any]]:
        """The committed rows of ``table``, in key order, as dicts."""
        if table not in self.tables:
            raise KeyError(f"no table {table!r} (tables: {list(self.tables)})")
        return [dict(r) for r in self.tables[table]]

    def row(self, table: str, key: int) -> dict[str, Any] | None:
        for row in self.rows(table):
            if row[self._keys[table]] == key:
                return row
        return None

    def count(self, event: str, *key: Any) -> int:
        """How many times ``record(event, *key)`` happened (with no key: every key)."""
        return sum(n for (e, k), n in self._ghost.items() if e == event and (not key or k == tuple(key)))

    def queued(self, job: str | None = None) -> int:
        return sum(1 for name, state in self._jobs if state != "reserved" and job in (None, name))

    def running(self, job: str | None = None) -> int:
        return sum(1 for name, state in self._jobs if state == "reserved" and job in (None, name))

    def failed(self, job: str | None = None) -> int:
        return sum(1 for name in self._failed if job in (None, name))

    @property
    def idle(self) -> bool:
        """No job queued or running."""
        return not self._jobs

    # -- what a metric reads besides (the simulation's clock, here the run's scenario seconds) ----------------

    @property
    def now(self) -> float:
        """The run's time at this reading, in scenario seconds since it started."""
        return self._now

    def times(self, event: str, *key: Any) -> list[float]:
        """When each ``record(event, *key)`` was written (with no key: every key), in scenario seconds."""
        return [t for e, k, t in self._records if e == event and (not key or k == tuple(key))]

    def most_within(self, seconds: float, event: str, *key: Any) -> int:
        """The most ``record(event, *key)`` in any window of ``seconds`` (scenario seconds)."""
        return max_in_window(self.times(event, *key), seconds)


def judge(prop: Property, view: LiveView) -> str | None:
    """None when ``prop`` holds on ``view``; else the violation's detail."""
    try:
        verdict = prop.check(view)
    except Exception as error:  # noqa: BLE001 - the check met rows it did not expect: say so
        return f"the check raised {type(error).__name__}: {error}"
    if verdict is None or verdict is True:
        return None
    return verdict if isinstance(verdict, str) else prop.doc or "violated"
