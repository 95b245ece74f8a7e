"""Small builders the coordinator tests share: rows, tables, effects and steps.

Every test states its expected table in full, so these keep that short: a row is
its status and how many of its batches finished; everything else takes the
value a freshly dispatched wave would have.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from coordinator import (
    Context,
    CurrentWaveRule,
    EnqueueBatches,
    LifecycleViolation,
    Policy,
    ReadActiveWave,
    ReadCurrentWave,
    ReadLowestPending,
    ReadNextMainWave,
    ReadWave,
    RecordBatchFinished,
    SetStatus,
    Status,
    Step,
    WaveConfig,
    WaveRow,
    WaveTable,
    policy_named,
)
from coordinator.effects import Effect

JOB = 7
#: four batches a wave, threshold 75 %: three finished batches reach it, the fourth is the straggler
CONFIG = WaveConfig(wave_size=4, completion_threshold=75)
SIZE = CONFIG.wave_size
#: the time of the steps under test; rows built by ``wave`` were written at 0.0
NOW = 5.0

PENDING, DISPATCHING, PROCESSING, COMPLETED = (
    Status.PENDING, Status.DISPATCHING, Status.PROCESSING, Status.COMPLETED,
)


def wave(
    n: int,
    status: Status = PENDING,
    *,
    done: int = 0,
    counted: int | None = None,
    dispatches: int | None = None,
    claims: int | None = None,
    dispatched_at: float | None = None,
    completed_at: float | None = None,
) -> WaveRow:
    """Wave ``n`` with batches ``0..done-1`` finished (``counted`` counter bumps, default ``done``).

    A wave that left ``pending`` was claimed and dispatched once at 0.0 unless told otherwise
    (``claims`` defaults to ``dispatches``: the write-up's paths claim before each push);
    a completed wave was completed at 0.0.
    """
    started = status is not PENDING
    return WaveRow(
        job_id=JOB,
        wave_number=n,
        status=status,
        batches=SIZE,
        completed_batches=done if counted is None else counted,
        finished_mask=(1 << done) - 1,
        dispatch_count=(1 if started else 0) if dispatches is None else dispatches,
        owners_told=((1 if started else 0) if dispatches is None else dispatches) if claims is None else claims,
        dispatched_at=(0.0 if started else None) if dispatched_at is None else dispatched_at,
        completed_at=(0.0 if status is COMPLETED else None) if completed_at is None else completed_at,
    )


def table(*rows: WaveRow, violations: Sequence[LifecycleViolation] = ()) -> WaveTable:
    """The import with exactly these rows (wave 1 first)."""
    assert [r.wave_number for r in rows] == list(range(1, len(rows) + 1))
    return WaveTable(job_id=JOB, rows=tuple(rows), violations=tuple(violations))


#: The readings the pre-calibration reproductions were written under (the lowest active
#: wave is current, a handler checks only the current wave): tests of those mechanisms
#: name them, as ``--switch`` would.
PINNED_READINGS: dict[str, object] = {"current_wave_rule": "lowest-active", "batch_wave_check": "none"}


def pinned(name: str) -> Policy:
    """The named policy under ``PINNED_READINGS`` (``atomic`` reads none of them)."""
    chosen = policy_named(name)
    return chosen if chosen.atomic_advance else chosen.with_switches(name=name, **PINNED_READINGS)


#: The reading the step-by-step handler and race tests are written under: the lowest
#: active wave is current (``docs/readings.md``; the default is completed-else-active,
#: whose own pinned steps are in tests/test_readings_steps.py).
PINNED_RULE = CurrentWaveRule.LOWEST_ACTIVE


def ctx(policy: str | Policy, config: WaveConfig = CONFIG, *, trigger_wave: int | None = None) -> Context:
    """A handler context for a named policy or a policy value; a policy left at the default current-wave
    rule is read with ``PINNED_RULE`` (a test that names a rule keeps it)."""
    chosen = policy_named(policy) if isinstance(policy, str) else policy
    if not chosen.atomic_advance and chosen.current_wave_rule is Policy().current_wave_rule:
        chosen = chosen.with_switches(name=chosen.name, current_wave_rule=PINNED_RULE)
    return Context(job_id=JOB, policy=chosen, config=config, trigger_wave=trigger_wave)


def steps(*pairs: tuple[Effect, object], handler: str = "h") -> tuple[Step, ...]:
    """The expected ``Interleaving.steps`` of one handler: (effect, result) pairs."""
    return tuple(Step(handler=handler, effect=effect, result=result) for effect, result in pairs)


def current(rule: CurrentWaveRule = CurrentWaveRule.LOWEST_ACTIVE) -> ReadCurrentWave:
    return ReadCurrentWave(job_id=JOB, rule=rule)


def read(n: int) -> ReadWave:
    return ReadWave(job_id=JOB, wave=n)


LOWEST = ReadLowestPending(job_id=JOB)


def next_main(after: int) -> ReadNextMainWave:
    return ReadNextMainWave(job_id=JOB, after=after)


def active(exclude: int | None) -> ReadActiveWave:
    return ReadActiveWave(job_id=JOB, exclude=exclude)


def set_status(n: int, status: Status) -> SetStatus:
    return SetStatus(job_id=JOB, wave=n, status=status)


def enqueue(n: int) -> EnqueueBatches:
    return EnqueueBatches(job_id=JOB, wave=n)


def push(n: int) -> EnqueueBatches:
    """The outbox's conditional push of a claimed wave (``atomic``)."""
    return EnqueueBatches(job_id=JOB, wave=n, once=True)


def record(n: int, batch: int, *, failed: bool = False) -> RecordBatchFinished:
    return RecordBatchFinished(job_id=JOB, wave=n, batch=batch, failed=failed)


def dispatch(n: int) -> list[tuple[Effect, object]]:
    """The three steps of ``dispatch_wave`` for an unclaimed wave, with their results."""
    return [(set_status(n, DISPATCHING), 1), (enqueue(n), 1), (set_status(n, PROCESSING), 1)]


def forgetful_apply(real: Callable[..., tuple[WaveTable, object]]) -> Callable[..., tuple[WaveTable, object]]:
    """``coordinator.apply`` as a broken core would run it: the record that finishes wave 1's
    second batch forgets both (its distinct finished batches fall from 2 to 0)."""

    def apply(table: WaveTable, effect: Effect, now: float) -> tuple[WaveTable, object]:
        new, result = real(table, effect, now)
        if isinstance(effect, RecordBatchFinished) and new.rows[0].finished_mask == 0b11:
            new = replace(new, rows=(replace(new.rows[0], finished_mask=0), *new.rows[1:]))
        return new, result

    return apply
