"""How a statement stops partway: the signals a scan or an INSERT raises when it meets a row it cannot take.

A statement's rows are read, locked and written one at a time (``spec.reads``, ``spec.writes``, the scans of
``spec.postgres_scan`` and ``spec.mariadb_scan``); when one of them stops it, the signal carries what the
statement had taken so far up to where its outcomes are made (``spec.outcomes``). They stand apart because
both sides raise or catch them and neither should import the other for that.
"""

from __future__ import annotations

__all__ = ["Either", "EngineError", "Marked", "Wait"]


class Wait(Exception):
    """Raised inside a statement when it meets a row another session holds."""

    def __init__(self, on: frozenset[int], locks: frozenset[tuple[int, int]] = frozenset(),
                 gaps: frozenset[tuple[int, int | None, int | None]] = frozenset(),
                 resume: tuple[int, int] | None = None, claim: tuple[int, int] | None = None,
                 shared: frozenset[tuple[int, int]] = frozenset(),
                 maybe: frozenset[tuple[int, int]] = frozenset()) -> None:
        self.on = on
        #: the locks the statement took before the row it waits for, kept while it waits; MariaDB: where its
        #: scan resumes; an INSERT's duplicate check: the row whose shared lock it waits for (``claim``), or
        #: the shared lock it took on a row marked deleted before it waits to insert over it (``shared``)
        self.locks, self.gaps, self.resume, self.claim, self.shared = locks, gaps, resume, claim, shared
        #: PostgreSQL in heap order: rows it may have locked before the one it waits for (each subset is kept);
        #: of the rows it keeps, those that failed the re-check of their newest version: locked, not written
        self.maybe, self.unwritten = maybe, frozenset[tuple[int, int]]()


class Either(Exception):
    """PostgreSQL: the rows of an UPDATE, DELETE or unordered FOR UPDATE that would each stop it (a wait or an
    error), met in heap order, which the model does not know: each of them may be the first."""

    def __init__(self, events: list[Wait | EngineError]) -> None:
        self.events = events


class Marked(Exception):
    """MariaDB: a marked record that another session holds stops the statement (``event``), unless purge has
    removed it, which the model does not time: it offers both."""

    def __init__(self, mark: tuple[int, int], event: Wait | EngineError) -> None:
        self.mark, self.event = mark, event


class EngineError(Exception):
    """Raised inside a statement when the engine refuses it (a duplicate key, a NULL, a lock not available)."""

    def __init__(self, error: str, message: str, locks: frozenset[tuple[int, int]] = frozenset(),
                 shared: frozenset[tuple[int, int]] = frozenset()) -> None:
        self.error, self.message = error, message
        self.locks = locks  # the row locks the statement took before it failed (MariaDB keeps them)
        self.shared = shared  # MariaDB: a duplicate key's shared lock on the existing row
