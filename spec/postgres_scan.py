"""PostgreSQL READ COMMITTED's locking statements: which rows an UPDATE, a DELETE or a SELECT FOR UPDATE takes,
and where it waits.

A plain SELECT sees the latest committed rows and the session's own (``spec.reads``). UPDATE, DELETE and
SELECT FOR UPDATE pick the rows matching in the statement's snapshot, wait for a row another session holds,
then lock its newest version and re-check the condition on it (EvalPlanQual; a row that fails it stays
locked); rows committed by others after the statement began are not seen. They meet the rows in heap order
(a FOR UPDATE with a total ORDER BY: in that order), which the model does not know, so each row that would
stop the statement (a wait, an error) is offered as the first; an UPDATE's new row is checked before the lock.

A statement that must wait keeps the rows it locked before that row: a FOR UPDATE in ORDER BY order, those
before it in that order; an UPDATE, a DELETE or an unordered FOR UPDATE, those it met before it in heap order,
which the model does not know, so each subset of the rows it can lock now is offered as the kept ones (more
permissive, docs/spec-sql.md). A deadlock can then close inside one statement. The scan stands apart from
MariaDB's (``spec.mariadb_scan``): the two engines share no step of it.
"""

from __future__ import annotations

from typing import Any

from spec.errors import LOCK_NOT_AVAILABLE
from spec.evaluation import is_true, matching
from spec.reads import row_key
from spec.state import DbState, Row
from spec.statements import Delete, Select, Update
from spec.stops import Either, EngineError, Wait
from spec.writes import Writes

__all__ = ["PostgresScan"]


class PostgresScan(Writes):
    """A mixin of ``spec.executor.Engine``: PostgreSQL's scan of a locking statement's rows."""

    __slots__ = ()

    def _scan_postgres(self, state: DbState, s: int, plan: Select | Update | Delete
                       ) -> tuple[list[tuple[Row, Row]], frozenset[tuple[int, int]]]:
        """Candidates from the statement's snapshot; wait for held rows; re-check moved rows on the newest."""
        d, key = self.dialect, self.schema.tables[plan.table].key
        pending = state.sessions[s].pending
        candidates = matching(plan.where, self._visible(state, s, plan.table, pending), d, key)
        # without a snapshot of its own the statement's snapshot is the newest: each row is its own newest
        current = self._current(state, s, plan.table) if pending else None
        limit = None
        if isinstance(plan, Select):
            candidates.sort(key=lambda r: row_key(r, plan.order_by, d))
            limit = None if plan.limit is None else plan.offset + plan.limit
        # A FOR UPDATE with a total ORDER BY locks its rows in that order; an UPDATE, a DELETE or any other FOR
        # UPDATE meets them in the order of the heap (or of a bitmap of it), which updates and vacuum change:
        # the model offers each row that would stop it (a wait, an error) as the first one it meets
        in_order = isinstance(plan, Select) and bool(plan.order_by) and plan.ordered
        taken: list[tuple[Row, Row]] = []
        taken_keys: list[int] = []
        rechecked: list[int] = []  # rows changed since the snapshot whose newest version no longer matches
        events: dict[tuple[Any, ...], Wait | EngineError] = {}
        for row in candidates:
            if limit is not None and len(taken) >= limit:
                break
            k = row[key]
            assert isinstance(k, int)
            try:
                self._check_row(plan, row, frozenset())  # the new row is checked before the row is locked
                holders = self._holders(state, s, plan.table, k)
                if holders:
                    if isinstance(plan, Select) and plan.skip_locked:
                        continue
                    if isinstance(plan, Select) and plan.nowait:
                        raise EngineError(LOCK_NOT_AVAILABLE, f"row {k} is locked")
                    raise Wait(holders)
                newest = row if current is None else current.get(k)
                if newest is None:
                    continue  # deleted since the snapshot: nothing left to lock
                # (``row`` may be the kept part of the old row: when the row did not change, the WHERE
                # holds on ``newest`` as it held on ``row``, so this reads the same either way)
                if newest != row and not is_true(plan.where, newest, d):
                    rechecked.append(k)  # EvalPlanQual locks the newest version, then re-checks: the lock stays
                    continue
                if newest is not row:  # and again on the newest version, after a wait
                    self._check_row(plan, newest, frozenset())
            except (Wait, EngineError) as event:
                events.setdefault(("wait", event.on) if isinstance(event, Wait) else ("error", event.error), event)
                if in_order:
                    break  # the first row that stops it in ORDER BY order is the one
                continue
            taken.append((row, newest))
            taken_keys.append(k)
        unwritten = frozenset((plan.table, k) for k in rechecked)
        locked = frozenset((plan.table, k) for k in taken_keys) | unwritten
        for stop in events.values():
            if isinstance(stop, Wait):
                # While it waits it keeps the rows it locked before that row: in ORDER BY order, those before it;
                # in heap order, which the model does not know, any of the rows it can lock now (every subset,
                # none too). An error ends PostgreSQL's transaction, so what it locked before does not matter.
                stop.locks, stop.maybe = (locked, frozenset()) if in_order else (frozenset(), locked)
                stop.unwritten = unwritten
        if len(events) == 1:
            raise next(iter(events.values()))
        if events:
            raise Either(list(events.values()))
        return taken, locked
