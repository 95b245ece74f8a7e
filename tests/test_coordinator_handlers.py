"""Each dispatch path and guard of the handlers, one handler run at a time.

Every test runs one program to completion against a small table and asserts the
exact operations it yielded (with their results), its decision and the whole
table afterwards. Config: four batches a wave, threshold 75 % (three batches).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from coordinator_builders import (
    COMPLETED,
    CONFIG,
    DISPATCHING,
    JOB,
    LOWEST,
    NOW,
    PROCESSING,
    SIZE,
    active,
    ctx,
    current,
    dispatch,
    next_main,
    read,
    set_status,
    steps,
    table,
    wave,
)

from coordinator import (
    AutoTriggerFired,
    BatchJobCompleted,
    ClaimNextWave,
    CompleteFinishedWaves,
    Completion,
    Context,
    CurrentWaveRule,
    Decision,
    EnqueueBatches,
    HandlerTriggered,
    ImportStarted,
    MarkPushed,
    Policy,
    ReadClaimedWave,
    ReconcilerTicked,
    ScheduleTrigger,
    WaveError,
    apply,
    check_and_trigger_next_wave,
    check_wave_completion,
    dispatch_wave,
    finish_batch,
    policy_named,
    program_for,
    run_interleaved,
    run_sequential,
)
from coordinator.properties import one_wave_below_threshold

ORIGINAL = policy_named("original")
GUARDED = policy_named("guarded")
#: single switches of the write-up's fixes, each on its own
RECONCILE_ACTIVE = Policy(reconcile_active_guard=True)
RECONCILE_THRESHOLD = Policy(reconcile_threshold_guard=True)
NORMAL_ACTIVE = Policy(normal_active_guard=True)
CATCHUP_ACTIVE = Policy(catchup_active_guard=True)
CATCHUP_THRESHOLD = Policy(catchup_threshold_guard=True)
CATCHUP_BOTH = Policy(catchup_active_guard=True, catchup_threshold_guard=True)
CLAIM = ClaimNextWave(job_id=JOB, threshold_count=3, max_active=2)
COMPLETE = CompleteFinishedWaves(job_id=JOB)
TRIGGER = ScheduleTrigger(job_id=JOB, delay_s=2.0)


def handle(t, policy, *, now=NOW):
    return run_sequential(t, check_and_trigger_next_wave(ctx(policy)), now=now)


# --- DB-RECONCILE ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", [ORIGINAL, RECONCILE_THRESHOLD])
def test_reconcile_dispatches_wave_1_when_there_is_no_current_wave(policy):
    t0 = table(wave(1), wave(2))
    run = handle(t0, policy)
    assert run.steps == steps((current(), 0), (read(1), t0.row(1)), (LOWEST, 1), *dispatch(1))
    assert run.results == {"h": Decision(path="db-reconcile", outcome="dispatched", wave=1)}
    assert run.table == table(wave(1, PROCESSING, dispatched_at=NOW), wave(2))


@pytest.mark.parametrize("policy", [GUARDED, RECONCILE_ACTIVE])
def test_reconcile_with_active_guard_checks_before_dispatching_wave_1(policy):
    t0 = table(wave(1), wave(2))
    run = handle(t0, policy)
    assert run.steps == steps((current(), 0), (read(1), t0.row(1)), (LOWEST, 1), (active(0), None), *dispatch(1))
    assert run.results == {"h": Decision(path="db-reconcile", outcome="dispatched", wave=1)}
    assert run.table == table(wave(1, PROCESSING, dispatched_at=NOW), wave(2))


def test_reconcile_marks_the_finished_current_wave_completed_and_dispatches_the_next():
    t0 = table(wave(1, PROCESSING, done=4), wave(2), wave(3))
    run = handle(t0, ORIGINAL)
    assert run.steps == steps(
        (current(), 1), (read(1), t0.row(1)), (set_status(1, COMPLETED), 1), (LOWEST, 2), *dispatch(2)
    )
    assert run.results == {"h": Decision(path="db-reconcile", outcome="dispatched", wave=2)}
    assert run.table == table(
        wave(1, COMPLETED, done=4, completed_at=NOW), wave(2, PROCESSING, dispatched_at=NOW), wave(3)
    )


def test_reconcile_under_seed_fix_also_schedules_the_auto_trigger():
    t0 = table(wave(1, PROCESSING, done=4), wave(2), wave(3))
    run = handle(t0, "seed-fix")
    assert run.steps == steps(
        (current(), 1), (read(1), t0.row(1)), (set_status(1, COMPLETED), 1), (TRIGGER, None),
        (LOWEST, 2), (active(1), None), *dispatch(2),
    )
    assert run.results == {"h": Decision(path="db-reconcile", outcome="dispatched", wave=2)}
    assert run.table == table(
        wave(1, COMPLETED, done=4, completed_at=NOW), wave(2, PROCESSING, dispatched_at=NOW), wave(3)
    )


def test_reconcile_without_active_guard_dispatches_past_a_wave_still_below_threshold():
    t0 = table(wave(1, PROCESSING, done=4), wave(2, PROCESSING, done=1), wave(3))
    run = handle(t0, RECONCILE_THRESHOLD)
    assert run.steps == steps(
        (current(), 1), (read(1), t0.row(1)), (set_status(1, COMPLETED), 1), (LOWEST, 3), *dispatch(3)
    )
    assert run.results == {"h": Decision(path="db-reconcile", outcome="dispatched", wave=3)}
    assert run.table == table(
        wave(1, COMPLETED, done=4, completed_at=NOW),
        wave(2, PROCESSING, done=1),
        wave(3, PROCESSING, dispatched_at=NOW),
    )
    assert one_wave_below_threshold(run.table, CONFIG) == "2 active waves below 75%: 2, 3"


def test_reconcile_active_guard_returns_monitoring_while_another_wave_is_active():
    t0 = table(wave(1, PROCESSING, done=4), wave(2, PROCESSING, done=1), wave(3))
    run = handle(t0, GUARDED)
    assert run.steps == steps(
        (current(), 1), (read(1), t0.row(1)), (set_status(1, COMPLETED), 1), (LOWEST, 3), (active(1), 2)
    )
    assert run.results == {"h": Decision(path="db-reconcile", outcome="monitoring")}
    assert run.table == table(wave(1, COMPLETED, done=4, completed_at=NOW), wave(2, PROCESSING, done=1), wave(3))


@pytest.mark.parametrize(
    ("policy", "guard_steps"),
    [(GUARDED, [(active(1), None)]), (RECONCILE_THRESHOLD, [])],
    ids=["guarded", "threshold-guard-only"],
)
def test_reconcile_threshold_guard_dispatches_at_threshold(policy, guard_steps):
    t0 = table(wave(1, PROCESSING, done=3), wave(2))
    run = handle(t0, policy)
    assert run.steps == steps((current(), 1), (read(1), t0.row(1)), (LOWEST, 2), *guard_steps, *dispatch(2))
    assert run.results == {"h": Decision(path="db-reconcile", outcome="dispatched", wave=2)}
    assert run.table == table(wave(1, PROCESSING, done=3), wave(2, PROCESSING, dispatched_at=NOW))


@pytest.mark.parametrize(
    ("policy", "guard_steps"),
    [(GUARDED, [(active(1), None)]), (RECONCILE_THRESHOLD, [])],
    ids=["guarded", "threshold-guard-only"],
)
def test_reconcile_threshold_guard_returns_monitoring_below_threshold(policy, guard_steps):
    t0 = table(wave(1, PROCESSING, done=2), wave(2))
    run = handle(t0, policy)
    assert run.steps == steps((current(), 1), (read(1), t0.row(1)), (LOWEST, 2), *guard_steps)
    assert run.results == {"h": Decision(path="db-reconcile", outcome="monitoring")}
    assert run.table == t0


@pytest.mark.parametrize(
    ("policy", "guard_steps"),
    [(ORIGINAL, []), (RECONCILE_ACTIVE, [(active(1), None)])],
    ids=["original", "active-guard-only"],
)
def test_reconcile_without_threshold_guard_falls_through_to_normal_progression(policy, guard_steps):
    t0 = table(wave(1, PROCESSING, done=2), wave(2))
    run = handle(t0, policy)
    assert run.steps == steps((current(), 1), (read(1), t0.row(1)), (LOWEST, 2), *guard_steps, (next_main(1), 2))
    assert run.results == {"h": Decision(path="normal", outcome="monitoring")}
    assert run.table == t0


def test_nothing_pending_is_idle():
    t0 = table(wave(1, COMPLETED, done=4), wave(2, PROCESSING, done=1))
    run = handle(t0, ORIGINAL)
    assert run.steps == steps((current(), 2), (read(2), t0.row(2)), (LOWEST, None))
    assert run.results == {"h": Decision(path="db-reconcile", outcome="idle")}
    assert run.table == t0


# --- normal progression ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "guard_steps"),
    [(ORIGINAL, []), (NORMAL_ACTIVE, [(active(1), None)])],
    ids=["original", "normal-active-guard"],
)
def test_normal_progression_dispatches_the_successor_at_threshold(policy, guard_steps):
    t0 = table(wave(1, PROCESSING, done=3), wave(2))
    run = handle(t0, policy)
    assert run.steps == steps(
        (current(), 1), (read(1), t0.row(1)), (LOWEST, 2), (next_main(1), 2), *guard_steps, *dispatch(2)
    )
    assert run.results == {"h": Decision(path="normal", outcome="dispatched", wave=2)}
    assert run.table == table(wave(1, PROCESSING, done=3), wave(2, PROCESSING, dispatched_at=NOW))


def test_normal_progression_without_active_guard_dispatches_beside_another_active_wave():
    # wave 3 was just claimed by a racing CATCH-UP and its batches are not pushed yet
    t0 = table(wave(1, PROCESSING, done=3), wave(2), wave(3, DISPATCHING, dispatches=0))
    run = handle(t0, ORIGINAL)
    assert run.steps == steps((current(), 1), (read(1), t0.row(1)), (LOWEST, 2), (next_main(1), 2), *dispatch(2))
    assert run.results == {"h": Decision(path="normal", outcome="dispatched", wave=2)}
    assert run.table == table(
        wave(1, PROCESSING, done=3), wave(2, PROCESSING, dispatched_at=NOW), wave(3, DISPATCHING, dispatches=0)
    )


def test_normal_progression_active_guard_returns_monitoring_beside_another_active_wave():
    t0 = table(wave(1, PROCESSING, done=3), wave(2), wave(3, DISPATCHING, dispatches=0))
    run = handle(t0, NORMAL_ACTIVE)
    assert run.steps == steps(
        (current(), 1), (read(1), t0.row(1)), (LOWEST, 2), (next_main(1), 2), (active(1), 3)
    )
    assert run.results == {"h": Decision(path="normal", outcome="monitoring")}
    assert run.table == t0


# --- CATCH-UP ---------------------------------------------------------------------------------------------------

#: the current wave's successor already left 'pending' (wave 2), a later wave is pending (wave 3)
CATCHUP_AT_THRESHOLD = table(wave(1, PROCESSING, done=3), wave(2, PROCESSING), wave(3))
CATCHUP_BELOW_THRESHOLD = table(wave(1, PROCESSING, done=2), wave(2, PROCESSING), wave(3))


def catchup_entry(t0):
    """The steps up to CATCH-UP's guards: wave 1 current, wave 2 gone, wave 3 the lowest pending."""
    return [(current(), 1), (read(1), t0.row(1)), (LOWEST, 3), (next_main(1), None), (LOWEST, 3)]


@pytest.mark.parametrize("policy", [ORIGINAL, CATCHUP_THRESHOLD], ids=["original", "threshold-guard-at-threshold"])
def test_catchup_dispatches_the_lowest_pending_wave(policy):
    t0 = CATCHUP_AT_THRESHOLD
    run = handle(t0, policy)
    assert run.steps == steps(*catchup_entry(t0), *dispatch(3))
    assert run.results == {"h": Decision(path="catch-up", outcome="dispatched", wave=3)}
    assert run.table == table(wave(1, PROCESSING, done=3), wave(2, PROCESSING), wave(3, PROCESSING, dispatched_at=NOW))


def test_catchup_without_threshold_guard_dispatches_below_threshold():
    t0 = CATCHUP_BELOW_THRESHOLD
    run = handle(t0, ORIGINAL)
    assert run.steps == steps(*catchup_entry(t0), *dispatch(3))
    assert run.results == {"h": Decision(path="catch-up", outcome="dispatched", wave=3)}
    assert run.table == table(wave(1, PROCESSING, done=2), wave(2, PROCESSING), wave(3, PROCESSING, dispatched_at=NOW))


def test_catchup_threshold_guard_returns_monitoring_below_threshold():
    t0 = CATCHUP_BELOW_THRESHOLD
    run = handle(t0, CATCHUP_THRESHOLD)
    assert run.steps == steps(*catchup_entry(t0))
    assert run.results == {"h": Decision(path="catch-up", outcome="monitoring")}
    assert run.table == t0


@pytest.mark.parametrize("policy", [CATCHUP_ACTIVE, CATCHUP_BOTH], ids=["active-guard", "both-guards"])
def test_catchup_active_guard_returns_monitoring_while_any_wave_is_active(policy):
    """The CATCH-UP active guard excludes no wave, so it also sees the current one.

    Under the lowest-active reading CATCH-UP is only reached while the current
    wave is active (a current wave that is the highest completed one counts as
    completed and DB-RECONCILE dispatches first), so with this guard on,
    CATCH-UP never dispatches at all.
    """
    t0 = CATCHUP_AT_THRESHOLD
    run = handle(t0, policy)
    assert run.steps == steps(*catchup_entry(t0), (active(None), 1))
    assert run.results == {"h": Decision(path="catch-up", outcome="monitoring")}
    assert run.table == t0


# --- check_wave_completion and dispatch_wave ---------------------------------------------------------------------


def complete(t0, policy, n=1):
    return run_sequential(t0, check_wave_completion(ctx(policy), n), now=NOW)


def test_check_wave_completion_marks_a_finished_wave_completed():
    t0 = table(wave(1, PROCESSING, done=4), wave(2))
    run = complete(t0, "guarded")
    assert run.steps == steps((read(1), t0.row(1)), (set_status(1, COMPLETED), 1))
    assert run.results == {"h": Completion(wave=1, finished=4, completed=True, at_threshold=True)}
    assert run.table == table(wave(1, COMPLETED, done=4, completed_at=NOW), wave(2))


def test_check_wave_completion_under_seed_fix_schedules_the_auto_trigger_once():
    t0 = table(wave(1, PROCESSING, done=4), wave(2))
    run = complete(t0, "seed-fix")
    assert run.steps == steps((read(1), t0.row(1)), (set_status(1, COMPLETED), 1), (TRIGGER, None))
    assert run.results == {"h": Completion(wave=1, finished=4, completed=True, at_threshold=True)}
    assert run.table == table(wave(1, COMPLETED, done=4, completed_at=NOW), wave(2))
    again = complete(run.table, "seed-fix")
    assert again.steps == steps((read(1), run.table.row(1)))
    assert again.table == run.table


def test_check_wave_completion_at_threshold_writes_nothing():
    t0 = table(wave(1, PROCESSING, done=3), wave(2))
    run = complete(t0, "seed-fix")
    assert run.steps == steps((read(1), t0.row(1)))
    assert run.results == {"h": Completion(wave=1, finished=3, completed=False, at_threshold=True)}
    assert run.table == t0


def test_counter_progress_completes_a_wave_whose_batch_was_reported_twice():
    """A retried batch bumps the counter twice: the write-up's progress calls a
    wave with three distinct finished batches complete; distinct progress does not."""
    t0 = table(wave(1, PROCESSING, done=3, counted=4), wave(2))
    counted = complete(t0, "guarded")
    assert counted.steps == steps((read(1), t0.row(1)), (set_status(1, COMPLETED), 1))
    assert counted.results == {"h": Completion(wave=1, finished=4, completed=True, at_threshold=True)}
    assert counted.table == table(wave(1, COMPLETED, done=3, counted=4, completed_at=NOW), wave(2))
    distinct = complete(t0, "atomic")
    assert distinct.steps == steps((read(1), t0.row(1)))
    assert distinct.results == {"h": Completion(wave=1, finished=3, completed=False, at_threshold=True)}
    assert distinct.table == t0


def test_failed_batches_count_as_finished():
    t0 = table(replace(wave(1, PROCESSING, done=4, counted=3), failed_batches=1), wave(2))
    run = complete(t0, "original")
    assert run.results == {"h": Completion(wave=1, finished=4, completed=True, at_threshold=True)}
    done = replace(wave(1, COMPLETED, done=4, counted=3, completed_at=NOW), failed_batches=1)
    assert run.table == table(done, wave(2))


def test_dispatch_wave_claims_pushes_and_marks_processing():
    t0 = table(wave(1, COMPLETED, done=4), wave(2))
    run = run_sequential(t0, dispatch_wave(ctx("original"), 2), now=NOW)
    assert run.steps == steps(*dispatch(2))
    assert run.table == table(wave(1, COMPLETED, done=4), wave(2, PROCESSING, dispatched_at=NOW))


RELAY = ReadClaimedWave(job_id=JOB, lease_s=10.0)


def enqueue(n):
    return EnqueueBatches(job_id=JOB, wave=n)


def mark(n):
    return MarkPushed(job_id=JOB, wave=n)


def test_advance_relays_a_wave_whose_claimer_died_before_pushing():
    """Past the lease the relay pushes a claimed, unmarked wave and marks it processing."""
    t0 = table(wave(1, PROCESSING, done=3), wave(2, DISPATCHING, dispatches=0, claims=1, dispatched_at=NOW), wave(3))
    run = handle(t0, "atomic", now=NOW + 10.0)
    relay = ReadClaimedWave(job_id=JOB, lease_s=10.0)
    assert run.steps == steps((COMPLETE, ()), (relay, 2), (enqueue(2), 1), (mark(2), 1))
    assert run.results == {"h": Decision(path="relay", outcome="dispatched", wave=2)}
    assert run.table == table(wave(1, PROCESSING, done=3), wave(2, PROCESSING, dispatched_at=NOW), wave(3))
    within = handle(t0, "atomic", now=NOW + 9.0)  # the claimer may still be pushing: leave it alone
    assert within.results == {"h": Decision(path="advance", outcome="idle")} and within.table == t0


def test_two_fused_runs_on_one_claimed_wave_push_it_once():
    t0 = table(wave(1, PROCESSING, done=3), wave(2, DISPATCHING, dispatches=0, claims=1, dispatched_at=NOW), wave(3))
    fused = policy_named("atomic").with_switches(fused_push=True)
    programs = {name: program_for(ReconcilerTicked(job_id=JOB), fused, CONFIG) for name in "ab"}
    run = run_interleaved(t0, programs, ["a", "b", "a", "b", "a", "b"], now=NOW)
    assert [(s.handler, s.result) for s in run.steps if isinstance(s.effect, EnqueueBatches)] == [("a", 1), ("b", 0)]
    assert run.results == {
        "a": Decision(path="advance", outcome="dispatched", wave=2),
        "b": Decision(path="advance", outcome="idle"),
    }
    assert run.table == table(wave(1, PROCESSING, done=3), wave(2, PROCESSING, dispatched_at=NOW), wave(3))


# --- advance() ---------------------------------------------------------------------------------------------------


def test_advance_completes_finished_waves_and_claims_the_next():
    t0 = table(wave(1, PROCESSING, done=4), wave(2, PROCESSING, done=3), wave(3))
    run = handle(t0, "atomic")
    assert run.steps == steps((COMPLETE, (1,)), (RELAY, None), (CLAIM, 3), (enqueue(3), 1), (mark(3), 1))
    assert run.results == {"h": Decision(path="advance", outcome="dispatched", wave=3)}
    assert run.table == table(
        wave(1, COMPLETED, done=4, completed_at=NOW),
        wave(2, PROCESSING, done=3),
        wave(3, PROCESSING, dispatched_at=NOW),
    )


def test_advance_dispatches_wave_1_of_a_new_import():
    t0 = table(wave(1), wave(2))
    run = handle(t0, "atomic")
    assert run.steps == steps((COMPLETE, ()), (RELAY, None), (CLAIM, 1), (enqueue(1), 1), (mark(1), 1))
    assert run.results == {"h": Decision(path="advance", outcome="dispatched", wave=1)}
    assert run.table == table(wave(1, PROCESSING, dispatched_at=NOW), wave(2))


@pytest.mark.parametrize(
    "t0",
    [
        table(wave(1, PROCESSING, done=2), wave(2)),
        table(wave(1, PROCESSING, done=2, counted=3), wave(2)),  # a batch reported twice
        table(wave(1, COMPLETED, done=4), wave(2, PROCESSING, done=3), wave(3, PROCESSING, done=2), wave(4)),
    ],
    ids=["below-threshold", "below-threshold-by-distinct-count", "one-of-two-active-below"],
)
def test_advance_claim_is_refused_while_an_active_wave_is_below_threshold(t0):
    run = handle(t0, "atomic")
    assert run.steps == steps((COMPLETE, ()), (RELAY, None), (CLAIM, None))
    assert run.results == {"h": Decision(path="advance", outcome="idle")}
    assert run.table == t0


def test_advance_with_nothing_pending_only_completes():
    t0 = table(wave(1, COMPLETED, done=4), wave(2, PROCESSING, done=4))
    run = handle(t0, "atomic")
    assert run.steps == steps((COMPLETE, (2,)), (RELAY, None), (CLAIM, None))
    assert run.results == {"h": Decision(path="advance", outcome="idle")}
    assert run.table == table(wave(1, COMPLETED, done=4), wave(2, COMPLETED, done=4, completed_at=NOW))


def test_advance_claims_again_after_each_mark_that_completes_its_wave():
    """Every batch of wave 2, then of wave 3, finishes before its mark: their completion events
    found them dispatching, so only the run that marks them completed can claim the next."""
    t0 = table(wave(1, COMPLETED, done=4), wave(2, DISPATCHING, done=4, dispatches=0, claims=1, dispatched_at=NOW),
               wave(3), wave(4))
    programs = {"h": program_for(ReconcilerTicked(job_id=JOB), policy_named("atomic"), CONFIG)}
    programs |= {f"b{b}": finish_batch(JOB, 3, b) for b in range(SIZE)}
    order = ["h"] * 6 + [f"b{b}" for b in range(SIZE)] + ["h"] * 4  # every batch of 3 between its push and mark
    run = run_interleaved(t0, programs, order, now=NOW + 10.0)
    assert [(s.effect, s.result) for s in run.steps if s.handler == "h"] == [
        (COMPLETE, ()), (RELAY, 2), (enqueue(2), 1), (mark(2), 2), (CLAIM, 3), (enqueue(3), 1),
        (mark(3), 2), (CLAIM, 4), (enqueue(4), 1), (mark(4), 1),
    ]
    assert run.results["h"] == Decision(path="advance", outcome="dispatched", wave=4)
    assert [r.status for r in run.table.rows] == [COMPLETED, COMPLETED, COMPLETED, PROCESSING]


def test_advance_refuses_a_claim_after_its_mark_that_does_not_move_up():
    """A claim takes the lowest pending wave, so the claim after a completing mark is a higher
    wave; a driver that says otherwise is told, and the loop cannot go round forever."""
    program = program_for(ReconcilerTicked(job_id=JOB), policy_named("atomic"), CONFIG)
    results = iter([(), None, 2, 1, 2, 2])  # complete, relay, claim 2, push, mark: completed, claim 2 again
    next(program)
    with pytest.raises(WaveError, match="claim after a completing mark"):
        for result in results:
            program.send(result)


@pytest.mark.parametrize("policy", ["original", "guarded", "seed-fix", "atomic"])
@pytest.mark.parametrize(
    "trigger",
    [BatchJobCompleted(job_id=JOB, wave=1, batch=2), AutoTriggerFired(job_id=JOB), ReconcilerTicked(job_id=JOB),
     ImportStarted(job_id=JOB), HandlerTriggered(job_id=JOB)],
    ids=["batch", "auto", "tick", "start", "any"],
)
def test_every_trigger_runs_check_and_trigger_next_wave(policy, trigger):
    t0 = table(wave(1, PROCESSING, done=4), wave(2, PROCESSING, done=1), wave(3))
    by_trigger = run_sequential(t0, program_for(trigger, policy_named(policy), CONFIG), now=NOW)
    own = Context(job_id=JOB, policy=policy_named(policy), config=CONFIG, trigger_wave=getattr(trigger, "wave", None))
    assert by_trigger == run_sequential(t0, check_and_trigger_next_wave(own), now=NOW)


# --- the two current-wave rules -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "lowest_active", "latest_started"),
    [
        ((wave(1), wave(2)), 0, 0),
        ((wave(1, DISPATCHING), wave(2)), 1, 0),
        ((wave(1, PROCESSING), wave(2)), 1, 1),
        ((wave(1, PROCESSING, done=3), wave(2, PROCESSING), wave(3)), 1, 2),
        ((wave(1, COMPLETED, done=4), wave(2, DISPATCHING), wave(3)), 2, 1),
        ((wave(1, COMPLETED, done=4), wave(2, COMPLETED, done=4), wave(3)), 2, 2),
        ((wave(1, PROCESSING, done=3), wave(2, COMPLETED, done=4), wave(3)), 1, 2),
    ],
    ids=["new", "1-dispatching", "1-processing", "burst", "2-dispatching", "two-completed", "straggler"],
)
def test_current_wave_under_each_rule(rows, lowest_active, latest_started):
    t0 = table(*rows)
    assert apply(t0, current(CurrentWaveRule.LOWEST_ACTIVE), NOW) == (t0, lowest_active)
    assert apply(t0, current(CurrentWaveRule.LATEST_STARTED), NOW) == (t0, latest_started)


def test_latest_started_rule_sees_no_current_wave_while_wave_1_is_dispatching():
    """Under latest-started a wave counts only once it is processing: a handler
    that runs while wave 1 is still being pushed takes the 'current == 0' branch
    of DB-RECONCILE and dispatches wave 2 with wave 1 at 0 %."""
    policy = ORIGINAL.with_switches(current_wave_rule=CurrentWaveRule.LATEST_STARTED)
    t0 = table(wave(1, DISPATCHING, dispatches=0), wave(2))
    run = handle(t0, policy)
    assert run.steps == steps(
        (current(CurrentWaveRule.LATEST_STARTED), 0), (read(1), t0.row(1)), (LOWEST, 2), *dispatch(2)
    )
    assert run.results == {"h": Decision(path="db-reconcile", outcome="dispatched", wave=2)}
    assert run.table == table(wave(1, DISPATCHING, dispatches=0), wave(2, PROCESSING, dispatched_at=NOW))


def test_lowest_active_rule_keeps_wave_1_current_while_it_is_dispatching():
    t0 = table(wave(1, DISPATCHING, dispatches=0), wave(2))
    run = handle(t0, ORIGINAL)
    assert run.steps == steps((current(), 1), (read(1), t0.row(1)), (LOWEST, 2), (next_main(1), 2))
    assert run.results == {"h": Decision(path="normal", outcome="monitoring")}
    assert run.table == t0


def test_latest_started_rule_with_guards_checks_the_latest_wave():
    t0 = table(wave(1, PROCESSING, done=3), wave(2, PROCESSING, done=4), wave(3))
    policy = GUARDED.with_switches(current_wave_rule="latest-started")
    rule = CurrentWaveRule.LATEST_STARTED
    run = handle(t0, policy)
    assert run.steps == steps(
        (current(rule), 2), (read(2), t0.row(2)), (set_status(2, COMPLETED), 1), (LOWEST, 3), (active(2), 1)
    )
    assert run.results == {"h": Decision(path="db-reconcile", outcome="monitoring")}
    assert run.table == table(wave(1, PROCESSING, done=3), wave(2, COMPLETED, done=4, completed_at=NOW), wave(3))

