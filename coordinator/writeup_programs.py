"""The write-up's handlers, and our ``advance()``, as spec programs: the steps of ``coordinator/writeup.py``.

Each function is a generator in the spec language (``spec.lang``): it yields one statement, one
transaction boundary or one push at a time. They follow ``coordinator/handlers.py`` step for step, and
where the write-up is silent they read the same switches, through the ``Policy`` that
``policy_of(scope)`` builds from the spec's switches (``--policy`` is a preset of them, as for the
built-in).

One statement here is one effect there, except where an effect is a transaction of several statements
(``ClaimNextWave``, ``MarkPushed``, the fused push; ``coordinator/sql.py``): the spec language makes each
statement and each BEGIN/COMMIT a step of its own, so other runs may interleave inside them, as they do on
a real engine, where the built-in model takes the transaction as one step.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from coordinator.errors import ConfigError
from coordinator.handlers import Decision
from coordinator.policy import (
    SWITCHES,
    BatchWaveCheck,
    CatchupEntry,
    CompletionCheck,
    FinalWrite,
    NormalThreshold,
    Policy,
    ReconcileElse,
    policy_named,
    with_given,
)
from spec.errors import Unsupported
from spec.lang import Scope, begin, bulk, commit, keep, lease, push, record

__all__ = [
    "ACTIVE", "COMPLETED", "DISPATCHING", "LISTENERS_ON_IMPORT", "MAX_WAVE_SIZE", "PENDING", "PRESET", "PROCESSING",
    "SYNC_LISTENER_REFUSED", "advance", "check_and_trigger_next_wave", "finished_columns", "policy_of",
    "relay_lease", "threshold_count", "wave_coordination",
]

JOB_ID = 1
MAIN_LEVEL = -1  # dependency_level of main waves
PENDING, DISPATCHING, PROCESSING, COMPLETED = "pending", "dispatching", "processing", "completed"
ACTIVE = (DISPATCHING, PROCESSING)
#: a switch left at this value takes the chosen policy's (``--policy``) value
PRESET = "policy"
#: the most batches a wave may have (one ``finished_<k>`` column each): the write-up's waves of 50
#: (``config/waves.php``), so that its import simulates through this spec. Columns, not a second table of
#: finished batches: a batch's record stays one UPDATE and a wave's progress one SELECT, the built-in's
#: ``RecordBatchFinished`` and ``ReadWave``; the checker's scopes set the first few only, and columns past
#: the wave size stay 0 in every state, so its state count does not change
MAX_WAVE_SIZE = 50
#: the write-up's queued listener pushes BatchJobCompleted onto the import's one queue, where the batch
#: workers take it: a deployment that runs the spec as the write-up runs (simulation or live) moves the
#: listener and the auto-trigger's re-check there (``queue_of``)
LISTENERS_ON_IMPORT = (("batch_job_completed", "import"), ("trigger", "import"))
#: why a run of this spec refuses the write-up's sync listener
SYNC_LISTENER_REFUSED = "the spec's listener is a queued job: a sync listener would run inside the batch's worker"

metadata = sa.MetaData()

#: The write-up's columns for one import, and two of wavesim's: ``finished_<k>`` is batch ``k``'s job key
#: (``coordinator/sql.py`` keeps them in ``wave_batches``; here they sit in the wave's row, so that one
#: UPDATE records a batch and one SELECT reads a wave, as ``RecordBatchFinished`` and ``ReadWave`` do), and
#: ``pushes`` is the queue's record of a push (``dispatches``), which only the fused comparison reads.
#: ``claimed_at`` and ``claimed_by`` are the relay's lease (``dispatched_at`` there): the claim takes it, and
#: the relay reads a claim as abandoned once it has run out (``relay_lease``).
wave_coordination = sa.Table(
    "wave_coordination", metadata,
    sa.Column("wave_number", sa.Integer, primary_key=True),
    sa.Column("job_id", sa.Integer, nullable=False),
    sa.Column("dependency_level", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("total_batches", sa.Integer, nullable=False),
    sa.Column("completed_batches", sa.Integer, nullable=False),
    sa.Column("failed_batches", sa.Integer, nullable=False),
    *(sa.Column(f"finished_{k}", sa.Integer, nullable=False) for k in range(MAX_WAVE_SIZE)),
    sa.Column("pushes", sa.Integer, nullable=False),
    # MariaDB's DATETIME keeps whole seconds unless told otherwise: a lease may be shorter than one
    sa.Column("claimed_at", sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")),
    sa.Column("claimed_by", sa.Integer),
)
wc = wave_coordination.c


def _relay_lease_s(scope: Scope) -> float:
    return policy_of(scope).relay_lease_s


#: The relay's lease (``relay_lease_s``): a claim older than it is read as abandoned by a crashed claimer.
#: The checker reads it by the spec's switch ``lease_relay`` (``spec/lease.py``), as the built-in checker
#: reads ``--relay-lease``.
relay_lease = lease("relay", wc.claimed_at, owner=wc.claimed_by, seconds=_relay_lease_s)
FINISHED = tuple(wc[f"finished_{k}"] for k in range(MAX_WAVE_SIZE))


def _all_finished(size: int) -> Any:
    """Every batch of the wave finished: each of its ``size`` job keys is set (every wave has ``size`` batches;
    the model's SQL has no subquery to count ``wave_batches`` with, as ``coordinator/sql.py`` does)."""
    return sa.and_(*(FINISHED[k] == 1 for k in range(size)))


Program = Generator[Any, Any, Any]


# -- the switches -------------------------------------------------------------------------------------------

@lru_cache(maxsize=64)
def policy_of(scope: Scope) -> Policy:
    """The policy the scope's switches name: ``policy``'s preset with every switch not left at ``PRESET``.

    A switch the policy would not read is refused, as the built-in refuses it (``with_given``)."""
    given: dict[str, object] = {s.name: scope[s.name] for s in SWITCHES if s.name in scope and scope[s.name] != PRESET}
    try:
        return with_given(policy_named(str(scope["policy"])), given)
    except ConfigError as err:
        raise Unsupported(str(err)) from None


def size(scope: Scope, name: str) -> int:
    """A numeric scope entry (the scope parses each entry to its default's type)."""
    value = scope[name]
    if not isinstance(value, int):
        raise Unsupported(f"scope entry {name} must be a whole number, got {value!r}")
    return value


def threshold_count(scope: Scope) -> int:
    """The fewest finished batches that reach the threshold (``WaveConfig.threshold_count``)."""
    return -(-size(scope, "threshold") * size(scope, "wave_size") // 100)


def finished_columns(row: Any, size: int) -> int:
    """A wave's distinct finished batches: its ``finished_<k>`` columns that are set."""
    return sum(int(row[f"finished_{k}"]) for k in range(size))


def _main() -> Any:
    return (wc.job_id == JOB_ID) & (wc.dependency_level == MAIN_LEVEL)


def _this(wave: int) -> Any:
    return (wc.job_id == JOB_ID) & (wc.wave_number == wave)


# -- the write-up's checkAndTriggerNextWave() ----------------------------------------------------------------

@dataclass(frozen=True)
class Completion:
    """What ``checkWaveCompletion()`` reports about one wave that its callers read (its finished count is read
    by nothing)."""

    completed: bool
    at_threshold: bool


def check_and_trigger_next_wave(ctx: Any, batch_wave: int) -> Program:
    """``checkAndTriggerNextWave($jobId)``: every trigger runs it (``batch_wave``: the wave of the batch whose
    completion started the run, 0 for the auto-trigger and the reconciler). What it decides is read by
    nothing after it (the listener's result is dropped), so the run does not keep it."""
    pol = policy_of(ctx.scope)
    if pol.atomic_advance:
        yield from advance(ctx, pol)
        return
    when = pol.batch_wave_check if batch_wave else BatchWaveCheck.NONE
    if when is BatchWaveCheck.BEFORE_DECISION:
        yield from check_wave_completion(ctx, pol, batch_wave)
    _, checked = yield from db_reconcile(ctx, pol)
    if when is BatchWaveCheck.AFTER_DECISION and batch_wave != checked:  # unless DB-RECONCILE checked it
        yield from check_wave_completion(ctx, pol, batch_wave)


def db_reconcile(ctx: Any, pol: Policy) -> Program:
    """DB-RECONCILE (lines 1106-1169), with Fix #1's guards where the policy has them; then
    ``handleMainTypeWaveProgression``. Its decision, and the wave whose completion it checked (0: none)."""
    current = yield from current_wave(pol)
    checked = max(1, current)
    late = pol.reconcile_active_guard and pol.completion_check is CompletionCheck.AFTER_GUARD
    may = None if late else (yield from reconcile_condition(ctx, pol, current))
    next_pending = yield from lowest_pending()
    if next_pending is None:
        return Decision(path="db-reconcile", outcome="idle"), checked
    if pol.reconcile_active_guard and (yield from another_active(current)) is not None:  # Fix #1
        # (late: the guard returned before checkWaveCompletion ran)
        return Decision(path="db-reconcile", outcome="monitoring"), 0 if late else checked
    if may is None:
        may = yield from reconcile_condition(ctx, pol, current)
    reconcile, at_threshold = may
    if reconcile:
        yield from dispatch_wave(ctx, pol, next_pending)
        return Decision(path="db-reconcile", outcome="dispatched", wave=next_pending), checked
    if pol.reconcile_threshold_guard or pol.reconcile_else is ReconcileElse.RETURN_MONITORING:
        return Decision(path="db-reconcile", outcome="monitoring"), checked  # Fix #1's else
    return (yield from handle_main_type_wave_progression(ctx, pol, current, at_threshold)), checked


def reconcile_condition(ctx: Any, pol: Policy, current: int) -> Program:
    """``checkWaveCompletion()`` of the current wave, and DB-RECONCILE's condition on it, computed here from
    values read already (the PHP tests it further down): ``completed || current == 0``, with Fix #1 also
    at the threshold. What the run keeps of the current wave's row is then that bit and, where it is false
    and ``handleMainTypeWaveProgression`` reads it, whether the wave is at its threshold."""
    completion = yield from check_wave_completion(ctx, pol, max(1, current))
    reconcile = completion.completed or current == 0
    if pol.reconcile_threshold_guard:  # Fix #1: at the threshold too, else monitoring
        return reconcile or completion.at_threshold, False
    read = pol.reconcile_else is ReconcileElse.FALL_THROUGH and (
        pol.normal_threshold is NormalThreshold.CHECKED or pol.catchup_threshold_guard)
    return reconcile, completion.at_threshold and not reconcile and read


def handle_main_type_wave_progression(ctx: Any, pol: Policy, current: int, at_threshold: bool) -> Program:
    """``handleMainTypeWaveProgression()``: normal progression (lines 1888-1910), else CATCH-UP (1926-1992).
    ``at_threshold``: the current wave's, from ``checkWaveCompletion()``."""
    successor = (yield sa.select(wc.wave_number).where(
        _main(), wc.wave_number == current + 1, wc.status == PENDING,
    ).order_by(wc.wave_number).limit(1)).scalar()  # $nextMainWave
    if successor is not None:
        if pol.normal_threshold is NormalThreshold.CHECKED and not at_threshold:
            return Decision(path="normal", outcome="monitoring")
        if pol.normal_active_guard and (yield from another_active(current)) is not None:  # Fix #2
            return Decision(path="normal", outcome="monitoring")
        yield from dispatch_wave(ctx, pol, successor)
        return Decision(path="normal", outcome="dispatched", wave=successor)
    lowest = yield from lowest_pending()  # CATCH-UP: the successor already left 'pending'
    if lowest is None:
        return Decision(path="catch-up", outcome="idle")
    if pol.catchup_entry is CatchupEntry.STALLED and (yield from another_active(None)) is not None:
        return Decision(path="normal", outcome="monitoring")  # not a stall: CATCH-UP is not entered
    if pol.catchup_active_guard and (yield from another_active(None)) is not None:  # Fix #3
        return Decision(path="catch-up", outcome="monitoring")
    if pol.catchup_threshold_guard and not at_threshold:  # Guard #2
        return Decision(path="catch-up", outcome="monitoring")
    yield from dispatch_wave(ctx, pol, lowest)
    return Decision(path="catch-up", outcome="dispatched", wave=lowest)


def current_wave(pol: Policy) -> Program:
    """``$currentWave`` by ``current_wave_rule``. One SELECT: the COALESCE of subqueries that
    ``coordinator/sql.py`` sends is outside the model's SQL, so the program reads every main wave's status
    and keeps only the number (``keep``)."""
    return (yield keep(sa.select(wc.wave_number, wc.status).where(_main()).order_by(wc.wave_number),
                       _RULES[pol.current_wave_rule.value]))


def _lowest_active(result: Any) -> int:
    active = [n for n, status in result.rows if status in ACTIVE]
    completed = [n for n, status in result.rows if status == COMPLETED]
    return min(active) if active else max(completed) if completed else 0


def _completed_else_active(result: Any) -> int:
    completed = [n for n, status in result.rows if status == COMPLETED]
    active = [n for n, status in result.rows if status in ACTIVE]
    return max(completed) if completed else min(active) if active else 0


def _highest(*statuses: str) -> Any:
    def rule(result: Any) -> int:
        return max((n for n, status in result.rows if status in statuses), default=0)
    return rule


_RULES = {
    "lowest-active": _lowest_active,
    "completed-else-active": _completed_else_active,
    "highest-not-pending": _highest(DISPATCHING, PROCESSING, COMPLETED),
    "highest-completed": _highest(COMPLETED),
    "latest-started": _highest(PROCESSING, COMPLETED),
}


def lowest_pending() -> Program:
    return (yield sa.select(wc.wave_number).where(_main(), wc.status == PENDING)
            .order_by(wc.wave_number).limit(1)).scalar()


def another_active(exclude: int | None) -> Program:
    """The guards' query: is a wave (other than ``exclude``) dispatching or processing? (``->value()``: any
    one; only tested for null.)"""
    where = [wc.job_id == JOB_ID, wc.status.in_(ACTIVE)]
    if exclude is not None:
        where.append(wc.wave_number != exclude)
    return (yield sa.select(wc.wave_number).where(*where).order_by(wc.wave_number).limit(1)).scalar()


def _progress(counted: bool) -> Any:
    def read(result: Any) -> tuple[str, int, int]:
        row = result.mappings()[0]
        total = int(row["total_batches"])
        done = row["completed_batches"] + row["failed_batches"] if counted else finished_columns(row, total)
        return row["status"], total, min(int(done), total)  # compared with the total and the threshold only
    return read


_COUNTED, _DISTINCT = _progress(True), _progress(False)


def _wave_progress(size: int) -> Any:
    """``ReadWave``'s columns: the status, the counters and the wave's own ``size`` job keys (not the
    columns past it, which stay 0)."""
    return sa.select(wc.status, wc.total_batches, wc.completed_batches, wc.failed_batches, *FINISHED[:size])


def check_wave_completion(ctx: Any, pol: Policy, wave: int) -> Program:
    """``checkWaveCompletion()``: the wave's progress (counters, or distinct batches); mark it completed when
    every batch finished, and with the auto-trigger queue the delayed re-check."""
    status, total, finished = yield keep(_wave_progress(size(ctx.scope, "wave_size")).where(_this(wave)),
                                         _DISTINCT if pol.distinct_progress else _COUNTED)
    completed = finished >= total
    if completed and status != COMPLETED:
        yield sa.update(wave_coordination).where(_this(wave)).values(status=COMPLETED)
        if pol.auto_trigger:  # the write-up's additional fix: a re-check 2 s later
            yield push("auto_trigger", delay=2.0)
    return Completion(completed=completed,
                      at_threshold=finished >= min(threshold_count(ctx.scope), total))


def dispatch_wave(ctx: Any, pol: Policy, wave: int) -> Program:
    """``dispatchWave()``: mark it dispatching, push its batch jobs, mark it processing."""
    changed = (yield sa.update(wave_coordination).where(_this(wave)).values(status=DISPATCHING)).rowcount
    if changed == 1:  # the PHP reads no row count: a write that changed the row tells this run it owns the wave
        yield record("claimed", wave)
    yield push_batches(ctx, wave)
    yield record("pushed", wave)
    final = sa.update(wave_coordination).where(_this(wave))
    if pol.final_write is FinalWrite.CONDITIONAL:
        final = final.where(wc.status == DISPATCHING)
    yield final.values(status=PROCESSING)


def push_batches(ctx: Any, wave: int) -> Any:
    """``Bus::batch($jobs)->dispatch()``: the wave's batch jobs, one queue operation. The last payload entry
    is the wave their BatchJobCompleted carries: the wave where the policy reads it (``batch_wave_check``),
    else 0, so that events no handler tells apart are alike (as in the built-in model)."""
    tag = wave if policy_of(ctx.scope).reads_batch_wave else 0
    return bulk(*(push("batch", wave, b, tag) for b in range(int(ctx.scope.wave_size))))


# -- ours: advance() -----------------------------------------------------------------------------------------

def advance(ctx: Any, pol: Policy) -> Program:
    """``advance()`` (``coordinator/handlers.py``): complete finished waves, relay a claimed wave or claim
    the next, push it, mark it pushed; after a mark that completed the wave, claim once more."""
    yield sa.update(wave_coordination).where(  # CompleteFinishedWaves: one conditional UPDATE
        _main(), wc.status == PROCESSING, _all_finished(int(ctx.scope.wave_size)),
    ).values(status=COMPLETED)
    if pol.fused_push:
        return (yield from _advance_fused(ctx, pol))
    path = "relay"
    wave = (yield sa.select(wc.wave_number).where(  # ReadClaimedWave: a claim whose lease has run out
        _main(), wc.status == DISPATCHING, relay_lease.expired(ctx.scope)).order_by(wc.wave_number).limit(1)).scalar()
    if wave is None:
        path = "advance"
        wave = yield from claim_next(ctx, pol)
        if wave is None:
            return Decision(path="advance", outcome="idle")
    while True:
        yield push_batches(ctx, wave)
        yield record("pushed", wave)
        changed = yield from mark_pushed(ctx, wave)
        if changed != 2:
            return Decision(path=path, outcome="dispatched", wave=wave)
        successor = yield from claim_next(ctx, pol)
        if successor is None:
            return Decision(path=path, outcome="dispatched", wave=wave)
        path, wave = "advance", successor


def _claimable(need: int, max_active: int | None, reclaim: bool) -> Any:
    def pick(result: Any) -> tuple[str, int] | None:
        rows = result.mappings()
        if reclaim:
            for r in rows:
                if r["status"] == DISPATCHING and r["pushes"] == 0:
                    return ("unpushed", int(r["wave_number"]))
        active = [r for r in rows if r["status"] in ACTIVE]
        if any(finished_columns(r, r["total_batches"]) < min(need, r["total_batches"]) for r in active):
            return None
        if max_active is not None and len(active) >= max_active:
            return None
        pending = [int(r["wave_number"]) for r in rows if r["status"] == PENDING]
        return ("pending", pending[0]) if pending else None
    return pick


@lru_cache(maxsize=64)
def _picker(need: int, max_active: int | None, reclaim: bool) -> Any:
    return _claimable(need, max_active, reclaim)  # one function per setting: a keep's function is its identity


def claim_next(ctx: Any, pol: Policy) -> Program:
    """``ClaimNextWave``: one transaction. Lock the import's rows (reading the columns the predicate reads,
    its wave's ``finished_<k>`` only), read the predicate (no active wave below
    the threshold, fewer than ``max_waves_in_flight`` active), claim the lowest pending wave with a
    conditional UPDATE; the run owns it only when that changed the row."""
    yield begin()
    read = (wc.wave_number, wc.status, wc.total_batches, wc.pushes, *FINISHED[:size(ctx.scope, "wave_size")])
    picked = yield keep(sa.select(*read).where(_main()).order_by(wc.wave_number).with_for_update(),
                        _picker(threshold_count(ctx.scope), pol.max_waves_in_flight, pol.fused_push))
    if picked is None:
        yield commit()
        return None
    kind, wave = picked
    if kind == "unpushed":  # the fused comparison only: a claimed wave never pushed is handed out again
        yield commit()
        return wave
    changed = (yield sa.update(wave_coordination).where(_this(wave), wc.status == PENDING)
               .values(status=DISPATCHING, **relay_lease.taken())).rowcount
    yield commit()
    if changed != 1:
        return None
    yield record("claimed", wave)
    return wave


def mark_pushed(ctx: Any, wave: int) -> Program:
    """``MarkPushed``: one transaction, ``dispatching -> processing`` and, when every batch already finished,
    ``-> completed``; the rows the two changed."""
    yield begin()
    marked = (yield sa.update(wave_coordination).where(_this(wave), wc.status == DISPATCHING)
              .values(status=PROCESSING)).rowcount
    done = 0
    if marked:
        done = (yield sa.update(wave_coordination).where(
            _this(wave), wc.status == PROCESSING, _all_finished(int(ctx.scope.wave_size)),
        ).values(status=COMPLETED)).rowcount
    yield commit()
    return marked + done


def _advance_fused(ctx: Any, pol: Policy) -> Program:
    """The unbuildable comparison: a claim that re-hands an unpushed wave, then the push and its mark under
    one lock (a queue push inside a DB transaction)."""
    wave = yield from claim_next(ctx, pol)
    if wave is None:
        return Decision(path="advance", outcome="idle")
    yield begin()
    status, pushes = (yield sa.select(wc.status, wc.pushes).where(_this(wave)).with_for_update()).one()
    if pushes > 0 or status != DISPATCHING:  # another run pushed it first
        yield commit()
        return Decision(path="advance", outcome="idle")
    yield push_batches(ctx, wave)
    yield record("pushed", wave)
    yield sa.update(wave_coordination).where(_this(wave)).values(status=PROCESSING, pushes=1)
    yield commit()
    return Decision(path="advance", outcome="dispatched", wave=wave)
