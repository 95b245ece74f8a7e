"""What starts a handler run: facts, in the past tense."""

from __future__ import annotations

from dataclasses import dataclass

from coordinator.config import WaveConfig
from coordinator.handlers import Context, Program, check_and_trigger_next_wave
from coordinator.policy import Policy

__all__ = [
    "AutoTriggerFired", "BatchJobCompleted", "HandlerTriggered", "ImportStarted", "ReconcilerTicked", "Trigger",
    "program_for",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportStarted:
    """The import was created; its first handler run starts (with no wave current, it dispatches wave 1)."""

    job_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchJobCompleted:
    """A batch job finished and its listener runs (synchronously or queued)."""

    job_id: int
    wave: int
    batch: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AutoTriggerFired:
    """The delayed job queued by ``checkWaveCompletion`` came due and ran."""

    job_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconcilerTicked:
    """A periodic reconciler tick ran (policy ``atomic``)."""

    job_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class HandlerTriggered:
    """Some trigger started a handler run and the driver does not tell which.

    The checker's runs carry it: every trigger runs the same program, so the
    model keeps of a run's trigger only what that program reads, ``wave``: the
    wave of the batch whose completion event started it (``batch_wave_check``
    reads it), or None for a fired auto-trigger, a reconciler tick, or a policy
    that does not read it.
    """

    job_id: int
    wave: int | None = None


Trigger = ImportStarted | BatchJobCompleted | AutoTriggerFired | ReconcilerTicked | HandlerTriggered


def program_for(trigger: Trigger, policy: Policy, config: WaveConfig) -> Program:
    """The handler program a trigger runs; every trigger runs the same one."""
    wave = trigger.wave if isinstance(trigger, (BatchJobCompleted, HandlerTriggered)) else None
    return check_and_trigger_next_wave(Context(job_id=trigger.job_id, policy=policy, config=config,
                                               trigger_wave=wave))
