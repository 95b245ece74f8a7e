"""A spec's tables on a real database: created under a prefix that wavesim owns, read back, dropped.

The user's statements name the spec's own ``Table`` objects (``jobs``, not ``wavesim_spec_jobs``).
``SpecDatabase`` keeps a prefixed copy of the spec's ``MetaData`` (``Table.to_metadata(name=...)``) and
re-targets each statement to it with ``sqlalchemy.sql.visitors.replacement_traverse``, the traversal
SQLAlchemy itself uses to swap one FROM clause for another. The traversal clones what it walks, so the
user's statement is never changed. Only the names change: the copy has the same columns, keys, types,
defaults and constraints, with one exception: the key is a plain INTEGER PRIMARY KEY, without the SERIAL
or AUTO_INCREMENT SQLAlchemy would give an Integer key (``plain_key_copy``). The model refuses an INSERT
that leaves the key out, so a spec gives every key, and an engine-made one would only differ from it.

Ownership is ``dbdriver.database``'s: the prefix's ``<prefix>owner`` table holds wavesim's marker row.
Any table under the prefix without that marker is someone else's and is never written, altered or
dropped. With the marker, the spec's tables under the prefix are wavesim's. ``create`` drops and
recreates them, and ``drop`` drops them after reading the marker, dropping the marker last. A table under
the prefix that is not one of this spec's tables (left by another spec) is left alone, and so is the
marker that owns it.

    db = SpecDatabase("postgresql+psycopg://u@host/db", spec_metadata)
    db.create({"jobs": [{"id": 1, "state": "new"}]})
    with db.sessions(2) as s:                      # dbdriver.specsessions: one thread per session
        s.run(0, "begin"); s.run(0, update_jobs)   # Seen(kind="done", rowcount=1)
        s.run(1, update_jobs)                      # Seen(kind="blocked"): still waiting for row locks
        s.run(0, "commit"); s.settle(1, 5.0)       # Seen(kind="done", rowcount=1)
    db.rows()                                      # {"jobs": [{"id": 1, "state": ...}]}
    db.drop()
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import visitors

from dbdriver.database import _engine, check_prefix, connection, mark, owned
from dbdriver.errors import DatabaseError
from dbdriver.specsessions import Seen, Sessions

__all__ = ["Seen", "Sessions", "SpecDatabase", "plain_key_copy"]

DEFAULT_PREFIX = "wavesim_spec_"
#: seconds a statement may run before it counts as blocked (PostgreSQL's deadlock_timeout is set to 50 ms)
WAIT = 0.3


def plain_key_copy(table: sa.Table, metadata: sa.MetaData, name: str) -> sa.Table:
    """``table`` copied into ``metadata`` as ``name``, its key a plain INTEGER PRIMARY KEY on every engine."""
    copy = table.to_metadata(metadata, name=name)
    for column in copy.primary_key.columns:
        column.autoincrement = False
    return copy


def _defaults_written(statement: Any, dialect: Any) -> Any:
    """An INSERT with the scalar defaults of the columns it leaves out written in. SQLAlchemy adds them as
    parameters when it executes, so a literal rendering of the statement alone would show NULL there."""
    if not isinstance(statement, sa.Insert):
        return statement
    multi = statement._multi_values  # the rows of .values([...]); SQLAlchemy keeps them only here
    if not multi:
        prefetched = statement.compile(dialect=dialect).insert_prefetch
        missing = {c.key: c.default.arg for c in prefetched if isinstance(c.default, sa.ColumnDefault)
                   and c.default.is_scalar}
        return statement.values(missing) if missing else statement
    defaults = {c.key: c.default.arg for c in statement.table.c if isinstance(c.default, sa.ColumnDefault)
                and c.default.is_scalar}
    if not defaults or len(multi) != 1 or not all(isinstance(row, dict) for row in multi[0]):
        return statement
    written = statement._generate()
    rows = [row for row in multi[0] if isinstance(row, dict)]
    written._multi_values = ([{**defaults, **{getattr(k, "key", k): v for k, v in row.items()}} for row in rows],)
    return written


#: how a reading of every table begins, so that it sees one committed state: the engine's snapshot, taken at
#: the first SELECT and kept to the end. Read table by table in autocommit, a commit that lands between two
#: tables shows half of a transaction (a state no run was in), and a property judged on it fails falsely.
#: (MariaDB takes a snapshot for the whole transaction at REPEATABLE READ only.)
SNAPSHOT: dict[str, tuple[str, ...]] = {
    "sqlite": ("BEGIN",),
    "postgresql": ("BEGIN ISOLATION LEVEL REPEATABLE READ",),
    "mysql": ("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", "START TRANSACTION WITH CONSISTENT SNAPSHOT"),
}


class SpecDatabase:
    """A spec's tables on a real engine, under a prefix, with wavesim's owner marker."""

    def __init__(self, url: str, metadata: sa.MetaData, prefix: str = DEFAULT_PREFIX) -> None:
        self.prefix = check_prefix(prefix)
        self.spec_metadata = metadata
        clash = [t.name for t in metadata.sorted_tables if t.name.lower() == "owner"]
        if clash:
            raise DatabaseError(f"spec table {clash[0]!r} would be {prefix}owner, wavesim's ownership marker: "
                                "rename the table")
        self.metadata = sa.MetaData()
        #: the user's Table -> its prefixed copy
        self.targets: dict[sa.Table, sa.Table] = {
            t: plain_key_copy(t, self.metadata, prefix + t.name) for t in metadata.sorted_tables}
        #: unprefixed name -> prefixed copy
        self.tables = {t.name: copy for t, copy in self.targets.items()}
        # NullPool: every session's connection is made, used and closed on its own thread
        self.engine, self.url = _engine(url, poolclass=sa.pool.NullPool)
        self.dialect: str = self.engine.dialect.name

    # -- statements ---------------------------------------------------------------------------------------

    def retarget(self, statement: Any) -> Any:
        """A copy of ``statement`` naming the prefixed tables; ``statement`` itself is left as it was."""
        copies = set(self.targets.values())
        foreign = sorted({t.name for t in visitors.iterate(statement)
                          if isinstance(t, sa.Table) and t not in self.targets and t not in copies})
        if foreign:
            raise DatabaseError(f"statement names table {foreign[0]!r}, which is not one of the spec's tables "
                                f"({', '.join(sorted(self.tables))})")
        walked: visitors.ExternallyTraversible = statement
        return visitors.replacement_traverse(walked, {}, self._replace)

    def _replace(self, element: Any, **kw: Any) -> Any:
        if isinstance(element, sa.Table):
            return self.targets.get(element)
        if isinstance(element, sa.Column) and element.table in self.targets:
            return self.targets[element.table].c[element.key]
        return None  # keep it: replacement_traverse goes on into its children

    def compiled(self, statement: Any) -> str:
        """The SQL text the engine runs for ``statement``, with its parameters bound as literals."""
        # defaults first: a traversed INSERT's values are a plain dict that .values() cannot add to
        shown = self.retarget(_defaults_written(statement, self.engine.dialect))
        compiled = shown.compile(dialect=self.engine.dialect,
                                 compile_kwargs={"literal_binds": True, "render_postcompile": True})
        return str(compiled).strip()

    # -- the tables ---------------------------------------------------------------------------------------

    def _present(self, conn: Any) -> set[str]:
        """Every table under the prefix, the spec's or not."""
        return {n for n in sa.inspect(conn).get_table_names() if n.lower().startswith(self.prefix)}

    def _drop_spec_tables(self, conn: Any, present: set[str]) -> None:
        mine = [t for t in reversed(self.metadata.sorted_tables) if t.name in present]
        self.metadata.drop_all(conn, tables=mine)

    def create(self, rows: Mapping[str, Iterable[Mapping[str, Any]]]) -> None:
        """(Re)create the spec's tables under the prefix and insert ``rows`` (by unprefixed table name);
        a ``DatabaseError`` when a table under the prefix exists without wavesim's marker."""
        self._check_rows(rows)
        with connection(self.engine, self.url) as conn:
            present = self._present(conn)
            if owned(conn, self.prefix, present, self.url):
                self._drop_spec_tables(conn, present)
            else:
                mark(conn, self.dialect, self.prefix)
            self.metadata.create_all(conn)
            self._insert(conn, rows)

    def reset(self, rows: Mapping[str, Iterable[Mapping[str, Any]]]) -> None:
        """Replace the rows of the tables ``create`` made with ``rows`` (between runs). On MariaDB by TRUNCATE: a
        DELETE leaves delete-marked records until purge runs, and a locking read that meets one locks it
        where a fresh table (the model's start) has only a gap; elsewhere by DELETE, without DDL."""
        self._check_rows(rows)
        with connection(self.engine, self.url) as conn:
            if not owned(conn, self.prefix, self._present(conn), self.url):
                raise DatabaseError(f"database {self.url}: no spec tables under {self.prefix}: create them first")
            if self.dialect == "mysql":
                conn.exec_driver_sql("SET SESSION foreign_key_checks = 0")
                for table in reversed(self.metadata.sorted_tables):
                    name = self.engine.dialect.identifier_preparer.format_table(table)
                    conn.exec_driver_sql(f"TRUNCATE TABLE {name}")
                conn.exec_driver_sql("SET SESSION foreign_key_checks = 1")
            else:
                for table in reversed(self.metadata.sorted_tables):
                    conn.execute(sa.delete(table))
            self._insert(conn, rows)

    def _check_rows(self, rows: Mapping[str, Any]) -> None:
        unknown = sorted(set(rows) - set(self.tables))
        if unknown:
            raise DatabaseError(f"initial rows for {unknown[0]!r}, which is not one of the spec's tables "
                                f"({', '.join(sorted(self.tables))})")

    def _insert(self, conn: Any, rows: Mapping[str, Iterable[Mapping[str, Any]]]) -> None:
        for name, table_rows in rows.items():
            for row in table_rows:  # one by one: rows may leave different columns to their defaults
                conn.execute(sa.insert(self.tables[name]).values(dict(row)))

    def rows(self) -> dict[str, list[dict[str, Any]]]:
        """The committed rows of every spec table, by unprefixed name, in primary key order: one committed
        state, read in one snapshot (``SNAPSHOT``)."""
        found: dict[str, list[dict[str, Any]]] = {}
        with connection(self.engine, self.url) as conn:
            for sql in SNAPSHOT[self.dialect]:
                conn.exec_driver_sql(sql)
            for name, table in self.tables.items():
                query = sa.select(table).order_by(*table.primary_key.columns)
                found[name] = [dict(r) for r in conn.execute(query).mappings()]
            conn.exec_driver_sql("COMMIT")
        return found

    def drop(self) -> None:
        """Drop the spec's tables under the prefix, after reading wavesim's marker there; the marker last,
        unless tables of another spec still stand under it."""
        with connection(self.engine, self.url) as conn:
            present = self._present(conn)
            if not owned(conn, self.prefix, present, self.url):
                return
            self._drop_spec_tables(conn, present)
            owner = self.prefix + "owner"
            if self._present(conn) == {owner}:
                conn.execute(sa.text(f"DROP TABLE {owner}"))

    def sessions(self, n: int, level: str | None = None, wait: float = WAIT) -> Sessions:
        """``n`` connections, each on its own thread, beginning transactions at ``level`` (spec's names;
        the engine's default when None); a statement still running after ``wait`` seconds is "blocked"."""
        return Sessions(self, n, level, wait)

    def dispose(self) -> None:
        self.engine.dispose()
