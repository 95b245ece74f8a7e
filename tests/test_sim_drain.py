"""A run drains the DB writes in flight before it ends: a late ``SET processing`` that lands after every
row read ``completed`` is seen (the import did not complete), not dropped."""

from __future__ import annotations

from coordinator_builders import PINNED_READINGS

from coordinator import Status
from sim.run import run_one
from sim.scenario import PRESETS
from sim.workers import Shell

#: slow writes (200 ms) widen the window between a handler's check and its status write
LATE = PRESETS["rapid-completions"].with_settings(policy="original", seed=32, waves=4, wave_size=6, workers=4,
                                                  db_write_ms=200.0, switches=PINNED_READINGS)


def test_a_late_status_write_after_every_wave_completed_is_seen() -> None:
    shell = Shell(LATE)
    assert shell.run() == "stalled"
    overwrites = [v for v in shell.final.violations if v.old is Status.COMPLETED and v.new is Status.PROCESSING]
    assert [v.wave for v in overwrites] == [4]
    assert shell.final.rows[3].status is Status.PROCESSING  # the last wave, all batches finished, left processing
    assert shell.db.in_flight == 0


def test_the_run_reports_it() -> None:
    result = run_one(LATE)
    assert result.outcome == "stalled" and result.metrics["stall_wave"] == 4
    assert not result.properties["import_completes"]["holds"]


def test_a_completed_run_ends_with_nothing_in_flight_and_its_makespan_at_the_last_completion() -> None:
    for policy in ("original", "seed-fix", "atomic"):
        shell = Shell(PRESETS["incident"].with_settings(policy=policy, seed=3, waves=6, wave_size=10))
        assert shell.run() == "completed"
        assert shell.db.in_flight == 0
        assert shell.completed_at == shell.ended_s <= shell.env.now
        assert all(r.status is Status.COMPLETED for r in shell.final.rows)
