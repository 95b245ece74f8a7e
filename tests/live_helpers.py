"""Shared pieces of the live tests: small imports, engine URLs from the environment, leftovers."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from dbengines import worker_tag

import live.supervisor
from live import LiveSettings

#: a small import: seconds on SQLite, every mechanism exercised
SMALL = LiveSettings(waves=4, wave_size=6, workers=3, deadline_s=30.0, retry_after_s=20.0)


def server_url(variable: str) -> str:
    """The URL in ``variable``; the test is skipped, naming the variable, when it is unset
    (and fails instead under ``WAVESIM_REQUIRE_SERVERS=1``, as in CI)."""
    url = os.environ.get(variable)
    if not url:
        message = f"set {variable} to run this test against that server"
        if os.environ.get("WAVESIM_REQUIRE_SERVERS") == "1":
            pytest.fail(f"{message} (WAVESIM_REQUIRE_SERVERS=1 makes a missing server a failure)")
        pytest.skip(message)
    return url


def fresh_database(url: str) -> str:
    """A new, uniquely named database on the server of ``url`` (dropped by ``drop_database``)."""
    import sqlalchemy as sa

    name = f"wavesim13_{worker_tag()}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:  # a set but unreachable server fails here, it never skips
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    return str(sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False))


def drop_database(url: str) -> None:
    import sqlalchemy as sa

    parsed = sa.engine.make_url(url)
    admin = sa.create_engine(parsed.set(database="postgres" if parsed.get_backend_name() == "postgresql"
                                        else "mysql"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if parsed.get_backend_name() == "postgresql":
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {parsed.database} WITH (FORCE)")
        else:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {parsed.database}")
    admin.dispose()


def live_processes(folder: Path) -> list[int]:
    """Processes still running whose command line names a spec file under ``folder``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "live.proc" in cmd and str(folder) in cmd:
            found.append(int(entry.name))
    return found


#: the error a worker that cannot start writes (``workers_that_cannot_start``)
CANNOT_START = "RuntimeError: this worker cannot start"


def workers_that_cannot_start(monkeypatch: pytest.MonkeyPatch, role: str = "worker") -> None:
    """Every process of ``role`` (``worker``: the write-up's; ``spec-worker``: a spec's) prints a traceback and
    exits 1 at start-up; the other processes run."""
    real = subprocess.Popen
    crash = f"import sys; sys.stderr.write('Traceback (most recent call last):\\n  x\\n{CANNOT_START}\\n'); sys.exit(1)"

    def popen(args: list[str], **kwargs: Any) -> Any:
        if role in args:
            args = [sys.executable, "-c", crash, *args[-4:]]  # the run's file stays in the command line
        return real(args, **kwargs)

    monkeypatch.setattr(live.supervisor.subprocess, "Popen", popen)


def table_names(url: str) -> set[str]:
    """The tables a database at ``url`` holds now (what a live run left, or did not)."""
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
