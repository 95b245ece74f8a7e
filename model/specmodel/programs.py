"""A program's position, kept as the inputs it was sent, and the step it yields next.

Generators cannot be copied or hashed, so a running program is stored as the values sent into it so far
(its history) and re-run from the start to find its next step. The answer is memoised per (job, phase,
history), so every position is computed once per check. Programs must be deterministic functions of
their payload, the scope and what they are sent: ``choose`` is the way to branch.

Between two real steps a program may ``record`` events and ``choose``; the records are returned with the
next step (they happen with the step that came before them), and a choice stops the replay so the
model can try each option.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from model.specmodel.frames import frame_key
from spec.errors import SourceLocation, Unsupported
from spec.lang import (
    Begin,
    Bulk,
    Choose,
    Commit,
    Ctx,
    JobThrew,
    Keep,
    Program,
    Push,
    Record,
    Rollback,
    SqlError,
    is_statement,
    yielded_at,
)
from spec.steps import steps_made, unyielded

__all__ = ["Branch", "Ended", "Next", "Op", "Programs", "Raised", "Thrown"]



@dataclass(frozen=True, slots=True)
class Thrown:
    """An input that raises in the program: an engine error (``kind`` of ``spec.errors``) or the ``throw``
    fault (``kind`` = "throw")."""

    kind: str
    message: str = ""


@dataclass(frozen=True, slots=True)
class Op:
    """The program's next real step and where in the spec it is yielded."""

    op: Any
    where: SourceLocation
    records: tuple[Record, ...] = ()
    key: tuple[Any, ...] | None = None  # the op as a value, where the frames stand, their live locals


@dataclass(frozen=True, slots=True)
class Branch:
    """The program chose among ``options``: the model tries each."""

    options: tuple[Any, ...]
    records: tuple[Record, ...] = ()


@dataclass(frozen=True, slots=True)
class Ended:
    """The program returned."""

    records: tuple[Record, ...] = ()


@dataclass(frozen=True, slots=True)
class Raised:
    """The program raised ``error`` (its text) out of its body."""

    error: str
    records: tuple[Record, ...] = ()


Next = Op | Branch | Ended | Raised
_STEPS = (Begin, Commit, Rollback, Push, Bulk, Keep)


class Programs:
    """Each (program, payload, history)'s next step, computed by replay and memoised."""

    def __init__(self, make: Callable[[str, str, int], tuple[Callable[..., Program] | None, Ctx]], *,
                 merge: bool = True, op_key: Callable[[Any, SourceLocation], Any] = lambda op, where: op) -> None:
        self._make = make  # (job type, phase, attempt) -> (program function, its ctx)
        self._op_key = op_key  # the yielded operation as a value (a statement by its plan): part of the future
        self._memo: dict[tuple[Any, ...], Next] = {}
        self.merge = merge  # merge runs by their frames (model.specmodel.frames)
        self._representative: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self._by_op: dict[int, tuple[Op, tuple[Any, ...]]] = {}

    def representative(self, job: str, phase: str, attempt: int, payload: tuple[Any, ...],
                       history: tuple[Any, ...], op: Op) -> tuple[Any, ...]:
        """The first history met whose frames stand where ``history``'s do, with the same live locals."""
        if op.key is None:
            return history
        # ``op`` is memoised per (job, phase, attempt, payload, history): its identity finds its answer again
        known = self._by_op.get(id(op))
        if known is not None and known[0] is op:
            return known[1]
        found = self._representative.setdefault((job, phase, attempt, payload, op.key), history)
        self._by_op[id(op)] = (op, found)
        return found

    def next(self, job: str, phase: str, attempt: int, payload: tuple[Any, ...], history: tuple[Any, ...]) -> Next:
        key = (job, phase, attempt, payload, history)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = self._replay(job, phase, attempt, payload, history)
        return found

    def _replay(self, job: str, phase: str, attempt: int, payload: tuple[Any, ...],
                history: tuple[Any, ...]) -> Next:
        with steps_made() as made:
            return self._run(job, phase, attempt, payload, history, made)

    def _run(self, job: str, phase: str, attempt: int, payload: tuple[Any, ...], history: tuple[Any, ...],
             made: list[tuple[object, SourceLocation]]) -> Next:
        fn, ctx = self._make(job, phase, attempt)
        assert fn is not None
        gen = fn(ctx, *payload)
        records: list[Record] = []
        yielded: list[object] = []  # every operation the program yielded, to refuse a step it made and dropped
        sent: list[Any] = list(history)
        value: Any = None
        throw: BaseException | None = None
        first = True
        while True:
            try:
                if throw is not None:
                    op = gen.throw(throw)
                elif first:
                    op = next(gen)
                else:
                    op = gen.send(value)
            except StopIteration:
                dropped = unyielded(made, yielded)
                if dropped is not None:
                    raise dropped from None
                return Ended(tuple(records))
            except Unsupported:
                raise
            except Exception as error:  # the job raised: a failure the worker handles
                return Raised(f"{type(error).__name__}: {error}", tuple(records))
            first, throw, value = False, None, None
            yielded.append(op)
            if isinstance(op, Record):
                records.append(op)
                continue
            if not (isinstance(op, _STEPS + (Choose,)) or is_statement(op)):
                raise Unsupported(f"job {job!r} yielded {op!r}: a program yields SQLAlchemy statements, begin(), "
                                  "keep(), commit(), rollback(), push(), bulk(), record() or choose()", yielded_at(gen))
            if not sent:
                where = yielded_at(gen)
                frames = frame_key(gen) if self.merge else None
                key = None if frames is None else (self._op_key(op, where), frames)
                gen.close()
                if isinstance(op, Choose):
                    return Branch(op.options, tuple(records))
                return Op(op, where, tuple(records), key)
            records = []  # records before an input already sent belong to an earlier step
            given = sent.pop(0)
            if isinstance(op, Choose):
                value = given
            elif isinstance(given, Thrown):
                throw = JobThrew("the throw fault") if given.kind == "throw" else SqlError(given.kind, given.message)
            else:
                value = given
