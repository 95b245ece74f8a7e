"""The wave table: each DB operation, the lifecycle, and the calls that make no sense.

A write that leaves the lifecycle is applied and recorded as a
``LifecycleViolation``; a call that makes no sense raises ``WaveError`` naming
the wave, its status and the step, and changes nothing.
"""

from __future__ import annotations

import math
from dataclasses import replace
from itertools import product

import pytest
from coordinator_builders import (
    COMPLETED,
    DISPATCHING,
    JOB,
    LOWEST,
    NOW,
    PENDING,
    PROCESSING,
    active,
    enqueue,
    next_main,
    push,
    read,
    record,
    set_status,
    table,
    wave,
)

from coordinator import (
    ACTIVE,
    LIFECYCLE,
    ClaimNextWave,
    CompleteFinishedWaves,
    HandlerRun,
    LifecycleViolation,
    MarkPushed,
    ReadClaimedWave,
    ReadWave,
    ScheduleTrigger,
    Status,
    WaveError,
    WaveRow,
    apply,
    finish_batch,
    is_legal,
    new_import,
)


def test_new_import_creates_every_main_wave_pending():
    assert new_import(job_id=JOB, waves=3, wave_size=4) == table(wave(1), wave(2), wave(3))


@pytest.mark.parametrize(("waves", "size"), [(0, 4), (3, 0), (-1, -1)])
def test_new_import_refuses_an_empty_import(waves, size):
    with pytest.raises(WaveError, match=f"waves and wave_size must be at least 1, got {waves} and {size}"):
        new_import(job_id=JOB, waves=waves, wave_size=size)


def test_the_lifecycle_is_the_write_ups_four_statuses_in_order():
    assert {
        PENDING: {DISPATCHING},
        DISPATCHING: {PROCESSING},
        PROCESSING: {COMPLETED},
        COMPLETED: set(),
    } == LIFECYCLE
    assert {DISPATCHING, PROCESSING} == ACTIVE
    assert [s.value for s in Status] == ["pending", "dispatching", "processing", "completed"]


# --- reads -----------------------------------------------------------------------------------------------------

READS_TABLE = table(wave(1, COMPLETED, done=4), wave(2, PROCESSING, done=3), wave(3, DISPATCHING), wave(4), wave(5))


@pytest.mark.parametrize(
    ("effect", "result"),
    [
        (read(2), READS_TABLE.row(2)),
        (LOWEST, 4),
        (next_main(3), 4),
        (next_main(1), None),  # wave 2 already left pending
        (next_main(5), None),  # there is no wave 6
        (active(None), 2),
        (active(2), 3),
        (active(0), 2),
    ],
)
def test_reads_return_their_result_and_change_nothing(effect, result):
    assert apply(READS_TABLE, effect, NOW) == (READS_TABLE, result)


def test_reads_on_a_finished_import():
    done = table(wave(1, COMPLETED, done=4), wave(2, COMPLETED, done=4))
    assert apply(done, LOWEST, NOW) == (done, None)
    assert apply(done, active(None), NOW) == (done, None)
    assert apply(done, next_main(0), NOW) == (done, None)


# --- status writes and the lifecycle --------------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new"), list(product(Status, Status)), ids=lambda s: s.value)
def test_every_status_write_is_applied_and_an_illegal_one_is_recorded(old, new):
    t0 = table(wave(1, old, done=4 if old is COMPLETED else 0), wave(2))
    after, result = apply(t0, set_status(1, new), NOW)
    assert result == 1
    assert after.row(1).status is new
    expected = [] if is_legal(old, new) else [LifecycleViolation(wave=1, old=old, new=new, at=NOW)]
    assert list(after.violations) == expected
    assert is_legal(old, new) == (new in LIFECYCLE[old])


def test_status_writes_stamp_the_first_dispatch_and_each_completion():
    t, _ = apply(table(wave(1), wave(2)), set_status(1, DISPATCHING), 1.0)
    t, _ = apply(t, set_status(1, PROCESSING), 2.0)
    t, _ = apply(t, set_status(1, DISPATCHING), 3.0)  # a racing re-dispatch keeps the first stamp
    t, _ = apply(t, set_status(1, COMPLETED), 4.0)
    assert t == table(
        wave(1, COMPLETED, dispatches=0, claims=2, dispatched_at=1.0, completed_at=4.0),
        wave(2),
        violations=[
            LifecycleViolation(wave=1, old=PROCESSING, new=DISPATCHING, at=3.0),
            LifecycleViolation(wave=1, old=DISPATCHING, new=COMPLETED, at=4.0),
        ],
    )


# --- batches, dispatches, claims, completions -----------------------------------------------------------------


def test_recorded_batches_bump_the_counters_every_time_but_the_mask_once():
    t = table(wave(1, PROCESSING), wave(2))
    for effect in (record(1, 0), record(1, 0), record(1, 2, failed=True)):
        t, result = apply(t, effect, NOW)
        assert result is None
    assert t == table(replace(wave(1, PROCESSING), completed_batches=2, failed_batches=1, finished_mask=0b101), wave(2))
    assert (t.row(1).counted_finished, t.row(1).distinct_finished) == (3, 2)


def test_a_batch_of_a_completed_wave_can_still_be_recorded():
    t, _ = apply(table(wave(1, COMPLETED, done=4)), record(1, 1), NOW)
    assert t == table(wave(1, COMPLETED, done=4, counted=5))


def test_enqueue_counts_every_dispatch_of_a_wave():
    t, result = apply(table(wave(1, PROCESSING), wave(2)), enqueue(1), NOW)
    assert result == 1
    assert t == table(wave(1, PROCESSING, dispatches=2, claims=1), wave(2))


def test_the_fused_push_goes_out_once_and_marks_the_wave_processing():
    claimed = table(wave(1, COMPLETED, done=4), wave(2, DISPATCHING, dispatches=0, claims=1, dispatched_at=NOW))
    pushed, result = apply(claimed, push(2), NOW)
    assert result == 1
    assert pushed == table(wave(1, COMPLETED, done=4), wave(2, PROCESSING, dispatched_at=NOW))
    assert apply(pushed, push(2), NOW) == (pushed, 0)
    never_claimed = table(wave(1, COMPLETED, done=4), wave(2))
    assert apply(never_claimed, push(2), NOW) == (never_claimed, 0)


@pytest.mark.parametrize(
    ("t0", "threshold_count", "claimed"),
    [
        (table(wave(1), wave(2)), 3, 1),
        (table(wave(1, PROCESSING, done=3), wave(2)), 3, 2),
        (table(wave(1, PROCESSING, done=2), wave(2)), 3, None),
        (table(wave(1, PROCESSING, done=4), wave(2)), 9, 2),  # a threshold above the wave size means the whole wave
        (table(wave(1, COMPLETED, done=4), wave(2, DISPATCHING), wave(3)), 3, None),
        (table(wave(1, COMPLETED, done=4)), 3, None),
    ],
    ids=["first", "at-threshold", "below", "threshold-above-size", "dispatching-below-threshold", "nothing-pending"],
)
def test_claim_next_wave(t0, threshold_count, claimed):
    after, result = apply(t0, ClaimNextWave(job_id=JOB, threshold_count=threshold_count), NOW)
    assert result == claimed
    if claimed is None:
        assert after == t0
    else:
        row = t0.row(claimed)
        claimed_row = replace(row, status=DISPATCHING, dispatched_at=NOW, owners_told=row.owners_told + 1)
        assert after == t0.with_row(claimed_row)


def test_only_the_fused_claim_hands_out_an_unpushed_wave_again():
    t0 = table(wave(1, COMPLETED, done=4), wave(2, DISPATCHING, dispatches=0, claims=1), wave(3))
    assert apply(t0, ClaimNextWave(job_id=JOB, threshold_count=3, reclaim_unpushed=True), NOW) == (t0, 2)
    assert apply(t0, ClaimNextWave(job_id=JOB, threshold_count=3), NOW) == (t0, None)


def test_the_relay_reads_the_lowest_claimed_wave_and_marks_it_pushed_once():
    t0 = table(wave(1, PROCESSING, done=3), wave(2, DISPATCHING, dispatches=0, claims=1), wave(3))
    assert apply(t0, ReadClaimedWave(job_id=JOB), NOW) == (t0, 2)
    marked, result = apply(t0, MarkPushed(job_id=JOB, wave=2), NOW)
    assert result == 1
    assert marked == table(wave(1, PROCESSING, done=3), wave(2, PROCESSING, dispatches=0, claims=1), wave(3))
    assert apply(marked, MarkPushed(job_id=JOB, wave=2), NOW) == (marked, 0)
    assert apply(marked, ReadClaimedWave(job_id=JOB), NOW) == (marked, None)


def test_the_mark_completes_a_wave_whose_batches_all_finished_before_it():
    t0 = table(wave(1, COMPLETED, done=4), wave(2, DISPATCHING, done=4, dispatches=1, claims=1))
    marked, result = apply(t0, MarkPushed(job_id=JOB, wave=2), NOW)
    assert result == 2  # both UPDATEs changed the row: the caller learns that it completed the wave
    assert marked == table(wave(1, COMPLETED, done=4),
                           wave(2, COMPLETED, done=4, dispatches=1, claims=1, completed_at=NOW))
    assert marked.violations == ()  # dispatching -> processing -> completed, each a lifecycle edge
    short = table(wave(1, COMPLETED, done=4), wave(2, DISPATCHING, done=3, dispatches=1, claims=1))
    processing, result = apply(short, MarkPushed(job_id=JOB, wave=2), NOW)
    assert (processing.row(2).status, result) == (PROCESSING, 1)


def test_complete_finished_waves_completes_only_processing_waves_with_every_batch_finished():
    t0 = table(
        wave(1, PROCESSING, done=4),
        wave(2, DISPATCHING, done=4),
        wave(3, PROCESSING, done=3, counted=4),
        wave(4, PROCESSING, done=4),
    )
    after, result = apply(t0, CompleteFinishedWaves(job_id=JOB), NOW)
    assert result == (1, 4)
    assert after == table(
        wave(1, COMPLETED, done=4, completed_at=NOW),
        wave(2, DISPATCHING, done=4),
        wave(3, PROCESSING, done=3, counted=4),
        wave(4, COMPLETED, done=4, completed_at=NOW),
    )


def test_schedule_trigger_only_asks_the_driver():
    t0 = table(wave(1, PROCESSING))
    assert apply(t0, ScheduleTrigger(job_id=JOB, delay_s=0.0), NOW) == (t0, None)


# --- calls that make no sense -----------------------------------------------------------------------------------

NONSENSE_TABLE = table(wave(1, PROCESSING, done=1), wave(2))


@pytest.mark.parametrize(
    ("effect", "message"),
    [
        (read(3), "wave 3 (status unknown): cannot read: no such wave"),
        (set_status(0, PROCESSING), "wave 0 (status unknown): cannot set status processing: no such wave"),
        (enqueue(9), "wave 9 (status unknown): cannot enqueue batches: no such wave"),
        (record(3, 0), "wave 3 (status unknown): cannot record a finished batch: no such wave"),
        (record(1, 4), "wave 1 (status processing): cannot record a finished batch: batch 4 is outside 0..3"),
        (record(1, -1), "wave 1 (status processing): cannot record a finished batch: batch -1 is outside 0..3"),
        (record(2, 0), "wave 2 (status pending): cannot record a finished batch: the wave was never dispatched"),
        (ReadWave(job_id=8, wave=1),
         "wave 1 (status unknown): cannot ReadWave: unknown job 8 (this table holds job 7)"),
        (ClaimNextWave(job_id=8, threshold_count=3),
         "wave 0 (status unknown): cannot ClaimNextWave: unknown job 8 (this table holds job 7)"),
        (ScheduleTrigger(job_id=JOB, delay_s=-1.0),
         "wave 0 (status n/a): cannot schedule a trigger: the delay must be 0 s or more, got -1.0"),
        (ScheduleTrigger(job_id=JOB, delay_s=math.nan),
         "wave 0 (status n/a): cannot schedule a trigger: the delay must be 0 s or more, got nan"),
    ],
    ids=[
        "read-unknown-wave", "write-unknown-wave", "enqueue-unknown-wave", "record-unknown-wave",
        "batch-too-high", "batch-negative", "batch-of-pending-wave", "unknown-job", "claim-unknown-job",
        "negative-delay", "nan-delay",
    ],
)
def test_a_call_that_makes_no_sense_raises_and_changes_nothing(effect, message):
    before = table(wave(1, PROCESSING, done=1), wave(2))
    with pytest.raises(WaveError) as raised:
        apply(NONSENSE_TABLE, effect, NOW)
    assert str(raised.value) == message
    assert before == NONSENSE_TABLE


def test_wave_error_carries_the_wave_its_status_and_the_step():
    with pytest.raises(WaveError) as raised:
        apply(NONSENSE_TABLE, record(2, 1), NOW)
    assert (raised.value.wave, raised.value.status, raised.value.step) == (2, "pending", "record a finished batch")


def test_a_handler_step_that_makes_no_sense_leaves_the_table_and_the_handler_where_they_were():
    run = HandlerRun("worker", finish_batch(JOB, 2, 0))
    with pytest.raises(WaveError, match="the wave was never dispatched"):
        run.step(NONSENSE_TABLE, NOW)
    assert table(wave(1, PROCESSING, done=1), wave(2)) == NONSENSE_TABLE
    assert (run.done, run.effect) == (False, record(2, 0))


def test_a_finished_handler_has_no_step_left():
    run = HandlerRun("worker", finish_batch(JOB, 1, 0))
    t, _ = run.step(NONSENSE_TABLE, NOW)
    with pytest.raises(ValueError, match="handler 'worker' has finished; it has no step left"):
        run.step(t, NOW)


def test_something_that_is_not_an_operation_is_a_type_error():
    with pytest.raises(TypeError, match="not a wave table operation"):
        apply(NONSENSE_TABLE, WaveRow(job_id=JOB, wave_number=1, batches=4), NOW)  # type: ignore[arg-type]



def test_claim_with_max_active_waits_while_that_many_waves_are_in_flight():
    """Both active waves are at threshold, so only the in-flight limit refuses."""
    busy = table(wave(1, PROCESSING, done=3), wave(2, PROCESSING, done=3, dispatched_at=NOW), wave(3))
    after, result = apply(busy, ClaimNextWave(job_id=JOB, threshold_count=3, max_active=2), NOW)
    assert (after, result) == (busy, None)
    after, result = apply(busy, ClaimNextWave(job_id=JOB, threshold_count=3, max_active=3), NOW)
    assert result == 3
    assert after == table(
        wave(1, PROCESSING, done=3), wave(2, PROCESSING, done=3, dispatched_at=NOW),
        wave(3, DISPATCHING, dispatches=0, claims=1, dispatched_at=NOW),
    )
