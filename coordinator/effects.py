"""The DB operations a handler program yields, one at a time.

Each is a frozen value; the driver (a test, ``sim/`` or ``model/``) decides when
it runs and sends its result back into the program. Reads and writes are
separate operations, so two handler runs can interleave between a check and
the act that depends on it. Requests are imperatives; ``EnqueueBatches`` and
``ScheduleTrigger`` also ask the driver to put jobs on the queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from coordinator.lifecycle import Status

__all__ = [
    "ClaimNextWave",
    "CompleteFinishedWaves",
    "CurrentWaveRule",
    "Effect",
    "EnqueueBatches",
    "MarkPushed",
    "ReadActiveWave",
    "ReadClaimedWave",
    "ReadCurrentWave",
    "ReadLowestPending",
    "ReadNextMainWave",
    "ReadWave",
    "RecordBatchFinished",
    "ScheduleTrigger",
    "SetStatus",
]


class CurrentWaveRule(StrEnum):
    """How a handler decides which wave is *current* (the write-up does not say)."""

    #: the lowest active wave; with none active, the highest completed one
    LOWEST_ACTIVE = "lowest-active"
    #: the highest wave that is not pending (dispatching, processing or completed)
    HIGHEST_NOT_PENDING = "highest-not-pending"
    #: the highest completed wave (0 before the first completes)
    HIGHEST_COMPLETED = "highest-completed"
    #: the highest completed wave; before the first completes, the lowest active one
    COMPLETED_ELSE_ACTIVE = "completed-else-active"
    #: the highest wave whose dispatch finished (processing or completed)
    LATEST_STARTED = "latest-started"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadCurrentWave:
    """SELECT the current main wave of a job; the result is 0 when there is none."""

    job_id: int
    rule: CurrentWaveRule


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadWave:
    """SELECT one wave's row; the result is a ``WaveRow``."""

    job_id: int
    wave: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadLowestPending:
    """SELECT the lowest pending main wave; the result is a wave number or None."""

    job_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadNextMainWave:
    """SELECT wave ``after + 1`` if it is pending (``$nextMainWave``); else None."""

    job_id: int
    after: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadActiveWave:
    """SELECT an active wave other than ``exclude``; the result is a number or None.

    Mirrors the write-up's guard query: ``whereIn('status', ['dispatching',
    'processing'])->value('wave_number')``.
    """

    job_id: int
    exclude: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SetStatus:
    """An UPDATE of one wave's status.

    A plain one (``only_from`` None) overwrites whatever is there and changes
    1 row. With ``only_from`` it is ``... WHERE status = only_from``: it changes
    the row only when the wave is in that status, and the result is the number
    of rows changed (1 or 0).
    """

    job_id: int
    wave: int
    status: Status
    only_from: Status | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimNextWave:
    """One atomic compare-and-set that claims the lowest pending wave.

    It succeeds only when no active wave is below ``threshold_count`` distinct
    finished batches and, when ``max_active`` is set, fewer than ``max_active``
    waves are active; the claimed wave goes ``pending -> dispatching``. The
    result is the wave number, or None when nothing was claimed.

    With ``reclaim_unpushed`` (only the fused comparison, ``Policy.fused_push``)
    a wave claimed earlier whose jobs were never pushed is returned again,
    unchanged: this reads the queue's side (were its jobs pushed?), which one
    database statement cannot see, so it exists only beside the fused push.
    """

    job_id: int
    threshold_count: int
    max_active: int | None = None
    reclaim_unpushed: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CompleteFinishedWaves:
    """A conditional UPDATE: every processing wave whose batches all finished
    becomes completed. The result is the tuple of waves it changed."""

    job_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordBatchFinished:
    """A batch job finished (``failed`` or not): bump the wave's counters.

    The counter increment is not idempotent (as in Laravel's batch counters);
    the row also keeps the set of distinct finished batches.
    """

    job_id: int
    wave: int
    batch: int
    failed: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class EnqueueBatches:
    """Put the wave's batch jobs on the queue; the row counts each dispatch.

    The result is 1 when the jobs were pushed and 0 when they were not. A
    plain push (``once=False``) is a queue-only step: it writes no
    coordination row (the count is what the queue's batch record shows, see
    ``coordinator.sql``). ``once`` is the fused comparison of
    ``Policy.fused_push``, NOT buildable: it pushes only a wave whose jobs were
    never pushed and marks it ``processing`` in the same step, which would need
    a queue push inside a database transaction.
    """

    job_id: int
    wave: int
    once: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadClaimedWave:
    """The relay's read: the lowest wave claimed but not yet marked pushed
    (status ``dispatching``; that row is the outbox entry) whose claim is at
    least ``lease_s`` old, so a live claimer still pushing is left alone. A
    number or None. A row without a claim time counts as old (the model
    checker keeps no times, so there every lease may have run out).
    """

    job_id: int
    lease_s: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class MarkPushed:
    """The relay's mark, after its push: one transaction of two conditional
    UPDATEs of one wave, ``dispatching -> processing`` and then, if every batch
    has already finished, ``processing -> completed``. Without the second a wave
    whose batches all finished before its mark would wait, processing, for the
    next trigger: its last completion event ran while it was still dispatching.
    The result is the number of rows the two changed: 0 when another run marked
    it first, 1 when it is now processing, 2 when the mark also completed it
    (then no completion event is left to claim the next wave: ``advance()``
    claims it)."""

    job_id: int
    wave: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleTrigger:
    """Queue a delayed job that runs ``check_and_trigger_next_wave`` later."""

    job_id: int
    delay_s: float


Effect = (
    ReadCurrentWave
    | ReadWave
    | ReadLowestPending
    | ReadNextMainWave
    | ReadActiveWave
    | ReadClaimedWave
    | SetStatus
    | MarkPushed
    | ClaimNextWave
    | CompleteFinishedWaves
    | RecordBatchFinished
    | EnqueueBatches
    | ScheduleTrigger
)
