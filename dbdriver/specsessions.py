"""Sessions on a spec's tables: one connection per session, each driven from its own thread.

A session sends one step at a time: ``"begin"`` (or ``("begin", level)``), ``"commit"``, ``"rollback"``,
or a SQLAlchemy statement naming the spec's tables (re-targeted by ``SpecDatabase.retarget``). A step
still running after the session's ``wait`` seconds is "blocked": its thread keeps waiting for the engine,
and ``settle`` collects it later. The engine's errors come back under the model's names
(``spec.DEADLOCK`` ...), so a step's ``Seen`` reads like the model's ``Outcome`` for it.

Transactions begin as the model assumes (docs/spec-sql.md): SQLite ``BEGIN IMMEDIATE``, so a second
writer's BEGIN waits (SQLite's busy timeout, 30 s, is long enough to see it wait); PostgreSQL
``BEGIN ISOLATION LEVEL ...`` with ``deadlock_timeout`` at 50 ms where the server allows it, so a
deadlock is reported before ``wait`` runs out; MariaDB ``SET TRANSACTION ISOLATION LEVEL ...`` then
``START TRANSACTION``. A statement outside a transaction runs at the sessions' level too, as the model runs
it: each connection sets it as its session's default (MariaDB's server default is REPEATABLE READ).
"""

from __future__ import annotations

import contextlib
import decimal
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa

import spec
from dbdriver.errors import DatabaseError, one_line
from spec.lang import Begin, Commit, Rollback
from spec.lease import GONE, owned_by

__all__ = ["BLOCKED", "DONE", "ERROR", "Seen", "Sessions", "error_kind", "in_transaction"]

DONE, BLOCKED, ERROR = "done", "blocked", "error"

#: per engine, spec's level name -> what begins a transaction at it (None: the engine's default level)
BEGIN: dict[str, dict[str | None, tuple[str, ...]]] = {
    "sqlite": {None: ("BEGIN IMMEDIATE",), spec.SERIAL: ("BEGIN IMMEDIATE",)},
    "postgresql": {None: ("BEGIN",), **{level: (f"BEGIN ISOLATION LEVEL {level}",)
                                        for level in (spec.READ_COMMITTED, spec.REPEATABLE_READ)}},
    "mysql": {None: ("START TRANSACTION",), **{level: (f"SET TRANSACTION ISOLATION LEVEL {level}", "START TRANSACTION")
                                               for level in (spec.READ_COMMITTED, spec.REPEATABLE_READ)}},
}
#: per engine, what makes a level the connection's default, for statements outside a transaction
SESSION_LEVEL = {"sqlite": None, "postgresql": "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL {}",
                 "mysql": "SET SESSION TRANSACTION ISOLATION LEVEL {}"}
#: per engine, run once on each session's connection; a server may refuse them (a user without the right)
SETUP = {"sqlite": (), "postgresql": ("SET deadlock_timeout = '50ms'",),
         "mysql": ("SET SESSION innodb_lock_wait_timeout = 30",)}


class Tables(Protocol):
    """What sessions need of the tables they run on (``dbdriver.specdb.SpecDatabase`` is one)."""

    engine: Any
    url: str  # as shown, without a password
    dialect: str

    def retarget(self, statement: Any) -> Any: ...

    def compiled(self, statement: Any) -> str: ...


@dataclass(frozen=True, slots=True)
class Seen:
    """What the engine did with one step by the time it was looked at: done, still blocked, or an error."""

    kind: str  # DONE, BLOCKED or ERROR
    rows: tuple[tuple[Any, ...], ...] = ()
    rowcount: int | None = None  # for a statement; None for begin, commit and rollback
    error: str | None = None  # the model's name for the error (spec.DEADLOCK ...), None when it has none
    message: str = ""  # the engine's own words for the error, one line

    @property
    def blocked(self) -> bool:
        return self.kind == BLOCKED


def error_kind(err: BaseException) -> str | None:
    """The model's name (``spec.errors``) for an engine error; None for an error the model does not raise."""
    orig = getattr(err, "orig", err)
    text = str(orig).lower()
    code = getattr(orig, "sqlstate", None)
    args = getattr(orig, "args", ())
    errno = args[0] if args and isinstance(args[0], int) else None
    if code == "40P01" or errno == 1213 or "deadlock" in text:
        return spec.DEADLOCK
    if code == "23505" or errno == 1062 or "unique constraint" in text or "duplicate" in text:
        return spec.DUPLICATE_KEY
    if code == "23502" or errno == 1048 or "not null" in text or "cannot be null" in text:
        return spec.NOT_NULL
    if code == "55P03" or errno == 1205:  # MariaDB's NOWAIT reports its lock wait timeout, as PostgreSQL's does
        return spec.LOCK_NOT_AVAILABLE
    return None


def normal(value: Any) -> Any:
    """A value as the model holds it: a whole Decimal (PostgreSQL's and MariaDB's SUM) is an int."""
    if isinstance(value, decimal.Decimal) and value == int(value):
        return int(value)
    return value


def in_transaction(conn: sa.Connection) -> bool:
    """Whether the driver says ``conn`` has a transaction open (the engines' own flag: SQLAlchemy does not
    see the BEGIN a session sends as driver SQL)."""
    dbapi: Any = conn.connection.dbapi_connection
    status = getattr(getattr(dbapi, "info", None), "transaction_status", None)
    if status is not None:  # psycopg: 0 is idle
        return int(status) != 0
    if hasattr(dbapi, "server_status"):  # PyMySQL: the server's SERVER_STATUS_IN_TRANS flag
        return bool(int(dbapi.server_status) & 1)
    return bool(getattr(dbapi, "in_transaction", False))  # sqlite3


def _run(conn: sa.Connection, work: Any) -> tuple[tuple[tuple[Any, ...], ...], int | None]:
    if isinstance(work, tuple):  # begin / commit / rollback: the driver's own SQL, which SQLAlchemy does not track
        for line in work:
            conn.exec_driver_sql(line)
        return (), None
    result = conn.execute(work)
    rowcount = result.rowcount  # before the rows are read: psycopg forgets it once the cursor is closed
    rows = tuple(tuple(normal(v) for v in r) for r in result.all()) if result.returns_rows else ()
    return rows, rowcount


class Sessions:
    """``n`` sessions on a ``SpecDatabase``; a context manager that rolls back and closes them all."""

    def __init__(self, db: Tables, n: int, level: str | None, wait: float) -> None:
        self.db, self.wait = db, wait
        self.level = self._check_level(level)
        self.pools = [ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"session{s}") for s in range(n)]
        self.futures: list[Future[Any] | None] = [None] * n
        self.conns: list[sa.Connection] = []
        try:
            for pool in self.pools:
                self.conns.append(pool.submit(self._connect).result())
        except BaseException:
            self.close()
            raise

    def _connect(self) -> sa.Connection:
        try:
            conn: sa.Connection = self.db.engine.connect()
        except sa.exc.DBAPIError as err:
            raise DatabaseError(one_line(err, self.db.url)) from None
        for line in SETUP[self.db.dialect]:
            with contextlib.suppress(sa.exc.DBAPIError):  # refused: deadlocks show after the server's own timeout
                conn.exec_driver_sql(line)
        template = SESSION_LEVEL[self.db.dialect]
        if template is not None and self.level is not None:
            conn.exec_driver_sql(template.format(self.level))
        return conn

    def _check_level(self, level: str | None) -> str | None:
        levels = BEGIN[self.db.dialect]
        if level not in levels:
            raise DatabaseError(f"isolation level {level!r} on {self.db.dialect}: use one of "
                                f"{', '.join(repr(k) for k in levels if k is not None)}")
        return level

    def __enter__(self) -> Sessions:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self.pools)

    # -- steps ----------------------------------------------------------------------------------------------

    def _work(self, op: Any, session: int = GONE) -> Any:
        """What a session thread runs for ``op``: a tuple of driver SQL lines, or a re-targeted statement. A
        lease it takes is owned by ``session``'s number, as in the checker's trace, and a lease it reads has
        a length of 0 s: every lease taken has run out, the checker's default reading (``spec/lease.py``)."""
        if isinstance(op, sa.sql.ClauseElement):  # first: a statement's == builds SQL
            return self.db.retarget(owned_by(op, session, scale=0.0))
        if op == "begin" or isinstance(op, Begin):
            return BEGIN[self.db.dialect][self._check_level(getattr(op, "level", None)) or self.level]
        if isinstance(op, tuple) and len(op) == 2 and op[0] == "begin":
            return BEGIN[self.db.dialect][self._check_level(op[1])]
        if op == "commit" or isinstance(op, Commit):
            return ("COMMIT",)
        if op == "rollback" or isinstance(op, Rollback):
            return ("ROLLBACK",)
        raise DatabaseError(f"not a step: {op!r} (\"begin\", (\"begin\", level), \"commit\", \"rollback\" "
                            "or a SQLAlchemy statement)")

    def sql(self, op: Any, session: int = GONE) -> str:
        """The SQL the engine runs for ``op``, parameters bound as literals (for showing a counterexample)."""
        work = self._work(op, session)
        return "; ".join(work) if isinstance(work, tuple) else self.db.compiled(owned_by(op, session, scale=0.0))

    def submit(self, session: int, op: Any) -> None:
        """Send ``op`` on ``session`` without waiting for it (``settle`` collects it)."""
        if self.futures[session] is not None:
            raise DatabaseError(f"session {session} is still running its last step: settle it first")
        work = self._work(op, session)
        self.futures[session] = self.pools[session].submit(_run, self.conns[session], work)

    def run(self, session: int, op: Any) -> Seen:
        """Send ``op`` on ``session`` and look at it after ``wait`` seconds."""
        self.submit(session, op)
        return self.settle(session, self.wait)

    def settle(self, session: int, timeout: float) -> Seen:
        """Wait up to ``timeout`` seconds for ``session``'s step: done, an error, or still blocked."""
        future = self.futures[session]
        if future is None:
            raise DatabaseError(f"session {session} has no step running")
        try:
            rows, rowcount = future.result(timeout=timeout)
        except FutureTimeout:
            return Seen(BLOCKED)  # kept: a later settle collects it
        except sa.exc.DBAPIError as err:
            self.futures[session] = None
            return Seen(ERROR, error=error_kind(err), message=one_line(err, self.db.url))
        except BaseException:
            self.futures[session] = None
            raise
        self.futures[session] = None
        return Seen(DONE, rows, rowcount)

    def busy(self, session: int) -> bool:
        """True while ``session`` has a step that has not been collected."""
        return self.futures[session] is not None

    def in_transaction(self, session: int) -> bool:
        """Whether the driver says ``session`` has a transaction open."""
        return self.pools[session].submit(in_transaction, self.conns[session]).result()

    # -- the end ----------------------------------------------------------------------------------------

    def release(self, timeout: float = 30.0) -> None:
        """Roll every session back, the idle ones first, so that blocked ones return and are rolled back."""
        deadline = time.monotonic() + timeout
        while True:
            for s, future in enumerate(self.futures):
                if future is not None and not future.done():
                    continue
                self.futures[s] = None  # what it did no longer matters
                with contextlib.suppress(sa.exc.DBAPIError):  # no transaction was open
                    self.pools[s].submit(self.conns[s].exec_driver_sql, "ROLLBACK").result()
            stuck = [s for s, f in enumerate(self.futures) if f is not None]
            if not stuck:
                return
            if time.monotonic() > deadline:
                raise DatabaseError(f"database {self.db.url}: sessions {stuck} still wait after every other "
                                    "session rolled back (a lock held outside these sessions?)")
            time.sleep(0.05)

    def close(self) -> None:
        """Roll back and close every session's connection; a session still blocked is left to its thread."""
        try:
            if len(self.conns) == len(self.pools):
                self.release()
        finally:
            for s, pool in enumerate(self.pools):
                idle = self.futures[s] is None
                if idle and s < len(self.conns):
                    pool.submit(self.conns[s].close).result()
                pool.shutdown(wait=idle)
