"""What each engine can run and how it orders and compares values: the per-dialect facts the model reads.

RETURNING: PostgreSQL has it on INSERT, UPDATE and DELETE; SQLite since 3.35 on all three; MariaDB since 10.5
on INSERT and DELETE but not UPDATE. NULL ordering: PostgreSQL sorts NULL above every value (last for ASC,
first for DESC); MariaDB and SQLite sort it below (first for ASC, last for DESC). Strings: MariaDB's default
collation ignores case and trailing spaces; PostgreSQL and SQLite compare bytes (under the C or ICU
deterministic collations the model assumes), so only equality is modelled, and on MariaDB only for ASCII.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from spec.errors import Unsupported

__all__ = ["DIALECTS", "READ_COMMITTED", "REPEATABLE_READ", "SERIAL", "Dialect", "dialect"]

READ_COMMITTED = "READ COMMITTED"
REPEATABLE_READ = "REPEATABLE READ"
#: SQLite: every transaction begins ``BEGIN IMMEDIATE`` and so holds the one write lock until it ends
SERIAL = "SERIAL WRITER"


@dataclass(frozen=True, slots=True)
class Dialect:
    """One engine's facts: its name as SQLAlchemy spells it, RETURNING, NULL order, levels, integer width."""

    name: str
    returning: frozenset[str]
    nulls_sort_high: bool
    levels: tuple[str, ...]  # the first is the engine's default
    row_locks: bool
    case_insensitive_strings: bool
    int_bits: int
    skip_locked: bool
    #: levels the executor models but the conformance test does not yet confirm against the engine:
    #: refused unless asked for by name (``dialect(name, unconfirmed=True)``), never offered silently
    unconfirmed: tuple[str, ...] = ()

    @property
    def default_level(self) -> str:
        return self.levels[0]

    def check_level(self, level: str) -> str:
        if level in self.unconfirmed:
            raise Unsupported(f"isolation level {level!r} on {self.name}: its model disagrees with the engine on "
                              "some interleavings (docs/spec-sql.md), so it is not offered yet")
        if level not in self.levels:
            raise Unsupported(f"isolation level {level!r} on {self.name} (modelled: {', '.join(self.levels)})")
        return level


DIALECTS = {
    "postgresql": Dialect("postgresql", frozenset({"insert", "update", "delete"}), True, (READ_COMMITTED,),
                          True, False, 32, True),
    "mysql": Dialect("mysql", frozenset({"insert", "delete"}), False, (REPEATABLE_READ,),
                     True, True, 32, True, unconfirmed=(READ_COMMITTED,)),
    "sqlite": Dialect("sqlite", frozenset({"insert", "update", "delete"}), False, (SERIAL,), False, False, 64,
                      False),
}


def dialect(name: str, *, unconfirmed: bool = False) -> Dialect:
    """The dialect named as SQLAlchemy names it (``postgresql``, ``mysql`` for MariaDB, ``sqlite``);
    ``unconfirmed`` also offers the levels the conformance test does not yet confirm (for their own tests)."""
    if name not in DIALECTS:
        raise Unsupported(f"dialect {name!r} (modelled: {', '.join(DIALECTS)})")
    found = DIALECTS[name]
    return replace(found, levels=found.levels + found.unconfirmed, unconfirmed=()) if unconfirmed else found
