"""Live runs on PostgreSQL, MariaDB and the Redis queue, when their URLs are set.

``WAVESIM_POSTGRES_URL`` and ``WAVESIM_MYSQL_URL`` name a server (any database
on it: each test creates and drops a database of its own); ``WAVESIM_REDIS_URL``
a Redis (each run uses its own key names and deletes them). Unset: skipped with
a reason naming the variable. Set but unreachable: the test fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from coordinator import Status
from tests.live_helpers import SMALL, live_processes, server_url
from wavesim.commands.live import run_imports


def test_fix_survives_a_kill_between_claim_and_push_on_a_server(server_db: str, tmp_path: Path) -> None:
    settings = SMALL.with_settings(kill_at="before EnqueueBatches", kill_at_times=1)
    [(run, result)] = run_imports(server_db, ["atomic"], settings, workdir=str(tmp_path))
    assert [f["point"] for f in run.faults if f["kind"] == "kill"] == ["before EnqueueBatches"]
    assert run.outcome == "completed"
    assert all(r.status is Status.COMPLETED and r.owners_told == 1 and r.distinct_finished == r.batches
               for r in run.table.rows)
    assert live_processes(tmp_path) == []
    assert other_connections(server_db) == 0


def other_connections(url: str) -> int:
    """Connections to the test's database other than the one asking."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                query = ("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                         "AND pid <> pg_backend_pid()")
            else:
                query = ("SELECT count(*) FROM information_schema.processlist WHERE db = DATABASE() "
                         "AND id <> CONNECTION_ID()")
            return int(conn.exec_driver_sql(query).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.parametrize("level", ["READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"])
def test_fix_claims_each_wave_once_at_every_isolation_level(server_db: str, tmp_path: Path, level: str) -> None:
    """Judged by the runs told they own each wave (the driver's claims record), which two sessions
    are told at once when the claim's lock and condition are broken (tests/test_db_claims.py)."""
    [(run, result)] = run_imports(server_db, ["atomic"], SMALL, isolation=level, workdir=str(tmp_path))
    assert run.isolation == level and run.outcome == "completed"
    assert [r.owners_told for r in run.table.rows] == [1] * len(run.table.rows)
    assert result.properties["no_duplicate_claim"]["holds"] and result.metrics["duplicate_claims"] == 0


def test_redis_queue_runs_the_fix(tmp_path: Path) -> None:
    redis_url = server_url("WAVESIM_REDIS_URL")
    url = f"sqlite:///{tmp_path / 'live.db'}"
    settings = SMALL.with_settings(kill_at="after recording a batch", kill_at_times=1)
    [(run, result)] = run_imports(url, ["atomic"], settings, queue_url=redis_url, workdir=str(tmp_path))
    assert run.queue == "redis" and run.outcome == "completed" and run.drained
    assert sorted({int(e["wave"]) for e in run.dispatch_log}) == [1, 2, 3, 4]  # copied from Redis
    # the killed batch was redelivered from the reserved set after retry_after (the run drains
    # the queue before it ends) and counted once among the distinct batches
    assert all(r.distinct_finished == r.batches for r in run.table.rows)
    assert result.metrics["batches_counted_twice"] >= 1  # more when a relay pushed a wave twice
    import redis

    assert list(redis.Redis.from_url(redis_url).scan_iter(match=f"wavesim_live:queues:{run.spec.run}*")) == []
