"""django-celery-results: a chord header task delivered twice leaves the chord's callback unfired.

Thread: https://github.com/celery/django-celery-results/pull/397 ("Ensure triggering of callback in
chord", commit 6e0aa80). The PR is OPEN, not merged: its switch choice is a proposed fix, not a landed
one (the newest code checked, 067dfc9, still deletes the counter first).

Bug: ``DatabaseBackend.on_chord_part_return`` runs after each header task stores its result. In
``transaction.atomic()`` it reads the group's ``ChordCounter`` ``select_for_update()``, decrements
``count`` and saves it, or, when it reaches 0, deletes the counter; after the transaction it triggers
the chord body if ``deps.ready()`` (every header result stored). A header task that runs twice
(at-least-once delivery) takes the count to 0 while another header task has not finished: the group
is not ready, no callback, and the counter is gone. The last real task finds no counter ("Can't find
ChordCounter"), so nobody ever triggers the body.

PR #397: delete the counter only after triggering the callback, when ``deps.ready()``; when the count
reaches 0 but the group is not ready, log a warning and save nothing.

Modelled: one chord of ``header`` tasks. Not modelled: ``sub_tasks`` (the header's ids, constants
here), the results ``join`` before the body is sent; results rows exist up front as PENDING (the real
backend inserts them on first store).
"""

import sqlalchemy as sa

from spec.lang import Spec, begin, commit, push, record

metadata = sa.MetaData()
chordcounter = sa.Table(
    "django_celery_results_chordcounter", metadata,
    sa.Column("id", sa.Integer, primary_key=True),  # the group_id
    sa.Column("count", sa.Integer, nullable=False),
)
taskresult = sa.Table(
    "django_celery_results_taskresult", metadata,
    sa.Column("id", sa.Integer, primary_key=True),  # the task_id
    sa.Column("status", sa.String(16), nullable=False),
)

GROUP = 1

spec = Spec("celery-chord-counter", metadata, scope={"header": 2}, queues={"celery": 2},
            faults={"duplicate": 1}, doc="django-celery-results ChordCounter vs. a duplicated header task")
#: no fix landed upstream: PR #397 is open, and its choice here is the proposed fix, which the checker
#: breaks (tests/test_examples.py)
LANDED_FIX = None
spec.switch("fix", ["none", "pr-397"], default="none",
            doc="none: delete the counter when its count reaches 0; pr-397 (open, unmerged): delete it "
                "after triggering the callback, only if the group is ready")


@spec.rows
def rows(scope):
    tasks = range(1, scope.header + 1)
    return {"django_celery_results_chordcounter": [{"id": GROUP, "count": scope.header}],  # apply_chord
            "django_celery_results_taskresult": [{"id": t, "status": "PENDING"} for t in tasks]}


@spec.start
def start(scope):
    return [("header_task", GROUP, t) for t in range(1, scope.header + 1)]


def group_ready(ctx):
    """``deps.ready()``: each header result's state, read one by one until one is not ready."""
    for t in range(1, ctx.scope.header + 1):
        status = (yield sa.select(taskresult.c.status).where(taskresult.c.id == t)).scalar_one()
        if status != "SUCCESS":
            return False
    return True


@spec.job("header_task", queue="celery")
def header_task(ctx, gid, tid):
    """A header task's result is stored (``mark_as_done``), then ``on_chord_part_return``."""
    yield sa.update(taskresult).where(taskresult.c.id == tid).values(status="SUCCESS")
    yield begin()  # transaction.atomic()
    count = (yield sa.select(chordcounter.c.count).where(chordcounter.c.id == gid)
             .with_for_update()).scalar_one_or_none()
    if count is None:  # "Can't find ChordCounter for Group"
        yield commit()
        return
    count -= 1
    if count != 0:
        yield sa.update(chordcounter).where(chordcounter.c.id == gid).values(count=count)
    elif ctx.scope.fix == "none":
        yield sa.delete(chordcounter).where(chordcounter.c.id == gid)
    yield commit()
    if count == 0 and (yield from group_ready(ctx)):
        yield push("chord_body", gid)  # trigger_callback: callback.delay(...)
        yield record("callback_sent", gid)
        if ctx.scope.fix == "pr-397":
            yield sa.delete(chordcounter).where(chordcounter.c.id == gid)


@spec.job("chord_body", queue="celery")
def chord_body(ctx, gid):
    """The chord's body (callback)."""
    yield record("callback_ran", gid)


@spec.always("callback_at_most_once")
def callback_at_most_once(world):
    """The chord's body is sent at most once."""
    sent = world.count("callback_sent", GROUP)
    return True if sent <= 1 else f"the chord body was sent {sent} times"


@spec.always("callback_when_idle")
def callback_when_idle(world):
    """Once no task is queued or running, the chord's body has been sent."""
    if world.idle and world.count("callback_sent", GROUP) == 0:
        counter = world.row("django_celery_results_chordcounter", GROUP)
        return f"idle and the chord body was never sent (counter: {counter})"
    return True
