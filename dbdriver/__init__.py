"""wavesim's database driver: the core's handler programs on a real database.

Beside ``sim/`` and ``model/``, importing only ``coordinator/``. It runs each DB
operation a handler yields with the SQL of ``coordinator.sql`` through
SQLAlchemy Core, on the engine a URL names::

    db = dbdriver.open_database("sqlite:///run.db")    # or postgresql+psycopg://..., mysql+pymysql://...
    db.create_import(job_id=1, waves=3, wave_size=4)
    with db.session() as s:                             # one connection = one handler run
        result = s.apply(effect, now)                   # as coordinator.apply(table, effect, now)[1]
    db.table(1)                                         # the real rows, as a coordinator.WaveTable
    db.clean()                                          # drops only wavesim's own tables
    dbdriver.resolve_url("sqlite:///run.db")            # the same file from any process's folder

A spec's own tables (``spec/``) run on a real engine through ``SpecDatabase`` (``dbdriver.specdb``): its
statements re-targeted to prefixed tables, its sessions each on a thread, their waits and errors seen as
the model names them (``dbdriver.specsessions``). Imported on first use: it loads the spec package.

An effect that asks for a queue push (``EnqueueBatches``, ``ScheduleTrigger``)
only records what the database side of it records; the caller pushes.
Errors (a bad URL, no server, wrong credentials, a missing driver, missing
rights, a table wavesim does not own) are ``DatabaseError`` with one line.
"""

from typing import Any

from dbdriver.database import Database, Session, open_database
from dbdriver.errors import DatabaseError
from dbdriver.url import resolve_url

__all__ = ["Database", "DatabaseError", "Seen", "Session", "Sessions", "SpecDatabase", "open_database",
           "resolve_url"]

_LATER = {"SpecDatabase": "dbdriver.specdb", "Sessions": "dbdriver.specsessions", "Seen": "dbdriver.specsessions"}


def __getattr__(name: str) -> Any:
    if name in _LATER:
        import importlib

        return getattr(importlib.import_module(_LATER[name]), name)
    raise AttributeError(f"module 'dbdriver' has no attribute {name!r}")
