"""Run one handler program on the real database, and do the pushes it asks for.

Each handler run has its own connection (``db.session()``); each effect is one
``session.apply``, whose statements autocommit (or, for the fix, are one
transaction). A push is never inside a DB transaction: it happens after the
step that asked for it has returned, i.e. committed. That gap is a crash
point, and so is the gap before every step and before every statement inside
an open transaction (the session's ``run`` is wrapped to say where it is).

What asks for a push (the driver only does the DB part):

* ``EnqueueBatches`` with a result of 1 (the driver logged the push in its
  ``dispatches`` table first, as the queue's batch record would): push the wave's batch jobs, with the
  dispatch log row (in the same transaction on the database queue);
* ``ScheduleTrigger``: push the delayed auto-trigger job.
"""

from __future__ import annotations

import os
import time
from typing import Any

from coordinator import Effect, EnqueueBatches, ScheduleTrigger
from live.db import set_isolation
from live.faults import FaultPlan, drop_connection
from live.spec import RunSpec

__all__ = ["SLOW_PUSH_S", "Runner", "batch_payloads"]

#: a push that takes longer than this (wall seconds) is noted in the fault log
SLOW_PUSH_S = 0.1


def batch_payloads(spec: RunSpec, wave: int, push: str) -> list[dict[str, Any]]:
    size = int(spec.settings["wave_size"])
    return [{"kind": "batch", "job_id": spec.job_id, "wave": wave, "batch": b, "push": push} for b in range(size)]


def _crash_points_in_transactions(session: Any, faults: FaultPlan, actor: str) -> None:
    """Put a crash point before every statement the session runs inside an open transaction
    (the fix's claim, a recorded batch), commit included: a kill there dies with the
    transaction open, and the server must roll it back."""
    original = session.run
    open_ = [False]

    def run(name: str, **params: object) -> Any:
        if open_[0] and name != "tell_owner":  # wavesim's own record of a claim, not the coordinator's
            faults.point(f"inside a transaction, before {name}", actor=actor)
        if name == "begin":
            open_[0] = True
        elif name in ("commit", "rollback"):
            open_[0] = False
        return original(name, **params)

    session.run = run


class Runner:
    """Drives handler programs for one process."""

    def __init__(self, spec: RunSpec, db: Any, queue: Any, faults: FaultPlan, name: str) -> None:
        self.spec, self.db, self.queue, self.faults, self.name = spec, db, queue, faults, name
        self.pushes = 0

    def run(self, program: Any, actor: str) -> object:
        """Run ``program`` to its end on a fresh connection; return its result."""
        with self.db.session() as session:
            session.actor = f"{self.name} {actor}"  # who, in the claims record
            set_isolation(session, self.spec.isolation)
            _crash_points_in_transactions(session, self.faults, actor)
            return self._drive(session, program, actor)

    def _drive(self, session: Any, program: Any, actor: str) -> object:
        result: object = None
        first = True
        while True:
            try:
                effect = next(program) if first else program.send(result)
            except StopIteration as stop:
                return stop.value
            first = False
            step = type(effect).__name__
            where = {"actor": actor, "step": step, "wave": getattr(effect, "wave", None)}
            self.faults.point(f"before {step}", **where)
            if self.faults.should_drop(f"before {step}", **where):
                drop_connection(session)
            result = session.apply(effect, self.spec.now())
            self.after(effect, result, actor)

    def after(self, effect: Effect, result: object, actor: str) -> None:
        """The queue pushes a committed step asks for."""
        if isinstance(effect, EnqueueBatches) and result:
            self.faults.point("before push", actor=actor, wave=effect.wave)
            self.push_wave(effect.wave, actor)
        elif isinstance(effect, ScheduleTrigger):
            self.queue.later({"kind": "trigger", "job_id": self.spec.job_id},
                             self.spec.live.wall(effect.delay_s))

    def push_wave(self, wave: int, actor: str) -> None:
        self.pushes += 1
        push = f"{self.name}:{os.getpid()}:{self.pushes}"
        log = {"run": self.spec.run, "job_id": self.spec.job_id, "wave": wave,
               "jobs": int(self.spec.settings["wave_size"]), "actor": f"{self.name} {actor}",
               "pid": os.getpid(), "at_s": self.spec.now()}
        started = time.monotonic()
        self.queue.push_wave(batch_payloads(self.spec, wave, push), log)
        took = time.monotonic() - started
        if took > SLOW_PUSH_S and self.faults.log is not None:  # not a fault: a note for the stall verdict
            self.faults.log.write("slow-push", wave=wave, wall_s=round(took, 3), actor=f"{self.name} {actor}")
