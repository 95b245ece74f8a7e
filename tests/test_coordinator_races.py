"""Races between handler runs, the burst and the stall, in miniature.

Config: four batches a wave, threshold 75 % (three batches); batch 3 of a wave
is its straggler. Interleavings are written out by hand with ``run_interleaved``:
each entry of ``order`` runs one DB operation of the named handler.
"""

from __future__ import annotations

import pytest
from coordinator_builders import (
    COMPLETED,
    CONFIG,
    DISPATCHING,
    JOB,
    LOWEST,
    NOW,
    PENDING,
    PROCESSING,
    active,
    ctx,
    current,
    dispatch,
    enqueue,
    next_main,
    push,
    read,
    set_status,
    steps,
    table,
    wave,
)

from coordinator import (
    ClaimNextWave,
    CompleteFinishedWaves,
    Decision,
    LifecycleViolation,
    MarkPushed,
    ReadClaimedWave,
    ScheduleTrigger,
    Step,
    check_and_trigger_next_wave,
    finish_batch,
    policy_named,
    run_interleaved,
    run_sequential,
)
from coordinator.properties import (
    import_completes,
    no_duplicate_claim,
    no_duplicate_push,
    no_stall,
    one_wave_below_threshold,
    single_active_wave,
    threshold_respected,
)

CLAIM = ClaimNextWave(job_id=JOB, threshold_count=3, max_active=2)
COMPLETE = CompleteFinishedWaves(job_id=JOB)
RELAY = ReadClaimedWave(job_id=JOB, lease_s=10.0)
#: atomic whose relay lease has run out: the claimer might be dead
EXPIRED = policy_named("atomic").with_switches(relay_lease_s=0.0)
#: today's fused step, kept only as an (unbuildable) comparison
FUSED = policy_named("atomic").with_switches(fused_push=True)


def mark(n):
    return MarkPushed(job_id=JOB, wave=n)
TRIGGER = ScheduleTrigger(job_id=JOB, delay_s=2.0)
#: wave 1 has just crossed its threshold; its straggler (batch 3) is still running
AT_THRESHOLD = table(wave(1, PROCESSING, done=3), wave(2), wave(3))


def two_handlers(policy):
    if policy in ("fused", "expired"):
        chosen = FUSED if policy == "fused" else EXPIRED
        return {"a": check_and_trigger_next_wave(ctx(chosen)), "b": check_and_trigger_next_wave(ctx(chosen))}
    return {"a": check_and_trigger_next_wave(ctx(policy)), "b": check_and_trigger_next_wave(ctx(policy))}


def handle(t, policy, *, now=NOW):
    return run_sequential(t, check_and_trigger_next_wave(ctx(policy)), now=now)


def finish(t, n, batch):
    return run_sequential(t, finish_batch(JOB, n, batch), now=NOW).table


def every_interleaving(t0, policy):
    """Every complete interleaving of two handler runs from ``t0`` (each replayed from the start)."""
    found = []

    def extend(order):
        run = run_interleaved(t0, two_handlers(policy), order, now=NOW)
        if not run.unfinished:
            found.append(run)
        for name in run.unfinished:
            extend([*order, name])

    extend([])
    return found


# --- two handlers under the guards ------------------------------------------------------------------------------

GUARDS_PASSED = [(current(), 1), (read(1), AT_THRESHOLD.row(1)), (LOWEST, 2), (active(1), None)]


def test_guarded_two_handlers_pass_the_guards_and_dispatch_wave_2_twice():
    """Both handlers read 'no other wave active' before either writes: check-then-act.

    Their two ``dispatching`` writes and two ``processing`` writes race; the
    second of each leaves the lifecycle and is recorded, and the batches of
    wave 2 are pushed twice.
    """
    order = ["a"] * 4 + ["b"] * 4 + ["a", "b"] * 3
    run = run_interleaved(AT_THRESHOLD, two_handlers("guarded"), order, now=NOW)
    assert run.steps == (
        steps(*GUARDS_PASSED, handler="a")
        + steps(*GUARDS_PASSED, handler="b")
        + tuple(
            Step(handler=h, effect=effect, result=result)
            for effect, result in dispatch(2)
            for h in ("a", "b")
        )
    )
    assert run.results == {
        "a": Decision(path="db-reconcile", outcome="dispatched", wave=2),
        "b": Decision(path="db-reconcile", outcome="dispatched", wave=2),
    }
    assert run.table == table(
        wave(1, PROCESSING, done=3),
        wave(2, PROCESSING, dispatches=2, dispatched_at=NOW),
        wave(3),
        violations=[
            LifecycleViolation(wave=2, old=DISPATCHING, new=DISPATCHING, at=NOW),
            LifecycleViolation(wave=2, old=PROCESSING, new=PROCESSING, at=NOW),
        ],
    )
    assert no_duplicate_push(run.table) == "1 wave(s) dispatched more than once: wave 2 x2"
    assert one_wave_below_threshold(run.table, CONFIG) is None
    assert threshold_respected(AT_THRESHOLD, run.table, CONFIG) is None


def test_guarded_late_dispatch_writes_processing_back_to_dispatching():
    order = ["a"] * 4 + ["b"] * 4 + ["a"] * 3 + ["b"] * 3
    run = run_interleaved(AT_THRESHOLD, two_handlers("guarded"), order, now=NOW)
    assert run.steps == (
        steps(*GUARDS_PASSED, handler="a") + steps(*GUARDS_PASSED, handler="b")
        + steps(*dispatch(2), handler="a") + steps(*dispatch(2), handler="b")
    )
    assert run.table == table(
        wave(1, PROCESSING, done=3),
        wave(2, PROCESSING, dispatches=2, dispatched_at=NOW),
        wave(3),
        violations=[LifecycleViolation(wave=2, old=PROCESSING, new=DISPATCHING, at=NOW)],
    )


def test_atomic_same_interleaving_claims_once_and_an_expired_relay_pushes_again():
    """The same shape under ``atomic`` once the relay lease has run out: ``a``
    claims wave 2 (one compare-and-set), then ``b``'s relay finds it claimed and
    not yet marked pushed, which is all a database can know of a claimer that
    died, so it pushes it too. Claimed once, pushed twice: the at-least-once
    half of the split property."""
    order = ["a", "a", "a", "b", "b", "a", "b", "a", "b"]
    run = run_interleaved(AT_THRESHOLD, two_handlers("expired"), order, now=NOW)
    relay = ReadClaimedWave(job_id=JOB, lease_s=0.0)
    assert run.steps == (
        steps((COMPLETE, ()), (relay, None), (CLAIM, 2), handler="a")
        + steps((COMPLETE, ()), (relay, 2), handler="b")
        + steps((enqueue(2), 1), handler="a") + steps((enqueue(2), 1), handler="b")
        + steps((mark(2), 1), handler="a") + steps((mark(2), 0), handler="b")
    )
    assert run.results == {
        "a": Decision(path="advance", outcome="dispatched", wave=2),
        "b": Decision(path="relay", outcome="dispatched", wave=2),
    }
    assert run.table == table(
        wave(1, PROCESSING, done=3), wave(2, PROCESSING, dispatches=2, claims=1, dispatched_at=NOW), wave(3),
    )
    assert no_duplicate_claim(run.table) is None
    assert no_duplicate_push(run.table) == "1 wave(s) dispatched more than once: wave 2 x2"
    assert one_wave_below_threshold(run.table, CONFIG) is None


def test_fused_same_interleaving_pushes_once_by_definition():
    """The unbuildable comparison (``fused_push``): ``b``'s claim hands out the
    same claimed, unpushed wave, and the fused push-and-mark refuses it."""
    order = ["a", "a", "b", "b", "a", "b"]
    run = run_interleaved(AT_THRESHOLD, two_handlers("fused"), order, now=NOW)
    claim = ClaimNextWave(job_id=JOB, threshold_count=3, max_active=2, reclaim_unpushed=True)
    assert run.steps == (
        steps((COMPLETE, ()), (claim, 2), handler="a")
        + steps((COMPLETE, ()), (claim, 2), handler="b")
        + steps((push(2), 1), handler="a")
        + steps((push(2), 0), handler="b")
    )
    assert run.results == {
        "a": Decision(path="advance", outcome="dispatched", wave=2),
        "b": Decision(path="advance", outcome="idle"),
    }
    assert run.table == table(wave(1, PROCESSING, done=3), wave(2, PROCESSING, dispatched_at=NOW), wave(3))
    assert no_duplicate_push(run.table) is None
    assert one_wave_below_threshold(run.table, CONFIG) is None


def test_every_interleaving_of_two_guarded_handlers():
    """Exhaustively: two guarded handlers may dispatch wave 2 twice, but never
    make two waves below threshold active. A handler reads the lowest pending
    wave *before* its active guard and excludes only its own current wave, so a
    handler that sees wave 3 as lowest pending also sees wave 2 active."""
    runs = every_interleaving(AT_THRESHOLD, "guarded")
    assert {r.table.row(2).dispatch_count for r in runs} == {1, 2}
    assert {r.table.row(3).status for r in runs} == {wave(3).status}
    assert {one_wave_below_threshold(r.table, CONFIG) for r in runs} == {None}


def test_every_interleaving_of_two_atomic_handlers_claims_wave_2_once():
    """Within the lease a live claimer is left alone: pushed once; past it, maybe twice."""
    runs = every_interleaving(AT_THRESHOLD, "atomic")
    assert {r.table.row(2).owners_told for r in runs} == {1}
    assert {r.table.row(2).dispatch_count for r in runs} == {1}
    expired = every_interleaving(AT_THRESHOLD, "expired")
    assert {r.table.row(2).owners_told for r in expired} == {1}
    assert {r.table.row(2).dispatch_count for r in expired} == {1, 2}
    assert {r.table.row(2).status for r in runs} == {PROCESSING}
    assert {r.table.row(3).status for r in runs} == {PENDING}


def test_every_interleaving_of_two_fused_handlers_dispatches_wave_2_once():
    runs = every_interleaving(AT_THRESHOLD, "fused")
    once = table(wave(1, PROCESSING, done=3), wave(2, PROCESSING, dispatched_at=NOW), wave(3))
    assert {r.table for r in runs} == {once}
    assert {tuple(sorted(d.outcome for d in r.results.values())) for r in runs} == {("dispatched", "idle")}


def test_seed_fix_two_handlers_complete_the_same_wave_and_queue_two_auto_triggers():
    t0 = table(wave(1, PROCESSING, done=4), wave(2), wave(3))
    order = ["a", "a", "b", "b", "a", "a", "b", "b"]
    run = run_interleaved(t0, two_handlers("seed-fix"), order, now=NOW)
    assert run.steps == (
        steps((current(), 1), (read(1), t0.row(1)), handler="a")
        + steps((current(), 1), (read(1), t0.row(1)), handler="b")
        + steps((set_status(1, COMPLETED), 1), (TRIGGER, None), handler="a")
        + steps((set_status(1, COMPLETED), 1), (TRIGGER, None), handler="b")
    )
    assert run.unfinished == ("a", "b")
    assert run.table == table(
        wave(1, COMPLETED, done=4, completed_at=NOW), wave(2), wave(3),
        violations=[LifecycleViolation(wave=1, old=COMPLETED, new=COMPLETED, at=NOW)],
    )


# --- the burst in miniature -------------------------------------------------------------------------------------

BURST_START = table(wave(1, PROCESSING, done=3), wave(2), wave(3), wave(4), wave(5), wave(6))


def burst(policy, runs=4):
    t, decisions, all_steps = BURST_START, [], []
    for _ in range(runs):
        run = handle(t, policy)
        t = run.table
        decisions.append(run.results["h"])
        all_steps.append(run.steps)
    return t, decisions, all_steps


def test_original_every_handler_after_the_threshold_dispatches_one_more_wave():
    t, decisions, all_steps = burst("original")
    row1 = BURST_START.row(1)
    assert all_steps[0] == steps((current(), 1), (read(1), row1), (LOWEST, 2), (next_main(1), 2), *dispatch(2))
    for k, taken in enumerate(all_steps[1:], start=3):
        assert taken == steps(
            (current(), 1), (read(1), row1), (LOWEST, k), (next_main(1), None), (LOWEST, k), *dispatch(k)
        )
    assert decisions == [
        Decision(path="normal", outcome="dispatched", wave=2),
        Decision(path="catch-up", outcome="dispatched", wave=3),
        Decision(path="catch-up", outcome="dispatched", wave=4),
        Decision(path="catch-up", outcome="dispatched", wave=5),
    ]
    assert t == table(
        wave(1, PROCESSING, done=3), *(wave(n, PROCESSING, dispatched_at=NOW) for n in (2, 3, 4, 5)), wave(6)
    )
    assert single_active_wave(t) == "5 waves active at once: 1, 2, 3, 4, 5"
    assert one_wave_below_threshold(t, CONFIG) == "4 active waves below 75%: 2, 3, 4, 5"


def test_original_catchup_dispatch_breaks_the_threshold():
    after_first = handle(BURST_START, "original").table
    after_second = handle(after_first, "original").table
    assert threshold_respected(after_first, after_second, CONFIG) == (
        "wave 3 dispatched while wave 2 had 0/4 batches finished (needs 3)"
    )


@pytest.mark.parametrize(
    ("policy", "first", "then"),
    [
        ("guarded", Decision(path="db-reconcile", outcome="dispatched", wave=2),
         Decision(path="db-reconcile", outcome="monitoring")),
        ("seed-fix", Decision(path="db-reconcile", outcome="dispatched", wave=2),
         Decision(path="db-reconcile", outcome="monitoring")),
        ("atomic", Decision(path="advance", outcome="dispatched", wave=2), Decision(path="advance", outcome="idle")),
    ],
)
def test_guarded_policies_stop_the_burst(policy, first, then):
    t, decisions, _ = burst(policy)
    assert decisions == [first, then, then, then]
    assert t == table(wave(1, PROCESSING, done=3), wave(2, PROCESSING, dispatched_at=NOW), *map(wave, (3, 4, 5, 6)))


# --- the stall in miniature -------------------------------------------------------------------------------------


def straggler_story(policy):
    """Wave 1 crosses its threshold and its listener runs; wave 2's four batches
    finish, each followed by its listener; then wave 1's straggler finishes.

    Returns the table just before the straggler's listener and the decisions so far.
    """
    run = handle(AT_THRESHOLD, policy)
    t, decisions = run.table, [run.results["h"]]
    for batch in range(4):
        run = handle(finish(t, 2, batch), policy)
        t = run.table
        decisions.append(run.results["h"])
    return finish(t, 1, 3), decisions


#: wave 2 finished while wave 1's straggler kept wave 1 current; the straggler has just finished
BEFORE_STRAGGLER_LISTENER = table(
    wave(1, PROCESSING, done=4), wave(2, PROCESSING, done=4, dispatched_at=NOW), wave(3)
)


@pytest.mark.parametrize("policy", ["guarded", "seed-fix"])
def test_guarded_handlers_of_the_next_wave_only_monitor_while_a_straggler_runs(policy):
    t, decisions = straggler_story(policy)
    assert decisions == [Decision(path="db-reconcile", outcome="dispatched", wave=2)] + [
        Decision(path="db-reconcile", outcome="monitoring")
    ] * 4
    assert t == BEFORE_STRAGGLER_LISTENER


def test_guarded_stalls_after_the_straggler():
    last = handle(BEFORE_STRAGGLER_LISTENER, "guarded")
    assert last.steps == steps(
        (current(), 1), (read(1), BEFORE_STRAGGLER_LISTENER.row(1)), (set_status(1, COMPLETED), 1),
        (LOWEST, 3), (active(1), 2),
    )
    assert last.results == {"h": Decision(path="db-reconcile", outcome="monitoring")}
    stalled = table(
        wave(1, COMPLETED, done=4, completed_at=NOW), wave(2, PROCESSING, done=4, dispatched_at=NOW), wave(3)
    )
    assert last.table == stalled
    # nothing is queued, running or scheduled any more: no event will ever run a handler again
    assert no_stall(stalled, quiescent=True) == (
        "stalled at wave 2: nothing left to run, wave 2 processing, wave 3 pending"
    )
    assert import_completes(stalled) == "2 wave(s) never completed: 2, 3"


def test_seed_fix_auto_trigger_recovers_the_stall_with_one_more_handler_run():
    last = handle(BEFORE_STRAGGLER_LISTENER, "seed-fix")
    assert last.steps == steps(
        (current(), 1), (read(1), BEFORE_STRAGGLER_LISTENER.row(1)), (set_status(1, COMPLETED), 1), (TRIGGER, None),
        (LOWEST, 3), (active(1), 2),
    )
    assert last.results == {"h": Decision(path="db-reconcile", outcome="monitoring")}
    later = NOW + 2.0
    fired = handle(last.table, "seed-fix", now=later)
    assert fired.steps == steps(
        (current(), 2), (read(2), last.table.row(2)), (set_status(2, COMPLETED), 1), (TRIGGER, None),
        (LOWEST, 3), (active(2), None), *dispatch(3),
    )
    assert fired.results == {"h": Decision(path="db-reconcile", outcome="dispatched", wave=3)}
    assert fired.table == table(
        wave(1, COMPLETED, done=4, completed_at=NOW),
        wave(2, COMPLETED, done=4, dispatched_at=NOW, completed_at=later),
        wave(3, PROCESSING, dispatched_at=later),
    )


def test_atomic_advance_after_the_straggler_dispatches():
    last = handle(BEFORE_STRAGGLER_LISTENER, "atomic")
    assert last.steps == steps((COMPLETE, (1, 2)), (RELAY, None), (CLAIM, 3), (enqueue(3), 1), (mark(3), 1))
    assert last.results == {"h": Decision(path="advance", outcome="dispatched", wave=3)}
    assert last.table == table(
        wave(1, COMPLETED, done=4, completed_at=NOW),
        wave(2, COMPLETED, done=4, dispatched_at=NOW, completed_at=NOW),
        wave(3, PROCESSING, dispatched_at=NOW),
    )


def test_atomic_has_no_straggler_trap():
    """Under ``atomic`` the next wave goes out once every active wave is at
    threshold and fewer than two are in flight: while wave 1's straggler runs,
    wave 3 waits for wave 2 to finish (not for wave 1), and no trigger is lost."""
    t, decisions = straggler_story("atomic")
    assert decisions == [
        Decision(path="advance", outcome="dispatched", wave=2),
        Decision(path="advance", outcome="idle"),
        Decision(path="advance", outcome="idle"),
        Decision(path="advance", outcome="idle"),
        Decision(path="advance", outcome="dispatched", wave=3),
    ]
    last = handle(t, "atomic")
    assert last.results == {"h": Decision(path="advance", outcome="idle")}
    assert last.table == table(
        wave(1, COMPLETED, done=4, completed_at=NOW),
        wave(2, COMPLETED, done=4, dispatched_at=NOW, completed_at=NOW),
        wave(3, PROCESSING, dispatched_at=NOW),
    )
