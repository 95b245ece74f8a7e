"""The write-up's handlers as step programs.

Each handler is a generator that yields one DB operation (``coordinator.effects``)
at a time and receives its result; it returns a ``Decision``. The programs read
almost line by line like the PHP of the write-up. Where the write-up is silent
the program asks the policy: every such reading is a switch of ``Policy``
(``coordinator.policy.SWITCHES`` lists them with the lines they read):

* ``current_wave_rule``: which wave is current (``ReadCurrentWave``);
* ``completion_check``: whether ``checkWaveCompletion`` of the current wave runs
  before Fix #1's active-wave guard or after it, with the threshold check;
* ``catchup_entry``: when ``handleMainTypeWaveProgression`` takes CATCH-UP;
* ``batch_wave_check``: whether a completion handler also checks the wave of
  its own batch, and whether before or after its dispatch decision;
* ``final_write``: whether ``dispatchWave``'s last write is conditional;
* ``normal_threshold``: whether normal progression waits for the threshold;
* ``reconcile_else``: what pre-fix DB-RECONCILE does when it does not dispatch
  (falls through to ``handleMainTypeWaveProgression``, or returns);
* ``distinct_progress``: progress by counters or by distinct batches.

DB-RECONCILE runs first whenever a wave is pending (lines 1106-1169); before
the fix it dispatches only when the current wave is completed (or there is
none); after the fix it always returns there (Fix #1's ``else``).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

from coordinator.config import WaveConfig
from coordinator.effects import (
    ClaimNextWave,
    CompleteFinishedWaves,
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
from coordinator.lifecycle import Status
from coordinator.policy import (
    BatchWaveCheck,
    CatchupEntry,
    CompletionCheck,
    FinalWrite,
    NormalThreshold,
    Policy,
    ReconcileElse,
)
from coordinator.table import WaveRow

__all__ = [
    "Completion",
    "Decision",
    "Program",
    "advance",
    "check_and_trigger_next_wave",
    "check_wave_completion",
    "dispatch_wave",
    "finish_batch",
    "handle_main_type_wave_progression",
]

#: A handler program: yields effects, is sent their results, returns a value.
Program = Generator[Effect, object, "Decision"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Completion:
    """What ``checkWaveCompletion`` reports about one wave."""

    wave: int
    finished: int
    completed: bool
    at_threshold: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """How a handler run ended: which path decided, what it did, for which wave."""

    path: str
    outcome: str  # 'dispatched', 'monitoring' or 'idle'
    wave: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    """What every handler program is given besides its trigger."""

    job_id: int
    policy: Policy
    config: WaveConfig
    #: the wave of the batch whose BatchJobCompleted started this run (None for other triggers)
    trigger_wave: int | None = None


def finish_batch(
    job_id: int, wave: int, batch: int, *, failed: bool = False
) -> Generator[Effect, object, None]:
    """The end of a batch job: record it; the worker then fires BatchJobCompleted."""
    yield RecordBatchFinished(job_id=job_id, wave=wave, batch=batch, failed=failed)


def check_wave_completion(ctx: Context, wave: int) -> Generator[Effect, object, Completion]:
    """``checkWaveCompletion()``: progress of one wave; mark it completed when done.

    With ``auto_trigger`` on, marking a wave completed also queues the 2 s
    delayed re-check (the write-up's final fix).
    """
    row = yield ReadWave(job_id=ctx.job_id, wave=wave)
    assert isinstance(row, WaveRow)
    finished = row.distinct_finished if ctx.policy.distinct_progress else row.counted_finished
    completed = finished >= row.batches
    if completed and row.status is not Status.COMPLETED:
        yield SetStatus(job_id=ctx.job_id, wave=wave, status=Status.COMPLETED)
        if ctx.policy.auto_trigger:
            yield ScheduleTrigger(job_id=ctx.job_id, delay_s=ctx.config.auto_trigger_delay_s)
    return Completion(
        wave=wave,
        finished=finished,
        completed=completed,
        at_threshold=finished >= min(ctx.config.threshold_count, row.batches),
    )


def dispatch_wave(ctx: Context, wave: int) -> Generator[Effect, object, None]:
    """``dispatchWave()``: mark it dispatching, push its batches, mark it processing."""
    yield SetStatus(job_id=ctx.job_id, wave=wave, status=Status.DISPATCHING)
    yield EnqueueBatches(job_id=ctx.job_id, wave=wave)
    only_from = Status.DISPATCHING if ctx.policy.final_write is FinalWrite.CONDITIONAL else None
    yield SetStatus(job_id=ctx.job_id, wave=wave, status=Status.PROCESSING, only_from=only_from)


def _another_active(ctx: Context, exclude: int | None) -> Generator[Effect, object, int | None]:
    active = yield ReadActiveWave(job_id=ctx.job_id, exclude=exclude)
    assert active is None or isinstance(active, int)
    return active


def check_and_trigger_next_wave(ctx: Context) -> Program:
    """``checkAndTriggerNextWave()``: every trigger of the write-up runs this."""
    if ctx.policy.atomic_advance:
        return (yield from advance(ctx))
    batch_wave, when = ctx.trigger_wave, ctx.policy.batch_wave_check
    checked: set[int] = set()
    if batch_wave is not None and when is BatchWaveCheck.BEFORE_DECISION:
        yield from check_wave_completion(ctx, batch_wave)
        checked.add(batch_wave)
    decision = yield from _reconcile(ctx, checked)
    if batch_wave is not None and when is BatchWaveCheck.AFTER_DECISION and batch_wave not in checked:
        yield from check_wave_completion(ctx, batch_wave)
    return decision


def _reconcile(ctx: Context, checked: set[int]) -> Program:
    """DB-RECONCILE (lines 1106-1169), then ``handleMainTypeWaveProgression``."""
    current = yield ReadCurrentWave(job_id=ctx.job_id, rule=ctx.policy.current_wave_rule)
    assert isinstance(current, int)
    late = ctx.policy.reconcile_active_guard and ctx.policy.completion_check is CompletionCheck.AFTER_GUARD
    completion = None if late else (yield from check_wave_completion(ctx, max(1, current)))
    checked.add(max(1, current))
    next_pending = yield ReadLowestPending(job_id=ctx.job_id)
    if next_pending is None:
        return Decision(path="db-reconcile", outcome="idle")
    assert isinstance(next_pending, int)
    if ctx.policy.reconcile_active_guard and (yield from _another_active(ctx, current)) is not None:
        if late:
            checked.discard(max(1, current))  # the guard returned before checkWaveCompletion ran
        return Decision(path="db-reconcile", outcome="monitoring")
    if completion is None:
        completion = yield from check_wave_completion(ctx, max(1, current))
    reconcile = completion.completed or current == 0
    if ctx.policy.reconcile_threshold_guard:
        if not (reconcile or completion.at_threshold):
            return Decision(path="db-reconcile", outcome="monitoring")
        reconcile = True
    if reconcile:
        yield from dispatch_wave(ctx, next_pending)
        return Decision(path="db-reconcile", outcome="dispatched", wave=next_pending)
    if ctx.policy.reconcile_else is ReconcileElse.RETURN_MONITORING:
        return Decision(path="db-reconcile", outcome="monitoring")
    return (yield from handle_main_type_wave_progression(ctx, current, completion))


def handle_main_type_wave_progression(ctx: Context, current: int, completion: Completion) -> Program:
    """``handleMainTypeWaveProgression()``: normal progression, else CATCH-UP."""
    successor = yield ReadNextMainWave(job_id=ctx.job_id, after=current)
    if successor is not None:
        if ctx.policy.normal_threshold is NormalThreshold.CHECKED and not completion.at_threshold:
            return Decision(path="normal", outcome="monitoring")
        # normal progression (lines 1888-1910)
        if ctx.policy.normal_active_guard and (yield from _another_active(ctx, current)) is not None:
            return Decision(path="normal", outcome="monitoring")
        assert isinstance(successor, int)
        yield from dispatch_wave(ctx, successor)
        return Decision(path="normal", outcome="dispatched", wave=successor)
    # CATCH-UP (lines 1926-1992): the successor already left 'pending'
    lowest = yield ReadLowestPending(job_id=ctx.job_id)
    if lowest is None:
        return Decision(path="catch-up", outcome="idle")
    assert isinstance(lowest, int)
    if ctx.policy.catchup_entry is CatchupEntry.STALLED and (yield from _another_active(ctx, None)) is not None:
        return Decision(path="normal", outcome="monitoring")  # not a stall: CATCH-UP is not entered
    if ctx.policy.catchup_active_guard and (yield from _another_active(ctx, None)) is not None:
        return Decision(path="catch-up", outcome="monitoring")
    if ctx.policy.catchup_threshold_guard and not completion.at_threshold:
        return Decision(path="catch-up", outcome="monitoring")
    yield from dispatch_wave(ctx, lowest)
    return Decision(path="catch-up", outcome="dispatched", wave=lowest)


def advance(ctx: Context) -> Program:
    """Ours: one idempotent step used by every trigger, each operation buildable.

    1. ``CompleteFinishedWaves``: one conditional UPDATE marks every finished
       wave completed.
    2. The relay: ``ReadClaimedWave`` finds a wave claimed but not yet marked
       pushed. Its ``dispatching`` row is the outbox entry, written by the
       claim's own transaction; finding one means a claimer or relay died
       before marking it (or is still pushing), so this run pushes it again.
    3. Otherwise ``ClaimNextWave``: one compare-and-set transaction that holds
       only while no active wave is below threshold (and, with
       ``max_waves_in_flight``, while fewer waves are active). It moves the
       wave ``pending -> dispatching``, which is the outbox row.
    4. ``EnqueueBatches``: a queue-only step (after the claim committed).
    5. ``MarkPushed``: one transaction, a conditional UPDATE ``dispatching ->
       processing`` and, when every batch already finished, ``-> completed``.
    6. When the mark completed the wave, ``ClaimNextWave`` once more, and steps
       4-6 for the wave it claims: every completion event of that wave ran
       while it was still ``dispatching`` and could not claim past it, so this
       run is the last one that knows a claim may now succeed. Every other step
       that can let a claim through (a batch recorded, ``CompleteFinishedWaves``)
       is followed by a claim in the run it starts or runs in, so fault-free
       progress never waits for the reconciler.

    A crash may fall between any two of these. What holds (the checker's
    verdicts, docs/databases.md): the claim is the only way out of ``pending``
    and is atomic, so a wave is claimed once; a claimed wave stays
    ``dispatching`` until some run pushed and marked it, and the reconciler
    runs the relay, so every claimed wave is pushed at least once; a wave can be
    pushed more than once (a relay racing its claimer, or a crash between push
    and mark), so batch jobs carry a job key and progress counts distinct
    batches: a batch is counted once.

    With ``Policy.fused_push`` (unbuildable, for comparison) steps 2-5 are the
    old claim that re-hands an unpushed wave and the fused push-and-mark.
    """
    yield CompleteFinishedWaves(job_id=ctx.job_id)
    if ctx.policy.fused_push:
        return (yield from _advance_fused(ctx))
    path = "relay"
    wave = yield ReadClaimedWave(job_id=ctx.job_id, lease_s=ctx.policy.relay_lease_s)
    if wave is None:
        path = "advance"
        wave = yield from _claim_next(ctx)
        if wave is None:
            return Decision(path="advance", outcome="idle")
    while True:
        assert isinstance(wave, int)
        yield EnqueueBatches(job_id=ctx.job_id, wave=wave)
        changed = yield MarkPushed(job_id=ctx.job_id, wave=wave)
        if changed != _MARKED_AND_COMPLETED:
            return Decision(path=path, outcome="dispatched", wave=wave)
        successor = yield from _claim_next(ctx)
        if successor is None:
            return Decision(path=path, outcome="dispatched", wave=wave)
        if successor <= wave:  # so the loop ends after at most one claim per wave, whatever a driver sends
            raise WaveError(wave=successor, status="dispatching", step="claim after a completing mark",
                            reason=f"a claim takes the lowest pending wave, and wave {wave} was claimed above it")
        path, wave = "advance", successor


#: ``MarkPushed``'s result when its transaction also completed the wave (both UPDATEs changed it)
_MARKED_AND_COMPLETED = 2


def _claim_next(ctx: Context) -> Generator[Effect, object, int | None]:
    """``ClaimNextWave`` as ``advance()`` asks it: the wave claimed, or None."""
    wave = yield ClaimNextWave(
        job_id=ctx.job_id, threshold_count=ctx.config.threshold_count, max_active=ctx.policy.max_waves_in_flight
    )
    assert wave is None or isinstance(wave, int)
    return wave


def _advance_fused(ctx: Context) -> Program:
    """The unbuildable comparison: a claim that re-hands an unpushed wave, then a fused push-and-mark."""
    claimed = yield ClaimNextWave(
        job_id=ctx.job_id, threshold_count=ctx.config.threshold_count, max_active=ctx.policy.max_waves_in_flight,
        reclaim_unpushed=True,
    )
    if claimed is None:
        return Decision(path="advance", outcome="idle")
    assert isinstance(claimed, int)
    pushed = yield EnqueueBatches(job_id=ctx.job_id, wave=claimed, once=True)
    if not pushed:  # another run pushed it first
        return Decision(path="advance", outcome="idle")
    return Decision(path="advance", outcome="dispatched", wave=claimed)
