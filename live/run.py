"""``run_live(...)``: one live import, from empty tables to the measured rows.

The supervisor process (this one) creates the import and its queue, runs the
start handler (with no wave current it dispatches wave 1), spawns the workers,
the reconciler (policies that have one) and the chaos process (when a chaos
fault is on), and then watches: every ``sample_ms`` it reads the real wave
table and queue (these readings are the time series), restarts a killed
worker, and decides the outcome:

* ``completed``: every wave completed and then the queue drained (nothing
  ready, delayed or reserved): a killed worker's reserved job is delivered
  again after ``retry_after`` and runs, so what a late redelivery does to the
  counts is measured, not cut off (``drained`` is False when the deadline came
  first);
* ``stalled``: the queue is empty (nothing ready, delayed or reserved) and the
  table has not changed for ``stall_after_s`` plus the auto-trigger delay plus
  the reconciler period plus, for the fix, the relay's lease (scenario seconds:
  a dead claimer's wave is relayed only after it), and for at least ``stall_min_wall_s``
  wall seconds: no job, timer or tick moved it;
* ``no-progress``: a wave is not completed and jobs wait in the queue, yet no
  wave row has changed (no batch finished, no status moved) for the progress
  window: the stall window plus ``retry_after`` plus 20 mean batch durations
  plus, with slow statements on, their hold, and at least
  ``progress_min_wall_s`` wall seconds. Workers that cannot start, that crash,
  or that fail every job end here in seconds rather than at the deadline; the
  errors they printed are kept (``errors``, ``first_error``);
* ``deadline``: the global deadline (wall seconds) came first.

Then every process is reaped, the Redis dispatch log (if any) and the fault
log are copied into their tables, and the run's rows are read back.
"""

from __future__ import annotations

import json
import signal
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from coordinator import ReconcilerTicked, Status, WaveTable, program_for
from dbdriver import resolve_url
from live.db import DB_ERRORS
from live.faults import TAKE, FaultPlan, read_fault_log
from live.handlerrun import Runner
from live.settings import LiveSettings
from live.spec import RunSpec
from live.supervisor import Supervisor
from live.tables import BASE, LiveTables, Prefixes

__all__ = ["PROGRESS_BATCHES", "START_TRIES", "LiveRun", "Sample", "first_error", "progress_window", "run_live",
           "terminated", "wait_ready"]

#: how often the start handler is tried when its database step fails (SERIALIZABLE can refuse a statement)
START_TRIES = 5
#: mean batch durations in the progress window: one exponential batch outlasts it once in e^20
PROGRESS_BATCHES = 20


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading of the real table and queue, at scenario time ``at_s``."""

    at_s: float
    ready_batches: int
    queued: int
    table: WaveTable


@dataclass(slots=True, kw_only=True)
class LiveRun:
    """What one live run left in the real tables, and how it ended."""

    spec: RunSpec
    engine: str
    queue: str
    isolation: str | None
    outcome: str
    ended_s: float
    wall_s: float
    table: WaveTable
    dispatch_log: list[dict[str, Any]]
    samples: list[Sample]
    faults: list[dict[str, Any]]
    deaths: list[tuple[str, int, int, int]]
    processes: int
    drained: bool = True  # False: every wave completed, but the deadline came before the queue emptied
    errors: list[str] = field(default_factory=list)  # lines a child printed to stderr (not faults)
    stderr_log: str = ""  # the file those lines are in
    progress_window_s: float = 0.0  # wall seconds without a changed row, with jobs waiting, that end a run
    waiting_jobs: int = 0  # jobs in the queue at the last sample

    @property
    def crashes(self) -> list[tuple[str, int, int, int]]:
        """Processes that ended on their own with an error (exit code above 0): never a fault, which
        is a signal (``kill -9``), but an exception the process did not handle."""
        return [d for d in self.deaths if d[3] > 0]

    @property
    def settings(self) -> LiveSettings:
        return self.spec.live

    @property
    def deliveries(self) -> Counter[str]:
        """Per job kind (``batch``, ``listener``, ``trigger``, and ``reconciler`` for its ticks), how many times
        a worker took one (redeliveries included)."""
        return Counter(str(f["job"]) for f in self.faults if f["kind"] == TAKE)


def _signature(table: WaveTable) -> tuple[object, ...]:
    return tuple((r.status, r.finished_mask, r.completed_batches, r.failed_batches, r.dispatch_count)
                 for r in table.rows)


def run_live(settings: LiveSettings, *, db: Any, db_url: str, engine: str, queue_url: str | None,
             job_id: int, isolation: str | None = None, workdir: str | None = None, base: str = BASE) -> LiveRun:
    """Run one import live (see the module docstring); ``db`` is the opened wave database (under ``base``,
    the base of every name: ``live.tables.Prefixes``)."""
    tables = LiveTables(Prefixes(base).live)
    db_url = resolve_url(db_url)  # the caller's file: the processes below need not share its folder
    folder = Path(workdir or tempfile.mkdtemp(prefix="wavesim-live-"))
    run = f"r{job_id}-{uuid.uuid4().hex[:8]}"
    spec = RunSpec(run=run, job_id=job_id, db_url=db_url, queue_url=queue_url, t0=time.time(),
                   fault_log=str(folder / f"{run}.faults.jsonl"), settings=settings.to_dict(),
                   isolation=isolation, base=base)
    spec_path = folder / f"{run}.spec.json"
    spec_path.write_text(spec.to_json(), encoding="utf-8")
    stderr_path = folder / f"{run}.stderr.txt"
    db.create_import(job_id=job_id, waves=settings.waves, wave_size=settings.wave_size)
    queue = spec.open_queue()
    queue.clear()
    policy = settings.resolve()
    sup = Supervisor(str(spec_path), str(stderr_path))
    quiet = settings.stall_after_s + settings.auto_trigger_delay_s + (policy.reconciler_period_s or 0.0)
    if policy.atomic_advance:  # a dead claimer's wave is relayed only once its lease ran out
        quiet += policy.relay_lease_s
    window = progress_window(settings, quiet, settings.batch_mean_s)
    samples: list[Sample] = []
    queued = 0
    outcome = "deadline"
    all_completed = drained = False
    started = time.monotonic()
    main = threading.current_thread() is threading.main_thread()  # signal handlers live in the main thread
    previous_term = signal.signal(signal.SIGTERM, terminated) if main else None
    try:
        for slot in range(settings.workers):
            sup.spawn("worker", slot)
        if policy.reconciler_period_s is not None:
            sup.spawn("reconciler", 0)
        if settings.lock_rate > 0 or settings.lose_delayed_rate > 0 or settings.duplicate_rate > 0:
            sup.spawn("chaos", 0)
        wait_ready(spec, sup, started + settings.deadline_s)
        spec = replace(spec, t0=time.time())
        Path(spec.fault_log).with_suffix(".go").write_text(repr(spec.t0), encoding="utf-8")
        start = Runner(spec, db, queue, FaultPlan(seed=settings.seed, role="start", slot=0, incarnation=0,
                                                  kill_rate=0.0, drop_rate=0.0, log=None), "start")
        for attempt in range(START_TRIES):  # as a job would be retried, e.g. on a serialization failure
            try:
                start.run(program_for(ReconcilerTicked(job_id=job_id), policy, settings.config), "start")
                break
            except DB_ERRORS:
                if attempt + 1 == START_TRIES:
                    raise
                time.sleep(0.01)
        last_sig: tuple[object, ...] | None = None
        changed_at, quiet_since = 0.0, time.monotonic()
        moved_since = quiet_since  # wall clock of the last changed wave row
        while True:
            if time.monotonic() - started >= settings.deadline_s:
                outcome = "completed" if all_completed else "deadline"
                break
            now = spec.now()
            try:
                table = db.table(job_id)
                ready, queued = queue.counts()
            except DB_ERRORS:  # e.g. a serialization failure on a pooled SERIALIZABLE connection
                time.sleep(settings.sample_ms / 1000)
                continue
            samples.append(Sample(at_s=now, ready_batches=ready, queued=queued, table=table))
            all_completed = all(r.status is Status.COMPLETED for r in table.rows)  # the latest reading
            if all_completed and queued == 0:
                outcome, drained = "completed", True
                break
            sig = _signature(table)
            if sig != last_sig:
                moved_since = time.monotonic()
            elif queued > 0 and not all_completed and time.monotonic() - moved_since >= window:
                outcome = "no-progress"
                break
            if sig != last_sig or queued > 0:
                last_sig, changed_at, quiet_since = sig, now, time.monotonic()
            elif now - changed_at >= quiet and time.monotonic() - quiet_since >= settings.stall_min_wall_s:
                outcome = "stalled"
                break
            sup.respawn_dead()
            time.sleep(settings.sample_ms / 1000)
    finally:
        ended_s = spec.now()
        sup.stop()
        if main:
            signal.signal(signal.SIGTERM, previous_term)
    wall_s = time.monotonic() - started
    final = _read_table(db, job_id)
    if outcome == "completed":  # the last completion as the database stamped it, not when we looked
        ended_s = max(r.completed_at or 0.0 for r in final.rows)
    log_rows = _collect(tables, db_url, spec, queue, samples)
    queue.clear()  # the run's jobs and Redis keys; its log, samples and faults stay in our tables
    queue.close()
    errors = []
    if stderr_path.exists():
        errors = [line for line in stderr_path.read_text(encoding="utf-8", errors="replace").splitlines() if line]
    return LiveRun(spec=spec, engine=engine, queue=queue.kind, isolation=isolation, outcome=outcome, ended_s=ended_s,
                   wall_s=wall_s, table=final, dispatch_log=log_rows, samples=samples,
                   faults=read_fault_log(spec.fault_log), deaths=list(sup.deaths), processes=sup.spawned,
                   drained=drained or outcome != "completed", errors=errors, stderr_log=str(stderr_path),
                   progress_window_s=window, waiting_jobs=queued)


def progress_window(settings: LiveSettings, quiet_s: float, work_s: float) -> float:
    """Wall seconds in which nothing moved while jobs waited that end a run as ``no-progress``: the quiet
    window ``quiet_s`` (scenario s) plus ``retry_after`` (a killed worker's job comes back only then) plus
    ``PROGRESS_BATCHES`` times ``work_s``, the mean of a job's own work, plus the slow statement's hold when
    that fault is on, and never less than ``progress_min_wall_s``. ``run_live`` and a spec's run
    (``live.specrun``) both end on it."""
    patience = quiet_s + settings.retry_after_s + PROGRESS_BATCHES * work_s
    if settings.lock_rate > 0:  # every row waits for a slow statement's lock
        patience += settings.lock_hold_s
    return max(settings.wall(patience), settings.progress_min_wall_s)


def first_error(lines: list[str]) -> str | None:
    """The line that names the first error in a process's stderr: the exception line that ends the
    first traceback (not a later one it caused), else the first line; None when there is none."""
    in_traceback = False
    for line in lines:
        if line.startswith("Traceback (most recent call last)"):
            in_traceback = True
        elif in_traceback and line.strip() and not line.startswith((" ", "\t")):
            return line
    return next((line for line in lines if line.strip()), None)


def _read_table(db: Any, job_id: int) -> WaveTable:
    for attempt in range(START_TRIES):
        try:
            return db.table(job_id)  # type: ignore[no-any-return]
        except DB_ERRORS:
            if attempt + 1 == START_TRIES:
                raise
            time.sleep(0.01)
    raise AssertionError("unreachable")


def terminated(_sig: int, _frame: object) -> None:
    raise KeyboardInterrupt("SIGTERM")  # so that the supervisor reaps its processes on the way out


def wait_ready(spec: RunSpec, sup: Supervisor, until: float) -> None:
    """Wait until every spawned process has started (or the deadline)."""
    folder = Path(spec.fault_log).parent
    name = Path(spec.fault_log).name
    while time.monotonic() < until:
        ready = sum(1 for p in folder.iterdir() if p.name.startswith(f"{name}.ready."))
        if ready >= sup.spawned or sup.alive() < len(sup.children):
            return
        time.sleep(0.01)


def _collect(tables: LiveTables, db_url: str, spec: RunSpec, queue: Any, samples: list[Sample]) -> list[
        dict[str, Any]]:
    """Copy the Redis log, the fault log and the samples into the tables; read the log back."""
    from live.engine import make_engine

    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            copied = queue.dispatch_log_rows()
            if copied:
                conn.execute(tables.dispatch_log.insert(), copied)
            faults = [{"run": f["run"], "at_s": f["at_s"], "kind": f["kind"], "detail": json.dumps(f)}
                      for f in read_fault_log(spec.fault_log) if f["kind"] != TAKE]  # a take is no fault
            if faults:
                conn.execute(tables.faults.insert(), faults)
            rows = [{"run": spec.run, "at_s": s.at_s, "ready_batches": s.ready_batches,
                     "state": json.dumps([[r.status.value, r.distinct_finished, r.dispatch_count]
                                          for r in s.table.rows])} for s in samples]
            for i in range(0, len(rows), 500):
                conn.execute(tables.samples.insert(), rows[i:i + 500])
        with engine.connect() as conn:
            log = tables.dispatch_log
            result = conn.execute(log.select().where(log.c.run == spec.run).order_by(log.c.at_s, log.c.id))
            return [dict(r._mapping) for r in result]
    finally:
        engine.dispose()
