"""The database driver: replaying a counterexample on real rows, errors, ownership, the generated docs."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from dbengines import ENGINES, unique_prefix, url_for

import dbdriver
from coordinator import POLICIES
from coordinator import sql as q
from docgen import load_blocks, render_file
from model.checker import check
from model.scope import Scope
from model.trace import steps_of, to_json
from wavesim.cli import main

DOCS = Path(__file__).resolve().parent.parent / "docs" / "databases.md"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def guarded_duplicate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    search = check(Scope(), POLICIES["guarded"], properties=("no_duplicate_push",))
    found = search.found["no_duplicate_push"]
    path = tmp_path_factory.mktemp("trace") / "dup.json"
    path.write_text(json.dumps(to_json(search.spec, "no_duplicate_push", found.detail,
                                       steps_of(search.spec, found.path))))
    return path


@pytest.mark.parametrize("engine", list(ENGINES))
def test_the_guarded_duplicate_replays_to_a_real_duplicate(engine: str, guarded_duplicate: Path,
                                                           tmp_path: Path) -> None:
    url, prefix = url_for(engine, tmp_path), unique_prefix()
    try:
        code, out, err = invoke("replay", str(guarded_duplicate), "--db", url, "--prefix", prefix)
        assert code == 1, err
        assert "no_duplicate_push VIOLATED in the real rows: 1 wave(s) dispatched more than once: wave 2 x2" in out
        assert "2:dispatching 0/2 claimed x2" in out  # two writes claimed it before the second push
    finally:
        db = dbdriver.open_database(url, prefix=prefix)
        db.clean()
        db.dispose()


@pytest.mark.parametrize("engine", list(ENGINES))
def test_the_guarded_double_claim_replays_to_two_runs_told_they_own_a_wave(engine: str, tmp_path: Path) -> None:
    """The model's runs are the replay's connections, and the claims record names the two told."""
    search = check(Scope(), POLICIES["guarded"], properties=("no_duplicate_claim",))
    found = search.found["no_duplicate_claim"]
    steps = steps_of(search.spec, found.path)
    claimers = [step.actor for step in steps if step.what.startswith("SetStatus(wave=2, status=dispatching)")]
    assert len(claimers) == 2
    trace = tmp_path / "claim.json"
    trace.write_text(json.dumps(to_json(search.spec, "no_duplicate_claim", found.detail, steps)))
    url, prefix = url_for(engine, tmp_path), unique_prefix()
    try:
        code, out, err = invoke("replay", str(trace), "--db", url, "--prefix", prefix)
        assert code == 1, err
        assert ("no_duplicate_claim VIOLATED in the real rows: 1 wave(s) claimed by more than one run: wave 2 told "
                f"to 2 runs; told: wave 2 to {', '.join(claimers)}") in out
    finally:
        db = dbdriver.open_database(url, prefix=prefix)
        db.clean()
        db.dispose()


def test_a_table_wavesim_did_not_create_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "theirs.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE wavesim_wave_coordination (job_id INTEGER, note TEXT)")
        conn.execute("INSERT INTO wavesim_wave_coordination VALUES (1, 'theirs')")
    with pytest.raises(dbdriver.DatabaseError, match="wavesim did not create it and will not write to it"):
        dbdriver.open_database(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT * FROM wavesim_wave_coordination").fetchall() == [(1, "theirs")]
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert names == {"wavesim_wave_coordination"}


def test_clean_drops_only_its_own_prefix(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'both.db'}"
    mine, other = dbdriver.open_database(url, prefix="wavesim_a_"), dbdriver.open_database(url, prefix="wavesim_b_")
    mine.create_import(job_id=1, waves=2, wave_size=2)
    mine.clean()
    mine.dispose()
    with sqlite3.connect(tmp_path / "both.db") as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert names == {f"wavesim_b_{t}" for t in q.TABLES} | {"sqlite_sequence"}
    other.clean()
    other.dispose()


@pytest.mark.parametrize(("url", "message"), [
    ("not a url", "error: not a database URL: 'not a url'"),
    ("oracle://u@h/db", "error: database oracle://u@h/db: unsupported scheme 'oracle'"),
    ("mysql+pymysql://root@127.0.0.1:1/test", "error: database mysql+pymysql://root@127.0.0.1:1/test: (2003,"),
    # a relative path is shown resolved: the file the user's folder names
    ("sqlite:///no/such/folder/x.db", "error: database sqlite:///{cwd}/no/such/folder/x.db: unable to open database "
                                      "file"),
])
def test_a_database_that_cannot_be_used_is_one_line_and_exit_2(url: str, message: str,
                                                               guarded_duplicate: Path) -> None:
    code, out, err = invoke("replay", str(guarded_duplicate), "--db", url)
    assert code == 2
    message = message.replace("{cwd}", os.getcwd())
    assert err.startswith(message) and err.count("\n") == 1


def test_a_prefix_must_be_wavesims() -> None:
    with pytest.raises(dbdriver.DatabaseError, match="must start with 'wavesim_'"):
        dbdriver.open_database("sqlite:///x.db", prefix="users_")


def test_a_tests_prefix_names_its_worker_and_process_and_differs_per_call(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:
    """Parallel workers and test runs started at once share the servers: their names never meet."""
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw7")
    first, second = unique_prefix(), unique_prefix()
    assert first != second and first.startswith(f"wavesim_7p{os.getpid()}_")
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw8")
    assert unique_prefix().startswith(f"wavesim_8p{os.getpid()}_")
    dbdriver.open_database(url_for("sqlite", tmp_path), prefix=first).dispose()  # a prefix the driver takes
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw15")
    monkeypatch.setattr(os, "getpid", lambda: 4194304)  # the largest pid_max
    assert len(unique_prefix() + "django_celery_results_chordcounter") <= 63  # PostgreSQL's longest name


def test_the_databases_page_is_what_the_code_says() -> None:
    text = DOCS.read_text(encoding="utf-8")
    load_blocks()
    assert render_file(text)[0] == text, "run: wavesim docs"


@pytest.mark.parametrize("engine", ["postgresql", "mysql"])
def test_a_session_level_reaches_the_fix_transactions(engine: str, tmp_path: Path) -> None:
    from live.db import set_isolation

    db = dbdriver.open_database(url_for(engine, tmp_path), prefix=unique_prefix())
    try:
        with db.session() as s:
            seen = []
            s.transaction(lambda: seen.append(str(s.conn.exec_driver_sql(
                "SHOW transaction_isolation" if engine == "postgresql" else "SELECT @@tx_isolation").scalar())))
            set_isolation(s, "SERIALIZABLE")
            s.transaction(lambda: seen.append(str(s.conn.exec_driver_sql(
                "SHOW transaction_isolation" if engine == "postgresql" else "SELECT @@tx_isolation").scalar())))
        # the driver's own level first, then the session's (MariaDB's one-shot SET TRANSACTION
        # is not readable inside the transaction: the statements run show it instead)
        if engine == "postgresql":
            assert [v.upper() for v in seen] == ["READ COMMITTED", "SERIALIZABLE"]
        else:
            assert seen[1].upper() == "SERIALIZABLE"
        assert s.ran.count("set_read_committed") == (1 if engine == "mysql" else 0)
        assert s.ran.count("begin") == 1 and s.ran.count("begin_at_session_level") == 1
    finally:
        db.clean()
        db.dispose()


def _one_line_exit_2(trace: Path, url: str, starts: str) -> None:
    code, _, err = invoke("replay", str(trace), "--db", url)
    assert code == 2 and err.count("\n") == 1 and err.startswith(starts), err


def test_a_missing_python_driver_is_one_line_and_exit_2(guarded_duplicate: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if the package were not installed
    _one_line_exit_2(guarded_duplicate, "postgresql+psycopg://postgres@127.0.0.1:5432/test",
                     "error: database postgresql+psycopg://postgres@127.0.0.1:5432/test: the Python driver "
                     "'psycopg' is not installed")


@pytest.mark.parametrize("engine", ["postgresql", "mysql"])
def test_wrong_credentials_and_missing_rights_are_one_line_and_exit_2(engine: str, guarded_duplicate: Path,
                                                                     tmp_path: Path) -> None:
    import sqlalchemy as sa

    admin_url = sa.engine.make_url(url_for(engine, tmp_path))
    user = unique_prefix().rstrip("_")  # a role of this test's own, with no rights at all
    stranger = admin_url.set(username=user + "x", password=None).render_as_string(hide_password=False)
    _one_line_exit_2(guarded_duplicate, stranger, f"error: database {stranger}: ")
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    create, drop = ((f"CREATE ROLE {user} LOGIN", f"DROP ROLE {user}") if engine == "postgresql"
                    else (f"CREATE USER '{user}'@'%%'", f"DROP USER '{user}'@'%%'"))  # %% for the driver's paramstyle
    with admin.connect() as conn:
        conn.exec_driver_sql(create)
    try:
        # PostgreSQL 15 lets a new role connect but not create tables in public; MariaDB refuses the database
        unprivileged = admin_url.set(username=user, password=None).render_as_string(hide_password=False)
        _one_line_exit_2(guarded_duplicate, unprivileged, f"error: database {unprivileged}: ")
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(drop)
        admin.dispose()
