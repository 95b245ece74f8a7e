"""One database for every process of a run: a relative SQLite URL means the caller's folder.

``dbdriver.resolve_url`` resolves it once, in the caller, before any process
starts; the processes start in the caller's folder, without that folder on
their import path. An in-memory SQLite database, which no second connection can
see, is refused with one line.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import live.supervisor
from dbdriver import DatabaseError, resolve_url
from live import LiveSettings
from live.spec import RunSpec
from live.supervisor import Supervisor
from tests.live_helpers import SMALL, live_processes
from wavesim.cli import main
from wavesim.commands.live import run_imports

TINY = ["--waves", "2", "--wave-size", "2", "--workers", "2", "--deadline-s", "20"]


def test_a_relative_sqlite_path_is_made_absolute_against_the_given_folder(tmp_path: Path) -> None:
    assert resolve_url("sqlite:///live.db", tmp_path) == f"sqlite:///{tmp_path}/live.db"
    assert resolve_url("sqlite+pysqlite:///sub/x.db?timeout=5", tmp_path) == \
        f"sqlite+pysqlite:///{tmp_path}/sub/x.db?timeout=5"
    assert resolve_url(f"sqlite:///{tmp_path}/abs.db", "/elsewhere") == f"sqlite:///{tmp_path}/abs.db"


def test_the_current_folder_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_url("sqlite:///live.db") == f"sqlite:///{tmp_path}/live.db"


@pytest.mark.parametrize("url", ["postgresql+psycopg://user:p%40ss@db.example/x",
                                 "mysql+pymysql://root@127.0.0.1:3306/test",
                                 "sqlite:///file:run.db?uri=true"])
def test_other_urls_pass_through_unchanged(url: str) -> None:
    assert resolve_url(url, "/elsewhere") == url


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite:///file:m?mode=memory&uri=true"])
def test_an_in_memory_database_is_refused(url: str) -> None:
    with pytest.raises(DatabaseError, match="in-memory"):
        resolve_url(url)


def test_live_refuses_an_in_memory_database_with_one_line() -> None:
    out = CliRunner().invoke(main, ["live", "--db", "sqlite:///:memory:"])
    assert out.exit_code == 2, out.output
    [line] = out.output.strip().splitlines()
    assert line.startswith("error: ") and "in-memory" in line and "worker process" in line


def test_replay_resolves_its_database_too(tmp_path: Path) -> None:
    out = CliRunner().invoke(main, ["replay", str(tmp_path / "none.json"), "--db", "sqlite:///:memory:"])
    assert out.exit_code == 2 and "in-memory" in out.output, out.output


def _run_rows(db: Path) -> int:
    con = sqlite3.connect(db)
    try:
        return int(con.execute("SELECT count(*) FROM wavesim_live_dispatch_log").fetchone()[0])
    finally:
        con.close()


def test_a_live_run_from_another_folder_with_a_relative_url_uses_that_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    caller = tmp_path / "try"
    caller.mkdir()
    monkeypatch.chdir(caller)
    out = CliRunner().invoke(main, ["live", "--db", "sqlite:///live.db", "--json", *TINY])
    # 1: a property broke in this run's timing (atomic may run two waves once the first is at its threshold);
    # what this test is about is where the run's file lands, and that the import completed there
    assert out.exit_code in (0, 1), out.output
    doc = json.loads(out.stdout.splitlines()[0])
    assert doc["metrics"]["outcome"] == "completed" and doc["metrics"]["waves_completed"] == 2
    assert _run_rows(caller / "live.db") >= 2  # the workers' pushes landed in the caller's file
    assert live_processes(tmp_path) == []


def _popen_in(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Start every child in ``folder``, as a plain install once started them in site-packages."""
    real = subprocess.Popen

    def popen(*args: Any, **kwargs: Any) -> Any:
        return real(*args, **{**kwargs, "cwd": str(folder)})

    monkeypatch.setattr(live.supervisor.subprocess, "Popen", popen)


def test_workers_in_another_folder_still_open_the_callers_database(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    caller, elsewhere = tmp_path / "caller", tmp_path / "site-packages"
    for folder in (caller, elsewhere, tmp_path / "work"):
        folder.mkdir()
    monkeypatch.chdir(caller)
    _popen_in(elsewhere, monkeypatch)
    [(run, result)] = run_imports("sqlite:///live.db", ["atomic"], SMALL.with_settings(deadline_s=20.0),
                                  workdir=str(tmp_path / "work"))
    assert run.outcome == "completed" and result.metrics["waves_completed"] == SMALL.waves
    assert run.spec.db_url == f"sqlite:///{caller}/live.db"
    assert _run_rows(caller / "live.db") >= SMALL.waves
    assert not (elsewhere / "live.db").exists()


def test_children_start_in_the_callers_folder_without_it_on_their_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    caller = tmp_path / "caller"
    (caller / "live").mkdir(parents=True)  # a folder named like ours must not shadow it
    marker = tmp_path / "shadowed"
    (caller / "live" / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n", encoding="utf-8")
    monkeypatch.chdir(caller)
    fault_log = tmp_path / "run.faults.jsonl"
    spec = RunSpec(run="cwd", job_id=1, db_url=f"sqlite:///{tmp_path / 'x.db'}", queue_url=None, t0=time.time(),
                   fault_log=str(fault_log), settings=LiveSettings().to_dict())
    spec_path = tmp_path / "run.spec.json"
    spec_path.write_text(spec.to_json(), encoding="utf-8")
    sup = Supervisor(str(spec_path), str(tmp_path / "stderr.txt"))
    child = sup.spawn("worker", 0)
    try:
        ready = Path(f"{fault_log}.ready.worker.0.0")
        end = time.monotonic() + 30
        while not ready.exists() and child.process.poll() is None and time.monotonic() < end:
            time.sleep(0.01)
        assert ready.exists(), (tmp_path / "stderr.txt").read_text()
        assert os.readlink(f"/proc/{child.process.pid}/cwd") == str(caller)  # waiting for the go file
    finally:
        sup.stop()
    assert not marker.exists()
    assert sys.executable in child.process.args
