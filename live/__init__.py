"""Live runs: the coordinator, or a user's spec, under real concurrency and real crashes on a real database.

Real worker processes take jobs from a real queue (a table in the same
database with Laravel's database-queue semantics, or Redis with Laravel's
Redis-queue semantics) and run the core's handler programs through the
database driver, one connection per handler run. Faults are real and seeded:
``kill -9``, dropped connections, long row locks, lost delayed jobs and
duplicated deliveries. A user's spec runs the same way (``live/specrun.py``):
its tables under wavesim's prefix, its job programs step by step on the
workers' connections, its properties judged on the real rows. This package
imports only ``spec``, ``coordinator`` and the database driver; the metrics,
plots and CLI are the command line's.
"""

from live.db import ISOLATION_LEVELS, DatabaseError, open_database
from live.run import LiveRun, Sample, first_error, run_live
from live.settings import FAULT_MIX, FAULT_RATES, LiveSettings
from live.tables import LiveTables, TableClash

__all__ = ["FAULT_MIX", "FAULT_RATES", "ISOLATION_LEVELS", "DatabaseError", "LiveRun", "LiveSettings",
           "LiveTables", "Sample", "TableClash", "first_error", "open_database", "run_live"]
