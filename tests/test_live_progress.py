"""A live run that makes no progress says so, with the errors its processes printed, and exits 1.

No progress (``live.run``): jobs wait in the queue, and no wave row changed (no
batch finished, no status moved) for the progress window. The verdict is
``live_progress``; its detail names the window, the crashes and the first error
line the processes wrote to stderr.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from live import first_error
from tests.live_helpers import CANNOT_START, SMALL, live_processes, workers_that_cannot_start
from wavesim.cli import main
from wavesim.commands.live import run_imports


def test_workers_dying_at_start_up_end_the_run_as_no_progress(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    workers_that_cannot_start(monkeypatch)
    settings = SMALL.with_settings(deadline_s=30.0, progress_min_wall_s=2.0)
    [(run, result)] = run_imports(f"sqlite:///{tmp_path / 'live.db'}", ["atomic"], settings,
                                  workdir=str(tmp_path))
    assert run.outcome == "no-progress" and run.wall_s < settings.deadline_s / 2
    verdict = result.properties["live_progress"]
    assert not verdict["holds"]
    assert "no wave row changed" in verdict["detail"] and CANNOT_START in verdict["detail"]
    assert "crashed" in verdict["detail"]
    assert "no progress" in result.properties["no_stall"]["detail"]  # not quiescent, yet not all well
    assert not result.properties["import_completes"]["holds"]
    assert "no progress" in result.properties["import_completes"]["detail"]
    assert live_processes(tmp_path) == []


def test_wavesim_live_exits_1_when_the_run_makes_no_progress(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    workers_that_cannot_start(monkeypatch)
    out = CliRunner().invoke(main, ["live", "--db", f"sqlite:///{tmp_path / 'live.db'}", "--waves", "2",
                                    "--wave-size", "2", "--workers", "2", "--deadline-s", "40"])
    assert out.exit_code == 1, out.output
    assert "live_progress              FAILS" in out.output and CANNOT_START in out.output


def test_a_run_that_completes_made_progress(tmp_path: Path) -> None:
    [(run, result)] = run_imports(f"sqlite:///{tmp_path / 'live.db'}", ["atomic"], SMALL, workdir=str(tmp_path))
    assert run.outcome == "completed"
    assert result.properties["live_progress"] == {"holds": True, "first_violation_s": None,
                                                  "detail": "the wave rows kept changing while jobs waited"}


def test_the_first_error_is_the_exception_line_of_the_first_traceback() -> None:
    lines = ["Traceback (most recent call last):", '  File "x.py", line 1, in <module>', "    open_database(url)",
             "sqlite3.OperationalError: table wavesim_wave_batches already exists", "",
             "The above exception was the direct cause of the following exception:", "",
             "Traceback (most recent call last):", "sqlalchemy.exc.OperationalError: (sqlite3.Op...)"]
    assert first_error(lines) == "sqlite3.OperationalError: table wavesim_wave_batches already exists"
    assert first_error(["no start signal after 60.0 s"]) == "no start signal after 60.0 s"
    assert first_error([]) is None
