"""Model expressions (``spec.expr``) evaluated on a row, with SQL's NULL rules: a comparison with NULL is
unknown, ``NOT unknown`` is unknown, ``unknown AND false`` is false, and WHERE keeps a row only when its
condition is true.

An expression is turned into nested Python closures once, then called on each row: a WHERE is evaluated on
every row a statement scans, and a plan (with its expressions) is kept and run many times (``spec.plans``),
so walking the tree and dispatching on each node's type once per row is what the closures save. The
closures are kept by the expression object's identity (with the dialect they were made for), as long as
the expression lives in the cache; each does what the node's SQL rule says, in the same order (every item
of an AND or OR is evaluated, so an integer overflow in any of them is refused as before; COALESCE stops at
its first non-NULL item).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from spec.dialects import Dialect
from spec.errors import Unsupported
from spec.expr import Agg, Arith, Cmp, Coalesce, Col, Const, Expr, In, IsNull, Logic, Not, Owner, check_int
from spec.schema import Value

__all__ = ["evaluate", "is_true", "matching", "projected", "sort_key"]

Group = Sequence[Sequence[Value]]
#: an expression made callable: its value on ``row`` (``group``: the rows an aggregate ranges over)
Evaluator = Callable[[Sequence[Value], Group], Value]

_PY_CMP: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_PY_ARITH: dict[str, Callable[[int, int], int]] = {"+": operator.add, "-": operator.sub, "*": operator.mul}

#: closures made, by ``id(expr)``: (the expression, kept alive so that its id is not reused; its dialect;
#: the closure). Plans are kept up to ``spec.plans.PLANS_KEPT``; past this many expressions it starts again.
_MADE: dict[int, tuple[Expr, Dialect, Evaluator]] = {}
_MADE_KEPT = 16384


def evaluate(expr: Expr, row: Sequence[Value], dialect: Dialect, group: Group = ()) -> Value:
    """The value of ``expr`` on ``row`` (``group``: the rows an aggregate ranges over)."""
    return _evaluator(expr, dialect)(row, group)


def is_true(expr: Expr | None, row: Sequence[Value], dialect: Dialect) -> bool:
    """WHERE's rule: a row is kept only when its condition is true (not false, not unknown)."""
    return expr is None or _evaluator(expr, dialect)(row, ()) is True


def matching(expr: Expr | None, rows: Iterable[Sequence[Value]], dialect: Dialect, key: int | None = None
             ) -> list[Any]:
    """The rows (in their order) on which ``expr`` is true: ``is_true`` of each. ``key``: the column of the
    table's key, whose point (``key = c``, ``_point``) passes over the rows of other keys unevaluated."""
    if expr is None:
        return list(rows)
    if key is not None:
        point = _point(expr, key)
        if point is not _NO_POINT:
            rows = [row for row in rows if row[key] == point]
    where = _evaluator(expr, dialect)
    return [row for row in rows if where(row, ()) is True]


_NO_POINT = object()
#: ``_point``'s answers, by (id(expr), key), with the expression kept so that its id stays its own
_POINTS: dict[tuple[int, int], tuple[Expr, object]] = {}


def _point(expr: Expr, key: int) -> object:
    """``c`` when ``expr`` is ``key = c`` (an integer) or an AND with that item, and nothing in ``expr`` can raise
    on a row (``_cannot_raise``): a row of another key makes that item false and so the AND, and evaluating it
    would have refused nothing. Else ``_NO_POINT``."""
    kept = _POINTS.get((id(expr), key))
    if kept is not None and kept[0] is expr:
        return kept[1]
    point: object = _NO_POINT
    if _cannot_raise(expr):
        for item in expr.items if isinstance(expr, Logic) and expr.op == "and" else (expr,):
            if isinstance(item, Cmp) and item.op == "=":
                sides = (item.left, item.right)
                column = next((e for e in sides if isinstance(e, Col)), None)
                constant = next((e for e in sides if isinstance(e, Const)), None)
                if column is not None and constant is not None and column.index == key \
                        and type(constant.value) is int:
                    point = constant.value
                    break
    if len(_POINTS) >= _MADE_KEPT:
        _POINTS.clear()
    _POINTS[(id(expr), key)] = (expr, point)
    return point


def _cannot_raise(expr: Expr) -> bool:
    """Whether evaluating ``expr`` on any row can raise nothing: columns, constants, ``=``, ``!=``, IS NULL, IN,
    NOT, AND and OR (equality never raises; an ordering of mismatched values or an integer overflow may)."""
    if isinstance(expr, Col | Const):
        return True
    if isinstance(expr, Cmp):
        return expr.op in ("=", "!=") and _cannot_raise(expr.left) and _cannot_raise(expr.right)
    if isinstance(expr, IsNull | Not):
        return _cannot_raise(expr.operand)
    if isinstance(expr, In):
        return _cannot_raise(expr.operand) and all(_cannot_raise(v) for v in expr.values)
    if isinstance(expr, Logic):
        return all(_cannot_raise(item) for item in expr.items)
    return False


def projected(exprs: tuple[Expr, ...], rows: Iterable[Sequence[Value]], dialect: Dialect) -> list[tuple[Value, ...]]:
    """Each row's values of ``exprs`` (a SELECT's columns, a RETURNING): ``evaluate`` of each on each row."""
    made = _PROJECTIONS.get(id(exprs))
    if made is None or made[0] is not exprs or made[1] is not dialect:
        if len(_PROJECTIONS) >= _MADE_KEPT:
            _PROJECTIONS.clear()
        made = _PROJECTIONS[id(exprs)] = (exprs, dialect, _projection(exprs, dialect))
    project = made[2]
    return [project(row) for row in rows]


#: projections made, by ``id(exprs)``, as ``_MADE``
_PROJECTIONS: dict[int, tuple[tuple[Expr, ...], Dialect, Callable[[Sequence[Value]], tuple[Value, ...]]]] = {}


def _projection(exprs: tuple[Expr, ...], d: Dialect) -> Callable[[Sequence[Value]], tuple[Value, ...]]:
    if len(exprs) > 1 and all(isinstance(e, Col) for e in exprs):  # plain columns: one C call per row
        return operator.itemgetter(*(e.index for e in exprs))  # type: ignore[union-attr]
    each = tuple(_evaluator(e, d) for e in exprs)
    return lambda row: tuple(f(row, ()) for f in each)


def sort_key(value: Value, descending: bool, dialect: Dialect) -> tuple[int, Any]:
    """An ORDER BY key with the dialect's NULL placement (PostgreSQL: NULL high; MariaDB and SQLite: NULL low)."""
    null_rank = 1 if dialect.nulls_sort_high else -1
    key: tuple[int, Any] = (null_rank, 0) if value is None else (0, value)
    if descending:
        return (-key[0], _negate(key[1]))
    return key


def _negate(value: Any) -> Any:
    return -int(value) if isinstance(value, bool | int) else value


def _evaluator(expr: Expr, dialect: Dialect) -> Evaluator:
    made = _MADE.get(id(expr))
    if made is not None and made[0] is expr and made[1] is dialect:
        return made[2]
    fn = _make(expr, dialect)
    if len(_MADE) >= _MADE_KEPT:
        _MADE.clear()
    _MADE[id(expr)] = (expr, dialect, fn)
    return fn


def _string_key(value: str, dialect: Dialect) -> str:
    return value.rstrip(" ").lower() if dialect.case_insensitive_strings else value


def _make(expr: Expr, d: Dialect) -> Evaluator:
    """The closure of one node; its children's closures are made here too (and not kept on their own)."""
    if isinstance(expr, Col):
        i = expr.index
        return lambda row, group: row[i]
    if isinstance(expr, Const):
        v = expr.value
        return lambda row, group: v
    if isinstance(expr, Cmp):
        if isinstance(expr.left, Col) and isinstance(expr.right, Const):  # most of a WHERE: column op constant
            return _cmp_constant(expr.left.index, expr.right.value, _PY_CMP[expr.op], d)
        return _cmp(_make(expr.left, d), _make(expr.right, d), _PY_CMP[expr.op], d)
    if isinstance(expr, Logic):
        items = tuple(_make(e, d) for e in expr.items)
        if expr.op == "and":
            def conjunction(row: Sequence[Value], group: Group) -> Value:
                values = [f(row, group) for f in items]
                return False if False in values else (None if None in values else True)
            return conjunction

        def disjunction(row: Sequence[Value], group: Group) -> Value:
            values = [f(row, group) for f in items]
            return True if True in values else (None if None in values else False)
        return disjunction
    if isinstance(expr, Not):
        operand = _make(expr.operand, d)

        def negation(row: Sequence[Value], group: Group) -> Value:
            value = operand(row, group)
            return None if value is None else not value
        return negation
    if isinstance(expr, IsNull):
        tested, negated = _make(expr.operand, d), expr.negated
        return lambda row, group: (tested(row, group) is None) != negated
    if isinstance(expr, In):
        return _in(expr, d)
    if isinstance(expr, Arith):
        return _arith(_make(expr.left, d), _make(expr.right, d), _PY_ARITH[expr.op], d)
    if isinstance(expr, Owner):
        def owner(row: Sequence[Value], group: Group) -> Value:
            raise Unsupported("a lease's owner outside an UPDATE's SET (lease.taken())")
        return owner
    if isinstance(expr, Coalesce):
        items = tuple(_make(e, d) for e in expr.items)

        def coalesce(row: Sequence[Value], group: Group) -> Value:
            for f in items:
                value = f(row, group)
                if value is not None:
                    return value
            return None
        return coalesce
    return lambda row, group: _aggregate(expr, d, group)


def _cmp(left: Evaluator, right: Evaluator, op: Callable[[Any, Any], bool], d: Dialect) -> Evaluator:
    def compare(row: Sequence[Value], group: Group) -> Value:
        a, b = left(row, group), right(row, group)
        if a is None or b is None:
            return None
        if isinstance(a, str) and isinstance(b, str):
            a, b = _string_key(a, d), _string_key(b, d)
        return op(a, b)
    return compare


def _cmp_constant(i: int, b: Value, op: Callable[[Any, Any], bool], d: Dialect) -> Evaluator:
    """``_cmp`` of column ``i`` and the constant ``b``, reading both without a call."""
    def compare(row: Sequence[Value], group: Group) -> Value:
        a = row[i]
        if a is None or b is None:
            return None
        if isinstance(a, str) and isinstance(b, str):
            return op(_string_key(a, d), _string_key(b, d))
        return op(a, b)
    return compare


def _arith(left: Evaluator, right: Evaluator, op: Callable[[int, int], int], d: Dialect) -> Evaluator:
    def arith(row: Sequence[Value], group: Group) -> Value:
        a, b = left(row, group), right(row, group)
        if a is None or b is None:
            return None
        assert isinstance(a, int) and isinstance(b, int)
        result = op(a, b)
        check_int(result, d)
        return result
    return arith


def _in(expr: In, d: Dialect) -> Evaluator:
    negated = expr.negated
    if not expr.values:  # SQLAlchemy renders an empty IN as a condition that is false for every row
        return lambda row, group: negated
    operand = _make(expr.operand, d)
    items = tuple(_make(e, d) for e in expr.values)

    def within(row: Sequence[Value], group: Group) -> Value:
        needle = operand(row, group)
        found: Value = False
        for f in items:  # each item as ``needle = item``: NULL on either side is unknown
            if needle is None:
                equal: Value = None
            else:
                value = f(row, group)
                if value is None:
                    equal = None
                elif isinstance(needle, str) and isinstance(value, str):
                    equal = _string_key(needle, d) == _string_key(value, d)
                else:
                    equal = needle == value
            if equal is True:
                found = True
                break
            if equal is None:
                found = None
        return (None if found is None else not found) if negated else found
    return within


def _aggregate(expr: Agg, dialect: Dialect, group: Group) -> Value:
    if expr.operand is None:
        return len(group)
    values = [v for v in (evaluate(expr.operand, r, dialect) for r in group) if v is not None]
    if expr.name == "count":
        return len(values)
    if not values:
        return None
    ints = [int(v) for v in values]
    result = sum(ints) if expr.name == "sum" else (min(ints) if expr.name == "min" else max(ints))
    if expr.name == "sum" and dialect.name == "sqlite":
        check_int(result, dialect)  # PostgreSQL and MariaDB sum into a wider type
    return result
