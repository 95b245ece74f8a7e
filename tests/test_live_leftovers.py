"""What ``wavesim live SPEC`` leaves behind: nothing, unless told to keep it; ``--clean`` and ``--prefix``.

A run drops the tables it created and removes its folder of logs (``live/leftovers.py``), also when it is
interrupted (Ctrl-C) or terminated; ``--keep-tables`` and ``--keep-logs`` keep them and say how to remove
them; a table the run found already there is never dropped (only the run's rows leave it). ``--clean`` works
with or without SPEC and drops only what wavesim's live runs made under the prefix; ``--prefix`` puts every
name under another base, the built-in import's too. Then the run's words: a delivery no injected fault
explains is named with its cause (a reservation that ran out), and a violation's time says which seconds it
counts. SQLite, tiny
scopes: a second or two per run.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from dbdriver.database import PREFIX_RULE
from tests.live_helpers import live_processes, table_names
from wavesim.cli import main

ROOT = Path(__file__).resolve().parent.parent
COUNTER = str(ROOT / "examples" / "batch_counter.py")
FOREVER = str(ROOT / "tests" / "fixtures" / "specs" / "forever.py")
HARNESS = {f"wavesim_live_{t}" for t in ("jobs", "dispatch_log", "samples", "faults", "events")}


@pytest.fixture
def temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder the runs' folders go in, apart from every other run's."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _sql(url: str, text: str) -> list[tuple[object, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.exec_driver_sql(text)
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        engine.dispose()


def _live(*args: str) -> tuple[int, str]:
    out = CliRunner().invoke(main, ["live", *args])
    return out.exit_code, out.output


def test_a_run_leaves_nothing_unless_told_and_never_drops_a_table_it_found(tmp_path: Path, temp: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    _sql(url, "CREATE TABLE job_batches (id INTEGER PRIMARY KEY)")  # the user's own, the spec's table's name
    code, out = _live(COUNTER, "--db", url, "--switch", "fix=returning")
    assert code == 0, out
    assert table_names(url) == {"job_batches"} and list(temp.iterdir()) == []
    assert "event log" not in out  # not named: it is gone
    code, out = _live(COUNTER, "--db", url, "--switch", "fix=returning", "--keep-tables", "--keep-logs")
    assert code == 0, out
    kept = [line for line in out.splitlines() if line.startswith("kept: ")]
    (folder,) = temp.iterdir()
    assert kept == [f"kept: tables {', '.join(sorted(table_names(url) - {'job_batches'}))}; remove them with: "
                    f"wavesim live --db {url} --clean",
                    f"kept: the runs' logs in {folder}; remove them with: rm -r {folder}"]
    assert HARNESS | {"wavesim_livespec_job_batches", "wavesim_livespec_owner"} <= table_names(url)
    assert f"event log {folder}" in out and any(folder.glob("*.events.jsonl"))
    runs = _sql(url, "SELECT DISTINCT run FROM wavesim_live_events")
    code, out = _live(COUNTER, "--db", url, "--switch", "fix=returning")  # finds the kept tables
    assert code == 0, out
    assert table_names(url) >= HARNESS  # not its own: kept, without its rows
    assert _sql(url, "SELECT DISTINCT run FROM wavesim_live_events") == runs
    assert "wavesim_livespec_job_batches" not in table_names(url) and list(temp.iterdir()) == [folder]


def test_clean_takes_a_spec_and_a_prefix_and_drops_only_wavesims_tables(tmp_path: Path, temp: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    _sql(url, "CREATE TABLE job_batches (id INTEGER PRIMARY KEY)")
    for base in ("wavesim_", "wavesim_nu_"):
        code, out = _live(COUNTER, "--db", url, "--switch", "fix=returning", "--keep-tables", "--prefix", base)
        assert code == 0, out
    ours = {t.replace("wavesim_", "wavesim_nu_", 1) for t in HARNESS} | {"wavesim_nu_livespec_job_batches",
                                                                         "wavesim_nu_livespec_owner"}
    assert ours <= table_names(url)
    assert "remove them with: wavesim live --db" in out and out.rstrip().endswith("--clean --prefix wavesim_nu_")
    code, out = _live(COUNTER, "--db", url, "--clean", "--prefix", "wavesim_nu_")  # a SPEC beside --clean
    assert code == 0 and out == f"dropped: {', '.join(sorted(ours))}\n", out
    assert not {t for t in table_names(url) if t.startswith("wavesim_nu_")} and table_names(url) >= HARNESS
    _sql(url, "CREATE TABLE wavesim_nu_livespec_mine (id INTEGER PRIMARY KEY)")  # someone's, no marker
    code, out = _live(COUNTER, "--db", url, "--clean", "--prefix", "wavesim_nu_")
    assert code == 2 and "wavesim_nu_livespec_owner marker" in out and out.count("\n") == 1, out
    assert "wavesim_nu_livespec_mine" in table_names(url)
    code, out = _live("--db", url, "--clean")
    assert code == 0 and "wavesim_live_events" in out and "wavesim_livespec_job_batches" in out, out
    assert table_names(url) == {"job_batches", "wavesim_nu_livespec_mine"}
    code, out = _live(COUNTER, "--db", url, "--prefix", "nu_")
    assert (code, out) == (2, f"error: --prefix: table prefix 'nu_' {PREFIX_RULE}\n")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_an_interrupted_run_cleans_up_too(tmp_path: Path, sig: signal.Signals) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "wavesim", "live", FOREVER, "--db", url, "--deadline-s", "30"]
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        end = time.monotonic() + 20
        while not list(temp.glob("wavesim-live-*/*.events.jsonl")) and time.monotonic() < end:
            time.sleep(0.05)
        assert list(temp.glob("wavesim-live-*/*.events.jsonl")), "the run never took a job"
        assert table_names(url) >= HARNESS
        process.send_signal(sig)
        out, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130 and out.splitlines()[-1] == b"interrupted", out
    assert table_names(url) == set() and list(temp.iterdir()) == []
    assert live_processes(temp) == []


def test_a_delivery_no_fault_explains_is_named_with_its_cause(tmp_path: Path, temp: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    # one job of three steps of 0.1 s wall each, none in a transaction (SQLite's write lock would hold the
    # other worker's pop); a reservation of 0.2 s runs out while it runs, and the other worker takes it
    args = (COUNTER, "--db", url, "--scope", "jobs=1", "--step-s", "5", "--deadline-s", "10")
    code, out = _live(*args, "--retry-after-s", "10")
    assert "faults none" in out, out
    (line,) = [line for line in out.splitlines() if "no injected fault explains" in line]
    count = int(re.search(r"live: (\d+) deliver", line).group(1))  # type: ignore[union-attr]
    assert count >= 1 and f"(redelivered {count})" in out
    assert "(--retry-after-s 10: 0.2 s wall) ran out before their worker acked them; the longest job took" in line
    code, out = _live(*args, "--retry-after-s", "10", "--json")
    seen = json.loads(out)["live"]["unexplained_redeliveries"]
    assert seen["count"] >= 1 and seen["retry_after_wall_s"] == 0.2 and seen["longest_job_wall_s"] > 0.2
    assert seen["says"].startswith(f"live: {seen['count']} deliver")
    code, out = _live(*args, "--retry-after-s", "1000")
    assert code == 0 and "no injected fault explains" not in out and "(redelivered 0)" in out, out


def test_a_violation_says_which_seconds_it_counts(tmp_path: Path, temp: Path) -> None:
    code, out = _live(COUNTER, "--db", f"sqlite:///{tmp_path / 'live.db'}", "--repeat", "3")
    assert code == 1, out
    at = re.findall(r"VIOLATED at ([\d.]+) s scenario time \(([\d.]+) s wall\)", out)
    assert at, out
    scale = 0.02  # the default: wall seconds per scenario second
    assert all(abs(float(scenario) * scale - float(wall)) < 0.002 for scenario, wall in at)


def test_the_builtin_import_runs_under_a_prefix_too(tmp_path: Path, temp: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    code, out = _live("--db", url, "--prefix", "wavesim_nu_", "--waves", "2", "--wave-size", "3", "--workers", "2")
    assert code == 0, out
    made = table_names(url)
    assert {"wavesim_nu_wave_coordination", "wavesim_nu_owner", "wavesim_nu_live_jobs",
            "wavesim_nu_live_events"} <= made
    assert not {t for t in made if not t.startswith("wavesim_nu_")}
    code, out = _live("--db", url, "--clean", "--prefix", "wavesim_nu_")
    assert code == 0 and table_names(url) == set(), out


def test_the_write_ups_live_import_removes_its_folder_of_logs_unless_told(tmp_path: Path, temp: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    tiny = ("--db", url, "--waves", "1", "--wave-size", "2", "--workers", "1", "--json")
    code, out = _live(*tiny)
    assert code == 0, out
    assert list(temp.iterdir()) == []  # each import's plan and fault log went with the command
    assert json.loads(out.splitlines()[0])["live"]["fault_log"] is None  # no name of a file that is gone
    code, out = _live(*tiny, "--keep-logs")
    assert code == 0, out
    [kept] = temp.iterdir()
    assert json.loads(out.splitlines()[0])["live"]["fault_log"].startswith(str(kept))
    assert f"kept the logs in {kept} (remove them with: rm -r {kept})" in out
