"""Scenarios: every setting of one simulated import, validated and frozen.

A ``Scenario`` holds everything a run depends on, including the policy name
and the seed, so that saving it with a result is enough to reproduce the run.
``PRESETS`` names the scenarios the docs and tests use; ``load_scenario_toml``
reads one from a TOML file (any setting, optionally on top of a preset).

Defaults and where they come from (the write-up gives only the first three):

* ``waves = 37``, ``wave_size = 50``, ``threshold = 90``, ``auto_trigger_delay_s = 2``:
  the write-up (the incident import had 37 main waves; ``config/waves.php``).
* ``workers = 10``: Laravel Horizon's shipped ``config/horizon.php`` gives the
  production supervisor ``maxProcesses => 10``.
* DB latency: lognormal with medians ``db_read_ms = 2`` and ``db_write_ms = 5``
  and shape ``db_sigma = 0.5``: a few milliseconds for an indexed SELECT and an
  InnoDB commit on a networked database; replica lag is a fault, not a default.
* ``enqueue_ms_per_job = 0.5``: one Redis ``RPUSH`` round trip per job, so a
  wave of 50 takes about 25 ms to push (Laravel pushes a batch's jobs one by one).
* Batch durations: ``exponential`` (light-tailed) or ``lognormal`` (heavy-tailed
  with ``batch_sigma``), mean ``batch_mean_s`` (1 s by default).
* ``max_events = 5_000_000``: the event budget, a bound on every run besides the
  horizon and stall detection (the incident preset's full run takes about 2e4 events).
* ``listener = "sync"``: the ``BatchJobCompleted`` listener runs inside the
  worker that finished the batch; ``"queued"`` pushes it as a job on the same
  ``import`` queue (a ``ShouldQueue`` listener). Both exist in Laravel.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from coordinator import POLICIES, ConfigError, Policy, WaveConfig
from coordinator.policy import policy_named, switch_value, with_given
from sim.faultsettings import FAULT_RATES, FAULT_TIMES, swarm_settings

__all__ = [
    "DISTRIBUTIONS", "LISTENERS", "PRESETS", "SWITCH_PREFIX", "Scenario", "load_scenario_toml", "preset",
    "scenario_from", "with_point",
]

DISTRIBUTIONS = ("exponential", "lognormal")
LISTENERS = ("sync", "queued")


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """Every setting of one simulated import (see the module docstring for defaults)."""

    preset: str = "custom"
    policy: str = "seed-fix"
    seed: int = 0
    waves: int = 37
    wave_size: int = 50
    threshold: int = 90
    auto_trigger_delay_s: float = 2.0
    workers: int = 10
    listener: str = "sync"
    batch_distribution: str = "exponential"
    batch_mean_s: float = 1.0
    batch_sigma: float = 1.0
    db_read_ms: float = 2.0
    db_write_ms: float = 5.0
    db_sigma: float = 0.5
    enqueue_ms_per_job: float = 0.5
    horizon_s: float = 3600.0
    max_events: int = 5_000_000  # event budget: a run that reaches it ends with outcome 'budget'
    # faults (sim.faultsettings): all off by default
    crash_rate: float = 0.0
    retry_after_s: float = 90.0
    event_duplicate_rate: float = 0.0
    event_loss_rate: float = 0.0
    replica_lag_ms: float = 0.0
    batch_failure_rate: float = 0.0
    batch_tries: int = 1
    trigger_loss_rate: float = 0.0
    clock_skew_s: float = 0.0
    handler_death_rate: float = 0.0
    swarm: bool = False
    #: policy switches given on top of the named policy (``--switch``, ``[switches]``), by name
    switches: tuple[tuple[str, object], ...] = ()

    def __post_init__(self) -> None:
        _switches(self)
        _whole(self, "seed", 0, 2**63 - 1)
        _whole(self, "waves", 1, 10_000)
        _whole(self, "wave_size", 1, 10_000)
        _whole(self, "threshold", 1, 100)
        _whole(self, "workers", 1, 10_000)
        _real(self, "auto_trigger_delay_s", 0.0, 86_400.0)
        _real(self, "batch_mean_s", 1e-6, 86_400.0)
        _real(self, "batch_sigma", 0.0, 5.0)
        _real(self, "db_read_ms", 0.0, 60_000.0)
        _real(self, "db_write_ms", 0.0, 60_000.0)
        _real(self, "db_sigma", 0.0, 5.0)
        _real(self, "enqueue_ms_per_job", 0.0, 60_000.0)
        _real(self, "horizon_s", 1e-3, 1e9)
        _whole(self, "max_events", 1, 10**12)
        for name in FAULT_RATES:
            _real(self, name, 0.0, 1.0)
        for name in FAULT_TIMES:
            _real(self, name, 0.0, 1e9 if name == "replica_lag_ms" else 86_400.0)
        _whole(self, "batch_tries", 1, 1000)
        if not isinstance(self.swarm, bool):
            raise ConfigError(f"swarm must be true or false, got {self.swarm!r}")
        if self.swarm:  # the seed decides every fault setting
            for name, value in swarm_settings(self.seed).items():
                object.__setattr__(self, name, value)
        _choice(self, "policy", tuple(POLICIES))
        _choice(self, "listener", LISTENERS)
        _choice(self, "batch_distribution", DISTRIBUTIONS)
        if not isinstance(self.preset, str) or not self.preset:
            raise ConfigError(f"preset must be a name, got {self.preset!r}")

    @property
    def config(self) -> WaveConfig:
        """The core's ``WaveConfig`` for this scenario."""
        return WaveConfig(
            wave_size=self.wave_size, completion_threshold=self.threshold,
            auto_trigger_delay_s=self.auto_trigger_delay_s,
        )

    @property
    def resolved_policy(self) -> Policy:
        """The policy this scenario runs: the named one with ``switches`` applied where it reads them."""
        return with_given(policy_named(self.policy), dict(self.switches), lenient=True)

    def to_dict(self) -> dict[str, Any]:
        """Every setting as plain JSON values, in field order (``switches`` as an object)."""
        out = asdict(self)
        out["switches"] = dict(self.switches)
        return out

    def with_settings(self, **settings: Any) -> Scenario:
        """This scenario with some settings changed (validated again)."""
        _check_keys(settings, "setting")
        return replace(self, **settings)


def _switches(s: Scenario) -> None:
    """``switches`` as sorted (name, plain value) pairs, each name and value checked."""
    given = s.switches
    pairs = given.items() if isinstance(given, dict) else given
    try:
        checked = {str(name): switch_value(str(name), value) for name, value in pairs}
    except (TypeError, ValueError):
        raise ConfigError(f"switches must be NAME = VALUE pairs, got {given!r}") from None
    for name in checked:
        if name == "name" or name not in Policy.__dataclass_fields__:
            known = ", ".join(sorted(set(Policy.__dataclass_fields__) - {"name"}))
            raise ConfigError(f"unknown policy switch {name!r}; known: {known}")
    plain = {n: getattr(v, "value", v) for n, v in checked.items()}
    object.__setattr__(s, "switches", tuple(sorted(plain.items())))


def _whole(s: Scenario, name: str, low: int, high: int) -> None:
    value = getattr(s, name)
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
            object.__setattr__(s, name, value)
        else:
            raise ConfigError(f"{name} must be a whole number between {low} and {high}, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value!r}")


def _real(s: Scenario, name: str, low: float, high: float) -> None:
    value = getattr(s, name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number between {low:g} and {high:g}, got {value!r}")
    if (isinstance(value, float) and math.isnan(value)) or not low <= value <= high:  # ints of any size
        raise ConfigError(f"{name} must be between {low:g} and {high:g}, got {value!r}")
    object.__setattr__(s, name, float(value))


def _choice(s: Scenario, name: str, allowed: tuple[str, ...]) -> None:
    value = getattr(s, name)
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")


_FIELDS = tuple(f.name for f in fields(Scenario))


def _check_keys(settings: dict[str, Any], what: str, where: str = "") -> None:
    unknown = sorted(set(settings) - set(_FIELDS))
    if unknown:
        raise ConfigError(f"unknown {what} {unknown[0]!r}{where}; known: {', '.join(_FIELDS)}")


#: Named scenarios. ``incident`` is the write-up's import at a calibration that fits
#: the write-up's timeline (``wavesim readings --calibration`` audits it next to the
#: logged timestamps): queued listeners (``ShouldQueue``), 20 workers, lognormal
#: batches of 8 s on average (sigma 0.5). A wave then reaches its threshold in about
#: 45 x 8 s / 20 = 18 s (the log: 16 s between waves 2 and 3), the burst is fed by the
#: listener jobs queued before its first push (the log: 30 waves in one second), and
#: the listeners queued behind the burst's 1,500 jobs dispatch the last waves minutes
#: later (the log: waves 35-37 after 6 min 49 s). ``rapid-completions`` is the
#: condition the write-up's root cause names, "rapid batch completions": sync
#: listeners and 0.1 s batches; it bursts in half a second and is what the fault
#: matrix runs, reduced (cheap, and every mechanism is in it).
PRESETS: dict[str, Scenario] = {
    # light-tailed batches: exponential, mean 1 s
    "light": Scenario(preset="light"),
    # heavy-tailed batches: lognormal, mean 1 s, sigma 1.5 (p99 about 11 s): stragglers
    "stragglers": Scenario(preset="stragglers", batch_distribution="lognormal", batch_sigma=1.5),
    # rapid completions: exponential, mean 0.1 s, so 10 workers finish ~80 batches a second
    "rapid": Scenario(preset="rapid", batch_mean_s=0.1),
    # the write-up's root-cause condition: sync listeners in 10 workers, lognormal 0.1 s batches (sigma 1)
    "rapid-completions": Scenario(
        preset="rapid-completions", policy="original", batch_distribution="lognormal",
        batch_mean_s=0.1, batch_sigma=1.0,
    ),
    # the write-up's import (37 x 50, 90 %, 2 s auto-trigger) calibrated to its timeline
    "incident": Scenario(
        preset="incident", policy="original", listener="queued", workers=20, batch_distribution="lognormal",
        batch_mean_s=8.0, batch_sigma=0.5,
    ),
}


def preset(name: str) -> Scenario:
    """The named preset; an unknown name is a ``ConfigError`` listing the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}") from None


def scenario_from(base: Scenario, settings: dict[str, Any], where: str = "") -> Scenario:
    """``base`` with ``settings`` applied; unknown keys and bad values raise ``ConfigError``."""
    _check_keys(settings, "setting", where)
    try:
        return replace(base, **settings)
    except ConfigError as err:
        raise ConfigError(f"{err}{where}") from None


#: A sweep parameter naming a policy switch: ``switch.NAME``.
SWITCH_PREFIX = "switch."


def with_point(base: Scenario, point: dict[str, Any]) -> Scenario:
    """``base`` with a sweep grid point's settings; ``switch.NAME`` keys go into ``switches``."""
    plain = {k: v for k, v in point.items() if not k.startswith(SWITCH_PREFIX)}
    given = {k[len(SWITCH_PREFIX):]: v for k, v in point.items() if k.startswith(SWITCH_PREFIX)}
    if given:
        plain["switches"] = {**dict(base.switches), **given}
    return base.with_settings(**plain)


def load_scenario_toml(text: str, *, source: str = "scenario file", base: Scenario | None = None) -> Scenario:
    """A scenario from TOML text: top-level keys are settings; ``preset = "..."``
    starts from that preset (else from ``base`` or the defaults)."""
    try:
        data = tomllib.loads(text.removeprefix("\ufeff"))  # a byte order mark, as some editors write
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{source} is not valid TOML: {err}") from None
    where = f" in {source}"
    for key, value in data.items():
        if isinstance(value, dict) and key != "switches":
            raise ConfigError(f"setting {key!r}{where} must be a plain value, not a table")
    if "switches" in data and not isinstance(data["switches"], dict):
        raise ConfigError(f"switches{where} must be a table: [switches] NAME = VALUE")
    start = base if base is not None else Scenario()
    if "switches" in data:  # on top of the base's own switches
        data["switches"] = {**dict(start.switches), **data["switches"]}
    if "preset" in data:
        name = data["preset"]
        if not isinstance(name, str) or name not in PRESETS:
            raise ConfigError(f"unknown preset {name!r}{where}; choose one of: {', '.join(PRESETS)}")
        start = PRESETS[name]
    return scenario_from(start, data, where)
