"""The modelled shape of SQLAlchemy Core ``Table``s: integer primary key, typed columns, NOT NULL, defaults.

Supported column types: Integer (and its subclasses), String/Text, Boolean, and DateTime as a lease's
time (``spec/lease.py``: written only by ``lease.taken()``, read only by ``lease.expired()``; the model
holds it as a number, no clock in the checker and microseconds in the simulation). A table must have a
one-column integer primary key; unique constraints other than the key, foreign keys, server defaults and
callable defaults are refused, since the model would not enforce them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from spec.errors import Unsupported

__all__ = ["ColumnSpec", "Schema", "TableSpec", "Value"]

#: a cell: SQL NULL is None
Value = int | str | bool | None


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One column: its name, its kind (``int``, ``str``, ``bool`` or ``time``), NULL allowed, default, string length."""

    name: str
    kind: str
    nullable: bool
    default: Value
    length: int | None


@dataclass(frozen=True, slots=True)
class TableSpec:
    """One table: its name, columns in declared order, and the position of its primary key."""

    name: str
    columns: tuple[ColumnSpec, ...]
    key: int

    def index(self, name: str) -> int:
        for i, column in enumerate(self.columns):
            if column.name == name:
                return i
        raise Unsupported(f"column {name!r} is not in table {self.name!r}")


def _kind(column: sa.Column[Any]) -> str:
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return "bool"
    if isinstance(kind, sa.Integer):
        return "int"
    if isinstance(kind, sa.String):  # Text is a String
        return "str"
    if isinstance(kind, sa.DateTime):
        return "time"
    raise Unsupported(f"column type {kind!r} of {column.table.name}.{column.name} (modelled: Integer, String, "
                      "Text, Boolean, and DateTime as a lease's time)")


def _default(column: sa.Column[Any]) -> Value:
    if column.server_default is not None or column.server_onupdate is not None or column.onupdate is not None:
        raise Unsupported(f"server or update default of {column.table.name}.{column.name}")
    default = column.default
    if default is None:
        return None
    if getattr(default, "is_scalar", False):
        value = getattr(default, "arg", None)
        if value is None or isinstance(value, int | str | bool):
            return value
    raise Unsupported(f"non-constant default of {column.table.name}.{column.name}")


def table_spec(table: sa.Table) -> TableSpec:
    """Read one Core ``Table`` into the model's shape, refusing what the model would not enforce."""
    keys = list(table.primary_key.columns)
    if len(keys) != 1 or _kind(keys[0]) != "int":
        raise Unsupported(f"table {table.name!r}: the model needs a one-column Integer primary key")
    for constraint in table.constraints:
        if not isinstance(constraint, sa.PrimaryKeyConstraint | sa.CheckConstraint) or (
                isinstance(constraint, sa.CheckConstraint) and not _is_type_check(constraint)):
            raise Unsupported(f"table {table.name!r}: constraint {type(constraint).__name__}")
    if table.indexes:
        raise Unsupported(f"table {table.name!r}: an index (unique or not) besides the primary key")
    columns = tuple(
        ColumnSpec(c.name, _kind(c), bool(c.nullable) and not c.primary_key, _default(c),
                   getattr(c.type, "length", None))
        for c in table.columns)
    return TableSpec(table.name, columns, [c.name for c in table.columns].index(keys[0].name))


def _is_type_check(constraint: sa.CheckConstraint) -> bool:
    """SQLAlchemy's own CHECK for a Boolean (``create_constraint=True``) only restates the type."""
    return bool(getattr(constraint, "_type_bound", False))


@dataclass(frozen=True, slots=True)
class Schema:
    """The modelled tables, in a fixed order (a state holds one row tuple per table, in this order)."""

    tables: tuple[TableSpec, ...]
    names: tuple[str, ...]

    @staticmethod
    def of(tables: Iterable[sa.Table] | sa.MetaData) -> Schema:
        found = list(tables.sorted_tables if isinstance(tables, sa.MetaData) else tables)
        specs = tuple(table_spec(t) for t in found)
        return Schema(specs, tuple(t.name for t in found))

    def position(self, table: Any) -> int:
        name = getattr(table, "name", None)
        if not isinstance(table, sa.Table) or name not in self.names:
            raise Unsupported(f"table {name or table!r} is not in the spec's tables")
        return self.names.index(name)
