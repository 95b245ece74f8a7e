"""Counterexamples a user can act on: numbered steps with the SQL each ran and the rows it touched.

The search keeps canonical states (workers sorted by symmetry), so a path's worker numbers may change
from one state to the next. ``concrete`` walks the same path again without symmetry, choosing at each
step the move whose canonical state is the next one: worker ``i`` is then session ``i`` throughout,
which is what a replay on a real database needs (one connection per worker).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects import mysql, postgresql, sqlite

from model.specmodel.actions import FAULT_NAMES, Label, Model, Move, sent_after
from model.specmodel.programs import Op, Raised
from model.specmodel.search import Found
from model.specmodel.world import Run, World, ghost_dict, renamed
from spec.lang import Begin, Bulk, Commit, Keep, Push, Rollback
from spec.lease import GONE, owned_by
from spec.results import Blocked, Done, Failed

__all__ = ["Step", "concrete", "describe", "replay_labels", "sql_dialect", "sql_text", "steps_of"]

_DIALECTS: dict[str, Any] = {
    "postgresql": postgresql.dialect(), "mysql": mysql.dialect(), "sqlite": sqlite.dialect(),  # type: ignore[no-untyped-call]
}


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a counterexample: its label (concrete worker numbers), what ran, and what it gave."""

    label: Label
    worker: str
    job: str
    op: Any  # the statement, Begin/Commit/Rollback/Push, or None for a queue or fault step
    sql: str
    outcome: str
    where: str
    before: World
    after: World


def sql_dialect(name: str) -> Any:
    """SQLAlchemy's dialect object for an engine name (``postgresql``, ``mysql``, ``sqlite``)."""
    return _DIALECTS[name]


def sql_text(op: Any, dialect: str, owner: int = GONE) -> str:
    """The SQL the engine runs for ``op``, with its parameters written in (``owner``: the run id a lease's
    owner is written, the worker's number)."""
    if isinstance(op, Begin):  # as the engines need it: SQLite takes its write lock at BEGIN IMMEDIATE
        if dialect == "sqlite":
            return "BEGIN IMMEDIATE"
        if dialect == "mysql":
            return (f"SET TRANSACTION ISOLATION LEVEL {op.level}; " if op.level else "") + "START TRANSACTION"
        return "BEGIN" + (f" ISOLATION LEVEL {op.level}" if op.level else "")
    if isinstance(op, Commit):
        return "COMMIT"
    if isinstance(op, Rollback):
        return "ROLLBACK"
    if isinstance(op, Push):
        return f"push {op.job}({', '.join(repr(v) for v in op.payload)})" + (" delayed" if op.delayed else "")
    if isinstance(op, Bulk):
        return "push " + ", ".join(f"{p.job}({', '.join(repr(v) for v in p.payload)})" for p in op.pushes)
    if isinstance(op, Keep):
        op = op.statement
    compiled = owned_by(op, owner).compile(dialect=_DIALECTS[dialect], compile_kwargs={"literal_binds": True})
    return " ".join(str(compiled).split())


def without_symmetry(model: Model) -> Model:
    """The same spec, scope, engine, order and budgets, with workers never renamed and every value kept
    (no saturated column): a trace shows what a real run holds."""
    return Model(model.spec, model.scope, dialect=model.engine.dialect.name, level=model.level,
                 budgets=dict(zip(FAULT_NAMES, model.budgets, strict=True)), order=model.order, symmetry=False,
                 saturation=False)


def concrete(model: Model, found: Found) -> tuple[tuple[Move, ...], World]:
    """The counterexample's moves with stable worker numbers, and the initial state they start from."""
    plain = without_symmetry(model)
    plain.programs = model.programs  # the same representative runs (model.specmodel.frames)
    world = plain.initial()
    moves: list[Move] = []
    for target, label in zip(found.path[1:], found.labels, strict=True):
        alike = [m for m in plain.moves(world) if m.label[0] == label[0]]
        move = next((m for m in alike if model.canonical(model.saturated(m.world)) == target), None)
        if move is None:
            move = next((m for m in alike if _renames_to(model, model.saturated(m.world), target)), None)
        if move is None:  # pragma: no cover - the search's own moves always include one
            raise AssertionError(f"no move reproduces step {label}")
        moves.append(move)
        world = move.world
    return tuple(moves), plain.initial()


def _renames_to(model: Model, world: World, target: World) -> bool:
    """Whether some renaming of the workers of each queue makes ``world`` the state ``target``. Needed when
    the representatives differ: ``canonical`` sorts workers by their run and session, and two workers alike
    in both (but not in the rows they lock) keep the order they were met in, so two renamings of one state
    may be stored as two states (the search explores both: fewer merges, the same verdicts)."""
    owners = model.owners.renamed if model.owners else None
    for combo in itertools.product(*(itertools.permutations(r) for r in model.ranges)):
        if renamed(world, [s for p in combo for s in p], owners) == target:
            return True
    return False


def replay_labels(model: Model, labels: list[Label]) -> tuple[Move, ...]:
    """The moves a list of concrete labels names, from the initial state (a saved trace run again)."""
    plain = without_symmetry(model)
    world = plain.initial()
    out = []
    for k, label in enumerate(labels, 1):
        for move in plain.moves(world):
            if list(move.label) == list(label):
                out.append(move)
                world = move.world
                break
        else:
            raise ValueError(f"step {k} ({label}) is not possible here: the trace does not fit this spec and scope")
    return tuple(out)


def worker_name(model: Model, s: int) -> str:
    q = model.slot_queue[s]
    name = f"worker {s - model.ranges[q].start + 1}"
    return name if len(model.queue_names) == 1 else f"{model.queue_names[q]} {name}"


def recorded_text(before: World, after: World) -> str:
    """The ghost events a step recorded, as ``; recorded callback[1]``."""
    old = dict(before.ghost)
    new = [f"{event}{list(key) if key else ''}" + (f" x{n - old.get((event, key), 0)}"
                                                     if n - old.get((event, key), 0) > 1 else "")
           for (event, key), n in after.ghost if n > old.get((event, key), 0)]
    return f"; recorded {', '.join(new)}" if new else ""


def steps_of(model: Model, moves: tuple[Move, ...], start: World) -> tuple[Step, ...]:
    """Each move described: who ran what, with the SQL and its outcome."""
    out = []
    world = start
    for move in moves:
        out.append(describe(model, world, move))
        world = move.world
    return tuple(out)


def describe(model: Model, before: World, move: Move) -> Step:
    """One move in words: who ran what, the SQL, its outcome, and the events it recorded."""
    step = _described(model, before, move)
    extra = recorded_text(before, move.world)
    return step if not extra else Step(step.label, step.worker, step.job, step.op, step.sql,
                                       step.outcome + extra, step.where, step.before, step.after)


def _described(model: Model, before: World, move: Move) -> Step:
    kind = move.label[0]
    dialect = model.engine.dialect.name
    after = move.world
    if kind in ("lose_delayed", "tick"):
        if kind == "lose_delayed":
            what = f"the delayed job {move.label[2]} is lost"
        else:
            what = f"a periodic {move.label[1]} job is pushed"
        return Step(move.label, "queue", "", None, "", what, "", before, after)
    s = move.label[1]
    run = before.slots[s]
    worker = worker_name(model, s)
    if kind in ("take", "duplicate"):
        copy = " and the queue keeps a copy (duplicate delivery)" if kind == "duplicate" else ""
        text = f"takes {move.label[2]}{copy}{_ended(after.slots[s])}"
        return Step(move.label, worker, move.label[2], None, "", text, "", before, after)
    assert run is not None
    job = str(run.job)
    if kind == "ack":
        return Step(move.label, worker, job, None, "", "acknowledges the job" + _fired(model, run)
                    + _open_tx(before, s), "", before, after)
    if kind == "crash":
        return Step(move.label, worker, job, None, "", "crashes: its transaction rolls back, the job is redelivered",
                    "", before, after)
    nxt = model.next_of(run)
    assert isinstance(nxt, Op)
    if kind == "throw":
        return Step(move.label, worker, job, None, "", "the job raises here (throw fault)" + _failure(before, after, s),
                    str(nxt.where), before, after)
    sql = sql_text(nxt.op, dialect, s)
    outcome = _outcome(model, before, after, nxt, move.outcome) + _failure(before, after, s, _raised(model, run, nxt,
                                                                                                     move.outcome))
    if kind == "crash_after":
        outcome += "; the program ends, and the worker dies before its ack: the job is redelivered"
    elif after.slots[s] is None and kind == "step" and not _retried(after, run):  # ack="with_last_step"
        returned = run.phase == "body" and run.job not in after.failed
        outcome += "; the program ends and the job is acknowledged" + _fired(
            model, Run(run.job, "ack", fires=returned))
    return Step(move.label, worker, job, nxt.op, sql, outcome, str(nxt.where), before, after)


def _ended(run: Run | None) -> str:
    return "" if run is None or run.phase != "ack" else " (and its program ends at once)"


def _retried(after: World, run: Run) -> bool:
    """Whether the step put ``run``'s job back on its queue for another try."""
    again = (run.job.type, run.job.payload, run.job.attempt + 1)
    return any((j.type, j.payload, j.attempt) == again for q in after.queues for j in q)


def _fired(model: Model, run: Run) -> str:
    """What the ack of ``run`` pushes: its job type's listeners, if its body returned."""
    if not run.fires or not model.spec.jobs[run.job.type].listeners:
        return ""
    kind = model.spec.jobs[run.job.type]
    payload = ", ".join(repr(v) for v in kind.fired(run.job.payload))
    return ", which pushes " + ", ".join(f"{n}({payload})" for n in kind.listeners)


def _open_tx(world: World, s: int) -> str:
    return " (its open transaction is rolled back)" if world.db.sessions[s].open else ""


def _raised(model: Model, run: Run, nxt: Op, outcome: Any) -> str:
    """The exception the program raised once this step's outcome was sent to it, as ``Type: message``; ""
    when it did not raise."""
    if isinstance(nxt.op, Push | Bulk):
        sent = None
    elif isinstance(outcome, Done | Failed):
        sent = sent_after(nxt.op, outcome)
    else:
        return ""
    then = model.programs.next(run.job.type, run.phase, run.job.attempt, run.job.payload, (*run.history, sent))
    return then.error if isinstance(then, Raised) else ""


def _failure(before: World, after: World, s: int, error: str = "") -> str:
    """What the worker did when the job raised (``error``, when the program raised it): released it for
    another try, or failed it for good."""
    raised = f"the job raised {error}" if error else "the job raised"
    run = after.slots[s]
    if len(after.failed) > len(before.failed):
        if run is not None and run.phase == "failure":
            return f"; {raised} and failed for good: its on_failure runs"
        return f"; {raised} and failed for good"
    was = before.slots[s]
    if run is None and was is not None and was.phase != "ack" and _retried(after, was):
        return f"; {raised} and is released for another try"
    return ""


def _outcome(model: Model, before: World, after: World, nxt: Op, outcome: Any) -> str:
    if isinstance(nxt.op, Push | Bulk):
        return "pushed"
    if isinstance(outcome, Blocked):
        on = ", ".join(worker_name(model, o) for o in sorted(outcome.on))
        return f"blocked: waits for a lock held by {on}"
    if isinstance(outcome, Failed):
        return f"error: {outcome.error}"
    assert isinstance(outcome, Done)
    result = outcome.result
    parts = []
    if result.rows:
        parts.append(f"rows {list(result.rows)}")
    if result.rowcount >= 0 and not isinstance(nxt.op, Begin | Commit | Rollback):
        parts.append(f"{result.rowcount} row(s)")
    if isinstance(nxt.op, Keep):
        parts.append(f"kept {nxt.op.fn(result)!r}")
    return (", ".join(parts) or "done") + _changes(model, before, after)


def _changes(model: Model, before: World, after: World) -> str:
    """The committed rows that changed, as ``table key: column old -> new``."""
    out = []
    for t, (old, new) in enumerate(zip(before.db.tables, after.db.tables, strict=True)):
        if old == new:
            continue
        table = model.spec.schema.tables[t]
        key = table.key
        olds = {r[key]: r for r in old}
        news = {r[key]: r for r in new}
        for k in sorted(set(olds) | set(news), key=repr):
            a, b = olds.get(k), news.get(k)
            if a == b:
                continue
            if a is None:
                out.append(f"{table.name} {k} inserted")
            elif b is None:
                out.append(f"{table.name} {k} deleted")
            else:
                cols = [f"{c.name} {a[i]!r}->{b[i]!r}" for i, c in enumerate(table.columns) if a[i] != b[i]]
                out.append(f"{table.name} {k}: {', '.join(cols)}")
    return f"; committed: {'; '.join(out)}" if out else ""


def ghost_text(world: World) -> str:
    return ", ".join(f"{k}={v}" for k, v in ghost_dict(world).items()) or "none"
