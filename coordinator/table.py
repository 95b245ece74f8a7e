"""The ``wave_coordination`` table, in memory, applying writes as a database does.

``apply(table, effect, now)`` returns the new table and the operation's result.
Tables and rows are frozen values, so drivers can keep old versions and the
model checker can hash them. A plain ``SetStatus`` overwrites what is there; a
write that leaves the lifecycle is applied and recorded, never refused. Only a
step that makes no sense (an unknown wave, a batch outside the wave) raises
``WaveError``, and then nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from coordinator.effects import (
    ClaimNextWave,
    CompleteFinishedWaves,
    CurrentWaveRule,
    Effect,
    EnqueueBatches,
    ReadActiveWave,
    ReadCurrentWave,
    ReadLowestPending,
    ReadNextMainWave,
    ReadWave,
    RecordBatchFinished,
    ScheduleTrigger,
    SetStatus,
)
from coordinator.errors import WaveError
from coordinator.lifecycle import ACTIVE, Status, is_legal

__all__ = ["LifecycleViolation", "WaveRow", "WaveTable", "apply", "new_import"]

MAIN_LEVEL = -1  # dependency_level of main waves in the write-up


@dataclass(frozen=True, slots=True, kw_only=True)
class WaveRow:
    """One row of ``wave_coordination``.

    ``finished_mask`` has bit ``b`` set once batch ``b`` has finished: the
    distinct count an idempotent progress uses. The counters are bumped on
    every report, so a batch reported twice counts twice there.
    """

    job_id: int
    wave_number: int
    dependency_level: int = MAIN_LEVEL
    status: Status = Status.PENDING
    batches: int
    completed_batches: int = 0
    failed_batches: int = 0
    finished_mask: int = 0
    dispatch_count: int = 0
    dispatched_at: float | None = None
    completed_at: float | None = None

    @property
    def counted_finished(self) -> int:
        """Finished batches by the (non-idempotent) counters; failures count."""
        return self.completed_batches + self.failed_batches

    @property
    def distinct_finished(self) -> int:
        """Finished batches, each counted once."""
        return self.finished_mask.bit_count()


@dataclass(frozen=True, slots=True, kw_only=True)
class LifecycleViolation:
    """A status write that left the lifecycle; recorded for the properties."""

    wave: int
    old: Status
    new: Status
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class WaveTable:
    """The main waves of one import, wave 1 first."""

    job_id: int
    rows: tuple[WaveRow, ...]
    violations: tuple[LifecycleViolation, ...] = ()

    def row(self, wave: int) -> WaveRow:
        """The row of ``wave``; an unknown wave is a ``WaveError``."""
        if not 1 <= wave <= len(self.rows):
            raise WaveError(wave=wave, status="unknown", step="read", reason="no such wave")
        return self.rows[wave - 1]

    def with_row(self, row: WaveRow) -> WaveTable:
        rows = list(self.rows)
        rows[row.wave_number - 1] = row
        return replace(self, rows=tuple(rows))

    def statuses(self) -> tuple[Status, ...]:
        return tuple(r.status for r in self.rows)

    def active(self) -> tuple[int, ...]:
        """Numbers of the active waves, lowest first."""
        return tuple(r.wave_number for r in self.rows if r.status in ACTIVE)


def new_import(*, job_id: int, waves: int, wave_size: int) -> WaveTable:
    """``createMainRecordTypeWaves()``: every main wave created pending at once."""
    if waves < 1 or wave_size < 1:
        raise WaveError(
            wave=max(waves, 0), status="unknown", step="create the import",
            reason=f"waves and wave_size must be at least 1, got {waves} and {wave_size}",
        )
    rows = tuple(WaveRow(job_id=job_id, wave_number=n, batches=wave_size) for n in range(1, waves + 1))
    return WaveTable(job_id=job_id, rows=rows)


def _check_job(table: WaveTable, job_id: int, step: str) -> None:
    if job_id != table.job_id:
        raise WaveError(wave=0, status="unknown", step=step, reason=f"unknown job {job_id}")


def _current_wave(table: WaveTable, rule: CurrentWaveRule) -> int:
    if rule is CurrentWaveRule.LOWEST_ACTIVE:
        active = table.active()
        if active:
            return active[0]
        done = [r.wave_number for r in table.rows if r.status is Status.COMPLETED]
        return done[-1] if done else 0
    started = [r.wave_number for r in table.rows if r.status in (Status.PROCESSING, Status.COMPLETED)]
    return started[-1] if started else 0


def _set_status(table: WaveTable, row: WaveRow, new: Status, now: float) -> WaveTable:
    changes: dict[str, object] = {"status": new}
    if new is Status.DISPATCHING and row.dispatched_at is None:
        changes["dispatched_at"] = now
    if new is Status.COMPLETED:
        changes["completed_at"] = now
    out = table.with_row(replace(row, **changes))  # type: ignore[arg-type]
    if not is_legal(row.status, new):
        violation = LifecycleViolation(wave=row.wave_number, old=row.status, new=new, at=now)
        out = replace(out, violations=out.violations + (violation,))
    return out


def _claim(table: WaveTable, threshold_count: int, now: float) -> tuple[WaveTable, int | None]:
    for r in table.rows:
        if r.status in ACTIVE and r.distinct_finished < min(threshold_count, r.batches):
            return table, None
    for r in table.rows:
        if r.status is Status.PENDING:
            return _set_status(table, r, Status.DISPATCHING, now), r.wave_number
    return table, None


def _record(table: WaveTable, effect: RecordBatchFinished) -> WaveTable:
    row = table.row(effect.wave)
    if not 0 <= effect.batch < row.batches:
        raise WaveError(
            wave=effect.wave, status=row.status.value, step="record a finished batch",
            reason=f"batch {effect.batch} is outside 0..{row.batches - 1}",
        )
    if row.status is Status.PENDING:
        raise WaveError(
            wave=effect.wave, status=row.status.value, step="record a finished batch",
            reason="the wave was never dispatched",
        )
    counter = "failed_batches" if effect.failed else "completed_batches"
    return table.with_row(
        replace(row, finished_mask=row.finished_mask | (1 << effect.batch), **{counter: getattr(row, counter) + 1})
    )


def apply(table: WaveTable, effect: Effect, now: float) -> tuple[WaveTable, object]:
    """Run one DB operation against ``table`` at time ``now``."""
    _check_job(table, effect.job_id, type(effect).__name__)
    if isinstance(effect, ReadCurrentWave):
        return table, _current_wave(table, effect.rule)
    if isinstance(effect, ReadWave):
        return table, table.row(effect.wave)
    if isinstance(effect, ReadLowestPending):
        pending = [r.wave_number for r in table.rows if r.status is Status.PENDING]
        return table, (pending[0] if pending else None)
    if isinstance(effect, ReadNextMainWave):
        n = effect.after + 1
        found = 1 <= n <= len(table.rows) and table.rows[n - 1].status is Status.PENDING
        return table, (n if found else None)
    if isinstance(effect, ReadActiveWave):
        others = [n for n in table.active() if n != effect.exclude]
        return table, (others[0] if others else None)
    if isinstance(effect, SetStatus):
        return _set_status(table, table.row(effect.wave), effect.status, now), 1
    if isinstance(effect, ClaimNextWave):
        return _claim(table, effect.threshold_count, now)
    if isinstance(effect, CompleteFinishedWaves):
        done = [
            r for r in table.rows
            if r.status is Status.PROCESSING and r.distinct_finished >= r.batches
        ]
        for r in done:
            table = _set_status(table, r, Status.COMPLETED, now)
        return table, tuple(r.wave_number for r in done)
    if isinstance(effect, RecordBatchFinished):
        return _record(table, effect), None
    if isinstance(effect, EnqueueBatches):
        row = table.row(effect.wave)
        return table.with_row(replace(row, dispatch_count=row.dispatch_count + 1)), None
    if isinstance(effect, ScheduleTrigger):
        if effect.delay_s < 0:
            raise WaveError(
                wave=0, status="n/a", step="schedule a trigger", reason=f"negative delay {effect.delay_s}"
            )
        return table, None
    raise TypeError(f"not a wave table operation: {effect!r}")
