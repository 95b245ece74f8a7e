"""Run one session's step against the modelled database, as the chosen engine would.

``Engine(schema, dialect)`` runs ``begin``, ``execute``, ``commit`` and ``rollback`` for a session and
returns the possible next states with what the session sees: ``Done`` (a result), ``Blocked`` (waiting
for another session's lock: nothing changed, retry it later) or ``Failed`` (an engine error: roll back).
Usually there is one possibility; a deadlock gives one per transaction the engine might abort. MariaDB's
deadlock search follows one blocker per waiter, the first in a row's lock queue, an order the model does not
keep: when some such choice leads from the new waiter off the cycle, the model also offers that the statement
stays blocked, and a retry after that blocker ends finds the cycle (docs/spec-sql.md).

Isolation, per dialect (docs/spec-sql.md gives the sources):

- PostgreSQL READ COMMITTED: a plain SELECT sees the latest committed rows and the session's own. UPDATE,
  DELETE and SELECT FOR UPDATE pick the rows matching in the statement's snapshot, wait for a row another
  session holds, then lock its newest version and re-check the condition on it (EvalPlanQual; a row that
  fails it stays locked); rows committed by others after the statement began are not seen. They meet the
  rows in heap order (a FOR UPDATE with a total ORDER BY: in that order), which the model does not know, so
  each row that would stop the statement (a wait, an error) is offered as the first; an UPDATE's new row is
  checked before the lock.
- MariaDB REPEATABLE READ: plain SELECTs read a snapshot taken at the transaction's first plain read;
  UPDATE, DELETE and FOR UPDATE read the latest committed version (current read), lock every row they
  scan, keep those locks, and take gap locks that block other sessions' inserts into the scanned range
  (SKIP LOCKED passes a held row and takes neither it nor the gap below it).
  They scan the keys fixed by ``=`` or ``IN``, else the range of the key the WHERE bounds (``spec.keyrange``:
  ``id < 3``, and in a FOR UPDATE ``n + 0 > id AND n = 0`` as ``id < 0``) and the first record past it, else
  the whole table.
- MariaDB READ COMMITTED: every statement sees the latest committed rows; it scans the same records as at
  REPEATABLE READ; locks are kept on matching rows only (and the records past a descending range); an UPDATE
  scanning a range or the table (its key not fixed by ``=`` or ``IN``) that meets a locked row reads
  its latest committed version and waits only if that matches (semi-consistent read; a row not committed
  yet does not match); DELETE, an UPDATE by key and FOR UPDATE wait for every locked row they meet; a FOR
  UPDATE by ``key = c`` keeps its row locked even when the rest of the WHERE fails.
- SQLite: transactions begin ``BEGIN IMMEDIATE``, so one write transaction at a time: a second BEGIN, or
  a write outside a transaction, waits for it. Reads never wait and see the latest committed rows.

On MariaDB a statement that must wait keeps the rows it locked (or inserted) before the one it waits for,
and resumes its scan at that row. An INSERT's duplicate-key check takes a shared lock on the existing row;
one that waited for a held key is granted it when the holder ends, on the row or on the gap it leaves, or
(InnoDB grants in queue order, which the model does not keep) stays behind a statement waiting for that row.
A committed DELETE leaves a marked record until purge, which the model does not time: a REPEATABLE READ
locking read locks the ones it passes, and one that meets another's finds it there (it waits) or purged.
On PostgreSQL a statement that must wait keeps the rows it locked before that row too: a FOR UPDATE in
ORDER BY order, those before it in that order; an UPDATE, a DELETE or an unordered FOR UPDATE, those it met
before it in heap order, which the model does not know, so each subset of the rows it can lock now is offered
as the kept ones (more permissive, docs/spec-sql.md). A deadlock can then close inside one statement.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations
from typing import Any

from spec.dialects import REPEATABLE_READ, Dialect, dialect
from spec.errors import DEADLOCK, DUPLICATE_KEY, LOCK_NOT_AVAILABLE, NOT_NULL, SourceLocation, Unsupported
from spec.evaluation import evaluate, is_true, matching, projected, sort_key
from spec.expr import Expr, Owner, columns_read
from spec.keyrange import key_ranges, open_below, propagated_false, reads
from spec.lease import GONE
from spec.plans import PlanCache
from spec.results import Blocked, Done, Failed, Outcome, Result
from spec.schema import Schema
from spec.state import (
    DbState,
    Row,
    Session,
    Tables,
    add_writes,
    apply_writes,
    by_key,
    committed,
    grant_claims,
    idle_session,
    opened_session,
    overlay,
    purged,
    table_writes,
    visible,
)
from spec.statements import Delete, Insert, Plan, Select, Update, compile_statement, impossible

__all__ = ["Engine", "Step"]

Step = tuple[DbState, Outcome]


class _Wait(Exception):
    """Raised inside a statement when it meets a row another session holds."""

    def __init__(self, on: frozenset[int], locks: frozenset[tuple[int, int]] = frozenset(),
                 gaps: frozenset[tuple[int, int | None, int | None]] = frozenset(),
                 resume: tuple[int, int] | None = None, claim: tuple[int, int] | None = None,
                 shared: frozenset[tuple[int, int]] = frozenset(),
                 maybe: frozenset[tuple[int, int]] = frozenset()) -> None:
        self.on = on
        #: the locks the statement took before the row it waits for, kept while it waits; MariaDB: where its
        #: scan resumes; an INSERT's duplicate check: the row whose shared lock it waits for (``claim``), or
        #: the shared lock it took on a row marked deleted before it waits to insert over it (``shared``)
        self.locks, self.gaps, self.resume, self.claim, self.shared = locks, gaps, resume, claim, shared
        #: PostgreSQL in heap order: rows it may have locked before the one it waits for (each subset is kept);
        #: of the rows it keeps, those that failed the re-check of their newest version: locked, not written
        self.maybe, self.unwritten = maybe, frozenset[tuple[int, int]]()


class _Either(Exception):
    """PostgreSQL: the rows of an UPDATE, DELETE or unordered FOR UPDATE that would each stop it (a wait or an
    error), met in heap order, which the model does not know: each of them may be the first."""

    def __init__(self, events: list[_Wait | _Error]) -> None:
        self.events = events


class _Marked(Exception):
    """MariaDB: a marked record that another session holds stops the statement (``event``), unless purge has
    removed it, which the model does not time: it offers both."""

    def __init__(self, mark: tuple[int, int], event: _Wait | _Error) -> None:
        self.mark, self.event = mark, event


class _Error(Exception):
    def __init__(self, error: str, message: str, locks: frozenset[tuple[int, int]] = frozenset(),
                 shared: frozenset[tuple[int, int]] = frozenset()) -> None:
        self.error, self.message = error, message
        self.locks = locks  # the row locks the statement took before it failed (MariaDB keeps them)
        self.shared = shared  # MariaDB: a duplicate key's shared lock on the existing row


@dataclass(frozen=True)
class Engine:
    """The modelled engine: the spec's tables and one dialect's rules."""

    schema: Schema
    dialect: Dialect
    #: plans by SQLAlchemy's cache key, shared by everything this engine runs (the checker, the simulation)
    plans: PlanCache = field(default_factory=PlanCache, compare=False, repr=False)
    #: whether an UPDATE that takes a lease writes its session as the owner (``spec/lease.py``); a checker
    #: that reads no owner writes ``GONE`` instead, so that states do not differ by who took a lease
    owners: bool = True

    @staticmethod
    def of(schema: Schema, name: str) -> Engine:
        return Engine(schema, dialect(name))

    def plan(self, statement: Any, where: SourceLocation | None = None, now: int | None = None) -> Plan:
        """The statement's plan, or ``Unsupported`` naming the construct and ``where`` it came from; a statement
        of a structure planned before is bound, not planned again (``spec.plans``). ``now``: the simulated
        time, microseconds, that its leases are taken and read at (``spec/lease.py``); such a plan holds that
        time, so it is not kept."""
        try:
            if now is not None:
                return compile_statement(statement, self.schema, replace(self.dialect, now=now))
            return self.plans.plan(statement, lambda: compile_statement(statement, self.schema, self.dialect),
                                   self.dialect)
        except Unsupported as refused:
            raise refused.at(where) from None

    # -- transaction boundaries -------------------------------------------------------------------------

    def begin(self, state: DbState, s: int, level: str | None = None) -> Step:
        session = state.session(s)
        if session.open:
            raise Unsupported(f"BEGIN in session {s}, whose transaction is already open")
        chosen = self.dialect.check_level(level or session.base or self.dialect.default_level)
        if not self.dialect.row_locks:
            if state.writer is not None and state.writer != s:
                return state.with_session(s, waiting=frozenset({state.writer})), Blocked(frozenset({state.writer}))
            state = replace(state, writer=s)
        return state.with_session(s, open=True, level=chosen, waiting=frozenset()), Done(Result())

    def set_level(self, state: DbState, s: int, level: str) -> DbState:
        """The session's default level for its next transactions and its statements outside one."""
        if state.session(s).open:
            raise Unsupported(f"changing session {s}'s isolation level inside a transaction")
        chosen = self.dialect.check_level(level)
        return state.with_session(s, level=chosen, base=chosen)

    def commit(self, state: DbState, s: int) -> Step:
        session = state.session(s)
        if session.failed:
            raise Unsupported(f"COMMIT in session {s} after {session.failed!r}: roll back instead")
        self._not_waiting(session, s, "COMMIT")
        return self._ended(self._committed(state, s), s, committed=True), Done(Result())

    def rollback(self, state: DbState, s: int) -> Step:
        self._not_waiting(state.session(s), s, "ROLLBACK")
        return self._ended(state, s), Done(Result())

    def disconnect(self, state: DbState, s: int) -> DbState:
        """The session's connection is gone (its process died): its transaction and any wait end, as on
        a rollback."""
        return self._ended(state, s)

    def _committed(self, state: DbState, s: int) -> DbState:
        return committed(state, s, self.schema, marks=self.dialect.name == "mysql")

    @staticmethod
    def _not_waiting(session: Session, s: int, what: str) -> None:
        if session.waiting and not session.doomed:
            raise Unsupported(f"{what} in session {s} while its statement waits for a lock")

    def _ended(self, state: DbState, s: int, committed: bool = False, release: bool = True) -> DbState:
        """Session ``s``'s transaction is over (``release``: its locks go, granted to waiting INSERTs' checks)."""
        was = state.sessions[s]
        if not (was.open or was.failed or was.doomed or was.snapshot is not None or was.writes or was.locks
                or was.gaps or was.waiting or was.pending is not None or was.resume is not None
                or was.shared or was.claim is not None or was.written_before_wait or was.level != was.base
                or state.writer == s):
            return state  # nothing to end: the same state, not an equal copy
        if release and self.dialect.name == "mysql":
            state = grant_claims(state, s, committed, self.schema)
        sessions = list(state.sessions)
        sessions[s] = idle_session(state.sessions[s].base)  # every field but its default level is reset
        return DbState(state.tables, tuple(sessions), None if state.writer == s else state.writer, state.marked)

    # -- statements -------------------------------------------------------------------------------------

    def execute(self, state: DbState, s: int, statement: Any, where: SourceLocation | None = None
                ) -> tuple[Step, ...]:
        """Every possible outcome of session ``s`` running ``statement`` now (one, or one per deadlock victim)."""
        return self.execute_plan(state, s, self.plan(statement, where), where)

    def execute_plan(self, state: DbState, s: int, plan: Plan, where: SourceLocation | None = None
                     ) -> tuple[Step, ...]:
        """``execute`` of a statement already planned (``plan``): a caller that runs one statement object
        many times plans it once."""
        session = state.session(s)
        if session.doomed:
            error = session.doomed
            state = state.with_session(s, doomed=None, waiting=frozenset(), resume=None)
            if not session.open:  # a statement outside a transaction: its one-statement transaction is over
                state = self._ended(state, s)
            return ((state, Failed(error, f"session {s}: {error} (rolled back while waiting)")),)
        if session.failed:
            raise Unsupported(f"a statement in session {s} after {session.failed!r}: roll back first").at(where)
        if session.open:
            return self._run(state, s, plan)
        return self._autocommit(state, s, plan)

    def _autocommit(self, state: DbState, s: int, plan: Plan) -> tuple[Step, ...]:
        if isinstance(plan, Select) and not plan.for_update and state.writer != s:
            session = state.sessions[s]
            idle = idle_session(session.base)
            if session is idle or session == idle:  # nothing of its own to see, nothing to end: the state stays
                rows = matching(plan.where, self._visible(state, s, plan.table), self.dialect,
                                self.schema.tables[plan.table].key)
                return ((state, Done(self._select_result(plan, rows))),)
        writes = not isinstance(plan, Select)  # SQLite ignores FOR UPDATE: such a SELECT is a read
        if not self.dialect.row_locks and writes and state.writer not in (None, s):
            on = frozenset({state.writer}) if state.writer is not None else frozenset()
            return ((state.with_session(s, waiting=on), Blocked(on)),)
        session = state.sessions[s]
        level = session.base or self.dialect.default_level
        if session is idle_session(session.base):  # the common case: one shared value, not a new session
            opened = state.with_session_as(s, opened_session(session.base, level))
        else:
            opened = state.with_session(s, open=True, level=level)
        steps = []
        for after, outcome in self._run(opened, s, plan):
            if isinstance(outcome, Done) and self.dialect.name != "mysql":  # commit and end in one new state
                mine = after.sessions[s]  # (open: ``_ended`` would end it; no claims to grant, no marks to keep)
                sessions = list(after.sessions)
                sessions[s] = idle_session(mine.base)
                after = DbState(apply_writes(after.tables, mine.writes, self.schema), tuple(sessions),
                                None if after.writer == s else after.writer, after.marked)
            elif isinstance(outcome, Done):
                after = self._ended(self._committed(after, s), s, committed=True)
            elif isinstance(outcome, Blocked):  # it keeps what it waits for, where, and the locks it took
                mine = after.sessions[s]
                after = self._ended(after, s, release=False).with_session(
                    s, waiting=mine.waiting, pending=mine.pending, resume=mine.resume, locks=mine.locks,
                    gaps=mine.gaps, shared=mine.shared, claim=mine.claim, written_before_wait=mine.written_before_wait)
            else:
                after = self._ended(after, s)
            if after.sessions[s].level != state.sessions[s].level:  # the level was this statement's only
                after = after.with_session(s, level=state.sessions[s].base)
            steps.append((after, outcome))
        return tuple(steps)

    def _run(self, state: DbState, s: int, plan: Plan) -> tuple[Step, ...]:
        queued = self._queued_first(state, s, plan)
        if queued is not None:  # InnoDB grants a row's waiting locks in queue order, which the model does not keep
            claim, ahead = queued
            mine = state.sessions[s]
            behind = state.with_session(s, shared=mine.shared - {claim}, claim=claim)
            return self._go(state, s, plan) + self._blocked(behind, s, plan, ahead)
        steps = self._go(state, s, plan)
        if self.may_read_table(plan):  # the optimizer may choose either plan
            steps += tuple(step for step in self._go(state, s, plan, ranged=False) if step not in steps)
        return steps

    def may_read_table(self, plan: Plan) -> bool:
        """MariaDB: a locking statement whose WHERE bounds the key, for which the optimizer may read the table
        instead of the ranges, by statistics the model does not keep. MariaDB 10.11 read the table for three
        keys or more on tables of up to four rows (four on tables of six to ten), and the ranges for two, on
        tables of up to thirty; for ranges wider than a key only when ``full_scan_for_ranges`` says so."""
        if self.dialect.name != "mysql" or isinstance(plan, Insert):
            return False
        if isinstance(plan, Select) and not plan.for_update:
            return False
        ranges = key_ranges(plan.where, self.schema.tables[plan.table], self.dialect,
                            propagate=isinstance(plan, Select))
        if not ranges:  # the table already, or nothing
            return False
        # one key is a lookup, which leaves the optimizer no choice
        return len(ranges) >= 3 or (self.dialect.full_scan_for_ranges and any(r.point is None for r in ranges))

    def _queued_first(self, state: DbState, s: int, plan: Plan) -> tuple[tuple[int, int], frozenset[int]] | None:
        """MariaDB: a waiting INSERT granted the shared lock on a row (``grant_claims``) that other sessions'
        statements wait for too: those may have queued first, and then InnoDB grants them the row first. The
        row and those sessions, or ``None``."""
        mine = state.sessions[s]
        if self.dialect.name != "mysql" or not isinstance(plan, Insert) or not mine.waiting or mine.claim:
            return None
        key = self.schema.tables[plan.table].key
        for row in plan.rows:
            claim = (plan.table, row[key])
            ahead = frozenset(o for o, other in enumerate(state.sessions) if o != s and other.waiting
                              and other.resume == claim and claim not in other.locks)
            if claim in mine.shared and ahead:
                return claim, ahead
        return None

    def _go(self, state: DbState, s: int, plan: Plan, ranged: bool = True) -> tuple[Step, ...]:
        """The statement's outcomes (MariaDB, ``ranged``: read a range of the key where its WHERE bounds one)."""
        try:
            if isinstance(plan, Select) and not plan.for_update:
                state, result = self._plain_select(state, s, plan)
            elif isinstance(plan, Insert):
                state, result = self._insert(state, s, plan)
            else:
                assert isinstance(plan, Select | Update | Delete)
                state, result = self._locking(state, s, plan, ranged)
        except _Either as either:  # PostgreSQL meets the rows in heap order: any of them may come first
            return _distinct(step for event in either.events for step in self._stopped(state, s, plan, event))
        except (_Wait, _Error) as event:
            return self._stopped(state, s, plan, event)
        except _Marked as marked:  # the record may still be there (it stops the statement) or purged
            return self._stopped(state, s, plan, marked.event) + self._run(purged(state, marked.mark, self.schema),
                                                                           s, plan)
        mine = state.sessions[s]
        if mine.waiting or mine.pending is not None or mine.resume is not None or mine.claim is not None \
                or mine.written_before_wait:  # what a statement that waited kept is over
            state = state.with_session(s, waiting=frozenset(), pending=None, resume=None, claim=None,
                                       written_before_wait=frozenset())
        return ((state, Done(result)),)

    def _stopped(self, state: DbState, s: int, plan: Plan, event: _Wait | _Error) -> tuple[Step, ...]:
        """The statement met a held row (``_Wait``) or raised an engine error (``_Error``)."""
        mine = state.sessions[s]
        if isinstance(event, _Wait):
            if self.dialect.name == "mysql":  # InnoDB keeps the locks taken before the wait
                state = state.with_session(s, locks=mine.locks | event.locks, gaps=mine.gaps | event.gaps,
                                           resume=event.resume, claim=event.claim, shared=mine.shared | event.shared)
                return self._blocked(state, s, plan, event.on)
            # PostgreSQL keeps the rows it locked before the wait too (``_scan_postgres`` says which they may be);
            # an UPDATE, a DELETE or an INSERT has written them already
            writes = not isinstance(plan, Select)
            return _distinct(step for kept in _subsets(event.maybe) for step in self._blocked(
                state.with_session(s, locks=mine.locks | event.locks | kept, written_before_wait=(
                    mine.written_before_wait | (event.locks | kept) - event.unwritten if writes
                    else mine.written_before_wait)),
                s, plan, event.on))
        if self.dialect.name == "mysql":
            state = state.with_session(s, locks=mine.locks | event.locks, shared=mine.shared | event.shared)
        return ((self._failed(state, s, event.error), Failed(event.error, event.message)),)

    def _failed(self, state: DbState, s: int, error: str) -> DbState:
        """PostgreSQL aborts the whole transaction at once; MariaDB and SQLite undo the statement only."""
        if self.dialect.name == "postgresql" or error == DEADLOCK:
            state = state.with_session(s, writes=(), locks=frozenset(), gaps=frozenset(), shared=frozenset())
        return state.with_session(s, failed=error, waiting=frozenset(), pending=None, resume=None, claim=None,
                                  written_before_wait=frozenset())

    # -- waits and deadlocks ----------------------------------------------------------------------------

    def _blocked(self, state: DbState, s: int, plan: Plan, on: frozenset[int]) -> tuple[Step, ...]:
        pending = state.sessions[s].pending or (
            self._kept_snapshot(plan, state.tables) if self.dialect.name == "postgresql" else None)
        waiting = state.with_session(s, waiting=on, pending=pending)
        cycle = _cycle(waiting, s)
        if not cycle:
            return ((waiting, Blocked(on)),)
        steps: list[Step] = []
        for victim in cycle:  # the engine may abort any transaction in the cycle (docs/spec-sql.md)
            aborted = grant_claims(waiting, victim, False, self.schema).with_session(
                victim, writes=(), locks=frozenset(), gaps=frozenset(), shared=frozenset(), failed=DEADLOCK,
                pending=None, resume=None, waiting=frozenset(), claim=None, written_before_wait=frozenset())
            if victim == s:
                steps.append((aborted, Failed(DEADLOCK, f"session {s}: deadlock detected")))
            else:
                aborted = aborted.with_session(victim, doomed=DEADLOCK)
                steps.extend(self._run(aborted.with_session(s, waiting=frozenset()), s, plan))
                if any(victim in _waits_for(state, w) for w in range(len(state.sessions)) if w not in (s, victim)):
                    # a session queued earlier on the victim's rows may take them first: s stays blocked
                    steps.append((aborted.with_session(s, waiting=frozenset()), Blocked(on)))
        if self.dialect.one_blocker_per_waiter and _chain_may_end(waiting, s):
            # the engine may follow a blocker off the cycle and see no deadlock yet: s waits, and a retry after
            # that blocker ends (or another wait) finds the cycle, as the engine's next search does
            steps.append((waiting, Blocked(on)))
        return tuple(steps)

    def snapshot_columns(self, plan: Select | Update | Delete) -> set[int]:
        """The columns of its snapshot's rows a blocked PostgreSQL statement reads again: its table's key and
        what its WHERE, ORDER BY and SET read."""
        read = {self.schema.tables[plan.table].key} | (columns_read(plan.where) if plan.where is not None else set())
        if isinstance(plan, Select):
            read |= set().union(*(columns_read(e) for e, _ in plan.order_by))
        elif isinstance(plan, Update):
            read |= set().union(*(columns_read(e) for _, e in plan.assignments))
        return read

    def _kept_snapshot(self, plan: Plan, tables: Tables) -> Tables:
        """The part of the snapshot a blocked PostgreSQL statement reads again when it resumes
        (``_scan_postgres``): the rows of its table that match its WHERE, each with the columns its WHERE,
        ORDER BY and SET read; every other value stands as 0, a NULL as NULL (the NOT NULL check of the
        new row reads only which values are NULL). A row that stops matching only on its newest version
        is told by the WHERE alone, so nothing else of the old row is read. Keeping only this lets states
        whose blocked statements differ in nothing they will read be one state."""
        if isinstance(plan, Insert):  # its duplicate check reads the newest rows, never the snapshot
            return tuple(() for _ in tables)
        read = self.snapshot_columns(plan)
        return tuple(
            tuple(tuple(v if i in read or v is None else 0 for i, v in enumerate(row))
                  for row in rows if is_true(plan.where, row, self.dialect)) if t == plan.table else ()
            for t, rows in enumerate(tables))

    # -- reads ------------------------------------------------------------------------------------------

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

    # -- writes -----------------------------------------------------------------------------------------

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
                raise _Wait(holders, inserted, claim=(plan.table, k))
            if k in view or k in new:  # InnoDB keeps a shared lock on the existing row; the statement's own rows go
                raise _Error(DUPLICATE_KEY, f"duplicate key {spec.name}.{spec.columns[spec.key].name}={k}",
                             shared=frozenset() if k in new else frozenset({(plan.table, k)}))
            # a gap lock stops only the insert of a new record: an existing key's duplicate is found first
            gap_holders = frozenset(o for o, other in enumerate(state.sessions) if o != s and any(
                g[0] == plan.table and (g[1] is None or g[1] < k) and (g[2] is None or k < g[2]) for g in other.gaps))
            if gap_holders:
                raise _Wait(gap_holders, inserted)
            holders = self._holders(state, s, plan.table, k)
            if holders:  # others' shared locks on a row marked deleted: this check shares them, then waits
                raise _Wait(holders, inserted, shared=frozenset({(plan.table, k)}))
            new[k] = row
        state = self._write(state, s, plan.table, new)
        returned = tuple(projected(plan.returning, plan.rows, self.dialect)) if plan.returning is not None else ()
        return state, Result(plan.names, returned, len(plan.rows))

    def _check_not_null(self, row: Row, table: int) -> None:
        for column, value in zip(self.schema.tables[table].columns, row, strict=True):
            if value is None and not column.nullable:
                raise _Error(NOT_NULL, f"NULL in {self.schema.tables[table].name}.{column.name}")

    def _write(self, state: DbState, s: int, table: int, new: dict[int, Row | None],
               locks: frozenset[tuple[int, int]] = frozenset()) -> DbState:
        session = state.sessions[s]
        writes = add_writes(session, table, new, len(self.schema.tables)) if new else session.writes
        taken = session.locks | locks | frozenset((table, k) for k in new) if self.dialect.row_locks else frozenset()
        return state.with_session(s, writes=writes, locks=taken)

    def _locking(self, state: DbState, s: int, plan: Select | Update | Delete, ranged: bool = True
                 ) -> tuple[DbState, Result]:
        if not self.dialect.row_locks:  # SQLite: the write lock is the transaction's; FOR UPDATE is ignored
            rows = matching(plan.where, self._visible(state, s, plan.table), self.dialect,
                            self.schema.tables[plan.table].key)
            if isinstance(plan, Select):
                return state, self._select_result(plan, rows)
            return self._apply(state, s, plan, rows, frozenset(), frozenset())
        if self.dialect.name == "postgresql":
            taken, locks = self._scan_postgres(state, s, plan)
            gaps: frozenset[tuple[int, int | None, int | None]] = frozenset()
        else:
            taken, locks, gaps = self._scan_mariadb(state, s, plan, ranged)
        if isinstance(plan, Select):
            state = state.with_session(s, locks=state.sessions[s].locks | locks, gaps=state.sessions[s].gaps | gaps)
            return state, self._locked_result(plan, taken)
        return self._apply(state, s, plan, [cur for _, cur in taken], locks, gaps)

    def _locked_result(self, plan: Select, taken: list[tuple[Row, Row]]) -> Result:
        """FOR UPDATE: the rows in ORDER BY order of the version sorted (PostgreSQL: the snapshot's)."""
        d = self.dialect
        order = plan.order_by
        indexed = sorted(range(len(taken)), key=lambda i: _row_key(taken[i][0], order, d))
        rows = [taken[i][1] for i in indexed]
        rows = rows[plan.offset:] if plan.limit is None else rows[plan.offset:plan.offset + plan.limit]
        out = tuple(projected(plan.columns, rows, d))
        return Result(plan.names, out, len(out), ordered=plan.ordered or len(out) <= 1)

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
                except _Error as error:  # rows are processed in key order: those up to this one are locked
                    raise _Error(error.error, error.message,
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
            except _Error as error:
                raise _Error(error.error, error.message, locks) from None

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
            candidates.sort(key=lambda r: _row_key(r, plan.order_by, d))
            limit = None if plan.limit is None else plan.offset + plan.limit
        # A FOR UPDATE with a total ORDER BY locks its rows in that order; an UPDATE, a DELETE or any other FOR
        # UPDATE meets them in the order of the heap (or of a bitmap of it), which updates and vacuum change:
        # the model offers each row that would stop it (a wait, an error) as the first one it meets
        in_order = isinstance(plan, Select) and bool(plan.order_by) and plan.ordered
        taken: list[tuple[Row, Row]] = []
        taken_keys: list[int] = []
        rechecked: list[int] = []  # rows changed since the snapshot whose newest version no longer matches
        events: dict[tuple[Any, ...], _Wait | _Error] = {}
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
                        raise _Error(LOCK_NOT_AVAILABLE, f"row {k} is locked")
                    raise _Wait(holders)
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
            except (_Wait, _Error) as event:
                events.setdefault(("wait", event.on) if isinstance(event, _Wait) else ("error", event.error), event)
                if in_order:
                    break  # the first row that stops it in ORDER BY order is the one
                continue
            taken.append((row, newest))
            taken_keys.append(k)
        unwritten = frozenset((plan.table, k) for k in rechecked)
        locked = frozenset((plan.table, k) for k in taken_keys) | unwritten
        for stop in events.values():
            if isinstance(stop, _Wait):
                # While it waits it keeps the rows it locked before that row: in ORDER BY order, those before it;
                # in heap order, which the model does not know, any of the rows it can lock now (every subset,
                # none too). An error ends PostgreSQL's transaction, so what it locked before does not matter.
                stop.locks, stop.maybe = (locked, frozenset()) if in_order else (frozenset(), locked)
                stop.unwritten = unwritten
        if len(events) == 1:
            raise next(iter(events.values()))
        if events:
            raise _Either(list(events.values()))
        return taken, locked

    def _scan_mariadb(self, state: DbState, s: int, plan: Select | Update | Delete, ranged: bool = True
                      ) -> tuple[list[tuple[Row, Row]], frozenset[tuple[int, int]],
                                 frozenset[tuple[int, int | None, int | None]]]:
        """InnoDB: scan the key's records, its range of PRIMARY (``ranged``, ``spec.keyrange``) or the whole table
        in key order, current read, lock as it goes."""
        d, spec = self.dialect, self.schema.tables[plan.table]
        session = state.sessions[s]
        rr = session.level == REPEATABLE_READ
        current = self._current(state, s, plan.table)
        committed = by_key(state.tables[plan.table], spec.key)
        present = set(committed) | {k for other in state.sessions for k, _ in table_writes(other, plan.table)} | {
            k for other in state.sessions for t, k in other.locks if t == plan.table}  # a waiting INSERT's rows
        # REPEATABLE READ: the scan passes (and locks) records marked deleted that purge may not have removed
        ghosts = {k for t, k in state.marked if t == plan.table and not any(
            j == k for other in state.sessions for j, _ in table_writes(other, plan.table))} if rr else set()
        ranges = key_ranges(plan.where, spec, d, propagate=isinstance(plan, Select)) if ranged else None
        reads_none = impossible(plan.where, spec, null_checks=isinstance(plan, Select)) or (
            isinstance(plan, Select) and propagated_false(plan.where, d)) or ranges == ()
        key_order = isinstance(plan, Select) and bool(plan.order_by) and _by_key(plan, spec.key)
        limit = plan.offset + plan.limit if isinstance(plan, Select) and key_order and plan.limit is not None else None
        # a range scan runs in ORDER BY order; a table scan in key order unless a LIMIT stops it in ORDER BY order
        descending = isinstance(plan, Select) and key_order and plan.order_by[0][1] and (
            ranges is not None or limit is not None)
        parts = [] if reads_none else reads(present | ghosts, ranges, descending, ghosts)
        records = sorted(present | ghosts)
        # a FOR UPDATE of one key (``const`` in EXPLAIN) keeps its row at READ COMMITTED even when it does not match
        const = isinstance(plan, Select) and ranges is not None and len(ranges) == 1 and ranges[0].point is not None
        resume = session.resume if session.resume and session.resume[0] == plan.table else None
        taken: list[tuple[Row, Row]] = []
        locks: set[tuple[int, int]] = set()
        gaps: set[tuple[int, int | None, int | None]] = set()
        skipped: list[int] = []  # SKIP LOCKED: held records passed over, each with no lock on it or its gap
        kept: frozenset[tuple[int, int | None, int | None]] = frozenset()  # the gaps of the parts read before
        for part in parts:
            if limit is not None and len(taken) >= limit:
                break  # the LIMIT is met: the next range is not started
            # a record skipped leaves its gap open in its own part only: the next may lock that gap on its own
            kept |= open_below(frozenset(gaps), skipped, records)
            gaps, skipped = set(), []

            def gap(stop: int | None, start: int | None = part.start) -> tuple[int, int | None, int | None]:
                """The gap from where the part started up to the record ``stop`` (``None``: the end of the index)."""
                if descending:  # each record read locks the gap below it
                    below = None if stop is None else max((k for k in records if k < stop), default=None)
                    return plan.table, below, start
                return plan.table, start, stop

            first_taken = len(taken)
            for k in part.keys:
                if limit is not None and len(taken) >= limit:
                    break
                if resume is not None and (k > resume[1] if descending else k < resume[1]) \
                        and (plan.table, k) not in session.locks:
                    continue  # behind the cursor of a statement resumed after a wait: InnoDB does not go back
                holders = self._holders(state, s, plan.table, k)
                if holders:
                    if isinstance(plan, Select) and plan.skip_locked:
                        if rr and part.lookup:  # InnoDB's unique search goes on to the next record: its gap
                            gaps.add((plan.table, k, min((r for r in records if r > k), default=None)))
                        else:
                            skipped.append(k)
                        continue
                    waited_here = resume is not None and k == resume[1]
                    if not rr and isinstance(plan, Update) and not part.lookup and not waited_here and (
                            k in part.past or not (k in committed and is_true(plan.where, committed[k], d))):
                        continue  # semi-consistent read: the latest committed version (if any) does not match
                    # (only an UPDATE that scans reads semi-consistently: DELETE and a key lookup wait; a statement
                    # already queued for this row stays queued behind whoever was granted it first)
                    if rr and not part.lookup and not descending:  # next-key locks up to the row, the waiting one
                        gaps.add(gap(k))  # too: InnoDB stops an insert into the gap before that row
                    nowait = isinstance(plan, Select) and plan.nowait
                    event: _Wait | _Error = _Error(LOCK_NOT_AVAILABLE, f"row {k} is locked") if nowait else _Wait(
                        holders, frozenset(locks), kept | frozenset(gaps), (plan.table, k))
                    raise _Marked((plan.table, k), event) if k in ghosts else event
                row = current.get(k)
                if k in ghosts:
                    locks.add((plan.table, k))  # a record marked deleted: locked, never matched
                if row is None:
                    if rr and part.lookup and k in ghosts:  # a unique search meeting a record marked deleted
                        # takes a next-key lock: the record and the gap below it, not the gap above (InnoDB)
                        gaps.add((plan.table, max((r for r in records if r < k), default=None), k))
                    elif rr and part.lookup and k not in present:
                        lower = max((p for p in present if p < k), default=None)
                        upper = min((p for p in present if p > k), default=None)
                        gaps.add((plan.table, lower, upper))
                    continue
                # RC too keeps the row it waited for, matching or not, and the one row a FOR UPDATE reads by
                # ``key = c`` (MariaDB 10.11 reads that row before the rest of the WHERE, and keeps it); MariaDB
                # 10.11 at READ COMMITTED releases the record past an ascending range, not one past a descending one
                if rr or (resume is not None and k == resume[1]) or const or (descending and k in part.past):
                    locks.add((plan.table, k))
                if k not in part.past and is_true(plan.where, row, d):
                    locks.add((plan.table, k))
                    self._check_row(plan, row, frozenset(locks))
                    taken.append((row, row))
            if not rr or part.lookup:
                continue
            if limit is None or len(taken) < limit or (descending and part.span is None):  # read to its end: the
                gaps.add(gap(part.end))  # record past its range (a table scan, or a range to the end: the gap above)
            elif len(taken) > first_taken:  # the LIMIT is met: no row read after its last, whose gap beyond stays open
                last = taken[-1][0][spec.key]
                assert isinstance(last, int), "a table's key is an integer (spec/schema.py)"
                gaps.add(gap(last))
        return taken, frozenset(locks), kept | open_below(frozenset(gaps), skipped, records)


def _subsets(items: frozenset[tuple[int, int]]) -> list[frozenset[tuple[int, int]]]:
    """Every subset of ``items``, the empty one first."""
    ordered = sorted(items)
    return [frozenset(c) for n in range(len(ordered) + 1) for c in combinations(ordered, n)]


def _distinct(steps: Iterable[Step]) -> tuple[Step, ...]:
    """The steps without repeats (kept rows that a deadlock's rollback drops lead to the same state)."""
    return tuple(dict.fromkeys(steps))


def _by_key(plan: Select, key: int) -> bool:
    expr = plan.order_by[0][0]
    return len(plan.order_by) == 1 and getattr(expr, "index", None) == key and type(expr).__name__ == "Col"


def _row_key(row: Row, order: tuple[tuple[Expr, bool], ...], d: Dialect) -> tuple[Any, ...]:
    return tuple(sort_key(evaluate(e, row, d), desc, d) for e, desc in order)


def _ordered(rows: list[Row], order: tuple[tuple[Expr, bool], ...], d: Dialect) -> list[Row]:
    return sorted(rows, key=lambda r: _row_key(r, order, d)) if order else rows


def _waits_for(state: DbState, node: int) -> frozenset[int]:
    """The sessions ``node``'s blocked statement waits for: those it met, and (MariaDB) whoever holds the row
    its scan waits at now (another waiter may have been granted it)."""
    session = state.sessions[node]
    if session.resume is None:
        return session.waiting
    held = {o for o, other in enumerate(state.sessions)
            if o != node and (session.resume in other.locks or session.resume in other.shared)}
    return session.waiting | held


def _chain_may_end(state: DbState, start: int) -> bool:
    """Whether following one blocker per waiter from ``start`` can end at a session that waits for none. MariaDB
    follows the owner of the first conflicting lock in the row's queue, an order the model does not keep, so
    any blocker may be the one; only a waiter with two or more blockers can lead off a cycle. A blocker that no
    longer holds a lock (a victim rolled back, a transaction ended) is none: the engine moved the wait on."""
    seen, todo = {start}, [start]
    while todo:
        blockers = frozenset(b for b in _waits_for(state, todo.pop()) if state.sessions[b].locks
                             or state.sessions[b].gaps or state.sessions[b].shared)
        if not blockers:
            return True
        todo.extend(blockers - seen)
        seen |= blockers
    return False


def _cycle(state: DbState, start: int) -> tuple[int, ...]:
    """The sessions on a wait-for cycle through ``start`` (empty when its wait closes none)."""
    path: list[int] = []

    def walk(node: int, seen: frozenset[int]) -> bool:
        for nxt in sorted(_waits_for(state, node)):
            if nxt == start:
                return True
            if nxt not in seen:
                path.append(nxt)
                if walk(nxt, seen | {nxt}):
                    return True
                path.pop()
        return False

    return (start, *path) if walk(start, frozenset({start})) else ()
