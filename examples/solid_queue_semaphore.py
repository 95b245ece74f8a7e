"""Solid Queue concurrency controls: a job stays blocked although its semaphore is free.

Thread: https://github.com/rails/solid_queue/issues/456, fixed by commit 8d90eab ("Fix race
condition between job enqueue and concurrency unblock", 2026-02-13); the interleaving was first
written down in PR #689.

Bug: enqueuing job B (``limits_concurrency to: 1``) reads its semaphore in ``Semaphore::Proxy#wait``
with a plain ``find_by``: value 0 (job A holds it), so B is blocked and a ``BlockedExecution`` is
inserted, in the enqueue transaction. Before that transaction commits, A finishes: ``signal`` sets
the value to 1 and ``BlockedExecution.release_one`` finds nothing, since B's row is not committed.
B then commits, blocked behind a free semaphore until ``ConcurrencyMaintenance`` expires it
(``duration``, 30 minutes in the report).

Fix (8d90eab): ``wait`` reads the semaphore with ``Semaphore.lock.find_by`` (``FOR UPDATE``), so A's
``signal`` UPDATE waits for B's enqueue to commit and ``release_one`` then sees B's blocked execution.

Modelled: one concurrency key, limit 1, job A already running (semaphore value 0). The key is the
semaphores' integer id (the real ``key`` string has a unique index, which the model refuses). Not
modelled: ``expires_at`` and ``ConcurrencyMaintenance``, the slow backstop that would unstick B.
"""

import sqlalchemy as sa

from spec.lang import Spec, begin, commit

metadata = sa.MetaData()
semaphores = sa.Table(
    "solid_queue_semaphores", metadata,
    sa.Column("id", sa.Integer, primary_key=True),  # the concurrency key
    sa.Column("value", sa.Integer, nullable=False),
)
jobs = sa.Table(
    "solid_queue_jobs", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("concurrency_key", sa.Integer, nullable=False),
)
blocked_executions = sa.Table(
    "solid_queue_blocked_executions", metadata,
    sa.Column("id", sa.Integer, primary_key=True),  # job_id
    sa.Column("concurrency_key", sa.Integer, nullable=False),
)
ready_executions = sa.Table("solid_queue_ready_executions", metadata,
                            sa.Column("id", sa.Integer, primary_key=True))  # job_id

KEY, LIMIT, A, B = 1, 1, 1, 2

spec = Spec("solid-queue-semaphore", metadata, queues={"default": 2},
            doc="Solid Queue: enqueue vs. unblock of a concurrency-limited job")
#: the fix that landed upstream (the commit that closed #456); tests/test_examples.py proves it in this scope
LANDED_FIX = "8d90eab"
spec.switch("fix", ["none", "8d90eab"], default="none",
            doc="none: Semaphore::Proxy#wait reads with find_by; 8d90eab: with lock.find_by (FOR UPDATE)")


@spec.rows
def rows(scope):
    return {"solid_queue_semaphores": [{"id": KEY, "value": LIMIT - 1}],  # A holds the semaphore
            "solid_queue_jobs": [{"id": A, "concurrency_key": KEY}]}


@spec.start
def start(scope):
    return [("finish", A), ("enqueue", B)]


def wait(ctx):
    """Semaphore::Proxy#wait (the semaphore row exists): true when the job may run."""
    read = sa.select(semaphores.c.value).where(semaphores.c.id == KEY)
    if ctx.scope.fix == "8d90eab":
        read = read.with_for_update()
    value = (yield read).scalar_one()
    if value <= 0:
        return False
    decremented = yield (sa.update(semaphores).where(semaphores.c.id == KEY, semaphores.c.value > 0)
                         .values(value=semaphores.c.value - 1))  # attempt_decrement
    return decremented.rowcount > 0


@spec.job("enqueue")
def enqueue(ctx, job):
    """Job.enqueue: create! the job, and its after_create dispatch, in one transaction."""
    yield begin()
    yield sa.insert(jobs).values(id=job, concurrency_key=KEY)
    if (yield from wait(ctx)):
        yield sa.insert(ready_executions).values(id=job)  # ready
    else:
        yield sa.insert(blocked_executions).values(id=job, concurrency_key=KEY)  # block
    yield commit()


@spec.job("finish")
def finish(ctx, job):
    """ClaimedExecution#unblock_next_job after A performed: signal, then release_one."""
    signalled = yield (sa.update(semaphores).where(semaphores.c.id == KEY, semaphores.c.value < LIMIT)
                       .values(value=semaphores.c.value + 1))  # attempt_increment
    if signalled.rowcount == 0:
        return
    yield begin()  # BlockedExecution.release_one
    found = (yield sa.select(blocked_executions.c.id).where(blocked_executions.c.concurrency_key == KEY)
             .order_by(blocked_executions.c.id).limit(1).with_for_update(skip_locked=True)).scalar_one_or_none()
    if found is not None and (yield from wait(ctx)):  # BlockedExecution#release
        yield sa.insert(ready_executions).values(id=found)  # promote_to_ready
        yield sa.delete(blocked_executions).where(blocked_executions.c.id == found)
    yield commit()


@spec.always("no_job_blocked_behind_a_free_semaphore")
def no_job_blocked_behind_a_free_semaphore(world):
    """Once nothing runs, no job is blocked on a key whose semaphore has a free slot."""
    if not world.idle:
        return True
    value = world.row("solid_queue_semaphores", KEY)["value"]
    blocked = [r["id"] for r in world.rows("solid_queue_blocked_executions")]
    if blocked and value > 0:
        return f"jobs {blocked} blocked while the semaphore's value is {value}"
    return True


@spec.eventually("b_becomes_ready")
def b_becomes_ready(world):
    """Job B reaches ``solid_queue_ready_executions``."""
    return world.row("solid_queue_ready_executions", B) is not None
