"""What starts a handler run: facts, in the past tense."""

from __future__ import annotations

from dataclasses import dataclass

from coordinator.config import WaveConfig
from coordinator.handlers import Context, Program, check_and_trigger_next_wave
from coordinator.policy import Policy

__all__ = ["AutoTriggerFired", "BatchJobCompleted", "ReconcilerTicked", "Trigger", "program_for"]


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


Trigger = BatchJobCompleted | AutoTriggerFired | ReconcilerTicked


def program_for(trigger: Trigger, policy: Policy, config: WaveConfig) -> Program:
    """The handler program a trigger runs; every trigger runs the same one."""
    wave = trigger.wave if isinstance(trigger, BatchJobCompleted) else None
    return check_and_trigger_next_wave(Context(job_id=trigger.job_id, policy=policy, config=config,
                                               trigger_wave=wave))
