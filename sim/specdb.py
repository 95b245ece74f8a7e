"""The simulated database of a spec: one ``DbState``, each session's step run by ``spec.Engine`` (the
checker's engine), and lock waits as SimPy events.

A step that the engine answers ``Blocked`` waits until another session ends a statement or a transaction
(or disconnects), then runs again; when the engine names several outcomes (a deadlock: one per transaction
it may abort), ``draw`` picks one. A statement that takes or reads a lease is planned at the simulated time
it runs (``spec/lease.py``). Each wait is recorded with its start, end and job type.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import simpy

from sim.specworld import SimWorld, SpecRecorder
from spec.errors import DEADLOCK, Unsupported
from spec.executor import Engine, Step
from spec.lang import Begin, Commit, Keep, Rollback, is_statement
from spec.lease import reads_clock
from spec.plans import PLANS_KEPT
from spec.results import Blocked, Done, Failed
from spec.schema import Schema
from spec.statements import Plan

__all__ = ["SimDb", "shared_engine"]

#: engines by (schema, dialect), so that the runs of one spec (seeds, variants, repetitions) share its plans:
#: each statement structure is planned once, not once per run. A kept plan is exactly the plan of the
#: statement (``spec.plans``), so sharing changes no result; the schema is kept so that its id stays its own.
#: Beside each engine, which of its plans read the clock (``SimDb._timed``), a fact of each plan.
_ENGINES: dict[tuple[int, str], tuple[Schema, Engine, dict[int, tuple[Plan, bool]]]] = {}
_ENGINES_KEPT = 16  # a few specs and dialects per process; past this the memo starts again


def shared_engine(schema: Schema, dialect: str) -> tuple[Engine, dict[int, tuple[Plan, bool]]]:
    """The engine of ``schema`` on ``dialect`` that every run of the spec in this process shares, and which of
    its plans read the clock."""
    kept = _ENGINES.get((id(schema), dialect))
    if kept is None or kept[0] is not schema:
        if len(_ENGINES) >= _ENGINES_KEPT:
            _ENGINES.clear()
        kept = _ENGINES[(id(schema), dialect)] = (schema, Engine.of(schema, dialect), {})
    return kept[1], kept[2]


class SimDb:
    """Sessions' steps on ``world.db`` through ``engine``; ``stepped()`` is called after each step."""

    def __init__(self, engine: Engine, world: SimWorld, env: simpy.Environment, recorder: SpecRecorder,
                 draw: Callable[[int], int], stepped: Callable[[], None],
                 timed: dict[int, tuple[Plan, bool]] | None = None) -> None:
        self.engine, self.world, self.env, self.recorder = engine, world, env, recorder
        self._draw, self._stepped = draw, stepped
        self._waiting: list[simpy.Event] = []  # runs waiting for a lock
        #: id(plan) -> (plan, whether it takes or reads a lease): a fact of the plan, so it may be shared by
        #: every run whose engine keeps the same plans
        self._timed: dict[int, tuple[Plan, bool]] = {} if timed is None else timed

    def step(self, s: int, op: Any, job: str) -> Generator[Any, Any, Done | Failed]:
        """Run ``op`` (a statement, ``keep``, BEGIN, COMMIT or ROLLBACK) in session ``s`` as the engine
        does, waiting out every ``Blocked``; the engine's ``Done`` or ``Failed``."""
        run = self._runner(s, op)
        waited_from: float | None = None
        while True:
            steps = run()
            after, outcome = steps[0] if len(steps) == 1 else steps[self._draw(len(steps))]
            self.world.db = after
            if isinstance(outcome, Blocked):
                if waited_from is None:
                    waited_from = self.env.now
                wake = self.env.event()
                self._waiting.append(wake)
                yield wake
                continue
            if waited_from is not None:
                self.recorder.waits.append((waited_from, self.env.now, job))
            if isinstance(outcome, Failed) and outcome.error == DEADLOCK:
                self.recorder.deadlocks += 1
            self.recorder.statements += 1
            self._wake()
            self._stepped()
            assert isinstance(outcome, Done | Failed)
            return outcome

    def disconnect(self, s: int) -> None:
        """Session ``s``'s connection is gone (an ack, a crash, a retry): its transaction rolls back."""
        self.world.db = self.engine.disconnect(self.world.db, s)
        self._wake()

    def _runner(self, s: int, op: Any) -> Callable[[], tuple[Step, ...]]:
        engine = self.engine
        if isinstance(op, Begin):
            return lambda: (engine.begin(self.world.db, s, op.level),)
        if isinstance(op, Commit):
            return lambda: (engine.commit(self.world.db, s),)
        if isinstance(op, Rollback):
            return lambda: (engine.rollback(self.world.db, s),)
        statement = op.statement if isinstance(op, Keep) else op
        if not is_statement(statement):
            raise Unsupported(f"keep() of {statement!r}, which is not a SQLAlchemy statement")
        plan = engine.plan(statement)  # kept by its structure, so planned once per run of the spec, not per job
        known = self._timed.get(id(plan))
        if known is None or known[0] is not plan:  # one plan object is one structure: ask once per plan
            if len(self._timed) >= PLANS_KEPT:
                self._timed.clear()
            known = self._timed[id(plan)] = (plan, reads_clock(statement))
        if known[1]:  # a lease is taken or read at the simulated time of each try (a wait moves it on)
            return lambda: engine.execute_plan(self.world.db, s, engine.plan(statement, now=self._now()))
        return lambda: engine.execute_plan(self.world.db, s, plan)

    def _now(self) -> int:
        return round(self.env.now * 1_000_000)

    def _wake(self) -> None:
        waiting, self._waiting = self._waiting, []
        for wake in waiting:
            wake.succeed()
