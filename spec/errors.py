"""What the in-memory SQL refuses, and the errors the engines raise that it models."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEADLOCK", "DUPLICATE_KEY", "LOCK_NOT_AVAILABLE", "NOT_NULL", "SourceLocation", "Unsupported"]

#: the engine errors the model raises, by name (each is an ``Failed.error``)
DUPLICATE_KEY = "duplicate key"
NOT_NULL = "not null violation"
DEADLOCK = "deadlock"
LOCK_NOT_AVAILABLE = "lock not available"


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """Where a statement came from (a spec file and line), for the refusal message."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class Unsupported(ValueError):
    """A statement (or a step of a session) outside the modelled subset: never approximated, always refused."""

    def __init__(self, construct: str, where: SourceLocation | None = None) -> None:
        self.construct = construct
        self.where = where
        super().__init__(f"{where}: {construct}" if where else construct)

    def at(self, where: SourceLocation | None) -> Unsupported:
        """The same refusal, placed at ``where`` when it has no place yet."""
        return self if self.where is not None or where is None else Unsupported(self.construct, where)
