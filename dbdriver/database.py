"""Open a database by URL, own wavesim's tables in it, and hand out sessions.

Ownership: wavesim creates its tables under a prefix (``wavesim_`` by
default), the first of them ``<prefix>owner`` holding one marker row
``('wavesim', <token>)``. A prefix whose tables exist without that marker was
not created by wavesim: it is refused, never written, altered or dropped.
``clean()`` drops the prefix's tables only after reading the marker.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from coordinator import WaveTable, new_import
from coordinator import sql as q
from dbdriver.errors import DatabaseError, one_line
from dbdriver.operations import Session, rows_to_waves

__all__ = ["PREFIX_RULE", "Database", "Session", "open_database"]

#: URL schemes (dialect+driver) wavesim runs on, and the Python package each needs
DRIVERS = {"sqlite": "sqlite3", "sqlite+pysqlite": "sqlite3", "postgresql+psycopg": "psycopg",
           "mysql+pymysql": "pymysql"}

_PREFIX = re.compile(r"wavesim_[a-z0-9_]{0,40}")
#: the rule ``_PREFIX`` keeps, in words (the refusal and each ``--prefix`` help say it): a prefix of wavesim's
#: own, so that the tables it creates and drops never share a name with a user's
PREFIX_RULE = "must start with 'wavesim_' and go on with at most 40 of a-z, 0-9 and _"


def _sa() -> Any:
    try:
        import sqlalchemy
    except ModuleNotFoundError:
        raise DatabaseError("the database driver needs SQLAlchemy: pip install sqlalchemy") from None
    return sqlalchemy


def _engine(url: str, **options: Any) -> Any:
    """A validated URL's engine (autocommit: callers open transactions themselves) and its shown form;
    ``options`` go to ``create_engine``."""
    sa = _sa()
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        raise DatabaseError(f"not a database URL: {url!r} (e.g. sqlite:///wavesim.db, "
                            "postgresql+psycopg://user@host/db, mysql+pymysql://user@host/db)") from None
    shown = parsed.render_as_string(hide_password=True)
    if parsed.drivername not in DRIVERS:
        raise DatabaseError(f"database {shown}: unsupported scheme {parsed.drivername!r}; use one of "
                            f"{', '.join(sorted(DRIVERS))}")
    module = DRIVERS[parsed.drivername]
    try:
        __import__(module)
    except ModuleNotFoundError:
        raise DatabaseError(f"database {shown}: the Python driver {module!r} is not installed "
                            f"(pip install {module})") from None
    if parsed.drivername.startswith("sqlite") and parsed.database in (None, "", ":memory:"):
        raise DatabaseError(f"database {shown}: give a file, e.g. sqlite:///wavesim.db "
                            "(an in-memory SQLite database is one per connection)")
    args: dict[str, object] = {}
    if parsed.drivername.startswith("sqlite"):
        args = {"timeout": 30}
    elif parsed.drivername.startswith("postgresql"):
        args = {"connect_timeout": 10}
    else:
        args = {"connect_timeout": 10}
    try:
        return sa.create_engine(parsed, isolation_level="AUTOCOMMIT", connect_args=args, pool_pre_ping=True,
                                **options), shown
    except Exception as err:  # an argument the dialect refuses
        raise DatabaseError(one_line(err, shown)) from None


@contextmanager
def connection(engine: Any, url: str) -> Iterator[Any]:
    """One connection of ``engine``; what the database refuses becomes a one-line ``DatabaseError``."""
    sa = _sa()
    try:
        conn = engine.connect()
    except sa.exc.DBAPIError as err:
        raise DatabaseError(one_line(err, url)) from None
    try:
        yield conn
    except sa.exc.DBAPIError as err:
        raise DatabaseError(one_line(err, url)) from None
    finally:
        conn.close()


def check_prefix(prefix: str) -> str:
    if not _PREFIX.fullmatch(prefix):
        raise DatabaseError(f"table prefix {prefix!r} {PREFIX_RULE}")
    return prefix


def owned(conn: Any, prefix: str, present: set[str], url: str) -> bool:
    """True when ``prefix`` holds wavesim's marker; False when none of ``present`` (the tables found under
    the prefix) exists; a DatabaseError when they exist without the marker (someone else's tables)."""
    sa = _sa()
    if not present:
        return False
    owner = prefix + "owner"
    if owner not in present:
        raise DatabaseError(f"database {url}: table {sorted(present)[0]} exists but has no {owner} marker: "
                            "wavesim did not create it and will not write to it (choose another prefix)")
    rows = conn.execute(sa.text(q.statement("owner_read", conn.dialect.name, prefix))).all()
    if len(rows) != 1 or rows[0][0] != "wavesim":
        raise DatabaseError(f"database {url}: {owner} does not hold wavesim's marker row: "
                            "wavesim did not create these tables and will not write to them")
    return True


def mark(conn: Any, dialect: str, prefix: str) -> None:
    """Create ``<prefix>owner`` with wavesim's marker row: the prefix is wavesim's from now on."""
    sa = _sa()
    conn.execute(sa.text(q.SCHEMA[dialect][0].replace("{p}", prefix)))
    conn.execute(sa.text(q.statement("owner_write", dialect, prefix)), {"token": secrets.token_hex(16)})


class Database:
    """An opened database with wavesim's tables (see ``open_database``)."""

    def __init__(self, engine: Any, shown: str, prefix: str) -> None:
        self.engine = engine
        self.url = shown
        self.prefix = prefix
        self.dialect: str = engine.dialect.name

    def sql(self, name: str) -> str:
        return q.statement(name, self.dialect, self.prefix)

    def _connection(self) -> AbstractContextManager[Any]:
        return connection(self.engine, self.url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One connection, for one handler run; statements autocommit unless an operation is a transaction."""
        with self._connection() as conn:
            yield Session(conn, self.dialect, self.prefix)

    def _tables(self, conn: Any) -> set[str]:
        names = _sa().inspect(conn).get_table_names()
        return {n for n in names if n.lower() in {self.prefix + t for t in q.TABLES}}

    def _owned(self, conn: Any) -> bool:
        """True when the prefix holds wavesim's marker; a DatabaseError when its tables are someone else's."""
        return owned(conn, self.prefix, self._tables(conn), self.url)

    def _create(self) -> None:
        sa = _sa()
        with self._connection() as conn:
            owned = self._owned(conn)
            present = self._tables(conn)
            if not owned:
                mark(conn, self.dialect, self.prefix)
                present = self._tables(conn)
            created = set()
            for ddl in q.SCHEMA[self.dialect][1:]:
                text = ddl.replace("{p}", self.prefix)
                words = text.split()
                if words[1] == "TABLE" and words[2] not in present:
                    conn.execute(sa.text(text))
                    created.add(words[2])
                elif words[1] == "INDEX" and words[4] in created:  # an index goes with its new table
                    conn.execute(sa.text(text))

    def create_import(self, *, job_id: int, waves: int, wave_size: int) -> None:
        """``createMainRecordTypeWaves()``: every main wave of a new import, pending."""
        table = new_import(job_id=job_id, waves=waves, wave_size=wave_size)  # its checks, its WaveError
        sa = _sa()
        with self._connection() as conn:
            if conn.execute(sa.text(self.sql("wave_exists")), {"job_id": job_id}).scalar():
                raise DatabaseError(f"database {self.url}: import {job_id} already exists in "
                                    f"{self.prefix}wave_coordination")
            conn.execute(sa.text(self.sql("create_wave")), [
                {"job_id": job_id, "wave": r.wave_number, "batches": r.batches} for r in table.rows
            ])

    def next_job_id(self) -> int:
        """A job id no import in these tables has yet."""
        sa = _sa()
        with self._connection() as conn:
            return int(conn.execute(sa.text(self.sql("max_job"))).scalar() or 0) + 1

    def table(self, job_id: int) -> WaveTable:
        """The import's real rows, read back as a ``WaveTable`` (violations are not stored: always empty)."""
        sa = _sa()
        with self._connection() as conn:
            rows = conn.execute(sa.text(self.sql("read_table")), {"job_id": job_id}).all()
        return WaveTable(job_id=job_id, rows=tuple(rows_to_waves(job_id, rows)))

    def owners_told(self, job_id: int) -> dict[int, list[str]]:
        """Per wave, the handler runs told they own it, in the order told (the ``claims`` record)."""
        sa = _sa()
        with self._connection() as conn:
            rows = conn.execute(sa.text(self.sql("read_owners_told")), {"job_id": job_id}).all()
        told: dict[int, list[str]] = {}
        for wave, run in rows:
            told.setdefault(int(wave), []).append(str(run))
        return told

    def clean(self) -> None:
        """Drop wavesim's tables under this prefix (the marker last); nothing else."""
        sa = _sa()
        with self._connection() as conn:
            if not self._owned(conn):
                return
            present = self._tables(conn)
            for name in reversed(q.TABLES):
                if self.prefix + name in present:
                    conn.execute(sa.text(f"DROP TABLE {self.prefix}{name}"))

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(url: str = "sqlite:///wavesim.db", *, prefix: str = "wavesim_") -> Database:
    """Validate ``url``, connect, and create (or find) wavesim's own tables under ``prefix``."""
    check_prefix(prefix)
    engine, shown = _engine(url)
    db = Database(engine, shown, prefix)
    try:
        db._create()
    except DatabaseError:
        engine.dispose()
        raise
    return db
