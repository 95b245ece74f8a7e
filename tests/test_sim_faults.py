"""Fault injection in the simulation: each fault does what it says, on tiny scenarios."""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import numpy as np
import pytest
import simpy
from coordinator_builders import PINNED_READINGS

from coordinator import (
    PROPERTY_NAMES,
    ConfigError,
    ReadWave,
    RecordBatchFinished,
    ScheduleTrigger,
    SetStatus,
    Status,
    new_import,
)
from sim.db import Database
from sim.faultmatrix import MATRIX_BASE, fault_matrix
from sim.faults import READS, FaultCounts, Faults, ReplicaView, WorkerCrashed
from sim.faultsettings import FAULT_DEFAULTS, FAULT_PRESETS, FAULTS, swarm_choice, swarm_settings
from sim.faultworker import WorkerFaults
from sim.queue import BATCH, LISTENER, TRIGGER
from sim.replaycmd import replay_command
from sim.rng import Streams
from sim.run import run_one
from sim.scenario import PRESETS, Scenario
from sim.workers import Shell

TINY = PRESETS["rapid-completions"].with_settings(waves=3, wave_size=10, horizon_s=2000, switches=PINNED_READINGS)


def shell_run(scenario: Scenario, trace: bool = False) -> Shell:
    shell = Shell(scenario)
    if trace:
        shell.db.trace = []
    shell.run()
    return shell


def final_rows(shell: Shell) -> list[tuple[str, int, int, int]]:
    table = shell.final if shell.final is not None else shell.db.table
    return [(r.status.value, r.completed_batches, r.failed_batches, r.distinct_finished) for r in table.rows]


# -- settings ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("setting", "value", "message"), [
    ("crash_rate", 1.5, "crash_rate must be between 0 and 1, got 1.5"),
    ("event_loss_rate", math.nan, "event_loss_rate must be between 0 and 1, got nan"),
    ("replica_lag_ms", -1.0, "replica_lag_ms must be between 0 and 1e+09, got -1.0"),
    ("retry_after_s", math.inf, "retry_after_s must be between 0 and 86400, got inf"),
    ("batch_tries", 0, "batch_tries must be between 1 and 1000, got 0"),
    ("handler_death_rate", "often", "handler_death_rate must be a number between 0 and 1, got 'often'"),
    ("swarm", "yes", "swarm must be true or false, got 'yes'"),
])
def test_bad_fault_settings_are_refused_with_one_clear_message(setting: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        kwargs: dict[str, Any] = {setting: value}
        Scenario(**kwargs)
    assert str(err.value) == message


def test_faults_are_off_by_default_and_a_run_without_them_uses_the_plain_workers() -> None:
    s = Scenario()
    assert {k: getattr(s, k) for k in FAULT_DEFAULTS} == FAULT_DEFAULTS and s.swarm is False
    assert Shell(TINY).faults is None
    # retry_after_s and batch_tries shape faults but are not faults themselves
    assert Shell(TINY.with_settings(retry_after_s=5, batch_tries=3)).faults is None
    # one fault on: the fault-aware loop runs, and what struck is counted (each lost event is a listener
    # job that never ran; queued listeners make that countable)
    lossy = shell_run(TINY.with_settings(policy="atomic", listener="queued", event_loss_rate=0.1))
    assert lossy.faults is not None
    lost = lossy.faults.counts.events_lost
    assert lost > 0 and lossy.faults.counts == FaultCounts(events_lost=lost)
    assert lossy.jobs_run[LISTENER] == lossy.jobs_run[BATCH] - lost


def test_a_fault_that_never_strikes_changes_nothing() -> None:
    # guarded has no auto-trigger: with trigger faults on, its workers run the fault-aware loop,
    # draw nothing that matters, and every run is the run without faults
    for seed in range(3):
        clean = run_one(TINY.with_settings(policy="guarded", seed=seed))
        idle = run_one(TINY.with_settings(policy="guarded", seed=seed, trigger_loss_rate=1.0, clock_skew_s=3.0))
        assert (idle.metrics, idle.properties, idle.table) == (clean.metrics, clean.properties, clean.table)
        armed = shell_run(idle.scenario)  # the faults were armed, and nothing struck
        assert armed.faults is not None and armed.faults.counts == FaultCounts()


# -- lost and duplicated events ---------------------------------------------------------------

def test_with_every_event_lost_guarded_and_seed_fix_stall_at_wave_1_and_atomic_completes() -> None:
    lost = TINY.with_settings(event_loss_rate=1.0)
    outcomes = {p: run_one(lost.with_settings(policy=p)) for p in ("guarded", "seed-fix", "atomic")}
    assert {p: (r.outcome, r.metrics["stall_wave"], r.metrics["waves_completed"]) for p, r in outcomes.items()} == {
        "guarded": ("stalled", 1, 0), "seed-fix": ("stalled", 1, 0), "atomic": ("completed", None, 3),
    }
    assert not outcomes["guarded"].properties["no_stall"]["holds"]
    assert outcomes["atomic"].properties["import_completes"]["holds"]


def test_every_event_delivered_twice_runs_each_queued_listener_twice() -> None:
    queued = TINY.with_settings(policy="atomic", listener="queued")
    clean, doubled = shell_run(queued), shell_run(queued.with_settings(event_duplicate_rate=1.0))
    assert doubled.faults is not None
    batches = TINY.waves * TINY.wave_size
    assert doubled.faults.counts == FaultCounts(events_duplicated=batches)
    assert doubled.jobs_run[BATCH] == clean.jobs_run[BATCH] == batches
    assert (clean.jobs_run[LISTENER], doubled.jobs_run[LISTENER]) == (batches, 2 * batches)


# -- crashes ----------------------------------------------------------------------------------

def test_a_crash_after_the_commit_runs_and_counts_the_batch_twice_after_retry_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker that dies after its batch committed (before the ack) leaves a batch that runs and is
    counted again; one that dies mid-work leaves a batch first recorded on its redelivery. Either way
    the job comes back ``retry_after_s`` after it was reserved."""
    crashes: list[WorkerCrashed] = []
    seen = WorkerFaults.crashed

    def spy(self: WorkerFaults, job: tuple[int, ...], cause: object) -> None:
        assert isinstance(cause, WorkerCrashed)
        crashes.append(cause)
        seen(self, job, cause)

    monkeypatch.setattr(WorkerFaults, "crashed", spy)
    scenario = TINY.with_settings(policy="atomic", waves=1, wave_size=4, crash_rate=0.5, batch_tries=3, seed=2)
    shell = shell_run(scenario, trace=True)
    assert shell.outcome == "completed" and shell.db.trace is not None
    records: dict[int, list[float]] = {}
    for t, _, e, _ in shell.db.trace:
        if isinstance(e, RecordBatchFinished):
            records.setdefault(e.batch, []).append(t)
    after = {c.batch: c for c in crashes if c.after_record}
    during = {c.batch: c for c in crashes if not c.after_record}
    assert after and during, "this seed should crash a worker both ways"
    for batch, times in records.items():
        if batch in after:  # committed, crashed before the ack: redelivered and recorded again
            assert len(times) == 2 and times[1] >= after[batch].reserved_at + scenario.retry_after_s
        else:  # a crash mid-work recorded nothing: the redelivery is its first record
            assert len(times) == 1
        if batch in during:
            assert times[0] >= during[batch].reserved_at + scenario.retry_after_s
    assert sorted(records) == list(range(scenario.wave_size))
    assert final_rows(shell) == [("completed", scenario.wave_size + len(after), 0, scenario.wave_size)]
    assert shell.faults is not None and shell.faults.counts == FaultCounts(crashes=len(crashes))
    assert shell.jobs_run[BATCH] == scenario.wave_size + len(crashes)


def test_a_job_reserved_more_often_than_its_tries_fails_without_running() -> None:
    shell = shell_run(TINY.with_settings(policy="atomic", waves=1, wave_size=2, crash_rate=1.0, batch_tries=1))
    assert shell.faults is not None
    # each batch crashes on its one try; on redelivery it has no try left and is recorded failed
    assert shell.faults.counts == FaultCounts(crashes=2, batches_failed=2)
    assert shell.jobs_run[BATCH] == 4
    assert final_rows(shell)[0][2] == 2


# -- failed batches ---------------------------------------------------------------------------

def test_batches_that_fail_every_try_leave_wave_1_never_completed_without_a_reconciler() -> None:
    for policy in ("original", "guarded", "seed-fix"):
        shell = shell_run(TINY.with_settings(policy=policy, batch_failure_rate=1.0, batch_tries=2))
        assert shell.outcome == "stalled"
        assert final_rows(shell) == [("processing", 0, 10, 10), ("pending", 0, 0, 0), ("pending", 0, 0, 0)]
        assert shell.jobs_run[BATCH] == 20  # two tries each, and only wave 1's ten batches ever ran
        assert shell.faults is not None and shell.faults.counts == FaultCounts(failed_tries=20, batches_failed=10)
    # the core counts a failed batch as finished, so atomic's reconciler completes the waves
    shell = shell_run(TINY.with_settings(policy="atomic", batch_failure_rate=1.0, batch_tries=2))
    assert shell.outcome == "completed"
    assert final_rows(shell) == [("completed", 0, 10, 10)] * 3


@pytest.mark.parametrize("fires", [False, True])
def test_a_batch_failed_for_good_fires_its_listener_only_under_failed_batch_fires(fires: bool) -> None:
    # every try fails and there is one try: each batch is recorded failed (it counts as finished)
    scenario = TINY.with_settings(policy="guarded", listener="queued", batch_failure_rate=1.0, batch_tries=1,
                                  switches={**dict(TINY.switches), "failed_batch_fires": fires})
    shell = shell_run(scenario)
    assert shell.faults is not None
    failed = shell.faults.counts.batches_failed
    # one queued listener job per failed batch, or none: the switch is the only difference
    assert shell.jobs_run[LISTENER] == (failed if fires else 0)
    if fires:  # the listeners check their batch's wave and mark it completed, so the import goes on
        assert shell.outcome == "completed" and final_rows(shell) == [("completed", 0, 10, 10)] * 3
    else:  # no event after wave 1's last batch: nothing marks it completed
        assert shell.outcome == "stalled" and failed == 10
        assert final_rows(shell) == [("processing", 0, 10, 10), ("pending", 0, 0, 0), ("pending", 0, 0, 0)]


# -- replica lag ------------------------------------------------------------------------------

def test_a_replica_read_sees_the_table_as_it_was_one_lag_ago_unless_the_run_wrote() -> None:
    env = simpy.Environment()
    scenario = Scenario(db_sigma=0.0)  # reads 2 ms, writes 5 ms exactly
    db = Database(env, new_import(job_id=1, waves=2, wave_size=5), Streams(scenario), 5, lambda *a: None)
    counts = FaultCounts()
    db.replica = ReplicaView(db.table, lambda: 1.0, counts)
    seen: dict[str, object] = {}

    def writer() -> Generator[Any, object, object]:
        yield SetStatus(job_id=1, wave=1, status=Status.DISPATCHING)
        row = yield ReadWave(job_id=1, wave=1)
        return row.status  # type: ignore[attr-defined]

    def reader() -> Generator[Any, object, object]:
        row = yield ReadWave(job_id=1, wave=1)
        return row.status  # type: ignore[attr-defined]

    def at(name: str, start: float, program: Generator[Any, object, object]) -> Generator[Any, Any, None]:
        yield env.timeout(start)
        seen[name] = yield from db.run(program)

    env.process(at("writer", 0.0, writer()))
    env.process(at("reader at 0.5 s", 0.5, reader()))
    env.process(at("reader at 2 s", 2.0, reader()))
    env.run()
    assert seen == {"writer": Status.DISPATCHING, "reader at 0.5 s": Status.PENDING,
                    "reader at 2 s": Status.DISPATCHING}
    assert counts.stale_reads == 1
    assert db.table.rows[0].status is Status.DISPATCHING
    assert ReadWave in READS and SetStatus not in READS


def test_replica_lag_makes_guarded_dispatch_a_wave_twice() -> None:
    result = run_one(TINY.with_settings(policy="guarded", replica_lag_ms=200.0))
    clean = run_one(TINY.with_settings(policy="guarded"))
    assert clean.properties["no_duplicate_push"]["holds"]
    assert not result.properties["no_duplicate_push"]["holds"]
    assert result.metrics["duplicate_dispatches"] > 0


# -- the auto-trigger -------------------------------------------------------------------------

def test_lost_triggers_never_run() -> None:
    slow = TINY.with_settings(policy="seed-fix", batch_mean_s=1.0)
    kept = shell_run(slow)
    lost = shell_run(slow.with_settings(trigger_loss_rate=1.0), trace=True)
    assert kept.jobs_run[TRIGGER] > 0
    assert lost.jobs_run[TRIGGER] == 0
    assert lost.db.trace is not None and lost.faults is not None
    scheduled = sum(isinstance(e, ScheduleTrigger) for _, _, e, _ in lost.db.trace)
    assert scheduled > 0 and lost.faults.counts == FaultCounts(triggers_lost=scheduled)  # every one lost


def test_clock_skew_makes_the_trigger_come_due_early_or_late_never_before_now() -> None:
    def delays() -> list[float | None]:
        faults = Faults(Scenario(clock_skew_s=2.0), np.random.default_rng(7))
        return [faults.trigger_delay(2.0) for _ in range(200)]

    first = delays()
    assert first == delays()  # one seed, one sequence
    values = [d for d in first if d is not None]
    assert len(values) == 200
    assert min(values) == 0.0  # some come due at once
    assert any(0.0 < d < 2.0 for d in values) and any(d > 2.0 for d in values)


# -- handler death ----------------------------------------------------------------------------

def test_a_handler_that_dies_between_check_and_act_reads_and_never_writes() -> None:
    for policy in ("original", "guarded", "seed-fix"):
        shell = shell_run(TINY.with_settings(policy=policy, handler_death_rate=1.0), trace=True)
        assert shell.db.trace is not None
        assert shell.outcome == "stalled"
        assert shell.db.trace and all(type(e) in READS for _, _, e, _ in shell.db.trace)
        assert final_rows(shell) == [("pending", 0, 0, 0)] * 3
    shell = shell_run(TINY.with_settings(policy="atomic", handler_death_rate=1.0), trace=True)
    assert (shell.outcome, shell.db.trace) == ("stalled", [])  # advance() writes first


# -- determinism and swarm --------------------------------------------------------------------

def test_one_seed_reproduces_a_run_with_every_fault_on() -> None:
    settings: dict[str, Any] = {}
    for name in FAULTS:
        settings.update(FAULT_PRESETS[name])
    settings["batch_tries"] = 3
    for policy in ("original", "atomic"):
        scenario = TINY.with_settings(policy=policy, seed=11, **settings)
        assert run_one(scenario).to_json() == run_one(scenario).to_json()


def test_swarm_turns_on_a_reproducible_non_empty_subset_per_seed() -> None:
    choices = [swarm_choice(seed) for seed in range(64)]
    assert choices == [swarm_choice(seed) for seed in range(64)]
    assert all(c and set(c) <= set(FAULTS) for c in choices)
    assert len(set(choices)) > 10
    for seed in (0, 5):
        s = TINY.with_settings(swarm=True, seed=seed)
        assert {k: getattr(s, k) for k in FAULT_DEFAULTS} == swarm_settings(seed)
    # the seed decides every fault setting: a new seed does not keep the old seed's faults
    moved = TINY.with_settings(swarm=True, seed=0).with_settings(seed=5)
    assert moved == TINY.with_settings(swarm=True, seed=5)
    assert TINY.with_settings(swarm=True, seed=5, crash_rate=0.9).crash_rate == swarm_settings(5)["crash_rate"]


def test_a_swarm_run_is_the_run_of_the_faults_it_chose() -> None:
    swarm = TINY.with_settings(policy="seed-fix", swarm=True, seed=3)
    same = TINY.with_settings(policy="seed-fix", seed=3, **swarm_settings(3))
    a, b = run_one(swarm), run_one(same)
    assert a.to_json() == run_one(swarm).to_json()
    assert (a.metrics, a.properties) == (b.metrics, b.properties)
    assert a.to_dict()["scenario"]["swarm"] is True


def test_the_replay_command_names_the_preset_and_every_changed_setting() -> None:
    s = TINY.with_settings(policy="guarded", seed=4, event_loss_rate=0.05, batch_tries=3)
    assert replay_command(s) == (
        "wavesim run --preset rapid-completions --policy guarded --seed 4 --waves 3 --wave-size 10 --horizon-s 2000 "
        "--event-loss-rate 0.05 --batch-tries 3 --switch batch_wave_check=none --switch current_wave_rule=lowest-active"
    )
    assert replay_command(TINY.with_settings(swarm=True, seed=2)) == (
        "wavesim run --preset rapid-completions --policy original --seed 2 --waves 3 --wave-size 10 --horizon-s 2000 "
        "--swarm --switch batch_wave_check=none --switch current_wave_rule=lowest-active"
    )


# -- the matrix -------------------------------------------------------------------------------

def test_the_fault_matrix_on_a_tiny_scenario() -> None:
    m = fault_matrix(TINY, ["guarded", "atomic"], ["none", "lost-event"], range(4))
    d = m.to_dict()
    assert d["seeds"] == [0, 3] and d["policies"] == ["guarded", "atomic"] and d["faults"] == ["none", "lost-event"]
    assert "policy" not in d["scenario"] and d["scenario"]["waves"] == 3
    # each cell is its runs, one per seed, each run as run_one gives it
    for policy in ("guarded", "atomic"):
        for fault in ("none", "lost-event"):
            runs = {seed: run_one(TINY.with_settings(policy=policy, seed=seed, **FAULT_PRESETS[fault])).properties
                    for seed in range(4)}
            failing = {n: [seed for seed, props in runs.items() if not props[n]["holds"]] for n in PROPERTY_NAMES}
            assert d["cells"][policy][fault] == {
                "runs": 4, "held": {n: 1 - len(failing[n]) / 4 for n in PROPERTY_NAMES}, "failing_seeds": failing,
            }, (policy, fault)
    guarded, atomic = d["cells"]["guarded"]["lost-event"], d["cells"]["atomic"]["lost-event"]
    # guarded overlaps waves by design, and a lost event stalls it on some seeds; atomic's reconciler does not
    assert guarded["held"]["single_active_wave"] == 0.0 and guarded["failing_seeds"]["no_stall"]
    assert guarded["failing_seeds"]["no_stall"] == guarded["failing_seeds"]["import_completes"]
    assert atomic["held"]["import_completes"] == 1.0 and atomic["failing_seeds"]["no_stall"] == []
    assert m.never_held() == ("single_active_wave",)
    assert m.replay("atomic", "lost-event") is None
    seed, fails, cmd = m.replay("guarded", "lost-event") or (0, (), "")
    # the first seed of the cell's rarest failure (single_active_wave fails everywhere, so it is left out)
    assert seed == guarded["failing_seeds"]["no_stall"][0]
    assert fails == tuple(n for n in PROPERTY_NAMES if seed in guarded["failing_seeds"][n])
    assert cmd == replay_command(TINY.with_settings(policy="guarded", seed=seed, **FAULT_PRESETS["lost-event"]))
    # parallel runs give the same matrix
    assert fault_matrix(TINY, ["guarded", "atomic"], ["none", "lost-event"], range(4), jobs=2).to_dict() == d
    table = m.table()
    assert "guarded  lost-event  0%" in table and cmd in table
    shares = " | ".join(f"{guarded['held'][n]:.0%}" for n in PROPERTY_NAMES)
    assert f"| guarded | lost-event | {shares} |" in m.to_markdown()


def test_the_matrix_refuses_an_unknown_fault() -> None:
    with pytest.raises(ConfigError, match="unknown fault 'meteor'; choose from: none, crash"):
        fault_matrix(TINY, ["atomic"], ["meteor"], range(2))


def test_the_default_matrix_scenario_is_the_reduced_incident() -> None:
    assert (MATRIX_BASE.preset, MATRIX_BASE.waves, MATRIX_BASE.wave_size, MATRIX_BASE.batch_sigma) == (
        "rapid-completions", 8, 20, 1.5)
    assert set(FAULT_PRESETS) == {"none", "swarm", *FAULTS} and len(FAULTS) == 8
