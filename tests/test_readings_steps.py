"""Each reading of the write-up, pinned step by step: what one switch changes in one handler run."""

from __future__ import annotations

import pytest
from coordinator_builders import (
    COMPLETED,
    CONFIG,
    DISPATCHING,
    JOB,
    NOW,
    PENDING,
    PROCESSING,
    table,
    wave,
)

from coordinator import (
    ConfigError,
    Context,
    CurrentWaveRule,
    Decision,
    EnqueueBatches,
    ReadCurrentWave,
    ReadLowestPending,
    ReadNextMainWave,
    ReadWave,
    SetStatus,
    Status,
    apply,
    check_and_trigger_next_wave,
    check_wave_completion,
    dispatch_wave,
    policy_named,
    run_sequential,
)
from coordinator.policy import (
    BatchWaveCheck,
    CatchupEntry,
    CompletionCheck,
    FinalWrite,
    NormalThreshold,
    ReconcileElse,
)

GUARDED = policy_named("guarded")
ORIGINAL = policy_named("original")


def ctx(policy, trigger_wave=None):
    """The policy exactly as given (no pinned reading: each test here names the readings it compares)."""
    return Context(job_id=JOB, policy=policy, config=CONFIG, trigger_wave=trigger_wave)


def run(t, policy, trigger_wave=None):
    return run_sequential(t, check_and_trigger_next_wave(ctx(policy, trigger_wave=trigger_wave)), now=NOW)


@pytest.mark.parametrize(("rule", "current"), [
    (CurrentWaveRule.LOWEST_ACTIVE, 2),
    (CurrentWaveRule.HIGHEST_NOT_PENDING, 3),
    (CurrentWaveRule.HIGHEST_COMPLETED, 1),
    (CurrentWaveRule.COMPLETED_ELSE_ACTIVE, 1),
    (CurrentWaveRule.LATEST_STARTED, 2),
])
def test_current_wave_rule_picks_the_current_wave(rule, current):
    t0 = table(wave(1, COMPLETED, done=4), wave(2, PROCESSING, done=1), wave(3, DISPATCHING), wave(4))
    assert apply(t0, ReadCurrentWave(job_id=JOB, rule=rule), NOW) == (t0, current)


@pytest.mark.parametrize(("rule", "current"), [
    (CurrentWaveRule.HIGHEST_COMPLETED, 0), (CurrentWaveRule.COMPLETED_ELSE_ACTIVE, 1),
])
def test_before_any_wave_completes_only_completed_else_active_has_a_current_wave(rule, current):
    # this is what keeps `$currentWave === 0` from dispatching a wave per handler run while wave 1 runs
    t0 = table(wave(1, PROCESSING, done=1), wave(2), wave(3))
    assert apply(t0, ReadCurrentWave(job_id=JOB, rule=rule), NOW)[1] == current
    after = run(t0, ORIGINAL.with_switches(name="original", current_wave_rule=rule))
    dispatched = [r.wave_number for r in after.table.rows if r.status is not PENDING]
    assert dispatched == ([1, 2] if current == 0 else [1])


def test_completion_check_after_the_guard_leaves_the_finished_current_wave_unmarked():
    t0 = table(wave(1, PROCESSING, done=4), wave(2, PROCESSING, done=1), wave(3))
    before = run(t0, GUARDED)
    after = run(t0, GUARDED.with_switches(name="guarded", completion_check=CompletionCheck.AFTER_GUARD))
    assert before.table.rows[0].status is COMPLETED  # checked (and marked) before the guard returned
    assert after.table.rows[0].status is PROCESSING  # the guard returned first: checkWaveCompletion never ran
    assert before.results == after.results == {"h": Decision(path="db-reconcile", outcome="monitoring")}
    assert not any(isinstance(s.effect, SetStatus) for s in after.steps)


def test_catchup_entry_stalled_does_not_chain_a_burst():
    # lowest-active reading: wave 1 at threshold, its successor already dispatched, wave 3 pending
    t0 = table(wave(1, PROCESSING, done=3), wave(2, PROCESSING), wave(3))
    chained = run(t0, ORIGINAL.with_switches(name="original", current_wave_rule="lowest-active"))
    assert chained.results == {"h": Decision(path="catch-up", outcome="dispatched", wave=3)}
    stalled = run(t0, ORIGINAL.with_switches(name="original", current_wave_rule="lowest-active",
                                             catchup_entry=CatchupEntry.STALLED))
    assert stalled.results == {"h": Decision(path="normal", outcome="monitoring")}
    assert stalled.table.rows[2].status is PENDING


@pytest.mark.parametrize(("when", "wave2", "wave3", "decision"), [
    (BatchWaveCheck.NONE, PROCESSING, PENDING, Decision(path="db-reconcile", outcome="monitoring")),
    (BatchWaveCheck.BEFORE_DECISION, COMPLETED, PROCESSING,
     Decision(path="db-reconcile", outcome="dispatched", wave=3)),
    (BatchWaveCheck.AFTER_DECISION, COMPLETED, PENDING, Decision(path="db-reconcile", outcome="monitoring")),
])
def test_batch_wave_check_decides_the_shape_of_the_post_guard_stall(when, wave2, wave3, decision):
    # guarded, current = wave 1 (completed); wave 2's last batch just finished and its handler runs
    t0 = table(wave(1, COMPLETED, done=4), wave(2, PROCESSING, done=4), wave(3))
    policy = GUARDED.with_switches(name="guarded", current_wave_rule=CurrentWaveRule.COMPLETED_ELSE_ACTIVE,
                                   batch_wave_check=when)
    after = run(t0, policy, trigger_wave=2)
    assert (after.table.rows[1].status, after.table.rows[2].status) == (wave2, wave3)
    assert after.results == {"h": decision}
    # after-decision is the write-up's evidence: wave 2 completed, wave 3 pending, no active wave left


@pytest.mark.parametrize(("final", "status", "changed"), [
    (FinalWrite.PLAIN, PROCESSING, 1), (FinalWrite.CONDITIONAL, COMPLETED, 0),
])
def test_final_write_conditional_leaves_a_wave_completed_meanwhile(final, status, changed):
    t = table(wave(1, COMPLETED, done=4), wave(2))
    program = dispatch_wave(ctx(GUARDED.with_switches(name="guarded", final_write=final)), 2)
    effect = next(program)
    for _ in range(2):  # SET dispatching, then push the batches
        t, result = apply(t, effect, NOW)
        effect = program.send(result)
    # meanwhile another handler saw wave 2 finished (a wave pushed twice counts fast) and completed it
    t, _ = apply(t, SetStatus(job_id=JOB, wave=2, status=Status.COMPLETED), NOW)
    t, rows = apply(t, effect, NOW)  # dispatchWave's last write: plain overwrites 'completed', conditional does not
    assert (t.rows[1].status, rows) == (status, changed)


@pytest.mark.parametrize(("distinct", "completed"), [(False, True), (True, False)])
def test_progress_by_counters_counts_a_batch_reported_twice(distinct, completed):
    t0 = table(wave(1, PROCESSING, done=2, counted=4))  # two batches reported twice each
    policy = ORIGINAL.with_switches(name="original", distinct_progress=distinct)
    after = run_sequential(t0, check_wave_completion(ctx(policy), 1), now=NOW)
    assert (after.table.rows[0].status is COMPLETED) is completed


def _kinds(after):
    return [type(step.effect) for step in after.steps]


@pytest.mark.parametrize(("gate", "decision", "tail"), [
    (NormalThreshold.CHECKED, Decision(path="normal", outcome="monitoring"), []),
    (NormalThreshold.UNCHECKED, Decision(path="normal", outcome="dispatched", wave=2),
     [SetStatus, EnqueueBatches, SetStatus]),
])
def test_normal_threshold_decides_whether_normal_progression_waits_for_the_threshold(gate, decision, tail):
    # original: wave 1 current (active, 1 of 4 finished, below the threshold of 3), wave 2 its pending successor;
    # DB-RECONCILE does not dispatch (wave 1 not completed) and falls through to normal progression
    t0 = table(wave(1, PROCESSING, done=1), wave(2))
    after = run(t0, ORIGINAL.with_switches(name="original", normal_threshold=gate))
    assert _kinds(after) == [ReadCurrentWave, ReadWave, ReadLowestPending, ReadNextMainWave, *tail]
    assert after.results == {"h": decision}
    assert after.table.rows[1].status is (PENDING if gate is NormalThreshold.CHECKED else PROCESSING)


@pytest.mark.parametrize(("otherwise", "decision", "tail"), [
    (ReconcileElse.FALL_THROUGH, Decision(path="normal", outcome="dispatched", wave=2),
     [ReadNextMainWave, SetStatus, EnqueueBatches, SetStatus]),
    (ReconcileElse.RETURN_MONITORING, Decision(path="db-reconcile", outcome="monitoring"), []),
])
def test_reconcile_else_decides_whether_pre_fix_db_reconcile_falls_through(otherwise, decision, tail):
    # original: wave 1 current at its threshold (3 of 4) but not completed, wave 2 pending: pre-fix
    # DB-RECONCILE does not dispatch; falling through, normal progression dispatches wave 2 at the threshold
    t0 = table(wave(1, PROCESSING, done=3), wave(2))
    after = run(t0, ORIGINAL.with_switches(name="original", reconcile_else=otherwise))
    assert _kinds(after) == [ReadCurrentWave, ReadWave, ReadLowestPending, *tail]
    assert after.results == {"h": decision}


def test_the_two_readings_are_refused_where_db_reconcile_never_falls_through():
    # with Fix #1's threshold guard, DB-RECONCILE decides whenever a wave is pending: neither reading is reached
    with pytest.raises(ConfigError, match="reconcile_else=return-monitoring is ignored under "
                                          "reconcile_threshold_guard=true"):
        GUARDED.with_switches(reconcile_else="return-monitoring")
    with pytest.raises(ConfigError, match="normal_threshold=unchecked is ignored under "
                                          "reconcile_threshold_guard=true"):
        GUARDED.with_switches(normal_threshold="unchecked")
    with pytest.raises(ConfigError, match="normal_threshold=unchecked is ignored under "
                                          "reconcile_else=return-monitoring"):
        ORIGINAL.with_switches(normal_threshold="unchecked", reconcile_else="return-monitoring")
    with pytest.raises(ConfigError, match="normal_threshold=unchecked is ignored under atomic_advance=true"):
        policy_named("atomic").with_switches(normal_threshold="unchecked")
    # a guarded handler never reaches normal progression while a wave is pending
    t0 = table(wave(1, COMPLETED, done=4), wave(2, PROCESSING, done=1), wave(3))
    after = run(t0, GUARDED.with_switches(name="guarded", current_wave_rule="lowest-active"))
    assert after.results == {"h": Decision(path="db-reconcile", outcome="monitoring")}
    assert ReadNextMainWave not in _kinds(after)
