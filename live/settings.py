"""``LiveSettings``: every setting of one live run, validated and frozen.

A live run is real: real processes, a real database, a real queue. Its times
are *scenario seconds* scaled down by ``scale`` (wall seconds per scenario
second), so that a batch of 1 s runs for ``scale`` s of wall time and the
whole import takes seconds. Database and queue latencies are not scaled: they
are whatever the engine takes, which is the point of a live run.

Defaults and why:

* ``waves = 20``, ``wave_size = 20``, ``workers = 8``: a scaled-down import that
  ends in seconds; the write-up's 37 x 50 runs too, it just takes longer.
* ``scale = 0.02``: a 1 s batch runs 20 ms; the 2 s auto-trigger fires after
  40 ms; ``retry_after`` 90 s (Laravel's default) becomes 1.8 s.
* ``tries = 3``: a job reserved more often than this is failed instead of run
  (Laravel's ``--tries``; Horizon's shipped default is 1, which would turn every
  redelivered batch into a failed one; 3 is the common production setting).
* ``deadline_s = 60`` (wall seconds): the global deadline. A run that reaches it
  is reported with outcome ``deadline`` and every process is killed.
* ``stall_after_s = 3`` (scenario seconds beyond the auto-trigger delay and the
  reconciler period): how long the queue must stay empty and the table unchanged
  before the run is called stalled, and never less than ``stall_min_wall_s = 2`` wall
  seconds: a handler run in flight off the queue (a reconciler tick whose push
  waits on a lock) is invisible to the supervisor, and a real push or lock wait
  can take longer than a scaled-down window (we saw a false stall on MariaDB
  with a 0.2 s window).
* ``progress_min_wall_s = 5`` (wall seconds): a run in which jobs wait in the
  queue but no wave row changes (no batch finished, no status moved) is ended as
  ``no-progress`` after the stall window plus ``retry_after`` (a killed worker's
  job comes back only then) plus 20 mean batch durations (an exponential batch
  outlasts that once in e^20) plus the slow statement's hold when that fault is
  on, and never before this many wall seconds: workers that cannot start, or
  that all fail every job, are reported in seconds, not at the deadline.
* ``sample_ms = 5`` (wall): how often the monitor reads the real wave table and
  queue for the time series; a state shorter than that can be missed (the
  dispatch log and the final table are exact).
* ``step_s = 5`` (scenario seconds; 100 ms of wall time at the default scale): a live run of a spec
  (``live/specrun.py``) pauses this long before each step of a job, as the application's own code
  between two statements takes time. Without it a job's statements follow each other within a
  millisecond and a race between two jobs (the tutorial's read after its decrement) almost never
  shows; it is longer than the lag between two workers' first pops on a loaded machine, so that the
  race shows in most runs (``tests/test_live_spec.py`` runs it); 0 runs the steps back to back. The
  write-up's coordinator does not read it.
* Faults are all off by default; ``faults=True`` turns on the standard mix
  (``FAULT_MIX``) that the 200-import runs use.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from coordinator import POLICIES, ConfigError, Policy, WaveConfig, policy_named
from coordinator.policy import with_given

__all__ = ["FAULT_MIX", "FAULT_RATES", "LISTENERS", "LiveSettings"]

LISTENERS = ("sync", "queued")

#: fault name -> what it does (each a rate in 0..1; see live/faults.py)
FAULT_RATES = {
    "kill_rate": "chance a worker kill -9s itself at each of its crash points (claim/push, transaction, batch)",
    "drop_rate": "chance a handler run's DB connection is dropped by the server before one of its steps",
    "lock_rate": "chance per chaos tick that another session holds the wave rows locked for lock_hold_s",
    "lose_delayed_rate": "chance a delayed job (auto-trigger) is deleted from the queue before it is due",
    "duplicate_rate": "chance per chaos tick that a reserved job's reservation is expired, so it is delivered twice",
}

#: the faults of ``--faults``: every kind on, at rates that hit each several times per import
FAULT_MIX = {"kill_rate": 0.004, "drop_rate": 0.01, "lock_rate": 0.05, "lose_delayed_rate": 0.3,
             "duplicate_rate": 0.1}


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveSettings:
    """Every setting of one live run (see the module docstring for defaults)."""

    policy: str = "atomic"
    seed: int = 0
    waves: int = 20
    wave_size: int = 20
    threshold: int = 90
    workers: int = 8
    listener: str = "sync"
    batch_mean_s: float = 1.0
    auto_trigger_delay_s: float = 2.0
    retry_after_s: float = 90.0
    tries: int = 3
    scale: float = 0.02
    deadline_s: float = 60.0
    stall_after_s: float = 3.0
    stall_min_wall_s: float = 2.0
    progress_min_wall_s: float = 5.0
    sample_ms: float = 5.0
    chaos_period_s: float = 0.5
    lock_hold_s: float = 4.0
    step_s: float = 5.0
    kill_rate: float = 0.0
    drop_rate: float = 0.0
    lock_rate: float = 0.0
    lose_delayed_rate: float = 0.0
    duplicate_rate: float = 0.0
    #: a named kill: the first ``kill_at_times`` times any worker reaches a crash point whose
    #: name starts with this, it kill -9s itself there ("" = off); for tests and replays
    kill_at: str = ""
    kill_at_times: int = 1
    #: policy switches on top of the named policy (``--switch``), as sorted (name, value) pairs; a
    #: switch this policy would not read is left out of it (a command runs several policies)
    switches: tuple[tuple[str, object], ...] = ()

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ConfigError(f"policy must be one of: {', '.join(POLICIES)}; got {self.policy!r}")
        object.__setattr__(self, "switches", tuple(sorted(dict(self.switches).items())))
        self.resolve()  # an unknown switch or value is refused here, in the parent
        if self.listener not in LISTENERS:
            raise ConfigError(f"listener must be one of: {', '.join(LISTENERS)}; got {self.listener!r}")
        for name, low, high in (("seed", 0, 2**63 - 1), ("waves", 1, 10_000), ("wave_size", 1, 10_000),
                                ("threshold", 1, 100), ("workers", 1, 64), ("tries", 1, 100),
                                ("kill_at_times", 0, 1000)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ConfigError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
        for name in ("batch_mean_s", "auto_trigger_delay_s", "retry_after_s", "scale", "deadline_s", "stall_after_s",
                     "stall_min_wall_s", "progress_min_wall_s", "sample_ms", "chaos_period_s", "lock_hold_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value <= 0:
                raise ConfigError(f"{name} must be a number above 0, got {value!r}")
            object.__setattr__(self, name, float(value))
        if isinstance(self.step_s, bool) or not isinstance(self.step_s, (int, float)) or \
                not math.isfinite(self.step_s) or self.step_s < 0:
            raise ConfigError(f"step_s must be a number from 0 up, got {self.step_s!r}")
        object.__setattr__(self, "step_s", float(self.step_s))
        for name in FAULT_RATES:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ConfigError(f"{name} must be a number from 0 to 1, got {value!r}")
            object.__setattr__(self, name, float(value))

    def resolve(self) -> Policy:
        """The policy every process of the run executes: the named one with ``switches``."""
        return with_given(policy_named(self.policy), dict(self.switches), lenient=True)

    @property
    def config(self) -> WaveConfig:
        return WaveConfig(wave_size=self.wave_size, completion_threshold=self.threshold,
                          auto_trigger_delay_s=self.auto_trigger_delay_s)

    @property
    def faults_on(self) -> bool:
        return bool(self.kill_at) or any(getattr(self, name) > 0 for name in FAULT_RATES)

    def wall(self, scenario_s: float) -> float:
        """Scenario seconds as wall seconds."""
        return scenario_s * self.scale

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["switches"] = dict(self.switches)
        return out

    def with_settings(self, **settings: Any) -> LiveSettings:
        known = {f.name for f in fields(self)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ConfigError(f"unknown live setting {unknown[0]!r}")
        return replace(self, **settings)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LiveSettings:
        return cls(**data)
