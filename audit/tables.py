"""Exports of a spec's own tables: each file one table, its values typed as the spec declares its columns.

A file is CSV with a header row or JSON Lines, read as the write-up's table is (``audit.parse.read_records``).
Each value becomes what the model holds for its column's kind (``spec/schema.py``): an integer, a string, a
boolean (``true``/``false``, ``t``/``f``, ``yes``/``no``, ``1``/``0``), or, for a DateTime column (a lease's
time), microseconds since the epoch in UTC, as the simulation holds it, read as ``audit.parse.parse_time``
reads a timestamp (naive ones in ``tz``). NULL is JSON ``null`` or, in CSV, an empty cell, ``NULL`` or
``\\N``; in a NOT NULL string column every text is the string itself (CSV cannot tell an empty string from
NULL, and NULL cannot be there). Columns the spec does not declare are ignored, and named.

Unlike the write-up's audit, which skips a bad row and says so, whatever does not fit the spec is refused in
one line naming the file and line: a value of another type, NULL in a NOT NULL column, a string longer than
its column, a record without one of the columns, a missing or repeated primary key, a declared column the
file lacks. A property judged on rows with one left out, or on a value made up for a missing column, could
hold where the real table breaks it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, tzinfo
from pathlib import Path

from audit.parse import is_null, parse_time, read_records
from spec.schema import ColumnSpec, Schema, TableSpec, Value
from spec.state import Row
from userio.errors import BadInput
from userio.files import read_text

__all__ = ["TableExport", "read_exports", "read_table", "table_files", "value_of"]

_WHOLE = re.compile(r"[+-]?\d+")
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
#: each kind of column as the error names it
_KIND = {"int": "an Integer", "str": "a String", "bool": "a Boolean", "time": "a DateTime"}


@dataclass(frozen=True, slots=True, kw_only=True)
class TableExport:
    """One of the spec's tables as read from one file: its rows in key order, as the model holds them."""

    table: str
    file: str
    format: str
    rows: tuple[Row, ...]
    #: the file's columns the spec does not declare (read past, not judged)
    ignored: tuple[str, ...]


def table_files(schema: Schema, spec: str, exports: Sequence[str], named: Sequence[str]) -> dict[str, str]:
    """Which file holds each table given: ``--table NAME=FILE`` texts (``named``), then each of ``exports`` by
    its file's stem (``jobs.csv`` holds ``jobs``). A name the spec does not declare, or a table given twice,
    is one line."""
    given: list[tuple[str, str, str]] = []  # (table, file, how it was named)
    for text in named:
        name, sep, file = text.partition("=")
        if not sep or not name.strip() or not file.strip():
            raise BadInput(f"--table {text!r}: expected NAME=FILE")
        given.append((name.strip(), file.strip(), f"--table {text}"))
    given.extend((Path(file).stem, file, file) for file in exports)
    if not given:
        raise BadInput(f"spec {spec}: give the exports of its tables (wavesim audit SPEC EXPORT..., each file named "
                       f"after its table, or --table NAME=FILE); its tables: {', '.join(schema.names)}")
    out: dict[str, str] = {}
    for table, file, how in given:
        if table not in schema.names:
            hint = "" if how.startswith("--table") else "; name its table with --table NAME=FILE"
            raise BadInput(f"{how}: spec {spec} has no table {table!r} (its tables: {', '.join(schema.names)}){hint}")
        if table in out:
            raise BadInput(f"table {table} is given twice: {out[table]} and {file}")
        out[table] = file
    return out


def read_exports(schema: Schema, files: Mapping[str, str], *, fmt: str = "auto",
                 tz: tzinfo = UTC) -> tuple[TableExport, ...]:
    """Each table of ``files`` (table -> path) read from its file, in the schema's order."""
    return tuple(read_table(read_text(files[t.name]), table=t, file=files[t.name], fmt=fmt, tz=tz)
                 for t in schema.tables if t.name in files)


def read_table(text: str, *, table: TableSpec, file: str, fmt: str = "auto", tz: tzinfo = UTC) -> TableExport:
    """One export of ``table``; ``BadInput`` naming ``file`` (and the line) for anything that does not fit."""
    if not text.strip():
        raise BadInput(f"{file} is empty: expected a CSV header row (an empty table) or JSON Lines with the columns "
                       f"of table {table.name}: {', '.join(c.name for c in table.columns)}")
    fmt, columns, records = read_records(text, fmt=fmt)
    declared = {c.name.lower(): c for c in table.columns}
    key = table.columns[table.key].name
    missing = [c.name for c in table.columns if c.name.lower() not in columns]
    if key in missing:
        raise BadInput(f"{file} has no column {key}, the primary key of table {table.name}")
    if missing:
        raise BadInput(f"{file} lacks column(s) {', '.join(missing)} of table {table.name}: the spec's properties "
                       "would read values made up for them")
    rows: dict[int, tuple[int, Row]] = {}  # key -> (line, row)
    for line, record in records:
        if isinstance(record, str):
            raise BadInput(f"{file}:{line}: {record}")
        row = _row(record, table, f"{file}:{line}", tz)
        k = row[table.key]
        assert isinstance(k, int)  # a key is a NOT NULL Integer (spec/schema.py)
        if k in rows:
            raise BadInput(f"{file}:{line}: primary key {key}={k} repeats the row of line {rows[k][0]}")
        rows[k] = (line, row)
    return TableExport(table=table.name, file=file, format=fmt, rows=tuple(rows[k][1] for k in sorted(rows)),
                       ignored=tuple(c for c in columns if c not in declared))


def _row(record: Mapping[str, object], table: TableSpec, where: str, tz: tzinfo) -> Row:
    cells: list[Value] = []
    for n, column in enumerate(table.columns):
        if column.name.lower() not in record:
            raise BadInput(f"{where}: no value for column {column.name}")
        raw = record[column.name.lower()]
        if n == table.key and (raw is None or isinstance(raw, str) and is_null(raw.strip())):
            raise BadInput(f"{where}: no primary key ({column.name} is empty)")
        try:
            cells.append(value_of(column, raw, tz))
        except ValueError as err:
            raise BadInput(f"{where}: column {column.name}: {err}") from None
    return tuple(cells)


def value_of(column: ColumnSpec, raw: object, tz: tzinfo = UTC) -> Value:
    """``raw`` (a CSV cell's text or a JSON value) as the model holds a value of ``column``; ``ValueError``
    saying why it does not fit."""
    if isinstance(raw, list | dict):
        raise ValueError(f"{raw!r} is not a plain value ({_KIND[column.kind]} column)")
    text = raw.strip() if isinstance(raw, str) and column.kind != "str" else raw
    if raw is None or isinstance(text, str) and _null(column, text):
        if not column.nullable:
            raise ValueError("NULL, and the spec declares the column NOT NULL")
        return None
    if column.kind == "int":
        if isinstance(text, int) and not isinstance(text, bool):
            return text
        if isinstance(text, str) and _WHOLE.fullmatch(text):
            return int(text)
        raise ValueError(f"{text!r} is not a whole number (an Integer column)")
    if column.kind == "bool":
        if isinstance(text, bool):
            return text
        word = str(text).lower()
        if isinstance(text, int | str) and word in _TRUE | _FALSE:
            return word in _TRUE
        raise ValueError(f"{text!r} is not a boolean (a Boolean column: true or false, t or f, 1 or 0)")
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not text ({_KIND[column.kind]} column)")
    if column.kind == "time":
        return parse_time(text, tz)
    if column.length is not None and len(text) > column.length:
        raise ValueError(f"{text!r} is {len(text)} characters, longer than its String({column.length})")
    return text


def _null(column: ColumnSpec, text: str) -> bool:
    """Whether a cell's text is NULL in ``column``: never in a NOT NULL string column (its text is the value)."""
    if column.kind == "str":
        return column.nullable and text in ("", "NULL", "\\N")
    return is_null(text)
