"""Connections for the live harness's own tables: one SQLAlchemy engine per process.

SQLAlchemy Core rather than raw DB-API: one way to build statements for SQLite,
PostgreSQL and MariaDB (``FOR UPDATE SKIP LOCKED`` where the engine has it,
``BEGIN IMMEDIATE`` on SQLite), pooled connections we can dispose of, and one
family of exceptions to catch. The wave table itself belongs to ``dbdriver``.

SQLite: every process opens the file with a 30 s busy timeout and in WAL mode;
a write transaction starts with ``BEGIN IMMEDIATE`` (a connection from ``reading`` with a
plain deferred ``BEGIN``) so that two writers wait
for each other instead of failing to upgrade a read lock.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

__all__ = ["READ_ONLY", "dialect_of", "make_engine", "reading", "skip_locked"]

#: execution option: this connection only reads (on SQLite: a deferred BEGIN, no write lock)
READ_ONLY = "wavesim_read_only"


def dialect_of(url: str) -> str:
    """'sqlite', 'postgresql' or 'mysql' (MariaDB is 'mysql')."""
    name = sa.engine.make_url(url).get_backend_name()
    return "mysql" if name in ("mysql", "mariadb") else name


def make_engine(url: str, *, pool_size: int = 2) -> Engine:
    """An engine for ``url``; on SQLite with real transactions (see the module docstring)."""
    if dialect_of(url) == "sqlite":
        engine = sa.create_engine(url, connect_args={"timeout": 30}, poolclass=sa.pool.NullPool)

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            read_only = conn.get_execution_options().get(READ_ONLY, False)
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    return sa.create_engine(url, pool_size=pool_size, max_overflow=2, pool_pre_ping=True)


def reading(engine: Engine) -> sa.Connection:
    """A connection for reads only: on SQLite it takes no write lock."""
    return engine.connect().execution_options(**{READ_ONLY: True})


def skip_locked(url: str) -> bool:
    """Whether Laravel would pop with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL 9.5+, MariaDB 10.6+,
    MySQL 8.0.1+); on SQLite the IMMEDIATE transaction already serialises pops."""
    return dialect_of(url) in ("postgresql", "mysql")
