"""The fault hooks of the worker loop (``Shell.worker`` is the one loop; with faults off it has no hooks).

``WorkerFaults`` lets ``sim.faults.Faults`` decide, at the points of a batch
job where a real worker can fail:

* a batch job reserved more than ``batch_tries`` times fails without running
  (Laravel's ``MaxAttemptsExceededException``): ``out_of_tries``;
* a worker may crash while it holds a batch job, either during the work or
  right after the batch's result committed (before its event fires and the job
  is acknowledged): ``process.interrupt(WorkerCrashed(...))``, armed by ``arm``.
  The worker is restarted at once and the job comes back ``retry_after_s``
  after it was reserved, at the back of the queue (``crashed``), so a batch can
  run, and be counted, twice;
* a try may fail (``try_failed``): the job goes back to the queue for another
  try, or, with no tries left, the batch is recorded failed
  (``finish_batch(failed=True)``) and fires no ``BatchJobCompleted``;
* a ``BatchJobCompleted`` event may be lost or delivered twice (``event_copies``).

The hooks draw from the run's ``faults`` stream in the order the loop asks, so
one seed reproduces a faulty run exactly.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy
from simpy.events import Event

from sim.faults import Faults, WorkerCrashed, crash_after
from sim.queue import Job, JobQueue
from sim.scenario import Scenario

__all__ = ["WorkerFaults", "again", "attempts_used"]


def attempts_used(job: Job) -> int:
    """Reservations a batch job already used: a job put back carries the count as a fourth element."""
    return job[3] if len(job) > 3 else 0


def again(job: Job) -> Job:
    """The same job, put back after one more reservation (Laravel keeps ``attempts`` in the payload)."""
    return (*job[:3], attempts_used(job) + 1)  # type: ignore[return-value]


class WorkerFaults:
    """What can go wrong with one batch job in a worker, decided by the run's ``Faults``."""

    def __init__(self, env: simpy.Environment, queue: JobQueue, scenario: Scenario, faults: Faults) -> None:
        self.env, self.queue, self.scenario, self.faults = env, queue, scenario, faults

    def out_of_tries(self, job: Job) -> bool:
        """This reservation is past ``batch_tries``: the job fails without running."""
        return attempts_used(job) + 1 > self.scenario.batch_tries

    def arm(self, job: Job, duration: float, reserved_at: float) -> WorkerCrashed | None:
        """Decide whether the worker crashes on this job. A crash during the work is scheduled here;
        a crash after the record is returned, for ``after_record`` to carry out."""
        crash = self.faults.crash(duration)
        if crash is None:
            return None
        after_record, at = crash
        cause = WorkerCrashed(wave=job[1], batch=job[2], reserved_at=reserved_at, after_record=after_record)
        if not after_record:
            me = self.env.active_process
            assert me is not None
            self.env.process(crash_after(self.env, me, at, cause))
        return cause

    def try_failed(self, job: Job) -> bool | None:
        """``None``: the try succeeded. ``True``: it failed and the job went back for another try.
        ``False``: it failed with no tries left (the caller records the batch failed)."""
        if not self.faults.try_fails():
            return None
        self.faults.counts.failed_tries += 1
        if attempts_used(job) + 1 < self.scenario.batch_tries:
            self.queue.put(again(job))  # released back to the queue for another try
            return True
        return False

    def after_record(self, cause: WorkerCrashed) -> Generator[Event, Any, None]:
        """The worker dies after the commit, before the event and the ack: it never resumes."""
        me = self.env.active_process
        assert me is not None
        self.env.process(crash_after(self.env, me, 0.0, cause))
        yield self.env.event()

    def event_copies(self) -> int:
        """How many times the batch's ``BatchJobCompleted`` is delivered: 0 (lost), 1 or 2."""
        return self.faults.event_copies()

    def crashed(self, job: Job, cause: object) -> None:
        """The worker crashed holding ``job``: it comes back ``retry_after_s`` after it was reserved."""
        assert isinstance(cause, WorkerCrashed)
        self.faults.counts.crashes += 1
        wait = max(0.0, self.scenario.retry_after_s - (self.env.now - cause.reserved_at))
        self.queue.put_delayed(again(job), wait)

    def failed_for_good(self) -> None:
        """Count a batch recorded failed (the caller runs ``finish_batch(failed=True)``)."""
        self.faults.counts.batches_failed += 1
