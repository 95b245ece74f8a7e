"""Column expressions: compiled from SQLAlchemy's expression objects into small frozen trees, which
``spec.evaluation`` evaluates on a row with SQL's NULL rules.

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

from collections.abc import Iterator
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

__all__ = ["Agg", "Const", "Expr", "Owner", "check_int", "columns_read", "compile_expr", "const", "kind_of",
           "recording_parameters"]


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
    """A lease's owner as an UPDATE writes it: the session running the statement (``spec.writes``)."""


Expr = Col | Const | Arith | Cmp | IsNull | In | Logic | Not | Coalesce | Agg | Owner

_ARITH: dict[Any, str] = {operators.add: "+", operators.sub: "-", operators.mul: "*"}
_CMP: dict[Any, str] = {operators.eq: "=", operators.ne: "!=", operators.lt: "<", operators.le: "<=",
                        operators.gt: ">", operators.ge: ">="}
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
        check_int(value, dialect)
        return Const(value, "int")
    if isinstance(value, str):
        if dialect.case_insensitive_strings and not value.isascii():
            raise Unsupported(f"a non-ASCII string {value!r} on {dialect.name} (its collation is not modelled)")
        return Const(value, "str")
    raise Unsupported(f"a constant of type {type(value).__name__} ({value!r})")


def check_int(value: int, dialect: Dialect) -> None:
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


def columns_read(expr: Any) -> set[int]:
    """The columns an expression (or a tuple of them) reads, by position in its table."""
    if isinstance(expr, Col):
        return {expr.index}
    if isinstance(expr, tuple):
        return set().union(*(columns_read(e) for e in expr))
    if not hasattr(expr, "__dataclass_fields__"):
        return set()
    return set().union(*(columns_read(getattr(expr, f)) for f in expr.__dataclass_fields__))
