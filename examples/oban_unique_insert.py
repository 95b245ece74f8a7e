"""Oban's unique jobs: two callers insert the same unique job at once.

Oban (oban-bg/oban) has no unique index on ``oban_jobs``: ``Oban.insert/2`` with a ``unique`` option
looks for a job with the same worker and args in the unique states, and inserts one when it finds none.

- ``fix=none`` is Oban 0.12.1 (``Oban.Query.fetch_or_insert_job``): the lookup and the INSERT are two
  statements, no transaction, no lock. Two callers both find nothing and both insert: a duplicate.
  Issue https://github.com/oban-bg/oban/issues/122 ("Inserting unique jobs is subject to race conditions
  between transactions").
- ``fix=4828cd1f`` is the landed fix (commit 4828cd1f, "Use xact locks to prevent duplicate unique
  inserts", closes #122): one transaction that first takes ``pg_try_advisory_xact_lock(hash)``. A caller
  that does not get the lock inserts nothing and is told ``{:ok, job}`` (a job built from the changeset,
  without an id), on the assumption that the lock holder will commit its insert.

The advisory lock is modelled as a row lock on a one-row table ``oban_adlocks`` (one row per lock key):
``pg_try_advisory_xact_lock`` is ``SELECT ... FOR UPDATE SKIP LOCKED`` of that row, which returns no row
when another transaction holds it, and the lock goes with the transaction, as an xact lock does.

``caller=first-rolls-back`` is the reproduction of https://github.com/oban-bg/oban/issues/1087 (and #1093):
caller 1 calls ``Oban.insert`` inside its own ``Repo.transaction`` and then rolls that transaction back. Ecto nests the
insert's transaction in the caller's, so the lock and the INSERT go with that rollback. Caller 2, who
failed to take the lock, was told ``ok`` and commits: no job exists. Oban's answer (2ff529d) only sets
``conflict?: true`` on that answer; the job is still not inserted.
"""

import sqlalchemy as sa

from spec.lang import Spec, begin, commit, record, rollback

metadata = sa.MetaData()
oban_jobs = sa.Table(
    "oban_jobs", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("worker", sa.String(40), nullable=False),
    sa.Column("args", sa.String(40), nullable=False),
    sa.Column("state", sa.String(12), nullable=False),
)
# one row per advisory lock key (phash2 of the unique fields and states)
oban_adlocks = sa.Table(
    "oban_adlocks", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
)

WORKER, ARGS, LOCK_KEY = "MyApp.Mailer", '{"user_id":1}', 1
UNIQUE_STATES = ["available", "scheduled", "executing", "retryable"]

spec = Spec("oban-unique-insert", metadata, scope={"callers": 2, "workers": 2},
            queues={"default": "workers"},
            doc="Oban: two callers insert the same unique job at once (https://github.com/oban-bg/oban/issues/122)")
LANDED_FIX = "4828cd1f"
spec.switch("fix", ["none", "4828cd1f"], default="none",
            doc="none: Oban 0.12.1, lookup then INSERT, no lock; "
                "4828cd1f: one transaction under pg_try_advisory_xact_lock, a locked caller skips the insert")
spec.switch("caller", ["commits", "first-rolls-back"], default="commits",
            doc="commits: every caller's insert stands; first-rolls-back: caller 1 runs Oban.insert "
                "inside its own Repo.transaction and rolls it back (the reproduction of #1087)")


@spec.rows
def initial_rows(scope):
    return {"oban_jobs": [], "oban_adlocks": [{"id": LOCK_KEY}]}


@spec.start
def initial_jobs(scope):
    return [("insert_unique", n) for n in range(1, scope.callers + 1)]


def unique_query():
    """Oban's unique_query: the newest job with the same worker and args in a unique state."""
    return (sa.select(oban_jobs.c.id)
            .where(oban_jobs.c.worker == WORKER, oban_jobs.c.args == ARGS,
                   oban_jobs.c.state.in_(UNIQUE_STATES))
            .order_by(oban_jobs.c.id.desc()).limit(1))


def new_job(caller):
    # the key is given: the model has no generated keys; each caller's row is its own
    return sa.insert(oban_jobs).values(id=caller, worker=WORKER, args=ARGS, state="available")


@spec.job("insert_unique")
def insert_unique(ctx, caller):
    # caller 1 under first-rolls-back wraps Oban.insert in its own Repo.transaction, then rolls back
    rolls_back = ctx.scope.caller == "first-rolls-back" and caller == 1
    if rolls_back or ctx.scope.fix != "none":
        # 4828cd1f's Repo.transaction is nested in the caller's: Ecto makes them one transaction
        yield begin()
    got_lock = True
    if ctx.scope.fix != "none":
        got_lock = (yield sa.select(oban_adlocks.c.id).where(oban_adlocks.c.id == LOCK_KEY)
                    .with_for_update(skip_locked=True)).first() is not None
    if got_lock:
        found = (yield unique_query()).first()
        if found is None:
            yield new_job(caller)
    # the caller is told {:ok, job} in every branch: a found job, the new one, or (locked) the
    # changeset's own job without an id
    if rolls_back:
        yield rollback()
    elif ctx.scope.fix != "none":
        yield commit()
        yield record("ok_committed", 1)
    else:
        yield record("ok_committed", 1)


@spec.always("at_most_one_unique_job")
def at_most_one_unique_job(world):
    """at most one job with the same worker and args is in a unique state"""
    ids = [r["id"] for r in world.rows("oban_jobs")
           if r["worker"] == WORKER and r["args"] == ARGS and r["state"] in UNIQUE_STATES]
    return len(ids) <= 1 or f"unique jobs {ids}"


@spec.always("ok_means_a_job_exists")
def ok_means_a_job_exists(world):
    """once nothing runs, a caller that was told ok and committed finds its unique job"""
    if not world.idle or world.count("ok_committed", 1) == 0:
        return True
    return bool(world.rows("oban_jobs")) or "a caller was told ok, and no job exists"
