"""The ``wave_coordination`` table, in memory, applying writes as a database does.

``apply(table, effect, now)`` returns the new table and the operation's result.
Tables and rows are frozen values, so drivers can keep old versions and the
model checker can hash them. A plain ``SetStatus`` overwrites what is there; a
write that leaves the lifecycle is applied and recorded, never refused. Only a
step that makes no sense (an unknown wave, a batch outside the wave) raises
``WaveError``, and then nothing changes.

A claim tells its handler run it owns a wave only when its UPDATE changed the
row: ``ClaimNextWave`` then returns the wave, and the write-up's plain
``SetStatus(dispatching)`` (whose caller dispatches whatever the row count)
returns 1. Each such answer is recorded in the row's ghost ``owners_told``,
the record ``no_duplicate_claim`` judges: what runs were told, not what the
rows say.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from coordinator.effects import (
    ClaimNextWave,
    CompleteFinishedWaves,
    CurrentWaveRule,
    Effect,
    EnqueueBatches,
    MarkPushed,
    ReadActiveWave,
    ReadClaimedWave,
    ReadCurrentWave,
    ReadLowestPending,
    ReadNextMainWave,
    ReadWave,
    RecordBatchFinished,
    ScheduleTrigger,
    SetStatus,
)
from coordinator.errors import WaveError
from coordinator.lifecycle import Status, is_legal

__all__ = ["LifecycleViolation", "WaveRow", "WaveTable", "apply", "new_import"]

MAIN_LEVEL = -1  # dependency_level of main waves in the write-up


@dataclass(frozen=True, slots=True, kw_only=True)
class WaveRow:
    """One row of ``wave_coordination``.

    ``finished_mask`` has bit ``b`` set once batch ``b`` has finished: the
    distinct count an idempotent progress uses. The counters are bumped on
    every report, so a batch reported twice counts twice there.
    ``dispatch_count`` counts pushes of its jobs. ``owners_told`` is ghost
    state, not a column of the write-up's table: how many handler runs were
    told they own the wave (see ``apply``), which ``no_duplicate_claim`` judges.
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
    owners_told: int = 0
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

    def row(self, wave: int, *, step: str = "read") -> WaveRow:
        """The row of ``wave``; an unknown wave is a ``WaveError`` naming ``step``."""
        if not 1 <= wave <= len(self.rows):
            raise WaveError(wave=wave, status="unknown", step=step, reason="no such wave")
        return self.rows[wave - 1]

    def with_row(self, row: WaveRow) -> WaveTable:
        n = row.wave_number
        return WaveTable(job_id=self.job_id, rows=self.rows[: n - 1] + (row,) + self.rows[n:],
                         violations=self.violations)

    def active(self) -> tuple[int, ...]:
        """Numbers of the active waves, lowest first."""
        return tuple(r.wave_number for r in self.rows if _active(r.status))


def new_import(*, job_id: int, waves: int, wave_size: int) -> WaveTable:
    """``createMainRecordTypeWaves()``: every main wave created pending at once."""
    if waves < 1 or wave_size < 1:
        raise WaveError(
            wave=max(waves, 0), status="unknown", step="create the import",
            reason=f"waves and wave_size must be at least 1, got {waves} and {wave_size}",
        )
    rows = tuple(WaveRow(job_id=job_id, wave_number=n, batches=wave_size) for n in range(1, waves + 1))
    return WaveTable(job_id=job_id, rows=rows)


def _check_job(table: WaveTable, effect: Effect) -> None:
    if effect.job_id != table.job_id:
        raise WaveError(
            wave=getattr(effect, "wave", 0), status="unknown", step=type(effect).__name__,
            reason=f"unknown job {effect.job_id} (this table holds job {table.job_id})",
        )


_DISPATCHING, _PROCESSING, _COMPLETED, _PENDING = (
    Status.DISPATCHING, Status.PROCESSING, Status.COMPLETED, Status.PENDING
)
_ROW_FIELDS = tuple(WaveRow.__dataclass_fields__)


def _active(status: Status) -> bool:
    # identity tests: this runs on every scan of the table, in the sim's hot path
    return status is _DISPATCHING or status is _PROCESSING


def _evolve(row: WaveRow, **changes: object) -> WaveRow:
    """``dataclasses.replace`` for rows, without its per-call field introspection."""
    new = object.__new__(WaveRow)
    for name in _ROW_FIELDS:
        object.__setattr__(new, name, changes[name] if name in changes else getattr(row, name))
    return new


def _current_wave(table: WaveTable, effect: ReadCurrentWave, now: float) -> tuple[WaveTable, int]:
    found = 0
    rule = effect.rule
    if rule is CurrentWaveRule.LOWEST_ACTIVE:
        for r in table.rows:
            status = r.status
            if status is _DISPATCHING or status is _PROCESSING:
                return table, r.wave_number
            if status is _COMPLETED:
                found = r.wave_number
        return table, found
    if rule is CurrentWaveRule.COMPLETED_ELSE_ACTIVE:
        first_active = 0
        for r in table.rows:
            if r.status is _COMPLETED:
                found = r.wave_number
            elif first_active == 0 and (r.status is _DISPATCHING or r.status is _PROCESSING):
                first_active = r.wave_number
        return table, found or first_active
    # the other rules are "the highest wave whose status is one of these"
    counted = _HIGHEST[rule]
    for r in table.rows:
        if r.status in counted:
            found = r.wave_number
    return table, found


#: For each "highest ..." rule of ``ReadCurrentWave``, the statuses it counts.
_HIGHEST: dict[CurrentWaveRule, frozenset[Status]] = {
    CurrentWaveRule.HIGHEST_NOT_PENDING: frozenset({Status.DISPATCHING, Status.PROCESSING, Status.COMPLETED}),
    CurrentWaveRule.HIGHEST_COMPLETED: frozenset({Status.COMPLETED}),
    CurrentWaveRule.LATEST_STARTED: frozenset({Status.PROCESSING, Status.COMPLETED}),
}


def _set_status(table: WaveTable, row: WaveRow, new: Status, now: float) -> WaveTable:
    changes: dict[str, object] = {"status": new}
    if new is _DISPATCHING and row.dispatched_at is None:
        changes["dispatched_at"] = now
    if new is _COMPLETED:
        changes["completed_at"] = now
    out = table.with_row(_evolve(row, **changes))
    if not is_legal(row.status, new):
        violation = LifecycleViolation(wave=row.wave_number, old=row.status, new=new, at=now)
        out = WaveTable(job_id=out.job_id, rows=out.rows, violations=out.violations + (violation,))
    return out


def _told_owner(table: WaveTable, wave: int) -> WaveTable:
    """Record that one more handler run is told it owns ``wave`` (the ghost ``owners_told``)."""
    row = table.row(wave)
    return table.with_row(_evolve(row, owners_told=row.owners_told + 1))


def _write_status(table: WaveTable, wave: int, new: Status, only_from: Status | None,
                  now: float, step: str) -> tuple[WaveTable, int]:
    """``UPDATE ... SET status = new [AND status = only_from]``: the table and the rows it changed."""
    row = table.row(wave, step=step)
    if only_from is not None and row.status is not only_from:
        return table, 0  # ... WHERE status = only_from matched no row
    return _set_status(table, row, new, now), 1


def _claim(table: WaveTable, effect: ClaimNextWave, now: float) -> tuple[WaveTable, int | None]:
    if effect.reclaim_unpushed:
        for r in table.rows:
            if r.status is _DISPATCHING and r.dispatch_count == 0:
                # claimed, never pushed: handed out again to be pushed, like the relay's read; no
                # UPDATE runs, so no run is told it owns the wave (the fused push decides who pushes)
                return table, r.wave_number
    active = 0
    for r in table.rows:
        if _active(r.status):
            active += 1
            if r.distinct_finished < min(effect.threshold_count, r.batches):
                return table, None
    if effect.max_active is not None and active >= effect.max_active:
        return table, None
    candidate = next((r.wave_number for r in table.rows if r.status is _PENDING), None)
    if candidate is None:
        return table, None
    # the claim's UPDATE ... AND status = 'pending'; its run owns the wave only if it changed the row
    table, changed = _write_status(table, candidate, _DISPATCHING, _PENDING, now, "claim")
    if changed != 1:
        return table, None
    return _told_owner(table, candidate), candidate


def _record(table: WaveTable, effect: RecordBatchFinished, now: float) -> tuple[WaveTable, None]:
    row = table.row(effect.wave, step="record a finished batch")
    if not 0 <= effect.batch < row.batches:
        raise WaveError(
            wave=effect.wave, status=row.status.value, step="record a finished batch",
            reason=f"batch {effect.batch} is outside 0..{row.batches - 1}",
        )
    if row.status is _PENDING:
        raise WaveError(
            wave=effect.wave, status=row.status.value, step="record a finished batch",
            reason="the wave was never dispatched",
        )
    mask = row.finished_mask | (1 << effect.batch)
    if effect.failed:
        return table.with_row(_evolve(row, finished_mask=mask, failed_batches=row.failed_batches + 1)), None
    return table.with_row(_evolve(row, finished_mask=mask, completed_batches=row.completed_batches + 1)), None


def _read_wave(table: WaveTable, effect: ReadWave, now: float) -> tuple[WaveTable, WaveRow]:
    return table, table.row(effect.wave)


def _lowest_pending(table: WaveTable, effect: ReadLowestPending, now: float) -> tuple[WaveTable, int | None]:
    for r in table.rows:
        if r.status is _PENDING:
            return table, r.wave_number
    return table, None


def _next_main(table: WaveTable, effect: ReadNextMainWave, now: float) -> tuple[WaveTable, int | None]:
    n = effect.after + 1
    found = 1 <= n <= len(table.rows) and table.rows[n - 1].status is _PENDING
    return table, (n if found else None)


def _active_other(table: WaveTable, effect: ReadActiveWave, now: float) -> tuple[WaveTable, int | None]:
    exclude = effect.exclude
    for r in table.rows:
        status = r.status
        if (status is _DISPATCHING or status is _PROCESSING) and r.wave_number != exclude:
            return table, r.wave_number
    return table, None


def _status(table: WaveTable, effect: SetStatus, now: float) -> tuple[WaveTable, int]:
    table, changed = _write_status(table, effect.wave, effect.status, effect.only_from, now,
                                   f"set status {effect.status}")
    if effect.status is _DISPATCHING and changed == 1:
        # dispatchWave's claim: the write-up's PHP reads no row count and dispatches after the
        # write, so a write that changed the row tells its run it owns the wave
        table = _told_owner(table, effect.wave)
    return table, changed


def _complete(table: WaveTable, effect: CompleteFinishedWaves, now: float) -> tuple[WaveTable, tuple[int, ...]]:
    done = [r for r in table.rows if r.status is _PROCESSING and r.distinct_finished >= r.batches]
    for r in done:
        table = _set_status(table, r, _COMPLETED, now)
    return table, tuple(r.wave_number for r in done)


def _enqueue(table: WaveTable, effect: EnqueueBatches, now: float) -> tuple[WaveTable, int]:
    row = table.row(effect.wave, step="enqueue batches")
    if not effect.once:
        return table.with_row(_evolve(row, dispatch_count=row.dispatch_count + 1)), 1
    if row.dispatch_count > 0 or row.status is not _DISPATCHING:
        return table, 0
    return _set_status(table, _evolve(row, dispatch_count=1), _PROCESSING, now), 1


def _claimed(table: WaveTable, effect: ReadClaimedWave, now: float) -> tuple[WaveTable, int | None]:
    for r in table.rows:
        if r.status is _DISPATCHING and (r.dispatched_at is None or r.dispatched_at <= now - effect.lease_s):
            return table, r.wave_number
    return table, None


def _mark_pushed(table: WaveTable, effect: MarkPushed, now: float) -> tuple[WaveTable, int]:
    row = table.row(effect.wave, step="mark pushed")
    if row.status is not _DISPATCHING:
        return table, 0
    table = _set_status(table, row, _PROCESSING, now)
    marked = table.row(effect.wave)
    if marked.distinct_finished >= marked.batches:
        return _set_status(table, marked, _COMPLETED, now), 2
    return table, 1


def _schedule(table: WaveTable, effect: ScheduleTrigger, now: float) -> tuple[WaveTable, None]:
    if not effect.delay_s >= 0:  # also refuses NaN
        raise WaveError(
            wave=0, status="n/a", step="schedule a trigger",
            reason=f"the delay must be 0 s or more, got {effect.delay_s}",
        )
    return table, None


#: Each operation's implementation, by effect type (one lookup instead of a chain of isinstance tests).
_OPERATIONS: dict[type, Callable[[WaveTable, Any, float], tuple[WaveTable, object]]] = {
    ReadCurrentWave: _current_wave,
    ReadWave: _read_wave,
    ReadLowestPending: _lowest_pending,
    ReadNextMainWave: _next_main,
    ReadActiveWave: _active_other,
    ReadClaimedWave: _claimed,
    SetStatus: _status,
    MarkPushed: _mark_pushed,
    ClaimNextWave: _claim,
    CompleteFinishedWaves: _complete,
    RecordBatchFinished: _record,
    EnqueueBatches: _enqueue,
    ScheduleTrigger: _schedule,
}


def apply(table: WaveTable, effect: Effect, now: float) -> tuple[WaveTable, object]:
    """Run one DB operation against ``table`` at time ``now``."""
    operation = _OPERATIONS.get(type(effect))
    if operation is None:
        raise TypeError(f"not a wave table operation: {effect!r}")
    if effect.job_id != table.job_id:
        _check_job(table, effect)
    return operation(table, effect, now)
