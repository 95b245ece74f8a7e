"""The ``import`` queue: a FIFO of ready jobs and a set of delayed jobs.

It behaves like Laravel's Redis queue: workers pop ready jobs from the head;
a job pushed with a delay waits in a sorted set and, once due, is moved to the
*back* of the ready list (``migrateExpiredJobs``), behind whatever is already
queued. A job is a tuple ``(kind, wave, batch)``; the queue also keeps the
count of ready *batch* jobs, which is the queue depth the metrics report,
and, like Python's ``queue.Queue``, the count of jobs handed out and not yet
reported done (``unfinished``): a job handed straight to an idle worker is in
flight before that worker even wakes up.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable

import simpy
from simpy.events import Event

__all__ = ["BATCH", "LISTENER", "TRIGGER", "Job", "JobQueue"]

#: a batch job of a wave
BATCH = 0
#: a queued ``BatchJobCompleted`` listener (listener = "queued")
LISTENER = 1
#: the write-up's delayed auto-trigger job
TRIGGER = 2

Job = tuple[int, int, int]


class JobQueue:
    """Ready jobs in FIFO order, delayed jobs by due time, idle workers waiting."""

    def __init__(self, env: simpy.Environment, on_depth: Callable[[float, int], None]) -> None:
        self.env = env
        self.ready: deque[Job] = deque()
        self.delayed: list[tuple[float, int, Job]] = []
        self.ready_batches = 0
        self.unfinished = 0
        self._seq = 0
        self._idle: deque[Event] = deque()
        self._on_depth = on_depth

    def get(self) -> Event:
        """An event that succeeds with the next ready job (at once if there is one)."""
        event = self.env.event()
        if self.ready:
            self.unfinished += 1
            event.succeed(self._pop())
        else:
            self._idle.append(event)
        return event

    def _pop(self) -> Job:
        job = self.ready.popleft()
        if job[0] == BATCH:
            self.ready_batches -= 1
            self._on_depth(self.env.now, self.ready_batches)
        return job

    def put(self, job: Job) -> None:
        """Push one job to the back of the ready list."""
        if self._idle:
            self.unfinished += 1
            self._idle.popleft().succeed(job)
            return
        self.ready.append(job)
        if job[0] == BATCH:
            self.ready_batches += 1
            self._on_depth(self.env.now, self.ready_batches)

    def put_many(self, jobs: list[Job]) -> None:
        """Push several jobs, in order, as one operation."""
        idle = self._idle
        added = 0
        for job in jobs:
            if idle:
                self.unfinished += 1
                idle.popleft().succeed(job)
            else:
                self.ready.append(job)
                added += job[0] == BATCH
        if added:
            self.ready_batches += added
            self._on_depth(self.env.now, self.ready_batches)

    def put_delayed(self, job: Job, delay_s: float) -> None:
        """Hold ``job`` until ``now + delay_s``, then move it to the back of the ready list."""
        self._seq += 1
        heapq.heappush(self.delayed, (self.env.now + delay_s, self._seq, job))
        self.env.timeout(delay_s).callbacks.append(self._migrate)

    def _migrate(self, _event: Event) -> None:
        now = self.env.now
        while self.delayed and self.delayed[0][0] <= now:
            self.put(heapq.heappop(self.delayed)[2])

    def task_done(self) -> None:
        """A worker finished a job it was handed."""
        self.unfinished -= 1

    def empty(self) -> bool:
        """No ready and no delayed job."""
        return not self.ready and not self.delayed
