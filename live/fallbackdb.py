"""A stand-in for ``dbdriver`` with the same API, used only when it is not installed.

It keeps one import's whole wave table as one JSON row and runs each effect
as one transaction: lock the row, ``coordinator.apply``, write it back. Every
effect is then one atomic step on a real database, which is exactly the model's
granularity, so races *between* a handler's steps are real; what it cannot show
is an engine's own behaviour inside a statement (snapshots, row locks, affected
row counts). ``live.db.open_database`` prefers ``dbdriver`` whenever it imports.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from coordinator import Effect, LifecycleViolation, Status, WaveRow, WaveTable, apply, new_import
from live.engine import make_engine, reading

__all__ = ["FallbackDatabase"]


def _encode(table: WaveTable) -> str:
    rows = [{"wave_number": r.wave_number, "status": r.status.value, "batches": r.batches,
             "completed_batches": r.completed_batches, "failed_batches": r.failed_batches,
             "finished_mask": r.finished_mask, "dispatch_count": r.dispatch_count,
             "dispatched_at": r.dispatched_at, "completed_at": r.completed_at} for r in table.rows]
    violations = [{"wave": v.wave, "old": v.old.value, "new": v.new.value, "at": v.at} for v in table.violations]
    return json.dumps({"rows": rows, "violations": violations})


def _decode(job_id: int, text: str) -> WaveTable:
    data = json.loads(text)
    rows = tuple(WaveRow(job_id=job_id, **{**r, "status": Status(r["status"])}) for r in data["rows"])
    violations = tuple(LifecycleViolation(wave=v["wave"], old=Status(v["old"]), new=Status(v["new"]), at=v["at"])
                       for v in data["violations"])
    return WaveTable(job_id=job_id, rows=rows, violations=violations)


class _Session:
    def __init__(self, db: FallbackDatabase, conn: sa.Connection) -> None:
        self.db, self.conn = db, conn

    def apply(self, effect: Effect, now: float) -> object:
        t = self.db.imports
        with self.conn.begin():
            query = sa.select(t.c.state).where(t.c.job_id == effect.job_id)
            if self.db.dialect != "sqlite":
                query = query.with_for_update()
            text = self.conn.execute(query).scalar_one()
            before = _decode(effect.job_id, text)
            after, result = apply(before, effect, now)
            if after is not before:
                self.conn.execute(t.update().where(t.c.job_id == effect.job_id).values(state=_encode(after)))
        return result


class FallbackDatabase:
    """``open_database``'s result when ``dbdriver`` is missing (see the module docstring)."""

    def __init__(self, url: str, prefix: str = "wavesim_") -> None:
        self.url = url
        self.engine = make_engine(url)
        self.dialect = self.engine.dialect.name
        self.metadata = sa.MetaData()
        self.imports = sa.Table(f"{prefix}live_fallback_imports", self.metadata,
                                sa.Column("job_id", sa.BigInteger, primary_key=True, autoincrement=False),
                                sa.Column("state", sa.Text, nullable=False))
        self.metadata.create_all(self.engine, checkfirst=True)

    def create_import(self, *, job_id: int, waves: int, wave_size: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(self.imports.delete().where(self.imports.c.job_id == job_id))
            conn.execute(self.imports.insert(), [{"job_id": job_id, "state": _encode(
                new_import(job_id=job_id, waves=waves, wave_size=wave_size))}])

    @contextmanager
    def session(self) -> Iterator[_Session]:
        with self.engine.connect() as conn:
            yield _Session(self, conn)

    def table(self, job_id: int) -> WaveTable:
        with reading(self.engine) as conn:
            text = conn.execute(sa.select(self.imports.c.state).where(self.imports.c.job_id == job_id)).scalar_one()
        return _decode(job_id, text)

    def lock_rows(self, conn: sa.Connection, job_id: int) -> None:
        """Take the write lock on one import's row inside ``conn``'s open transaction."""
        query = sa.select(self.imports.c.job_id).where(self.imports.c.job_id == job_id)
        if self.dialect != "sqlite":
            query = query.with_for_update()
        conn.execute(query).all()

    def forget(self, job_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(self.imports.delete().where(self.imports.c.job_id == job_id))

    def clean(self) -> None:
        self.metadata.drop_all(self.engine, checkfirst=True)

    def close(self) -> None:
        self.engine.dispose()

    def info(self) -> dict[str, Any]:
        return {"driver": "live.fallbackdb (dbdriver not installed)"}
