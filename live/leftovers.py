"""What the live runs of one command leave behind, and taking it away when the command ends.

A live run of a spec writes the spec's tables under ``Prefixes.spec`` (with wavesim's owner marker,
``dbdriver.specdb``), the harness's tables under ``Prefixes.live`` (the database queue, the copies of the
event and fault logs), its queues (rows of the queue table, or Redis keys) and a folder of files: each
run's plan (every process reads it), event log, fault log and the processes' stderr.

``RunLeftovers`` is all of that for one command. It makes the one folder every run of the command writes in,
creates the harness's tables and remembers which of them it created. ``remove`` takes away what the runs
left, also after an interrupted run (the folder names every run, by its plan): each run's queues, the
spec's tables (``SpecDatabase.drop``: only after reading the marker, the marker last), the harness's tables
the command created, and the command's rows in those it found already there (never dropped: another
run's, or a kept one's), then the folder. ``keep_tables`` keeps the tables and ``keep_logs`` the folder.
For each thing kept, ``remove`` returns one line that says what was kept and how to remove it.

``clean`` is ``wavesim live --clean``: every table wavesim's live runs create under one base, each only
when it is wavesim's (the built-in import's and a spec's after reading the marker, the harness's by their
exact columns), and the Redis keys under the base.

``interrupt_on_termination`` turns SIGTERM and SIGHUP into the ``KeyboardInterrupt`` that Ctrl-C raises, so a
terminated command runs its ``finally`` and cleans up as an interrupted one does. A ``kill -9`` of the
command leaves everything: its processes end by themselves (they notice their parent went), ``--clean``
drops the tables, and the folder stays in the temporary folder.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from dbdriver.database import Database, _engine, connection, owned
from dbdriver.specdb import SpecDatabase
from live.db import DB_ERRORS
from live.engine import make_engine
from live.run import terminated
from live.specplan import SpecPlan
from live.tables import BASE, LiveTables, Prefixes

__all__ = ["RunLeftovers", "clean", "drop_spec_leftovers", "interrupt_on_termination"]


class RunLeftovers:
    """The folder, tables and queues of one command's live runs of a spec (see the module docstring)."""

    def __init__(self, db_url: str, base: str = BASE, *, keep_tables: bool = False, keep_logs: bool = False) -> None:
        self.db_url, self.names = db_url, Prefixes(base)
        self.keep_tables, self.keep_logs = keep_tables, keep_logs
        self.folder = Path(tempfile.mkdtemp(prefix="wavesim-live-"))
        self.created: list[str] = []  # the harness's tables this command created

    def create_tables(self) -> None:
        own = make_engine(self.db_url)
        try:
            self.created = LiveTables(self.names.live).create(own)
        finally:
            own.dispose()

    def plans(self) -> list[SpecPlan]:
        """Every run the command started, by the plan it wrote before it spawned anything."""
        return [SpecPlan.from_json(p.read_text(encoding="utf-8")) for p in sorted(self.folder.glob("*.plan.json"))]

    def remove(self, spec_db: SpecDatabase, shown_url: str) -> list[str]:
        """Take away what the runs left (see the module docstring); a line for each thing kept."""
        plans = self.plans() if self.folder.exists() else []
        for plan in plans:  # a run cut short did not clear its queues
            for name in plan.workers:
                with contextlib.suppress(*DB_ERRORS, OSError):
                    queue = plan.open_queue(name)
                    queue.clear()
                    queue.close()
        kept = []
        if self.keep_tables:
            harness = {t.name for t in LiveTables(self.names.live).all}
            shown = sorted(n for n in _tables(self.db_url) if n.startswith(self.names.spec) or n in harness)
            again = "" if self.names.base == BASE else f" --prefix {self.names.base}"
            kept.append(f"kept: tables {', '.join(shown)}; remove them with: wavesim live --db {shown_url} "
                        f"--clean{again}")
        else:
            spec_db.drop()
            self._drop_harness([p.run.run for p in plans])
        if self.keep_logs:
            kept.append(f"kept: the runs' logs in {self.folder}; remove them with: rm -r {self.folder}")
        else:
            shutil.rmtree(self.folder, ignore_errors=True)
        return kept

    def _drop_harness(self, runs: list[str]) -> None:
        """Drop the harness's tables this command created; delete its runs' rows from the others."""
        tables = LiveTables(self.names.live)
        own = make_engine(self.db_url)
        try:
            mine = [t for t in tables.all if t.name in self.created]
            if mine:
                tables.metadata.drop_all(own, tables=mine, checkfirst=True)
            present = set(sa.inspect(own).get_table_names())
            with own.begin() as conn:
                for table in (tables.events, tables.faults):
                    if table.name in present and table.name not in self.created and runs:
                        conn.execute(table.delete().where(table.c.run.in_(runs)))
        finally:
            own.dispose()


def _tables(db_url: str) -> set[str]:
    own = make_engine(db_url)
    try:
        return set(sa.inspect(own).get_table_names())
    finally:
        own.dispose()


def drop_spec_leftovers(conn: Any, prefix: str, shown: str) -> None:
    """Drop every table a spec's run left under ``prefix`` (``--keep-tables``, or a command killed), the
    owner marker last, after reading it there: a table under the prefix without it is refused
    (``DatabaseError``), never dropped."""
    present = {n for n in sa.inspect(conn).get_table_names() if n.lower().startswith(prefix)}
    if not owned(conn, prefix, present, shown):
        return
    marker = prefix + "owner"
    for name in sorted(present - {marker}) + [marker]:
        conn.execute(sa.text(f"DROP TABLE {name}"))


def clean(db_url: str, base: str = BASE, queue_url: str | None = None) -> list[str]:
    """``wavesim live --clean``: drop every table wavesim's live runs create under ``base``, each only once
    it is known to be wavesim's, and the Redis keys under it; what was dropped."""
    names = Prefixes(base)
    engine, shown = _engine(db_url)
    try:
        before = _tables(db_url)
        LiveTables(names.live).drop(engine)  # TableClash when a table of our names has other columns
        Database(engine, shown, base).clean()  # the write-up's import's tables, after reading the marker
        with connection(engine, shown) as conn:
            drop_spec_leftovers(conn, names.spec, shown)
        dropped = sorted(before - _tables(db_url))
    finally:
        engine.dispose()
    if queue_url is not None:
        from live.redisqueue import RedisQueue

        q = RedisQueue(queue_url, "any", retry_after=1.0, key_prefix=names.redis)
        dropped.append(f"{q.clean_all()} Redis keys")
        q.close()
    return dropped


@contextlib.contextmanager
def interrupt_on_termination() -> Iterator[None]:
    """SIGTERM and SIGHUP raise ``KeyboardInterrupt`` in the main thread while the block runs (elsewhere, as
    under a test's thread, nothing changes: only the main thread may set a handler)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, terminated) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
