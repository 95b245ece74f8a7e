"""``--db URL``, resolved where the user typed it: every command that takes ``--db`` uses this.

The URL is resolved by ``dbdriver.resolve_url`` while the options are parsed, so
a relative SQLite path names a file in the caller's folder for every process
the command starts, and an in-memory SQLite database is refused with one line.
``check_redis_url`` does the same for ``--queue redis://...`` (``wavesim live``, with or without a spec).
"""

from __future__ import annotations

import click

__all__ = ["check_redis_url", "resolved_db_url"]


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


def check_redis_url(url: str) -> None:
    """``--queue URL``: a Redis that answers a PING, else one line (exit 2)."""
    import redis

    from userio.errors import BadInput

    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise BadInput(f"--queue {url!r} must be a redis:// URL")
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        client.ping()
        client.close()
    except (redis.RedisError, ValueError) as err:
        raise BadInput(f"--queue {url}: cannot reach Redis: {' '.join(str(err).split())}") from None
