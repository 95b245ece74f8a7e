"""The processes off the queue: the reconciler and the chaos process.

* The **reconciler** (policies with ``reconciler_period_s``) runs the handler
  every period, from a scheduler, as a cron job or Horizon's scheduler would.
* The **chaos** process injects the faults that come from outside a worker,
  once every ``chaos_period_s`` (scenario seconds), each with its rate:

  - *slow statement* (``lock_rate``): another session opens a transaction,
    locks the import's wave rows (``SELECT ... FOR UPDATE``; on SQLite a
    ``BEGIN IMMEDIATE`` write lock) and holds them ``lock_hold_s``, longer than
    the auto-trigger delay by default: every write to those rows waits;
  - *lost delayed job* (``lose_delayed_rate``): a delayed job (an auto-trigger,
    ``DELAYED_KINDS``) it sees for the first time is deleted from the queue
    before it is due (a Redis eviction, a queue flushed on a deploy);
  - *duplicated delivery* (``duplicate_rate``): one reserved job's reservation is
    made to look expired, so the queue's own redelivery hands it to a second
    worker while the first still runs it.
"""

from __future__ import annotations

import os
import random
import signal
import time
from typing import Any

from coordinator import ReconcilerTicked, program_for
from live.db import DB_ERRORS, hold_lock
from live.faults import TAKE, FaultPlan
from live.handlerrun import Runner
from live.spec import RunSpec
from live.specplan import DELAYED, SpecPlan

__all__ = ["DELAYED_KINDS", "chaos", "duplicate", "lose_delayed", "reconciler", "spec_chaos"]


def _until_term() -> list[bool]:
    flag = [False]

    def _term(_sig: int, _frame: Any) -> None:
        flag[0] = True

    signal.signal(signal.SIGTERM, _term)
    return flag


def reconciler(spec: RunSpec, slot: int, incarnation: int) -> None:
    """Every ``reconciler_period_s``: one handler run."""
    s = spec.live
    policy = s.resolve()
    period = policy.reconciler_period_s
    if period is None:
        return
    stop = _until_term()
    faults = FaultPlan(seed=s.seed, role="reconciler", slot=slot, incarnation=incarnation, kill_rate=0.0,
                       drop_rate=0.0, log=None)
    db, queue = spec.open_database(), spec.open_queue()
    runner = Runner(spec, db, queue, faults, "reconciler")
    log = spec.open_fault_log()
    ticks = 0
    parent = os.getppid()
    while not stop[0] and not spec.orphaned(parent):
        time.sleep(s.wall(period))
        ticks += 1
        log.write(TAKE, job="reconciler", delivery=1)  # a tick, counted as a spec's run counts its periodic job
        try:
            runner.run(program_for(ReconcilerTicked(job_id=spec.job_id), policy, s.config), f"tick {ticks}")
        except DB_ERRORS:
            continue  # the next tick tries again


#: the jobs the coordinator pushes with a delay (``later()``): the auto-trigger. A job a
#: worker released also sits in the delayed set (Redis) or carries a future
#: ``available_at`` for an instant (a reader's clock taken before the insert
#: committed), but losing one is a lost batch, not a lost delayed job
DELAYED_KINDS = frozenset({"trigger"})


def lose_delayed(queue: Any, rng: random.Random, rate: float, seen: set[str], log: Any,
                 kinds: frozenset[str] = DELAYED_KINDS) -> None:
    """Delete each delayed job (of ``kinds``) seen for the first time, with probability ``rate``."""
    for handle, payload in queue.delayed():
        key = str(handle)
        if key in seen or payload.get("kind") not in kinds:
            continue
        seen.add(key)
        if rng.random() < rate and queue.remove(handle):
            log.write("lose-delayed", job=payload)


def duplicate(queue: Any, rng: random.Random, log: Any) -> None:
    """Expire one reserved job's reservation (chosen by ``rng``), so the queue delivers it again."""
    reserved = queue.reserved()
    if reserved:
        handle, payload = rng.choice(reserved)
        if queue.expire(handle):
            log.write("duplicate-delivery", job=payload)


def chaos(spec: RunSpec, slot: int, incarnation: int) -> None:
    s = spec.live
    stop = _until_term()
    rng = random.Random(f"{s.seed}:chaos:{slot}:{incarnation}")
    log = spec.open_fault_log()
    db, queue = spec.open_database(), spec.open_queue()
    seen: set[str] = set()
    parent = os.getppid()
    while not stop[0] and not spec.orphaned(parent):
        time.sleep(s.wall(s.chaos_period_s))
        try:
            if s.lose_delayed_rate > 0:
                lose_delayed(queue, rng, s.lose_delayed_rate, seen, log)
            if s.duplicate_rate > 0 and rng.random() < s.duplicate_rate:
                duplicate(queue, rng, log)
            if s.lock_rate > 0 and rng.random() < s.lock_rate:
                log.write("slow-statement", hold_s=s.lock_hold_s)
                hold_lock(db, spec.job_id, s.wall(s.lock_hold_s))
        except DB_ERRORS:
            continue


def spec_chaos(plan: SpecPlan, slot: int, incarnation: int) -> None:
    """The chaos process of a spec's live run: lost delayed jobs and duplicated deliveries, on every queue
    of the spec (a slow statement needs the write-up's wave rows: not offered for a spec)."""
    s = plan.run.live
    stop = _until_term()
    rng = random.Random(f"{s.seed}:chaos:{slot}:{incarnation}")
    log = plan.run.open_fault_log()
    queues = [plan.open_queue(name) for name in plan.workers]
    seen: set[str] = set()
    parent = os.getppid()
    while not stop[0] and not plan.run.orphaned(parent):
        time.sleep(s.wall(s.chaos_period_s))
        for queue in queues:
            try:
                if s.lose_delayed_rate > 0:
                    lose_delayed(queue, rng, s.lose_delayed_rate, seen, log, frozenset({DELAYED}))
                if s.duplicate_rate > 0 and rng.random() < s.duplicate_rate:
                    duplicate(queue, rng, log)
            except DB_ERRORS:
                continue
