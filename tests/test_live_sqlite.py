"""Live runs on SQLite: real worker processes, the database queue, real kills."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from coordinator import PROPERTY_NAMES, Status
from live.faults import read_fault_log
from report.live import PROGRESS, live_json
from sim.export import rows_csv
from sim.run import METRICS
from tests.live_helpers import SMALL, live_processes
from wavesim.cli import main
from wavesim.commands.audit import run_audit
from wavesim.commands.live import run_imports


def test_atomic_completes_measured_from_the_real_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    [(run, result)] = run_imports(url, ["atomic"], SMALL, workdir=str(tmp_path))
    assert run.outcome == "completed"
    assert all(r.status is Status.COMPLETED and r.distinct_finished == r.batches for r in run.table.rows)
    # every pushed wave is in the dispatch log, written with its push
    assert sorted({int(e["wave"]) for e in run.dispatch_log}) == [1, 2, 3, 4]
    doc = live_json(run, result)
    assert set(METRICS) <= set(doc["metrics"]) and set(doc["properties"]) == {*PROPERTY_NAMES, PROGRESS}
    assert doc["metrics"]["waves_completed"] == 4 and doc["metrics"]["duplicate_claims"] == 0
    assert doc["properties"]["import_completes"]["holds"]
    assert live_processes(tmp_path) == []


def test_a_worker_killed_between_claim_and_push_does_not_stop_the_fix(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    settings = SMALL.with_settings(kill_at="before EnqueueBatches", kill_at_times=2)
    [(run, result)] = run_imports(url, ["atomic"], settings, workdir=str(tmp_path))
    kills = [f for f in read_fault_log(run.spec.fault_log) if f["kind"] == "kill"]
    assert [k["point"] for k in kills] == ["before EnqueueBatches"] * 2
    assert [d[3] for d in run.deaths if d[0] == "worker"] == [-9, -9]
    assert run.outcome == "completed"
    for r in run.table.rows:  # claimed once, every batch counted once by the fix's distinct progress
        assert (r.status, r.owners_told, r.distinct_finished) == (Status.COMPLETED, 1, r.batches)
    assert result.metrics["duplicate_claims"] == 0
    assert (result.metrics["waves_claimed_never_pushed"], result.metrics["pushes_without_db_record"]) == (0, 0)
    # each kill hit a sync listener inside a batch job that had recorded its batch: the job was
    # delivered again and recorded again, which the write-up's counters count twice and the fix does not
    assert result.metrics["batches_counted_twice"] >= len(kills)  # more when a relay pushed a wave twice
    assert live_processes(tmp_path) == []


def test_a_kill_inside_the_pop_transaction_loses_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    settings = SMALL.with_settings(kill_at="inside the pop transaction", kill_at_times=2)
    [(run, _)] = run_imports(url, ["atomic"], settings, workdir=str(tmp_path))
    assert len([f for f in run.faults if f["kind"] == "kill"]) == 2
    assert run.outcome == "completed"
    assert all(r.distinct_finished == r.batches for r in run.table.rows)


def test_audit_of_the_exported_table_gives_the_live_verdict(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    results = run_imports(url, ["guarded", "atomic"], SMALL, workdir=str(tmp_path))
    for run, result in results:
        path = tmp_path / f"{run.spec.run}.csv"
        path.write_text(rows_csv(result.table), encoding="utf-8")
        [job] = run_audit(str(path)).jobs
        broken = set(job.violations())
        assert ("duplicates" in broken) == (not result.properties["no_duplicate_push"]["holds"])
        assert ("never_completed" in broken) == (not result.properties["import_completes"]["holds"])


def test_the_deadline_ends_a_long_import_and_reaps_every_worker(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    settings = SMALL.with_settings(waves=50, batch_mean_s=50.0, deadline_s=2.0)
    [(run, result)] = run_imports(url, ["seed-fix"], settings, workdir=str(tmp_path))
    assert run.outcome == "deadline" and run.wall_s < 10
    assert not result.properties["import_completes"]["holds"]
    assert "deadline" in str(result.properties["import_completes"]["detail"])
    assert live_processes(tmp_path) == []


def test_clean_drops_only_wavesim_tables(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "live.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    con.commit()
    con.close()
    url = f"sqlite:///{db}"
    out = CliRunner().invoke(main, ["live", "--db", url, "--waves", "1", "--wave-size", "2", "--workers", "1"])
    assert out.exit_code == 0, out.output
    out = CliRunner().invoke(main, ["live", "--db", url, "--clean"])
    assert out.exit_code == 0, out.output
    con = sqlite3.connect(db)
    tables = con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    names = {r[0] for r in tables if not r[0].startswith("sqlite_")}  # sqlite_sequence is SQLite's own
    con.close()
    assert names == {"users"}


@pytest.mark.parametrize("args, message", [
    (["--db", "nonsense"], "error: "),
    (["--db", "postgresql+psycopg://nobody@127.0.0.1:1/none"], "error: "),
    (["--db", "sqlite:///{tmp}/x.db", "--queue", "redis://127.0.0.1:1/0"], "error: --queue"),
    (["--db", "sqlite:///{tmp}/x.db", "--isolation", "read committed"], "error: --isolation"),
    (["--db", "sqlite:///{tmp}/x.db", "--kill-rate", "2"], "error: kill_rate"),
    (["--db", "sqlite:///{tmp}/x.db", "--workers", "0"], "error: workers"),
    (["--db", "sqlite:///{tmp}/x.db", "--switch", "bogus=1"], "error: unknown policy switch 'bogus'"),
    (["--db", "sqlite:///{tmp}/x.db", "--switch", "current_wave_rule=lowest-active"], "error: switch current"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    out = CliRunner().invoke(main, ["live", *[a.replace("{tmp}", str(tmp_path)) for a in args]])
    assert out.exit_code == 2, out.output
    lines = out.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), out.output


@pytest.mark.parametrize("policy, outcome", [("guarded", "stalled"), ("atomic", "completed")])
def test_a_lost_completion_event_stalls_guarded_and_not_the_fix(tmp_path: Path, policy: str, outcome: str) -> None:
    # one batch per wave, a queued listener, one try: the listener job is killed in its handler,
    # delivered again after retry_after, failed for too many attempts, so its event is lost
    settings = SMALL.with_settings(waves=2, wave_size=1, workers=1, listener="queued", tries=1,
                                   kill_at="before ReadCurrentWave" if policy == "guarded" else "before Complete",
                                   kill_at_times=1)
    [(run, result)] = run_imports(f"sqlite:///{tmp_path / 'live.db'}", [policy], settings, workdir=str(tmp_path))
    assert len([f for f in run.faults if f["kind"] == "kill"]) == 1
    assert run.outcome == outcome and run.wall_s < settings.deadline_s / 2
    assert result.properties["no_stall"]["holds"] is (outcome == "completed")
    assert live_processes(tmp_path) == []


@pytest.mark.parametrize("fires", [False, True])
def test_a_batch_failed_for_good_fires_its_listener_only_under_failed_batch_fires(tmp_path: Path,
                                                                                  fires: bool) -> None:
    # one batch per wave, one try: wave 1's batch is killed mid-work, delivered again after retry_after
    # and failed for too many attempts; it is recorded failed (so wave 1 is finished) either way
    settings = SMALL.with_settings(policy="guarded", waves=2, wave_size=1, workers=1, listener="sync", tries=1,
                                   kill_at="in the middle of a batch", kill_at_times=1,
                                   switches=(("failed_batch_fires", fires),))
    [(run, result)] = run_imports(f"sqlite:///{tmp_path / 'live.db'}", ["guarded"], settings, workdir=str(tmp_path))
    assert len([f for f in run.faults if f["kind"] == "kill"]) == 1
    assert run.table.rows[0].failed_batches == 1
    # fired: its listener marks wave 1 completed and dispatches wave 2; not fired: nothing runs again
    assert run.outcome == ("completed" if fires else "stalled") and run.wall_s < settings.deadline_s / 2
    assert [r.status for r in run.table.rows] == (
        [Status.COMPLETED] * 2 if fires else [Status.PROCESSING, Status.PENDING])
    assert result.properties["no_stall"]["holds"] is fires
    assert live_processes(tmp_path) == []


def test_a_kill_inside_the_claim_transaction_is_rolled_back(tmp_path: Path) -> None:
    settings = SMALL.with_settings(kill_at="inside a transaction, before claim_update", kill_at_times=1)
    [(run, result)] = run_imports(f"sqlite:///{tmp_path / 'live.db'}", ["atomic"], settings, workdir=str(tmp_path))
    assert [f["point"] for f in run.faults if f["kind"] == "kill"] == ["inside a transaction, before claim_update"]
    assert run.outcome == "completed"
    assert all(r.owners_told == 1 and r.distinct_finished == r.batches for r in run.table.rows)


def test_summarize_reads_json_documents_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    settings = ["--waves", "2", "--wave-size", "3", "--workers", "2"]
    out = CliRunner().invoke(main, ["live", "--db", url, "--policy", "atomic", "--repeat", "2", "--json", *settings])
    assert out.exit_code == 0, out.output
    (tmp_path / "runs.jsonl").write_text(out.output, encoding="utf-8")
    summary = CliRunner().invoke(main, ["live", "--summarize", str(tmp_path / "runs.jsonl")])
    assert summary.exit_code == 0, summary.output
    lines = summary.output.splitlines()
    assert lines[0] == "atomic on SQLite (database queue, isolation driver default): 2 imports, completed 2"
    assert "  import_completes           held in 2/2" in lines
    assert "  live_progress              held in 2/2" in lines
    (tmp_path / "bad.jsonl").write_text("{}\n", encoding="utf-8")
    bad = CliRunner().invoke(main, ["live", "--summarize", str(tmp_path / "bad.jsonl")])
    assert bad.exit_code == 2 and bad.output.startswith("error: ")


def test_the_lost_delayed_job_fault_loses_only_auto_triggers(tmp_path: Path) -> None:
    import random

    from live.jobqueue import DatabaseQueue
    from live.periodic import lose_delayed
    from live.tables import LiveTables

    url = f"sqlite:///{tmp_path / 'q.db'}"
    queue = DatabaseQueue(url, "import", retry_after=10.0)
    LiveTables().create(queue.engine)
    queue.push_wave([{"kind": "batch", "job_id": 1, "wave": 1, "batch": 0}], None)
    released = queue.pop()
    assert released is not None
    queue.release(released, 5.0)  # a batch a worker released with a backoff: it waits, as a delayed job does
    queue.later({"kind": "trigger", "job_id": 1}, 5.0)
    lost: list[dict[str, object]] = []

    class Log:
        def write(self, kind: str, **fields: object) -> None:
            lost.append({"kind": kind, **fields})

    lose_delayed(queue, random.Random(0), 1.0, set(), Log())
    assert [f["job"] for f in lost] == [{"kind": "trigger", "job_id": 1}]
    assert [p["kind"] for _, p in queue.delayed()] == ["batch"]  # the released batch is still there
    queue.close()


def test_a_switch_reaches_every_process_and_the_json(tmp_path: Path) -> None:
    import json

    from coordinator import policy_named
    from live import LiveSettings

    settings = SMALL.with_settings(policy="guarded", switches=(("current_wave_rule", "lowest-active"),))
    # the children rebuild their settings from the spec file's JSON
    again = LiveSettings.from_dict(json.loads(json.dumps(settings.to_dict())))
    assert again.resolve() == settings.resolve() != policy_named("guarded")
    result = CliRunner().invoke(main, ["live", "--db", f"sqlite:///{tmp_path / 'live.db'}", "--waves", "2",
                                       "--wave-size", "2", "--workers", "2", "--switch", "relay_lease_s=5",
                                       "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout.splitlines()[0])
    assert doc["scenario"]["switches"] == {"relay_lease_s": 5.0} and doc["policy_switches"]["relay_lease_s"] == 5.0
