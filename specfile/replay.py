"""A spec's counterexample run on a real database, step by step, as the model ran it.

Each worker of the trace is one connection. The steps go to the engine in the trace's order; a
transaction stays open across the other workers' steps, as in the model. A step the model says waits
for a lock is sent and seen still running (blocked); when the model runs it again, the replay collects
what the engine did once the holder moved. Queue steps (take, push, ack) touch no row: the queue is the
model's. Where the model rolls a session back without a statement of the spec (a crash, a failure, an
ack with a transaction open), the replay sends ROLLBACK.

After every step what the engine did is compared with what the model did: the same result rows and row
counts, the same wait, the same error. The first difference stops the replay (a *divergence*: the engine
chose another deadlock victim, or the model is wrong there). The property is then judged on the real
rows, with the model's ghost counts and queues, which are not in the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from model.specmodel import Model, World
from model.specmodel.actions import FAULT_NAMES, Move
from model.specmodel.programs import Op
from model.specmodel.trace import describe, replay_labels, worker_name
from model.specmodel.world import View
from spec.errors import Unsupported
from spec.lang import Commit, Push, Rollback, is_statement
from spec.results import Blocked, Done, Failed
from spec.state import DbState
from spec.view import judge
from specfile.load import load_spec, model_of
from userio.errors import BadInput

if TYPE_CHECKING:
    from dbdriver.specsessions import Seen

__all__ = ["SLOW", "DbReplay", "engine_of", "model_for_trace", "moves_of", "other_engine", "real_world",
           "replay_on_database", "replay_trace"]

#: seconds a step the model says finishes may take on the engine (a deadlock check, a lock released)
SLOW = 5.0


@dataclass
class DbReplay:
    """What the replay printed, where it diverged (if it did), and the property's verdict on the real rows."""

    lines: list[str] = field(default_factory=list)
    diverged: str | None = None
    violation: str | None = None
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _normal_rows(rows: Any) -> list[tuple[Any, ...]]:
    return [tuple(int(v) if hasattr(v, "as_integer_ratio") and not isinstance(v, (bool, float)) else v
                  for v in row) for row in rows]


def _same(model_outcome: Any, seen: Seen, op: Any) -> str | None:
    """How the engine's answer differs from the model's, or None."""
    if isinstance(model_outcome, Blocked):
        return None if seen.blocked else f"the model waits here, the engine did not ({seen.kind})"
    if seen.blocked:
        return "the engine still waits here, the model does not"
    if isinstance(model_outcome, Failed):
        if seen.kind != "error":
            return f"the model raises {model_outcome.error}, the engine did not"
        return None if seen.error == model_outcome.error else \
            f"the model raises {model_outcome.error}, the engine {seen.error or seen.message}"
    assert isinstance(model_outcome, Done)
    if seen.kind == "error":
        return f"the engine raised {seen.error or seen.message}, the model did not"
    result = model_outcome.result
    if is_statement(op):
        real = _normal_rows(seen.rows)
        mine = [tuple(r) for r in result.rows]
        if (real if result.ordered else sorted(map(repr, real))) != \
                (mine if result.ordered else sorted(map(repr, mine))):
            return f"rows differ: engine {real}, model {mine}"
        if getattr(op, "is_dml", False) and seen.rowcount is not None and seen.rowcount >= 0 \
                and result.rowcount >= 0 and seen.rowcount != result.rowcount:
            return f"row counts differ: engine {seen.rowcount}, model {result.rowcount}"
    return None


def real_world(model: Model, world: World, rows: dict[str, list[dict[str, Any]]]) -> World:
    """``world`` with its committed tables replaced by the real rows (the ghost counts and queues stay)."""
    tables = []
    for table in model.spec.schema.tables:
        names = [c.name for c in table.columns]
        kinds = [c.kind for c in table.columns]
        got = []
        for row in rows.get(table.name, []):
            got.append(tuple(_cell(row[n], k) for n, k in zip(names, kinds, strict=True)))
        tables.append(tuple(sorted(got, key=lambda r: r[table.key])))
    return world.with_db(DbState(tuple(tables), world.db.sessions, world.db.writer, world.db.marked))


def _cell(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "bool":
        return bool(value)
    if kind == "int":
        return int(value)
    return value


def replay_on_database(model: Model, moves: tuple[Move, ...], start: World, url: str, prefix: str,
                       prop: str) -> DbReplay:
    """Run the moves on the database at ``url`` and judge ``prop`` on its rows (tables dropped after)."""
    from dbdriver.specdb import SpecDatabase  # the database driver only when a replay needs it

    out = DbReplay()
    db = SpecDatabase(url, model.spec.metadata, prefix=prefix)
    try:
        db.create(model.spec.initial_rows(model.scope))
        world = start
        with db.sessions(len(model.slot_queue), level=model.level) as sessions:
            waiting: set[int] = set()
            for n, move in enumerate(moves, 1):
                step = describe(model, world, move)
                problem = _step_on_engine(model, sessions, world, move, waiting)
                out.lines.append(f"{n:3d}. {step.worker}{' ' + step.job if step.op is not None else ''}: "
                                 f"{step.sql + '  -> ' if step.sql else ''}{step.outcome}"
                                 + ("" if problem is None else f"   <-- DIVERGED: {problem}"))
                if problem is not None:
                    out.diverged = f"step {n}: {problem}"
                    break
                world = move.world
            out.rows = db.rows()
        real = real_world(model, world, out.rows)
        spec_prop = model.spec.properties[prop]
        verdict = judge(spec_prop, View(real, model.spec.schema, model.scope))
        if spec_prop.kind == "always" or out.diverged is None:
            out.violation = verdict
    finally:
        try:
            db.drop()
        finally:
            db.dispose()
    return out


def _step_on_engine(model: Model, sessions: Any, before: World, move: Move, waiting: set[int]) -> str | None:
    kind = move.label[0]
    s = move.label[1] if kind in ("take", "duplicate", "step", "crash_after", "ack", "crash", "throw") else None
    own_end = False
    if kind in ("step", "crash_after") and s is not None:
        run = before.slots[s]
        assert run is not None
        nxt = model.next_of(run)
        assert isinstance(nxt, Op)
        op = nxt.op
        if not isinstance(op, Push):
            if s in waiting:
                seen = sessions.settle(s, SLOW)
            else:
                seen = sessions.run(s, op)
                if seen.blocked and not isinstance(move.outcome, Blocked):
                    seen = sessions.settle(s, SLOW)  # a deadlock check or a commit the engine is finishing
            if seen.blocked:
                waiting.add(s)
            else:
                waiting.discard(s)
            problem = _same(move.outcome, seen, op)
            if problem is not None:
                return problem
            own_end = isinstance(op, Commit | Rollback)
    if kind == "crash" and s is not None and s in waiting:
        return "a worker waiting for a lock crashes: this replay cannot cut a real connection mid-statement"
    for other, (was, now) in enumerate(zip(before.db.sessions, move.world.db.sessions, strict=True)):
        if was.open and not now.open and not (own_end and other == s):
            if other in waiting:
                return f"{worker_name(model, other)} is rolled back while its statement still waits on the engine"
            seen = sessions.run(other, Rollback())
            if seen.kind == "error":
                return f"ROLLBACK of {worker_name(model, other)} failed: {seen.message}"
    return None


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def model_for_trace(data: dict[str, Any], file: str, spec_path: str | None = None) -> Model:
    """The model the trace was found in: its spec file, scope, engine, level, order and fault budgets."""
    try:
        path = spec_path or data["spec"]
        spec = load_spec(path)
        faults = {k: str(v) for k, v in data.get("faults", {}).items() if k in FAULT_NAMES}
        return model_of(spec, scope={k: _text(v) for k, v in data["scope"].items()}, faults=faults,
                        dialect=data.get("dialect"), level=data.get("level"), order=data.get("order"),
                        symmetry=False)
    except (KeyError, TypeError, AttributeError) as err:
        raise BadInput(f"cannot read {file}: not a spec counterexample (missing {err})") from None


def moves_of(model: Model, data: dict[str, Any], file: str) -> tuple[Move, ...]:
    try:
        return replay_labels(model, [tuple(label) for label in data["labels"]])
    except ValueError as err:
        raise BadInput(f"{file}: {err}") from None
    except Unsupported as refused:
        raise BadInput(f"spec {model.spec.name}: {refused}") from None


def engine_of(url: str) -> str:
    """The model's name for the engine a database URL names (``mariadb`` and ``mysql`` are ``mysql``)."""
    from sqlalchemy.engine import make_url

    try:
        backend = make_url(url).get_backend_name()
    except Exception:
        raise BadInput(f"not a database URL: {url!r}") from None
    return "mysql" if backend == "mariadb" else backend


def other_engine(checked_for: str, url: str, what: str) -> str | None:
    """Why ``what`` (a trace checked for ``checked_for``) does not replay on ``url``, or None: a trace runs
    on the engine whose locks and isolation the check followed."""
    engine = engine_of(url)
    if engine == checked_for:
        return None
    return (f"{what} was checked for {checked_for}: replay it on that engine, or check the spec with "
            f"--dialect {engine} and replay that trace")


def replay_trace(trace: dict[str, Any], url: str, prefix: str = "wavesim_") -> DbReplay:
    """A saved counterexample (``wavesim check --trace-out``, or an exported test's) run on ``url``; a
    ``ValueError`` when its steps no longer fit the spec, or ``url`` names another engine than the one it
    was checked for."""
    problem = other_engine(str(trace.get("dialect")), url, "the trace")
    if problem is not None:
        raise ValueError(problem)
    try:
        model = model_for_trace(trace, "the trace")
        moves = moves_of(model, trace, "the trace")
    except BadInput as err:
        raise ValueError(f"{err.format_message()}: the spec changed since the check; check it again") from None
    return replay_on_database(model, moves, model.initial(), url, prefix, trace["property"])
