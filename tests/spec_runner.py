"""Run one interleaving of sessions on a real engine and on the model, step by step, and compare them.

The real sessions are ``dbdriver.specsessions.Sessions``: one connection per session on its own thread, so
a statement that waits for a lock shows as still running after ``WAIT`` seconds: that is "blocked". The
model's outcomes for the same step (and for the retried statements of the sessions it says were blocked)
must include what the engine did. Branches that look the same to the engine (a wait that keeps this or that
set of rows) part only later, so every model state that agrees with the engine so far is followed.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

import spec
from dbdriver.specsessions import DONE, ERROR, Seen, Sessions

OTHERS = 0.2
SLOW = 3.0
WAIT = 0.3  # seconds a statement may take before it counts as blocked (PostgreSQL's deadlock_timeout is 50 ms)

Op = tuple[int, str, Any]  # (session, "begin" | "commit" | "rollback" | "statement", statement or None)


def _sortable(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((v is None, v if v is not None else 0) if not isinstance(v, str) else (False, v) for v in row)


def _agrees(outcome: spec.Outcome, seen: Seen, kind: str, statement: Any) -> bool:
    if isinstance(outcome, spec.Blocked):
        return seen.blocked
    if isinstance(outcome, spec.Failed):
        return seen.kind == ERROR and seen.error == outcome.error
    if seen.kind != DONE:
        return False
    if kind != "statement":
        return True
    result = outcome.result
    model_rows, real_rows = tuple(result.rows), seen.rows or ()
    if not result.ordered:
        model_rows, real_rows = tuple(sorted(model_rows, key=_sortable)), tuple(sorted(real_rows, key=_sortable))
    if model_rows != real_rows:
        return False
    if isinstance(statement, sa.Update | sa.Delete) and not statement._returning:
        return result.rowcount == seen.rowcount  # with RETURNING the drivers do not all report it
    return True


def model_step(engine: spec.Engine, state: spec.DbState, s: int, kind: str, statement: Any) -> tuple[spec.Step, ...]:
    if kind == "begin":
        return (engine.begin(state, s),)
    if kind == "commit":
        return (engine.commit(state, s),)
    if kind == "rollback":
        return (engine.rollback(state, s),)
    return engine.execute(state, s, statement)


class Interleaving:
    """Drive ``sessions`` real sessions and the model through the same ops; fail on the first disagreement."""

    def __init__(self, engine: spec.Engine, state: spec.DbState, real: Sessions,
                 note: Callable[[str], None]) -> None:
        self.engine, self.real, self.note = engine, real, note
        #: every model state that agrees with the engine so far (they agree on what each session sees)
        self.states: list[spec.DbState] = [state]
        #: per session, the statement the model and the engine hold in flight (blocked), if any
        self.waiting: dict[int, tuple[str, Any]] = {}
        self.counts = {"steps": 0, "blocked": 0, "errors": 0, "deadlocks": 0}

    def step(self, s: int, kind: str, statement: Any) -> None:
        if s in self.waiting:
            return  # a blocked session cannot send anything until its statement returns
        if kind != "statement" and not self._fits(s, kind):
            return
        if kind == "statement":
            self.note(f"session {s} runs: {self.real.sql(statement)}")
        self.real.submit(s, statement if kind == "statement" else kind)
        self.waiting[s] = (kind, statement)
        self._settle(first=s)

    @property
    def state(self) -> spec.DbState:
        """One model state that agrees with the engine: the sessions' open, failed and waiting are the same
        in each."""
        return self.states[0]

    def _fits(self, s: int, kind: str) -> bool:
        session = self.state.sessions[s]
        if kind == "begin":
            return not session.open
        if kind == "commit":
            return session.open and not session.failed
        return session.open

    def _settle(self, first: int) -> None:
        """Let the engine run WAIT seconds, then find the model branch that did the same, retrying waiters."""
        # SQLite's busy handler sleeps up to 100 ms between tries, so a waiter gets OTHERS seconds to wake up
        seen = {s: self.real.settle(s, WAIT if s == first else OTHERS) for s in sorted(self.waiting)}
        others = [s for s in sorted(self.waiting) if s != first]
        matched = self._match(first, others, seen)
        if not matched and any(v.blocked for v in seen.values()):
            # a loaded machine may just be slow: give what looked blocked SLOW seconds more before judging
            seen = {s: (self.real.settle(s, SLOW) if v.blocked else v) for s, v in seen.items()}
            matched = self._match(first, others, seen)
        if not matched:
            shown = {s: (self.waiting[s][0], str(self.waiting[s][1]).replace("\n", " "), seen[s]) for s in seen}
            model = list(dict.fromkeys(str(o) for state in self.states
                                       for _, o in self._branches(state, first, others)))
            raise AssertionError(f"engine and model disagree: engine {shown}; model branches {model}")
        self.states = list(dict.fromkeys(state for state, _ in matched))
        outcomes = matched[0][1]
        self.counts["steps"] += 1
        failed = []
        for s, outcome in outcomes.items():
            self.note(f"session {s}: {self.waiting[s][0]} -> {outcome}")
            if isinstance(outcome, spec.Blocked):
                self.counts["blocked"] += 1
                continue
            del self.waiting[s]
            if isinstance(outcome, spec.Failed):
                self.counts["errors"] += 1
                self.counts["deadlocks"] += outcome.error == spec.DEADLOCK
                failed.append(s)
        for s in failed:  # a program rolls back after an engine error
            if s not in self.waiting and (self.state.sessions[s].open or self.state.sessions[s].failed):
                self.step(s, "rollback", None)

    def _match(self, first: int, others: list[int], seen: dict[int, Seen]
               ) -> list[tuple[spec.DbState, dict[int, spec.Outcome]]]:
        """Every branch, from every state followed, that agrees with what the engine did."""
        return [found for state in self.states for branch_state, outcomes in self._branches(state, first, others)
                for found in self._again(branch_state, outcomes, seen, rounds=2)]

    def _again(self, state: spec.DbState, outcomes: dict[int, spec.Outcome], seen: dict[int, Seen], rounds: int
               ) -> list[tuple[spec.DbState, dict[int, spec.Outcome]]]:
        """The branch if it agrees; else retry the statements the model still blocks but the engine returned
        (a lock freed later in the same wait, e.g. after a second deadlock among the waiters)."""
        if all(_agrees(outcomes[s], seen[s], *self.waiting[s]) for s in outcomes):
            return [(state, outcomes)]
        again = [s for s, o in outcomes.items() if isinstance(o, spec.Blocked) and not seen[s].blocked]
        if rounds == 0 or not again:
            return []
        return [found for order in itertools.permutations(again)
                for after, retried in self._retry(state, outcomes, list(order))
                for found in self._again(after, retried, seen, rounds - 1)]

    def _branches(self, state: spec.DbState, first: int, others: list[int]
                  ) -> list[tuple[spec.DbState, dict[int, spec.Outcome]]]:
        found: list[tuple[spec.DbState, dict[int, spec.Outcome]]] = []
        kind, statement = self.waiting[first]
        for after, outcome in model_step(self.engine, state, first, kind, statement):
            for order in itertools.permutations(others) or [()]:
                found.extend(self._retry(after, {first: outcome}, list(order)))
        return found

    def _retry(self, state: spec.DbState, outcomes: dict[int, spec.Outcome], order: list[int]
               ) -> list[tuple[spec.DbState, dict[int, spec.Outcome]]]:
        if not order:
            return [(state, outcomes)]
        s, rest = order[0], order[1:]
        kind, statement = self.waiting[s]
        found = []
        for after, outcome in model_step(self.engine, state, s, kind, statement):
            found.extend(self._retry(after, {**outcomes, s: outcome}, rest))
        return found

    def finish(self) -> None:
        """Roll every session back (blocked ones return once their holders have)."""
        for _ in range(12):
            open_ = [s for s in range(len(self.real)) if s not in self.waiting
                     and (self.state.sessions[s].open or self.state.sessions[s].failed)]
            for s in open_:
                self.step(s, "rollback", None)
            if not open_ and not self.waiting:
                left = [s for s in range(len(self.real)) if self.real.in_transaction(s)]
                assert left == [], f"sessions {left} still in a transaction on the engine"
                return
            if not open_:
                self._settle(first=min(self.waiting))
        raise AssertionError(f"sessions still blocked after rolling everything back: {self.waiting}")
