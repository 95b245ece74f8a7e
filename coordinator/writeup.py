"""The write-up's wave coordinator as one spec: every policy, every switch, every property.

Run it with ``wavesim check coordinator/writeup.py --policy atomic --scope waves=3``. It is the built-in
model (``wavesim check --policy NAME``) written in the spec language: ``--policy`` (or ``--switch
policy=NAME``) picks a preset of the switches, as for the built-in, and ``--switch NAME=VALUE`` changes one
of them (``coordinator.policy.SWITCHES``, docs/readings.md); a switch the policy would not read is refused,
exit 2, with the built-in's line. ``benchmarks/bench_onecore.py`` compares the two checkers cell by cell.

The import has created every wave and dispatched wave 1: its row is ``processing`` and its batch jobs are
queued (the built-in model's first state). A batch job records itself in one UPDATE and its success fires
``BatchJobCompleted``, whose queued listener runs ``checkAndTriggerNextWave()`` on one of ``handlers``
listener workers: the write-up's handler (``coordinator/writeup_programs.py``, step for step as
``coordinator/handlers.py``), or under ``atomic`` our ``advance()``.

Steps, against the built-in model's: ``worker_take`` is a ``take`` of a batch job, ``batch_finish`` the
batch job's one UPDATE (its ack and its listener's push come with it), ``listener_start`` a ``take`` of the
listener job, each ``handler_step`` one statement or one push (a transaction is several steps here, one
there), and a run's last step ends it. The auto-trigger (``seed-fix``) is a delayed push: the push is a
step, the delay running out (``trigger_fire``) is the ``take`` of the delayed job, which queues the re-check
on the listeners' queue. The reconciler (``atomic``) is a periodic task: one scheduler job that queues
itself again when its run ends, so a tick (``reconciler_tick``) is its ``take``.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from coordinator.policy import POLICIES, SWITCHES
from coordinator.writeup_programs import (
    ACTIVE,
    COMPLETED,
    JOB_ID,
    MAIN_LEVEL,
    MAX_WAVE_SIZE,
    PENDING,
    PRESET,
    PROCESSING,
    _this,
    check_and_trigger_next_wave,
    finished_columns,
    metadata,
    policy_of,
    relay_lease,
    size,
    threshold_count,
    wave_coordination,
    wc,
)
from spec.errors import Unsupported
from spec.lang import Ctx, Scope, Spec, push
from spec.view import max_in_window

spec = Spec(
    "writeup", metadata,
    scope={"waves": 2, "wave_size": 2, "threshold": 50, "workers": 2, "handlers": 2},
    queues={"import": "workers", "listeners": "handlers", "delay": 1, "scheduler": 1},
    order="fifo",
    doc=__doc__ or "",
)

spec.switch("policy", tuple(POLICIES), "guarded",
            "the preset of every other switch (--policy NAME): original, the write-up's fixes (guarded), "
            "with its auto-trigger (seed-fix), or ours (atomic); guarded by default, the write-up's own fix")

#: numeric switches: the model has no clock, so any period reads the same; these are the values it takes
#: (the relay's lease, ``relay_lease_s``, is read by the switch ``lease_relay`` below: ``expired`` by default,
#: as the built-in's ``--relay-lease expired``; a lease of 0 s has always run out)
_NUMBERS = {"reconciler_period_s": ("none", "5"), "max_waves_in_flight": ("none", "1", "2", "3", "4", "5", "6"),
            "relay_lease_s": ("0", "10")}
for _s in SWITCHES:
    spec.switch(_s.name, (PRESET, *_NUMBERS.get(_s.name, _s.values)), PRESET,
                f"{_s.changes} ({_s.kind}; reads {_s.lines}); default: the policy's ({_s.default} unless the "
                "policy sets it)")

spec.declare_lease(relay_lease)


@spec.rows
def rows(scope: Scope) -> dict[str, list[dict[str, Any]]]:
    pol = policy_of(scope)  # refuses a switch the chosen policy would not read
    if scope[relay_lease.switch] != "expired" and (not pol.atomic_advance or pol.fused_push):
        raise Unsupported(f"--switch {relay_lease.switch}={scope[relay_lease.switch]} is read only by advance()'s "
                          f"relay, which policy {pol.name} has not")
    if not 1 <= size(scope, "wave_size") <= MAX_WAVE_SIZE:
        raise Unsupported(f"wave_size must be from 1 to {MAX_WAVE_SIZE}, got {scope.wave_size}")
    return {"wave_coordination": [
        {"wave_number": n, "job_id": JOB_ID, "dependency_level": MAIN_LEVEL,
         "status": PROCESSING if n == 1 else PENDING, "total_batches": scope.wave_size,
         "completed_batches": 0, "failed_batches": 0, **{f"finished_{k}": 0 for k in range(MAX_WAVE_SIZE)},
         "pushes": 1 if n == 1 else 0}
        for n in range(1, size(scope, "waves") + 1)
    ]}


@spec.start
def start(scope: Scope) -> list[tuple[Any, ...]]:
    tag = 1 if policy_of(scope).reads_batch_wave else 0
    return [("batch", 1, b, tag) for b in range(size(scope, "wave_size"))]


Program = Generator[Any, Any, Any]


# -- the batch job ----------------------------------------------------------------------------------------

def batch_failed(ctx: Ctx, wave: int, number: int, tag: int) -> Program:
    """A batch job that failed for good (the ``throw`` fault): its wave's failed counter goes up, and under
    ``failed_batch_fires`` BatchJobCompleted fires all the same."""
    yield _recorded(ctx, wave, number, "failed_batches")
    if policy_of(ctx.scope).failed_batch_fires:
        yield push("batch_job_completed", tag)


@spec.job("batch", queue="import", ack="with_last_step", listeners=("batch_job_completed",),
          event=lambda wave, number, tag: (tag,), on_failure=batch_failed)
def batch(ctx: Ctx, wave: int, number: int, tag: int) -> Program:
    """A batch job's end: its wave's counter goes up (Laravel's batch counters) and its job key is set, in
    one UPDATE; BatchJobCompleted($wave) fires (``tag``: its wave, where the policy reads it)."""
    yield _recorded(ctx, wave, number, "completed_batches")


def _recorded(ctx: Ctx, wave: int, number: int, counter: str) -> Any:
    """The batch's one UPDATE. Under ``distinct_progress`` no reader reads the counter, so it is left out:
    it would only tell apart states no handler can."""
    values: dict[str, Any] = {f"finished_{number}": 1}
    if not policy_of(ctx.scope).distinct_progress:
        values[counter] = wc[counter] + 1
    return wave_coordination.update().where(_this(wave)).values(values)


# A wave's counters are read only by checkWaveCompletion (through _progress, up to the total) and only ever go
# up: past the wave's size no reader tells them apart (the built-in checker's counter abstraction). Under
# distinct_progress they are not written at all.
spec.saturates(wc.completed_batches, at="wave_size",
               why="checkWaveCompletion compares completed + failed with total_batches (the wave size) and the "
                   "threshold count (at most the size), and reads the counters through _progress, which keeps "
                   "their sum only up to the total")
spec.saturates(wc.failed_batches, at="wave_size",
               why="read only with completed_batches, through _progress, which keeps their sum only up to the "
                   "total (the wave size)")


# -- the handler's triggers -------------------------------------------------------------------------------

@spec.job("batch_job_completed", queue="listeners", ack="with_last_step")
def batch_job_completed(ctx: Ctx, wave: int) -> Program:
    """The queued listener of BatchJobCompleted: ``checkAndTriggerNextWave($jobId)``."""
    yield from check_and_trigger_next_wave(ctx, wave)


@spec.job("auto_trigger", queue="delay", ack="with_last_step", listeners=("trigger",), event=lambda: ())
def auto_trigger(ctx: Ctx) -> Program:
    """The auto-trigger's delayed job (``->delay(2 s)``): its delay runs out when it is taken, and the
    re-check joins the listeners' queue."""
    return
    yield


@spec.job("trigger", queue="listeners", ack="with_last_step")
def trigger(ctx: Ctx) -> Program:
    """The auto-trigger's re-check: ``checkAndTriggerNextWave($jobId)``, with no batch of its own."""
    yield from check_and_trigger_next_wave(ctx, 0)


@spec.job("reconciler", queue="scheduler", ack="with_last_step")
def reconciler(ctx: Ctx) -> Program:
    """Ours (``reconciler_period_s``): the scheduler's periodic run of the handler, off the listeners' queue."""
    yield from check_and_trigger_next_wave(ctx, 0)


# A scheduler starts the next tick whether the last one succeeded or failed (a deadlock victim's run does not
# end the schedule); at most one runs at a time, as the built-in checker's own reconciler slot has it.
def _period(scope: Scope) -> float | None:
    return policy_of(scope).reconciler_period_s


spec.every("reconciler", seconds=_period, when=lambda scope: _period(scope) is not None)


# -- properties (coordinator/properties.py; progress is distinct finished batches) ----------------------------

def finished(view: Any, wave: int) -> int:
    """Distinct finished batches of ``wave`` (its job keys)."""
    return finished_columns(view.rows("wave_coordination")[wave - 1], size(view.scope, "wave_size"))


def started(view: Any, event: str, wave: int) -> int:
    """How often ``event`` happened to ``wave``; the import's own dispatch of wave 1 counts once."""
    count: int = view.count(event, wave)
    return count + (1 if wave == 1 else 0)


def need(view: Any) -> int:
    return min(threshold_count(view.scope), size(view.scope, "wave_size"))


def active_waves(view: Any) -> list[dict[str, Any]]:
    return [r for r in view.rows("wave_coordination") if r["status"] in ACTIVE]


# The properties read the ghost counts only as "more than once" (a wave claimed or pushed twice, the import's
# own dispatch of wave 1 counting once): past 2 no reader tells them apart (the built-in saturates pushes
# and claims at 2).
spec.saturates("claimed", at=2, why="no_duplicate_claim compares the claims of a wave (plus the import's) with 1")
spec.saturates("pushed", at=2, why="no_duplicate_push compares the pushes of a wave (plus the import's) with 1")


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
    bound = size(view.scope, "wave_size") + size(view.scope, "wave_size") - need(view)
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


# -- metrics (the write-up's figures, measured by the simulation and by live runs alike) --------------------

def dispatch_times(view: Any) -> dict[int, list[float]]:
    """Each dispatched wave's pushes, in the run's seconds: its ``pushed`` records, and wave 1's dispatch by the
    import at 0 s (the spec's first state)."""
    out = {1: [0.0]}
    for wave in range(1, size(view.scope, "waves") + 1):
        times = sorted(view.times("pushed", wave))
        if times:
            out.setdefault(wave, []).extend(times)
    return out


@spec.metric("max_waves_first_dispatched_in_1s")
def max_waves_first_dispatched_in_1s(view: Any) -> int:
    """The most waves first dispatched within one second (the incident: 30)."""
    return max_in_window([ts[0] for ts in dispatch_times(view).values()], 1.0)


@spec.metric("max_dispatch_events_in_1s")
def max_dispatch_events_in_1s(view: Any) -> int:
    """The most pushes of waves within one second, a wave's repeats included."""
    return max_in_window([t for ts in dispatch_times(view).values() for t in ts], 1.0)


@spec.metric("extra_dispatches")
def extra_dispatches(view: Any) -> int:
    """Pushes beyond the first of each wave."""
    return sum(len(ts) - 1 for ts in dispatch_times(view).values())


@spec.metric("waves_dispatched_more_than_once")
def waves_dispatched_more_than_once(view: Any) -> int:
    return sum(1 for ts in dispatch_times(view).values() if len(ts) > 1)
