"""Live runs of a spec (``wavesim live SPEC``): real worker processes, real queues, the real rows judged.

The tutorial's spec (``examples/batch_counter.py``) shows its bug live (two jobs both read zero and push the
callback twice: exit 1, ``callback_at_most_once`` named) and its landed fix holds (exit 0). A worker killed
inside a transaction (``tests/fixtures/specs/lostupdate.py``, before its COMMIT) leaves its job reserved and
its write uncommitted; the engine rolls it back, the queue delivers the job again after ``retry_after`` and
the goal is still reached; with a ``retry_after`` longer than the deadline the same kill leaves the goal
unreached, which is what shows the redelivery did it. On SQLite always; on PostgreSQL, MariaDB and the Redis queue
when ``WAVESIM_POSTGRES_URL``, ``WAVESIM_MYSQL_URL`` and ``WAVESIM_REDIS_URL`` are set (skipped, naming the
variable, otherwise).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from live import LiveSettings
from live.specrun import PREFIX, SpecLiveRun, run_spec_live
from live.tables import LiveTables
from report.livespec import jobs_by_outcome, redeliveries
from specfile.load import load_spec
from tests.live_helpers import live_processes, server_url, table_names
from wavesim.cli import main

ROOT = Path(__file__).resolve().parent.parent
COUNTER = str(ROOT / "examples" / "batch_counter.py")
#: read, then write a balance: an update is lost unless the read locks (runs on every engine's SQL)
LOST_UPDATE = str(ROOT / "tests" / "fixtures" / "specs" / "lostupdate.py")
#: raises on its first try, fires a listener, has a periodic job
RETRY = str(ROOT / "tests" / "fixtures" / "specs" / "live_retry.py")
#: a job that pushes itself again, delayed, for ever
FOREVER = str(ROOT / "tests" / "fixtures" / "specs" / "forever.py")
#: a pause before each step long enough for two jobs' steps to interleave; retry_after (0.8 s of wall time) longer
#: than a job (a job still running when its reservation expires is delivered again)
FAST = LiveSettings(deadline_s=20.0, retry_after_s=40.0, step_s=5.0, stall_min_wall_s=0.5)
#: a kill inside a deposit's transaction, before its COMMIT: the row lock (SQLite: the write lock) held
KILL = FAST.with_settings(kill_at="before step 4", kill_at_times=1)


def _run(url: str, tmp_path: Path, given: dict[str, str], settings: LiveSettings = FAST, queue: str | None = None,
         path: str = COUNTER) -> SpecLiveRun:
    spec = load_spec(path)
    try:
        return run_spec_live(spec, given, settings, db_url=url, engine="test", queue_url=queue,
                             workdir=str(tmp_path))
    finally:
        from dbdriver.specdb import SpecDatabase

        SpecDatabase(url, spec.metadata, PREFIX).drop()


def _cli(url: str, *args: str) -> tuple[int, str]:
    out = CliRunner().invoke(main, ["live", COUNTER, "--db", url, "--step-s", "5", *args])
    return out.exit_code, out.output


def test_the_tutorials_bug_shows_live_and_its_fix_holds(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    code, out = _cli(url, "--repeat", "2")
    assert code == 1, out
    assert "callback_at_most_once        always     VIOLATED" in out
    assert "finally_callback x2" in out  # two callbacks pushed, and both ran
    code, out = _cli(url, "--switch", "fix=returning", "--json", "--keep-tables")
    assert code == 0, out
    doc = json.loads(out.splitlines()[0])  # then the line saying what was kept (on stderr)
    assert doc["properties"]["callback_at_most_once"]["holds"] and doc["properties"]["callback_ran"]["holds"]
    assert doc["rows"] == {"job_batches": [{"id": 1, "pending_jobs": 0}]}
    assert doc["outcome"] == "reached" and doc["live"]["deliveries"] == {"process": 2, "finally_callback": 1}
    engine = sa.create_engine(url)
    events = LiveTables().events
    with engine.connect() as conn:  # the ghost record the property read, kept in wavesim's events table
        records = [json.loads(r.detail) for r in conn.execute(sa.select(events).where(events.c.kind == "record"))]
    engine.dispose()
    assert {(r["event"], tuple(r["key"])) for r in records} == {("callback", (1,))}
    assert CliRunner().invoke(main, ["live", "--db", url, "--clean"]).exit_code == 0
    assert not {t for t in table_names(url) if t.startswith(PREFIX)}  # the spec's tables and marker dropped
    assert live_processes(tmp_path) == []


def test_a_worker_killed_mid_transaction_is_rolled_back_and_its_job_redelivered(tmp_path: Path) -> None:
    run = _run(f"sqlite:///{tmp_path / 'live.db'}", tmp_path, {"read": "for-update"}, KILL, path=LOST_UPDATE)
    assert [f["point"] for f in run.faults if f["kind"] == "kill"] == ["before step 4"]
    assert run.redelivered == 1 and run.deliveries["deposit"] == 3  # the killed one came back, same try
    assert redeliveries(run)["count"] == 0 and redeliveries(run)["says"] is None  # the kill explains it
    assert [d[3] for d in run.deaths] == [-9]
    assert run.outcome == "reached" and all(v.holds for v in run.verdicts.values())
    assert run.rows == {"accounts": [{"id": 1, "balance": 2}]}  # the killed transaction's write is gone
    ended = jobs_by_outcome(run)["deposit"]
    assert (ended["crashed"], ended["acked"], sum(ended.values())) == (1, 2, 3)  # each delivery ended once


def test_without_redelivery_the_killed_job_never_comes_back(tmp_path: Path) -> None:
    never = KILL.with_settings(retry_after_s=10_000.0, deadline_s=3.0)
    run = _run(f"sqlite:///{tmp_path / 'live.db'}", tmp_path, {"read": "for-update"}, never, path=LOST_UPDATE)
    assert run.outcome == "deadline" and run.redelivered == 0
    assert run.rows == {"accounts": [{"id": 1, "balance": 1}]}
    verdict = run.verdicts["every_deposit_counted"]
    assert verdict.detail.startswith("the deadline came first")
    assert verdict.holds is None and verdict.verdict == "undecided"  # cut off: not judged, as the simulation's horizon


def test_options_of_the_writeups_coordinator_and_bad_levels_are_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    for args, text in ((["--waves", "3"], "--waves is for the write-up's coordinator"),
                       (["--isolation", "read committed"], "--isolation 'READ COMMITTED'"),
                       (["--scope", "nope=1"], "no scope entry or switch 'nope'")):
        code, out = _cli(url, *args)
        assert code == 2 and out.count("\n") == 1 and text in out, out
    out = CliRunner().invoke(main, ["live", "--db", url, "--scope", "jobs=2"])
    assert out.exit_code == 2 and "are for a SPEC file" in out.output


def test_a_lost_update_shows_and_a_locking_read_survives_a_kill_on_a_server(server_db: str, tmp_path: Path) -> None:
    plain = _run(server_db, tmp_path, {"read": "plain"}, path=LOST_UPDATE)
    assert not plain.verdicts["every_deposit_counted"].holds and plain.rows["accounts"][0]["balance"] == 1
    locked = _run(server_db, tmp_path, {"read": "for-update"}, KILL, path=LOST_UPDATE)
    assert locked.redelivered == 1 and locked.verdicts["every_deposit_counted"].holds, locked.verdicts
    assert locked.rows["accounts"][0]["balance"] == 2  # the killed transaction rolled back, its job ran again
    _dropped(server_db, tmp_path)  # the server closes the connection (pg_terminate_backend, KILL CONNECTION)


def test_the_redis_queue_redelivers_a_killed_workers_job(tmp_path: Path) -> None:
    queue = server_url("WAVESIM_REDIS_URL")
    run = _run(f"sqlite:///{tmp_path / 'live.db'}", tmp_path, {"read": "for-update"}, KILL, queue=queue,
               path=LOST_UPDATE)
    assert run.queue == "redis" and run.redelivered == 1
    assert run.outcome == "reached" and all(v.holds for v in run.verdicts.values())


def test_clean_drops_the_tables_a_kept_run_left_and_nothing_else(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE job_batches (id INTEGER PRIMARY KEY)")  # the user's own, same name
    engine.dispose()
    code, out = _cli(url, "--switch", "fix=returning", "--keep-tables")
    assert code == 0, out
    assert {PREFIX + "job_batches", PREFIX + "owner", "job_batches"} <= table_names(url)
    out = CliRunner().invoke(main, ["live", "--db", url, "--clean"])
    assert out.exit_code == 0 and PREFIX + "job_batches" in out.output, out.output
    assert not {t for t in table_names(url) if t.startswith(PREFIX)} and "job_batches" in table_names(url)




@pytest.mark.parametrize(("given", "done", "failed", "announced", "reached", "ends"), [
    # the raise rolled the first try back; the second one fired the listener
    ({"tries": "2"}, 1, 0, 1, True, {"retried": 1, "acked": 1}),
    ({"tries": "1"}, 0, 1, 0, True, {"failed": 1}),  # the raise is final: on_failure counts it, no listener
    # on_failure's count joined the failed try's
    ({"tries": "1", "worker": "keeps-open"}, 0, 0, 0, False, {"failed": 1}),
])
def test_tries_on_failure_listeners_and_a_periodic_job(tmp_path: Path, given: dict[str, str], done: int,
                                                        failed: int, announced: int, reached: bool,
                                                        ends: dict[str, int]) -> None:
    run = _run(f"sqlite:///{tmp_path / 'live.db'}", tmp_path, given, FAST.with_settings(deadline_s=8.0), path=RETRY)
    assert run.rows["counts"] == [{"id": 1, "done": done, "failed": failed, "swept": 1}]
    assert sum(1 for e in run.events if e["kind"] == "record" and e["event"] == "announced") == announced
    assert [e["error"] for e in run.events if e["kind"] == "raise"] == ["RuntimeError: the first try fails"]
    assert run.verdicts["counted_and_swept"].holds is reached and run.verdicts["announced_only_when_done"].holds
    assert run.deliveries["sweep"] >= 1 and run.redelivered == 0
    assert {k: n for k, n in jobs_by_outcome(run)["work"].items() if n} == ends


def _dropped(url: str, tmp_path: Path) -> None:
    """With every statement's connection dropped first, each job raises on its first step and, with one
    try, fails for good: nothing is deposited (without the drop both deposits count: the kill tests)."""
    dropped = _run(url, tmp_path, {"read": "for-update"}, FAST.with_settings(drop_rate=1.0), path=LOST_UPDATE)
    assert [f["point"] for f in dropped.faults if f["kind"] == "drop"] == ["before step 1"] * 2
    assert len([e for e in dropped.events if e["kind"] == "failed"]) == 2
    assert dropped.rows == {"accounts": [{"id": 1, "balance": 0}]}
    assert not dropped.verdicts["every_deposit_counted"].holds


def test_a_dropped_connection_is_the_jobs_raise(tmp_path: Path) -> None:
    _dropped(f"sqlite:///{tmp_path / 'live.db'}", tmp_path)


def test_a_duplicated_delivery_runs_a_reserved_job_twice(tmp_path: Path) -> None:
    settings = FAST.with_settings(duplicate_rate=1.0)
    run = _run(f"sqlite:///{tmp_path / 'live.db'}", tmp_path, {"fix": "returning"}, settings)
    duplicated = [f for f in run.faults if f["kind"] == "duplicate-delivery"]
    assert duplicated and run.redelivered >= 1
    assert sum(ended["duplicated"] for ended in jobs_by_outcome(run).values()) == len(duplicated)
    assert run.deliveries["process"] > 2  # the queue itself handed a reserved job to a second worker


@pytest.mark.parametrize(("rate", "outcome"), [(1.0, "quiescent"), (0.0, "deadline")])
def test_a_lost_delayed_job_is_gone_and_nothing_polls_again(tmp_path: Path, rate: float, outcome: str) -> None:
    settings = FAST.with_settings(deadline_s=3.0, lose_delayed_rate=rate)
    run = _run(f"sqlite:///{tmp_path / 'live.db'}", tmp_path, {}, settings, path=FOREVER)
    lost = [f for f in run.faults if f["kind"] == "lose-delayed"]
    assert run.outcome == outcome and not run.verdicts["flag_set"].holds
    assert len(lost) == (1 if rate else 0)  # the one lost ended the chain: nothing polled again
    assert jobs_by_outcome(run)["poll"]["lost"] == len(lost)
    # without the fault the delayed poll comes back (at least once in the 3 s: how many times depends on how
    # fast the machine starts the processes, so only the return is asserted)
    assert rate or run.deliveries["poll"] >= 2


def test_an_always_property_is_judged_on_the_samples_not_only_the_final_rows(tmp_path: Path) -> None:
    path = str(ROOT / "tests" / "fixtures" / "specs" / "live_blip.py")
    run = _run(f"sqlite:///{tmp_path / 'live.db'}", tmp_path, {}, FAST, path=path)
    assert run.rows == {"flags": [{"id": 1, "raised": 0}]}  # the final rows alone would pass it
    verdict = run.verdicts["never_raised"]
    assert not verdict.holds and verdict.detail == "the flag is raised" and verdict.at_s is not None
    assert run.samples > 2
