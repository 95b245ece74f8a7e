"""The write-up's wave coordinator with its three guard fixes and no auto-trigger: policy ``guarded`` as a spec.

Run it with ``wavesim check examples/writeup_guarded.py --scope waves=3``. It is the built-in model's
``wavesim check --policy guarded`` written in the spec language, step for step, so the two checkers can
be compared (``benchmarks/bench_specs.py``, ``tests/test_writeup_spec.py``).

The import has created every wave and dispatched wave 1: its row is ``processing`` and its batch jobs
are queued (the built-in model's first state). A batch job records itself in one UPDATE and its success
fires ``BatchJobCompleted``, whose queued listener runs ``checkAndTriggerNextWave()`` on one of
``handlers`` listener workers. The handler is the write-up's DB-RECONCILE with Fix #1 (lines 1106-1169),
under the readings that are the built-in's defaults:

* the current wave is the highest completed one, else the lowest active one, else 0;
* ``checkWaveCompletion`` of the current wave runs before Fix #1's active-wave guard;
* a completion handler then checks its own batch's wave too, after its decision, unless that was the
  current wave;
* ``dispatchWave``'s last write (``processing``) is a plain UPDATE;
* progress counts the counters (completed + failed), not distinct batches.

Under Fix #1 DB-RECONCILE decides every run while a wave is pending (its ``else`` returns monitoring),
so ``handleMainTypeWaveProgression`` (normal progression, CATCH-UP) is never reached and is left out.

One step of the built-in model is one step here: ``worker_take`` is a ``take`` of a batch job,
``batch_finish`` the batch job's one UPDATE (its ack and its listener's push come with it),
``listener_start`` a ``take`` of the listener job, each ``handler_step`` one statement or the bulk push
of a wave's batch jobs, and the run's last statement ends it (its ack comes with it).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from spec.lang import Ctx, Scope, Spec, bulk, keep, push, record

JOB_ID = 1
MAIN_LEVEL = -1  # dependency_level of main waves
PENDING, DISPATCHING, PROCESSING, COMPLETED = "pending", "dispatching", "processing", "completed"
ACTIVE = (DISPATCHING, PROCESSING)

metadata = sa.MetaData()

#: The write-up's columns, for one import (``job_id`` kept; the model's tables need a one-column key).
#: Times (``dispatched_at``, ``completed_at``) are not modelled: the model has no clock.
wave_coordination = sa.Table(
    "wave_coordination", metadata,
    sa.Column("wave_number", sa.Integer, primary_key=True),
    sa.Column("job_id", sa.Integer, nullable=False),
    sa.Column("dependency_level", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("total_batches", sa.Integer, nullable=False),
    sa.Column("completed_batches", sa.Integer, nullable=False),
    sa.Column("failed_batches", sa.Integer, nullable=False),
)
wc = wave_coordination.c

spec = Spec(
    "writeup-guarded", metadata,
    scope={"waves": 2, "wave_size": 2, "threshold": 50, "workers": 2, "handlers": 2},
    queues={"import": "workers", "listeners": "handlers"},
    order="fifo",
    doc=__doc__ or "",
)


def threshold_count(scope: Scope) -> int:
    """The fewest finished batches that reach the threshold (``WaveConfig.threshold_count``)."""
    return -(-int(scope.threshold) * int(scope.wave_size) // 100)


@spec.rows
def rows(scope: Scope) -> dict[str, list[dict[str, Any]]]:
    return {"wave_coordination": [
        {"wave_number": n, "job_id": JOB_ID, "dependency_level": MAIN_LEVEL,
         "status": PROCESSING if n == 1 else PENDING, "total_batches": scope.wave_size,
         "completed_batches": 0, "failed_batches": 0}
        for n in range(1, int(scope.waves) + 1)
    ]}


@spec.start
def start(scope: Scope) -> list[tuple[Any, ...]]:
    return [("batch", 1, b) for b in range(int(scope.wave_size))]


# -- the batch job ----------------------------------------------------------------------------------------

@spec.job("batch", queue="import", ack="with_last_step", listeners=("batch_job_completed",),
          event=lambda wave, number: (wave,))
def batch(ctx: Ctx, wave: int, number: int) -> Generator[Any, Any, None]:
    """A batch job's end: its wave's counter goes up (Laravel's batch counters); BatchJobCompleted($wave)
    fires."""
    yield sa.update(wave_coordination).where(wc.job_id == JOB_ID, wc.wave_number == wave).values(
        completed_batches=wc.completed_batches + 1)
    yield record("batch_finished", wave, number)  # ghost: distinct finished batches, for the properties


# -- the listener: checkAndTriggerNextWave() ------------------------------------------------------------

Program = Generator[Any, Any, Any]


@dataclass(frozen=True)
class Completion:
    """What ``checkWaveCompletion()`` reports about one wave that DB-RECONCILE reads (its finished count is
    read by nothing)."""

    completed: bool
    at_threshold: bool


@spec.job("batch_job_completed", queue="listeners", ack="with_last_step")
def batch_job_completed(ctx: Ctx, wave: int) -> Program:
    """The queued listener of BatchJobCompleted: ``checkAndTriggerNextWave($jobId)``."""
    yield from check_and_trigger_next_wave(ctx, batch_wave=wave)


def check_and_trigger_next_wave(ctx: Ctx, batch_wave: int) -> Program:
    """DB-RECONCILE's decision, then the completion handler's own batch's wave, unless DB-RECONCILE
    checked it. (What it decided is read by nothing after it: the listener's result is dropped.)"""
    _, checked = yield from db_reconcile(ctx)
    if batch_wave != checked:  # the completion handler's own batch's wave, after the decision
        yield from check_wave_completion(ctx, batch_wave)


def db_reconcile(ctx: Ctx) -> Program:
    """DB-RECONCILE with Fix #1 (lines 1106-1169): its decision, and the wave whose completion it checked."""
    current = yield from current_wave()
    checked = max(1, current)
    completion = yield from check_wave_completion(ctx, checked)
    # Fix #1's condition on the current wave, from values read already (the PHP tests it below): what the
    # run keeps of the current wave's row is then this one bit
    may_dispatch = completion.completed or current == 0 or completion.at_threshold
    next_pending = (yield sa.select(wc.wave_number).where(
        wc.job_id == JOB_ID, wc.dependency_level == MAIN_LEVEL, wc.status == PENDING,
    ).order_by(wc.wave_number).limit(1)).scalar()
    if next_pending is None:
        return "idle", checked
    # Fix #1: is another wave dispatching or processing? (->value(): any one; only tested for null)
    active = (yield sa.select(wc.wave_number).where(
        wc.job_id == JOB_ID, wc.wave_number != current, wc.status.in_(ACTIVE),
    ).order_by(wc.wave_number).limit(1)).scalar()
    if active is not None:
        return "monitoring", checked
    # Fix #1: dispatch only when the current wave is completed, at its threshold, or there is none
    if not may_dispatch:
        return "monitoring", checked
    yield from dispatch_wave(ctx, next_pending)
    return "dispatched", checked


def current_wave() -> Program:
    """``$currentWave``: the highest completed main wave, else the lowest active one, else 0.

    One SELECT: the COALESCE of two subqueries that ``coordinator/sql.py`` sends is outside the model's SQL
    subset, so the program reads every main wave's status and keeps only the number (``keep``)."""
    return (yield keep(sa.select(wc.wave_number, wc.status).where(
        wc.job_id == JOB_ID, wc.dependency_level == MAIN_LEVEL).order_by(wc.wave_number), _current))


def _current(result: Any) -> int:
    completed = [n for n, status in result.rows if status == COMPLETED]
    active = [n for n, status in result.rows if status in ACTIVE]
    return max(completed) if completed else min(active) if active else 0


def check_wave_completion(ctx: Ctx, wave: int) -> Program:
    """``checkWaveCompletion()``: the wave's progress; mark it completed when every batch finished.

    It compares the progress with the total and the threshold, never more than the total, so it reads the
    row through ``_progress``: its status, total, and the progress counted up to the total."""
    status, total, finished = yield keep(sa.select(
        wc.status, wc.total_batches, wc.completed_batches, wc.failed_batches,
    ).where(wc.job_id == JOB_ID, wc.wave_number == wave), _progress)
    completed = finished >= total
    if completed and status != COMPLETED:
        yield sa.update(wave_coordination).where(wc.job_id == JOB_ID, wc.wave_number == wave).values(
            status=COMPLETED)
    return Completion(completed=completed,
                      at_threshold=finished >= min(threshold_count(ctx.scope), total))


def _progress(result: Any) -> tuple[str, int, int]:
    status, total, done, failed = result.one()
    return status, total, min(done + failed, total)


# A wave's counters are read only by checkWaveCompletion (through _progress, up to the total) and only
# ever go up: past the wave's size no reader tells them apart (the write-up's checker's counter abstraction).
spec.saturates(wc.completed_batches, at="wave_size",
               why="checkWaveCompletion compares completed + failed with total_batches (the wave size) and the "
                   "threshold count (at most the size), and reads the counters through _progress, which keeps "
                   "their sum only up to the total")


def dispatch_wave(ctx: Ctx, wave: int) -> Program:
    """``dispatchWave()``: mark it dispatching, push its batch jobs, mark it processing."""
    changed = (yield sa.update(wave_coordination).where(wc.job_id == JOB_ID, wc.wave_number == wave).values(
        status=DISPATCHING)).rowcount
    if changed == 1:  # the PHP reads no row count: a write that changed the row tells this run it owns the wave
        yield record("claimed", wave)
    yield bulk(*(push("batch", wave, b) for b in range(int(ctx.scope.wave_size))))  # Bus::batch()->dispatch()
    yield record("pushed", wave)
    yield sa.update(wave_coordination).where(wc.job_id == JOB_ID, wc.wave_number == wave).values(
        status=PROCESSING)


# -- properties (coordinator/properties.py, with progress as distinct finished batches) ----------------

def finished(view: Any, wave: int) -> int:
    """Distinct finished batches of ``wave`` (the ghost ``batch_finished`` records)."""
    return sum(1 for b in range(int(view.scope.wave_size)) if view.count("batch_finished", wave, b))


def started(view: Any, event: str, wave: int) -> int:
    """How often ``event`` happened to ``wave``; the import's own dispatch of wave 1 counts once."""
    return view.count(event, wave) + (1 if wave == 1 else 0)


def need(view: Any) -> int:
    return min(threshold_count(view.scope), int(view.scope.wave_size))


def active_waves(view: Any) -> list[dict[str, Any]]:
    return [r for r in view.rows("wave_coordination") if r["status"] in ACTIVE]


# The properties read the ghost counts only as "at least once" (a batch finished) and "more than once" (a
# wave claimed or pushed twice): past those no reader tells them apart (the built-in saturates pushes and
# claims at 2).
spec.saturates("batch_finished", at=1, why="finished() counts the batches recorded at least once")
spec.saturates("claimed", at=2, why="no_duplicate_claim compares the claims of a wave with 1")
spec.saturates("pushed", at=2, why="no_duplicate_push compares the pushes of a wave with 1")


@spec.always("single_active_wave")
def single_active_wave(view: Any) -> object:
    """At most one wave is dispatching or processing."""
    active = [r["wave_number"] for r in active_waves(view)]
    return len(active) <= 1 or f"{len(active)} waves active at once: {active}"


@spec.always("one_wave_below_threshold")
def one_wave_below_threshold(view: Any) -> object:
    """At most one active wave has not yet reached the threshold."""
    below = [r["wave_number"] for r in active_waves(view) if finished(view, r["wave_number"]) < need(view)]
    return len(below) <= 1 or f"{len(below)} active waves below the threshold: {below}"


@spec.always("threshold_respected")
def threshold_respected(view: Any) -> object:
    """A wave leaves pending only when its predecessor is at the threshold. (Judged on the state after the
    write: a step changes one row's status, and a predecessor's progress never goes down.)"""
    table = view.rows("wave_coordination")
    for prev, row in zip(table, table[1:], strict=False):
        if row["status"] != PENDING and (prev["status"] == PENDING or finished(view, prev["wave_number"]) < need(view)):
            return (f"wave {row['wave_number']} dispatched while wave {prev['wave_number']} had "
                    f"{finished(view, prev['wave_number'])}/{prev['total_batches']} batches finished")
    return True


@spec.always("no_duplicate_claim")
def no_duplicate_claim(view: Any) -> object:
    """No two handler runs were told they own the same wave."""
    twice = [r["wave_number"] for r in view.rows("wave_coordination") if started(view, "claimed", r["wave_number"]) > 1]
    return not twice or f"wave(s) claimed by more than one run: {twice}"


@spec.always("no_duplicate_push")
def no_duplicate_push(view: Any) -> object:
    """No wave's batch jobs are pushed to the queue more than once."""
    twice = [r["wave_number"] for r in view.rows("wave_coordination") if started(view, "pushed", r["wave_number"]) > 1]
    return not twice or f"wave(s) dispatched more than once: {twice}"


@spec.always("queue_bounded")
def queue_bounded(view: Any) -> object:
    """Queued batch jobs stay within one wave plus the unfinished tail of the wave before it."""
    bound = int(view.scope.wave_size) + int(view.scope.wave_size) - need(view)
    queued = view.queued("batch")
    return queued <= bound or f"{queued} batch jobs queued, above the bound of {bound}"


def every_wave_completed(view: Any) -> object:
    left = [r["wave_number"] for r in view.rows("wave_coordination") if r["status"] != COMPLETED]
    return not left or f"wave(s) never completed: {left}"


@spec.eventually("no_stall")
def no_stall(view: Any) -> object:
    """Never quiescent (no job queued or running) with a wave not completed."""
    return every_wave_completed(view)


@spec.eventually("import_completes")
def import_completes(view: Any) -> object:
    """Every wave is completed."""
    return every_wave_completed(view)


# -- settled (model/settled.py, as declarations) ----------------------------------------------------------

def pending_once_and_progress_kept(before: Any, after: Any) -> object:
    """Every step: no wave goes back to pending (a wave leaves it once), and no wave's distinct finished
    batches go down."""
    for old, new in zip(before.rows("wave_coordination"), after.rows("wave_coordination"), strict=True):
        wave = new["wave_number"]
        if new["status"] == PENDING and old["status"] != PENDING:
            return f"wave {wave} was written back to pending"
        if finished(after, wave) < finished(before, wave):
            return f"wave {wave}'s finished batches went down"
    return True


@spec.settled("threshold_respected", premise=pending_once_and_progress_kept)
def every_pending_wave_may_leave(view: Any) -> bool:
    """The predecessor of every pending wave has left pending and is at the threshold: whatever leaves
    pending from here on may."""
    table = view.rows("wave_coordination")
    return all(prev["status"] != PENDING and finished(view, prev["wave_number"]) >= need(view)
               for prev, row in zip(table, table[1:], strict=False) if row["status"] == PENDING)


@spec.settled("one_wave_below_threshold", premise=pending_once_and_progress_kept)
def one_wave_left_below(view: Any) -> bool:
    """At most one wave, whatever its status, is below the threshold: progress never goes down, so two
    active waves below it can no longer be."""
    return sum(1 for r in view.rows("wave_coordination") if finished(view, r["wave_number"]) < need(view)) <= 1
