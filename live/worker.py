"""A queue worker: one OS process, its own connections, Laravel's worker loop.

It pops the next job; a job reserved more than ``tries`` times is *failed*
instead of run (Laravel's ``MaxAttemptsExceededException``); for a batch that
means it is recorded as a failed batch (which counts toward its wave's
progress), and its ``BatchJobCompleted`` listener runs only under the
``failed_batch_fires`` reading, as in the simulation and the checker
(docs/readings.md). Otherwise:

* a **batch** job sleeps for its sampled duration (exponential, mean
  ``batch_mean_s``, times ``scale``), records its end (``finish_batch``), then
  runs the ``BatchJobCompleted`` listener here (``sync``) or pushes it as a job
  (``queued``); then the job is deleted. A crash before the delete leaves the
  job reserved; after ``retry_after`` it is delivered again.
* a **listener** or **auto-trigger** job runs the handler.

A database error in a job (a dropped connection, a deadlock the driver gave up
on) releases the job back onto the queue, as Laravel does with an exception.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from typing import Any

from coordinator import AutoTriggerFired, BatchJobCompleted, finish_batch, program_for
from live.db import DB_ERRORS
from live.faults import TAKE, FaultPlan
from live.handlerrun import Runner
from live.jobqueue import Reserved, reserved_jobs
from live.spec import RunSpec

__all__ = ["work"]



class _Stop(Exception):
    pass


def work(spec: RunSpec, slot: int, incarnation: int) -> None:
    """The worker loop, until SIGTERM (or a kill)."""
    s = spec.live
    stopping = False

    def _term(_sig: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _term)
    log = spec.open_fault_log()
    faults = FaultPlan(seed=s.seed, role="worker", slot=slot, incarnation=incarnation,
                       kill_rate=s.kill_rate, drop_rate=s.drop_rate, log=log, kill_at=s.kill_at,
                       kill_at_times=s.kill_at_times)
    durations = random.Random(f"{s.seed}:durations:{slot}:{incarnation}")
    db, queue = spec.open_database(), spec.open_queue()
    runner = Runner(spec, db, queue, faults, f"worker-{slot}.{incarnation}")
    policy, config = s.resolve(), s.config
    in_pop = lambda: faults.point("inside the pop transaction")  # noqa: E731
    parent = os.getppid()
    for job in reserved_jobs(queue, in_pop, lambda: not stopping and not spec.orphaned(parent)):
        log.write(TAKE, job=job.payload["kind"], delivery=job.attempts)  # not a fault: what the workers did
        try:
            _run_job(spec, runner, job, policy, config, durations, faults)
            queue.delete(job)
        except DB_ERRORS as err:
            log.write("job-failed", job=job.payload, error=type(err).__name__)
            with contextlib.suppress(*DB_ERRORS):  # else its reservation expires and it comes back
                queue.release(job, 0.0)
    db.dispose()
    queue.close()


def _run_job(spec: RunSpec, runner: Runner, job: Reserved, policy: Any, config: Any, durations: random.Random,
             faults: FaultPlan) -> None:
    s = spec.live
    p = job.payload
    kind = p["kind"]
    if kind == "batch":
        wave, batch = int(p["wave"]), int(p["batch"])
        label = f"batch {wave}.{batch}"
        failed = job.attempts > s.tries
        if not failed:
            duration = durations.expovariate(1.0 / s.batch_mean_s)
            half = s.wall(duration) / 2
            time.sleep(half)
            faults.point("in the middle of a batch", wave=wave, batch=batch)
            time.sleep(half)
        runner.run(finish_batch(spec.job_id, wave, batch, failed=failed), label)
        faults.point("after recording a batch, before deleting its job", wave=wave, batch=batch)
        if failed and not policy.failed_batch_fires:
            return
        if s.listener == "sync":
            trigger = BatchJobCompleted(job_id=spec.job_id, wave=wave, batch=batch)
            runner.run(program_for(trigger, policy, config), f"listener {wave}.{batch}")
        else:
            runner.queue.push_wave([{"kind": "listener", "job_id": spec.job_id, "wave": wave, "batch": batch}],
                                   None)
    elif job.attempts > s.tries:
        return  # a failed listener or trigger job: dropped, as Laravel's failed_jobs would hold it
    elif kind == "listener":
        trigger = BatchJobCompleted(job_id=spec.job_id, wave=int(p["wave"]), batch=int(p["batch"]))
        runner.run(program_for(trigger, policy, config), f"listener {p['wave']}.{p['batch']}")
    else:
        runner.run(program_for(AutoTriggerFired(job_id=spec.job_id), policy, config), "auto-trigger")
