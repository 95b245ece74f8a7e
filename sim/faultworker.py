"""The worker loop of a run with faults on (``Shell.worker`` is the loop without).

It does what ``Shell.worker`` does, and lets ``sim.faults.Faults`` decide:

* a batch job reserved more than ``batch_tries`` times fails without running
  (Laravel's ``MaxAttemptsExceededException``);
* a worker may crash while it holds a batch job, either during the work or
  right after the batch's result committed (before its event fires and the job
  is acknowledged): ``process.interrupt(WorkerCrashed(...))``. The worker is
  restarted at once and the job comes back ``retry_after_s`` after it was
  reserved, at the back of the queue, so a batch can run, and be counted, twice;
* a try may fail: the job goes back to the queue for another try, or, with no
  tries left, the batch is recorded failed (``finish_batch(failed=True)``) and
  fires no ``BatchJobCompleted``;
* a ``BatchJobCompleted`` event may be lost or delivered twice.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from simpy import Interrupt
from simpy.events import Event

from coordinator import finish_batch
from sim.faults import Faults, WorkerCrashed, crash_after
from sim.queue import BATCH, LISTENER, Job

if TYPE_CHECKING:
    from sim.workers import Shell

__all__ = ["faulty_worker"]


def faulty_worker(shell: Shell, faults: Faults) -> Generator[Event, Any, None]:
    """Take the next ready job, run it with the faults that strike, repeat."""
    env, queue, scenario = shell.env, shell.queue, shell.scenario
    while True:
        job: Job = yield queue.get()
        kind, wave, batch = job[:3]
        shell.jobs_run[kind] += 1
        if kind == BATCH:
            try:
                yield from _batch_job(shell, faults, job)
            except Interrupt as stop:
                cause = stop.cause
                assert isinstance(cause, WorkerCrashed)
                faults.counts.crashes += 1
                queue.put_delayed(_again(job), max(0.0, scenario.retry_after_s - (env.now - cause.reserved_at)))
        elif kind == LISTENER:
            yield from shell.listener(wave, batch)
        else:
            yield from shell.auto_trigger()
        queue.task_done()
        shell._check_quiescent()


def _batch_job(shell: Shell, faults: Faults, job: Job) -> Generator[Event, Any, None]:
    env, queue, db, scenario = shell.env, shell.queue, shell.db, shell.scenario
    me = env.active_process
    assert me is not None
    _, wave, batch = job[:3]
    job_id = db.table.job_id
    reserved = env.now
    attempt = _used(job) + 1
    if attempt > scenario.batch_tries:
        yield from _fail_for_good(shell, faults, wave, batch)
        return
    duration = shell.streams.duration()
    crash = faults.crash(duration)
    cause: WorkerCrashed | None = None
    if crash is not None:
        after_record, at = crash
        cause = WorkerCrashed(wave=wave, batch=batch, reserved_at=reserved, after_record=after_record)
        if not after_record:
            env.process(crash_after(env, me, at, cause))
    yield env.timeout(duration)
    if faults.try_fails():
        faults.counts.failed_tries += 1
        if attempt < scenario.batch_tries:
            queue.put(_again(job))  # released back to the queue for another try
        else:
            yield from _fail_for_good(shell, faults, wave, batch)
        return
    yield from db.run(finish_batch(job_id, wave, batch), f"batch {wave}.{batch}")
    if cause is not None:  # the worker dies after the commit, before the event and the ack
        env.process(crash_after(env, me, 0.0, cause))
        yield env.event()
    for _ in range(faults.event_copies()):
        if scenario.listener == "sync":
            yield from shell.listener(wave, batch)
        else:
            queue.put((LISTENER, wave, batch))


def _fail_for_good(shell: Shell, faults: Faults, wave: int, batch: int) -> Generator[Event, Any, None]:
    """No tries left: record the batch failed; no ``BatchJobCompleted`` fires."""
    faults.counts.batches_failed += 1
    program = finish_batch(shell.db.table.job_id, wave, batch, failed=True)
    yield from shell.db.run(program, f"batch {wave}.{batch} failed")


def _used(job: Job) -> int:
    """Reservations a batch job already used: a job put back carries the count as a fourth element."""
    return job[3] if len(job) > 3 else 0


def _again(job: Job) -> Job:
    """The same job, put back after one more reservation (Laravel keeps ``attempts`` in the payload)."""
    return (*job[:3], _used(job) + 1)  # type: ignore[return-value]
