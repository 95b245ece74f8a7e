"""SQLAlchemy Core statements read into plans the executor runs: which table, which rows, what to write.

A statement is inspected, never compiled to text or sent anywhere: its ``whereclause``, its values, its
ORDER BY, LIMIT, FOR UPDATE and RETURNING are walked as SQLAlchemy holds them. Anything the plan has no
field for is refused, naming the construct.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import dml, operators
from sqlalchemy.sql import selectable as sel

from spec.dialects import Dialect
from spec.errors import Unsupported
from spec.expr import Agg, Cmp, Col, Const, Expr, In, IsNull, Logic, columns_read, compile_expr, kind_of
from spec.keyrange import key_ranges
from spec.schema import Schema, TableSpec

__all__ = ["Delete", "Insert", "Plan", "Select", "Update", "compile_statement", "impossible", "key_lookup"]


@dataclass(frozen=True, slots=True)
class Select:
    """SELECT columns FROM one table [WHERE] [GROUP BY] [ORDER BY] [LIMIT/OFFSET] [FOR UPDATE]."""

    table: int
    names: tuple[str, ...]
    columns: tuple[Expr, ...]
    where: Expr | None
    group_by: tuple[Expr, ...]
    aggregate: bool
    order_by: tuple[tuple[Expr, bool], ...]  # (expression, descending)
    ordered: bool  # the ORDER BY is total (it ends in the primary key), or at most one row comes back
    limit: int | None
    offset: int
    for_update: bool
    skip_locked: bool
    nowait: bool


@dataclass(frozen=True, slots=True)
class Insert:
    """INSERT INTO one table VALUES (one or more rows of constants) [RETURNING]."""

    table: int
    rows: tuple[tuple[Any, ...], ...]  # full rows, defaults filled in
    returning: tuple[Expr, ...] | None
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Update:
    """UPDATE one table SET column = expression, ... [WHERE] [RETURNING]."""

    table: int
    assignments: tuple[tuple[int, Expr], ...]
    where: Expr | None
    returning: tuple[Expr, ...] | None
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Delete:
    """DELETE FROM one table [WHERE] [RETURNING]."""

    table: int
    where: Expr | None
    returning: tuple[Expr, ...] | None
    names: tuple[str, ...]


Plan = Select | Insert | Update | Delete


def compile_statement(statement: Any, schema: Schema, dialect: Dialect) -> Plan:
    """The plan of one Core statement, or ``Unsupported`` naming what is not modelled."""
    if isinstance(statement, sel.Select):
        return _select(statement, schema, dialect)
    if isinstance(statement, dml.Insert):
        return _insert(statement, schema, dialect)
    if isinstance(statement, dml.Update):
        return _update(statement, schema, dialect)
    if isinstance(statement, dml.Delete):
        return _delete(statement, schema, dialect)
    raise Unsupported(f"statement {type(statement).__name__} (modelled: select, insert, update, delete)")


def _where(criteria: tuple[Any, ...], table: sa.Table, spec: TableSpec, dialect: Dialect) -> Expr | None:
    if not criteria:
        return None
    whereclause = criteria[0] if len(criteria) == 1 else sa.and_(*criteria)
    return compile_expr(whereclause, table, spec, dialect, predicate=True)


def _one_table(froms: Any, what: str) -> sa.Table:
    if len(froms) != 1 or not isinstance(froms[0], sa.Table):
        raise Unsupported(f"{what} over {len(froms)} FROM items or a join/subquery (modelled: one table)")
    return froms[0]


def _select(stmt: sel.Select[Any], schema: Schema, dialect: Dialect) -> Select:
    for attribute, construct in (("_setup_joins", "a join"), ("_having_criteria", "HAVING"),
                                 ("_distinct_on", "DISTINCT ON"), ("_fetch_clause", "FETCH"),
                                 ("_hints", "a hint"), ("_prefixes", "a prefix"), ("_suffixes", "a suffix"),
                                 ("_independent_ctes", "a CTE")):
        if getattr(stmt, attribute, None):
            raise Unsupported(f"SELECT with {construct}")
    if stmt._distinct:
        raise Unsupported("SELECT DISTINCT")
    table = _one_table(stmt.get_final_froms(), "SELECT")
    position = schema.position(table)
    spec = schema.tables[position]
    names, columns = _columns(stmt.selected_columns, table, spec, dialect, aggregates=True)
    group_by = tuple(compile_expr(g, table, spec, dialect) for g in stmt._group_by_clauses)
    aggregate = bool(group_by) or any(_has_agg(c) for c in columns)
    if aggregate:
        for c in columns:
            _check_grouped(c, group_by)
    order_by = tuple(_order(o, table, spec, dialect) for o in stmt._order_by_clauses)
    where = _where(stmt._where_criteria, table, spec, dialect)
    limit, offset = _int_clause(stmt, "_limit_clause", "LIMIT"), _int_clause(stmt, "_offset_clause", "OFFSET")
    ordered = (aggregate and not group_by) or key_lookup(where, spec) is not None or any(
        isinstance(e, Col) and e.index == spec.key for e, _ in order_by)
    if (limit is not None or offset) and not ordered:
        raise Unsupported("LIMIT/OFFSET without an ORDER BY that ends in the primary key: the engines "
                          "may return any of the tied rows")
    lock = stmt._for_update_arg
    if lock is not None:
        if lock.read or lock.key_share or lock.of is not None:
            raise Unsupported("FOR SHARE / KEY SHARE / FOR UPDATE OF (modelled: FOR UPDATE [SKIP LOCKED|NOWAIT])")
        if aggregate:
            raise Unsupported("FOR UPDATE with aggregates or GROUP BY")
        if lock.skip_locked and not dialect.skip_locked:
            raise Unsupported(f"SKIP LOCKED on {dialect.name}")
        if lock.skip_locked and dialect.name == "mysql" and order_by and order_by[0][1] and _lookup_and_range(
                where, spec, dialect):
            raise Unsupported("SKIP LOCKED ordered by the key descending over a key lookup and a range of the key "
                              "on MariaDB (its gap locks there are not modelled)")
    return Select(position, names, columns, where, group_by, aggregate, order_by, ordered, limit, offset or 0,
                  lock is not None, lock is not None and bool(lock.skip_locked),
                  lock is not None and bool(lock.nowait))


def _lookup_and_range(where: Expr | None, spec: TableSpec, dialect: Dialect) -> bool:
    """MariaDB reads ``where`` as a key looked up and a range wider than one key (``id = 4 OR id > 5``)."""
    ranges = key_ranges(where, spec, dialect, propagate=True) or ()
    return any(r.point is None for r in ranges) and any(r.point is not None for r in ranges)


def _int_clause(stmt: Any, attribute: str, what: str) -> int | None:
    clause = getattr(stmt, attribute)
    if clause is None:
        return None
    value = getattr(clause, "effective_value", None)
    if not isinstance(value, int) or value < 0:
        raise Unsupported(f"{what} that is not a non-negative integer constant")
    return value


def _order(element: Any, table: sa.Table, spec: TableSpec, dialect: Dialect) -> tuple[Expr, bool]:
    descending = False
    if isinstance(element, sa.UnaryExpression) and element.modifier in (operators.desc_op, operators.asc_op):
        descending = element.modifier is operators.desc_op
        element = element.element
    if isinstance(element, sa.UnaryExpression):
        raise Unsupported(f"ORDER BY modifier {element.modifier} (NULLS FIRST/LAST are not modelled)")
    expr = compile_expr(element, table, spec, dialect)
    if kind_of(expr) not in ("int", "bool"):
        raise Unsupported(f"ORDER BY {element}: only integer and boolean keys (string collations differ)")
    return expr, descending


def _has_agg(expr: Expr) -> bool:
    if isinstance(expr, Agg):
        return True
    children = [getattr(expr, f) for f in getattr(expr, "__slots__", ())]
    return any(_has_agg(c) for c in children if not isinstance(c, tuple | str | int | bool | type(None))) or any(
        _has_agg(i) for c in children if isinstance(c, tuple) for i in c if not isinstance(i, str | int | bool))


def _check_grouped(expr: Expr, group_by: tuple[Expr, ...]) -> None:
    """Outside an aggregate, a column must be a GROUP BY key (PostgreSQL refuses it otherwise)."""
    if isinstance(expr, Agg) or expr in group_by:
        return
    if isinstance(expr, Col):
        raise Unsupported("a column neither grouped nor aggregated")
    for field in getattr(expr, "__slots__", ()):
        child = getattr(expr, field)
        for item in child if isinstance(child, tuple) else (child,):
            if not isinstance(item, str | int | bool | type(None)):
                _check_grouped(item, group_by)


def _columns(items: Any, table: sa.Table, spec: TableSpec, dialect: Dialect, *,
             aggregates: bool = False) -> tuple[tuple[str, ...], tuple[Expr, ...]]:
    names, columns = [], []
    for item in items:
        if isinstance(item, sa.Table):
            names += [c.name for c in spec.columns]
            columns += [compile_expr(c, table, spec, dialect) for c in item.columns]
            continue
        names.append(getattr(item, "name", None) or str(item))
        columns.append(compile_expr(item, table, spec, dialect, aggregates=aggregates))
    return tuple(names), tuple(columns)


def _returning(stmt: Any, kind: str, table: sa.Table, spec: TableSpec, dialect: Dialect
               ) -> tuple[tuple[str, ...], tuple[Expr, ...] | None]:
    if not stmt._returning:
        return (), None
    if kind not in dialect.returning:
        raise Unsupported(f"{kind.upper()} ... RETURNING on {dialect.name}")
    names, columns = _columns(stmt._returning, table, spec, dialect)
    return names, columns


def _dml_table(stmt: Any, schema: Schema, what: str) -> tuple[sa.Table, int]:
    for attribute, construct in (("_extra_froms", "extra FROM tables"), ("_hints", "a hint"),
                                 ("_prefixes", "a prefix"), ("_post_values_clause", "ON CONFLICT / ON DUPLICATE"),
                                 ("_independent_ctes", "a CTE")):
        if getattr(stmt, attribute, None):
            raise Unsupported(f"{what} with {construct}")
    if getattr(stmt, "dialect_kwargs", None):
        raise Unsupported(f"{what} with dialect options {dict(stmt.dialect_kwargs)}")
    table = stmt.table
    return table, schema.position(table)


def _insert(stmt: dml.Insert, schema: Schema, dialect: Dialect) -> Insert:
    table, position = _dml_table(stmt, schema, "INSERT")
    if stmt.select is not None:
        raise Unsupported("INSERT ... SELECT")
    spec = schema.tables[position]
    given: list[dict[str, Any]]
    if stmt._multi_values:
        if len(stmt._multi_values) != 1:
            raise Unsupported("INSERT with several values() calls")
        given = [_named(r, spec) for r in stmt._multi_values[0]]
    elif stmt._values:
        given = [_named(dict(stmt._values), spec)]
    else:
        raise Unsupported("INSERT without values() (parameters given at execution are not modelled)")
    rows = tuple(_full_row(r, table, spec, dialect) for r in given)
    names, returning = _returning(stmt, "insert", table, spec, dialect)
    return Insert(position, rows, returning, names)


def _named(values: Any, spec: TableSpec) -> dict[str, Any]:
    if not isinstance(values, dict):
        if isinstance(values, list | tuple):
            return {spec.columns[i].name: v for i, v in enumerate(values)}
        raise Unsupported(f"INSERT values {values!r}")
    return {(k if isinstance(k, str) else k.name): v for k, v in values.items()}


def _full_row(values: dict[str, Any], table: sa.Table, spec: TableSpec, dialect: Dialect) -> tuple[Any, ...]:
    row: list[Any] = [c.default for c in spec.columns]
    for name, value in values.items():
        i = spec.index(name)
        expr = compile_expr(value if isinstance(value, sa.ClauseElement) else sa.literal(value), table, spec,
                            dialect)
        if not isinstance(expr, Const):
            raise Unsupported(f"INSERT value for {name} that is not a constant ({value})")
        _check_type(expr, spec, i, dialect)
        row[i] = expr.value
    if row[spec.key] is None:
        raise Unsupported(f"INSERT into {spec.name} without a value for its key {spec.columns[spec.key].name} "
                          "(generated keys differ by engine and are not modelled)")
    return tuple(row)


def _check_type(expr: Expr, spec: TableSpec, i: int, dialect: Dialect) -> None:
    column = spec.columns[i]
    kind = kind_of(expr)
    if kind not in ("null", column.kind):
        raise Unsupported(f"a {kind} value for {spec.name}.{column.name}, a {column.kind} column")
    if isinstance(expr, Const) and isinstance(expr.value, str) and column.length is not None \
            and len(expr.value) > column.length:
        raise Unsupported(f"a string longer than {spec.name}.{column.name}'s {column.length} characters")


def _update(stmt: dml.Update, schema: Schema, dialect: Dialect) -> Update:
    table, position = _dml_table(stmt, schema, "UPDATE")
    spec = schema.tables[position]
    if getattr(stmt, "_maintain_values_ordering", False):
        items = list(stmt._values.items()) if stmt._values else []
    else:
        items = list((stmt._values or {}).items())
    if stmt._multi_values or not items:
        raise Unsupported("UPDATE without one values() of the columns to set")
    assignments = []
    for key, value in items:
        i = spec.index(key if isinstance(key, str) else key.name)
        if i == spec.key:
            raise Unsupported(f"UPDATE of the primary key {spec.name}.{spec.columns[i].name}")
        expr = compile_expr(value if isinstance(value, sa.ClauseElement) else sa.literal(value), table, spec,
                            dialect)
        _check_type(expr, spec, i, dialect)
        assignments.append((i, expr))
    assigned = {i for i, _ in assignments}
    if dialect.name == "mysql":  # MariaDB evaluates SET left to right, reading the values already set
        for i, expr in assignments:
            if columns_read(expr) & (assigned - {i}):
                raise Unsupported("UPDATE whose SET reads another column it sets (MariaDB reads the new value, "
                                  "the others the old)")
    where = _where(stmt._where_criteria, table, spec, dialect)
    names, returning = _returning(stmt, "update", table, spec, dialect)
    return Update(position, tuple(assignments), where, returning, names)


def _delete(stmt: dml.Delete, schema: Schema, dialect: Dialect) -> Delete:
    table, position = _dml_table(stmt, schema, "DELETE")
    spec = schema.tables[position]
    where = _where(stmt._where_criteria, table, spec, dialect)
    names, returning = _returning(stmt, "delete", table, spec, dialect)
    return Delete(position, where, returning, names)


def key_lookup(where: Expr | None, spec: TableSpec) -> tuple[int, ...] | None:
    """The keys a WHERE fixes by ``key = c`` or ``key IN (...)`` in a top-level AND, in order (those all such
    conjuncts fix: MariaDB reads no row for ``id IN (2, 4) AND id = 3``); else None."""
    if where is None:
        return None
    conjuncts = where.items if isinstance(where, Logic) and where.op == "and" else (where,)
    fixed: set[int] | None = None
    for c in conjuncts:
        found: set[int] | None = None
        if isinstance(c, Cmp) and c.op == "=":
            for a, b in ((c.left, c.right), (c.right, c.left)):
                if isinstance(a, Col) and a.index == spec.key and isinstance(b, Const) and isinstance(b.value, int):
                    found = {b.value}
        if isinstance(c, In) and not c.negated and isinstance(c.operand, Col) and c.operand.index == spec.key:
            values = [v.value for v in c.values if isinstance(v, Const) and isinstance(v.value, int)]
            if len(values) == len(c.values):
                found = set(values)
        if found is not None:
            fixed = found if fixed is None else fixed & found
    return None if fixed is None else tuple(sorted(fixed))


def impossible(where: Expr | None, spec: TableSpec, *, null_checks: bool = True) -> bool:
    """A WHERE the optimizer folds to false before reading a row: an empty ``IN``, ``IS NULL`` on a NOT NULL
    column (``null_checks``: MariaDB folds it in a SELECT, not in an UPDATE or DELETE), or an AND of such
    (MariaDB then scans, and so locks, nothing)."""
    if isinstance(where, IsNull) and not where.negated and isinstance(where.operand, Col):
        return null_checks and not spec.columns[where.operand.index].nullable
    if isinstance(where, In):
        return not where.values and not where.negated
    if isinstance(where, Logic):
        parts = [impossible(e, spec, null_checks=null_checks) for e in where.items]
        return any(parts) if where.op == "and" else all(parts)
    return False
