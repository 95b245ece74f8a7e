"""Partial-order reduction from each step's footprint: a step no other worker can disturb is taken alone.

A spec's programs are Python, so the checker cannot know what other jobs will do later. It can still
know which of one worker's steps commute with *anything* any other worker may do, from the footprint of
the step and the locks its session holds now:

- ``BEGIN`` on PostgreSQL and MariaDB: it only marks the session's own transaction open.
- A plain SELECT on MariaDB REPEATABLE READ once the transaction's snapshot is taken: it reads that
  snapshot and the session's own writes, which nobody else changes.
- A SELECT or UPDATE inside a transaction whose WHERE fixes the key (``key = c``, ``key IN (...)``) to
  rows that exist and that the session already holds locked: while it holds them, no other session can
  change them, and its own uncommitted writes are invisible to others.
- On SQLite, any statement of the transaction that holds the database's write lock: nobody else can
  write until it ends, and the committed rows it reads cannot change.
- COMMIT or ROLLBACK of a transaction that wrote nothing and holds no lock.

A statement that may read a row whose lease another live run owns is never taken alone: that run's end
rewrites the row's owner (``model/specmodel/leases.py``), locked or not.

Such a step is taken alone when, besides, it is invisible (it changes no committed row, queue, ghost
count or failed job, and its run goes on), it is its worker's only enabled step (no crash or throw left
in the budget for it), and its successor state lies one level further from the start than the state it
leaves (new, or met already at that next level): the cycle proviso for a breadth-first search, since a
cycle cannot go one level down at every step, so one of its states is expanded in full. (The stricter
"new only" loses reductions wherever two orders of the same independent steps meet.) These are
conditions C0-C3 of
Clarke, Grumberg and Peled (*Model Checking*, ch. 10), and the ample set is a single step, which also
keeps branching-time properties (Gerth, Kuiper, Peled and Penczek 1995, C4), as ``eventually`` is
judged. Verdicts are exact; a counterexample may be longer than the shortest (``shortest`` turns the
reduction off).
"""

from __future__ import annotations

from collections.abc import Callable

from model.specmodel.actions import Model, Move
from model.specmodel.programs import Op
from model.specmodel.world import World
from spec.lang import Begin, Commit, Rollback, is_statement
from spec.state import overlay, table_writes
from spec.statements import Select, Update, key_lookup

__all__ = ["ample", "undisturbed"]


def undisturbed(model: Model, world: World, s: int, nxt: Op) -> bool:
    """True when the step ``nxt`` of session ``s`` commutes with every step of every other session."""
    op, db = nxt.op, world.db
    session = db.sessions[s]
    dialect = model.engine.dialect.name
    if isinstance(op, Begin):
        return dialect != "sqlite"
    if isinstance(op, Commit | Rollback):
        return session.open and not any(session.writes) and not session.locks and not session.gaps and \
            not session.shared and db.writer != s
    if not is_statement(op) or not session.open or session.failed or session.waiting:
        return False
    plan = model.plan_of(op, nxt.where)
    if dialect == "sqlite":
        return db.writer == s and not model.owners.held_by_other(db, s, plan.table, list(db.tables[plan.table]))
    if isinstance(plan, Select) and not plan.for_update and dialect == "mysql":
        if session.snapshot is not None and model.owners.held_by_other(
                db, s, plan.table, list(session.snapshot[plan.table])):
            return False  # another run's end releases a lease in the snapshot too (model/specmodel/leases.py)
        return session.snapshot is not None  # without one, this read takes it: it sees others' commits
    if not isinstance(plan, Select | Update):
        return False
    table = model.spec.schema.tables[plan.table]
    keys = key_lookup(plan.where, table)
    if keys is None or model.engine.may_read_table(plan):  # a table scan may meet other sessions' rows
        return False
    rows = overlay({int(r[table.key]): r for r in db.tables[plan.table]},  # type: ignore[arg-type]
                   table_writes(session, plan.table))
    if model.owners.held_by_other(db, s, plan.table, [rows[k] for k in keys if k in rows]):
        return False  # another run's end releases its lease on the row, locked or not
    return all(k in rows and (plan.table, k) in session.locks for k in keys)


def _invisible(before: World, after: World, s: int) -> bool:
    return (after.db.tables == before.db.tables and after.queues == before.queues and after.ghost == before.ghost
            and after.failed == before.failed and after.spent == before.spent and after.slots[s] is not None
            and all(a == b for i, (a, b) in enumerate(zip(before.slots, after.slots, strict=True)) if i != s))


def ample(model: Model, world: World, moves: list[Move], deeper: Callable[[World], bool]) -> Move | None:
    """One move that may stand for all of ``moves`` in ``world``, or None (expand them all). ``deeper(w)``:
    the (canonical) state ``w`` is new, or lies one level further from the start than ``world``."""
    by_slot: dict[int, list[Move]] = {}
    for move in moves:
        if move.label[0] in ("step", "ack", "crash", "crash_after", "throw"):
            by_slot.setdefault(move.label[1], []).append(move)
    for s, own in by_slot.items():
        if len(own) != 1 or own[0].label[0] != "step":
            continue
        move = own[0]
        run = world.slots[s]
        assert run is not None
        nxt = model.next_of(run)
        if not isinstance(nxt, Op) or not undisturbed(model, world, s, nxt):
            continue
        if not _invisible(world, move.world, s) or not deeper(model.canonical(move.world)):
            continue
        return move
    return None
