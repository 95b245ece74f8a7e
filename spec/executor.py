"""Run one session's step against the modelled database, as the chosen engine would.

``Engine(schema, dialect)`` runs ``begin``, ``execute``, ``commit`` and ``rollback`` for a session and
returns the possible next states with what the session sees: ``Done`` (a result), ``Blocked`` (waiting
for another session's lock: nothing changed, retry it later) or ``Failed`` (an engine error: roll back).
Usually there is one possibility; a deadlock gives one per transaction the engine might abort.

This module holds the transaction around a statement: BEGIN, COMMIT, ROLLBACK, the end of a session, and a
statement outside a transaction, which runs in a transaction of its own. The statement itself is run by the
layers ``Engine`` is made of, each with the engines' rules for its part (docs/spec-sql.md gives the sources):

- ``spec.reads``: what a session sees (a plain SELECT reads the latest committed rows, or at MariaDB
  REPEATABLE READ the snapshot of its transaction's first plain read) and a SELECT's result;
- ``spec.writes``: INSERT's checks, the rows an UPDATE or a DELETE writes, RETURNING;
- ``spec.postgres_scan``: PostgreSQL READ COMMITTED's locking statements (snapshot, wait, re-check);
- ``spec.mariadb_scan``: MariaDB's current reads with row, gap and next-key locks, at REPEATABLE READ and
  READ COMMITTED;
- ``spec.outcomes``: done, blocked or failed, and deadlocks (``spec.waitgraph``), from the signals a
  statement stops with (``spec.stops``).

SQLite's transactions begin ``BEGIN IMMEDIATE``, so one write transaction at a time: a second BEGIN, or a
write outside a transaction, waits for it, which is a transaction's business and so this module's. Its reads
never wait and see the latest committed rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from spec.dialects import Dialect, dialect
from spec.errors import SourceLocation, Unsupported
from spec.evaluation import matching
from spec.outcomes import Outcomes, Step
from spec.plans import PlanCache
from spec.results import Blocked, Done, Failed, Result
from spec.schema import Schema
from spec.state import DbState, Session, apply_writes, committed, grant_claims, idle_session, opened_session
from spec.statements import Plan, Select, compile_statement

__all__ = ["Engine", "Step"]


@dataclass(frozen=True)
class Engine(Outcomes):
    """The modelled engine: the spec's tables and one dialect's rules; a statement inside a transaction is run
    by the layers it is made of (``spec.outcomes`` and those below it)."""

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
