"""``wavesim check SPEC --export test_x.py``: the pytest file replays the trace on the engine it was checked
for, as ``wavesim replay --db`` does, and finds the spec from any working folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from specfile.export import URL_VARIABLES
from specfile.replay import other_engine
from wavesim.cli import main

ROOT = Path(__file__).resolve().parent.parent
COUNTER = ROOT / "examples" / "batch_counter.py"
PROPERTY = ("--property", "callback_at_most_once")


def export(spec: Path, out: Path, *options: str) -> str:
    result = CliRunner().invoke(main, ["check", str(spec), *PROPERTY, "--export", str(out), *options])
    assert result.exit_code == 1, result.output  # the bug: a counterexample to export
    return out.read_text(encoding="utf-8")


def pytest_in(folder: Path, test: Path, **env: str) -> str:
    """Run the exported test with pytest from ``folder``, without the servers' variables unless given."""
    clean = {k: v for k, v in os.environ.items() if k not in URL_VARIABLES.values()}
    clean["PYTHONPATH"] = str(ROOT)
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(test)],
                          cwd=folder, env={**clean, **env}, capture_output=True, text=True, timeout=120)
    return done.stdout + done.stderr


def test_a_sqlite_trace_replays_on_a_sqlite_file_and_fails_while_the_bug_is_there(tmp_path: Path) -> None:
    test = tmp_path / "out" / "test_counter.py"
    test.parent.mkdir()
    text = export(COUNTER, test, "--dialect", "sqlite")
    assert "Database:     a temporary SQLite file." in text
    out = pytest_in(tmp_path / "elsewhere", test)
    assert "1 failed" in out and "callback_at_most_once violated in the real rows" in out, out


@pytest.mark.parametrize("dialect", sorted(URL_VARIABLES))
def test_a_server_trace_reads_its_engine_url_and_is_skipped_naming_it_when_unset(tmp_path: Path,
                                                                                  dialect: str) -> None:
    test = tmp_path / f"test_{dialect}.py"
    text = export(COUNTER, test, "--dialect", dialect)
    variable = URL_VARIABLES[dialect]
    assert f"whose URL is in {variable}" in text
    out = pytest_in(tmp_path, test)
    assert "1 skipped" in out and f"set {variable} to a {dialect} server URL" in out, out


def test_another_engine_url_is_refused_as_replay_refuses_it(tmp_path: Path) -> None:
    test = tmp_path / "test_pg.py"
    export(COUNTER, test, "--dialect", "postgresql")
    url = f"sqlite:///{tmp_path / 'x.db'}"
    out = pytest_in(tmp_path, test, WAVESIM_POSTGRES_URL=url)
    assert "1 failed" in out and "the trace was checked for postgresql: replay it on that engine" in out, out
    assert other_engine("postgresql", url, "t.json") == (
        "t.json was checked for postgresql: replay it on that engine, or check the spec with --dialect sqlite and "
        "replay that trace")
    assert other_engine("mysql", "mysql+pymysql://root@127.0.0.1/test", "t.json") is None


def test_a_spec_outside_the_export_folder_is_named_by_its_absolute_path(tmp_path: Path) -> None:
    test = tmp_path / "deep" / "er" / "test_counter.py"
    test.parent.mkdir(parents=True)
    text = export(COUNTER, test, "--dialect", "sqlite")
    assert f"TRACE[\"spec\"] = {str(COUNTER)!r}" in text and ".." not in text.split("TRACE[\"spec\"] =")[1]
    assert f"Spec:         {COUNTER} (its absolute path" in text
    moved = tmp_path / "moved.py"
    shutil.move(test, moved)  # the test alone moves: it still finds the spec
    assert "callback_at_most_once violated in the real rows" in pytest_in(tmp_path / "x", moved)


def test_a_spec_beside_the_export_is_found_from_the_file_folder_when_both_move(tmp_path: Path) -> None:
    folder = tmp_path / "a"
    folder.mkdir()
    shutil.copy(COUNTER, folder / "counter.py")
    text = export(folder / "counter.py", folder / "test_counter.py", "--dialect", "sqlite")
    assert "Spec:         counter.py, from this file's folder (move both together)" in text
    shutil.move(folder, tmp_path / "b")
    out = pytest_in(tmp_path / "elsewhere", tmp_path / "b" / "test_counter.py")
    assert "callback_at_most_once violated in the real rows" in out, out


@pytest.mark.parametrize("dialect", ["postgresql", "mysql", "sqlite"])
def test_the_sql_script_creates_each_key_as_a_plain_integer_primary_key(tmp_path: Path, dialect: str) -> None:
    script = tmp_path / "counter.sql"
    text = export(COUNTER, script, "--dialect", dialect)
    assert "id INTEGER NOT NULL," in text and "PRIMARY KEY (id)" in text
    assert "SERIAL" not in text and "AUTO_INCREMENT" not in text and "AUTOINCREMENT" not in text


def test_replay_creates_the_same_plain_keys_as_the_script(tmp_path: Path) -> None:
    import sqlalchemy as sa
    from sqlalchemy.dialects import mysql, postgresql

    from dbdriver.specdb import SpecDatabase
    from specfile.load import load_spec

    spec = load_spec(COUNTER)
    db = SpecDatabase(f"sqlite:///{tmp_path / 'x.db'}", spec.metadata)
    try:
        for dialect in (postgresql.dialect(), mysql.dialect()):
            for table in db.tables.values():
                ddl = str(sa.schema.CreateTable(table).compile(dialect=dialect))
                assert "SERIAL" not in ddl and "AUTO_INCREMENT" not in ddl, ddl
    finally:
        db.engine.dispose()
    assert all(t.c.id.autoincrement == "auto" for t in spec.metadata.sorted_tables)  # the spec's own, unchanged
