"""Real faults, seeded and logged.

Each process of a run draws its fault decisions from its own generator,
``random.Random(f"{seed}:{role}:{slot}:{incarnation}")``, and appends every fault
it injects, *before* injecting it, as one JSON line to the run's fault log (one
``write`` on an ``O_APPEND`` file: lines from several processes never mix). The
log is copied into the ``faults`` table at the end. A live run is not
deterministic (the OS schedules it), but its fault decisions are: the same seed
makes the same choices at the same crash points, and the log says which fired.

The faults, each real:

* **kill -9** (``kill_rate``): at each crash point a worker may ``SIGKILL`` itself.
  The points: before each DB step of a handler run (so between a claim and its
  push, and between a push's DB part and the push), before each push, inside the
  queue's open pop transaction, in the middle of a batch, and after a batch was
  recorded but before its job was deleted (so it is delivered again).
* **dropped connection** (``drop_rate``): before a step, the handler's connection
  is closed by the server: PostgreSQL ``pg_terminate_backend(pg_backend_pid())``,
  MariaDB ``KILL CONNECTION CONNECTION_ID()``; SQLite has no server, so the
  driver's file handle is closed under it. The step then fails, the handler run
  ends, and the job goes back on the queue (``release``), as Laravel does.
* **slow statement** (``lock_rate``), **lost delayed jobs** (``lose_delayed_rate``)
  and **duplicated deliveries** (``duplicate_rate``) are the chaos process's
  (``live/chaos.py``).

The log also keeps what is not a fault: a job that failed on a database error, a slow push, and every job a
worker took (``TAKE``, with its kind and delivery; a reconciler tick counts as one), so a run can say what
its workers did.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from typing import Any

__all__ = ["TAKE", "FaultLog", "FaultPlan", "drop_connection", "read_fault_log"]

#: the log's kind for a job a worker took (not a fault)
TAKE = "take"


class FaultLog:
    """Append-only JSON lines, one per fault, shared by every process of a run."""

    def __init__(self, path: str, run: str, t0: float, scale: float) -> None:
        self.path, self.run, self.t0, self.scale = path, run, t0, scale
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, kind: str, **detail: Any) -> None:
        at = (time.time() - self.t0) / self.scale
        line = json.dumps({"run": self.run, "at_s": round(at, 6), "kind": kind, "pid": os.getpid(), **detail})
        os.write(self._fd, (line + "\n").encode())

    def close(self) -> None:
        os.close(self._fd)


def read_fault_log(path: str) -> list[dict[str, Any]]:
    """Every complete line of a fault log (a line cut short by a kill is skipped)."""
    out: list[dict[str, Any]] = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
    except FileNotFoundError:
        return []
    return out


class FaultPlan:
    """One process's seeded fault decisions."""

    def __init__(self, *, seed: int, role: str, slot: int, incarnation: int, kill_rate: float, drop_rate: float,
                 log: FaultLog | None, kill_at: str = "", kill_at_times: int = 0) -> None:
        self.rng = random.Random(f"{seed}:{role}:{slot}:{incarnation}")
        self.kill_rate, self.drop_rate, self.log = kill_rate, drop_rate, log
        self.role, self.slot = role, slot
        self.kill_at, self.kill_at_times = kill_at, kill_at_times

    def point(self, name: str, **where: Any) -> None:
        """A crash point: maybe ``kill -9`` this process here (after logging it)."""
        if self.kill_rate > 0 and self.rng.random() < self.kill_rate:
            self._die(name, where)
        if self.kill_at and name.startswith(self.kill_at) and self._take_named_kill():
            self._die(name, where)

    def _take_named_kill(self) -> bool:
        """One of the ``kill_at_times`` tokens, shared by every process through O_EXCL files."""
        if self.log is None:
            return False
        for i in range(self.kill_at_times):
            try:
                os.close(os.open(f"{self.log.path}.kill.{i}", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                return True
            except FileExistsError:
                continue
        return False

    def _die(self, name: str, where: dict[str, Any]) -> None:
        if self.log is not None:
            self.log.write("kill", point=name, role=self.role, slot=self.slot, **where)
        os.kill(os.getpid(), signal.SIGKILL)

    def should_drop(self, name: str, **where: Any) -> bool:
        if self.drop_rate > 0 and self.rng.random() < self.drop_rate:
            if self.log is not None:
                self.log.write("drop", point=name, role=self.role, slot=self.slot, **where)
            return True
        return False


def _connection_of(session: Any) -> Any:
    """The SQLAlchemy Connection under a driver session (duck-typed: ``conn`` or ``connection``)."""
    for name in ("conn", "connection", "_conn", "_connection"):
        conn = getattr(session, name, None)
        if conn is not None and hasattr(conn, "exec_driver_sql"):
            return conn
    return None


def drop_connection(session: Any) -> bool:
    """Have the server close this session's connection (see the module docstring); False if
    the session exposes no connection to drop."""
    conn = _connection_of(session)
    if conn is None:
        return False
    name = conn.dialect.name
    try:
        if name == "postgresql":
            conn.exec_driver_sql("SELECT pg_terminate_backend(pg_backend_pid())")
        elif name in ("mysql", "mariadb"):
            conn.exec_driver_sql("KILL CONNECTION CONNECTION_ID()")
        else:
            conn.connection.dbapi_connection.close()
    except Exception:  # noqa: BLE001 - the statement itself dies with the connection: that is the point
        pass
    return True
