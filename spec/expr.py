"""Column expressions: compiled from SQLAlchemy's expression objects into small frozen trees, then evaluated
on a row with SQL's NULL rules (three-valued logic: a comparison with NULL is unknown, ``NOT unknown`` is
unknown, ``unknown AND false`` is false, and WHERE keeps a row only when its condition is true).

Modelled: column references of the statement's one table, constants, ``+ - *`` on integers (a result
beyond the engine's integer width is refused, as the engine would raise), ``= != < <= > >=`` (ordering
comparisons on integers only; strings by equality only: collations differ), ``AND OR NOT``, ``IN`` and
``NOT IN`` over constants, ``IS [NOT] NULL``, ``coalesce``, in a SELECT the aggregates ``count``,
``sum``, ``min``, ``max``, and a lease's elements (``spec/lease.py``): ``taken()``'s time (the dialect's
clock, else 0) and owner (``Owner``: the session that runs the UPDATE), and ``expired()``, by the clock when
there is one, else by the reading the program's scope names. Anything else is refused, naming the
construct.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import elements, functions, operators

from spec.dialects import Dialect
from spec.errors import Unsupported
from spec.lease import GONE, LeaseExpired, LeaseNow, LeaseOwner
from spec.schema import TableSpec, Value

__all__ = ["Agg", "Const", "Expr", "Owner", "columns_read", "compile_expr", "const", "evaluate", "is_true", "kind_of",
           "recording_parameters", "sort_key"]


@dataclass(frozen=True, slots=True)
class Col:
    index: int
    kind: str


@dataclass(frozen=True, slots=True)
class Const:
    value: Value
    kind: str  # "null" for NULL


@dataclass(frozen=True, slots=True)
class Arith:
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Cmp:
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class IsNull:
    operand: Expr
    negated: bool


@dataclass(frozen=True, slots=True)
class In:
    operand: Expr
    values: tuple[Expr, ...]
    negated: bool


@dataclass(frozen=True, slots=True)
class Logic:
    op: str  # "and" / "or"
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr


@dataclass(frozen=True, slots=True)
class Coalesce:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Agg:
    name: str  # count / sum / min / max
    operand: Expr | None  # None: count(*)


@dataclass(frozen=True, slots=True)
class Owner:
    """A lease's owner as an UPDATE writes it: the session running the statement (``executor._assigned``)."""


Expr = Col | Const | Arith | Cmp | IsNull | In | Logic | Not | Coalesce | Agg | Owner

_ARITH: dict[Any, str] = {operators.add: "+", operators.sub: "-", operators.mul: "*"}
_CMP: dict[Any, str] = {operators.eq: "=", operators.ne: "!=", operators.lt: "<", operators.le: "<=",
                        operators.gt: ">", operators.ge: ">="}
_PY_CMP: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_PY_ARITH: dict[str, Callable[[int, int], int]] = {"+": operator.add, "-": operator.sub, "*": operator.mul}
_AGGREGATES = {"count", "sum", "min", "max"}


def kind_of(expr: Expr) -> str:
    """``int``, ``str``, ``bool`` or ``null`` (an untyped NULL constant)."""
    if isinstance(expr, Col | Const):
        return expr.kind
    if isinstance(expr, Arith | Owner):
        return "int"
    if isinstance(expr, Coalesce):
        kinds = {kind_of(e) for e in expr.items} - {"null"}
        return kinds.pop() if kinds else "null"
    if isinstance(expr, Agg):
        return "int" if expr.name == "count" or expr.operand is None else kind_of(expr.operand)
    return "bool"


#: while a plan is compiled for ``spec.plans``: per bound parameter (by id), the constants made of its value
_RECORDED: ContextVar[dict[int, list[Const]] | None] = ContextVar("recorded_parameters", default=None)


@contextmanager
def recording_parameters() -> Iterator[dict[int, list[Const]]]:
    """Within: each ``BindParameter`` compiled into a constant is recorded (``id(parameter)`` -> the constants
    made of it), so a plan cache can put another statement's values in their place (``spec.plans``)."""
    recorded: dict[int, list[Const]] = {}
    token = _RECORDED.set(recorded)
    try:
        yield recorded
    finally:
        _RECORDED.reset(token)


def const(value: Any, dialect: Dialect) -> Const:
    """A constant of ``value``, refused as a compiled statement refuses it (type, integer width, collation)."""
    if value is None:
        return Const(None, "null")
    if isinstance(value, bool):
        return Const(value, "bool")
    if isinstance(value, int):
        _check_int(value, dialect)
        return Const(value, "int")
    if isinstance(value, str):
        if dialect.case_insensitive_strings and not value.isascii():
            raise Unsupported(f"a non-ASCII string {value!r} on {dialect.name} (its collation is not modelled)")
        return Const(value, "str")
    raise Unsupported(f"a constant of type {type(value).__name__} ({value!r})")


def _check_int(value: int, dialect: Dialect) -> None:
    bound = 1 << (dialect.int_bits - 1)
    if not -bound <= value < bound:
        raise Unsupported(f"integer {value} beyond {dialect.name}'s {dialect.int_bits}-bit INTEGER")


class _Compiler:
    def __init__(self, table: sa.Table, spec: TableSpec, dialect: Dialect, aggregates: bool) -> None:
        self.table, self.spec, self.dialect, self.aggregates = table, spec, dialect, aggregates

    def __call__(self, element: Any) -> Expr:
        if isinstance(element, elements.Grouping | elements.Label):
            return self(element.element)
        if isinstance(element, sa.Column):
            if element.table is not self.table:
                raise Unsupported(f"column {element} of another table (joins and subqueries are not modelled)")
            i = self.spec.index(element.name)
            return Col(i, self.spec.columns[i].kind)
        if isinstance(element, elements.BindParameter):
            if element.expanding:
                raise Unsupported("an expanding parameter outside IN")
            made = const(element.effective_value, self.dialect)
            recorded = _RECORDED.get()
            if recorded is not None:
                recorded.setdefault(id(element), []).append(made)
            return made
        if isinstance(element, elements.Null):
            return Const(None, "null")
        if isinstance(element, elements.True_ | elements.False_):
            return Const(isinstance(element, elements.True_), "bool")
        if isinstance(element, elements.BooleanClauseList):
            name = {operators.and_: "and", operators.or_: "or"}.get(element.operator)
            if name is None:
                raise Unsupported(f"boolean operator {element.operator}")
            items = tuple(self._predicate(c) for c in element.clauses)
            return Logic(name, items)
        if isinstance(element, elements.AsBoolean):  # a bare Boolean column, or its negation
            inner = self(element.element)
            return Not(inner) if element.operator is operators.inv else inner
        if isinstance(element, elements.UnaryExpression):
            if element.operator is operators.inv:
                return Not(self._predicate(element.element))
            raise Unsupported(f"unary operator {element.operator or element.modifier} in an expression")
        if isinstance(element, elements.BinaryExpression):
            return self._binary(element)
        if isinstance(element, functions.FunctionElement):
            return self._function(element)
        if isinstance(element, LeaseNow | LeaseOwner | LeaseExpired):
            return self._lease(element)
        raise Unsupported(f"expression {type(element).__name__} ({element})")

    def _predicate(self, element: Any) -> Expr:
        expr = self(element)
        if kind_of(expr) not in ("bool", "null"):
            raise Unsupported(f"a non-boolean {element} used as a condition")
        return expr

    def _binary(self, element: elements.BinaryExpression[Any]) -> Expr:
        op = element.operator
        if op in (operators.is_, operators.is_not):
            if not isinstance(element.right, elements.Null):
                raise Unsupported(f"IS with a non-NULL operand ({element}); use ==")
            return IsNull(self(element.left), op is operators.is_not)
        if op in (operators.in_op, operators.not_in_op):
            right = element.right
            if not isinstance(right, elements.BindParameter) or not right.expanding:
                raise Unsupported(f"IN over a non-constant list ({element})")
            left = self(element.left)
            values = tuple(const(v, self.dialect) for v in right.effective_value or [])
            for v in values:
                self._comparable(left, v, "=", element)
            return In(left, values, op is operators.not_in_op)
        if op in _ARITH:
            left, right_e = self(element.left), self(element.right)
            for side in (left, right_e):
                if kind_of(side) not in ("int", "null"):
                    raise Unsupported(f"arithmetic on a non-integer ({element})")
            return Arith(_ARITH[op], left, right_e)
        if op in _CMP:
            left, right_e = self(element.left), self(element.right)
            self._comparable(left, right_e, _CMP[op], element)
            return Cmp(_CMP[op], left, right_e)
        raise Unsupported(f"operator {getattr(op, '__name__', op)} ({element})")

    def _comparable(self, left: Expr, right: Expr, op: str, element: Any) -> None:
        kinds = {kind_of(left), kind_of(right)} - {"null"}
        if len(kinds) > 1:
            raise Unsupported(f"a comparison of {' and '.join(sorted(kinds))} ({element})")
        if kinds == {"str"} and op not in ("=", "!="):
            raise Unsupported(f"an ordering comparison of strings ({element}): collations differ by engine")
        if kinds == {"bool"} and op not in ("=", "!="):
            raise Unsupported(f"an ordering comparison of booleans ({element})")
        if "time" in kinds:
            raise Unsupported(f"a comparison of a lease's time ({element}): read it with lease.expired()")

    def _lease(self, element: LeaseNow | LeaseOwner | LeaseExpired) -> Expr:
        lease = element.lease
        if element.column.table is not self.table:
            raise Unsupported(f"lease {lease.name!r} of another table than the statement's", lease.where)
        taken = self(lease.taken_at)
        if isinstance(element, LeaseNow):
            return Const(self.dialect.now or 0, "time")  # no clock: a time taken, which no reading compares
        if isinstance(element, LeaseOwner):
            return Owner()
        held = IsNull(taken, negated=True)
        if self.dialect.now is not None:  # the simulation: run out once now - taken_at >= seconds
            cutoff = self.dialect.now - round(element.seconds * 1_000_000)
            return Logic("and", (held, Cmp("<=", taken, Const(cutoff, "time"))))
        if element.reading == "expired" or element.seconds <= 0:  # a lease of 0 s has always run out
            return held
        return Logic("and", (held, Cmp("=", self(lease.owner), Const(GONE, "int"))))  # outlasts-owner

    def _function(self, element: functions.FunctionElement[Any]) -> Expr:
        name = getattr(element, "name", type(element).__name__).lower()
        args = list(element.clauses)
        if name == "coalesce" and args:
            items = tuple(self(a) for a in args)
            if len({kind_of(i) for i in items} - {"null"}) > 1:
                raise Unsupported(f"coalesce of mixed types ({element})")
            return Coalesce(items)
        if name in _AGGREGATES:
            if not self.aggregates:
                raise Unsupported(f"aggregate {name}() outside a SELECT's columns")
            if name == "count" and (not args or (len(args) == 1 and _is_star(args[0]))):
                return Agg("count", None)
            if len(args) != 1:
                raise Unsupported(f"{name}() of {len(args)} arguments")
            operand = _Compiler(self.table, self.spec, self.dialect, aggregates=False)(args[0])
            if name != "count" and kind_of(operand) != "int":
                raise Unsupported(f"{name}() of a non-integer ({element}): only integer aggregates are modelled")
            return Agg(name, operand)
        raise Unsupported(f"SQL function {name}()")


def _is_star(element: Any) -> bool:
    return isinstance(element, elements.ColumnClause) and element.name == "*"


def compile_expr(element: Any, table: sa.Table, spec: TableSpec, dialect: Dialect, *,
                 aggregates: bool = False, predicate: bool = False) -> Expr:
    """One SQLAlchemy expression over ``table`` as a model expression (refusing what is not modelled)."""
    compiler = _Compiler(table, spec, dialect, aggregates)
    return compiler._predicate(element) if predicate else compiler(element)


def _string_key(value: str, dialect: Dialect) -> str:
    return value.rstrip(" ").lower() if dialect.case_insensitive_strings else value


def columns_read(expr: Any) -> set[int]:
    """The columns an expression (or a tuple of them) reads, by position in its table."""
    if isinstance(expr, Col):
        return {expr.index}
    if isinstance(expr, tuple):
        return set().union(*(columns_read(e) for e in expr))
    if not hasattr(expr, "__dataclass_fields__"):
        return set()
    return set().union(*(columns_read(getattr(expr, f)) for f in expr.__dataclass_fields__))


def evaluate(expr: Expr, row: Sequence[Value], dialect: Dialect, group: Sequence[Sequence[Value]] = ()) -> Value:
    """The value of ``expr`` on ``row`` (``group``: the rows an aggregate ranges over)."""
    if isinstance(expr, Col):
        return row[expr.index]
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, Cmp):
        a, b = evaluate(expr.left, row, dialect, group), evaluate(expr.right, row, dialect, group)
        if a is None or b is None:
            return None
        if isinstance(a, str) and isinstance(b, str):
            a, b = _string_key(a, dialect), _string_key(b, dialect)
        return _PY_CMP[expr.op](a, b)
    if isinstance(expr, Logic):
        values = [evaluate(e, row, dialect, group) for e in expr.items]
        if expr.op == "and":
            return False if False in values else (None if None in values else True)
        return True if True in values else (None if None in values else False)
    if isinstance(expr, Not):
        value = evaluate(expr.operand, row, dialect, group)
        return None if value is None else not value
    if isinstance(expr, IsNull):
        return (evaluate(expr.operand, row, dialect, group) is None) != expr.negated
    if isinstance(expr, In):
        return _in(expr, row, dialect, group)
    if isinstance(expr, Arith):
        a, b = evaluate(expr.left, row, dialect, group), evaluate(expr.right, row, dialect, group)
        if a is None or b is None:
            return None
        assert isinstance(a, int) and isinstance(b, int)
        result = _PY_ARITH[expr.op](a, b)
        _check_int(result, dialect)
        return result
    if isinstance(expr, Owner):
        raise Unsupported("a lease's owner outside an UPDATE's SET (lease.taken())")
    if isinstance(expr, Coalesce):
        for item in expr.items:
            value = evaluate(item, row, dialect, group)
            if value is not None:
                return value
        return None
    return _aggregate(expr, dialect, group)


def _in(expr: In, row: Sequence[Value], dialect: Dialect, group: Sequence[Sequence[Value]]) -> Value:
    if not expr.values:  # SQLAlchemy renders an empty IN as a condition that is false for every row
        return expr.negated
    needle = evaluate(expr.operand, row, dialect, group)
    found: Value = False
    for item in expr.values:
        equal = evaluate(Cmp("=", Const(needle, "null"), item), row, dialect, group) if needle is not None else None
        if equal is True:
            found = True
            break
        if equal is None:
            found = None
    return (None if found is None else not found) if expr.negated else found


def _aggregate(expr: Agg, dialect: Dialect, group: Sequence[Sequence[Value]]) -> Value:
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
        _check_int(result, dialect)  # PostgreSQL and MariaDB sum into a wider type
    return result


def is_true(expr: Expr | None, row: Sequence[Value], dialect: Dialect) -> bool:
    """WHERE's rule: a row is kept only when its condition is true (not false, not unknown)."""
    return expr is None or evaluate(expr, row, dialect) is True


def sort_key(value: Value, descending: bool, dialect: Dialect) -> tuple[int, Any]:
    """An ORDER BY key with the dialect's NULL placement (PostgreSQL: NULL high; MariaDB and SQLite: NULL low)."""
    null_rank = 1 if dialect.nulls_sort_high else -1
    key: tuple[int, Any] = (null_rank, 0) if value is None else (0, value)
    if descending:
        return (-key[0], _negate(key[1]))
    return key


def _negate(value: Any) -> Any:
    return -int(value) if isinstance(value, bool | int) else value
