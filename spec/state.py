"""The modelled database as one frozen, hashable value: committed tables, and each session's transaction.

Tables are tuples of rows (tuples of values) in primary-key order. A session's uncommitted writes are
whole rows (or ``None`` for a deleted row) by key, per table, kept apart from the committed tables until
it commits: other sessions never see them. Locks are exclusive row locks (and MariaDB gap locks) held
by the session that took them until its transaction ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from spec.errors import Unsupported
from spec.schema import Schema, Value

__all__ = ["DbState", "Row", "Session", "Tables", "committed", "grant_claims", "idle_session", "initial",
           "opened_session", "purged"]

Row = tuple[Value, ...]
#: one tuple of rows per table, each in primary-key order
Tables = tuple[tuple[Row, ...], ...]
#: per table, (key, row or None when deleted) pairs in key order
Writes = tuple[tuple[tuple[int, Row | None], ...], ...]
Gap = tuple[int, int | None, int | None]  # table, lowest key excluded (None: -inf), highest excluded (None: +inf)


@dataclass(frozen=True, slots=True)
class Session:
    """One connection: its open transaction (if any), what it wrote, what it locked, what it waits for."""

    open: bool = False
    level: str = ""  # the isolation level of its open transaction, else its default ("": the dialect's)
    base: str = ""  # its default level (SET SESSION ...): a transaction's own level ends with it
    failed: str | None = None  # the error that stopped its transaction: only ROLLBACK may follow
    doomed: str | None = None  # chosen as a deadlock victim while waiting: its waiting statement fails so
    snapshot: Tables | None = None  # MariaDB REPEATABLE READ: the committed tables at its first plain read
    writes: Writes = ()
    locks: frozenset[tuple[int, int]] = frozenset()
    gaps: frozenset[Gap] = frozenset()
    waiting: frozenset[int] = frozenset()  # the sessions whose locks its current statement waits for
    pending: Tables | None = None  # PostgreSQL: the snapshot a blocked statement started with
    #: MariaDB: the (table, key) at which a blocked statement's scan waits; it resumes there, past the
    #: keys before it that it did not lock (rows inserted or changed behind its cursor stay unseen)
    resume: tuple[int, int] | None = None
    #: MariaDB: shared row locks, taken by an INSERT's duplicate-key check (held to the end, as ``locks``)
    shared: frozenset[tuple[int, int]] = frozenset()
    #: MariaDB: the (table, key) whose shared lock a blocked INSERT's duplicate check waits for; granted when
    #: the holder ends, as a shared lock on the row or, when the row is gone, a gap lock around its key
    claim: tuple[int, int] | None = None
    #: PostgreSQL: the rows a blocked UPDATE, DELETE or INSERT wrote before the row it waits for (the model
    #: applies its writes when it goes on); an INSERT of one of those keys waits for it, as for a written row
    written_before_wait: frozenset[tuple[int, int]] = frozenset()
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def changed(self, changes: Mapping[str, Any]) -> Session:
        """``replace(self, **changes)``, or ``self`` when every field named already holds a value of the same
        type equal to the new one (a copy would be equal: sharing it saves building it)."""
        for name, value in changes.items():
            now = getattr(self, name, _NO_FIELD)
            if now is not value and (type(now) is not type(value) or now != value):
                break
        else:
            return self
        if not _SESSION_FIELDS_SET.issuperset(changes):
            raise TypeError(f"Session has no field {sorted(changes.keys() - _SESSION_FIELDS_SET)[0]!r}")
        return Session(*[changes[n] if n in changes else getattr(self, n) for n in _SESSION_FIELDS])

    def __hash__(self) -> int:  # cached: states are hashed many times as dict keys
        h = self._hash
        if not h:
            h = hash((self.open, self.level, self.base, self.failed, self.doomed, self.snapshot, self.writes,
                      self.locks, self.gaps, self.waiting, self.pending, self.resume, self.shared,
                      self.claim, self.written_before_wait)) or 1
            object.__setattr__(self, "_hash", h)
        return h


#: a Session's fields in order (its constructor's arguments), for ``Session.changed``
_SESSION_FIELDS = tuple(f.name for f in fields(Session) if f.init)
_SESSION_FIELDS_SET = frozenset(_SESSION_FIELDS)
_NO_FIELD = object()  # what ``Session.changed`` reads of a name that is no field: a value no change holds


def idle_session(base: str) -> Session:
    """A session with no transaction, nothing held and nothing awaited, whose default level is ``base``: one
    value per level, shared (a session's end builds it on every statement outside a transaction)."""
    idle = _IDLE.get(base)
    if idle is None:
        idle = _IDLE[base] = Session(level=base, base=base)
    return idle


_IDLE: dict[str, Session] = {}


def opened_session(base: str, level: str) -> Session:
    """An idle session (``idle_session(base)``) that has just begun a transaction at ``level``: one value per
    pair, shared (each statement outside a transaction begins one)."""
    opened = _OPENED.get((base, level))
    if opened is None:
        opened = _OPENED[(base, level)] = Session(open=True, level=level, base=base)
    return opened


_OPENED: dict[tuple[str, str], Session] = {}


@dataclass(frozen=True, slots=True)
class DbState:
    """The committed tables, every session, and (SQLite) the session holding the database's write lock."""

    tables: Tables
    sessions: tuple[Session, ...]
    writer: int | None = None
    #: MariaDB: the (table, key) of rows a committed DELETE marked deleted and purge may not have removed yet;
    #: a REPEATABLE READ locking read locks such a record as it passes it (docs/spec-sql.md, "Purge")
    marked: frozenset[tuple[int, int]] = frozenset()
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __hash__(self) -> int:  # cached: states are hashed many times as dict keys
        h = self._hash
        if not h:
            h = hash((self.tables, self.sessions, self.writer, self.marked)) or 1
            object.__setattr__(self, "_hash", h)
        return h

    def session(self, s: int) -> Session:
        if not 0 <= s < len(self.sessions):
            raise Unsupported(f"session {s} (the state has {len(self.sessions)})")
        return self.sessions[s]

    def with_session(self, s: int, **changes: Any) -> DbState:
        """The state with session ``s``'s fields ``changes`` set: this very state when each already has its
        value (a statement's every step sets a session's fields, most often to what they are)."""
        old = self.sessions[s]
        new = old.changed(changes)
        if new is old:
            return self
        sessions = list(self.sessions)
        sessions[s] = new
        return DbState(self.tables, tuple(sessions), self.writer, self.marked)


    def with_session_as(self, s: int, session: Session) -> DbState:
        """The state with session ``s`` replaced by ``session``."""
        sessions = list(self.sessions)
        sessions[s] = session
        return DbState(self.tables, tuple(sessions), self.writer, self.marked)

    def permuted(self, order: tuple[int, ...]) -> DbState:
        """The same database with session ``order[i]`` renamed ``i`` (for symmetry between workers)."""
        new = {old: i for i, old in enumerate(order)}
        sessions = tuple(
            replace(self.sessions[old], waiting=frozenset(new[w] for w in self.sessions[old].waiting))
            if self.sessions[old].waiting else self.sessions[old]
            for old in order
        )
        return DbState(self.tables, sessions, None if self.writer is None else new[self.writer], self.marked)


def by_key(rows: Iterable[Row], key: int) -> dict[int, Row]:
    return {r[key]: r for r in rows}  # type: ignore[misc]


def overlay(base: Mapping[int, Row], writes: Iterable[tuple[int, Row | None]]) -> dict[int, Row]:
    """``base`` with a session's writes applied on top (a ``None`` write removes the row)."""
    view = dict(base)
    for k, row in writes:
        if row is None:
            view.pop(k, None)
        else:
            view[k] = row
    return view


def visible(rows: tuple[Row, ...], writes: tuple[tuple[int, Row | None], ...], key: int) -> Sequence[Row]:
    """``rows`` with ``writes`` on top (``overlay``), in key order: ``rows`` themselves when there are no writes
    and their keys ascend, as a table's do (a statement reads them on every step: no dict to build, no sort)."""
    if not writes:
        prev: Any = None
        for row in rows:
            k = row[key]
            if prev is not None and not prev < k:
                break
            prev = k
        else:
            return rows
    view = overlay(by_key(rows, key), writes)
    return [view[k] for k in sorted(view)]


def table_writes(session: Session, table: int) -> tuple[tuple[int, Row | None], ...]:
    return session.writes[table] if session.writes else ()


def add_writes(session: Session, table: int, new: Mapping[int, Row | None], n_tables: int) -> Writes:
    empty: tuple[tuple[int, Row | None], ...] = ()
    writes = list(session.writes) if session.writes else [empty for _ in range(n_tables)]
    merged = dict(writes[table])
    merged.update(new)
    writes[table] = tuple(sorted(merged.items()))
    return tuple(writes)


def apply_writes(tables: Tables, writes: Writes, schema: Schema) -> Tables:
    """The committed tables after a transaction with ``writes`` commits."""
    if not writes:
        return tables
    out = []
    for t, rows in enumerate(tables):
        if not writes[t]:
            out.append(rows)
            continue
        key = schema.tables[t].key
        view = overlay(by_key(rows, key), writes[t])
        out.append(tuple(view[k] for k in sorted(view)))
    return tuple(out)


def committed(state: DbState, s: int, schema: Schema, marks: bool) -> DbState:
    """Session ``s``'s writes are committed; with ``marks`` (MariaDB) the committed rows it deleted stay in the
    table as marked records until purge, which the model does not time (a key written again is no longer one)."""
    writes = state.sessions[s].writes
    if not writes:
        return state  # nothing written: the same state, not an equal copy
    tables = apply_writes(state.tables, writes, schema)
    if not marks:
        return DbState(tables, state.sessions, state.writer, state.marked)
    keys = [schema.tables[t].key for t in range(len(tables))]
    deleted = {(t, k) for t, table in enumerate(writes) for k, row in table if row is None
               and any(r[keys[t]] == k for r in state.tables[t])}
    present = {(t, r[keys[t]]) for t, rows in enumerate(tables) for r in rows}
    return replace(state, tables=tables, marked=frozenset((state.marked | deleted) - present))


def purged(state: DbState, mark: tuple[int, int], schema: Schema) -> DbState:
    """Purge removes the marked record ``mark``: the locks on it move to the gap it leaves (InnoDB inherits
    them to the next record's gap), between the keys still there."""
    table, k = mark
    key = schema.tables[table].key
    there = {r[key] for r in state.tables[table]} | {
        j for other in state.sessions for j, _ in table_writes(other, table)}
    keys = [j for j in there if isinstance(j, int)]  # every key is an integer (spec/schema.py)
    gap = (table, max((j for j in keys if j < k), default=None), min((j for j in keys if j > k), default=None))
    sessions = tuple(
        replace(other, locks=other.locks - {mark}, shared=other.shared - {mark}, gaps=other.gaps | {gap})
        if (mark in other.locks or mark in other.shared) and all(j != k for j, _ in table_writes(other, table))
        else other for other in state.sessions)
    return replace(state, sessions=sessions, marked=state.marked - {mark})


def grant_claims(state: DbState, s: int, committed: bool, schema: Schema) -> DbState:
    """Session ``s`` is ending: each INSERT waiting (``claim``) for a row ``s`` locked gets its duplicate check's
    shared lock, as InnoDB grants it. On a row still in the table (a delete that commits only marks it) it is a
    shared lock on the row (a record marked deleted counts: purge may not have run); on a row that is gone (an
    insert rolled back) InnoDB moves it to the gap the row leaves, so it becomes a gap lock between the keys
    still there (MariaDB does this at READ COMMITTED too)."""
    held = state.sessions[s].locks
    waiters = [w for w, other in enumerate(state.sessions) if w != s and other.claim in held]
    for w in waiters:
        table, k = state.sessions[w].claim  # type: ignore[misc]
        key = schema.tables[table].key
        there = {r[key] for r in state.tables[table]} | {
            j for o, other in enumerate(state.sessions) if o != s or committed
            for j, _ in table_writes(other, table)} | {
            j for o, other in enumerate(state.sessions) if o != s for t, j in other.locks | other.shared if t == table
        } | {j for t, j in state.marked if t == table}  # a record marked deleted may not be purged yet
        mine = state.sessions[w]
        if k in there:
            state = state.with_session(w, shared=mine.shared | {(table, k)}, claim=None)
        else:
            keys = [j for j in there if isinstance(j, int)]  # every key is an integer (spec/schema.py)
            lower = max((j for j in keys if j < k), default=None)
            upper = min((j for j in keys if j > k), default=None)
            state = state.with_session(w, gaps=mine.gaps | {(table, lower, upper)}, claim=None)
    return state


def initial(schema: Schema, rows: Mapping[str, Iterable[Mapping[str, Value]]], sessions: int) -> DbState:
    """The state with ``rows`` committed (missing columns take their defaults) and ``sessions`` idle sessions."""
    tables: list[tuple[Row, ...]] = []
    for spec in schema.tables:
        found: dict[int, Row] = {}
        for given in rows.get(spec.name, ()):
            unknown = set(given) - {c.name for c in spec.columns}
            if unknown:
                raise Unsupported(f"initial rows of {spec.name}: unknown columns {sorted(unknown)}")
            row = tuple(given.get(c.name, c.default) for c in spec.columns)
            k = row[spec.key]
            if not isinstance(k, int) or k in found:
                raise Unsupported(f"initial rows of {spec.name}: a missing or repeated key {k!r}")
            found[k] = row
        tables.append(tuple(found[k] for k in sorted(found)))
    unknown_tables = set(rows) - set(schema.names)
    if unknown_tables:
        raise Unsupported(f"initial rows for tables not in the schema: {sorted(unknown_tables)}")
    return DbState(tuple(tables), tuple(idle_session("") for _ in range(sessions)))
