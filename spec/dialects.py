"""What each engine can run and how it orders and compares values: the per-dialect facts the model reads.

RETURNING: PostgreSQL has it on INSERT, UPDATE and DELETE; SQLite since 3.35 on all three; MariaDB since 10.5
on INSERT and DELETE but not UPDATE. NULL ordering: PostgreSQL sorts NULL above every value (last for ASC,
first for DESC); MariaDB and SQLite sort it below (first for ASC, last for DESC). Strings: MariaDB's default
collation ignores case and trailing spaces; PostgreSQL and SQLite compare bytes (under the C or ICU
deterministic collations the model assumes), so only equality is modelled, and on MariaDB only for ASCII.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    #: MariaDB 10.6+: the deadlock search follows one blocking transaction per waiter (the owner of the first
    #: conflicting lock in the row's queue), so a wait for two sessions may close a cycle the engine does not see
    #: yet; PostgreSQL searches every edge, and SQLite's one writer is the only blocker there is
    one_blocker_per_waiter: bool = False
    #: the clock a statement is planned at, in microseconds: the simulated time a lease is taken or read at
    #: (``spec/lease.py``); None in the checker, which keeps no clock
    now: int | None = None
    #: MariaDB: whether the optimizer may scan the whole table instead of a WHERE's range of the key
    #: (``spec.keyrange``). Off: it reads the range, as MariaDB 10.11 did for every such WHERE we probed (tables
    #: of 1 to 6 rows). On (more permissive): both are offered, for tables large enough that statistics may
    #: make a full scan look cheaper
    full_scan_for_ranges: bool = False

    @property
    def default_level(self) -> str:
        return self.levels[0]

    def check_level(self, level: str) -> str:
        if level not in self.levels:
            raise Unsupported(f"isolation level {level!r} on {self.name} (modelled: {', '.join(self.levels)})")
        return level


DIALECTS = {
    "postgresql": Dialect("postgresql", frozenset({"insert", "update", "delete"}), True, (READ_COMMITTED,),
                          True, False, 32, True),
    "mysql": Dialect("mysql", frozenset({"insert", "delete"}), False, (REPEATABLE_READ, READ_COMMITTED),
                     True, True, 32, True, one_blocker_per_waiter=True),
    "sqlite": Dialect("sqlite", frozenset({"insert", "update", "delete"}), False, (SERIAL,), False, False, 64,
                      False),
}


def dialect(name: str) -> Dialect:
    """The dialect named as SQLAlchemy names it (``postgresql``, ``mysql`` for MariaDB, ``sqlite``)."""
    if name not in DIALECTS:
        raise Unsupported(f"dialect {name!r} (modelled: {', '.join(DIALECTS)})")
    return DIALECTS[name]
