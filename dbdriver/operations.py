"""One handler run's connection: each effect as the SQL of ``coordinator.sql``.

``Session.apply(effect, now)`` returns what ``coordinator.apply`` returns for
the effect (the DB part only) and raises the same ``WaveError`` for a step that
makes no sense. A plain statement autocommits. A transaction runs its
statements between ``begin`` and ``commit`` and is run again from the start
(up to ``RETRIES`` times) on a serialization failure or a deadlock; a
``WaveError`` inside it rolls back first, so nothing changes.

A claim tells its run it owns a wave only when its UPDATE changed exactly one
row (``ClaimNextWave`` reads ``claim_update``'s row count; the write-up's plain
``SetStatus(dispatching)`` changes its row and its caller dispatches). Each
such answer is recorded in the ``claims`` table with the session's ``actor``
(the claim's in its own transaction): the ghost state ``no_duplicate_claim``
judges, read back as ``WaveRow.owners_told``.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

from coordinator import (
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
    Status,
    WaveError,
    WaveRow,
)
from coordinator import sql as q
from dbdriver.errors import DatabaseError, is_retryable

__all__ = ["RETRIES", "Session", "rows_to_waves"]

#: how often a transaction is tried before its failure is raised
RETRIES = 20


def rows_to_waves(job_id: int, rows: list[Any]) -> Iterator[WaveRow]:
    """``read_wave`` / ``read_table`` rows (one per finished batch, LEFT JOINed) as ``WaveRow`` values."""
    by_wave: dict[int, tuple[Any, int]] = {}
    for r in rows:
        head, mask = by_wave.get(int(r[0]), (r, 0))
        if r[9] is not None:
            mask |= 1 << int(r[9])
        by_wave[int(r[0])] = (head, mask)
    for wave in sorted(by_wave):
        r, mask = by_wave[wave]
        yield WaveRow(
            job_id=job_id, wave_number=int(r[0]), status=Status(r[1]), batches=int(r[2]),
            completed_batches=int(r[3]), failed_batches=int(r[4]), owners_told=int(r[5]),
            dispatched_at=None if r[6] is None else float(r[6]), completed_at=None if r[7] is None else float(r[7]),
            dispatch_count=int(r[8]), finished_mask=mask,
        )


class _Rollback(Exception):
    """Raised inside a transaction body to roll it back and return ``value``."""

    def __init__(self, value: object) -> None:
        self.value = value


class Session:
    """One connection: one handler run. ``ran`` lists the statement names executed, in order."""

    def __init__(self, conn: Any, dialect: str, prefix: str) -> None:
        from sqlalchemy import text

        self._text = text
        self.conn = conn
        self.dialect = dialect
        self.prefix = prefix
        self.ran: list[str] = []
        self.retries = 0
        #: who this session's handler run is, in the claims record (a caller may name it)
        self.actor = f"session {secrets.token_hex(4)}"
        #: the session's own isolation level, when its user set one (``SET SESSION ...``): then the
        #: fix's transactions run at it; None: the driver's documented level (MariaDB READ COMMITTED)
        self.isolation: str | None = None

    # -- statements -------------------------------------------------------------------------------
    def run(self, name: str, **params: object) -> Any:
        """Execute one named statement of ``coordinator.sql``."""
        self.ran.append(name)
        return self.conn.execute(self._text(q.statement(name, self.dialect, self.prefix)), params)

    def _value(self, name: str, **params: object) -> int | None:
        row = self.run(name, **params).first()
        return None if row is None or row[0] is None else int(row[0])

    def transaction(self, body: Callable[[], object]) -> object:
        """Run ``body`` in one transaction at the documented isolation; retry it on a serialization failure."""
        from sqlalchemy.exc import DBAPIError

        for attempt in range(RETRIES):
            if self.isolation is None and self.dialect == "mysql":
                self.run("set_read_committed")
            self.run("begin" if self.isolation is None else "begin_at_session_level")
            try:
                value = body()
            except _Rollback as stop:
                self.run("rollback")
                return stop.value
            except WaveError:
                self.run("rollback")
                raise
            except DBAPIError as err:
                self._quiet_rollback()
                if is_retryable(err) and attempt + 1 < RETRIES:
                    self.retries += 1
                    time.sleep(min(0.005 * 2 ** attempt, 0.2))
                    continue
                raise
            self.run("commit")
            return value
        raise DatabaseError("unreachable: the retry loop returns or raises")

    def _quiet_rollback(self) -> None:
        with contextlib.suppress(Exception):  # the connection may have ended the transaction itself
            self.run("rollback")

    # -- effects ----------------------------------------------------------------------------------
    def apply(self, effect: Effect, now: float) -> object:
        """Run one DB operation; the result is ``coordinator.apply``'s (see the module docstring)."""
        handler = _EFFECTS.get(type(effect))
        if handler is None:
            raise TypeError(f"not a wave table operation: {effect!r}")
        return handler(self, effect, float(now))

    def _row(self, job_id: int, wave: int, step: str) -> WaveRow:
        rows = self.run("read_wave", job_id=job_id, wave=wave).all()
        if not rows:
            raise WaveError(wave=wave, status="unknown", step=step, reason="no such wave")
        return next(rows_to_waves(job_id, rows))

    def _known(self, result: Any, wave: int, step: str) -> None:
        if result.rowcount == 0:
            raise WaveError(wave=wave, status="unknown", step=step, reason="no such wave")

    def told_owner(self, job_id: int, wave: int, now: float) -> int:
        """Record that this run is told it owns ``wave`` (ghost state, not the coordinator's); ``wave``."""
        self.run("tell_owner", job_id=job_id, wave=wave, run=self.actor[:64], now=now)
        return wave


def _current(s: Session, e: ReadCurrentWave, now: float) -> int:
    return s._value(q.CURRENT_WAVE[CurrentWaveRule(e.rule).value], job_id=e.job_id) or 0


def _read_wave(s: Session, e: ReadWave, now: float) -> WaveRow:
    return s._row(e.job_id, e.wave, "read")


def _lowest(s: Session, e: ReadLowestPending, now: float) -> int | None:
    return s._value("read_lowest_pending", job_id=e.job_id)


def _next(s: Session, e: ReadNextMainWave, now: float) -> int | None:
    return s._value("read_next_main", job_id=e.job_id, wave=e.after + 1)


def _active(s: Session, e: ReadActiveWave, now: float) -> int | None:
    if e.exclude is None:
        return s._value("read_active_any", job_id=e.job_id)
    return s._value("read_active_other", job_id=e.job_id, exclude=e.exclude)


def _claimed(s: Session, e: ReadClaimedWave, now: float) -> int | None:
    return s._value("read_claimed", job_id=e.job_id, now=now, lease=float(e.lease_s))


def _set_status(s: Session, e: SetStatus, now: float) -> int:
    status, step = Status(e.status), f"set status {e.status}"
    name = {Status.DISPATCHING: "set_status_dispatching", Status.COMPLETED: "set_status_completed"}.get(
        status, "set_status")
    params: dict[str, object] = {"job_id": e.job_id, "wave": e.wave}
    params.update({"now": now} if name != "set_status" else {"status": status.value})
    if e.only_from is None:
        s._known(s.run(name, **params), e.wave, step)
    # ... AND status = :only_from: 0 rows is a wave in another status, or (read back) no such wave
    elif s.run(name + "_from", only_from=Status(e.only_from).value, **params).rowcount == 0:
        s._row(e.job_id, e.wave, step)
        return 0
    if status is Status.DISPATCHING:  # dispatchWave's claim: its run dispatches after a write that changed the row
        s.told_owner(e.job_id, e.wave, now)
    return 1


def _mark(s: Session, e: MarkPushed, now: float) -> int:
    def body() -> int:
        if s.run("mark_pushed", job_id=e.job_id, wave=e.wave).rowcount == 0:
            s._row(e.job_id, e.wave, "mark pushed")  # an unknown wave is a WaveError, a marked one is 0
            raise _Rollback(0)
        return 1 + int(s.run("complete_marked", job_id=e.job_id, wave=e.wave, now=now).rowcount)
    result = s.transaction(body)
    assert isinstance(result, int)
    return result


def _claim(s: Session, e: ClaimNextWave, now: float) -> object:
    def body() -> int | None:
        if s.dialect != "sqlite":
            s.run("lock_import", job_id=e.job_id).all()
        if e.reclaim_unpushed:
            again = s._value("claim_unpushed", job_id=e.job_id)
            if again is not None:
                raise _Rollback(again)
        if e.max_active is None:
            wave = s._value("claim_candidate", job_id=e.job_id, threshold=e.threshold_count)
        else:
            wave = s._value("claim_candidate_limited", job_id=e.job_id, threshold=e.threshold_count,
                            max_active=e.max_active)
        if wave is None:
            raise _Rollback(None)
        if s.run("claim_update", job_id=e.job_id, wave=wave, now=now).rowcount != 1:
            raise _Rollback(None)  # another claim took it first: this run owns nothing
        return s.told_owner(e.job_id, wave, now)
    return s.transaction(body)


def _complete(s: Session, e: CompleteFinishedWaves, now: float) -> tuple[int, ...]:
    if s.dialect != "mysql":
        return tuple(sorted(int(r[0]) for r in s.run("complete_finished", job_id=e.job_id, now=now).all()))

    def body() -> tuple[int, ...]:
        waves = [int(r[0]) for r in s.run("finished_waves", job_id=e.job_id).all()]
        for wave in waves:
            s.run("complete_finished", job_id=e.job_id, wave=wave, now=now)
        return tuple(waves)
    result = s.transaction(body)
    assert isinstance(result, tuple)
    return result


def _record(s: Session, e: RecordBatchFinished, now: float) -> None:
    step = "record a finished batch"

    def body() -> None:
        row = s.run("record_lock", job_id=e.job_id, wave=e.wave).first()
        if row is None:
            raise WaveError(wave=e.wave, status="unknown", step=step, reason="no such wave")
        status, batches = Status(row[0]), int(row[1])
        if not 0 <= e.batch < batches:
            raise WaveError(wave=e.wave, status=status.value, step=step,
                            reason=f"batch {e.batch} is outside 0..{batches - 1}")
        if status is Status.PENDING:
            raise WaveError(wave=e.wave, status=status.value, step=step, reason="the wave was never dispatched")
        s.run("record_batch", job_id=e.job_id, wave=e.wave, batch=e.batch)
        s.run("count_failed" if e.failed else "count_completed", job_id=e.job_id, wave=e.wave)
    s.transaction(body)


def _enqueue(s: Session, e: EnqueueBatches, now: float) -> object:
    if not e.once:
        s._known(s.run("log_push", job_id=e.job_id, wave=e.wave, now=now), e.wave, "enqueue batches")
        return 1

    def body() -> int:
        row = s.run("fused_lock", job_id=e.job_id, wave=e.wave).first()
        if row is None:
            raise WaveError(wave=e.wave, status="unknown", step="enqueue batches", reason="no such wave")
        if int(row[1]) > 0 or Status(row[0]) is not Status.DISPATCHING:
            raise _Rollback(0)
        s.run("log_push", job_id=e.job_id, wave=e.wave, now=now)
        s.run("set_status", job_id=e.job_id, wave=e.wave, status=Status.PROCESSING.value)
        return 1
    return s.transaction(body)


def _schedule(s: Session, e: ScheduleTrigger, now: float) -> None:
    if not e.delay_s >= 0:
        raise WaveError(wave=0, status="n/a", step="schedule a trigger",
                        reason=f"the delay must be 0 s or more, got {e.delay_s}")
    return None


_EFFECTS: dict[type, Callable[[Session, Any, float], object]] = {
    ReadCurrentWave: _current, ReadWave: _read_wave, ReadLowestPending: _lowest, ReadNextMainWave: _next,
    ReadActiveWave: _active, ReadClaimedWave: _claimed, SetStatus: _set_status, MarkPushed: _mark,
    ClaimNextWave: _claim, CompleteFinishedWaves: _complete, RecordBatchFinished: _record,
    EnqueueBatches: _enqueue, ScheduleTrigger: _schedule,
}
