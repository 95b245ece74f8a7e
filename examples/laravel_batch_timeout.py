"""Laravel ``Bus::batch``: a job that times out inside a DB transaction leaves its batch unfinished.

Thread: https://github.com/laravel/framework/issues/48392, fixed by
https://github.com/laravel/framework/pull/48961 (commit 20085feef6, Laravel 10.x).

Bug: a batched job runs ``DB::transaction(...)`` and its timeout (a SIGALRM) fires inside it. The
alarm handler does not unwind the job's stack: it fails the job (``Job::fail`` -> ``failed`` ->
``Batch::recordFailedJob`` -> ``DatabaseBatchRepository::incrementFailedJobs``) on the same
connection, while the job's transaction is still open. ``updateAtomicValues`` wraps its
``SELECT ... FOR UPDATE`` and ``UPDATE job_batches`` in ``connection->transaction()``, which, nested,
is only a savepoint. Then the worker kills itself, the connection drops, and everything rolls back:
``failed_jobs`` is never incremented, so ``pending_jobs - failed_jobs`` never reaches 0 and the
batch's ``finally`` callbacks never run.

Fix (PR #48961): ``Job::fail`` calls ``BatchRepository::rollBack()`` first when the failure is a
timeout of a batchable job, so ``incrementFailedJobs`` runs in a transaction of its own and commits.

Modelled: one batch of ``jobs`` jobs (``allowFailures()``, so no ``cancel``). The ``throw`` fault is the
timeout. Its handler runs in the job's program, on top of the job's stack as the signal handler does,
where ``Connection.transactions`` says whether ``transaction()`` is a BEGIN or a savepoint (an
``on_failure`` program could not know: see examples/README.md, "API gaps"). Not modelled:
``failed_job_ids`` (JSON), the ``jobs``/``failed_jobs`` tables, ``catch`` callbacks.
"""

from dataclasses import dataclass

import sqlalchemy as sa

from spec.lang import JobThrew, Spec, begin, commit, record, rollback

metadata = sa.MetaData()
job_batches = sa.Table(
    "job_batches", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("total_jobs", sa.Integer, nullable=False),
    sa.Column("pending_jobs", sa.Integer, nullable=False),
    sa.Column("failed_jobs", sa.Integer, nullable=False),
    sa.Column("finished_at", sa.Integer),  # NULL until markAsFinished
)
# what a job's handle() writes inside its DB::transaction
reports = sa.Table("reports", metadata, sa.Column("id", sa.Integer, primary_key=True))

BATCH = 1

spec = Spec("laravel-batch-timeout", metadata, scope={"jobs": 2}, queues={"default": 2},
            faults={"throw": 1}, doc="Laravel Bus::batch callbacks vs. a timeout inside a DB transaction")
#: the fix that landed upstream (merged in Laravel 10.x); tests/test_examples.py proves it in this scope
LANDED_FIX = "pr-48961"
spec.switch("fix", ["none", "pr-48961"], default="none",
            doc="none: Laravel 10.23 (the failure is recorded inside the timed-out transaction); "
                "pr-48961: Job::fail rolls the open transaction back first")
spec.switch("timeout_in", ["handle", "anywhere"], default="handle",
            doc="handle: the timeout strikes while handle() runs, as in the issue; anywhere: also while "
                "recordSuccessfulJob runs (a narrower window PR #48961 does not close)")


@spec.rows
def rows(scope):
    return {"job_batches": [{"id": BATCH, "total_jobs": scope.jobs, "pending_jobs": scope.jobs,
                             "failed_jobs": 0}]}


@spec.start
def start(scope):
    return [("process", n) for n in range(1, scope.jobs + 1)]


@dataclass
class Connection:
    """The worker process's DB connection as Laravel tracks it: ``$transactions``, the nesting level."""

    transactions: int = 0


def transaction(conn, body):
    """Connection::transaction: BEGIN at level 0, else a savepoint (which no other session can see, so
    it is no step here). A timeout does not unwind it: its catch/rollBack never runs."""
    if conn.transactions == 0:
        yield begin()
    conn.transactions += 1
    result = yield from body
    if conn.transactions == 1:
        yield commit()
    conn.transactions -= 1  # after the COMMIT, as Laravel counts it
    return result


def update_atomic_values(change):
    """DatabaseBatchRepository::updateAtomicValues' body: lock the batch row, write the new counts."""
    batch = (yield sa.select(job_batches.c.pending_jobs, job_batches.c.failed_jobs)
             .where(job_batches.c.id == BATCH).with_for_update()).one()
    pending, failed = change(*batch)
    yield sa.update(job_batches).where(job_batches.c.id == BATCH).values(pending_jobs=pending,
                                                                          failed_jobs=failed)
    return pending, failed


def handle(n):
    """The job's handle(), run inside ``DB::transaction``: where the timeout strikes."""
    yield sa.insert(reports).values(id=n)


def record_successful_job(conn):
    """Batch::recordSuccessfulJob."""
    pending, failed = yield from transaction(conn, update_atomic_values(lambda p, f: (p - 1, f)))
    if pending == 0:
        yield sa.update(job_batches).where(job_batches.c.id == BATCH).values(finished_at=1)  # markAsFinished
        yield record("then", BATCH)
    if pending - failed == 0:  # allJobsHaveRanExactlyOnce()
        yield record("finally", BATCH)


def timeout_handler(ctx, conn):
    """Worker's SIGALRM handler: Job::fail -> CallQueuedHandler::failed -> Batch::recordFailedJob."""
    if ctx.scope.fix == "pr-48961" and conn.transactions > 0:
        yield rollback()  # BatchRepository::rollBack()
        conn.transactions = 0
    pending, failed = yield from transaction(conn, update_atomic_values(lambda p, f: (p, f + 1)))
    if pending - failed == 0:
        yield record("finally", BATCH)


def unarmed(steps):
    """Run ``steps`` where the timeout cannot strike: a ``throw`` landing here is taken back (the step had
    not run, so it is yielded again). The model has no way to confine a fault (README: API gaps)."""
    op = next(steps)
    while True:
        try:
            result = yield op  # recordSuccessfulJob's steps, with timeout_in=handle
        except JobThrew:
            continue
        try:
            op = steps.send(result)
        except StopIteration as done:
            return done.value


@spec.job("process")
def process(ctx, n):
    """A batched job under ``pcntl_alarm``: handle() in a transaction, then ensureSuccessfulBatchJobIsRecorded.
    The timeout's handler runs where the job stands; then the worker exits (the job fails: ``raise``)."""
    conn = Connection()
    try:
        yield from transaction(conn, handle(n))
        if ctx.scope.timeout_in == "anywhere":
            yield from record_successful_job(conn)
        else:
            yield from unarmed(record_successful_job(conn))
    except JobThrew:
        yield from timeout_handler(ctx, conn)
        raise


@spec.always("finally_when_idle")
def finally_when_idle(world):
    """Once no job is queued or running, every job has been counted and ``finally`` has run once."""
    if world.idle and world.count("finally", BATCH) != 1:
        batch = world.row("job_batches", BATCH)
        return (f"idle, finally ran {world.count('finally', BATCH)} times; "
                f"pending_jobs={batch['pending_jobs']} failed_jobs={batch['failed_jobs']}")
    return True


@spec.eventually("finally_runs")
def finally_runs(world):
    """The batch's ``finally`` callbacks run."""
    return world.count("finally", BATCH) == 1
