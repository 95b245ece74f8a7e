"""The database queue, with the semantics of Laravel's ``DatabaseQueue``.

What it does, statement by statement, as ``Illuminate/Queue/DatabaseQueue.php``:

* **push / bulk**: ``INSERT`` rows with ``attempts = 0``, ``reserved_at = NULL``,
  ``available_at = now + delay`` (``later`` is a push with a delay: a delayed job).
* **pop**: in one transaction, ``SELECT ... WHERE queue = ? AND ((reserved_at IS NULL
  AND available_at <= now) OR reserved_at <= now - retry_after) ORDER BY id LIMIT 1
  FOR UPDATE SKIP LOCKED`` (a plain ``FOR UPDATE`` where the engine lacks SKIP
  LOCKED; on SQLite the IMMEDIATE transaction), then ``UPDATE ... SET reserved_at =
  now, attempts = attempts + 1``. So a reservation that outlives ``retry_after`` is
  handed out again: that is the queue's redelivery, and a job can run twice.
* **delete** (``deleteReserved``): lock the row, delete it; a job already deleted
  by its other delivery is a no-op.
* **release** (``deleteAndRelease``): delete the row and insert it again with its
  attempts and a delay.

``push_wave`` writes the dispatch log row in the same transaction as the jobs,
so the log is exact for this queue. ``hook`` is called between the pop's
SELECT and its UPDATE: the fault schedule kills a worker there, inside an open
transaction.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from live.db import DB_ERRORS
from live.engine import make_engine, reading, skip_locked
from live.tables import LiveTables

__all__ = ["DatabaseQueue", "Reserved", "dumps"]


def dumps(payload: dict[str, Any]) -> str:
    """Payloads as compact JSON with sorted keys (so a LIKE can find the kind)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Reserved:
    """A job as a worker reserved it: its payload, attempts so far and queue handle."""

    payload: dict[str, Any]
    attempts: int
    handle: Any


class DatabaseQueue:
    """One process's view of the database queue ``name``."""

    kind = "database"

    def __init__(self, url: str, name: str, *, retry_after: float, tables: LiveTables | None = None) -> None:
        self.url, self.name, self.retry_after = url, name, retry_after
        self.t = tables or LiveTables()
        self.engine = make_engine(url)
        self._lock = skip_locked(url)

    def close(self) -> None:
        self.engine.dispose()

    def _row(self, payload: dict[str, Any], now: float, delay: float, attempts: int = 0) -> dict[str, Any]:
        return {"queue": self.name, "payload": dumps(payload), "attempts": attempts, "reserved_at": None,
                "available_at": now + delay, "created_at": now}

    def push_wave(self, payloads: list[dict[str, Any]], log: dict[str, Any] | None) -> None:
        """``bulk()``: insert the jobs; with ``log``, the dispatch log row in the same transaction."""
        now = time.time()
        with self.engine.begin() as conn:
            conn.execute(self.t.jobs.insert(), [self._row(p, now, 0.0) for p in payloads])
            if log is not None:
                conn.execute(self.t.dispatch_log.insert(), [log])

    def later(self, payload: dict[str, Any], delay: float) -> None:
        """``later()``: a delayed job, available ``delay`` seconds from now."""
        with self.engine.begin() as conn:
            conn.execute(self.t.jobs.insert(), [self._row(payload, time.time(), delay)])

    def pop(self, hook: Callable[[], None] | None = None) -> Reserved | None:
        """Reserve the next available (or expired) job, or None."""
        jobs = self.t.jobs
        now = time.time()
        query = (
            sa.select(jobs.c.id, jobs.c.payload, jobs.c.attempts)
            .where(jobs.c.queue == self.name)
            .where(sa.or_(sa.and_(jobs.c.reserved_at.is_(None), jobs.c.available_at <= now),
                          jobs.c.reserved_at <= now - self.retry_after))
            .order_by(jobs.c.id).limit(1)
        )
        if self._lock:
            query = query.with_for_update(skip_locked=True)
        with self.engine.begin() as conn:
            row = conn.execute(query).first()
            if row is None:
                return None
            if hook is not None:
                hook()
            conn.execute(jobs.update().where(jobs.c.id == row.id)
                         .values(reserved_at=now, attempts=row.attempts + 1))
        return Reserved(payload=json.loads(row.payload), attempts=row.attempts + 1, handle=row.id)

    def delete(self, job: Reserved) -> None:
        """``deleteReserved()``."""
        jobs = self.t.jobs
        with self.engine.begin() as conn:
            found = conn.execute(sa.select(jobs.c.id).where(jobs.c.id == job.handle).with_for_update()).first()
            if found is not None:
                conn.execute(jobs.delete().where(jobs.c.id == job.handle))

    def release(self, job: Reserved, delay: float) -> None:
        """``deleteAndRelease()``: back on the queue with its attempts, after ``delay``."""
        jobs = self.t.jobs
        with self.engine.begin() as conn:
            conn.execute(jobs.delete().where(jobs.c.id == job.handle))
            conn.execute(jobs.insert(), [self._row(job.payload, time.time(), delay, job.attempts)])

    def retry(self, job: Reserved, payload: dict[str, Any], delay: float) -> None:
        """``release`` with a new payload (a spec's job carries its try count): one transaction."""
        self.release(Reserved(payload=payload, attempts=job.attempts, handle=job.handle), delay)

    # -- what the monitor, the supervisor and the chaos process read and do -------------------
    def snapshot(self) -> list[tuple[dict[str, Any], str]]:
        """Every job of the queue and its state: ``ready``, ``delayed`` or ``reserved``."""
        jobs = self.t.jobs
        now = time.time()
        with reading(self.engine) as conn:
            rows = conn.execute(sa.select(jobs.c.payload, jobs.c.reserved_at, jobs.c.available_at)
                                .where(jobs.c.queue == self.name).order_by(jobs.c.id)).all()
        return [(json.loads(r.payload), "reserved" if r.reserved_at is not None
                 else "delayed" if r.available_at > now else "ready") for r in rows]

    def counts(self) -> tuple[int, int]:
        """(ready batch jobs, all jobs: ready, delayed and reserved)."""
        jobs = self.t.jobs
        now = time.time()
        ready = sa.and_(jobs.c.reserved_at.is_(None), jobs.c.available_at <= now,
                        jobs.c.payload.like('%"kind":"batch"%'))
        with reading(self.engine) as conn:
            row = conn.execute(
                sa.select(sa.func.count(), sa.func.sum(sa.case((ready, 1), else_=0)))
                .where(jobs.c.queue == self.name)
            ).one()
        return int(row[1] or 0), int(row[0])

    def delayed(self) -> list[tuple[Any, dict[str, Any]]]:
        """The delayed jobs not yet due: (handle, payload)."""
        jobs = self.t.jobs
        with reading(self.engine) as conn:
            rows = conn.execute(sa.select(jobs.c.id, jobs.c.payload).where(jobs.c.queue == self.name)
                                .where(jobs.c.reserved_at.is_(None))
                                .where(jobs.c.available_at > time.time())).all()
        return [(r.id, json.loads(r.payload)) for r in rows]

    def remove(self, handle: Any) -> bool:
        """Delete one job outright (a lost job); True if it was there."""
        with self.engine.begin() as conn:
            return bool(conn.execute(self.t.jobs.delete().where(self.t.jobs.c.id == handle)).rowcount)

    def reserved(self) -> list[tuple[Any, dict[str, Any]]]:
        jobs = self.t.jobs
        with reading(self.engine) as conn:
            rows = conn.execute(sa.select(jobs.c.id, jobs.c.payload).where(jobs.c.queue == self.name)
                                .where(jobs.c.reserved_at.is_not(None))).all()
        return [(r.id, json.loads(r.payload)) for r in rows]

    def expire(self, handle: Any) -> bool:
        """Make a reservation look older than ``retry_after``, so the job is delivered again."""
        jobs = self.t.jobs
        with self.engine.begin() as conn:
            done = conn.execute(jobs.update().where(jobs.c.id == handle).where(jobs.c.reserved_at.is_not(None))
                                .values(reserved_at=time.time() - self.retry_after - 1.0))
            return bool(done.rowcount)

    def dispatch_log_rows(self) -> list[dict[str, Any]]:
        """Nothing to copy: on this queue the log rows are written with the push."""
        return []

    def clear(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(self.t.jobs.delete().where(self.t.jobs.c.queue == self.name))


POLL_S = 0.002  # wall seconds between pops of an empty queue


def reserved_jobs(queue: Any, in_pop: Callable[[], None], going: Callable[[], bool]) -> Iterator[Reserved]:
    """A worker's loop over its queue (database or Redis): each job it reserves, while ``going()``; an empty
    queue or a failed pop is polled again after ``POLL_S``."""
    while going():
        try:
            job = queue.pop(hook=in_pop)
        except DB_ERRORS:
            job = None
        if job is None:
            time.sleep(POLL_S)
            continue
        yield job
