"""The wave status lifecycle, stated once.

Every reader of the lifecycle (the wave table, the properties, the docs and the
tests) takes it from ``LIFECYCLE``. A write along an edge of this table is
legal; any other write is still applied, as a database would apply it, and the
wave table records it as a ``LifecycleViolation``.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ACTIVE", "LIFECYCLE", "Status", "is_legal"]


class Status(StrEnum):
    """The status column of ``wave_coordination`` (the write-up's values)."""

    #: created with the import, not yet dispatched
    PENDING = "pending"
    #: claimed by a dispatch path; its batches are being enqueued
    DISPATCHING = "dispatching"
    #: its batches are on the queue or running
    PROCESSING = "processing"
    #: every batch has finished
    COMPLETED = "completed"


#: The legal status writes: status -> statuses it may be set to.
LIFECYCLE: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.DISPATCHING}),
    Status.DISPATCHING: frozenset({Status.PROCESSING}),
    Status.PROCESSING: frozenset({Status.COMPLETED}),
    Status.COMPLETED: frozenset(),
}

#: The statuses that make a wave *active* (the write-up's guard query).
ACTIVE: frozenset[Status] = frozenset({Status.DISPATCHING, Status.PROCESSING})


def is_legal(old: Status, new: Status) -> bool:
    """Whether writing ``new`` over ``old`` follows the lifecycle."""
    return new in LIFECYCLE[old]
