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

An effect that asks for a queue push (``EnqueueBatches``, ``ScheduleTrigger``)
only records what the database side of it records; the caller pushes.
Errors (a bad URL, no server, wrong credentials, a missing driver, missing
rights, a table wavesim does not own) are ``DatabaseError`` with one line.
"""

from dbdriver.database import Database, Session, open_database
from dbdriver.errors import DatabaseError
from dbdriver.url import resolve_url

__all__ = ["Database", "DatabaseError", "Session", "open_database", "resolve_url"]
