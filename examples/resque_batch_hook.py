"""resque-batched-job: the ``after_batch`` hook fires more than once for one batch.

Thread: https://github.com/drfeelngood/resque-batched-job/pull/9 (merged as 4b1e964, "Combine
remove_batched_job and batch_complete? into a single function so that their operations are both
surrounded by the same mutex"); the symptom is also reported in issue #16.

Bug (v1.5): ``after_perform_batch`` calls ``remove_batched_job`` (``LREM batch:<id>`` inside
``mutex(id)``) and then, in a second ``mutex(id)``, ``batch_complete?`` (``LLEN batch:<id> == 0``).
Two workers finishing the batch's last two jobs can both remove their entry before either checks
the length: both see 0 and both run the ``after_batch`` hooks ("I actually had the after_batch hook
performed four times").

Fix (PR #9): ``remove_batched_job`` returns ``LLEN`` from the same mutex section as its ``LREM``, and
``after_perform_batch`` runs the hooks only if that returned length is 0.

Modelled in SQL: the Redis list ``batch:<id>`` is the table ``batch_entries`` (one row per queued
entry; ``LREM`` is a DELETE, ``LLEN`` a COUNT). The SETNX lock ``batch:<id>:lock`` is a row lock on
``batch_locks`` taken by ``SELECT ... FOR UPDATE`` in a transaction that ends when the lock is
released (the real lock also expires after 0.5 s; the model's never does).
"""

import sqlalchemy as sa

from spec.lang import Spec, begin, commit, record

metadata = sa.MetaData()
batch_entries = sa.Table(  # the Redis list batch:<id>, one row per encoded job
    "batch_entries", metadata,
    sa.Column("id", sa.Integer, primary_key=True),  # the job's encoded payload
    sa.Column("batch", sa.Integer, nullable=False),
)
batch_locks = sa.Table("batch_locks", metadata, sa.Column("id", sa.Integer, primary_key=True))  # batch:<id>:lock

BATCH = 1

spec = Spec("resque-batch-hook", metadata, scope={"jobs": 2}, queues={"default": 2},
            doc="resque-batched-job: after_batch hooks and the batch list's mutex")
#: the fix that landed upstream (merged as 4b1e964); tests/test_examples.py proves it in this scope
LANDED_FIX = "pr-9"
spec.switch("fix", ["none", "pr-9"], default="none",
            doc="none: v1.5, LREM and LLEN in two mutex sections; pr-9: one section returns LLEN")


@spec.rows
def rows(scope):
    return {"batch_entries": [{"id": n, "batch": BATCH} for n in range(1, scope.jobs + 1)],
            "batch_locks": [{"id": BATCH}]}


@spec.start
def start(scope):
    return [("batched_job", BATCH, n) for n in range(1, scope.jobs + 1)]


def lock():
    """Enter ``mutex(id)``: BEGIN and take the batch's lock row."""
    yield begin()
    yield sa.select(batch_locks.c.id).where(batch_locks.c.id == BATCH).with_for_update()


def lrem(n):
    return sa.delete(batch_entries).where(batch_entries.c.id == n)


def llen():
    return sa.select(sa.func.count(batch_entries.c.id)).where(batch_entries.c.batch == BATCH)


@spec.job("batched_job")
def batched_job(ctx, bid, n):
    """``perform`` (nothing to model), then the ``after_perform_batch`` hook."""
    if ctx.scope.fix == "none":
        yield from lock()  # remove_batched_job
        yield lrem(n)
        yield commit()
        yield from lock()  # batch_complete?
        remaining = (yield llen()).scalar_one()
        yield commit()
    else:
        yield from lock()  # remove_batched_job, returning the list's length
        yield lrem(n)
        remaining = (yield llen()).scalar_one()
        yield commit()
    if remaining == 0:
        yield record("after_batch", bid)  # every after_batch_* hook


@spec.always("after_batch_at_most_once")
def after_batch_at_most_once(world):
    """The batch's ``after_batch`` hooks run at most once."""
    runs = world.count("after_batch", BATCH)
    return True if runs <= 1 else f"after_batch ran {runs} times"


@spec.eventually("after_batch_runs")
def after_batch_runs(world):
    """The batch's ``after_batch`` hooks run."""
    return world.count("after_batch", BATCH) >= 1
