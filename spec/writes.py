"""What a statement writes: INSERT's checks, an UPDATE's or a DELETE's new rows, RETURNING, and the row locks
that writing takes.

A write goes into the session's own writes (``spec.state``), seen by it alone until COMMIT, and locks its
rows where the engine has row locks. An INSERT checks row by row as the engines do: NOT NULL, then whether
another session holds the key (it waits), then the duplicate key, then others' gap locks. Which rows an
UPDATE or a DELETE writes is the scans' business (``spec.postgres_scan``, ``spec.mariadb_scan``); this
layer writes the rows it is given and checks each new row.
"""

from __future__ import annotations

from spec.errors import DUPLICATE_KEY, NOT_NULL
from spec.evaluation import evaluate, projected
from spec.expr import Owner
from spec.lease import GONE
from spec.reads import Reads
from spec.results import Result
from spec.state import DbState, Row, add_writes, table_writes
from spec.statements import Delete, Insert, Select, Update
from spec.stops import EngineError, Wait

__all__ = ["Writes"]


class Writes(Reads):
    """A mixin of ``spec.executor.Engine``: INSERT, the rows an UPDATE or a DELETE writes, and their checks."""

    __slots__ = ()
    #: whether an UPDATE that takes a lease writes its session as the owner (``spec.executor.Engine.owners``)
    owners: bool

    @staticmethod
    def _holders(state: DbState, s: int, table: int, k: int, shared: bool = True) -> frozenset[int]:
        """The other sessions holding row ``k``: exclusively, or also (``shared``) by a shared lock."""
        lock = (table, k)
        return frozenset([o for o, other in enumerate(state.sessions) if (
            lock in other.locks or (shared and lock in other.shared)) and o != s])

    def _insert(self, state: DbState, s: int, plan: Insert) -> tuple[DbState, Result]:
        spec = self.schema.tables[plan.table]
        view = self._current(state, s, plan.table)
        new: dict[int, Row | None] = {}
        for row in plan.rows:  # row by row, as the engines check: NOT NULL, then the key's lock, then unique
            k = row[spec.key]
            assert isinstance(k, int)
            self._check_not_null(row, plan.table)
            inserted = frozenset((plan.table, j) for j in new)  # InnoDB keeps the rows inserted before a wait
            holders = self._holders(state, s, plan.table, k, shared=False)
            if self.dialect.name == "postgresql":  # its unique check waits for a writer, not a FOR UPDATE lock
                holders = frozenset(o for o in holders if (plan.table, k) in state.sessions[o].written_before_wait
                                    or any(j == k for j, _ in table_writes(state.sessions[o], plan.table)))
            if holders:  # the duplicate check waits for a shared lock on the row
                raise Wait(holders, inserted, claim=(plan.table, k))
            if k in view or k in new:  # InnoDB keeps a shared lock on the existing row; the statement's own rows go
                raise EngineError(DUPLICATE_KEY, f"duplicate key {spec.name}.{spec.columns[spec.key].name}={k}",
                                  shared=frozenset() if k in new else frozenset({(plan.table, k)}))
            # a gap lock stops only the insert of a new record: an existing key's duplicate is found first
            gap_holders = frozenset(o for o, other in enumerate(state.sessions) if o != s and any(
                g[0] == plan.table and (g[1] is None or g[1] < k) and (g[2] is None or k < g[2]) for g in other.gaps))
            if gap_holders:
                raise Wait(gap_holders, inserted)
            holders = self._holders(state, s, plan.table, k)
            if holders:  # others' shared locks on a row marked deleted: this check shares them, then waits
                raise Wait(holders, inserted, shared=frozenset({(plan.table, k)}))
            new[k] = row
        state = self._write(state, s, plan.table, new)
        returned = tuple(projected(plan.returning, plan.rows, self.dialect)) if plan.returning is not None else ()
        return state, Result(plan.names, returned, len(plan.rows))

    def _check_not_null(self, row: Row, table: int) -> None:
        for column, value in zip(self.schema.tables[table].columns, row, strict=True):
            if value is None and not column.nullable:
                raise EngineError(NOT_NULL, f"NULL in {self.schema.tables[table].name}.{column.name}")

    def _write(self, state: DbState, s: int, table: int, new: dict[int, Row | None],
               locks: frozenset[tuple[int, int]] = frozenset()) -> DbState:
        session = state.sessions[s]
        writes = add_writes(session, table, new, len(self.schema.tables)) if new else session.writes
        taken = session.locks | locks | frozenset((table, k) for k in new) if self.dialect.row_locks else frozenset()
        return state.with_session(s, writes=writes, locks=taken)

    def _apply(self, state: DbState, s: int, plan: Update | Delete, rows: list[Row],
               locks: frozenset[tuple[int, int]], gaps: frozenset[tuple[int, int | None, int | None]]
               ) -> tuple[DbState, Result]:
        spec = self.schema.tables[plan.table]
        new: dict[int, Row | None] = {}
        after: list[Row] = []
        for row in rows:
            k = row[spec.key]
            assert isinstance(k, int)
            if isinstance(plan, Update):
                changed = self._assigned(plan, row, s)
                try:
                    self._check_not_null(changed, plan.table)
                except EngineError as error:  # rows are processed in key order: those up to this one are locked
                    raise EngineError(error.error, error.message,
                                      frozenset(lk for lk in locks if lk[1] <= k) | {(plan.table, k)}) from None
                new[k] = changed
                after.append(changed)
            else:
                new[k] = None
                after.append(row)
        state = self._write(state, s, plan.table, new, locks)
        if gaps:
            state = state.with_session(s, gaps=state.sessions[s].gaps | gaps)
        returned: tuple[Row, ...] = ()
        if plan.returning is not None:
            returned = tuple(projected(plan.returning, after, self.dialect))
        return state, Result(plan.names, returned, len(rows), ordered=len(rows) <= 1)

    def _assigned(self, plan: Update, row: Row, s: int) -> Row:
        """``row`` with the UPDATE's SET applied (each expression reads the row as it was) by session ``s``
        (a lease's owner: ``spec.lease``)."""
        changed = list(row)
        for i, expr in plan.assignments:
            if isinstance(expr, Owner):
                changed[i] = s if self.owners else GONE
            else:
                changed[i] = evaluate(expr, row, self.dialect)
        return tuple(changed)

    def _check_row(self, plan: Select | Update | Delete, row: Row, locks: frozenset[tuple[int, int]]) -> None:
        """An UPDATE fails at the first row it would make invalid, before it reaches (or waits for) later rows."""
        if isinstance(plan, Update):
            try:
                self._check_not_null(self._assigned(plan, row, 0), plan.table)  # an owner is never NULL
            except EngineError as error:
                raise EngineError(error.error, error.message, locks) from None
