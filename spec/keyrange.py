"""Which primary-key records MariaDB reads for a WHERE: the range of PRIMARY its optimizer reads instead of the table.

MariaDB's range optimizer turns the key's comparisons in a top-level AND (``id < 3``, ``id >= 2 AND id <= 4``)
into one range of PRIMARY, and a SELECT first puts ``col = c`` of that AND into the other conjuncts, so
``n + 0 > id AND n = 0`` becomes ``0 > id``. An UPDATE or a DELETE does not propagate (EXPLAIN shows a full
scan for the same WHERE), but reads a range written directly. A range whose ends cross (``id > 3 AND id < 2``)
is an impossible WHERE: nothing is read. One of a single value (``id >= 4 AND id <= 4``) is a key lookup.
``OR``, ``NOT`` and ``!=`` give no range here: MariaDB 10.11 scanned the table for those in our probes.

An ascending range scan reads the records in the range and then the first record past its upper end, if it
has one (records marked deleted are passed, locked at REPEATABLE READ, up to the first that is not). A
descending one does the same from the top, past the lower end. ``scan_keys`` gives those keys in order and
the bound of the gap the scan starts in: REPEATABLE READ locks each record read with the gap below it (above
it, descending), except that an ascending scan starting on a record equal to an inclusive lower end locks
that record only. A SKIP LOCKED scan locks neither a held record it passes nor the gap below it (``open_below``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from spec.dialects import Dialect
from spec.errors import Unsupported
from spec.expr import Cmp, Col, Const, Expr, Logic, columns_read, evaluate, is_true
from spec.schema import TableSpec, Value
from spec.state import Gap

__all__ = ["KeyRange", "key_range", "open_below", "propagated_false", "scan_keys"]

#: ``c op key`` read as ``key op' c``
_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "="}


@dataclass(frozen=True, slots=True)
class KeyRange:
    """Keys between ``low`` and ``high`` (``None``: unbounded), each end included or not."""

    low: int | None = None
    low_inclusive: bool = False
    high: int | None = None
    high_inclusive: bool = False

    def below(self, k: int) -> bool:
        return self.low is not None and (k < self.low or (k == self.low and not self.low_inclusive))

    def above(self, k: int) -> bool:
        return self.high is not None and (k > self.high or (k == self.high and not self.high_inclusive))

    @property
    def empty(self) -> bool:
        """The ends cross: MariaDB reports an impossible WHERE and reads nothing (``id > 2 AND id < 3`` does not
        cross as a range of numbers, and is read: the first record above 2)."""
        if self.low is None or self.high is None:
            return False
        return self.low > self.high or (self.low == self.high and not (self.low_inclusive and self.high_inclusive))

    @property
    def point(self) -> int | None:
        """The one key of a range ``[c, c]``, which MariaDB reads as a lookup of ``c``."""
        if self.low is not None and self.low == self.high and self.low_inclusive and self.high_inclusive:
            return self.low
        return None

    def narrowed(self, op: str, value: int) -> KeyRange:
        """This range and ``key op value``."""
        low, low_in, high, high_in = self.low, self.low_inclusive, self.high, self.high_inclusive
        if op in (">", ">=", "=") and (low is None or value > low or (value == low and op == ">")):
            low, low_in = value, op != ">"
        if op in ("<", "<=", "=") and (high is None or value < high or (value == high and op == "<")):
            high, high_in = value, op != "<"
        return KeyRange(low, low_in, high, high_in)


def _conjuncts(where: Expr | None) -> tuple[Expr, ...]:
    if where is None:
        return ()
    return where.items if isinstance(where, Logic) and where.op == "and" else (where,)


def _equalities(conjuncts: Iterable[Expr]) -> list[tuple[Cmp, int, Value]]:
    """The ``col = c`` conjuncts (``c`` not NULL), with their column and value."""
    return [(c, c.left.index, c.right.value) for c in conjuncts if isinstance(c, Cmp) and c.op == "="
            and isinstance(c.left, Col) and isinstance(c.right, Const) and c.right.value is not None]


def propagated_false(where: Expr | None, d: Dialect) -> bool:
    """MariaDB's SELECT puts ``col = c`` of a top-level AND into the other conjuncts that read only that column,
    and reads no row when one of them is then not true (``n = 3 AND n != 3``; seen on 10.11, not in DELETE)."""
    conjuncts = _conjuncts(where)
    for c, column, value in _equalities(conjuncts):
        row: list[Any] = [None] * (column + 1)
        row[column] = value
        if any(columns_read(o) == {column} and not is_true(o, row, d) for o in conjuncts if o is not c):
            return True
    return False


def key_range(where: Expr | None, spec: TableSpec, d: Dialect, *, propagate: bool) -> KeyRange | None:
    """The range of the key that the comparisons of ``where``'s top-level AND bound (``propagate``: a SELECT's,
    after its ``col = c`` are put into the other conjuncts), or ``None`` when none bounds it."""
    conjuncts = _conjuncts(where)
    fixed: dict[int, Value] = {}
    if propagate:
        for _, column, value in _equalities(conjuncts):
            fixed.setdefault(column, value)
    row: list[Value] = [None] * len(spec.columns)
    for column, value in fixed.items():
        row[column] = value
    found: KeyRange | None = None
    for c in conjuncts:
        if not isinstance(c, Cmp) or c.op not in _FLIPPED:
            continue
        for side, other, op in ((c.left, c.right, c.op), (c.right, c.left, _FLIPPED[c.op])):
            on_key = isinstance(side, Col) and side.index == spec.key
            if not on_key or not columns_read(other) <= set(fixed) - {spec.key}:
                continue
            try:
                value = evaluate(other, row, d)
            except Unsupported:  # beyond the integer width: the engine raises, no range to read
                continue
            if isinstance(value, int) and not isinstance(value, bool):
                found = (found or KeyRange()).narrowed(op, value)
    return found


def scan_keys(records: Iterable[int], span: KeyRange, descending: bool, marked: set[int] | frozenset[int]
              ) -> tuple[list[int], int | None, int | None]:
    """The keys a range scan reads, in order (the range's records, then those past its far end up to the first
    not ``marked`` deleted), the bound of the gap it starts in, and the last key past the far end it read
    (``None``: it reads to the end of the index)."""
    ordered = sorted(records, reverse=descending)
    inside = [k for k in ordered if not span.below(k) and not span.above(k)]
    past = [k for k in ordered if (span.below(k) if descending else span.above(k))]
    far_end = span.low if descending else span.high
    beyond: list[int] = []
    for k in past if far_end is not None else ():
        beyond.append(k)
        if k not in marked:
            break
    if descending:  # it starts at the first record above the range, whose gap below it locks
        start = min((k for k in ordered if span.above(k)), default=None)
    elif span.low is not None and span.low_inclusive and span.low in ordered:
        start = span.low  # the first record equals the inclusive lower end: that record only, no gap below it
    else:
        start = max((k for k in ordered if span.below(k)), default=None)
    return inside + beyond, start, beyond[-1] if beyond else None


def open_below(gaps: frozenset[Gap], skipped: list[int], records: list[int]) -> frozenset[Gap]:
    """A SKIP LOCKED scan's gaps without the gap below each record it ``skipped``: InnoDB takes a record's lock
    and the gap below it as one next-key lock, and skips both when the record is held (MariaDB 10.11, ascending
    and descending alike). Each gap holding a skipped key is cut into the parts either side of that gap."""
    for k in skipped:
        below = max((r for r in records if r < k), default=None)
        cut: set[Gap] = set()
        for table, low, high in gaps:
            if (low is not None and low >= k) or (high is not None and high < k):
                cut.add((table, low, high))  # the skipped record's gap lies outside this one
                continue
            if below is not None and (low is None or low < below):
                cut.add((table, low, below))
            if high is None or k < high:
                cut.add((table, k, high))
        gaps = frozenset(cut)
    return gaps
