"""The owners of a spec's leases in the checker: a row holds the session that took it while that run lives.

``lease.taken()`` writes the session's number as the owner (``spec/writes.py``). The checker has no
clock, so the reading ``outlasts-owner`` tells a live lease from a dead one by its owner alone: when a
worker's run ends (its ack, a crash, a release for a retry), every row it owns gets ``GONE``, the run id no
live run has. A real row keeps the dead run's id, which no live run has either. The rows rewritten are the
committed ones and every copy of them a session keeps (a MariaDB snapshot, a PostgreSQL statement's
snapshot): the run is gone whenever they are read. Symmetry, which renames workers, renames owners too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from spec.lang import Scope, Spec
from spec.lease import GONE
from spec.state import DbState, Row, Tables

__all__ = ["Owners"]


class Owners:
    """The (table, column) positions of the owners of a spec's leases that ``scope`` reads as
    ``outlasts-owner`` (the others' owners are never read: the engine writes them ``GONE``)."""

    def __init__(self, spec: Spec, scope: Scope) -> None:
        found = set()
        for lease in spec.leases.values():
            if scope.get(lease.switch, "expired") == "expired":
                continue
            table = spec.schema.position(lease.owner.table)
            found.add((table, spec.schema.tables[table].index(lease.owner.name)))
        self.columns: tuple[tuple[int, int], ...] = tuple(sorted(found))
        self.tables = frozenset(t for t, _ in self.columns)

    def __bool__(self) -> bool:
        return bool(self.columns)

    def released(self, db: DbState, s: int) -> DbState:
        """``db`` once session ``s``'s run has ended: the rows it owns are owned by ``GONE``."""
        return self._mapped(db, {s: GONE})

    def renamed(self, db: DbState, new: Mapping[int, int]) -> DbState:
        """``db`` with each owner ``old`` written ``new[old]`` (the sessions renamed by symmetry)."""
        return self._mapped(db, new)

    def held_by_other(self, db: DbState, s: int, table: int, rows: list[Row]) -> bool:
        """Whether a row of ``rows`` (of ``table``) is owned by a live run other than session ``s``'s:
        its end would change what a read of the row's lease finds."""
        return any(row[c] is not None and row[c] != GONE and row[c] != s
                   for t, c in self.columns if t == table for row in rows)

    def _mapped(self, db: DbState, new: Mapping[int, int]) -> DbState:
        if not self.columns:
            return db
        rename = self._renamer(new)
        tables = _tables(db.tables, rename)
        sessions = tuple(
            replace(session,
                    snapshot=None if session.snapshot is None else _tables(session.snapshot, rename),
                    pending=None if session.pending is None else _tables(session.pending, rename),
                    writes=tuple(tuple((k, None if row is None else rename(t, row)) for k, row in table)
                                 for t, table in enumerate(session.writes)))
            if session.snapshot is not None or session.pending is not None or session.writes else session
            for session in db.sessions)
        if tables == db.tables and sessions == db.sessions:
            return db
        return DbState(tables, sessions, db.writer, db.marked)

    def _renamer(self, new: Mapping[int, int]) -> Callable[[int, Row], Row]:
        by_table: dict[int, list[int]] = {}
        for t, c in self.columns:
            by_table.setdefault(t, []).append(c)

        def rename(table: int, row: Row) -> Row:
            columns = by_table.get(table)
            if not columns or not any(row[c] in new for c in columns):
                return row
            values = list(row)
            for c in columns:
                owner = values[c]
                if isinstance(owner, int) and owner in new:
                    values[c] = new[owner]
            return tuple(values)
        return rename


def _tables(tables: Tables, rename: Callable[[int, Row], Row]) -> Tables:
    out = tuple(tuple(rename(t, row) for row in rows) for t, rows in enumerate(tables))
    return tables if out == tables else out
