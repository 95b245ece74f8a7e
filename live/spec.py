"""``RunSpec``: what every process of one live run is told, as one JSON file.

The supervisor writes it before it spawns anything; each process reads it at
start (``python -m live.proc ROLE SPEC SLOT INCARNATION``).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from live.db import open_database
from live.faults import FaultLog
from live.jobqueue import DatabaseQueue
from live.settings import LiveSettings
from live.tables import BASE, LiveTables, Prefixes

__all__ = ["RunSpec"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSpec:
    """One live run's identity, places and settings."""

    run: str  # unique name of the run (also its queue name)
    job_id: int
    db_url: str
    queue_url: str | None  # None: the database queue in db_url
    t0: float  # wall time of the start (time.time()); scenario time is (now - t0) / scale
    fault_log: str
    settings: dict[str, Any]
    isolation: str | None = None  # None: the driver's (see live.db.ISOLATION_LEVELS)
    base: str = BASE  # every table's and Redis key's name starts with it (live.tables.Prefixes, --prefix)

    @property
    def live(self) -> LiveSettings:
        return LiveSettings.from_dict(self.settings)

    def wait_for_start(self, deadline_s: float = 60.0) -> RunSpec:
        """Block until the supervisor has written the start time (``go`` file); this spec with it.

        Processes start before the clock does, so that interpreter start-up is
        not counted as scenario time; a respawned process finds it already there.
        """
        end = time.monotonic() + deadline_s
        go = Path(self.fault_log).with_suffix(".go")
        while time.monotonic() < end:
            try:
                text = go.read_text(encoding="utf-8").strip()
            except FileNotFoundError:
                text = ""
            if text:
                return replace(self, t0=float(text))
            time.sleep(0.005)
        raise SystemExit(f"no start signal after {deadline_s} s")

    def ready(self, role: str, slot: int, incarnation: int) -> None:
        """Say this process has started (its imports done)."""
        Path(f"{self.fault_log}.ready.{role}.{slot}.{incarnation}").touch()

    @staticmethod
    def orphaned(parent: int) -> bool:
        """True once the supervisor that started this process is gone (its parent changed):
        the process then ends by itself, so none outlives a supervisor that was killed."""
        return os.getppid() != parent

    def now(self) -> float:
        """Scenario seconds since the start."""
        return (time.time() - self.t0) / float(self.settings["scale"])

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RunSpec:
        return cls(**json.loads(text))

    def open_queue(self) -> Any:
        retry_after = self.live.wall(self.live.retry_after_s)
        names = Prefixes(self.base)
        if self.queue_url is None:
            return DatabaseQueue(self.db_url, self.run, retry_after=retry_after, tables=LiveTables(names.live))
        from live.redisqueue import RedisQueue

        return RedisQueue(self.queue_url, self.run, retry_after=retry_after, key_prefix=names.redis)

    def open_database(self) -> Any:
        return open_database(self.db_url, self.base)

    def open_fault_log(self) -> FaultLog:
        return FaultLog(self.fault_log, self.run, self.t0, float(self.settings["scale"]))
