"""``SpecPlan``: what every process of one live run of a spec is told, as one JSON file.

A live run of a spec (``live/specrun.py``) reuses the write-up's live machinery: its ``RunSpec`` (the
run's name, database and queue URLs, start time, fault log and ``LiveSettings``), its queues
(``live/jobqueue.py``, ``live/redisqueue.py``), its supervisor and its fault plan. The plan adds what a
spec needs: the spec file (each process imports it), the scope and switches given on the command line,
the spec's table prefix and the base of the harness's names (``live.tables.Prefixes``: its queue table and
Redis keys), each queue's worker count, the run's event log, and two settings of a deployment the
simulation of a spec has too (``sim.specsettings``): the queue a job type runs on over the spec's
(``queue_of``: Laravel's ``onQueue`` is a deployment's choice) and the mean of a job type's own work
before its first step (``durations``, scenario seconds, exponential; a job type not named does none).

The event log is ghost state made real: every ``record(event, *key)`` a program yields, every job that
failed for good and every delivery a worker took, one JSON line each, appended (one ``write`` on an
``O_APPEND`` file, as the fault log) right after the step it comes with returned and before the next
one starts. A spec's ghost state is not database state: the model counts a record even when the
transaction around it rolls back, so it is not written in the job's transaction; a file never waits for
the job's own locks (on SQLite a second connection would). The run copies it into ``wavesim_live_events``
at the end, and the properties read it back from there.

Jobs on the queue are JSON: ``{"kind": "spec" | "spec-delayed", "job": type, "args": [...], "try": n}``;
``try`` is the spec's try count (a release after a raise adds one; a redelivery after a crash keeps it,
as the model counts tries).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from live.faults import FaultLog
from live.jobqueue import DatabaseQueue
from live.spec import RunSpec
from live.tables import BASE, LiveTables, Prefixes
from spec.lang import Spec

__all__ = ["DELAYED", "IMMEDIATE", "SpecPlan", "job_payload", "load_spec_file"]

IMMEDIATE, DELAYED = "spec", "spec-delayed"


def job_payload(job: str, args: tuple[Any, ...], tries: int = 1, delayed: bool = False) -> dict[str, Any]:
    """A spec job as the queue holds it."""
    return {"kind": DELAYED if delayed else IMMEDIATE, "job": job, "args": list(args), "try": tries}


def load_spec_file(path: str) -> Spec:
    """The ``Spec`` of the file at ``path``, imported as ``specfile.load`` imports it (the command line
    has already refused a file that does not load, so a failure here is a plain exception)."""
    file = Path(path)
    name = f"wavesim_live_spec_{abs(hash(str(file)))}"
    loader = importlib.util.spec_from_file_location(name, file)
    assert loader is not None and loader.loader is not None, path
    module = importlib.util.module_from_spec(loader)
    sys.path.insert(0, str(file.parent))  # a spec may import modules beside it
    sys.modules[name] = module
    loader.loader.exec_module(module)
    found = getattr(module, "spec", None)
    if not isinstance(found, Spec):
        found = next(v for v in vars(module).values() if isinstance(v, Spec))
    found.source = str(file)
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class SpecPlan:
    """One live run of a spec: the write-up's ``RunSpec`` and what a spec adds to it."""

    run: RunSpec
    spec_file: str
    given: dict[str, str]  # --scope and --switch, as text
    prefix: str
    workers: dict[str, int]  # queue -> worker processes, in slot order
    events_log: str
    deliver_delayed_s: float  # scenario seconds a delayed push waits (spec.lang keeps no delay)
    queue_of: dict[str, str] = field(default_factory=dict)  # job type -> the queue it runs on, over the spec's
    durations: dict[str, float] = field(default_factory=dict)  # job type -> mean of its own work, scenario s
    base: str = BASE  # the harness's names: the queue table, the Redis keys (live.tables.Prefixes)

    def queue_for(self, spec: Spec, job: str) -> str:
        """The queue job type ``job`` runs on in this run: ``queue_of``'s, else the spec's."""
        return self.queue_of.get(job, spec.jobs[job].queue)

    def queue_of_slot(self, slot: int) -> str:
        """The queue worker ``slot`` takes jobs from (slots are numbered across the queues, in order)."""
        start = 0
        for name, n in self.workers.items():
            if slot < start + n:
                return name
            start += n
        raise ValueError(f"no queue has worker slot {slot}")

    def queue_name(self, queue: str) -> str:
        return f"{self.run.run}.{queue}"

    def open_queue(self, queue: str) -> Any:
        """The real queue of the spec's queue ``queue``: the database queue, or Redis with ``--queue``."""
        retry_after = self.run.live.wall(self.run.live.retry_after_s)
        names = Prefixes(self.base)
        if self.run.queue_url is None:
            return DatabaseQueue(self.run.db_url, self.queue_name(queue), retry_after=retry_after,
                                 tables=LiveTables(names.live))
        from live.redisqueue import RedisQueue

        return RedisQueue(self.run.queue_url, self.queue_name(queue), retry_after=retry_after, key_prefix=names.redis)

    def open_events(self) -> FaultLog:
        """The run's event log (the fault log's format: one JSON line per event, with the run and time)."""
        return FaultLog(self.events_log, self.run.run, self.run.t0, float(self.run.settings["scale"]))

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> SpecPlan:
        data = json.loads(text)
        return cls(**{**data, "run": RunSpec(**data["run"])})
