"""What one step of a session gives back: a result, a wait on other sessions, or an engine error."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from spec.schema import Value

__all__ = ["Blocked", "Done", "Failed", "Outcome", "Result", "row_type"]


@cache
def row_type(columns: tuple[str, ...]) -> type[tuple[Value, ...]]:
    """The type of a row with these columns: a tuple, as SQLAlchemy's ``Row`` is, whose columns are also read by
    name (``row.status``, ``row._mapping["status"]``); equal to the plain tuple of its values."""
    base = namedtuple("Row", columns, rename=True)  # type: ignore[misc]  # a name that is no identifier: _k

    class Row(base):
        __slots__ = ()

        @property
        def _mapping(self) -> dict[str, Value]:
            return dict(zip(columns, self, strict=True))

        def __reduce__(self) -> tuple[Any, ...]:  # pickled as its plain tuple: the class is made here
            return (tuple, (tuple(self),))

    return Row


@dataclass(frozen=True, slots=True)
class Result:
    """The rows a statement returned (SELECT or RETURNING) and the rows it matched (UPDATE/DELETE/INSERT).

    ``ordered`` is false when the statement had no total ORDER BY: the engines may return these rows in
    any order (the model gives them in primary-key order), so a program must not depend on it.
    """

    columns: tuple[str, ...] = ()
    rows: tuple[tuple[Value, ...], ...] = ()
    rowcount: int = -1
    ordered: bool = True

    def _row(self, values: tuple[Value, ...]) -> tuple[Value, ...]:
        return row_type(self.columns)._make(values) if self.columns else values  # type: ignore[attr-defined]

    def __iter__(self) -> Iterator[tuple[Value, ...]]:
        return iter(self.all())

    def all(self) -> list[tuple[Value, ...]]:
        return [self._row(r) for r in self.rows]

    def first(self) -> tuple[Value, ...] | None:
        return self._row(self.rows[0]) if self.rows else None

    def one(self) -> tuple[Value, ...]:
        if len(self.rows) != 1:
            raise LookupError(f"expected one row, got {len(self.rows)}")
        return self._row(self.rows[0])

    def one_or_none(self) -> tuple[Value, ...] | None:
        return None if not self.rows else self.one()

    def scalar(self) -> Value:
        return self.rows[0][0] if self.rows else None

    def scalar_one(self) -> Value:
        return self.one()[0]

    def scalar_one_or_none(self) -> Value:
        row = self.one_or_none()
        return None if row is None else row[0]

    def scalars(self) -> list[Value]:
        return [r[0] for r in self.rows]

    def mappings(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, r, strict=True)) for r in self.rows]


@dataclass(frozen=True, slots=True)
class Done:
    """The step ran; ``result`` is what the engine returned."""

    result: Result


@dataclass(frozen=True, slots=True)
class Blocked:
    """The step waits for a lock the sessions ``on`` hold; the caller retries it after another session moves."""

    on: frozenset[int]


@dataclass(frozen=True, slots=True)
class Failed:
    """The engine raised ``error`` (one of ``spec.errors``' names); the session must roll back."""

    error: str
    message: str


Outcome = Done | Blocked | Failed
