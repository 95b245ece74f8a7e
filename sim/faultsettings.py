"""The fault settings of a scenario, the named fault presets, and swarm mode.

Every fault is off by default. Each is a flat scenario setting modelled on
failures reported against Laravel, Horizon, Sidekiq and Celery; the anchor
column names the failure class: F1 racing check-then-act, F2 worker crash and
redelivery, F3 a job run twice, F4 an event delivered twice, F5 an event lost,
F7 replica lag, F8 failed batches, F9 a trigger delayed behind the backlog,
F10 clock skew, F15 a failure inside the handler's transaction:

==========================  ====================================================================  ========
setting                     what it does                                                          anchor
==========================  ====================================================================  ========
``crash_rate``              a batch job's worker crashes (half the crashes mid-work, half just    F2, F3
                            after the batch's result committed, before the event and the ack);
                            the job is redelivered ``retry_after_s`` (90 s) after it was reserved
``event_loss_rate``         a ``BatchJobCompleted`` event is lost: its listener never runs        F5
``event_duplicate_rate``    an event that was not lost is delivered twice: the listener runs      F4
                            twice
``replica_lag_ms``          reads go to a replica that lags the primary by a lognormal delay      F7
                            (this median, shape 1); after a handler run wrote, its reads stick
                            to the primary (Laravel's ``sticky``)
``batch_failure_rate``      a try of a batch job fails; it is retried at the back of the queue    F8
``batch_tries``             until ``batch_tries`` reservations were used (a crash uses one too,
                            as Laravel counts attempts); then the batch is recorded failed and
                            fires no ``BatchJobCompleted`` (Laravel fires a failed event instead)
``trigger_loss_rate``       the delayed auto-trigger job is lost                                  F5, F9
``clock_skew_s``            the worker that schedules the auto-trigger has a clock off by a        F10
                            normal draw with this standard deviation, so the job comes due
                            early (down to at once) or late
``handler_death_rate``      before each write of a handler run, the run dies with this            F1, F15
                            probability: it read, it never acts (the write-up's ``try``/``catch``
                            logs the error and the worker carries on)
==========================  ====================================================================  ========

``FAULT_PRESETS`` names one intensity of each, strong enough to matter in a
few hundred seeds of the fault-matrix scenario. ``swarm = true`` turns on, per
seed, a random non-empty subset of the eight faults at these intensities
(drawn from the seed, so a seed reproduces it); with swarm on, the seed decides
every fault setting and any given fault setting is replaced.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "FAULTS", "FAULT_DEFAULTS", "FAULT_PRESETS", "FAULT_RATES", "FAULT_TIMES", "faults_on", "swarm_choice",
    "swarm_settings",
]

#: rates are probabilities in [0, 1]
FAULT_RATES = (
    "crash_rate", "event_duplicate_rate", "event_loss_rate", "batch_failure_rate", "trigger_loss_rate",
    "handler_death_rate",
)
#: times are >= 0
FAULT_TIMES = ("retry_after_s", "replica_lag_ms", "clock_skew_s")

#: every fault setting with its "off" value (``retry_after_s`` and ``batch_tries`` are not faults by themselves)
FAULT_DEFAULTS: dict[str, Any] = {
    "crash_rate": 0.0, "retry_after_s": 90.0, "event_duplicate_rate": 0.0, "event_loss_rate": 0.0,
    "replica_lag_ms": 0.0, "batch_failure_rate": 0.0, "batch_tries": 1, "trigger_loss_rate": 0.0,
    "clock_skew_s": 0.0, "handler_death_rate": 0.0,
}

#: The named faults of the fault matrix, each the settings it turns on.
FAULT_PRESETS: dict[str, dict[str, Any]] = {
    "none": {},
    "crash": {"crash_rate": 0.02, "batch_tries": 3},
    "duplicate-event": {"event_duplicate_rate": 0.1},
    "lost-event": {"event_loss_rate": 0.05},
    "replica-lag": {"replica_lag_ms": 50.0},
    "batch-failures": {"batch_failure_rate": 0.1, "batch_tries": 2},
    "lost-trigger": {"trigger_loss_rate": 0.5},
    "clock-skew": {"clock_skew_s": 2.0},
    "handler-death": {"handler_death_rate": 0.01},
    "swarm": {"swarm": True},
}

#: The faults swarm mode chooses from.
FAULTS = tuple(name for name in FAULT_PRESETS if name not in ("none", "swarm"))

_SWARM_TAG = 0x5357524D  # "SWRM": keeps the swarm draw apart from the run's own streams


def swarm_choice(seed: int) -> tuple[str, ...]:
    """The non-empty subset of ``FAULTS`` that swarm mode turns on for ``seed``."""
    gen = np.random.default_rng([_SWARM_TAG, seed])
    mask = int(gen.integers(1, 2 ** len(FAULTS)))
    return tuple(name for i, name in enumerate(FAULTS) if mask >> i & 1)


def swarm_settings(seed: int) -> dict[str, Any]:
    """Every fault setting under swarm mode for ``seed``: the chosen faults on, the rest off."""
    settings = dict(FAULT_DEFAULTS)
    for name in swarm_choice(seed):
        for key, value in FAULT_PRESETS[name].items():
            if key == "batch_tries":
                settings[key] = max(settings[key], value)
            else:
                settings[key] = value
    return settings


def faults_on(settings: dict[str, Any]) -> tuple[str, ...]:
    """The fault settings of ``settings`` that are on (a rate or lag above zero)."""
    return tuple(k for k in (*FAULT_RATES, "replica_lag_ms", "clock_skew_s") if settings.get(k, 0) > 0)
