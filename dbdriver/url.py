"""``resolve_url``: a database URL that means the same file in every process.

A relative SQLite path (``sqlite:///live.db``) is relative to the current
folder of whichever process opens it. A live run's worker processes, or any
later process handed the URL, may run somewhere else, and would then create
and use another, empty database. So every command that takes ``--db`` resolves
the URL here once, in the caller's folder, before any process starts, and hands
on only the result. Server URLs pass through unchanged (password included).

An in-memory SQLite database (``sqlite://``, ``sqlite:///:memory:``,
``mode=memory``) is one per connection: no second connection, let alone a
worker process, ever sees what the first wrote. It is refused with one line.
A SQLite URI filename (``?uri=true``, ``file:...``) is the user's own spelling of
a file and is passed through as given.
"""

from __future__ import annotations

import os
from pathlib import Path

from dbdriver.errors import DatabaseError

__all__ = ["resolve_url"]

_EXAMPLES = "e.g. sqlite:///wavesim.db, postgresql+psycopg://user@host/db, mysql+pymysql://user@host/db"


def resolve_url(url: str, base: str | os.PathLike[str] | None = None) -> str:
    """``url`` with a relative SQLite file path made absolute against ``base`` (default: the
    current folder); a ``DatabaseError`` for an in-memory SQLite database or an unparsable URL."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        raise DatabaseError(f"not a database URL: {url!r} ({_EXAMPLES})") from None
    if parsed.get_backend_name() != "sqlite":
        return url
    path = parsed.database or ""
    uri = str(parsed.query.get("uri", "")).lower() in ("true", "1") or path.startswith("file:")
    if path in ("", ":memory:") or (uri and "mode=memory" in url):
        raise DatabaseError(f"{url} is an in-memory SQLite database, private to one connection: no other "
                            "connection or worker process would see it; give a file, e.g. sqlite:///wavesim.db")
    if uri or Path(path).is_absolute():
        return url
    folder = Path(base) if base is not None else Path.cwd()
    absolute = str(folder.absolute() / path)  # no normpath: '..' after a symlink is the OS's to resolve
    return parsed.set(database=absolute).render_as_string(hide_password=False)
