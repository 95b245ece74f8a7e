"""``--db URL``, resolved where the user typed it: every command that takes ``--db`` uses this.

The URL is resolved by ``dbdriver.resolve_url`` while the options are parsed, so
a relative SQLite path names a file in the caller's folder for every process
the command starts, and an in-memory SQLite database is refused with one line.
"""

from __future__ import annotations

import click

__all__ = ["resolved_db_url"]


def resolved_db_url(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """A click callback: the ``--db`` value as ``dbdriver.resolve_url`` gives it."""
    if value is None:
        return None
    from dbdriver import DatabaseError, resolve_url
    from userio.errors import BadInput

    try:
        return resolve_url(value)
    except DatabaseError as err:
        raise BadInput(str(err)) from None
