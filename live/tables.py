"""The live harness's own tables, under the prefix ``wavesim_live_``.

* ``jobs``: the database queue, with the columns of Laravel's ``jobs`` table
  (``queue, payload, attempts, reserved_at, available_at, created_at``). One
  deliberate difference: times are seconds as a float, not whole seconds,
  because a live run scales its times down (a 90 s ``retry_after`` is 1.8 s).
* ``dispatch_log``: who pushed which wave's batch jobs, and when: one row per
  push, written in the same transaction as the jobs on the database queue
  (with Redis, copied from the Redis log at the end of the run).
* ``samples``: the monitor's readings of the real wave table and queue.
* ``faults``: every fault injected, as it was decided (a copy of the fault log).
* ``events``: a live run of a spec (``live/specrun.py``): its ghost records (``record(...)``), the jobs
  that failed for good and every delivery a worker took (a copy of the run's event log).

How we tell our tables from anyone else's: a table with one of these names is
ours only if its columns are exactly ours; otherwise the run refuses to start
and never writes to it or drops it.

``Prefixes``: every name a live run gives its tables and keys comes from one base (``wavesim live
--prefix``, ``BASE`` by default), so that two users can share a database, each under a base of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

__all__ = ["BASE", "PREFIX", "LiveTables", "Prefixes", "TableClash"]

#: the default base of every live run's names (``--prefix``)
BASE = "wavesim_"


@dataclass(frozen=True, slots=True)
class Prefixes:
    """The names under one base: the write-up's import's tables (``dbdriver``) under the base itself, the
    harness's tables under ``live_``, a spec's tables under ``livespec_``, the Redis queue's keys under
    ``live:``. The base is checked where it is given (``dbdriver.database.check_prefix``: ``wavesim_...``)."""

    base: str = BASE

    @property
    def live(self) -> str:
        return self.base + "live_"

    @property
    def spec(self) -> str:
        return self.base + "livespec_"

    @property
    def redis(self) -> str:
        return self.base + "live:"


PREFIX = Prefixes().live


def _log_table(m: sa.MetaData, name: str) -> sa.Table:
    """A log of one run's lines (a fault injected, a spec's ``record``): when, what kind, what."""
    return sa.Table(
        name, m,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("run", sa.String(64), nullable=False),
        sa.Column("at_s", sa.Float(precision=53), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Index(f"{name}_run_index", "run"),
    )


class TableClash(Exception):
    """A table with one of our names exists and is not ours."""


class LiveTables:
    """The table objects, bound to one name prefix."""

    def __init__(self, prefix: str = PREFIX) -> None:
        self.prefix = prefix
        self.metadata = sa.MetaData()
        m = self.metadata
        self.jobs = sa.Table(
            f"{prefix}jobs", m,
            sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                      autoincrement=True),
            sa.Column("queue", sa.String(191), nullable=False),
            sa.Column("payload", sa.Text, nullable=False),
            sa.Column("attempts", sa.Integer, nullable=False),
            sa.Column("reserved_at", sa.Float(precision=53), nullable=True),
            sa.Column("available_at", sa.Float(precision=53), nullable=False),
            sa.Column("created_at", sa.Float(precision=53), nullable=False),
            sa.Index(f"{prefix}jobs_queue_index", "queue"),
        )
        self.dispatch_log = sa.Table(
            f"{prefix}dispatch_log", m,
            sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                      autoincrement=True),
            sa.Column("run", sa.String(64), nullable=False),
            sa.Column("job_id", sa.BigInteger, nullable=False),
            sa.Column("wave", sa.Integer, nullable=False),
            sa.Column("jobs", sa.Integer, nullable=False),
            sa.Column("actor", sa.String(191), nullable=False),
            sa.Column("pid", sa.Integer, nullable=False),
            sa.Column("at_s", sa.Float(precision=53), nullable=False),
            sa.Index(f"{prefix}dispatch_log_run_index", "run"),
        )
        self.samples = sa.Table(
            f"{prefix}samples", m,
            sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                      autoincrement=True),
            sa.Column("run", sa.String(64), nullable=False),
            sa.Column("at_s", sa.Float(precision=53), nullable=False),
            sa.Column("ready_batches", sa.Integer, nullable=False),
            sa.Column("state", sa.Text, nullable=False),
            sa.Index(f"{prefix}samples_run_index", "run"),
        )
        self.faults = _log_table(m, f"{prefix}faults")
        self.events = _log_table(m, f"{prefix}events")

    @property
    def all(self) -> tuple[sa.Table, ...]:
        return (self.jobs, self.dispatch_log, self.samples, self.faults, self.events)

    def check_ownership(self, engine: Engine) -> None:
        """Raise ``TableClash`` when a table with one of our names is not ours."""
        inspector = sa.inspect(engine)
        existing = set(inspector.get_table_names())
        for table in self.all:
            if table.name in existing:
                have = {c["name"] for c in inspector.get_columns(table.name)}
                want = {c.name for c in table.columns}
                if have != want:
                    raise TableClash(
                        f"table {table.name} exists and is not wavesim's (columns {', '.join(sorted(have))}); "
                        "refusing to touch it")

    def create(self, engine: Engine) -> list[str]:
        """Create those of our tables that do not exist (after the ownership check); their names (so that a
        command drops only what it created)."""
        self.check_ownership(engine)
        existing = set(sa.inspect(engine).get_table_names())
        self.metadata.create_all(engine, checkfirst=True)
        return [t.name for t in self.all if t.name not in existing]

    def drop(self, engine: Engine) -> list[str]:
        """Drop those of our tables that exist (after the ownership check); their names."""
        self.check_ownership(engine)
        existing = set(sa.inspect(engine).get_table_names())
        ours = [t for t in self.all if t.name in existing]
        self.metadata.drop_all(engine, tables=ours, checkfirst=True)
        return [t.name for t in ours]

    def forget_run(self, engine: Engine, run: str, queue: str) -> None:
        """Delete one run's rows (its queue's jobs, log, samples, faults)."""
        with engine.begin() as conn:
            conn.execute(self.jobs.delete().where(self.jobs.c.queue == queue))
            for table in (self.dispatch_log, self.samples, self.faults, self.events):
                conn.execute(table.delete().where(table.c.run == run))
