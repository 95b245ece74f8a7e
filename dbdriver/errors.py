"""One-line errors for everything a database can refuse, and which of them a transaction retries."""

from __future__ import annotations

from typing import Any

__all__ = ["DatabaseError", "is_retryable", "one_line"]


class DatabaseError(Exception):
    """The database cannot be used as asked; the message is one line naming why."""


#: SQLSTATEs / MySQL error numbers a transaction is retried on: serialization failure, deadlock, lock wait
_PG_RETRY = {"40001", "40P01"}
_MYSQL_RETRY = {1213, 1205}


def _orig(err: BaseException) -> Any:
    return getattr(err, "orig", None) or err


def is_retryable(err: BaseException) -> bool:
    """A serialization failure or deadlock (or SQLite's busy database): run the transaction again."""
    orig = _orig(err)
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if state in _PG_RETRY:
        return True
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int) and args[0] in _MYSQL_RETRY:
        return True
    return "database is locked" in str(orig)


def one_line(err: BaseException, url: str) -> str:
    """What went wrong, in one line, without a password."""
    orig = _orig(err)
    text = " ".join(str(orig).split())
    # drop the driver's "(Background on this error ...)" tail and anything after the first sentence's noise
    text = text.split("(Background on this error")[0].strip()
    if len(text) > 300:
        text = text[:297] + "..."
    return f"database {url}: {text}"
