"""Waits that keep nothing: a PostgreSQL statement whose wait would record nothing it reads again is not
taken as a step while the row it needs is held; its worker stays where it is.

A statement that meets a row another session holds waits, and the model records the wait as a state: the
sessions it waits for, and the part of its snapshot it reads again when it resumes (``spec/outcomes.py``).
That state differs from the one before the statement only where the wait can matter, and it cannot when:

- the session has no transaction open and holds no lock, before and during the wait: nobody waits for it,
  so no deadlock goes through it;
- its WHERE fixes the key to rows that exist and match, and it reads (WHERE, ORDER BY, SET) no column
  besides the key that any statement of the check writes, of a table no statement inserts into or
  deletes from.

Then the statement finds the same rows, and checks the same new rows, whether its snapshot was taken when
it first met the lock or when it runs: resumed, it does what it would do had it started then. So the
state before the statement stands for the wait, and the statement is simply not enabled while the row is
held, as a worker blocked in the engine takes no step. Verdicts stay the same; a path through such a wait
is one step shorter (the wait was not a statement's effect).

Which columns no statement writes is not declared: the checker learns it from every statement it plans
(``learn``), and a statement planned after a wait was merged that writes a column, or inserts into or
deletes from a table, a merged wait read stops the check (``WaitMergeBroken``, exit 2); ``--no-wait-merge``
keeps every wait.
"""

from __future__ import annotations

from spec.errors import SourceLocation, Unsupported
from spec.executor import Engine
from spec.state import DbState
from spec.statements import Delete, Insert, Plan, Select, Update, key_lookup

__all__ = ["WaitMergeBroken", "Waits"]


class WaitMergeBroken(Unsupported):
    """A statement writes what a merged wait assumed no statement writes: the merge cannot be used."""


class Waits:
    """The writes of every statement planned so far, and the waits merged on the strength of them."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.on = engine.dialect.name == "postgresql"
        self._written: set[tuple[int, int]] = set()  # (table, column) some planned UPDATE sets
        self._reshaped: set[int] = set()  # tables some planned INSERT or DELETE changes
        self._assumed: set[tuple[int, int]] = set()  # (table, column) a merged wait read
        self._assumed_tables: set[int] = set()

    def learn(self, plan: Plan, where: SourceLocation | None) -> None:
        """Note what a newly planned statement writes; refuse it if a merged wait assumed nobody does."""
        if isinstance(plan, Update):
            written = {(plan.table, c) for c, _ in plan.assignments}
            self._written |= written
            broken = sorted(written & self._assumed)
            if broken:
                names = ", ".join(self.engine.schema.tables[t].columns[c].name for t, c in broken)
                raise WaitMergeBroken(f"this UPDATE writes {names}, which a wait merged earlier read as never "
                                      "written; check with --no-wait-merge", where)
        elif isinstance(plan, Insert | Delete):
            self._reshaped.add(plan.table)
            if plan.table in self._assumed_tables:
                raise WaitMergeBroken(f"this {type(plan).__name__.upper()} changes the rows of table "
                                      f"{self.engine.schema.tables[plan.table].name}, which a wait merged earlier "
                                      "read as fixed; check with --no-wait-merge", where)

    def keeps_nothing(self, before: DbState, after: DbState, s: int, plan: Plan) -> bool:
        """True when session ``s``'s wait (``before`` -> ``after``, on ``plan``) may be left out (above)."""
        if not self.on or not isinstance(plan, Select | Update | Delete):
            return False
        was, now = before.sessions[s], after.sessions[s]
        if was.open or was.locks or was.writes or was.waiting or now.locks or now.pending is None:
            return False
        table = self.engine.schema.tables[plan.table]
        keys = key_lookup(plan.where, table)
        if keys is None or self.engine.may_read_table(plan) or \
                {row[table.key] for row in now.pending[plan.table]} != set(keys):
            return False
        read = {(plan.table, c) for c in self.engine.snapshot_columns(plan) if c != table.key}
        if plan.table in self._reshaped or read & self._written:
            return False
        self._assumed |= read
        self._assumed_tables.add(plan.table)
        return True
