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
timeout; its handler runs inside the job's program (``alarm``), where it knows whether a transaction
is open, which decides whether ``connection->transaction()`` is a BEGIN or a savepoint (an
``on_failure`` program cannot know that: see examples/README.md, "API gaps"). Not modelled:
``failed_job_ids`` (JSON), the ``jobs``/``failed_jobs`` tables, ``catch`` callbacks.
"""

import sqlalchemy as sa

from spec.lang import Begin, Commit, JobThrew, Rollback, Spec, SqlError, begin, commit, record, rollback

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
spec.switch("fix", ["none", "pr-48961"], default="none",
            doc="none: Laravel 10.23 (the failure is recorded inside the timed-out transaction); "
                "pr-48961: Job::fail rolls the open transaction back first")
spec.switch("timeout_in", ["handle", "anywhere"], default="handle",
            doc="handle: the timeout strikes while handle() runs, as in the issue; anywhere: also while "
                "recordSuccessfulJob runs (a narrower window PR #48961 does not address)")


@spec.rows
def rows(scope):
    return {"job_batches": [{"id": BATCH, "total_jobs": scope.jobs, "pending_jobs": scope.jobs,
                             "failed_jobs": 0}]}


@spec.start
def start(scope):
    return [("process", n) for n in range(1, scope.jobs + 1)]


def update_atomic_values(change, *, nested):
    """DatabaseBatchRepository::updateAtomicValues: lock the batch row, write the new counts.

    ``nested``: a transaction is already open, so ``connection->transaction()`` is only a savepoint (no
    BEGIN, no COMMIT) and the writes share the open transaction's fate."""
    if not nested:
        yield begin()
    batch = (yield sa.select(job_batches.c.pending_jobs, job_batches.c.failed_jobs)
             .where(job_batches.c.id == BATCH).with_for_update()).one()
    pending, failed = change(*batch)
    yield sa.update(job_batches).where(job_batches.c.id == BATCH).values(pending_jobs=pending,
                                                                          failed_jobs=failed)
    if not nested:
        yield commit()
    return pending, failed


def handle(n):
    """The job's handle(): ``DB::transaction(fn () => ...)``, where the timeout strikes."""
    yield begin()
    yield sa.insert(reports).values(id=n)
    yield commit()


def record_successful_job():
    """Batch::recordSuccessfulJob."""
    pending, failed = yield from update_atomic_values(lambda p, f: (p - 1, f), nested=False)
    if pending == 0:
        yield sa.update(job_batches).where(job_batches.c.id == BATCH).values(finished_at=1)  # markAsFinished
        yield record("then", BATCH)
    if pending - failed == 0:  # allJobsHaveRanExactlyOnce()
        yield record("finally", BATCH)


def timeout_handler(ctx, in_transaction):
    """Worker's SIGALRM handler: Job::fail -> CallQueuedHandler::failed -> Batch::recordFailedJob."""
    if ctx.scope.fix == "pr-48961" and in_transaction:
        yield rollback()  # BatchRepository::rollBack()
        in_transaction = False
    pending, failed = yield from update_atomic_values(lambda p, f: (p, f + 1), nested=in_transaction)
    if pending - failed == 0:
        yield record("finally", BATCH)


def alarm(ctx, steps, armed=True):
    """Run ``steps`` under ``pcntl_alarm``: the ``throw`` fault is the timeout. Its handler runs where the
    job stands, on the same connection, without unwinding the job's stack (no rollback from
    ``DB::transaction``), then the worker exits and the connection drops (the job fails: ``raise``).
    Not ``armed``: a timeout cannot strike here, so the step runs as if none had."""
    in_transaction, op = False, next(steps)
    while True:
        try:
            result = yield op
        except JobThrew:
            if not armed:
                continue  # the step did not run: yield it again
            yield from timeout_handler(ctx, in_transaction)
            raise
        except SqlError as error:  # the engine's error belongs to the job's own code
            op = steps.throw(error)
            continue
        if isinstance(op, Begin):
            in_transaction = True
        elif isinstance(op, Commit | Rollback):
            in_transaction = False
        try:
            op = steps.send(result)
        except StopIteration as done:
            return done.value


@spec.job("process")
def process(ctx, n):
    """A batched job: handle(), then CallQueuedHandler's ensureSuccessfulBatchJobIsRecorded."""
    yield from alarm(ctx, handle(n))
    yield from alarm(ctx, record_successful_job(), armed=ctx.scope.timeout_in == "anywhere")


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
