"""A batch of jobs and its "finally" callback: the tutorial's spec (docs/your-coordinator.md).

Each job decrements the batch's pending counter; the job that sees zero pushes the callback. With
``fix=none`` a job decrements, then reads the counter in a second statement, so two jobs can both read
zero and push the callback twice. With ``fix=returning`` the decrement returns the new value in the same
statement, as Laravel's ``decrementPendingJobs`` does with one atomic UPDATE.
"""

import sqlalchemy as sa

from spec.lang import Spec, push, record

metadata = sa.MetaData()
batches = sa.Table(
    "job_batches", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("pending_jobs", sa.Integer, nullable=False),
)

spec = Spec("batch-counter", metadata, scope={"jobs": 2, "workers": 2}, queues={"default": "workers"})
#: the fix that landed upstream (the tutorial's fix); tests/test_examples.py proves it in this scope
LANDED_FIX = "returning"
spec.switch("fix", ["none", "returning"], default="none",
            doc="none: decrement, then read the counter; returning: one UPDATE ... RETURNING")


@spec.rows
def initial_rows(scope):
    return {"job_batches": [{"id": 1, "pending_jobs": scope.jobs}]}


@spec.start
def initial_jobs(scope):
    return [("process", 1) for _ in range(scope.jobs)]


@spec.job("process")
def process(ctx, batch_id):
    decrement = (sa.update(batches).where(batches.c.id == batch_id)
                 .values(pending_jobs=batches.c.pending_jobs - 1))
    if ctx.scope.fix == "returning":
        left = (yield decrement.returning(batches.c.pending_jobs)).scalar_one()
    else:
        yield decrement
        left = (yield sa.select(batches.c.pending_jobs).where(batches.c.id == batch_id)).scalar_one()
    if left == 0:
        yield push("finally_callback", batch_id)


@spec.job("finally_callback")
def finally_callback(ctx, batch_id):
    yield record("callback", batch_id)
    yield sa.select(batches.c.pending_jobs).where(batches.c.id == batch_id)


@spec.always("callback_at_most_once")
def callback_at_most_once(world):
    """the batch's finally callback ran at most once"""
    return world.count("callback", 1) <= 1


@spec.eventually("callback_ran")
def callback_ran(world):
    """every job finished and the callback ran"""
    return world.idle and world.count("callback", 1) == 1
