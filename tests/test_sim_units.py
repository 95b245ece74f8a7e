"""The harness's small parts: scenario validation, the queue, the window metric,
quiescence, the export format and the monitors (a property broken on purpose is
reported broken, with the time and the core's detail)."""

from __future__ import annotations

import pytest
import simpy

from coordinator import (
    PROPERTY_NAMES,
    ConfigError,
    EnqueueBatches,
    RecordBatchFinished,
    SetStatus,
    Status,
    WaveConfig,
    WaveRow,
    apply,
    new_import,
)
from sim.export import EPOCH, sim_time_to_iso
from sim.monitors import Monitors, max_in_window, quiescent
from sim.queue import BATCH, TRIGGER, JobQueue
from sim.scenario import PRESETS, Scenario, load_scenario_toml, preset
from tests.coordinator_builders import COMPLETED, CONFIG, DISPATCHING, JOB, PROCESSING, table, wave


def test_presets_carry_the_write_up_numbers() -> None:
    s = PRESETS["incident"]
    assert (s.waves, s.wave_size, s.threshold, s.auto_trigger_delay_s, s.policy) == (37, 50, 90, 2.0, "original")
    # the calibration that fits the write-up's timeline (wavesim readings --calibration)
    assert (s.workers, s.listener, s.batch_distribution, s.batch_mean_s, s.batch_sigma) == (
        20, "queued", "lognormal", 8.0, 0.5)
    rapid = PRESETS["rapid-completions"]  # the write-up's "rapid batch completions"
    assert (rapid.workers, rapid.listener, rapid.batch_distribution, rapid.batch_mean_s) == (
        10, "sync", "lognormal", 0.1)
    assert set(PRESETS) == {"light", "stragglers", "rapid", "rapid-completions", "incident"}
    assert s.config == WaveConfig(wave_size=50, completion_threshold=90, auto_trigger_delay_s=2.0)


@pytest.mark.parametrize(("settings", "message"), [
    ({"threshold": 0}, "threshold must be between 1 and 100, got 0"),
    ({"workers": 2.5}, "workers must be a whole number between 1 and 10000, got 2.5"),
    ({"policy": "fast"}, "policy must be one of original, guarded, seed-fix, atomic, got 'fast'"),
    ({"listener": "async"}, "listener must be one of sync, queued, got 'async'"),
    ({"batch_mean_s": -1.0}, "batch_mean_s must be between 1e-06 and 86400, got -1.0"),
    ({"db_sigma": float("nan")}, "db_sigma must be between 0 and 5, got nan"),
])
def test_bad_settings_raise_one_clear_line(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        Scenario().with_settings(**settings)
    assert str(err.value) == message


def test_unknown_setting_names_it_and_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"^unknown setting 'wave' in f.toml; known: preset, policy, seed, "):
        load_scenario_toml('wave = 3\n', source="f.toml")


def test_toml_starts_from_its_preset_and_overrides_it() -> None:
    s = load_scenario_toml('preset = "stragglers"\nwaves = 5\nworkers = 3\npolicy = "atomic"\n')
    assert s == PRESETS["stragglers"].with_settings(waves=5, workers=3, policy="atomic")
    with pytest.raises(ConfigError, match="threshold must be between 1 and 100, got 150 in x.toml"):
        load_scenario_toml("threshold = 150\n", source="x.toml")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_scenario_toml("waves = = 3\n")
    with pytest.raises(ConfigError, match="unknown preset 'nope'"):
        preset("nope")


def test_delayed_job_joins_the_back_of_the_ready_queue_when_due() -> None:
    env = simpy.Environment()
    depths: list[tuple[float, int]] = []
    q = JobQueue(env, lambda t, d: depths.append((t, d)))
    q.put_delayed((TRIGGER, 0, 0), 2.0)
    q.put_many([(BATCH, 1, b) for b in range(3)])
    env.run(until=2.5)
    q.put((BATCH, 2, 0))
    assert list(q.ready) == [(BATCH, 1, 0), (BATCH, 1, 1), (BATCH, 1, 2), (TRIGGER, 0, 0), (BATCH, 2, 0)]
    assert q.delayed == [] and q.ready_batches == 4
    assert depths == [(0.0, 3), (2.5, 4)]
    taken = q.get()
    assert taken.value == (BATCH, 1, 0) and q.ready_batches == 3


def test_an_idle_worker_gets_a_pushed_job_directly() -> None:
    env = simpy.Environment()
    q = JobQueue(env, lambda t, d: None)
    waiting = q.get()
    q.put_many([(BATCH, 1, 0), (BATCH, 1, 1)])
    assert waiting.value == (BATCH, 1, 0) and list(q.ready) == [(BATCH, 1, 1)] and q.ready_batches == 1
    # handed out before the worker even woke: in flight, so the queue is not quiescent
    assert q.unfinished == 1
    q.get()
    assert q.unfinished == 2 and not q.ready
    q.task_done()
    q.task_done()
    assert q.unfinished == 0 and q.empty()


def test_max_in_window_counts_the_busiest_second() -> None:
    assert max_in_window([]) == 0
    assert max_in_window([0.0, 0.5, 0.99, 1.0, 1.2, 5.0]) == 4  # 0.5, 0.99, 1.0, 1.2
    assert max_in_window([3.0, 1.0, 2.0]) == 1  # windows are half-open: [t, t + 1)
    assert max_in_window([1.0, 1.0, 1.0], width=0.1) == 3


def test_quiescent_needs_every_count_at_zero() -> None:
    assert quiescent(ready=0, delayed=0, running=0, handlers=0)
    for name in ("ready", "delayed", "running", "handlers"):
        counts = {"ready": 0, "delayed": 0, "running": 0, "handlers": 0, name: 1}
        assert not quiescent(**counts)


def test_sim_time_to_iso_adds_seconds_to_the_incident_day() -> None:
    assert EPOCH.isoformat() == "2025-09-30T13:13:00+00:00"
    assert sim_time_to_iso(0.0) == "2025-09-30T13:13:00.000Z"
    assert sim_time_to_iso(41.2346) == "2025-09-30T13:13:41.235Z"
    assert sim_time_to_iso(41.2344) == "2025-09-30T13:13:41.234Z"
    assert sim_time_to_iso(3600 * 11 + 0.0004) == "2025-10-01T00:13:00.000Z"
    assert sim_time_to_iso(None) == ""


def test_monitors_report_properties_broken_on_purpose() -> None:
    config = WaveConfig(wave_size=2, completion_threshold=50)
    mon = Monitors(config)
    t0 = new_import(job_id=1, waves=3, wave_size=2)
    steps = [
        (SetStatus(job_id=1, wave=1, status=Status.DISPATCHING), 1.0),
        (EnqueueBatches(job_id=1, wave=1), 1.5),
        (SetStatus(job_id=1, wave=2, status=Status.DISPATCHING), 2.0),  # wave 1 has 0/2 finished
        (SetStatus(job_id=1, wave=2, status=Status.DISPATCHING), 2.2),  # a second run told it owns wave 2
        (RecordBatchFinished(job_id=1, wave=1, batch=0), 2.5),
        (EnqueueBatches(job_id=1, wave=1), 3.0),  # wave 1 again
    ]
    table = t0
    for effect, now in steps:
        before = table
        table, _ = apply(before, effect, now)
        mon.after_write(effect, before, table, now)
    mon.after_enqueue(4, 3.0)
    mon.after_enqueue(5, 3.5)  # bound is 2 + (2 - 1) = 3
    assert mon.at_quiescence(table, 4.0) is True
    mon.at_end(table, 4.0, horizon=False)
    got = mon.to_dict()
    assert list(got) == list(PROPERTY_NAMES)
    assert got == {
        "single_active_wave": {"holds": False, "first_violation_s": 2.0, "detail": "2 waves active at once: 1, 2"},
        "one_wave_below_threshold": {
            "holds": False, "first_violation_s": 2.0, "detail": "2 active waves below 50%: 1, 2"},
        "threshold_respected": {
            "holds": False, "first_violation_s": 2.0,
            "detail": "wave 2 dispatched while wave 1 had 0/2 batches finished (needs 1)"},
        "no_duplicate_claim": {
            "holds": False, "first_violation_s": 2.2,
            "detail": "1 wave(s) claimed by more than one run: wave 2 told to 2 runs"},
        "no_duplicate_push": {
            "holds": False, "first_violation_s": 3.0, "detail": "1 wave(s) dispatched more than once: wave 1 x2"},
        "queue_bounded": {
            "holds": False, "first_violation_s": 3.0, "detail": "4 batch jobs queued, above the bound of 3"},
        "no_stall": {
            "holds": False, "first_violation_s": 4.0,
            "detail": "stalled at wave 1: nothing left to run, wave 1 dispatching, wave 2 dispatching, wave 3 pending"},
        "import_completes": {
            "holds": False, "first_violation_s": 4.0, "detail": "3 wave(s) never completed: 1, 2, 3"},
    }


def test_monitors_keep_holding_when_nothing_breaks() -> None:
    config = WaveConfig(wave_size=1, completion_threshold=100)
    mon = Monitors(config)
    table = new_import(job_id=1, waves=1, wave_size=1)
    for effect in (SetStatus(job_id=1, wave=1, status=Status.DISPATCHING), EnqueueBatches(job_id=1, wave=1),
                   SetStatus(job_id=1, wave=1, status=Status.PROCESSING),
                   RecordBatchFinished(job_id=1, wave=1, batch=0),
                   SetStatus(job_id=1, wave=1, status=Status.COMPLETED)):
        before = table
        table, _ = apply(before, effect, 1.0)
        mon.after_write(effect, before, table, 1.0)
    mon.after_enqueue(1, 1.0)
    assert mon.at_quiescence(table, 2.0) is False
    mon.at_end(table, 2.0, horizon=False)
    assert all(v["holds"] and v["first_violation_s"] is None for v in mon.to_dict().values())
    assert mon.to_dict()["import_completes"]["detail"] == "all 1 waves completed"


def _same_instant_order(seed: int) -> list[int]:
    from sim.clock import SeededEnvironment
    from sim.rng import Streams

    env = SeededEnvironment(Streams(Scenario(seed=seed)).ties)
    order: list[int] = []
    for n in range(8):
        env.timeout(1.0).callbacks.append(lambda _e, n=n: order.append(n))  # type: ignore[union-attr]
    env.timeout(0.5).callbacks.append(lambda _e: order.append(-1))  # type: ignore[union-attr]
    env.run()
    return order


def test_same_instant_events_run_in_a_seeded_order() -> None:
    orders = {seed: _same_instant_order(seed) for seed in range(4)}
    for order in orders.values():
        assert order[0] == -1 and sorted(order[1:]) == list(range(8))  # time first, ties shuffled
    assert orders[0] == _same_instant_order(0)
    assert len({tuple(o) for o in orders.values()}) > 1


@pytest.mark.parametrize(("predecessor_later", "sampled", "holds"), [
    (wave(1, COMPLETED, done=4), True, True),     # pending, then at its threshold: within one sampling gap
    (wave(1, COMPLETED, done=4), False, False),   # as two sides of one write, that is an early dispatch
    (wave(1, PROCESSING, done=1), True, False),   # below the threshold even in the later sample
])
def test_sampled_tables_blame_only_a_dispatch_the_samples_prove_early(
        predecessor_later: WaveRow, sampled: bool, holds: bool) -> None:
    mon = Monitors(CONFIG, sampled=sampled)
    earlier = table(wave(1), wave(2))
    later = table(predecessor_later, wave(2, DISPATCHING))
    mon.after_write(SetStatus(job_id=JOB, wave=2, status=DISPATCHING), earlier, later, 1.0)
    assert mon.verdicts["threshold_respected"].holds is holds
