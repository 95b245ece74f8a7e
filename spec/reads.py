"""What a statement reads: a session's view of a table, and a SELECT's result from the rows it matched.

A plain SELECT reads the latest committed rows with the session's own writes on top, or (MariaDB
REPEATABLE READ) the snapshot taken at its transaction's first plain read; it takes no lock and never
waits. The locking statements read through the same view (``spec.postgres_scan``, ``spec.mariadb_scan``)
and shape a FOR UPDATE's result here too. ``Reads`` is the engine's bottom layer: it needs only the
schema and the dialect, and nothing of locks or waits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from spec.dialects import REPEATABLE_READ, Dialect
from spec.evaluation import evaluate, matching, projected, sort_key
from spec.expr import Expr
from spec.results import Result
from spec.schema import Schema
from spec.state import DbState, Row, Tables, by_key, overlay, table_writes, visible
from spec.statements import Select

__all__ = ["Reads", "row_key"]


class Reads:
    """A mixin of ``spec.executor.Engine``: the session's view of a table and a SELECT's result."""

    __slots__ = ()
    schema: Schema
    dialect: Dialect

    def _current(self, state: DbState, s: int, table: int, base: Tables | None = None) -> dict[int, Row]:
        """The latest committed rows (or ``base``'s) with the session's own writes on top."""
        key = self.schema.tables[table].key
        rows = (base or state.tables)[table]
        return overlay(by_key(rows, key), table_writes(state.sessions[s], table))

    def _visible(self, state: DbState, s: int, table: int, base: Tables | None = None) -> Sequence[Row]:
        """``_current``'s rows in key order."""
        rows = (base or state.tables)[table]
        return visible(rows, table_writes(state.sessions[s], table), self.schema.tables[table].key)

    def _plain_select(self, state: DbState, s: int, plan: Select) -> tuple[DbState, Result]:
        session = state.sessions[s]
        base = None
        if session.open and session.level == REPEATABLE_READ:
            if session.snapshot is None:
                state = state.with_session(s, snapshot=state.tables)
            base = state.sessions[s].snapshot
        rows = matching(plan.where, self._visible(state, s, plan.table, base), self.dialect,
                        self.schema.tables[plan.table].key)
        return state, self._select_result(plan, rows)

    def _select_result(self, plan: Select, rows: list[Row]) -> Result:
        d = self.dialect
        if plan.aggregate:
            groups: dict[tuple[Any, ...], list[Row]] = {}
            for row in rows:
                groups.setdefault(tuple(evaluate(g, row, d) for g in plan.group_by), []).append(row)
            if not plan.group_by:
                groups = {(): rows}
            out = [tuple(evaluate(c, g[0] if g else (), d, g) for c in plan.columns) for g in groups.values()]
            return Result(plan.names, tuple(out), len(out), ordered=not plan.group_by)
        rows = _ordered(rows, plan.order_by, d)
        rows = rows[plan.offset:] if plan.limit is None else rows[plan.offset:plan.offset + plan.limit]
        out = projected(plan.columns, rows, d)
        return Result(plan.names, tuple(out), len(out), ordered=plan.ordered or len(out) <= 1)

    def _locked_result(self, plan: Select, taken: list[tuple[Row, Row]]) -> Result:
        """FOR UPDATE: the rows in ORDER BY order of the version sorted (PostgreSQL: the snapshot's)."""
        d = self.dialect
        order = plan.order_by
        indexed = sorted(range(len(taken)), key=lambda i: row_key(taken[i][0], order, d))
        rows = [taken[i][1] for i in indexed]
        rows = rows[plan.offset:] if plan.limit is None else rows[plan.offset:plan.offset + plan.limit]
        out = tuple(projected(plan.columns, rows, d))
        return Result(plan.names, out, len(out), ordered=plan.ordered or len(out) <= 1)


def row_key(row: Row, order: tuple[tuple[Expr, bool], ...], d: Dialect) -> tuple[Any, ...]:
    """The sort key of ``row`` under an ORDER BY, as the dialect sorts (NULLs first or last)."""
    return tuple(sort_key(evaluate(e, row, d), desc, d) for e, desc in order)


def _ordered(rows: list[Row], order: tuple[tuple[Expr, bool], ...], d: Dialect) -> list[Row]:
    return sorted(rows, key=lambda r: row_key(r, order, d)) if order else rows
