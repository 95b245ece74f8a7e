"""The wave table's database, through ``dbdriver``, and what a live run adds to it.

``open_database`` is ``dbdriver.open_database``. ``DB_ERRORS`` are the
exceptions a step can raise when the database or the connection fails, which a
worker treats as a failed job (released and retried), never as a crash of the
harness. ``set_isolation`` and ``hold_lock`` are the two things a live run does
to a driver session that the driver does not offer itself.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy.exc

import dbdriver
from dbdriver import DatabaseError

__all__ = ["DB_ERRORS", "ISOLATION_LEVELS", "DatabaseError", "hold_lock", "open_database", "set_isolation"]

DB_ERRORS: tuple[type[BaseException], ...] = (DatabaseError, sqlalchemy.exc.DBAPIError,
                                              sqlalchemy.exc.InvalidRequestError, sqlalchemy.exc.ResourceClosedError)

#: the levels ``--isolation`` offers, by dialect; the first is what runs when none is asked for
ISOLATION_LEVELS = {
    "postgresql": ("READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"),
    "mysql": ("REPEATABLE READ", "READ COMMITTED", "SERIALIZABLE"),
    "sqlite": ("SERIALIZABLE",),
}


def open_database(url: str, prefix: str = "wavesim_") -> Any:
    return dbdriver.open_database(url, prefix=prefix)


def set_isolation(session: Any, level: str | None) -> None:
    """Make ``level`` this session's default isolation (PostgreSQL: ``SET SESSION
    CHARACTERISTICS``; MariaDB: ``SET SESSION TRANSACTION``). Every statement runs
    at it, autocommitted ones and the fix's transactions alike (on MariaDB the
    driver then no longer sets its own READ COMMITTED before each transaction)."""
    if level is None or session.dialect == "sqlite":
        return
    if session.dialect == "postgresql":
        session.conn.exec_driver_sql(f"SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL {level}")
    else:
        session.conn.exec_driver_sql(f"SET SESSION TRANSACTION ISOLATION LEVEL {level}")
    session.isolation = level


def hold_lock(db: Any, job_id: int, seconds: float) -> None:
    """Another session: lock the import's wave rows (the fix's own ``lock_import``
    statement; on SQLite the ``BEGIN IMMEDIATE`` write lock) and hold them ``seconds``."""
    with db.session() as s:
        s.run("begin")
        try:
            if s.dialect != "sqlite":
                s.run("lock_import", job_id=job_id).all()
            time.sleep(seconds)
        finally:
            s.run("commit")
