"""Which primary-key records MariaDB reads for a WHERE: the ranges of PRIMARY its optimizer reads instead of the table.

MariaDB's range optimizer turns the key's comparisons (``id < 3``, ``id = 2``), ``IN`` lists, ``AND``, ``OR``
and ``NOT`` into a union of ranges of PRIMARY (``key_ranges``): AND intersects, OR unites (ranges that overlap
or meet at a key one of them includes merge: ``id < 2 OR id = 2`` is ``id <= 2``, ``id <= 1 OR id = 2`` stays
two), NOT is pushed inward as MariaDB's parser does (``NOT (id > 1 AND id < 3)`` is ``id <= 1 OR id >= 3``).
A part that does not bound the key, a condition on another column, ``!=`` or ``NOT IN`` on the key (which
MariaDB does not turn into ranges of a unique key), bounds nothing: in an AND it is left out, in an OR it leaves
the whole table. A SELECT first puts ``col = c`` of its top-level AND into the rest, so ``n + 0 > id AND n = 0``
becomes ``0 > id``; an UPDATE or a DELETE does not (EXPLAIN shows a full scan there), but reads ranges
written directly. A range whose ends cross (``id > 3 AND id < 2``) holds nothing: no ranges at all is an
impossible WHERE, and nothing is read.

The ranges are read in key order, one after another (``reads``). A range of one key (``id = 2``, ``id IN (2,
4)``'s two) is a lookup: a unique search that reads that record only, and locks the gap it would be in when it
is missing. Any other range is read as ``scan_keys`` says: an ascending scan reads the records in the range
and then the first record past its upper end, if it has one (records marked deleted are passed, locked at
REPEATABLE READ, up to the first that is not); a descending one does the same from the top, past the lower end.
REPEATABLE READ locks each record read with the gap below it (above it, descending), except that an ascending
scan starting on a record equal to an inclusive lower end locks that record only. A SKIP LOCKED scan locks
neither a held record it passes nor the gap below it (``open_below``), within its own range; a lookup that
skips its key locks the gap above it, up to the next record. MariaDB 10.11 showed each of these
(``tests/test_spec_sql.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from spec.dialects import Dialect
from spec.errors import Unsupported
from spec.evaluation import evaluate, is_true
from spec.expr import Cmp, Col, Const, Expr, In, IsNull, Logic, Not, columns_read
from spec.schema import TableSpec, Value
from spec.state import Gap

__all__ = ["KeyRange", "Ranges", "Read", "key_ranges", "open_below", "propagated_false", "reads", "scan_keys"]

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


#: the ranges of the key a WHERE leaves, in key order, none overlapping; ``()``: none (nothing is read)
Ranges = tuple[KeyRange, ...]


def key_ranges(where: Expr | None, spec: TableSpec, d: Dialect, *, propagate: bool) -> Ranges | None:
    """The ranges of the key that ``where``'s comparisons of the key, ``IN`` lists, ``AND``, ``OR`` and ``NOT``
    leave (``propagate``: a SELECT's, after the ``col = c`` of its top-level AND are put into the rest), or
    ``None`` when they do not bound the key, and the optimizer reads the table."""
    fixed: dict[int, Value] = {}
    if propagate:
        for _, column, value in _equalities(_conjuncts(where)):
            fixed.setdefault(column, value)
    row: list[Value] = [None] * len(spec.columns)
    for column, value in fixed.items():
        row[column] = value
    # a SELECT only, as the propagation: an UPDATE or DELETE reads the rows all the same (seen on 10.11)
    not_null = frozenset(i for i, c in enumerate(spec.columns) if not c.nullable) if propagate else frozenset()
    return None if where is None else _ranges(where, False, _Bounds(spec.key, set(fixed) - {spec.key}, row, d,
                                                                    not_null))


@dataclass(frozen=True, slots=True)
class _Bounds:
    """What bounds the key: its column, the columns fixed by propagation, a row holding their values."""

    key: int
    fixed: set[int]
    row: list[Value]
    d: Dialect
    not_null: frozenset[int] = frozenset()  # the NOT NULL columns: ``IS NULL`` on one is false before any row


#: ``NOT (key op c)`` read as ``key op' c``, as MariaDB's parser negates a comparison
_NEGATED = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "=": "!=", "!=": "="}


def _ranges(e: Expr, negated: bool, b: _Bounds) -> Ranges | None:
    """``e``'s ranges of the key (``negated``: of ``NOT e``), or ``None`` (no bound: every key)."""
    if isinstance(e, Not):
        return _ranges(e.operand, not negated, b)
    if isinstance(e, Logic):  # De Morgan under NOT, as MariaDB negates an AND or an OR
        parts = [_ranges(item, negated, b) for item in e.items]
        if (e.op == "and") != negated:
            bounded = [p for p in parts if p is not None]  # a conjunct that does not bound the key limits nothing
            return None if not bounded else _intersection(bounded)
        return None if any(p is None for p in parts) else _union([r for p in parts if p is not None for r in p])
    if isinstance(e, IsNull) and isinstance(e.operand, Col) and e.operand.index in b.not_null:
        # MariaDB's optimizer reads IS NULL of a NOT NULL column as false (IS NOT NULL as true) before it
        # plans: in an OR it leaves the other branches' ranges, in an AND nothing to read (seen on 10.11)
        return () if e.negated == negated else None
    if isinstance(e, In) and isinstance(e.operand, Col) and e.operand.index == b.key:
        values = [v.value for v in e.values if isinstance(v, Const) and isinstance(v.value, int)]
        if len(values) != len(e.values) or e.negated != negated:
            return None  # NOT IN on a unique key gives MariaDB no range (``get_func_mm_tree``)
        return _union([KeyRange(v, True, v, True) for v in values])
    if not isinstance(e, Cmp) or e.op not in _NEGATED:
        return None
    for side, other, op in ((e.left, e.right, e.op), (e.right, e.left, _FLIPPED.get(e.op, e.op))):
        if not (isinstance(side, Col) and side.index == b.key) or not columns_read(other) <= b.fixed:
            continue
        try:
            value = evaluate(other, b.row, b.d)
        except Unsupported:  # beyond the integer width: the engine raises, no range to read
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            op = _NEGATED[op] if negated else op
            # != on a unique key gives MariaDB no range: it excludes one row (``Item_func_ne::get_func_mm_tree``)
            return None if op == "!=" else (KeyRange().narrowed(op, value),)
    return None


def _intersection(parts: list[Ranges]) -> Ranges:
    found = parts[0]
    for other in parts[1:]:
        found = _union([_within(r, o) for r in found for o in other])
    return tuple(r for r in found if not r.empty)


def _within(r: KeyRange, o: KeyRange) -> KeyRange:
    """``r`` narrowed to ``o``'s ends."""
    if o.low is not None:
        r = r.narrowed(">=" if o.low_inclusive else ">", o.low)
    if o.high is not None:
        r = r.narrowed("<=" if o.high_inclusive else "<", o.high)
    return r


def _union(ranges: list[KeyRange]) -> Ranges:
    """The ranges merged where they overlap or meet at a key one of them includes (``id < 2 OR id = 2`` is
    ``id <= 2``; ``id <= 1 OR id = 2`` stays two ranges, as MariaDB keeps them), in key order."""
    merged: list[KeyRange] = []
    for r in sorted((r for r in ranges if not r.empty), key=_low_end):
        last = merged[-1] if merged else None
        if last is not None and (last.high is None or r.low is None or last.high > r.low or (
                last.high == r.low and (last.high_inclusive or r.low_inclusive))):
            if last.high is not None and (r.high is None or r.high > last.high or (
                    r.high == last.high and r.high_inclusive)):
                last = KeyRange(last.low, last.low_inclusive, r.high, r.high_inclusive)
            merged[-1] = last
        else:
            merged.append(r)
    return tuple(merged)


def _low_end(r: KeyRange) -> tuple[int, int, int]:
    return (0, 0, 0) if r.low is None else (1, r.low, 0 if r.low_inclusive else 1)


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


@dataclass(frozen=True, slots=True)
class Read:
    """One part of a scan: one key looked up (``lookup``), or a range of the key (``span``; ``None``: the
    whole table) read in order from the gap bound ``start`` to the key ``end`` past it (``None``: the end)."""

    keys: tuple[int, ...]
    lookup: bool = False
    span: KeyRange | None = None
    start: int | None = None
    end: int | None = None
    past: frozenset[int] = frozenset()  # keys read past the range's far end: locked, never returned


def reads(records: Iterable[int], ranges: Ranges | None, descending: bool, marked: set[int] | frozenset[int]
          ) -> list[Read]:
    """The parts of a scan of ``ranges`` (``None``: the table) in order. MariaDB reads a range of one key as a
    lookup of it (a unique search: no record past it, no gap unless the key is missing), and every other range
    as ``scan_keys`` does, each with its own record past its far end."""
    if ranges is None:
        return [Read(tuple(sorted(records, reverse=descending)))]
    parts = []
    for r in reversed(ranges) if descending else ranges:
        if r.point is not None:
            parts.append(Read((r.point,), lookup=True, span=r))
            continue
        keys, start, end = scan_keys(records, r, descending, marked)
        past = frozenset(k for k in keys if (r.below(k) if descending else r.above(k)))
        parts.append(Read(tuple(keys), span=r, start=start, end=end, past=past))
    return parts


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
