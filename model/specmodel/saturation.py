"""The counter abstraction a spec declares with ``spec.saturates(column or event, at=..., why=...)``, stored
and tested.

A saturated column (or an event's ghost count) keeps a value of ``at`` or more as ``at``: one stored state
stands for every state whose value there is ``at`` or more, the rest alike. That is exact (the same
verdicts, the same shortest counterexamples) when no reader can tell those states apart: every statement
sends its program the same result, writes the same rows (saturated) and waits or fails alike, and every
property, ``settled`` condition and premise judges alike. The checker tests it wherever it matters, on the
states it meets:

- **Statements.** Each time a statement runs in a state for the first time (``Model`` memoises outcomes),
  it runs again in *witness* states: one per value stored at its bound (a *cell*: in a committed row, a
  session's uncommitted write, snapshot or pending read), with that one value raised just past the bound
  (``at + 1``) and far past it (``at + FAR``). Each witness's outcomes, saturated, must equal the stored
  state's: the same rows written (saturated), the same row count, rows returned or error, and for a
  ``keep`` the same value of its function.
- **Judgements.** A property, a ``settled`` condition and a premise (the only readers of ghost counts)
  are judged again with each committed cell and each ghost count at its bound raised the same two ways,
  and must come out the same. For a premise, a value is raised in the states before and after the step
  alike where both hold it at the bound (it stayed past the bound), else where it is.

One cell raised at a time catches a reader that compares two saturated values with each other; the far
value catches a comparison with a constant past the bound. A reader that tells apart values past the
bound that neither witness separates (``col = at + 3``) is outside what the test sees, so the declaration
says why no reader can: its ``why``. A test that fails stops the check with exit 2, naming the count and
the statement or judgement that told the values apart; ``--no-saturation`` switches the reduction off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from model.specmodel.world import World
from spec.errors import SourceLocation, Unsupported
from spec.lang import Saturates, Scope, Spec
from spec.results import Done
from spec.schema import Value
from spec.state import DbState, Row, Session

__all__ = ["FAR", "Saturation", "SaturationBroken"]

#: how far past its bound the far witness puts a value
FAR = 1_000_000
Step = tuple[DbState, Any]
#: per table, the (column position, bound) of its saturated columns
Caps = tuple[tuple[tuple[int, int], ...], ...]


class SaturationBroken(Unsupported):
    """A reader told apart two values a ``saturates`` declaration says no reader can."""


class Saturation:
    """A spec's ``saturates`` declarations in one scope: saturating states, and the witnesses that test them."""

    def __init__(self, spec: Spec, scope: Scope) -> None:
        names = spec.schema.names
        self.decls: dict[tuple[int, int], Saturates] = {}
        #: saturated events: their declaration and bound
        self.events: dict[str, tuple[Saturates, int]] = {}
        caps: list[list[tuple[int, int]]] = [[] for _ in names]
        for decl in spec.saturated:
            if decl.table is None:
                self.events[decl.column] = (decl, decl.bound(scope))
                continue
            t = names.index(decl.table)
            c = spec.schema.tables[t].index(decl.column)
            caps[t].append((c, decl.bound(scope)))
            self.decls[(t, c)] = decl
        self.caps: Caps = tuple(tuple(sorted(cs)) for cs in caps)
        self.keys = tuple(t.key for t in spec.schema.tables)
        self._dbs: dict[DbState, DbState] = {}

    def __bool__(self) -> bool:
        return bool(self.decls or self.events)

    # -- saturating -------------------------------------------------------------------------------------

    def db(self, db: DbState) -> DbState:
        """``db`` with every saturated value above its bound stored at it (memoised)."""
        found = self._dbs.get(db)
        if found is None:
            found = self._dbs[db] = _mapped(db, self.caps, lambda t, c, cap, v: cap if type(v) is int and v > cap
                                            else v)
        return found

    def ghost(self, world: World) -> World:
        """``world`` with every saturated event's count above its bound stored at it."""
        events = self.events
        if not events or not any(e in events and n > events[e][1] for (e, _), n in world.ghost):
            return world
        return world.but(ghost=tuple(((e, k), min(n, events[e][1]) if e in events else n) for (e, k), n in world.ghost))

    def world(self, world: World) -> World:
        """``world`` saturated: its database and its ghost counts."""
        return self.ghost(world.with_db(self.db(world.db)))

    def steps(self, steps: tuple[Step, ...]) -> tuple[Step, ...]:
        """An engine's outcomes with their states saturated."""
        return tuple((self.db(after), outcome) for after, outcome in steps)

    # -- witnesses --------------------------------------------------------------------------------------

    def witnesses(self, db: DbState) -> Iterator[tuple[DbState, Saturates, str]]:
        """``db`` with one value stored at its bound raised past it, for each such value and each of the
        two raises, and which column it is."""
        cells: list[tuple[int, int, int]] = []

        def meet(t: int, c: int, cap: int, v: Value) -> Value:
            if v == cap:
                cells.append((t, c, cap))
            return v
        _mapped(db, self.caps, meet)
        for i, (t, c, cap) in enumerate(cells):
            for value in (cap + 1, cap + FAR):
                yield _mapped(db, self.caps, _raise_nth(i, value)), self.decls[(t, c)], f"{self.name(t, c)} = {value}"

    def worlds(self, world: World) -> Iterator[tuple[World, Saturates, str]]:
        """``world`` with one committed value or ghost count stored at its bound raised, as ``witnesses``
        (what a property reads), with its declaration and which value it is."""
        for cell, (decl, cap) in self._cells(world).items():
            for value in (cap + 1, cap + FAR):
                yield self._raised(world, {cell: value}), decl, f"{self._cell_name(cell)} = {value}"

    def pairs(self, before: World, after: World) -> Iterator[tuple[World, World, Saturates, str]]:
        """The step ``before`` -> ``after`` with one committed value or ghost count at its bound raised: in
        both states where both hold it at the bound (the value moved past the bound, or stayed), else where
        it is."""
        old, new = self._cells(before), self._cells(after)
        for cell, (decl, cap) in {**old, **new}.items():
            for value in (cap + 1, cap + FAR):
                raised = {cell: value}
                yield (self._raised(before, raised) if cell in old else before,
                       self._raised(after, raised) if cell in new else after, decl,
                       f"{self._cell_name(cell)} = {value}")

    def _cells(self, world: World) -> dict[tuple[Any, ...], tuple[Saturates, int]]:
        """Committed values at their bound, by ("row", table, row key, column), and ghost counts at theirs,
        by ("ghost", event, key): their declaration and bound."""
        cells: dict[tuple[Any, ...], tuple[Saturates, int]] = {
            ("row", t, row[self.keys[t]], c): (self.decls[(t, c)], cap)
            for t, rows in enumerate(world.db.tables) for c, cap in self.caps[t] for row in rows if row[c] == cap}
        for (event, key), n in world.ghost:
            if event in self.events and n == self.events[event][1]:
                cells[("ghost", event, key)] = self.events[event]
        return cells

    def _cell_name(self, cell: tuple[Any, ...]) -> str:
        if cell[0] == "ghost":
            return f"the count of record({cell[1]!r}{''.join(f', {v!r}' for v in cell[2])})"
        return self.decls[(cell[1], cell[3])].name

    def _raised(self, world: World, cells: dict[tuple[Any, ...], int]) -> World:
        rows = {cell[1:]: v for cell, v in cells.items() if cell[0] == "row"}
        counts = {cell[1:]: v for cell, v in cells.items() if cell[0] == "ghost"}
        if counts:
            world = world.but(ghost=tuple((ek, counts.get(ek, n)) for ek, n in world.ghost))
        if rows:
            world = world.with_db(self._raised_rows(world.db, rows))
        return world

    def _raised_rows(self, db: DbState, cells: dict[tuple[Any, ...], int]) -> DbState:
        tables = tuple(
            tuple(tuple(cells.get((t, row[self.keys[t]], c), v) for c, v in enumerate(row)) for row in rows)
            if any(cell[0] == t for cell in cells) else rows
            for t, rows in enumerate(db.tables))
        return DbState(tables, db.sessions, db.writer, db.marked)

    # -- the tests --------------------------------------------------------------------------------------

    def check_statement(self, db: DbState, found: tuple[Step, ...], run: Callable[[DbState], tuple[Step, ...]],
                        fn: Callable[[Any], Any] | None, where: SourceLocation) -> None:
        """Run the statement (``run``) in each witness of ``db`` and compare with ``found``, its saturated
        outcomes in ``db``; ``fn``: the ``keep`` function the program reads the result through."""
        for witness, decl, what in self.witnesses(db):
            problem = _difference(found, self.steps(run(witness)), fn)
            if problem is not None:
                raise SaturationBroken(f"the statement tells {what} from the value saturated at its bound: {problem}"
                                       f"; {_fix(decl)}", where)

    def check_judged(self, world: World, judge: Callable[[World], object], what: str,
                     where: SourceLocation) -> None:
        """``judge`` (a property, a settled condition) gives ``world`` and each of its witnesses the same."""
        expected = judge(world)
        for witness, decl, raised in self.worlds(world):
            if judge(witness) != expected:
                raise SaturationBroken(f"{what} judges {raised} otherwise than the value saturated at its bound; "
                                       f"{_fix(decl)}", where)

    def check_premise(self, before: World, after: World, judge: Callable[[World, World], object], what: str,
                      where: SourceLocation) -> None:
        """``judge`` (a premise) gives the step ``before`` -> ``after`` and each of its witnesses the same."""
        expected = judge(before, after)
        for old, new, decl, raised in self.pairs(before, after):
            if judge(old, new) != expected:
                raise SaturationBroken(f"{what} judges a step with {raised} otherwise than with the value "
                                       f"saturated at its bound; {_fix(decl)}", where)

    def name(self, t: int, c: int) -> str:
        return self.decls[(t, c)].name


def _fix(decl: Saturates) -> str:
    return (f"the declaration saturates({decl.name}) at {decl.where} does not hold (read the column through "
            "keep(), raise its bound, or check with --no-saturation)")


def _difference(found: tuple[Step, ...], other: tuple[Step, ...], fn: Callable[[Any], Any] | None) -> str | None:
    """How two statements' saturated outcomes differ, or None."""
    if len(found) != len(other):
        return f"{len(other)} outcomes instead of {len(found)}"
    for (after, outcome), (after2, outcome2) in zip(found, other, strict=True):
        if type(outcome) is not type(outcome2):
            return f"{type(outcome2).__name__} instead of {type(outcome).__name__}"
        if isinstance(outcome, Done) and fn is not None:
            kept, kept2 = fn(outcome.result), fn(outcome2.result)
            if kept != kept2:
                return f"keep() gives the program {kept2!r} instead of {kept!r}"
        elif isinstance(outcome, Done) and outcome.result != outcome2.result:
            return f"it returns {outcome2.result.rows} (row count {outcome2.result.rowcount}) instead of " \
                   f"{outcome.result.rows} (row count {outcome.result.rowcount})"
        elif not isinstance(outcome, Done) and outcome != outcome2:
            return f"{outcome2} instead of {outcome}"
        if after != after2:
            return "it leaves other rows or locks (saturated) behind"
    return None


def _raise_nth(n: int, value: int) -> Callable[[int, int, int, Value], Value]:
    """A cell map that sets the ``n``-th value met at its bound to ``value``."""
    seen = [0]

    def f(t: int, c: int, cap: int, v: Value) -> Value:
        if v != cap:
            return v
        seen[0] += 1
        return value if seen[0] == n + 1 else v
    return f


Cell = Callable[[int, int, int, Value], Value]


def _rows(rows: tuple[Row, ...], t: int, caps: Caps, f: Cell) -> tuple[Row, ...]:
    cols = caps[t]
    if not cols:
        return rows
    out = []
    for row in rows:
        new = list(row)
        for c, cap in cols:
            new[c] = f(t, c, cap, row[c])
        out.append(tuple(new))
    return tuple(out)


def _tables(tables: Any, caps: Caps, f: Cell) -> Any:
    return None if tables is None else tuple(_rows(rows, t, caps, f) for t, rows in enumerate(tables))


def _session(session: Session, caps: Caps, f: Cell) -> Session:
    if not session.writes and session.snapshot is None and session.pending is None:
        return session
    writes = tuple(
        tuple((k, None if row is None else _rows((row,), t, caps, f)[0]) for k, row in table)
        for t, table in enumerate(session.writes))
    return replace(session, writes=writes, snapshot=_tables(session.snapshot, caps, f),
                   pending=_tables(session.pending, caps, f))


def _mapped(db: DbState, caps: Caps, f: Cell) -> DbState:
    """``db`` with ``f(table, column, bound, value)`` applied to every value of a saturated column, in a
    fixed order (committed rows, then each session's writes, snapshot and pending read); the same object
    when nothing changes."""
    tables = _tables(db.tables, caps, f)
    sessions = tuple(_session(s, caps, f) for s in db.sessions)
    if tables == db.tables and sessions == db.sessions:
        return db
    return DbState(tables, sessions, db.writer, db.marked)
