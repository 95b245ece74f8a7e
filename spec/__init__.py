"""The model's SQL: SQLAlchemy Core statements run on an in-memory, immutable database, as the engines run them.

Pure: it inspects statement objects and never connects, reads a clock, draws random numbers or logs
(``tests/test_import_boundaries.py`` keeps it so). ``docs/spec-sql.md`` lists what it models and what it
refuses.
"""

from spec.dialects import DIALECTS, READ_COMMITTED, REPEATABLE_READ, SERIAL, Dialect, dialect
from spec.errors import DEADLOCK, DUPLICATE_KEY, LOCK_NOT_AVAILABLE, NOT_NULL, SourceLocation, Unsupported
from spec.executor import Engine, Step
from spec.results import Blocked, Done, Failed, Outcome, Result
from spec.schema import Schema
from spec.state import DbState, Session, initial

__all__ = [
    "DEADLOCK", "DIALECTS", "DUPLICATE_KEY", "LOCK_NOT_AVAILABLE", "NOT_NULL", "READ_COMMITTED", "REPEATABLE_READ",
    "SERIAL", "Blocked", "DbState", "Dialect", "Done", "Engine", "Failed", "Outcome", "Result", "Schema", "Session",
    "SourceLocation", "Step", "Unsupported", "dialect", "initial",
]
