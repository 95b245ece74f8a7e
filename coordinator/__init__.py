"""wavesim's pure coordinator core.

This package contains no I/O whatsoever: it never imports simpy, time, random,
logging handlers or a database client, never reads a clock (drivers pass
``now``) and never reads the environment (callers pass it). Handlers are
generator programs that yield one DB operation at a time; a driver runs each
operation against a ``WaveTable`` and sends the result back.
"""

from coordinator.config import WaveConfig
from coordinator.effects import (
    ClaimNextWave,
    CompleteFinishedWaves,
    CurrentWaveRule,
    Effect,
    EnqueueBatches,
    MarkPushed,
    ReadActiveWave,
    ReadClaimedWave,
    ReadCurrentWave,
    ReadLowestPending,
    ReadNextMainWave,
    ReadWave,
    RecordBatchFinished,
    ScheduleTrigger,
    SetStatus,
)
from coordinator.errors import ConfigError, WaveError
from coordinator.handlers import (
    Completion,
    Context,
    Decision,
    advance,
    check_and_trigger_next_wave,
    check_wave_completion,
    dispatch_wave,
    finish_batch,
    handle_main_type_wave_progression,
)
from coordinator.lifecycle import ACTIVE, LIFECYCLE, Status, is_legal
from coordinator.policy import POLICIES, Policy, policy_named
from coordinator.properties import LIVENESS, PROPERTY_NAMES, SAFETY
from coordinator.runner import HandlerRun, Interleaving, Step, run_interleaved, run_sequential
from coordinator.table import LifecycleViolation, WaveRow, WaveTable, apply, new_import
from coordinator.triggers import (
    AutoTriggerFired,
    BatchJobCompleted,
    HandlerTriggered,
    ImportStarted,
    ReconcilerTicked,
    Trigger,
    program_for,
)

__all__ = [
    "ACTIVE", "LIFECYCLE", "LIVENESS", "POLICIES", "PROPERTY_NAMES", "SAFETY",
    "AutoTriggerFired", "BatchJobCompleted", "ClaimNextWave", "CompleteFinishedWaves",
    "Completion", "ConfigError", "Context", "CurrentWaveRule", "Decision", "Effect",
    "EnqueueBatches", "HandlerRun", "HandlerTriggered", "ImportStarted", "Interleaving", "LifecycleViolation",
    "MarkPushed", "Policy", "ReadClaimedWave",
    "ReadActiveWave", "ReadCurrentWave", "ReadLowestPending", "ReadNextMainWave", "ReadWave",
    "ReconcilerTicked", "RecordBatchFinished", "ScheduleTrigger", "SetStatus", "Status",
    "Step", "Trigger", "WaveConfig", "WaveError", "WaveRow", "WaveTable",
    "advance", "apply", "check_and_trigger_next_wave", "check_wave_completion",
    "dispatch_wave", "finish_batch", "handle_main_type_wave_progression", "is_legal",
    "new_import", "policy_named", "program_for", "run_interleaved", "run_sequential",
]
