"""A statement's outcomes: it is done, it waits for a lock (and may close a deadlock), or the engine refuses it.

``Outcomes`` runs one statement of an open transaction: a plain SELECT (``spec.reads``), an INSERT
(``spec.writes``), or a locking statement through its dialect's scan (``spec.postgres_scan``,
``spec.mariadb_scan``; SQLite's writer holds the one write lock already). What stops the scan partway
(``spec.stops``) becomes the session's state here: ``Blocked`` keeps what the statement took before the row
it waits for; ``Failed`` undoes the statement (MariaDB, SQLite) or the whole transaction (PostgreSQL, and a
deadlock's victim on any engine).

A wait that closes a cycle of the wait-for graph (``spec.waitgraph``) is a deadlock: the engine may abort any
transaction on it, so each is offered, and when another session is the victim the statement runs again at
once. MariaDB's deadlock search follows one blocker per waiter, the first in a row's lock queue, an order the
model does not keep: when some such choice leads from the new waiter off the cycle, the model also offers
that the statement stays blocked, and a retry after that blocker ends finds the cycle (docs/spec-sql.md).
On MariaDB an INSERT's duplicate-key check takes a shared lock on the existing row; one that waited for a
held key is granted it when the holder ends, on the row or on the gap it leaves, or (InnoDB grants in queue
order, which the model does not keep) stays behind a statement waiting for that row.

Running a statement and resolving its deadlock need each other (a victim's rollback lets the statement run
again), so they are one module; the transaction around the statement is ``spec.executor``'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import combinations

from spec.errors import DEADLOCK
from spec.evaluation import is_true, matching
from spec.expr import columns_read
from spec.mariadb_scan import MariaDBScan
from spec.postgres_scan import PostgresScan
from spec.results import Blocked, Done, Failed, Outcome, Result
from spec.state import DbState, Tables, grant_claims, purged
from spec.statements import Delete, Insert, Plan, Select, Update
from spec.stops import Either, EngineError, Marked, Wait
from spec.waitgraph import chain_may_end, cycle_through, waits_for

__all__ = ["Outcomes", "Step"]

#: a possible next state of the database and what the session sees
Step = tuple[DbState, Outcome]


class Outcomes(PostgresScan, MariaDBScan):
    """A mixin of ``spec.executor.Engine``: a statement's possible outcomes inside a transaction."""

    __slots__ = ()

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
        except Either as either:  # PostgreSQL meets the rows in heap order: any of them may come first
            return _distinct(step for event in either.events for step in self._stopped(state, s, plan, event))
        except (Wait, EngineError) as event:
            return self._stopped(state, s, plan, event)
        except Marked as marked:  # the record may still be there (it stops the statement) or purged
            return self._stopped(state, s, plan, marked.event) + self._run(purged(state, marked.mark, self.schema),
                                                                           s, plan)
        mine = state.sessions[s]
        if mine.waiting or mine.pending is not None or mine.resume is not None or mine.claim is not None \
                or mine.written_before_wait:  # what a statement that waited kept is over
            state = state.with_session(s, waiting=frozenset(), pending=None, resume=None, claim=None,
                                       written_before_wait=frozenset())
        return ((state, Done(result)),)

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

    def _stopped(self, state: DbState, s: int, plan: Plan, event: Wait | EngineError) -> tuple[Step, ...]:
        """The statement met a held row (``Wait``) or raised an engine error (``EngineError``)."""
        mine = state.sessions[s]
        if isinstance(event, Wait):
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

    def _blocked(self, state: DbState, s: int, plan: Plan, on: frozenset[int]) -> tuple[Step, ...]:
        pending = state.sessions[s].pending or (
            self._kept_snapshot(plan, state.tables) if self.dialect.name == "postgresql" else None)
        waiting = state.with_session(s, waiting=on, pending=pending)
        cycle = cycle_through(waiting, s)
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
                if any(victim in waits_for(state, w) for w in range(len(state.sessions)) if w not in (s, victim)):
                    # a session queued earlier on the victim's rows may take them first: s stays blocked
                    steps.append((aborted.with_session(s, waiting=frozenset()), Blocked(on)))
        if self.dialect.one_blocker_per_waiter and chain_may_end(waiting, s):
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


def _subsets(items: frozenset[tuple[int, int]]) -> list[frozenset[tuple[int, int]]]:
    """Every subset of ``items``, the empty one first."""
    ordered = sorted(items)
    return [frozenset(c) for n in range(len(ordered) + 1) for c in combinations(ordered, n)]


def _distinct(steps: Iterable[Step]) -> tuple[Step, ...]:
    """The steps without repeats (kept rows that a deadlock's rollback drops lead to the same state)."""
    return tuple(dict.fromkeys(steps))
