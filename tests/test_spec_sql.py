"""The model's SQL, one construct and one known anomaly at a time, per dialect and isolation level."""

from __future__ import annotations

import dataclasses
import pickle

import pytest
import sqlalchemy as sa

import spec

META = sa.MetaData()
T = sa.Table("t", META, sa.Column("id", sa.Integer, primary_key=True), sa.Column("n", sa.Integer))
SCHEMA = spec.Schema.of(META)
ROWS = {"t": [{"id": 1, "n": 5}, {"id": 2, "n": None}, {"id": 3, "n": 1}]}


def start(dialect: str, level: str | None = None, sessions: int = 2) -> tuple[spec.Engine, spec.DbState]:
    engine = spec.Engine.of(SCHEMA, dialect)
    state = spec.initial(SCHEMA, ROWS, sessions)
    if level:
        for s in range(sessions):
            state = engine.set_level(state, s, level)
    return engine, state


def run(engine: spec.Engine, state: spec.DbState, s: int, statement: object) -> tuple[spec.DbState, spec.Outcome]:
    (after, outcome), = engine.execute(state, s, statement)
    return after, outcome


def rows(outcome: spec.Outcome) -> list[tuple[object, ...]]:
    assert isinstance(outcome, spec.Done), outcome
    return outcome.result.all()


@pytest.mark.parametrize(("dialect", "expected"), [
    ("postgresql", [(3, 1), (1, 5), (2, None)]),  # NULL sorts high: last for ASC
    ("mysql", [(2, None), (3, 1), (1, 5)]),
    ("sqlite", [(2, None), (3, 1), (1, 5)]),
])
def test_null_ordering_follows_the_dialect(dialect: str, expected: list[tuple[object, ...]]) -> None:
    engine, state = start(dialect)
    _, outcome = run(engine, state, 0, sa.select(T).order_by(T.c.n, T.c.id))
    assert rows(outcome) == expected


def test_where_uses_three_valued_logic() -> None:
    engine, state = start("postgresql")
    _, kept = run(engine, state, 0, sa.select(T.c.id).where(sa.not_(T.c.n > 2)).order_by(T.c.id))
    assert rows(kept) == [(3,)]  # NOT (NULL > 2) is unknown: row 2 is not kept
    _, not_in = run(engine, state, 0, sa.select(T.c.id).where(T.c.n.not_in([5, None])).order_by(T.c.id))
    assert rows(not_in) == []  # x NOT IN (5, NULL) is never true


def test_aggregates_and_update_expressions() -> None:
    engine, state = start("sqlite")
    state, done = run(engine, state, 0, sa.update(T).where(T.c.n.is_not(None)).values(n=T.c.n - 1)
                      .returning(T.c.id, T.c.n))
    assert isinstance(done, spec.Done) and done.result.rowcount == 2 and sorted(done.result.rows) == [(1, 4), (3, 0)]
    _, agg = run(engine, state, 0, sa.select(sa.func.count(), sa.func.sum(T.c.n), sa.func.max(T.c.n),
                                             sa.func.coalesce(sa.func.min(T.c.n), 9)))
    assert rows(agg) == [(3, 4, 4, 0)]


@pytest.mark.parametrize(("construct", "statement"), [
    ("UPDATE ... RETURNING on mysql", sa.update(T).values(n=1).returning(T.c.id)),
    ("LIMIT/OFFSET without an ORDER BY", sa.select(T).limit(1)),
    ("function abs()", sa.select(sa.func.abs(T.c.n))),
    ("join", sa.select(T).join(sa.table("u", sa.column("id")), sa.true())),
    ("INSERT into t without a value for its key", sa.insert(T).values(n=1)),
])
def test_what_is_not_modelled_is_refused_with_the_construct_and_place(construct: str, statement: object) -> None:
    engine, state = start("mysql")
    with pytest.raises(spec.Unsupported) as refused:
        engine.execute(state, 0, statement, spec.SourceLocation("myspec.py", 12))
    assert str(refused.value).startswith("myspec.py:12: ")
    assert construct.split()[0].lower() in str(refused.value).lower() and refused.value.construct


@pytest.mark.parametrize("dialect", ["postgresql", "mysql"])
def test_read_committed_allows_the_lost_update_of_a_plain_read_then_write(dialect: str) -> None:
    engine, state = start(dialect, spec.READ_COMMITTED)
    seen = {}
    for s in (0, 1):
        state, _ = engine.begin(state, s)
        state, read = run(engine, state, s, sa.select(T.c.n).where(T.c.id == 1))
        seen[s] = rows(read)[0][0]
    state, _ = run(engine, state, 0, sa.update(T).where(T.c.id == 1).values(n=seen[0] + 1))
    state, _ = engine.commit(state, 0)
    state, _ = run(engine, state, 1, sa.update(T).where(T.c.id == 1).values(n=seen[1] + 1))
    state, _ = engine.commit(state, 1)
    _, final = run(engine, state, 0, sa.select(T.c.n).where(T.c.id == 1))
    assert rows(final) == [(6,)]  # two increments, one survives


@pytest.mark.parametrize("dialect", ["postgresql", "mysql"])
def test_for_update_blocks_until_the_holder_commits_and_then_sees_its_write(dialect: str) -> None:
    engine, state = start(dialect, spec.READ_COMMITTED)
    lock = sa.select(T.c.n).where(T.c.id == 1).with_for_update()
    state, _ = engine.begin(state, 0)
    state, _ = engine.begin(state, 1)
    state, _ = run(engine, state, 0, lock)
    state, waits = run(engine, state, 1, lock)
    assert waits == spec.Blocked(frozenset({0}))
    state, _ = run(engine, state, 0, sa.update(T).where(T.c.id == 1).values(n=T.c.n + 1))
    state, still = run(engine, state, 1, lock)
    assert isinstance(still, spec.Blocked)
    state, _ = engine.commit(state, 0)
    state, got = run(engine, state, 1, lock)
    assert rows(got) == [(6,)]


def test_skip_locked_passes_over_a_held_row() -> None:
    engine, state = start("postgresql")
    state, _ = engine.begin(state, 0)
    state, _ = engine.begin(state, 1)
    first = sa.select(T.c.id).order_by(T.c.id).limit(1).with_for_update(skip_locked=True)
    state, a = run(engine, state, 0, first)
    state, b = run(engine, state, 1, first)
    assert rows(a) == [(1,)] and rows(b) == [(2,)]


def test_mariadb_repeatable_read_plain_reads_a_snapshot_but_update_reads_the_latest() -> None:
    engine, state = start("mysql", spec.REPEATABLE_READ)
    state, _ = engine.begin(state, 0)
    state, before = run(engine, state, 0, sa.select(T.c.n).where(T.c.id == 1))
    state, _ = run(engine, state, 1, sa.update(T).where(T.c.id == 1).values(n=10))  # autocommits
    state, again = run(engine, state, 0, sa.select(T.c.n).where(T.c.id == 1))
    assert rows(before) == rows(again) == [(5,)]  # the snapshot
    state, _ = run(engine, state, 0, sa.update(T).where(T.c.id == 1).values(n=T.c.n + 1))
    _, after = run(engine, state, 0, sa.select(T.c.n).where(T.c.id == 1))
    assert rows(after) == [(11,)]  # the current read built on the other session's committed 10


def test_postgres_read_committed_rechecks_the_newest_version_after_waiting() -> None:
    engine, state = start("postgresql")
    state, _ = engine.begin(state, 0)
    state, _ = run(engine, state, 0, sa.update(T).where(T.c.id == 1).values(n=0))
    state, waits = run(engine, state, 1, sa.update(T).where(T.c.n == 5).values(n=7))
    assert waits == spec.Blocked(frozenset({0}))
    state, _ = engine.commit(state, 0)
    state, done = run(engine, state, 1, sa.update(T).where(T.c.n == 5).values(n=7))
    assert isinstance(done, spec.Done) and done.result.rowcount == 0  # n is 0 now: the row no longer matches


_META3 = sa.MetaData()
U = sa.Table("u", _META3, sa.Column("id", sa.Integer, primary_key=True), sa.Column("n", sa.Integer),
             sa.Column("m", sa.Integer, nullable=False))
_U = spec.Schema.of(_META3)


def _blocked_behind_row_1(m_of_row_2: int, statement: object) -> tuple[spec.Engine, spec.DbState]:
    """PostgreSQL: session 0 holds row 1 of ``u`` and set its n to 6; session 1's ``statement`` waits for it."""
    engine = spec.Engine.of(_U, "postgresql")
    state = spec.initial(_U, {"u": [{"id": 1, "n": 5, "m": 1}, {"id": 2, "n": 5, "m": m_of_row_2},
                                    {"id": 3, "n": 1, "m": 1}]}, 2)
    state, _ = engine.begin(state, 0)
    state, _ = run(engine, state, 0, sa.update(U).where(U.c.id == 1).values(n=6))
    state, waits = engine.execute(state, 1, statement)[0]  # the first branch keeps no row met in heap order
    assert waits == spec.Blocked(frozenset({0}))
    return engine, state


_WAITING = [
    sa.update(U).where(U.c.n == 5).values(n=U.c.n + 1),
    sa.update(U).where(U.c.n >= 5).values(m=U.c.n),
    sa.delete(U).where(U.c.n == 5),
    sa.select(U.c.id, U.c.m).where(U.c.n >= 1).order_by(U.c.n, U.c.id).with_for_update(),
]


@pytest.mark.parametrize("statement", _WAITING)
def test_a_waiting_postgres_statement_keeps_only_the_part_of_its_snapshot_it_reads_again(statement: object) -> None:
    """Two waits that differ only in a column the statement never reads again (m of row 2: its SET may write
    m, its SELECT list may name m, but both take the newest row) are one state; a column it reads is kept."""
    assert _blocked_behind_row_1(1, statement)[1].sessions[1] == _blocked_behind_row_1(2, statement)[1].sessions[1]
    assert _blocked_behind_row_1(1, statement)[1].sessions[1].pending != _blocked_tables(1)


def test_a_waiting_postgres_statement_keeps_the_columns_its_where_and_order_read() -> None:
    statement = sa.select(U.c.id).where(U.c.n >= 1).order_by(U.c.m, U.c.id).with_for_update()
    assert _blocked_behind_row_1(1, statement)[1].sessions[1] != _blocked_behind_row_1(2, statement)[1].sessions[1]


@pytest.mark.parametrize("statement", _WAITING)
@pytest.mark.parametrize("end", ["commit", "rollback"])
def test_a_waiting_postgres_statement_resumes_as_it_would_from_its_whole_snapshot(statement: object, end: str) -> None:
    """The kept part of the snapshot gives the statement the same outcome as the snapshot of every row."""
    engine, state = _blocked_behind_row_1(2, statement)
    whole = state.with_session(1, pending=_blocked_tables(2))
    assert whole != state
    state, _ = (engine.commit if end == "commit" else engine.rollback)(state, 0)
    whole, _ = (engine.commit if end == "commit" else engine.rollback)(whole, 0)
    kept_after, kept = run(engine, state, 1, statement)
    whole_after, from_whole = run(engine, whole, 1, statement)
    assert kept == from_whole
    assert kept_after.tables == whole_after.tables and kept_after.sessions[1] == whole_after.sessions[1]


def _blocked_tables(m_of_row_2: int) -> object:
    """The committed tables when session 1 began to wait: every row, every column."""
    return spec.initial(_U, {"u": [{"id": 1, "n": 5, "m": 1}, {"id": 2, "n": 5, "m": m_of_row_2},
                                   {"id": 3, "n": 1, "m": 1}]}, 2).tables


@pytest.mark.parametrize("dialect", ["postgresql", "mysql"])
def test_a_deadlock_aborts_one_of_the_two_transactions(dialect: str) -> None:
    engine, state = start(dialect, spec.READ_COMMITTED)
    for s in (0, 1):
        state, _ = engine.begin(state, s)
        state, _ = run(engine, state, s, sa.update(T).where(T.c.id == s + 1).values(n=0))
    state, waits = run(engine, state, 0, sa.update(T).where(T.c.id == 2).values(n=1))
    assert waits == spec.Blocked(frozenset({1}))
    branches = engine.execute(state, 1, sa.update(T).where(T.c.id == 1).values(n=1))
    outcomes = [o for _, o in branches]
    assert outcomes[0] == spec.Failed(spec.DEADLOCK, "session 1: deadlock detected")  # the requester
    other_state, other = branches[1]
    assert isinstance(other, spec.Done)  # or the waiting session is chosen; its statement then fails
    (_, victim), = engine.execute(other_state, 0, sa.update(T).where(T.c.id == 2).values(n=1))
    assert isinstance(victim, spec.Failed) and victim.error == spec.DEADLOCK


def test_sqlite_has_one_writer_at_a_time() -> None:
    engine, state = start("sqlite")
    state, _ = engine.begin(state, 0)
    state, waits = engine.begin(state, 1)
    assert waits == spec.Blocked(frozenset({0}))
    state, write = run(engine, state, 1, sa.delete(T))
    assert write == spec.Blocked(frozenset({0}))
    _, read = run(engine, state, 1, sa.select(sa.func.count()).select_from(T))
    assert rows(read) == [(3,)]


def test_states_are_hashable_values() -> None:
    engine, state = start("postgresql")
    state, _ = engine.begin(state, 0)
    one, _ = run(engine, state, 0, sa.update(T).where(T.c.id == 1).values(n=2))
    two, _ = run(engine, state, 0, sa.update(T).where(T.c.id == 1).values(n=2))
    assert one == two and hash(one) == hash(two) and one != state


@pytest.mark.parametrize(("dialect", "level"), [("mysql", "SERIALIZABLE"), ("postgresql", spec.REPEATABLE_READ),
                                              ("sqlite", spec.READ_COMMITTED)])
def test_a_level_the_model_does_not_model_is_refused(dialect: str, level: str) -> None:
    state = spec.initial(SCHEMA, ROWS, 1)
    with pytest.raises(spec.Unsupported, match=f"isolation level '{level}' on {dialect} \\(modelled: "):
        spec.Engine.of(SCHEMA, dialect).set_level(state, 0, level)
    with pytest.raises(spec.Unsupported, match=f"isolation level '{level}'"):
        spec.Engine.of(SCHEMA, dialect).begin(state, 0, level)


def test_a_statement_outside_a_transaction_leaves_the_session_level_as_it_was() -> None:
    """Its level is the statement's only: a session that ran one is the same as one that did not."""
    engine, state = start("postgresql")
    after, outcome = run(engine, state, 0, sa.update(T).where(T.c.id == 1).values(n=6))
    assert isinstance(outcome, spec.Done)
    assert after.sessions == state.sessions


# -- MariaDB READ COMMITTED: what the conformance test and experiments on MariaDB 10.11 showed -----------

def _held(level: str = spec.READ_COMMITTED, sessions: int = 2) -> tuple[spec.Engine, spec.DbState]:
    """Session 0 holds row 2 (committed n is NULL, its own version n = 0); session 1's transaction is open."""
    engine, state = start("mysql", level, sessions)
    state, _ = engine.begin(state, 0)
    state, _ = run(engine, state, 0, sa.update(T).where(T.c.id == 2).values(n=0))
    state, _ = engine.begin(state, 1)
    return engine, state


@pytest.mark.parametrize(("statement", "waits"), [
    (sa.update(T).where(T.c.n == 5).values(n=7), False),  # a table scan: semi-consistent, row 2 passed
    (sa.update(T).where(T.c.id.in_([1, 2]), T.c.n == 5).values(n=7), True),  # a key lookup waits
    (sa.delete(T).where(T.c.n == 5), True),  # DELETE never reads semi-consistently
])
def test_mariadb_read_committed_reads_a_held_row_semi_consistently_only_in_an_update_scanning_the_table(
        statement: object, waits: bool) -> None:
    engine, state = _held()
    _, outcome = run(engine, state, 1, statement)
    if waits:
        assert outcome == spec.Blocked(frozenset({0}))
    else:
        assert isinstance(outcome, spec.Done) and outcome.result.rowcount == 1


def test_mariadb_read_committed_update_scanning_the_table_passes_another_sessions_uncommitted_insert() -> None:
    engine, state = start("mysql", spec.READ_COMMITTED)
    state, _ = engine.begin(state, 0)
    state, _ = run(engine, state, 0, sa.insert(T).values(id=4, n=0))
    state, _ = engine.begin(state, 1)
    _, update = run(engine, state, 1, sa.update(T).where(T.c.n.is_not(None)).values(n=9))
    assert isinstance(update, spec.Done) and update.result.rowcount == 2  # row 4 has no committed version
    _, delete = run(engine, state, 1, sa.delete(T).where(T.c.n.is_not(None)))
    assert delete == spec.Blocked(frozenset({0}))


@pytest.mark.parametrize("level", [spec.READ_COMMITTED, spec.REPEATABLE_READ])
@pytest.mark.parametrize("in_transaction", [True, False])
def test_a_waiting_mariadb_statement_keeps_the_rows_it_locked_so_a_deadlock_closes_inside_it(
        level: str, in_transaction: bool) -> None:
    engine, state = start("mysql", level)
    state, _ = engine.begin(state, 1)
    state, _ = run(engine, state, 1, sa.update(T).where(T.c.id == 2).values(n=0))
    if in_transaction:
        state, _ = engine.begin(state, 0)
    state, waits = run(engine, state, 0, sa.select(T.c.id).order_by(T.c.id).with_for_update())
    assert waits == spec.Blocked(frozenset({1}))  # row 1 locked, waiting for row 2
    branches = engine.execute(state, 1, sa.update(T).where(T.c.id == 1).values(n=0))
    assert branches[0][1] == spec.Failed(spec.DEADLOCK, "session 1: deadlock detected")
    state, done = branches[1]
    assert isinstance(done, spec.Done)  # or session 0, waiting, is the victim: its statement fails
    state, victim = run(engine, state, 0, sa.select(T.c.id).order_by(T.c.id).with_for_update())
    assert isinstance(victim, spec.Failed) and victim.error == spec.DEADLOCK
    assert state.sessions[0].failed == (spec.DEADLOCK if in_transaction else None)  # a ROLLBACK is due inside one


def test_a_mariadb_statement_resumed_after_a_wait_does_not_see_rows_behind_its_cursor() -> None:
    engine, state = _held(sessions=3)
    lock = sa.select(T.c.id, T.c.n).where(T.c.n == 0).order_by(T.c.id).with_for_update()
    state, waits = run(engine, state, 1, lock)
    assert waits == spec.Blocked(frozenset({0}))
    state, moved = run(engine, state, 2, sa.update(T).where(T.c.id == 1).values(n=0))  # row 1 was passed
    assert isinstance(moved, spec.Done) and moved.result.rowcount == 1
    state, _ = engine.commit(state, 0)
    _, resumed = run(engine, state, 1, lock)
    assert rows(resumed) == [(2, 0)]  # not row 1, which now matches but lies behind the cursor


def test_a_waiting_mariadb_insert_keeps_the_rows_it_inserted_before_the_wait() -> None:
    engine, state = start("mysql", spec.READ_COMMITTED, sessions=3)
    state, _ = engine.begin(state, 0)
    state, _ = run(engine, state, 0, sa.insert(T).values(id=5, n=0))
    state, _ = engine.begin(state, 1)
    state, waits = run(engine, state, 1, sa.insert(T).values([{"id": 4, "n": 0}, {"id": 5, "n": 1}]))
    assert waits == spec.Blocked(frozenset({0}))
    _, update = run(engine, state, 2, sa.update(T).where(T.c.id == 4).values(n=1))
    assert update == spec.Blocked(frozenset({1}))


def test_mariadb_folds_is_null_on_a_not_null_column_in_a_select_only() -> None:
    meta = sa.MetaData()
    u = sa.Table("u", meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("n", sa.Integer, nullable=False))
    engine = spec.Engine.of(spec.Schema.of(meta), "mysql")
    state = spec.initial(engine.schema, {"u": [{"id": 1, "n": 0}]}, 2)
    for s in (0, 1):
        state, _ = engine.begin(state, s)
    state, _ = run(engine, state, 0, sa.update(u).values(n=u.c.n + 1))
    _, lock = run(engine, state, 1, sa.select(u.c.id).where(u.c.n.is_(None), u.c.id.in_([1])).with_for_update())
    assert rows(lock) == []  # "Impossible WHERE": no row read, none waited for
    for write in (sa.update(u).where(u.c.n.is_(None), u.c.id.in_([1])).values(n=2),
                  sa.delete(u).where(u.c.n.is_(None))):
        _, waits = run(engine, state, 1, write)
        assert waits == spec.Blocked(frozenset({0}))  # an UPDATE or DELETE reads the rows all the same


def test_mariadb_reads_no_row_for_key_conditions_that_contradict_each_other() -> None:
    engine, state = _held()
    _, outcome = run(engine, state, 1, sa.select(T.c.id).where(T.c.id.in_([2, 4]), T.c.id == 3).with_for_update())
    assert rows(outcome) == []  # row 2 is neither read nor waited for


def test_a_waiting_mariadb_repeatable_read_scan_stops_inserts_into_the_gaps_up_to_the_row_it_waits_for() -> None:
    engine, state = start("mysql", spec.REPEATABLE_READ, sessions=3)
    for s in range(3):
        state, _ = engine.begin(state, s)
    state, _ = run(engine, state, 0, sa.insert(T).values(id=5, n=0))
    state, waits = run(engine, state, 1, sa.update(T).values(n=0))
    assert waits == spec.Blocked(frozenset({0}))  # rows 1-3 locked, waiting for row 5
    _, insert = run(engine, state, 2, sa.insert(T).values(id=4, n=0))
    assert insert == spec.Blocked(frozenset({1}))  # the gap before row 5 is the waiting lock's


def test_mariadb_read_committed_keeps_the_row_it_waited_for_even_when_it_no_longer_matches() -> None:
    engine, state = _held(sessions=3)
    update = sa.update(T).where(T.c.n.is_(None)).values(n=7)  # row 2's committed version matches: it waits
    state, waits = run(engine, state, 1, update)
    assert waits == spec.Blocked(frozenset({0}))
    state, _ = engine.commit(state, 0)  # row 2 is n = 0 now
    state, done = run(engine, state, 1, update)
    assert isinstance(done, spec.Done) and done.result.rowcount == 0
    _, other = run(engine, state, 2, sa.update(T).where(T.c.id == 2).values(n=1))
    assert other == spec.Blocked(frozenset({1}))


def test_after_a_deadlock_a_session_queued_earlier_on_the_victims_rows_may_take_them_first() -> None:
    engine, state = start("mysql", spec.READ_COMMITTED, sessions=3)
    for s in range(3):
        state, _ = engine.begin(state, s)
    state, _ = run(engine, state, 2, sa.update(T).where(T.c.id == 2).values(n=0))
    state, _ = run(engine, state, 0, sa.update(T).values(n=0))  # locks row 1, waits for row 2
    state, _ = run(engine, state, 1, sa.delete(T))  # queued on row 1
    closing = sa.update(T).values(n=T.c.n - 1)
    branches = engine.execute(state, 2, closing)  # waits for row 1: a cycle with session 0
    assert [type(o) for _, o in branches] == [spec.Failed, spec.Done, spec.Blocked]
    state, _ = branches[2]  # session 0 is the victim, and session 1, queued first, gets row 1
    state, victim = run(engine, state, 0, sa.update(T).values(n=0))
    assert isinstance(victim, spec.Failed) and victim.error == spec.DEADLOCK
    second = engine.execute(state, 1, sa.delete(T))  # row 1 taken, waits for row 2: a cycle with session 2
    state, second_victim = second[0]
    assert second_victim == spec.Failed(spec.DEADLOCK, "session 1: deadlock detected")
    _, done = run(engine, state, 2, closing)
    assert isinstance(done, spec.Done) and done.result.rowcount == 3


def _insert_waiting_for_two_gaps(chord: bool) -> tuple[spec.Engine, spec.DbState]:
    """Session 0 locks row 1; sessions 1 and 2 lock the gap above row 3 (FOR UPDATE of absent keys), and with
    ``chord`` session 1 also waits for row 2, which session 2 holds; session 0's INSERT of key 4 waits for both."""
    engine, state = start("mysql", spec.REPEATABLE_READ, sessions=3)
    for s in range(3):
        state, _ = engine.begin(state, s)
    state, _ = run(engine, state, 0, sa.update(T).where(T.c.id == 1).values(n=0))
    for s, key in ((1, 5), (2, 6)):
        state, _ = run(engine, state, s, sa.select(T).where(T.c.id == key).with_for_update())
    if chord:
        state, _ = run(engine, state, 2, sa.update(T).where(T.c.id == 2).values(n=0))
        state, waits = run(engine, state, 1, sa.update(T).where(T.c.id == 2).values(n=1))
        assert waits == spec.Blocked(frozenset({2}))
    state, waits = run(engine, state, 0, sa.insert(T).values(id=4, n=0))
    assert waits == spec.Blocked(frozenset({1, 2}))
    return engine, state


def test_a_mariadb_cycle_behind_a_waiter_with_two_blockers_may_stay_unseen_until_the_other_blocker_ends() -> None:
    """MariaDB's deadlock search follows one blocker per waiter: session 0's INSERT waits for sessions 1 and 2,
    and session 2 then waits for session 0's row. The engine sees the cycle at once only if it follows session 0
    to session 2. If it follows session 0 to session 1, which waits for nothing, it sees none until session 1
    ends. The model offers the victims and also that session 2 stays blocked; a retry after session 1 ends finds
    the deadlock."""
    engine, state = _insert_waiting_for_two_gaps(chord=False)
    closing = sa.update(T).where(T.c.id == 1).values(n=2)
    branches = engine.execute(state, 2, closing)
    assert [o for _, o in branches][0] == spec.Failed(spec.DEADLOCK, "session 2: deadlock detected")
    assert isinstance(branches[1][1], spec.Done)  # session 0 the victim: its row goes to session 2
    unseen, stays = branches[-1]
    assert stays == spec.Blocked(frozenset({0})) and len(branches) == 3
    assert unseen.sessions[2].waiting == frozenset({0}) and unseen.sessions[0].waiting == frozenset({1, 2})

    unseen, _ = engine.commit(unseen, 1)  # the other blocker ends: the cycle is all that is left
    found = [o for _, o in engine.execute(unseen, 0, sa.insert(T).values(id=4, n=0))]  # session 0's retry
    assert found[0] == spec.Failed(spec.DEADLOCK, "session 0: deadlock detected")
    assert not any(isinstance(o, spec.Blocked) for o in found)  # one blocker each: the engine sees it now


def test_a_mariadb_cycle_is_seen_at_once_when_every_blocker_leads_back_to_it() -> None:
    """As above, but session 1 waits for session 2: whichever blocker the engine follows from session 0, its
    search comes back to the cycle, so no branch leaves session 2 waiting on the cycle (a Blocked branch with
    its wait cleared is the victim's rows taken by a session queued first)."""
    engine, state = _insert_waiting_for_two_gaps(chord=True)
    branches = engine.execute(state, 2, sa.update(T).where(T.c.id == 1).values(n=2))
    assert branches[0][1] == spec.Failed(spec.DEADLOCK, "session 2: deadlock detected")
    assert not any(isinstance(o, spec.Blocked) and after.sessions[2].waiting for after, o in branches)


@pytest.mark.parametrize(("keys", "kept"), [([1], True), ([1, 2], False)])
def test_mariadb_read_committed_for_update_by_one_key_keeps_the_row_even_when_the_rest_of_the_where_fails(
        keys: list[int], kept: bool) -> None:
    engine, state = start("mysql", spec.READ_COMMITTED)
    state, _ = engine.begin(state, 0)
    state, none = run(engine, state, 0, sa.select(T.c.id).where(T.c.id.in_(keys), T.c.n == 9).with_for_update())
    assert rows(none) == []
    _, other = run(engine, state, 1, sa.update(T).where(T.c.id == 1).values(n=0))
    assert isinstance(other, spec.Blocked if kept else spec.Done)


def test_a_mariadb_select_puts_a_column_constant_into_the_other_conditions_on_that_column() -> None:
    engine, state = _held()
    contradiction = sa.and_(T.c.n == 3, T.c.n.not_in([0, 3]))
    _, lock = run(engine, state, 1, sa.select(T.c.id).where(contradiction).with_for_update())
    assert rows(lock) == []  # 3 NOT IN (0, 3) is false: no row read, none waited for
    _, delete = run(engine, state, 1, sa.delete(T).where(contradiction))
    assert delete == spec.Blocked(frozenset({0}))  # a DELETE reads the rows all the same


@pytest.mark.parametrize("dialect", ["postgresql", "mysql"])
def test_a_transactions_own_level_ends_with_it(dialect: str) -> None:
    """BEGIN ISOLATION LEVEL (PostgreSQL), SET TRANSACTION (MariaDB): the next transaction has the session's."""
    engine, state = start(dialect)
    level = spec.REPEATABLE_READ if dialect == "mysql" else spec.READ_COMMITTED
    state, _ = engine.begin(state, 0, level)
    state, _ = engine.commit(state, 0)
    assert state.sessions[0] == state.sessions[1]  # nothing of that transaction is left on the session
    state, _ = engine.begin(state, 0)
    assert state.sessions[0].level == engine.dialect.default_level


def _waiting_inserts(level: str, holder: object, key: int, end: str) -> tuple[spec.Engine, spec.DbState]:
    """Session 0 runs ``holder`` and ends by ``end``; sessions 1 and 2 each insert ``key`` and wait for it."""
    engine, state = start("mysql", level, sessions=3)
    for s in range(3):
        state, _ = engine.begin(state, s)
    state, _ = run(engine, state, 0, holder)
    for s in (1, 2):
        state, waits = run(engine, state, s, sa.insert(T).values(id=key, n=0))
        assert waits == spec.Blocked(frozenset({0}))
    state, _ = engine.commit(state, 0) if end == "commit" else engine.rollback(state, 0)
    return engine, state


@pytest.mark.parametrize("level", [spec.READ_COMMITTED, spec.REPEATABLE_READ])
@pytest.mark.parametrize(("holder", "key", "end"), [
    (sa.delete(T).where(T.c.id == 2), 2, "commit"),  # both share the row marked deleted, then both need it
    (sa.insert(T).values(id=5, n=0), 5, "rollback"),  # both share the gap the row leaves, then insert into it
])
def test_two_mariadb_inserts_waiting_for_a_key_that_goes_deadlock_when_it_goes(
        level: str, holder: object, key: int, end: str) -> None:
    engine, state = _waiting_inserts(level, holder, key, end)
    state, first = run(engine, state, 1, sa.insert(T).values(id=key, n=0))
    assert first == spec.Blocked(frozenset({2}))
    outcomes = [o for _, o in engine.execute(state, 2, sa.insert(T).values(id=key, n=0))]
    assert spec.Failed(spec.DEADLOCK, "session 2: deadlock detected") in outcomes
    assert any(isinstance(o, spec.Done) for o in outcomes)  # session 1 the victim: session 2 inserts


def test_mariadb_inserts_waiting_for_an_existing_key_both_fail_and_share_it() -> None:
    engine, state = _waiting_inserts(spec.READ_COMMITTED, sa.update(T).where(T.c.id == 1).values(n=0), 1, "commit")
    for s in (1, 2):
        state, failed = run(engine, state, s, sa.insert(T).values(id=1, n=0))
        assert isinstance(failed, spec.Failed) and failed.error == spec.DUPLICATE_KEY
    engine, state = start("mysql", spec.READ_COMMITTED, sessions=2)
    state, _ = engine.begin(state, 0)
    state, duplicate = run(engine, state, 0, sa.insert(T).values(id=1, n=0))
    assert isinstance(duplicate, spec.Failed)
    _, update = run(engine, state, 1, sa.update(T).where(T.c.id == 1).values(n=9))
    assert update == spec.Blocked(frozenset({0}))  # the duplicate's shared lock holds the row to the end


def test_a_mariadb_insert_granted_a_gap_keeps_it_after_inserting() -> None:
    engine, state = start("mysql", spec.READ_COMMITTED, sessions=3)
    for s in range(3):
        state, _ = engine.begin(state, s)
    state, _ = run(engine, state, 0, sa.insert(T).values(id=4, n=0))
    state, _ = run(engine, state, 1, sa.insert(T).values(id=4, n=0))
    state, _ = engine.rollback(state, 0)
    state, inserted = run(engine, state, 1, sa.insert(T).values(id=4, n=0))
    assert isinstance(inserted, spec.Done)
    _, other = run(engine, state, 2, sa.insert(T).values(id=6, n=0))
    assert other == spec.Blocked(frozenset({1}))  # the gap above row 3 stays locked to session 1's end


@pytest.mark.parametrize("level", [spec.READ_COMMITTED, spec.REPEATABLE_READ])
def test_a_mariadb_insert_that_fails_on_a_duplicate_keeps_none_of_the_rows_it_inserted_before(level: str) -> None:
    engine, state = start("mysql", level)
    for s in range(2):
        state, _ = engine.begin(state, s)
    for rows in ([{"id": 5, "n": 0}, {"id": 1, "n": 0}], [{"id": 4, "n": 0}, {"id": 4, "n": 0}]):
        after, failed = run(engine, state, 0, sa.insert(T).values(rows))
        assert isinstance(failed, spec.Failed) and failed.error == spec.DUPLICATE_KEY
        _, other = run(engine, after, 1, sa.insert(T).values(id=rows[0]["id"], n=0))
        assert isinstance(other, spec.Done)  # the first row went with the statement, and its lock with it


@pytest.mark.parametrize(("where", "insert", "waits"), [
    (T.c.n.is_(None), 4, False),  # LIMIT 1 met at row 2: row 3 and the gap above it are never read
    (T.c.n > 4, 4, False),  # met at row 1
    (T.c.n == 1, 4, False),  # met at row 3, the last: the scan stops there, short of the gap above it
    (T.c.n == 9, 4, True),  # no row matches: the scan reads to the end and locks the gap above row 3
])
def test_a_mariadb_repeatable_read_scan_with_a_limit_locks_the_gaps_it_reads_only(
        where: object, insert: int, waits: bool) -> None:
    engine, state = start("mysql", spec.REPEATABLE_READ)
    state, _ = engine.begin(state, 1)
    state, _ = run(engine, state, 1, sa.select(T.c.id).where(where).order_by(T.c.id).limit(1).with_for_update())
    _, outcome = run(engine, state, 0, sa.insert(T).values(id=insert, n=0))
    assert (outcome == spec.Blocked(frozenset({1}))) is waits


def test_postgres_offers_each_row_that_stops_an_update_as_the_first_it_meets() -> None:
    """PostgreSQL's UPDATE and DELETE meet rows in heap order, which the model does not know: with row 1 held
    by session 0, row 2 by session 1, and row 3 about to break NOT NULL, any of them may stop session 2
    first. The new row is checked before the lock is taken, so a held row that would break NOT NULL fails
    at once. A FOR UPDATE with a total ORDER BY locks in that order, so only row 1 can stop it."""
    meta = sa.MetaData()
    u = sa.Table("u", meta, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("n", sa.Integer, nullable=False), sa.Column("m", sa.Integer))
    schema = spec.Schema.of(meta)
    engine = spec.Engine.of(schema, "postgresql")
    state = spec.initial(schema, {"u": [{"id": 1, "n": 1, "m": 1}, {"id": 2, "n": 1, "m": 1},
                                        {"id": 3, "n": 1, "m": None}]}, 3)
    for s in (0, 1):
        state, _ = engine.begin(state, s)
        state, _ = run(engine, state, s, sa.update(u).where(u.c.id == s + 1).values(n=5))
    state, _ = engine.begin(state, 2)

    def stops(statement: object) -> set[object]:
        return {(type(o).__name__, getattr(o, "on", None) or getattr(o, "error", None))
                for _, o in engine.execute(state, 2, statement)}

    assert stops(sa.update(u).values(n=u.c.m)) == {
        ("Blocked", frozenset({0})), ("Blocked", frozenset({1})), ("Failed", spec.NOT_NULL)}
    assert stops(sa.update(u).values(n=None)) == {("Failed", spec.NOT_NULL)}
    assert stops(sa.delete(u)) == {("Blocked", frozenset({0})), ("Blocked", frozenset({1}))}
    assert stops(sa.select(u).order_by(u.c.id).with_for_update()) == {("Blocked", frozenset({0}))}


@pytest.mark.parametrize("level", [spec.REPEATABLE_READ, spec.READ_COMMITTED])
def test_a_mariadb_repeatable_read_scan_locks_a_row_marked_deleted_until_purge_removes_it(level: str) -> None:
    """Row 2's DELETE commits, but purge may not have removed the marked record yet: a REPEATABLE READ UPDATE
    scanning the table locks it, so another session's UPDATE of row 2 waits, or goes on if purge has run.
    At READ COMMITTED the scan locks no marked record, and the UPDATE of row 2 finds nothing."""
    engine, state = start("mysql", level, sessions=3)
    state, _ = run(engine, state, 0, sa.delete(T).where(T.c.id == 2))
    assert state.marked == {(0, 2)}
    state, _ = engine.begin(state, 1)
    state, scanned = run(engine, state, 1, sa.update(T).values(n=0))
    assert isinstance(scanned, spec.Done) and scanned.result.rowcount == 2
    state, _ = engine.begin(state, 2)
    outcomes = {(type(o).__name__, getattr(o, "on", None)) for _, o in
                engine.execute(state, 2, sa.update(T).where(T.c.id == 2).values(n=1))}
    purged = ("Done", None)
    assert outcomes == ({("Blocked", frozenset({1})), purged} if level == spec.REPEATABLE_READ else {purged})
    state, inserted = run(engine, state, 0, sa.insert(T).values(id=2, n=3))
    if level == spec.REPEATABLE_READ:  # the insert's check waits for the lock on the marked record
        assert inserted == spec.Blocked(frozenset({1}))
    else:
        assert isinstance(inserted, spec.Done) and state.marked == frozenset()  # the key is a row again


def test_a_mariadb_update_queued_before_an_insert_may_take_the_row_first() -> None:
    """Session 1's UPDATE of row 2 queues behind session 0's lock, then session 2's INSERT of key 2. When
    session 0 commits, InnoDB grants the row's waiting locks in queue order: the UPDATE goes on and the
    INSERT waits for it. The model does not keep the queue's order, so it offers both orders."""
    engine, state = start("mysql", sessions=3)
    state, _ = engine.begin(state, 0)
    state, _ = run(engine, state, 0, sa.update(T).where(T.c.id == 2).values(n=5))
    for s, statement in [(1, sa.update(T).where(T.c.id == 2).values(n=7)), (2, sa.insert(T).values(id=2, n=9))]:
        state, _ = engine.begin(state, s)
        state, waits = run(engine, state, s, statement)
        assert waits == spec.Blocked(frozenset({0}))
    state, _ = engine.commit(state, 0)
    retried = {o: after for after, o in engine.execute(state, 2, sa.insert(T).values(id=2, n=9))}
    assert set(retried) == {spec.Failed(spec.DUPLICATE_KEY, "duplicate key t.id=2"), spec.Blocked(frozenset({1}))}
    _, update = run(engine, retried[spec.Blocked(frozenset({1}))], 1, sa.update(T).where(T.c.id == 2).values(n=7))
    assert isinstance(update, spec.Done) and update.result.rowcount == 1


def test_a_mariadb_repeatable_read_select_that_reads_no_row_locks_no_gap() -> None:
    """``n IS NULL`` on a NOT NULL column reads no row in a MariaDB SELECT ... FOR UPDATE, so it locks no
    gap either: another session inserts a new key, and an existing key fails as a duplicate at once."""
    meta = sa.MetaData()
    v = sa.Table("v", meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("n", sa.Integer, nullable=False))
    schema = spec.Schema.of(meta)
    engine = spec.Engine.of(schema, "mysql")
    state = spec.initial(schema, {"v": [{"id": 1, "n": 0}, {"id": 2, "n": 1}]}, 2)
    state, _ = engine.begin(state, 0)
    state, read = run(engine, state, 0, sa.select(v.c.id).where(v.c.n.is_(None)).order_by(v.c.id).with_for_update())
    assert rows(read) == [] and state.sessions[0].gaps == frozenset()
    _, new = run(engine, state, 1, sa.insert(v).values(id=5, n=0))
    _, existing = run(engine, state, 1, sa.insert(v).values(id=2, n=0))
    assert isinstance(new, spec.Done) and isinstance(existing, spec.Failed) and existing.error == spec.DUPLICATE_KEY


def test_a_waiting_postgres_for_update_in_key_order_keeps_the_rows_it_locked_so_a_deadlock_closes() -> None:
    """Session 0's FOR UPDATE in key order locks row 1 and waits for row 2, which session 1 holds; session 1
    then asks for row 1, which session 0 keeps while it waits: a deadlock, as PostgreSQL reports it."""
    engine, state = start("postgresql")
    state, _ = engine.begin(state, 1)
    state, _ = run(engine, state, 1, sa.update(T).where(T.c.id == 2).values(n=0))
    state, _ = engine.begin(state, 0)
    state, waits = run(engine, state, 0, sa.select(T.c.id).order_by(T.c.id).with_for_update())
    assert waits == spec.Blocked(frozenset({1})) and (0, 1) in state.sessions[0].locks
    outcomes = [o for _, o in engine.execute(state, 1, sa.update(T).where(T.c.id == 1).values(n=0))]
    assert spec.Failed(spec.DEADLOCK, "session 1: deadlock detected") in outcomes


def test_a_postgres_insert_of_a_key_another_session_locks_for_update_fails_at_once() -> None:
    """PostgreSQL's unique check waits for a transaction that wrote the row, not for one that only locked it:
    an INSERT of a key held by FOR UPDATE is a duplicate at once; of a key held by an UPDATE, it waits."""
    engine, state = start("postgresql")
    state, _ = engine.begin(state, 1)
    state, _ = run(engine, state, 1, sa.select(T.c.id).where(T.c.id == 2).with_for_update())
    state, _ = run(engine, state, 1, sa.update(T).where(T.c.id == 3).values(n=0))
    _, locked = run(engine, state, 0, sa.insert(T).values(id=2, n=0))
    _, written = run(engine, state, 0, sa.insert(T).values(id=3, n=0))
    assert isinstance(locked, spec.Failed) and locked.error == spec.DUPLICATE_KEY
    assert written == spec.Blocked(frozenset({1}))


@pytest.mark.parametrize("statement", [
    sa.update(T).values(n=0),
    sa.delete(T),
    sa.select(T.c.id).with_for_update(),  # no ORDER BY: heap order, as an UPDATE's
], ids=["update", "delete", "unordered-for-update"])
def test_a_waiting_postgres_statement_in_heap_order_may_keep_any_rows_it_locked_so_a_deadlock_closes_inside_it(
        statement: object) -> None:
    """Session 1 holds row 2; session 0's statement, which meets every row, waits for it. PostgreSQL meets the
    rows in heap order, which the model does not know, so rows 1 and 3 may each have been locked before the
    wait and kept: every subset of them is offered. Session 1 then asks for row 1: it deadlocks where session 0
    kept row 1, and goes on where it did not."""
    engine, state = start("postgresql")
    state, _ = engine.begin(state, 1)
    state, _ = run(engine, state, 1, sa.update(T).where(T.c.id == 2).values(n=0))
    state, _ = engine.begin(state, 0)
    waits = engine.execute(state, 0, statement)
    assert {o for _, o in waits} == {spec.Blocked(frozenset({1}))}
    assert sorted(sorted(after.sessions[0].locks) for after, _ in waits) == [
        [], [(0, 1)], [(0, 1), (0, 3)], [(0, 3)]]
    outcomes = {o for after, _ in waits
                for _, o in engine.execute(after, 1, sa.update(T).where(T.c.id == 1).values(n=0))}
    assert spec.Failed(spec.DEADLOCK, "session 1: deadlock detected") in outcomes
    assert any(isinstance(o, spec.Done) for o in outcomes)  # none kept: session 1 goes on


@pytest.mark.parametrize(("statement", "insert_waits"), [
    (sa.update(T).values(n=0), True),
    (sa.delete(T), True),
    (sa.select(T.c.id).with_for_update(), False),  # a lock, not a write: PostgreSQL's unique check passes it
], ids=["update", "delete", "unordered-for-update"])
def test_an_insert_waits_for_a_waiting_postgres_write_that_kept_its_key(statement: object,
                                                                         insert_waits: bool) -> None:
    """Where session 0's waiting statement kept row 1, an UPDATE or a DELETE has already written it, so
    session 2's INSERT of key 1 waits for session 0 (PostgreSQL's unique check waits for a writer); after a
    FOR UPDATE it is a duplicate at once. Where row 1 was not kept, it is a duplicate at once."""
    engine, state = start("postgresql", sessions=3)
    state, _ = engine.begin(state, 1)
    state, _ = run(engine, state, 1, sa.update(T).where(T.c.id == 2).values(n=0))
    state, _ = engine.begin(state, 0)
    outcomes = {(0, 1) in after.sessions[0].locks: run(engine, after, 2, sa.insert(T).values(id=1, n=0))[1]
                for after, _ in engine.execute(state, 0, statement)}
    assert isinstance(outcomes[False], spec.Failed) and outcomes[False].error == spec.DUPLICATE_KEY
    if insert_waits:
        assert outcomes[True] == spec.Blocked(frozenset({0}))
    else:
        assert isinstance(outcomes[True], spec.Failed) and outcomes[True].error == spec.DUPLICATE_KEY


@pytest.mark.parametrize("statement", [
    sa.update(T).where(T.c.n == 5).values(n=9),
    sa.delete(T).where(T.c.n == 5),
    sa.select(T.c.id).where(T.c.n == 5).with_for_update(),
], ids=["update", "delete", "for-update"])
def test_a_postgres_row_whose_newest_version_fails_the_recheck_stays_locked(statement: object) -> None:
    """Session 1's statement matches row 1 in its snapshot and waits for session 2, which changes it and
    commits. PostgreSQL locks the newest version before it re-checks the WHERE (EvalPlanQual): the row no
    longer matches, but the lock stays, so session 0's UPDATE of it waits for session 1. It is a lock, not a
    write: session 0's INSERT of that key is a duplicate at once."""
    engine, state = start("postgresql", sessions=3)
    state, _ = engine.begin(state, 2)
    state, _ = run(engine, state, 2, sa.update(T).where(T.c.id == 1).values(n=0))
    state, _ = engine.begin(state, 1)
    state, waits = run(engine, state, 1, statement)
    assert waits == spec.Blocked(frozenset({2}))
    state, _ = engine.commit(state, 2)
    state, done = run(engine, state, 1, statement)
    assert isinstance(done, spec.Done) and done.result.rowcount == 0
    _, update = run(engine, state, 0, sa.update(T).where(T.c.id == 1).values(n=1))
    assert update == spec.Blocked(frozenset({1}))
    _, insert = run(engine, state, 0, sa.insert(T).values(id=1, n=0))
    assert isinstance(insert, spec.Failed) and insert.error == spec.DUPLICATE_KEY


def test_a_waiting_postgres_update_keeps_a_row_that_failed_the_recheck_as_a_lock_not_a_write() -> None:
    """Session 1's UPDATE waits for rows 1 (session 2's) and 3 (session 0's). Session 2 sets row 1's n to
    NULL and commits; the retried UPDATE locks row 1, finds it no longer matches, and waits for row 3. Where
    it keeps row 1, that is a lock without a write: session 2's INSERT of key 1 is a duplicate at once."""
    engine, state = start("postgresql", sessions=3)
    for s, k in ((2, 1), (0, 3)):
        state, _ = engine.begin(state, s)
        state, _ = run(engine, state, s, sa.update(T).where(T.c.id == k).values(n=k))
    state, _ = engine.begin(state, 1)
    update = sa.update(T).where(T.c.n.is_not(None)).values(n=9)
    state = next(after for after, o in engine.execute(state, 1, update) if o == spec.Blocked(frozenset({2})))
    state, _ = run(engine, state, 2, sa.update(T).where(T.c.id == 1).values(n=None))
    state, _ = engine.commit(state, 2)
    waits = engine.execute(state, 1, update)
    assert {o for _, o in waits} == {spec.Blocked(frozenset({0}))}
    kept = [after for after, _ in waits if (0, 1) in after.sessions[1].locks]
    assert kept and all(run(engine, after, 2, sa.insert(T).values(id=1, n=0))[1] ==
                        spec.Failed(spec.DUPLICATE_KEY, "duplicate key t.id=1") for after in kept)


# -- MariaDB's range of PRIMARY -------------------------------------------------------------------------------

RANGE_META = sa.MetaData()
R = sa.Table("r", RANGE_META, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("n", sa.Integer, nullable=False))
RANGE_SCHEMA = spec.Schema.of(RANGE_META)
#: keys 2, 4, 6 (n 0, 1, 0) leave a gap between and around each; keys 1, 2, 3 (n 2, 0, 1) are the conformance test's
SPREAD, DENSE = {2: 0, 4: 1, 6: 0}, {1: 2, 2: 0, 3: 1}
SPREAD_INSERTS, DENSE_INSERTS = (1, 3, 5, 7), (0, 4)
RR, RC = spec.REPEATABLE_READ, spec.READ_COMMITTED


def _locked_for_update(where: object, desc: bool = False, limit: int | None = None) -> object:
    stmt = sa.select(R.c.id, R.c.n).where(where).order_by(R.c.id.desc() if desc else R.c.id).with_for_update()
    return stmt if limit is None else stmt.limit(limit)


#: (rows, statement, level) -> (rows locked, keys whose insert waits, rows whose lock makes the statement wait),
#: as MariaDB 10.11 showed them: the statement in an open transaction, then from a second connection a FOR UPDATE
#: NOWAIT of each row and an INSERT of each free key; and the statement run while another transaction holds one row
RANGE_CASES = [
    (SPREAD, _locked_for_update(R.c.id < 4), RR, ([2, 4], [1, 3], [2, 4])),
    (SPREAD, _locked_for_update(R.c.id < 4), RC, ([2], [], [2, 4])),
    (SPREAD, _locked_for_update(R.c.id <= 4), RR, ([2, 4, 6], [1, 3, 5], [2, 4, 6])),
    (SPREAD, _locked_for_update(R.c.id > 2), RR, ([4, 6], [3, 5, 7], [4, 6])),
    (SPREAD, _locked_for_update(R.c.id >= 4), RR, ([4, 6], [5, 7], [4, 6])),
    (SPREAD, _locked_for_update(R.c.id >= 4), RC, ([4, 6], [], [4, 6])),
    (SPREAD, _locked_for_update(sa.and_(R.c.id > 3, R.c.id < 5)), RR, ([4, 6], [3, 5], [4, 6])),
    (SPREAD, _locked_for_update(sa.and_(R.c.id > 3, R.c.id < 5)), RC, ([4], [], [4, 6])),
    (SPREAD, _locked_for_update(sa.and_(R.c.id > 2, R.c.id < 3)), RR, ([4], [3], [4])),
    (SPREAD, _locked_for_update(sa.and_(R.c.id > 2, R.c.id <= 2)), RR, ([], [], [])),
    (SPREAD, _locked_for_update(sa.and_(R.c.id >= 4, R.c.id <= 4)), RR, ([4], [], [4])),
    (SPREAD, _locked_for_update(sa.and_(R.c.id.in_([2, 3]), R.c.id > 1)), RR, ([2], [3], [2])),
    (SPREAD, _locked_for_update(R.c.id > 2, limit=1), RR, ([4], [3], [4])),
    (SPREAD, _locked_for_update(R.c.id > 6), RR, ([], [7], [])),
    (SPREAD, _locked_for_update(R.c.id < 4, desc=True), RR, ([2], [1, 3], [2])),
    (SPREAD, _locked_for_update(R.c.id < 4, desc=True), RC, ([2], [], [2])),
    (SPREAD, _locked_for_update(sa.and_(R.c.id > 3, R.c.id < 5), desc=True), RR, ([2, 4], [1, 3, 5], [2, 4])),
    (SPREAD, _locked_for_update(sa.and_(R.c.id > 3, R.c.id < 5), desc=True), RC, ([2, 4], [], [2, 4])),
    (SPREAD, _locked_for_update(R.c.id < 5, desc=True, limit=1), RR, ([4], [3, 5], [4])),
    (SPREAD, _locked_for_update(sa.and_(R.c.n + 4 >= R.c.id, R.c.n == 0)), RR, ([2, 4, 6], [1, 3, 5], [2, 4, 6])),
    (SPREAD, _locked_for_update(sa.and_(R.c.n + 4 >= R.c.id, R.c.n == 0)), RC, ([2], [], [2, 4, 6])),
    (SPREAD, sa.update(R).where(R.c.id < 4).values(n=R.c.n + 1), RR, ([2, 4], [1, 3], [2, 4])),
    (SPREAD, sa.update(R).where(R.c.id < 4).values(n=R.c.n + 1), RC, ([2], [], [2])),  # semi-consistent
    (SPREAD, sa.delete(R).where(R.c.id < 4), RR, ([2, 4], [1, 3], [2, 4])),
    (SPREAD, sa.delete(R).where(R.c.id < 4), RC, ([2], [], [2, 4])),
    (SPREAD, sa.delete(R).where(R.c.id >= 4), RR, ([4, 6], [5, 7], [4, 6])),
    (DENSE, _locked_for_update(sa.and_(R.c.n + 0 > R.c.id, R.c.n == 0), limit=2), RR, ([1], [0], [1])),
    (DENSE, _locked_for_update(sa.and_(R.c.n + 0 > R.c.id, R.c.n == 0), limit=2), RC, ([], [], [1])),
    (DENSE, _locked_for_update(sa.and_(R.c.n + 2 > R.c.id, R.c.n == 1)), RR, ([1, 2, 3], [0], [1, 2, 3])),
    # an UPDATE or a DELETE does not put n = 0 into the other condition: it scans the table
    (DENSE, sa.update(R).where(sa.and_(R.c.n + 0 > R.c.id, R.c.n == 0)).values(n=R.c.n - 1), RR,
     ([1, 2, 3], [0, 4], [1, 2, 3])),
    (DENSE, sa.delete(R).where(sa.and_(R.c.n + 0 > R.c.id, R.c.n == 0)), RR, ([1, 2, 3], [0, 4], [1, 2, 3])),
    (DENSE, sa.delete(R).where(sa.and_(R.c.n + 0 > R.c.id, R.c.n == 0)), RC, ([], [], [1, 2, 3])),
    # OR, IN and NOT leave a union of ranges, read in key order: a range of one key as a lookup, any other as above
    (DENSE, _locked_for_update(sa.or_(R.c.id == 1, R.c.id == 3)), RR, ([1, 3], [], [1, 3])),
    (DENSE, _locked_for_update(sa.or_(R.c.id == 1, R.c.id == 3)), RC, ([1, 3], [], [1, 3])),
    (SPREAD, _locked_for_update(sa.or_(R.c.id == 1, R.c.id == 3)), RR, ([], [1, 3], [])),
    (DENSE, sa.update(R).where(sa.or_(sa.and_(R.c.id == 1, R.c.n == 0), R.c.id == 3)).values(n=R.c.n + 1),
     RC, ([3], [], [1, 3])),
    (DENSE, _locked_for_update(sa.and_(R.c.n == 0, sa.or_(R.c.id == 1, R.c.id == 3))), RC, ([], [], [1, 3])),
    (DENSE, _locked_for_update(sa.or_(R.c.id < 2, R.c.id > 3)), RR, ([1, 2], [0, 4], [1, 2])),
    (DENSE, _locked_for_update(sa.or_(R.c.id < 2, R.c.id > 3), desc=True), RR, ([1, 3], [0, 4], [1, 3])),
    (DENSE, _locked_for_update(sa.or_(R.c.id < 2, R.c.id > 3), desc=True), RC, ([1, 3], [], [1, 3])),
    (DENSE, sa.update(R).where(sa.or_(R.c.id < 2, R.c.id > 3)).values(n=R.c.n + 1), RC, ([1], [], [1])),
    (DENSE, sa.delete(R).where(sa.or_(R.c.id < 2, R.c.id > 3)), RC, ([1], [], [1, 2])),
    (DENSE, _locked_for_update(sa.or_(R.c.id == 1, R.c.id > 3)), RR, ([1], [4], [1])),
    (DENSE, _locked_for_update(sa.or_(R.c.id == 1, R.c.id >= 3), desc=True), RR, ([1, 2, 3], [4], [1, 2, 3])),
    (DENSE, _locked_for_update(sa.or_(R.c.id < 2, R.c.id == 3), desc=True), RR, ([1, 3], [0], [1, 3])),
    (SPREAD, sa.update(R).where(sa.or_(R.c.id < 2, R.c.id == 2)).values(n=R.c.n + 1), RR, ([2, 4], [1, 3], [2, 4])),
    (SPREAD, sa.update(R).where(sa.or_(R.c.id <= 1, R.c.id == 2)).values(n=R.c.n + 1), RR, ([2], [1], [2])),
    (DENSE, _locked_for_update(sa.or_(R.c.id == 1, R.c.id.in_([]))), RR, ([1], [], [1])),
    (SPREAD, _locked_for_update(sa.or_(R.c.id.in_([]), R.c.id > 2), desc=True),
     RR, ([2, 4, 6], [1, 3, 5, 7], [2, 4, 6])),
    (DENSE, _locked_for_update(sa.or_(sa.and_(R.c.id == 1, R.c.n == 0), sa.and_(R.c.id == 1, R.c.n == 5))),
     RC, ([1], [], [1])),
    (DENSE, _locked_for_update(sa.or_(R.c.id == 4, R.c.id == 0)), RR, ([], [0, 4], [])),
    (DENSE, _locked_for_update(sa.not_(sa.and_(R.c.id > 1, R.c.id < 3)), desc=True), RC, ([1, 2, 3], [], [1, 2, 3])),
    (DENSE, sa.delete(R).where(sa.not_(sa.or_(R.c.id == 1, R.c.id == 3))), RR, ([1, 2, 3], [0, 4], [1, 2, 3])),
    (DENSE, sa.update(R).where(sa.and_(R.c.id != 2, R.c.id < 3)).values(n=R.c.n + 1), RC, ([1], [], [1])),
    (SPREAD, _locked_for_update(sa.or_(R.c.id < 3, R.c.id == 4), limit=1), RR, ([2], [1], [2])),
    (SPREAD, _locked_for_update(sa.or_(R.c.id > 5, R.c.id < 3), desc=True, limit=2),
     RR, ([2, 4, 6], [1, 3, 5, 7], [2, 4, 6])),
    (SPREAD, _locked_for_update(sa.and_(R.c.n == 0, sa.or_(R.c.n + 3 > R.c.id, R.c.id == 6))),
     RR, ([2, 4, 6], [1, 3], [2, 4, 6])),
    (SPREAD, sa.delete(R).where(sa.and_(R.c.n == 0, sa.or_(R.c.n + 3 > R.c.id, R.c.id == 6))),
     RR, ([2, 4, 6], [1, 3, 5, 7], [2, 4, 6])),
]


def _range_start(rows: dict[int, int], level: str, dialect: spec.Dialect | None = None
                 ) -> tuple[spec.Engine, spec.DbState]:
    engine = spec.Engine(RANGE_SCHEMA, dialect or spec.dialect("mysql"))
    state = spec.initial(RANGE_SCHEMA, {"r": [{"id": k, "n": n} for k, n in rows.items()]}, 2)
    state = engine.set_level(engine.set_level(state, 0, level), 1, RC)
    state, _ = engine.begin(state, 0)
    state, _ = engine.begin(state, 1)
    return engine, state


def _range_locks(rows: dict[int, int], statement: object, level: str) -> tuple[list[int], list[int], list[int]]:
    """The probe of RANGE_CASES, run in the model."""
    engine, state = _range_start(rows, level)
    held, outcome = run(engine, state, 0, statement)
    assert isinstance(outcome, spec.Done), outcome
    locked = [k for k in rows if isinstance(run(engine, held, 1, sa.select(R.c.id).where(R.c.id == k)
                                                .with_for_update(nowait=True))[1], spec.Failed)]
    inserts = DENSE_INSERTS if rows is DENSE else SPREAD_INSERTS
    gaps = [k for k in inserts if isinstance(run(engine, held, 1, sa.insert(R).values(id=k, n=0))[1], spec.Blocked)]
    waits = []
    for k in rows:
        holding, _ = run(engine, state, 1, sa.select(R.c.id).where(R.c.id == k).with_for_update())
        if isinstance(run(engine, holding, 0, statement)[1], spec.Blocked):
            waits.append(k)
    return locked, gaps, waits


@pytest.mark.parametrize(("rows", "statement", "level", "seen"), RANGE_CASES)
def test_mariadb_reads_a_range_of_the_key_as_its_optimizer_does(
        rows: dict[int, int], statement: object, level: str, seen: tuple[list[int], list[int], list[int]]) -> None:
    assert _range_locks(rows, statement, level) == seen


def test_a_mariadb_select_reading_the_range_left_after_propagation_does_not_wait_for_rows_past_it() -> None:
    """The seed-12 case: n + 0 > id AND n = 0 reads id < 0, so only row 1 (the record past the range)."""
    engine, state = _range_start(DENSE, RR)
    held, _ = run(engine, state, 1, sa.update(R).where(R.c.id == 2).values(n=5))
    statement = _locked_for_update(sa.and_(R.c.n + 0 > R.c.id, R.c.n == 0), limit=2)
    assert rows(run(engine, held, 0, statement)[1]) == []
    permissive = spec.Engine(RANGE_SCHEMA, dataclasses.replace(engine.dialect, full_scan_for_ranges=True))
    outcomes = [outcome for _, outcome in permissive.execute(held, 0, statement)]
    assert outcomes == [spec.Done(spec.Result(("id", "n"), (), 0, ordered=True)), spec.Blocked(frozenset({1}))]


def _skip_locked(where: object = None, desc: bool = False, limit: int | None = None) -> object:
    stmt = sa.select(R.c.id, R.c.n).order_by(R.c.id.desc() if desc else R.c.id).with_for_update(skip_locked=True)
    stmt = stmt if where is None else stmt.where(where)
    return stmt if limit is None else stmt.limit(limit)


@pytest.mark.parametrize(("statement", "read", "inserts_waiting"), [
    (_skip_locked(), [2, 6], [1, 5, 7]),
    (_skip_locked(limit=1), [2], [1]),
    (_skip_locked(limit=2), [2, 6], [1, 5]),
    (_skip_locked(desc=True, limit=3), [6, 2], [1, 5, 7]),
    (_skip_locked(R.c.id < 7, desc=True), [6, 2], [1, 5, 7]),
    (_skip_locked(R.c.id > 1), [2, 6], [1, 5, 7]),
    (_skip_locked(R.c.id < 5), [2], [1, 5]),
    (_skip_locked(R.c.id == 4), [], [5]),  # a lookup that skips its key locks the gap above it, to the next record
    (_skip_locked(R.c.id.in_([4, 6])), [6], [5]),
    (_skip_locked(sa.or_(R.c.id == 2, R.c.id >= 4)), [2, 6], [5, 7]),
    (_skip_locked(sa.or_(R.c.id < 3, R.c.id > 3), desc=True), [6, 2], [1, 3, 5, 7]),  # each range its own gaps
])
def test_a_mariadb_skip_locked_scan_leaves_the_gap_below_each_row_it_skips_open(
        statement: object, read: list[int], inserts_waiting: list[int]) -> None:
    """Session 1 holds row 4 (by key: the row, not the gap below it) of rows 2, 4 and 6. A REPEATABLE READ SKIP
    LOCKED scan passes row 4 and takes no next-key lock on it, so an insert of 3 goes on; the inserts that wait
    are those MariaDB 10.11 made wait in the same probe."""
    engine, state = _range_start(SPREAD, RR)
    held, _ = run(engine, state, 1, sa.update(R).where(R.c.id == 4).values(n=7))
    scanned, outcome = run(engine, held, 0, statement)
    assert [k for k, _ in rows(outcome)] == read
    waiting = [k for k in SPREAD_INSERTS
               if run(engine, scanned, 1, sa.insert(R).values(id=k, n=0))[1] == spec.Blocked(frozenset({0}))]
    assert waiting == inserts_waiting


def test_a_mariadb_skip_locked_scan_that_skips_every_row_locks_the_gap_above_the_last_only() -> None:
    """SPEC_SEED=12's scan: every row held, LIMIT 1. InnoDB locks the supremum's gap and nothing below it."""
    engine, state = _range_start(SPREAD, RR)
    held, _ = run(engine, state, 1, sa.update(R).values(n=7))
    scanned, outcome = run(engine, held, 0, _skip_locked(limit=1))
    assert rows(outcome) == [] and scanned.sessions[0].gaps == frozenset({(0, 6, None)})


def test_mariadb_may_read_the_table_for_three_keys_or_more() -> None:
    """MariaDB 10.11 read the table for an UPDATE of three keys of a table of three rows (EXPLAIN ``index``),
    and the keys for two: by statistics the model does not keep, so it offers both plans for three."""
    engine, state = _range_start(SPREAD, RR)
    for where in (R.c.id.in_([2, 4, 6]), sa.or_(R.c.id == 2, R.c.id == 4, R.c.id == 6)):
        gaps = {after.sessions[0].gaps for after, _ in engine.execute(state, 0, sa.update(R).where(where).values(n=1))}
        assert gaps == {frozenset(), frozenset({(0, None, None)})}  # the keys, or every gap of the table
    two = sa.update(R).where(R.c.id.in_([2, 4])).values(n=1)
    assert [after.sessions[0].gaps for after, _ in engine.execute(state, 0, two)] == [frozenset()]


def test_mariadb_descending_skip_locked_over_a_lookup_and_a_range_is_refused() -> None:
    """A held key looked up after a range, descending, SKIP LOCKED: MariaDB 10.11 locked a gap below the range
    (an insert of 1 waited for ``id = 4 OR id > 5`` with 4 held) that the model does not derive."""
    engine, _ = _range_start(SPREAD, RR)
    with pytest.raises(spec.Unsupported, match="SKIP LOCKED ordered by the key descending over a key lookup"):
        engine.plan(_skip_locked(sa.or_(R.c.id == 4, R.c.id > 5), desc=True))


def test_a_row_reads_as_sqlalchemys_row_does() -> None:
    # a program written against a real engine reads columns by name; the model's rows must too
    result = spec.Result(("id", "status"), ((1, "queued"), (2, "done")), 2)
    row = result.first()
    assert row is not None
    assert (row.id, row.status, row._mapping) == (1, "queued", {"id": 1, "status": "queued"})  # type: ignore[attr-defined]
    assert row == (1, "queued") and hash(row) == hash((1, "queued"))  # a row in a history is its values
    assert [(r.id, r.status) for r in result] == [(1, "queued"), (2, "done")]  # type: ignore[attr-defined]
    assert pickle.loads(pickle.dumps(row)) == (1, "queued")
