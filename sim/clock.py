"""A SimPy environment whose same-instant events run in a seeded order.

SimPy orders events scheduled for the same time and priority first-in,
first-out. Production gives no such promise (which of ten workers, woken by
one ``RPUSH`` of fifty jobs, reaches the database first is a matter of chance),
and the races the harness looks for live exactly there. ``SeededEnvironment``
replaces SimPy's insertion counter by a key from the tie-break stream, so ties
are broken at random but reproducibly: one seed, one order. Priorities (SimPy's
URGENT before NORMAL) and causality (an event scheduled while another is
processed always comes after it) are kept.
"""

from __future__ import annotations

from heapq import heappush

import simpy
from simpy.core import BoundClass, SimTime
from simpy.events import NORMAL, Event, EventPriority

from sim.rng import TieKeys

__all__ = ["SeededEnvironment"]


class SeededEnvironment(simpy.Environment):
    """``simpy.Environment`` with seeded tie-breaking of same-instant events."""

    def __init__(self, ties: TieKeys) -> None:
        super().__init__()
        self._key = ties.next_key
        # SimPy binds ``timeout``, ``event``, ``process``... to the instance only for those its own class
        # declares, which a subclass's are not: bound here, each use is not a new bound method
        for name, attribute in vars(simpy.Environment).items():
            if type(attribute) is BoundClass:
                setattr(self, name, getattr(self, name))

    def schedule(self, event: Event, priority: EventPriority = NORMAL, delay: SimTime = 0) -> None:
        heappush(self._queue, (self._now + delay, priority, self._key(), event))
