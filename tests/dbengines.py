"""The database engines the driver tests run on, chosen by environment variable.

SQLite always (a file under the test's temporary folder). PostgreSQL and
MariaDB/MySQL when ``WAVESIM_POSTGRES_URL`` / ``WAVESIM_MYSQL_URL`` name a
server: unset, their tests skip with a reason naming the variable, unless
``WAVESIM_REQUIRE_SERVERS=1`` (CI) makes a missing URL a failure. A URL that is
set and cannot connect always fails. Every test owns a prefix named for its
worker, its process and a random token, and drops its tables at the end.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

import dbdriver

ENGINES = {"sqlite": None, "postgresql": "WAVESIM_POSTGRES_URL", "mysql": "WAVESIM_MYSQL_URL"}
REQUIRE = "WAVESIM_REQUIRE_SERVERS"


def url_for(engine: str, tmp: Path) -> str:
    variable = ENGINES[engine]
    if variable is None:
        return f"sqlite:///{tmp / 'wavesim.db'}"
    url = os.environ.get(variable, "")
    if not url:
        message = f"{engine}: set {variable} to a server URL to run this test"
        if os.environ.get(REQUIRE) == "1":
            pytest.fail(f"{message} ({REQUIRE}=1 makes a missing server a failure)")
        pytest.skip(message)
    return url


def worker_tag() -> str:
    """This test process's part of a name on a shared server: the xdist worker's number ("m" without xdist)
    and the process id, so parallel workers and test runs started at once never pick the same name."""
    return f"{os.environ.get('PYTEST_XDIST_WORKER', 'm').removeprefix('gw')}p{os.getpid()}"


def unique_prefix() -> str:
    """At most 27 characters (pid_max is 7 digits): PostgreSQL names hold 63, and the longest table name
    of the examples takes 34 of them."""
    return f"wavesim_{worker_tag()}_{secrets.token_hex(3)}_"


def opened(engine: str, tmp: Path) -> Iterator[dbdriver.Database]:
    db = dbdriver.open_database(url_for(engine, tmp), prefix=unique_prefix())
    try:
        yield db
    finally:
        db.clean()
        db.dispose()
