"""What a worker does when a run ends: one definition that the checker and the simulation both follow.

Pure decisions of a job system, stated once (``docs/your-coordinator.md`` says them to the user):

- A job whose body raises is retried while it has tries left: its open transaction rolls back and the
  job goes back on its queue with its try count up (``Retry``).
- A final failure records the job as failed and runs the job type's ``on_failure`` in the same session,
  after rolling the open transaction back only if the spec's ``rollback_before_failure`` says so; a job
  type with no ``on_failure`` is rolled back and acknowledged (``FailForGood``).
- A failure handler that itself raises ends the job: the worker rolls back and gives up (``GiveUp``).
- The ack of a run whose body returned pushes the job type's ``listeners`` (each with the job's payload,
  or the job type's ``event`` of it); a job that failed for good fires none (``fired``).
- A transaction still open at the ack is rolled back with it (the connection is reset).
"""

from __future__ import annotations

from dataclasses import dataclass

from spec.lang import JobType, Payload

__all__ = ["FailForGood", "GiveUp", "Retry", "after_raise", "fired"]


@dataclass(frozen=True, slots=True)
class Retry:
    """Roll the session back and put the job back on its queue as try ``attempt``."""

    attempt: int


@dataclass(frozen=True, slots=True)
class FailForGood:
    """Record the job failed; roll back first when ``rollback``; then run its ``on_failure`` when
    ``run_failure`` (else the job is acknowledged)."""

    run_failure: bool
    rollback: bool


@dataclass(frozen=True, slots=True)
class GiveUp:
    """The failure handler raised: roll back and acknowledge the job, firing nothing."""


Decision = Retry | FailForGood | GiveUp


def after_raise(kind: JobType, phase: str, attempt: int, tries: int, rollback_first: bool) -> Decision:
    """What the worker does when the ``phase`` program (``body`` or ``failure``) of try ``attempt`` of a job
    of type ``kind`` raised, the job type having ``tries`` deliveries."""
    if phase == "failure":
        return GiveUp()
    if attempt < tries:
        return Retry(attempt + 1)
    has_handler = kind.on_failure is not None
    return FailForGood(run_failure=has_handler, rollback=not has_handler or rollback_first)


def fired(kind: JobType, payload: Payload, body_returned: bool) -> tuple[tuple[str, Payload], ...]:
    """The jobs the ack of a run of ``kind`` with ``payload`` pushes, in order: its listeners when its body
    returned, none otherwise."""
    if not body_returned or not kind.listeners:
        return ()
    event = kind.fired(payload)
    return tuple((name, event) for name in kind.listeners)
