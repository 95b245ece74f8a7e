"""A built-in scenario as a run of the write-up's spec (``coordinator/writeup.py``): one function,
``spec_settings_for``, says where each setting goes, and refuses with one line a setting the spec path
cannot honour.

``HOMES`` names each scenario setting's place in the spec run: a scope entry, a switch, or a
``SpecSettings`` field; ``REFUSED`` the settings the spec path cannot take, and why. The write-up's
listener is queued on the ``import`` queue (``ShouldQueue``, the ``incident`` preset), so the spec's
listener jobs and the auto-trigger's re-check run on ``import`` (``queue_of``) and its ``listeners``
queue keeps one idle worker; a listener job and the delayed job take no time of their own, as a handler
run in the built-in run takes none besides its statements.
"""

from __future__ import annotations

from coordinator.errors import ConfigError
from coordinator.policy import switch_text
from coordinator.writeup_programs import LISTENERS_ON_IMPORT, MAX_WAVE_SIZE, SYNC_LISTENER_REFUSED
from sim.faultsettings import FAULT_RATES
from sim.scenario import Scenario
from sim.specsettings import SpecSettings

__all__ = ["AUTO_TRIGGER_DELAY_S", "HOMES", "REFUSED", "spec_settings_for"]

#: the write-up spec's auto-trigger delay (``push("auto_trigger", delay=2.0)``, the write-up's 2 s)
AUTO_TRIGGER_DELAY_S = 2.0

#: where each scenario setting goes in the spec run (``spec_settings_for``)
HOMES: dict[str, str] = {
    "policy": "scope switch `policy`",
    "switches": "scope switches of the same names",
    "seed": "`seed` (the same four streams: `SeedSequence(seed).spawn` gives the same first children)",
    "waves": "scope `waves`", "wave_size": f"scope `wave_size` (at most {MAX_WAVE_SIZE})",
    "threshold": "scope `threshold`", "workers": "scope `workers` (the `import` queue's workers)",
    "listener": "`queue_of`: `batch_job_completed` and `trigger` run on `import`; scope `handlers` = 1, idle",
    "auto_trigger_delay_s": f"the spec's delayed push ({AUTO_TRIGGER_DELAY_S:g} s); another value is refused",
    "batch_distribution": "`duration_distribution`", "batch_mean_s": "`durations`: `batch`",
    "batch_sigma": "`duration_sigma`",
    "db_read_ms": "`statement_ms` (every SELECT, BEGIN, COMMIT, ROLLBACK)",
    "db_write_ms": "`write_ms` (every INSERT, UPDATE, DELETE)", "db_sigma": "`db_sigma`",
    "enqueue_ms_per_job": "`push_ms` with `push_per_job` on",
    "horizon_s": "`horizon_s`", "max_events": "`max_events` (the spec run's own events)",
    "retry_after_s": "`retry_after_s` (read only by a crash, and faults are refused)",
    "preset": "the name only",
}

#: what the spec path refuses, and why
REFUSED: dict[str, str] = {
    "listener=sync": SYNC_LISTENER_REFUSED,
    "faults": "the built-in run's faults (a crash after the record, a lost event, replica lag, ...) are not "
              "the spec's (a crash at any step, a throw, a duplicate, a lost delayed job)",
}


def _refuse(scenario: Scenario) -> None:
    if scenario.listener != "queued":
        raise ConfigError(f"listener={scenario.listener} cannot run through the spec: {REFUSED['listener=sync']}")
    if scenario.auto_trigger_delay_s != AUTO_TRIGGER_DELAY_S:
        raise ConfigError(f"auto_trigger_delay_s={scenario.auto_trigger_delay_s:g} cannot run through the spec: "
                          f"its delayed push waits {AUTO_TRIGGER_DELAY_S:g} s")
    on = [name for name in (*FAULT_RATES, "replica_lag_ms", "clock_skew_s") if getattr(scenario, name) > 0]
    if on or scenario.swarm:
        raise ConfigError(f"{(on or ['swarm'])[0]} cannot run through the spec: {REFUSED['faults']}")
    if scenario.wave_size > MAX_WAVE_SIZE:
        raise ConfigError(f"wave_size={scenario.wave_size} cannot run through the spec: at most {MAX_WAVE_SIZE} "
                          "(one finished_<k> column per batch)")


def spec_settings_for(scenario: Scenario) -> SpecSettings:
    """The spec run of ``scenario`` (``HOMES`` says where each setting goes); ``ConfigError`` (one line) for a
    setting the spec path cannot honour (``REFUSED``)."""
    _refuse(scenario)
    s = scenario
    scope = (("policy", s.policy), ("waves", str(s.waves)), ("wave_size", str(s.wave_size)),
             ("threshold", str(s.threshold)), ("workers", str(s.workers)), ("handlers", "1"),
             *((name, switch_text(value)) for name, value in s.switches))
    return SpecSettings(
        seed=s.seed, statement_ms=s.db_read_ms, write_ms=s.db_write_ms, db_sigma=s.db_sigma,
        push_ms=s.enqueue_ms_per_job, push_per_job=True,
        durations=(("batch", s.batch_mean_s), ("batch_job_completed", 0.0), ("auto_trigger", 0.0),
                   ("trigger", 0.0), ("reconciler", 0.0)),
        duration_distribution=s.batch_distribution, duration_sigma=s.batch_sigma,
        queue_of=LISTENERS_ON_IMPORT,
        retry_after_s=s.retry_after_s, horizon_s=s.horizon_s, max_events=s.max_events, scope=scope,
    )
