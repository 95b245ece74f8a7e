"""A spec's tables on a real engine (dbdriver.specdb): creation under wavesim's marker, refusal of tables it
did not create, re-targeted statements, and sessions that wait, deadlock and settle as the engine does.
SQLite always; PostgreSQL and MariaDB from tests/dbengines.py's variables."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from dbengines import ENGINES, unique_prefix, url_for
from sqlalchemy.dialects import mysql, postgresql, sqlite

import spec
from dbdriver import DatabaseError
from dbdriver.specdb import SpecDatabase
from dbdriver.specsessions import BLOCKED, DONE, ERROR, Seen

SERVERS = [e for e in ENGINES if e != "sqlite"]


def spec_tables(tag: str = "") -> tuple[sa.MetaData, sa.Table, sa.Table]:
    """The user's tables, unprefixed, as a spec declares them."""
    meta = sa.MetaData()
    jobs = sa.Table(f"{tag}jobs", meta, sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                    sa.Column("n", sa.Integer, nullable=False, default=0), sa.Column("state", sa.String(16)),
                    sa.Column("done", sa.Boolean, nullable=False, default=False))
    items = sa.Table(f"{tag}items", meta, sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                     sa.Column("job", sa.Integer), sa.Column("note", sa.Text))
    return meta, jobs, items


META, JOBS, ITEMS = spec_tables()
ROWS = {"jobs": [{"id": 2, "n": 5, "state": "new"}, {"id": 1, "state": None, "done": True}],
        "items": [{"id": 1, "job": 2, "note": "x"}]}


def table_names(db: SpecDatabase) -> set[str]:
    with db.engine.connect() as conn:
        return set(sa.inspect(conn).get_table_names())


@pytest.fixture(params=list(ENGINES))
def engine(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def db(engine: str, tmp_path: Path) -> Iterator[SpecDatabase]:
    made = SpecDatabase(url_for(engine, tmp_path), META, prefix=unique_prefix())
    made.create(ROWS)
    try:
        yield made
    finally:
        made.drop()
        made.dispose()


# -- the tables -------------------------------------------------------------------------------------------

def test_created_rows_read_back_in_key_order_with_defaults_filled(db: SpecDatabase) -> None:
    assert db.rows() == {
        "jobs": [{"id": 1, "n": 0, "state": None, "done": True}, {"id": 2, "n": 5, "state": "new", "done": False}],
        "items": [{"id": 1, "job": 2, "note": "x"}]}
    db.create({"jobs": [{"id": 7}]})  # again: wavesim's own tables are dropped and made anew
    assert db.rows() == {"jobs": [{"id": 7, "n": 0, "state": None, "done": False}], "items": []}
    assert {n for n in table_names(db) if n.startswith(db.prefix)} == {db.prefix + t for t in ("owner", "jobs",
                                                                                                 "items")}


def test_rows_for_a_table_the_spec_does_not_have_are_refused_before_anything_changes(db: SpecDatabase) -> None:
    with pytest.raises(DatabaseError, match="initial rows for 'nope', which is not one of the spec's tables"):
        db.create({"jobs": [{"id": 9}], "nope": [{"id": 1}]})
    assert [r["id"] for r in db.rows()["jobs"]] == [1, 2]


def test_a_table_under_the_prefix_without_the_marker_is_refused_and_left_untouched(engine: str,
                                                                                    tmp_path: Path) -> None:
    prefix = unique_prefix()
    theirs = SpecDatabase(url_for(engine, tmp_path), META, prefix=prefix)
    with theirs.engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {prefix}jobs (id INTEGER PRIMARY KEY, mine VARCHAR(8))")
        conn.exec_driver_sql(f"INSERT INTO {prefix}jobs VALUES (1, 'theirs')")
    try:
        for step in (lambda: theirs.create(ROWS), theirs.drop):
            with pytest.raises(DatabaseError, match=f"table {prefix}jobs exists but has no {prefix}owner marker"):
                step()
            with theirs.engine.connect() as conn:
                assert conn.exec_driver_sql(f"SELECT id, mine FROM {prefix}jobs").all() == [(1, "theirs")]
            assert {n for n in table_names(theirs) if n.startswith(prefix)} == {f"{prefix}jobs"}
    finally:
        with theirs.engine.connect() as conn:
            conn.exec_driver_sql(f"DROP TABLE {prefix}jobs")
        theirs.dispose()


def test_drop_removes_only_wavesims_tables(engine: str, tmp_path: Path) -> None:
    """Another prefix's tables and the user's own table named like a spec table (unprefixed) stay."""
    tag = f"u{secrets.token_hex(3)}_"
    meta, jobs, _ = spec_tables(tag)
    url = url_for(engine, tmp_path)
    mine, other = SpecDatabase(url, meta, prefix=unique_prefix()), SpecDatabase(url, meta, prefix=unique_prefix())
    with mine.engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {jobs.name} (id INTEGER PRIMARY KEY)")
    try:
        mine.create({jobs.name: [{"id": 1}]})
        other.create({jobs.name: [{"id": 2}]})
        mine.drop()
        names = table_names(mine)
        assert {n for n in names if n.startswith(mine.prefix)} == set()
        assert {n for n in names if n.startswith(other.prefix)} == {other.prefix + t for t in ("owner", jobs.name,
                                                                                                 f"{tag}items")}
        assert jobs.name in names
        assert other.rows()[jobs.name] == [{"id": 2, "n": 0, "state": None, "done": False}]
        mine.drop()  # nothing left under its prefix: nothing to do
    finally:
        other.drop()
        with mine.engine.connect() as conn:
            conn.exec_driver_sql(f"DROP TABLE {jobs.name}")
        mine.dispose()
        other.dispose()


def test_tables_another_spec_left_under_the_prefix_keep_it_owned(engine: str, tmp_path: Path) -> None:
    """Dropping one spec's tables leaves another's under the same prefix, and the marker that owns them."""
    url, prefix = url_for(engine, tmp_path), unique_prefix()
    first, second = SpecDatabase(url, META, prefix=prefix), SpecDatabase(url, spec_tables("v2_")[0], prefix=prefix)
    try:
        first.create(ROWS)
        second.create({"v2_jobs": [{"id": 3}]})
        first.drop()
        assert {n for n in table_names(first) if n.startswith(prefix)} == {prefix + t for t in ("owner", "v2_jobs",
                                                                                                  "v2_items")}
        second.drop()
        assert {n for n in table_names(first) if n.startswith(prefix)} == set()
    finally:
        first.dispose()
        second.dispose()


def test_a_spec_table_named_owner_is_refused() -> None:
    meta = sa.MetaData()
    sa.Table("owner", meta, sa.Column("id", sa.Integer, primary_key=True))
    with pytest.raises(DatabaseError, match="would be wavesim_spec_owner, wavesim's ownership marker"):
        SpecDatabase("sqlite:///unused.db", meta)


# -- re-targeting -----------------------------------------------------------------------------------------

STATEMENTS = [
    sa.select(JOBS).where(JOBS.c.id == 1),
    sa.select(JOBS.c.id, JOBS.c.n).where(JOBS.c.state.is_(None)).order_by(JOBS.c.n.desc(), JOBS.c.id).limit(2)
    .offset(1),
    sa.select(JOBS.c.id).order_by(JOBS.c.id).limit(1).with_for_update(skip_locked=True),
    sa.select(JOBS.c.id).with_for_update(nowait=True),
    sa.select(JOBS.c.id).with_for_update(of=JOBS),
    sa.select(sa.func.count(), sa.func.sum(JOBS.c.n), sa.func.coalesce(sa.func.max(JOBS.c.n), 0)),
    sa.select(JOBS.c.n, sa.func.count(JOBS.c.id)).group_by(JOBS.c.n).having(sa.func.count(JOBS.c.id) > 1),
    sa.select(ITEMS.c.note).where(ITEMS.c.job.in_(sa.select(JOBS.c.id).where(JOBS.c.done))),
    sa.select(ITEMS.c.id, JOBS.c.state).join_from(ITEMS, JOBS, ITEMS.c.job == JOBS.c.id),
    sa.insert(JOBS).values(id=3, n=1, state="it's"),
    sa.insert(JOBS).values([{"id": 3, "n": 1}, {"id": 4, "n": None}]).returning(JOBS.c.id, JOBS.c.n),
    sa.insert(JOBS).values({JOBS.c.id: 5, JOBS.c.n: 2}),
    sa.update(JOBS).where(JOBS.c.id.in_([1, 2])).values(n=JOBS.c.n + 1, state="run").returning(JOBS.c.id),
    sa.update(JOBS).values({JOBS.c.n: sa.select(sa.func.count()).select_from(ITEMS).scalar_subquery()}),
    sa.delete(JOBS).where(sa.or_(JOBS.c.n > 2, sa.not_(JOBS.c.done))).returning(JOBS.c.id),
]
DIALECTS = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect(), "mysql": mysql.dialect()}


def text_of(statement: Any, dialect: Any) -> str:
    return str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


@pytest.mark.parametrize("dialect", list(DIALECTS))
@pytest.mark.parametrize("statement", STATEMENTS, ids=lambda s: type(s).__name__.lower())
def test_a_retargeted_statement_is_the_users_with_prefixed_names_and_the_users_stays_as_it_was(
        statement: Any, dialect: str) -> None:
    db = SpecDatabase("sqlite:///unused.db", META, prefix="wavesim_p_")
    before = text_of(statement, DIALECTS[dialect])
    after = text_of(db.retarget(statement), DIALECTS[dialect])
    assert text_of(statement, DIALECTS[dialect]) == before
    assert "wavesim_p_" not in before
    assert after == re.sub(r"\b(jobs|items)\b", r"wavesim_p_\1", before)


def test_a_statement_on_a_table_outside_the_spec_is_refused() -> None:
    db = SpecDatabase("sqlite:///unused.db", META)
    _, elsewhere, _ = spec_tables("other_")
    with pytest.raises(DatabaseError, match="names table 'other_jobs', which is not one of the spec's tables"):
        db.retarget(sa.select(JOBS.c.id).where(JOBS.c.id == elsewhere.c.id))


def test_the_sql_shown_is_what_the_engine_runs_defaults_included(db: SpecDatabase) -> None:
    p = db.prefix
    begin = {"sqlite": "BEGIN IMMEDIATE", "postgresql": "BEGIN", "mysql": "START TRANSACTION"}[db.dialect]
    with db.sessions(1) as s:
        assert [s.sql(op) for op in ("begin", "commit", "rollback")] == [begin, "COMMIT", "ROLLBACK"]
        false = "false" if db.dialect != "sqlite" else "0"
        assert s.sql(sa.insert(JOBS).values(id=5)) == f"INSERT INTO {p}jobs (id, n, done) VALUES (5, 0, {false})"
        assert s.sql(sa.insert(JOBS).values([{"id": 3}, {"id": 4, "n": 2}])) == (
            f"INSERT INTO {p}jobs (id, n, done) VALUES (3, 0, false), (4, 2, false)"
            if db.dialect != "sqlite" else f"INSERT INTO {p}jobs (id, n, done) VALUES (3, 0, 0), (4, 2, 0)")
        assert s.sql(sa.update(JOBS).where(JOBS.c.id.in_([1, 2])).values(state="a'b")) == (
            f"UPDATE {p}jobs SET state='a''b' WHERE {p}jobs.id IN (1, 2)")
        seen = s.run(0, sa.insert(JOBS).values([{"id": 3}, {"id": 4, "n": 2}]))  # its rowcount: -1 on psycopg
        assert (seen.kind, seen.rows, seen.error) == (DONE, (), None)
    assert [(r["id"], r["n"], r["done"]) for r in db.rows()["jobs"]][2:] == [(3, 0, False), (4, 2, False)]


# -- sessions ---------------------------------------------------------------------------------------------

def bump(key: int) -> Any:
    return sa.update(JOBS).where(JOBS.c.id == key).values(n=JOBS.c.n + 1)


def test_a_second_writer_waits_for_the_first_and_finishes_when_it_commits(db: SpecDatabase) -> None:
    """SQLite: the second BEGIN IMMEDIATE waits for the write lock; PostgreSQL and MariaDB: the second
    UPDATE waits for the row lock."""
    with db.sessions(2) as s:
        assert [s.run(0, "begin"), s.run(0, bump(1))] == [Seen(DONE), Seen(DONE, (), 1)]
        assert s.in_transaction(0)
        if db.dialect == "sqlite":
            assert s.run(1, "begin") == Seen(BLOCKED)
        else:
            assert [s.run(1, "begin"), s.run(1, bump(1))] == [Seen(DONE), Seen(BLOCKED)]
        assert s.settle(1, 0.2) == Seen(BLOCKED)  # still: its holder has not ended
        with pytest.raises(DatabaseError, match="session 1 is still running its last step: settle it first"):
            s.run(1, "commit")
        assert s.run(0, "commit") == Seen(DONE)
        if db.dialect == "sqlite":
            assert [s.settle(1, 10.0), s.run(1, bump(1))] == [Seen(DONE), Seen(DONE, (), 1)]
        else:
            assert s.settle(1, 10.0) == Seen(DONE, (), 1)
        assert s.run(1, "commit") == Seen(DONE)
        assert [s.in_transaction(0), s.in_transaction(1), s.busy(0), s.busy(1)] == [False] * 4
    assert [(r["id"], r["n"]) for r in db.rows()["jobs"]] == [(1, 2), (2, 5)]


def test_leaving_the_sessions_rolls_back_what_is_open_blocked_ones_included(db: SpecDatabase) -> None:
    with db.sessions(2) as s:
        s.run(0, "begin")
        s.run(0, bump(2))
        if db.dialect != "sqlite":
            s.run(1, "begin")
        assert s.run(1, bump(2) if db.dialect != "sqlite" else "begin") == Seen(BLOCKED)
    assert [(r["id"], r["n"]) for r in db.rows()["jobs"]] == [(1, 0), (2, 5)]


@pytest.mark.parametrize("engine", SERVERS)
def test_a_deadlock_comes_back_as_the_models_deadlock(db: SpecDatabase) -> None:
    with db.sessions(2) as s:
        for session, op in [(0, "begin"), (1, "begin"), (0, bump(1)), (1, bump(2))]:
            assert s.run(session, op).kind == DONE
        assert s.run(0, bump(2)) == Seen(BLOCKED)
        last = s.run(1, bump(1))  # closes the cycle: the engine aborts one of the two
        first = s.settle(0, 10.0) if last.kind == ERROR else s.settle(0, 0.0)
        if first.kind == ERROR:
            last = s.settle(1, 10.0)
        seen = sorted([first, last], key=lambda v: v.kind)
        assert [(v.kind, v.error) for v in seen] == [(DONE, None), (ERROR, spec.DEADLOCK)]
        assert seen[0].rowcount == 1 and "deadlock" in seen[1].message.lower()


def test_an_isolation_level_the_engine_cannot_begin_is_refused(db: SpecDatabase) -> None:
    wrong = spec.READ_COMMITTED if db.dialect == "sqlite" else spec.SERIAL
    with pytest.raises(DatabaseError, match=f"isolation level '{wrong}' on {db.dialect}: use one of"):
        db.sessions(1, wrong)
    with db.sessions(1) as s, pytest.raises(DatabaseError, match=f"isolation level '{wrong}'"):
        s.run(0, ("begin", wrong))


@pytest.mark.parametrize("engine", ["postgresql"])
def test_a_level_reaches_the_engines_transaction(db: SpecDatabase) -> None:
    show = sa.text("SHOW transaction_isolation")
    with db.sessions(1, spec.REPEATABLE_READ) as s:
        assert [s.run(0, "begin"), s.run(0, show), s.run(0, "commit")] == [
            Seen(DONE), Seen(DONE, (("repeatable read",),), 1), Seen(DONE)]
        assert [s.run(0, ("begin", spec.READ_COMMITTED)), s.run(0, show), s.run(0, "rollback")] == [
            Seen(DONE), Seen(DONE, (("read committed",),), 1), Seen(DONE)]


@pytest.mark.parametrize("engine", SERVERS)
def test_a_statement_outside_a_transaction_runs_at_the_sessions_level(db: SpecDatabase) -> None:
    """The model runs it at the session's level: the engine must too, not at the server's default."""
    show = sa.text("SHOW transaction_isolation" if db.dialect == "postgresql" else "SELECT @@tx_isolation")
    for level, shown in [(spec.READ_COMMITTED, "read committed"), (spec.REPEATABLE_READ, "repeatable read")]:
        with db.sessions(1, level) as s:
            seen = s.run(0, show)
            assert (seen.kind, seen.rows[0][0].lower().replace("-", " ")) == (DONE, shown)


def test_a_reading_of_every_table_is_one_committed_state(db: SpecDatabase, engine: str) -> None:
    # a transaction that changes both tables commits between the reading's first table and its second: the
    # reading shows both as they were before it (a live run's properties are judged on such readings)
    if engine == "sqlite":
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")  # as live runs open it: a writer beside a reader
    first = next(iter(db.tables.values())).name
    wrote: list[str] = []

    def commit_between(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if wrote or not statement.lstrip().upper().startswith("SELECT") or first not in statement:
            return
        wrote.append(statement)
        with db.engine.connect() as other:
            other.exec_driver_sql("BEGIN")
            other.execute(sa.update(db.tables["jobs"]).values(n=99))
            other.execute(sa.update(db.tables["items"]).values(note="y"))
            other.exec_driver_sql("COMMIT")

    sa.event.listen(db.engine, "after_cursor_execute", commit_between)
    try:
        seen = db.rows()
    finally:
        sa.event.remove(db.engine, "after_cursor_execute", commit_between)
    assert wrote, "the reading never read its first table"
    assert ([r["n"] for r in seen["jobs"]], [r["note"] for r in seen["items"]]) == ([0, 5], ["x"])
    assert [r["n"] for r in db.rows()["jobs"]] == [99, 99]  # the next reading sees the commit
