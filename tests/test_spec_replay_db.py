"""A spec's counterexample on a real database: SQLite here, step by step against the model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from dbdriver.specsessions import Seen
from spec.results import Blocked, Done, Failed, Result
from specfile.replay import _same
from wavesim.cli import main

ROOT = Path(__file__).resolve().parent.parent
COUNTER = str(ROOT / "examples" / "batch_counter.py")
LOST = str(ROOT / "tests" / "fixtures" / "specs" / "lostupdate.py")


def invoke(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


def test_the_double_callback_replays_on_sqlite_and_leaves_no_table(tmp_path: Path) -> None:
    trace = tmp_path / "t.json"
    assert invoke("check", COUNTER, "--dialect", "sqlite", "--trace-out", str(trace)).exit_code == 1
    db = f"sqlite:///{tmp_path / 'r.db'}"
    replayed = invoke("replay", str(trace), "--db", db)
    assert replayed.exit_code == 1, replayed.output
    assert "callback_at_most_once VIOLATED in the real rows" in replayed.stdout
    assert "real rows of job_batches: [{'id': 1, 'pending_jobs': 0}]" in replayed.stdout
    tables = sa.inspect(sa.create_engine(db)).get_table_names()
    assert tables == [], tables  # wavesim dropped what it made, and made nothing else


def test_a_trace_for_one_engine_is_refused_on_another(tmp_path: Path) -> None:
    trace = tmp_path / "t.json"
    assert invoke("check", LOST, "--trace-out", str(trace)).exit_code == 1
    assert json.loads(trace.read_text())["dialect"] == "postgresql"
    other = invoke("replay", str(trace), "--db", f"sqlite:///{tmp_path / 'r.db'}")
    assert other.exit_code == 2 and "was checked for postgresql" in other.stderr


def test_a_users_table_under_the_prefix_is_never_touched(tmp_path: Path) -> None:
    trace = tmp_path / "t.json"
    invoke("check", COUNTER, "--dialect", "sqlite", "--trace-out", str(trace))
    db = f"sqlite:///{tmp_path / 'r.db'}"
    engine = sa.create_engine(db)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE wavesim_spec_job_batches (id INTEGER PRIMARY KEY, mine TEXT)")
        conn.exec_driver_sql("INSERT INTO wavesim_spec_job_batches VALUES (7, 'keep me')")
    refused = invoke("replay", str(trace), "--db", db)
    assert refused.exit_code == 2 and "wavesim_spec_owner" in refused.stderr
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT * FROM wavesim_spec_job_batches").all() == [(7, "keep me")]


def test_each_kind_of_difference_between_the_engine_and_the_model_is_named() -> None:
    select = sa.select(sa.column("x"))
    update = sa.update(sa.table("t", sa.column("x"))).values(x=1)
    assert _same(Done(Result(("x",), ((1,),))), Seen("done", ((1,),)), select) is None
    assert "rows differ" in (_same(Done(Result(("x",), ((1,),))), Seen("done", ((2,),)), select) or "")
    assert "row counts differ" in (_same(Done(Result(rowcount=1)), Seen("done", (), 2), update) or "")
    assert "the model waits" in (_same(Blocked(frozenset({1})), Seen("done"), update) or "")
    assert "the engine still waits" in (_same(Done(Result()), Seen("blocked"), update) or "")
    assert "the model raises deadlock" in (_same(Failed("deadlock", ""), Seen("done"), update) or "")
    assert "the engine raised" in (_same(Done(Result()), Seen("error", error="deadlock"), update) or "")


@pytest.mark.parametrize(("name", "fix"), [("queue_job_double_start", "fix=cas"), ("rq_dependents", "fix=pr-742"),
                                           ("goodjob_batch_callback", "fix=reload"),
                                           ("oban_unique_insert", "fix=4828cd1f")])
def test_a_spec_written_from_the_docs_alone_loads_checks_and_replays(tmp_path: Path, name: str, fix: str) -> None:
    # each was written from the README, docs/ and --help alone: OCA/queue's job started twice, RQ's dependency
    # race, GoodJob's batch callback enqueued per job, Oban's unique insert
    spec = str(next(p for p in (ROOT / "examples" / f"{name}.py", ROOT / "tests" / "fixtures" / "specs" / f"{name}.py")
                    if p.exists()))
    trace = tmp_path / "t.json"
    assert invoke("check", spec, "--dialect", "sqlite", "--trace-out", str(trace)).exit_code == 1
    assert invoke("check", spec, "--switch", fix).exit_code == 0
    replayed = invoke("replay", str(trace), "--db", f"sqlite:///{tmp_path / 'r.db'}")
    assert replayed.exit_code == 1 and "VIOLATED in the real rows" in replayed.stdout, replayed.output
