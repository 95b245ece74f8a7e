"""The wave table's database: ``dbdriver`` when it is installed, else the stand-in.

``open_database`` returns an object with ``dbdriver``'s API (``create_import``,
``session()``/``apply``, ``table``, ``clean``). ``DB_ERRORS`` are the exceptions
a step can raise when the database or the connection fails, which a worker
treats as a failed job (released and retried), never as a crash of the harness.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy.exc

from live.fallbackdb import FallbackDatabase

__all__ = ["DB_ERRORS", "DatabaseError", "driver_name", "open_database"]

try:  # the real driver (issue 12); the stand-in keeps the harness usable without it
    import dbdriver as _dbdriver
except ImportError:  # pragma: no cover - depends on the installed tree
    _dbdriver = None


class DatabaseError(Exception):
    """The database cannot be used: one line, for ``error: ...``."""


_driver_error: tuple[type[BaseException], ...] = (
    (_dbdriver.DatabaseError,) if _dbdriver is not None and hasattr(_dbdriver, "DatabaseError") else ()
)

DB_ERRORS: tuple[type[BaseException], ...] = (sqlalchemy.exc.DBAPIError, sqlalchemy.exc.InvalidRequestError,
                                              sqlalchemy.exc.ResourceClosedError, *_driver_error)


def driver_name() -> str:
    return "dbdriver" if _dbdriver is not None else "live.fallbackdb"


def open_database(url: str, prefix: str = "wavesim_") -> Any:
    """The wave table's database at ``url``; every failure is a one-line ``DatabaseError``."""
    try:
        if _dbdriver is not None:
            return _dbdriver.open_database(url, prefix=prefix)
        return FallbackDatabase(url, prefix=prefix)
    except _driver_error as err:
        raise DatabaseError(str(err)) from None
    except sqlalchemy.exc.ArgumentError as err:
        raise DatabaseError(f"bad database URL {url!r}: {err}") from None
    except sqlalchemy.exc.DBAPIError as err:
        raise DatabaseError(f"cannot use {url}: {' '.join(str(err.orig).split())}") from None
    except ModuleNotFoundError as err:
        raise DatabaseError(f"cannot use {url}: the driver module {err.name!r} is not installed") from None
