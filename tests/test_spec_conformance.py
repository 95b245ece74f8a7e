"""The model's SQL is the engines' SQL: Hypothesis writes statement sequences over two small tables,
interleaves them across sessions with BEGIN/COMMIT/ROLLBACK, and the model and each engine (SQLite
always; PostgreSQL and MariaDB from tests/dbengines.py's variables) must agree on every result, row
count, wait and error, at each isolation level the model offers."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dbengines
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, note, seed, settings
from hypothesis import strategies as st
from spec_runner import Interleaving

import spec
from dbdriver.specdb import SpecDatabase

#: every level the model offers, on each engine
LEVELS = [pytest.param((name, level), id=f"{name}-{level.lower().replace(' ', '_')}")
          for name, found in spec.DIALECTS.items() for level in found.levels]
KEYS = st.integers(1, 4)
NUMBERS = st.one_of(st.none(), st.integers(0, 3))


def make_tables() -> tuple[sa.MetaData, sa.Table, sa.Table]:
    """The tables as a spec names them; ``SpecDatabase`` puts them under a prefix on the engine."""
    meta = sa.MetaData()
    a = sa.Table("a", meta, sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                 sa.Column("n", sa.Integer))
    b = sa.Table("b", meta, sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                 sa.Column("n", sa.Integer, nullable=False, default=0), sa.Column("s", sa.String(8)))
    return meta, a, b


INITIAL = {"a": [{"id": 1, "n": 0}, {"id": 2, "n": 1}, {"id": 3, "n": None}],
           "b": [{"id": 1, "n": 2, "s": "x"}, {"id": 2, "n": 0, "s": "X"}, {"id": 3, "n": 1, "s": None}]}


# -- statement descriptions (built against the real Table objects when run) ----------------------------

COMPARISONS = ["=", "!=", "<", "<=", ">", ">="]


def _compared(column: Any, op: str, value: int) -> Any:
    return {"=": column == value, "!=": column != value, "<": column < value, "<=": column <= value,
            ">": column > value, ">=": column >= value}[op]


def _key_condition(draw: Any, t: sa.Table, depth: int = 0) -> Any:
    """A condition on the key alone, which MariaDB reads as a union of ranges of it: a comparison, a list, an OR."""
    choice = draw(st.integers(0, 3 if depth < 2 else 1))
    if choice == 0:
        return _compared(t.c.id, draw(st.sampled_from(COMPARISONS)), draw(st.integers(0, 5)))
    if choice == 1:
        return t.c.id.in_(draw(st.lists(KEYS, max_size=3)))
    if choice == 2:
        return sa.not_(sa.and_(_key_condition(draw, t, depth + 1), _key_condition(draw, t, depth + 1)))
    return sa.or_(_key_condition(draw, t, depth + 1), _key_condition(draw, t, depth + 1))


def _condition(draw: Any, t: sa.Table, depth: int = 0) -> Any:
    choice = draw(st.integers(0, 9 if depth == 0 else 5))
    if choice == 0:
        return t.c.id == draw(KEYS)
    if choice == 1:
        return t.c.id.in_(draw(st.lists(KEYS, max_size=3)))
    if choice == 2:
        return _compared(t.c.n, draw(st.sampled_from(COMPARISONS)), draw(st.integers(0, 3)))
    if choice == 3:
        return t.c.n.is_(None) if draw(st.booleans()) else t.c.n.is_not(None)
    if choice == 4:
        return t.c.n.not_in(draw(st.lists(st.integers(0, 3), max_size=2)))
    if choice == 5:
        return (t.c.n + draw(st.integers(-1, 2))) > t.c.id
    if choice == 6:
        return sa.and_(_condition(draw, t, depth + 1), _condition(draw, t, depth + 1))
    if choice == 7 and "s" in t.c:
        return t.c.s == draw(st.sampled_from(["x", "X", "y"]))
    if choice == 8:
        return _key_condition(draw, t)
    if choice == 9:  # an OR over the key and another column: no range, MariaDB reads the table
        return sa.or_(_key_condition(draw, t), _condition(draw, t, depth + 1))
    return sa.or_(_condition(draw, t, depth + 1), sa.not_(_condition(draw, t, depth + 1)))


@st.composite
def statements(draw: Any, a: sa.Table, b: sa.Table, dialect: spec.Dialect) -> Any:
    t = draw(st.sampled_from([a, b]))
    kind = draw(st.sampled_from(["select", "lock", "lock", "insert", "update", "update", "update", "delete"]))
    where = draw(st.none() | st.builds(lambda: None).map(lambda _: _condition(draw, t)))
    returning = draw(st.booleans())
    if kind == "select":
        shape = draw(st.integers(0, 3))
        if shape == 0:
            stmt = sa.select(t)
        elif shape == 1:
            stmt = sa.select(sa.func.count(), sa.func.sum(t.c.n), sa.func.min(t.c.n), sa.func.max(t.c.n),
                             sa.func.coalesce(sa.func.sum(t.c.n), 0))
        elif shape == 2:
            stmt = sa.select(t.c.n, sa.func.count(t.c.id)).group_by(t.c.n)
        else:
            desc = draw(st.booleans())
            stmt = sa.select(t.c.id, t.c.n).order_by(t.c.n.desc() if desc else t.c.n, t.c.id)
            stmt = stmt.limit(draw(st.integers(0, 3))).offset(draw(st.integers(0, 1)))
        return stmt if where is None else stmt.where(where)
    if kind == "lock":
        stmt = sa.select(t.c.id, t.c.n).order_by(t.c.id).with_for_update(
            skip_locked=dialect.name != "sqlite" and draw(st.booleans()))
        if draw(st.booleans()):
            stmt = stmt.limit(draw(st.integers(1, 2)))
        return stmt if where is None else stmt.where(where)
    if kind == "insert":
        rows = draw(st.lists(st.builds(dict, id=st.integers(2, 6), n=NUMBERS), min_size=1, max_size=2))
        stmt = sa.insert(t).values(rows if len(rows) > 1 else rows[0])
        return stmt.returning(t.c.id, t.c.n) if returning and "insert" in dialect.returning else stmt
    if kind == "update":
        value = draw(st.sampled_from(["minus", "plus", "const", "null"]))
        new = {"minus": t.c.n - 1, "plus": t.c.n + draw(st.integers(1, 2)), "const": draw(st.integers(0, 3)),
               "null": None}[value]
        stmt = sa.update(t).values(n=new)
        stmt = stmt if where is None else stmt.where(where)
        return stmt.returning(t.c.id, t.c.n) if returning and "update" in dialect.returning else stmt
    stmt = sa.delete(t) if where is None else sa.delete(t).where(where)
    return stmt.returning(t.c.id) if returning and "delete" in dialect.returning else stmt


@st.composite
def interleavings(draw: Any, a: sa.Table, b: sa.Table, dialect: spec.Dialect) -> list[tuple[int, str, Any]]:
    """Ops of 2-3 sessions; most statements run inside a transaction (a "begin" is drawn before them) and
    transactions mostly stay open across the other sessions' statements, so they meet each other's locks."""
    sessions = draw(st.integers(2, 3))
    ops: list[tuple[int, str, Any]] = []
    for _ in range(draw(st.integers(4, 14))):
        s = draw(st.integers(0, sessions - 1))
        kind = draw(st.sampled_from(["commit", "rollback"] + ["statement"] * 6))
        if kind == "statement" and draw(st.integers(0, 4)) > 0:
            ops.append((s, "begin", None))  # skipped when the session's transaction is already open
        ops.append((s, kind, draw(statements(a, b, dialect)) if kind == "statement" else None))
    return ops


# -- engines -------------------------------------------------------------------------------------------

class Target:
    """One engine with the two tables, three connected sessions, and the model of it."""

    def __init__(self, name: str, level: str, tmp: Path) -> None:
        self.meta, self.a, self.b = make_tables()
        self.db = SpecDatabase(dbengines.url_for(name, tmp), self.meta, prefix=dbengines.unique_prefix())
        self.db.create(INITIAL)
        self.model = spec.Engine.of(spec.Schema.of([self.a, self.b]), name)
        self.level = level
        self.sessions = self.db.sessions(3, level)
        self.totals = {"examples": 0, "steps": 0, "blocked": 0, "errors": 0, "deadlocks": 0}

    def reset(self) -> spec.DbState:
        self.db.reset(INITIAL)
        state = spec.initial(self.model.schema, INITIAL, 3)
        for s in range(3):
            state = self.model.set_level(state, s, self.level)
        return state

    def close(self) -> None:
        self.sessions.close()
        self.db.drop()
        self.db.dispose()


@pytest.fixture(scope="module", params=LEVELS)
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    name, level = request.param  # pytest passes a pytest.param's values
    made = Target(name, level, tmp_path_factory.mktemp(name))
    yield made
    print(f"\n{name} {level}: {made.totals}")
    made.close()


#: generated interleavings per engine and level: few, so CI's run stays short; a level is confirmed with hundreds
EXAMPLES = int(os.environ.get("SPEC_EXAMPLES", "10"))
#: unset: Hypothesis's derandomized examples, the same in every run (drawn from ``check``'s source, so editing
#: ``check`` changes them); a number: that seed's examples instead
SEED = os.environ.get("SPEC_SEED", "")


def test_the_model_and_the_engine_agree_on_every_interleaving(target: Target) -> None:
    dialect = target.model.dialect

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(ops=interleavings(target.a, target.b, dialect))
    def check(ops: list[tuple[int, str, Any]]) -> None:
        run = Interleaving(target.model, target.reset(), target.sessions, note)
        try:
            for s, kind, statement in ops:
                note(f"session {s}: {kind} {statement if statement is not None else ''}")
                run.step(s, kind, statement)
            run.finish()
        except BaseException:
            target.sessions.release()
            raise
        target.totals["examples"] += 1
        for k, v in run.counts.items():
            target.totals[k] += v

    (seed(int(SEED))(check) if SEED else check)()
    assert target.totals["examples"] >= EXAMPLES


def test_the_comparison_sees_a_model_that_differs_from_the_engine(tmp_path: Path) -> None:
    """Break one rule of the model (SQLite's NULL order) on purpose: the first ordered read must disagree."""
    made = Target("sqlite", spec.SERIAL, tmp_path)
    try:
        wrong = spec.Engine(made.model.schema, dataclasses.replace(made.model.dialect, nulls_sort_high=True))
        run = Interleaving(wrong, made.reset(), made.sessions, lambda _: None)
        with pytest.raises(AssertionError, match="disagree"):
            run.step(0, "statement", sa.select(made.a).order_by(made.a.c.n, made.a.c.id))
        made.sessions.release()
    finally:
        made.close()


def test_a_deadlock_on_the_engine_is_one_the_model_offers(target: Target) -> None:
    """Two transactions lock rows 1 and 2 in opposite orders: the engine aborts one of them, and the model
    must have offered that one (SQLite's single writer makes the second BEGIN wait instead)."""
    a = target.a
    run = Interleaving(target.model, target.reset(), target.sessions, lambda _: None)
    try:
        for s, kind, key in [(0, "begin", 0), (1, "begin", 0), (0, "statement", 1), (1, "statement", 2),
                             (0, "statement", 2), (1, "statement", 1)]:
            run.step(s, kind, sa.update(a).where(a.c.id == key).values(n=a.c.n + 1) if key else None)
        run.finish()
    except BaseException:
        target.sessions.release()
        raise
    assert run.counts["deadlocks"] == (1 if target.model.dialect.row_locks else 0)


def _scan_order(target: Target) -> list[int]:
    """The keys of table ``a`` in the order a full scan meets them: PostgreSQL's heap order (``ctid``), which
    the deletes and inserts between runs change; InnoDB's key order. SQLite has one writer at a time."""
    if target.model.dialect.name != "postgresql":
        return sorted(row["id"] for row in INITIAL["a"])
    real = target.db.tables["a"]
    with target.db.engine.connect() as conn:
        return [k for k, in conn.execute(sa.select(real.c.id).order_by(sa.literal_column("ctid")))]


def test_a_deadlock_inside_one_update_is_one_the_model_offers(target: Target) -> None:
    """Session 1 holds the row that an UPDATE of every row meets second. Session 0's UPDATE locks the first
    and waits for it; session 1 then asks for the first: the deadlock closes inside session 0's statement.
    The model does not know PostgreSQL's heap order: it offers each set of rows as the ones kept, and must
    follow them all until the engine shows which."""
    a = target.a
    state = target.reset()
    first, second, _ = _scan_order(target)
    run = Interleaving(target.model, state, target.sessions, lambda _: None)
    try:
        for s, kind, statement in [
                (1, "begin", None), (1, "statement", sa.update(a).where(a.c.id == second).values(n=7)),
                (0, "begin", None), (0, "statement", sa.update(a).values(n=5)),
                (1, "statement", sa.update(a).where(a.c.id == first).values(n=7))]:
            run.step(s, kind, statement)
        run.finish()
    except BaseException:
        target.sessions.release()
        raise
    assert run.counts["deadlocks"] == (1 if target.model.dialect.row_locks else 0)


def _insert(t: sa.Table, *keys: int) -> Any:
    return sa.insert(t).values([{"id": k, "n": 0} for k in keys])


def _range_after_propagation(b: sa.Table) -> list[tuple[int, str, Any]]:
    """SPEC_SEED=12's case: MariaDB reads n + 0 > id AND n = 0 as id < 0, so the FOR UPDATE waits for row 1 only
    (the record past the range), and both waiting statements finish once session 0 rolls back."""
    return [(0, "begin", None), (0, "statement", sa.update(b).values(n=b.c.n - 1)), (1, "begin", None),
            (1, "statement", sa.update(b).where(b.c.id == 2).values(n=b.c.n - 1)), (2, "begin", None),
            (2, "statement", sa.select(b.c.id, b.c.n).where(sa.and_(b.c.n + 0 > b.c.id, b.c.n == 0))
             .order_by(b.c.id).limit(2).with_for_update()), (0, "rollback", None)]


#: interleavings the generated ones meet too rarely. INSERTs that wait for a row another session holds take a
#: shared lock on it when the holder ends (InnoDB's duplicate check): on a row marked deleted, or in the gap a
#: row rolled back leaves, where it stays; behind a statement that queued for the row first. FOR UPDATE NOWAIT
#: fails at once on a held row (MariaDB: error 1205). An INSERT waits for two sessions' gap locks, and MariaDB,
#: following only the first of them, sees the cycle through the second when the first ends. A FOR UPDATE reads
#: only the key range its WHERE leaves once MariaDB puts n = 0 into the other conjunct. A lookup of a key marked
#: deleted takes a next-key lock on its record
SCENARIOS = {
    "two inserts of a deleted key": lambda a: [
        (0, "begin", None), (0, "statement", sa.delete(a).where(a.c.id == 2)), (1, "begin", None),
        (1, "statement", _insert(a, 2)), (2, "begin", None), (2, "statement", _insert(a, 2)), (0, "commit", None)],
    "two inserts into a rolled-back insert's gap": lambda a: [
        (0, "begin", None), (0, "statement", _insert(a, 5, 6)), (1, "begin", None), (1, "statement", _insert(a, 6)),
        (2, "begin", None), (2, "statement", _insert(a, 5)), (0, "rollback", None)],
    "the gap stays locked after the insert": lambda a: [
        (0, "begin", None), (0, "statement", _insert(a, 4)), (1, "begin", None), (1, "statement", _insert(a, 4)),
        (0, "rollback", None), (2, "begin", None), (2, "statement", _insert(a, 6))],
    "an update queued before an insert takes the row first": lambda a: [
        (0, "begin", None), (0, "statement", sa.update(a).where(a.c.id == 2).values(n=5)), (1, "begin", None),
        (1, "statement", sa.update(a).where(a.c.id == 2).values(n=7)), (2, "begin", None),
        (2, "statement", _insert(a, 2)), (0, "commit", None), (1, "rollback", None)],
    "an insert waiting for two gap lockers meets a cycle through the second": lambda a: [
        (0, "begin", None), (0, "statement", sa.update(a).where(a.c.id == 1).values(n=9)), (1, "begin", None),
        (1, "statement", sa.select(a.c.id).where(a.c.id == 5).with_for_update()), (2, "begin", None),
        (2, "statement", sa.select(a.c.id).where(a.c.id == 6).with_for_update()), (0, "statement", _insert(a, 4)),
        (2, "statement", sa.update(a).where(a.c.id == 1).values(n=8)), (1, "commit", None)],
    "for update nowait on a held row": lambda a: [
        (0, "begin", None), (0, "statement", sa.update(a).where(a.c.id == 1).values(n=9)), (1, "begin", None),
        (1, "statement", sa.select(a.c.id).where(a.c.id.in_([1, 2])).order_by(a.c.id).with_for_update(nowait=True))],
    "a for update reads the key range its where leaves after propagation": lambda a: _range_after_propagation(
        a.metadata.tables["b"]),
    # READ COMMITTED: sessions 2 and 1 queue for row 2, which session 0 changed; once 0 commits, 2 takes it,
    # finds it no longer matching and keeps it; 1, already queued, waits behind 2 (no semi-consistent skip)
    "an update queued for a row stays queued behind the one granted it": lambda a: [
        (0, "begin", None), (0, "statement", sa.update(a).values(n=a.c.n - 1)),
        (2, "begin", None), (2, "statement", sa.update(a).where(a.c.n == 1).values(n=a.c.n - 1)),
        (1, "statement", sa.update(a).where(a.c.n.not_in([0])).values(n=a.c.n - 1)), (0, "commit", None)],
    # session 2's read view keeps purge from removing the record session 0 deletes; session 1's lookup of it
    # locks it and the gap below it (a next-key lock), not the gap above, so an insert above it goes on
    "a lookup of a key marked deleted locks the gap below it, not above": lambda a: [
        (2, "begin", None), (2, "statement", sa.select(a.c.id).order_by(a.c.id)),
        (0, "begin", None), (0, "statement", sa.delete(a).where(a.c.id == 3)), (0, "commit", None),
        (1, "begin", None), (1, "statement", sa.update(a).where(a.c.id == 3).values(n=5)),
        (0, "begin", None), (0, "statement", _insert(a, 4)), (0, "commit", None)],
}


def _locked(a: sa.Table, where: Any, desc: bool = False, limit: int | None = None, skip: bool = False) -> Any:
    stmt = sa.select(a.c.id, a.c.n).where(where).order_by(a.c.id.desc() if desc else a.c.id)
    stmt = stmt.with_for_update(skip_locked=skip)
    return stmt if limit is None else stmt.limit(limit)


def _after(a: sa.Table, first: Any, *then: Any) -> list[tuple[int, str, Any]]:
    """Session 0 runs ``first`` in a transaction; sessions 1 and 2 then run one statement each of ``then`` in
    turn, each in its own transaction, so each meets what ``first`` locked (and 2 what 1 did); 0 commits."""
    ops: list[tuple[int, str, Any]] = [(0, "begin", None), (0, "statement", first)]
    for i, statement in enumerate(then):
        ops += [(1 + i % 2, "begin", None), (1 + i % 2, "statement", statement)]
    return ops + [(0, "commit", None)]


def _set(a: sa.Table, key: int) -> Any:
    return sa.update(a).where(a.c.id == key).values(n=7)


#: MariaDB reads the union of key ranges that OR, IN and NOT leave, not the table: each range in key order with
#: the record past it, a range of one key as a lookup. Each statement is one MariaDB 10.11 was probed with; the
#: statements after it meet the rows and gaps it locked (and, past a wait, those it waits for)
KEY_RANGE_SCENARIOS = {
    "an or of two keys locks those two": lambda a: _after(
        a, sa.update(a).where(sa.or_(a.c.id == 1, a.c.id == 3)).values(n=5), _set(a, 2), _insert(a, 4), _set(a, 3)),
    "an or of two ranges locks each with the record past it": lambda a: _after(
        a, _locked(a, sa.or_(a.c.id < 2, a.c.id > 3)), _set(a, 3), _insert(a, 5), _set(a, 2)),
    "an or of two ranges read descending locks the record past the lower end of each": lambda a: _after(
        a, _locked(a, sa.or_(a.c.id < 2, a.c.id > 3), desc=True), _set(a, 2), _insert(a, 4), _set(a, 3)),
    "an or of a key and a condition on the key and another column": lambda a: _after(
        a, sa.delete(a).where(sa.or_(sa.and_(a.c.id == 1, a.c.n == 5), a.c.id == 3)), _set(a, 2), _insert(a, 4),
        _set(a, 1)),
    "an update of two keys waits for a held one that does not match": lambda a: [
        (1, "begin", None), (1, "statement", _set(a, 1)), (0, "begin", None),
        (0, "statement", sa.update(a).where(sa.or_(sa.and_(a.c.id == 1, a.c.n == 0), a.c.id == 3)).values(n=5)),
        (2, "begin", None), (2, "statement", _set(a, 2)), (1, "rollback", None)],
    "an or of a key and another column reads the table": lambda a: _after(
        a, sa.update(a).where(sa.or_(a.c.id == 1, a.c.n == 1)).values(n=5), _insert(a, 4), _set(a, 3)),
    "a condition and an or of keys": lambda a: _after(
        a, _locked(a, sa.and_(a.c.n == 0, sa.or_(a.c.id == 1, a.c.id == 3))), _set(a, 2), _insert(a, 4), _set(a, 3)),
    "in of two keys": lambda a: _after(a, sa.delete(a).where(a.c.id.in_([1, 3])), _set(a, 2), _insert(a, 4)),
    "in of one key": lambda a: _after(a, _locked(a, a.c.id.in_([2])), _set(a, 1), _insert(a, 4), _set(a, 2)),
    "in of no key or a range": lambda a: _after(
        a, _locked(a, sa.or_(a.c.id.in_([]), a.c.id > 2)), _set(a, 2), _insert(a, 4)),
    "in of three keys may read the table": lambda a: _after(
        a, sa.update(a).where(a.c.id.in_([1, 2, 3])).values(n=5), _insert(a, 4), _insert(a, 0)),
    "not in and not equal read the table": lambda a: _after(
        a, sa.update(a).where(a.c.id.not_in([2])).values(n=5), _set(a, 2), _insert(a, 4)),
    "not equal and a range read the range": lambda a: _after(
        a, sa.delete(a).where(sa.and_(a.c.id != 2, a.c.id < 3)), _insert(a, 4), _set(a, 2), _set(a, 3)),
    "not of an and of ranges is an or of ranges": lambda a: _after(
        a, _locked(a, sa.not_(sa.and_(a.c.id > 1, a.c.id < 3)), desc=True), _set(a, 2), _insert(a, 4)),
    "an or of a key and a range with a limit": lambda a: _after(
        a, _locked(a, sa.or_(a.c.id == 1, a.c.id >= 3), limit=1), _set(a, 3), _insert(a, 4), _set(a, 1)),
    # found by SPEC_SEED=789 with 300 examples at REPEATABLE READ: b.n is NOT NULL, so MariaDB plans the OR as
    # the lookup of a missing key (a gap lock, which a held next-key lock does not stop), not as a table scan
    "is null of a not null column is false before the plan": lambda a: _after(
        a, (b := a.metadata.tables["b"]).select().with_only_columns(b.c.id, b.c.n).order_by(b.c.id).with_for_update(),
        _locked(b, sa.or_(b.c.id == 0, b.c.n.is_(None)))),
}


@pytest.mark.parametrize("scenario", [*SCENARIOS, *KEY_RANGE_SCENARIOS])
def test_the_model_and_the_engine_agree_on_chosen_interleavings(target: Target, scenario: str) -> None:
    run = Interleaving(target.model, target.reset(), target.sessions, lambda _: None)
    try:
        for s, kind, statement in {**SCENARIOS, **KEY_RANGE_SCENARIOS}[scenario](target.a):
            run.step(s, kind, statement)
        run.finish()
    except BaseException:
        target.sessions.release()
        raise


def _skip_locked(a: sa.Table, limit: int | None = None) -> Any:
    stmt = sa.select(a.c.id, a.c.n).order_by(a.c.id).with_for_update(skip_locked=True)
    return stmt if limit is None else stmt.limit(limit)


def _cycle_behind_first_blocker(a: sa.Table, b: sa.Table) -> list[tuple[int, str, Any]]:
    """Session 2 locks all of a (the gap above row 3 too), then session 1's SKIP LOCKED scan of a locks that gap
    only; session 0 holds all of b and inserts key 4 into a, waiting for both; session 1 waits for b's row 1. The
    cycle 0-1 is not seen while session 2 holds its locks: both stay blocked. When session 2 ends, MariaDB follows
    session 0 to session 1 and aborts one of them."""
    return [(0, "begin", None), (0, "statement", sa.update(b).values(n=b.c.n - 1)),
            (2, "begin", None), (2, "statement", sa.update(a).values(n=a.c.n - 1)),
            (1, "begin", None), (1, "statement", _skip_locked(a, limit=1)),
            (0, "statement", sa.insert(a).values([{"id": 4, "n": None}, {"id": 4, "n": None}])),
            (1, "statement", sa.select(b.c.id, b.c.n).order_by(b.c.id).limit(2).with_for_update()),
            (2, "statement", sa.select(b.c.id, b.c.n).where(b.c.id == 4).order_by(b.c.id).with_for_update()),
            (2, "rollback", None)]


#: interleavings with SKIP LOCKED, which SQLite does not have. A scan that skips a held row takes no lock on it
#: or on the gap below it, but locks the gap above the last row. Session 0's INSERT then waits for that gap's two
#: holders; MariaDB follows the first, session 2, which waits for nothing, so session 1's wait for session 0 closes
#: a cycle it does not see until session 2 ends
SKIP_LOCKED_SCENARIOS = {
    "a skip locked scan leaves the gap below a row it skips open": lambda a: [
        (0, "statement", _insert(a, 5)), (2, "begin", None),
        (2, "statement", sa.update(a).where(a.c.id == 5).values(n=9)), (1, "begin", None),
        (1, "statement", _skip_locked(a)), (0, "begin", None), (0, "statement", _insert(a, 4)),
        (0, "statement", _insert(a, 6))],
    "a skip locked scan's gap behind an insert's first blocker hides a cycle": lambda a: _cycle_behind_first_blocker(
        a, a.metadata.tables["b"]),
    "a skip locked lookup of a held key and a range": lambda a: [  # it locks the gap above the key it skips
        (1, "begin", None), (1, "statement", _set(a, 1)), (0, "begin", None),
        (0, "statement", _locked(a, sa.or_(a.c.id == 1, a.c.id > 2), skip=True)), (2, "begin", None),
        (2, "statement", _set(a, 2)), (2, "statement", _insert(a, 4)), (1, "commit", None), (0, "commit", None)],
}


@pytest.mark.parametrize("scenario", list(SKIP_LOCKED_SCENARIOS))
def test_the_model_and_the_engine_agree_on_chosen_skip_locked_interleavings(target: Target, scenario: str) -> None:
    ops = SKIP_LOCKED_SCENARIOS[scenario](target.a)
    if not target.model.dialect.skip_locked:  # SQLite: the model refuses it, as it must
        with pytest.raises(spec.Unsupported, match="SKIP LOCKED on sqlite"):
            target.model.plan(_skip_locked(target.a))
        return
    run = Interleaving(target.model, target.reset(), target.sessions, lambda _: None)
    try:
        for s, kind, statement in ops:
            run.step(s, kind, statement)
        run.finish()
    except BaseException:
        target.sessions.release()
        raise

