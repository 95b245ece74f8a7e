"""``run_spec_live(...)``: one live run of a user's spec, from fresh tables to the judged rows.

The supervisor (this process) creates the spec's tables under wavesim's prefix (``dbdriver.specdb``:
never a table it does not own) with the scope's initial rows, puts the scope's initial jobs on their
queues, spawns each queue's workers (``live/specworker.py``; ``live/supervisor.py`` restarts a killed
one) and, when a chaos fault is on, the chaos process (``live.periodic.spec_chaos``). Then, every
``sample_ms``, it reads the real rows, the real queues and the event log, judges every ``always``
property on that reading (a violation keeps its first time and detail), pushes each periodic job
(``spec.every``) that has been neither queued nor running for the delayed pushes' delay, and ends the
run as

* ``reached``: every ``eventually`` goal holds and no job is queued or running;
* ``quiescent``: no job is queued or running (periodic ones aside) and nothing moved (rows, records,
  failures) for the quiet window: the goals that do not hold are stalled;
* ``no-progress``: jobs wait (periodic ones aside), yet no such job was taken and nothing moved for the
  built-in run's progress window (``live.run.progress_window``: the quiet window, ``retry_after``, 20
  times a job's own work and its step pause, at least ``progress_min_wall_s``): workers that cannot
  start, or that crash, end the run in seconds; the goals not reached are undecided;
* ``deadline``: the global deadline (wall seconds) came first: the goals not reached are undecided.

Then every process is reaped and the final rows are read and judged: each ``always`` property on the
final rows and on every sample, each goal on the final reading. Each sample also keeps the most jobs
ready at once, per queue, per job type and in all (``peaks``), as the simulation's ``peak_queue_depth``
and ``peak_queued`` count them. The event and fault logs are copied into ``wavesim_live_events`` and
``wavesim_live_faults``, the run's queues are cleared; the spec's tables stay until ``drop`` (the command
drops them unless told to keep them).
"""

from __future__ import annotations

import contextlib
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

from dbdriver import resolve_url
from dbdriver.specdb import SpecDatabase
from live.db import DB_ERRORS
from live.engine import make_engine
from live.faults import read_fault_log
from live.run import first_error, progress_window, terminated, wait_ready
from live.settings import LiveSettings
from live.spec import RunSpec
from live.specplan import SpecPlan, job_payload
from live.specview import LiveView, ghost_counts, judge, record_times
from live.supervisor import Supervisor
from live.tables import BASE, LiveTables, Prefixes
from spec.errors import Unsupported
from spec.lang import Scope, Spec
from spec.lease import on_a_clock
from spec.view import measure

__all__ = ["PREFIX", "Peaks", "SpecLiveRun", "Verdict", "run_spec_live"]

#: the spec's tables live under this prefix by default, apart from ``wavesim replay --db``'s ``wavesim_spec_``
PREFIX = Prefixes().spec


@dataclass(slots=True)
class Verdict:
    """One property's verdict on a live run: held, and if not, when it was first seen and why."""

    kind: str  # always | eventually
    holds: bool | None  # None: not judged (a goal the run was cut off before: deadline, no progress)
    detail: str = ""
    at_s: float | None = None  # scenario seconds of the first reading that violated it

    @property
    def verdict(self) -> str:
        """The simulation's words (``sim.specrun``): holds or violated; reached, stalled or undecided."""
        if self.kind == "always":
            return "holds" if self.holds else "violated"
        return "reached" if self.holds else "undecided" if self.holds is None else "stalled"


@dataclass(slots=True)
class Peaks:
    """The most jobs ready at once on the samples: per queue, per job type, and in all the queues."""

    queues: dict[str, int] = field(default_factory=dict)
    jobs: dict[str, int] = field(default_factory=dict)
    total: int = 0

    def add(self, by_queue: dict[str, list[tuple[str, str]]]) -> None:
        ready = {q: [job for job, state in jobs if state == "ready"] for q, jobs in by_queue.items()}
        for q, jobs in ready.items():
            self.queues[q] = max(self.queues.get(q, 0), len(jobs))
        for job, n in Counter(job for jobs in ready.values() for job in jobs).items():
            self.jobs[job] = max(self.jobs.get(job, 0), n)
        self.total = max(self.total, sum(len(jobs) for jobs in ready.values()))


@dataclass(slots=True, kw_only=True)
class SpecLiveRun:
    """What one live run of a spec left in the real tables, and how it ended."""

    plan: SpecPlan
    spec: Spec
    engine: str
    queue: str
    outcome: str
    wall_s: float
    rows: dict[str, list[dict[str, Any]]]
    verdicts: dict[str, Verdict]
    samples: int
    events: list[dict[str, Any]]
    faults: list[dict[str, Any]]
    deaths: list[tuple[str, int, int, int]]
    processes: int
    errors: list[str] = field(default_factory=list)
    stderr_log: str = ""
    ended_s: float = 0.0  # scenario seconds at the end
    peaks: Peaks = field(default_factory=Peaks)
    progress_window_s: float = 0.0  # wall seconds without progress, with jobs waiting, that end a run
    waiting_jobs: int = 0  # jobs queued or running (periodic ones aside) at the last sample
    spec_metrics: dict[str, float] = field(default_factory=dict)  # the spec's own metrics, on the final reading

    @property
    def crashes(self) -> list[tuple[str, int, int, int]]:
        """Processes that ended on their own with an error (exit code above 0), never a fault (a signal)."""
        return [d for d in self.deaths if d[3] > 0]

    @property
    def deliveries(self) -> Counter[str]:
        """Per job type, how many times a worker took one (redeliveries included)."""
        return Counter(str(e["job"]) for e in self.events if e["kind"] == "take")

    @property
    def redelivered(self) -> int:
        """Deliveries of a job the queue had handed out before (after a kill or a duplicate): more deliveries
        than tries (a retry after a raise is a new try)."""
        return sum(1 for e in self.events if e["kind"] == "take" and int(e["delivery"]) > int(e["attempt"]))

    @property
    def first_error(self) -> str | None:
        return first_error(self.errors)


class _Reader:
    """The supervisor's readings of the run: rows, queues, events."""

    def __init__(self, spec: Spec, scope: Scope, db: SpecDatabase, queues: dict[str, Any], events_log: str) -> None:
        self.spec, self.scope, self.db, self.queues, self.events_log = spec, scope, db, queues, events_log
        self.keys = {t.name: t.columns[t.key].name for t in spec.schema.tables}
        self.events: list[dict[str, Any]] = []
        self.by_queue: dict[str, list[tuple[str, str]]] = {}  # the last reading's jobs, per queue
        self._read_to = 0  # the event log's bytes read so far (complete lines only)

    def new_events(self) -> list[dict[str, Any]]:
        """Every event so far: the log's complete lines since the last reading added to those before."""
        try:
            with open(self.events_log, "rb") as f:
                f.seek(self._read_to)
                chunk = f.read()
        except FileNotFoundError:
            return self.events
        end = chunk.rfind(b"\n") + 1  # a line still being written waits for the next reading
        for line in chunk[:end].splitlines():
            with contextlib.suppress(json.JSONDecodeError):  # a line cut short by a kill
                self.events.append(json.loads(line))
        self._read_to += end
        return self.events

    def jobs(self) -> dict[str, list[tuple[str, str]]]:
        """Per queue, each job's type and state (ready, delayed or reserved)."""
        return {name: [(str(p["job"]), state) for p, state in q.snapshot()] for name, q in self.queues.items()}

    def read(self, now: float = 0.0) -> tuple[LiveView, tuple[Any, ...]]:
        """A view of now, and a signature of what can move (rows, records, failures). The queues first: a
        worker writes a job's rows, records and pushes before it deletes the job, so a reading that finds
        the queues empty also finds everything those jobs did."""
        self.by_queue = self.jobs()
        jobs = [j for q in self.by_queue.values() for j in q]
        rows = self.db.rows()
        events = self.new_events()
        ghost = ghost_counts(events)
        failed = [str(e["job"]) for e in events if e["kind"] == "failed"]
        view = LiveView(rows, self.keys, ghost, jobs, failed, self.scope, now=now, records=record_times(events))
        sig = (repr(rows), tuple(sorted(ghost.items(), key=repr)), tuple(failed))
        return view, sig


def run_spec_live(spec: Spec, given: dict[str, str], settings: LiveSettings, *, db_url: str, engine: str,
                  queue_url: str | None, isolation: str | None = None, workers: int | None = None,
                  workdir: str | None = None, queue_of: dict[str, str] | None = None,
                  durations: dict[str, float] | None = None, base: str = BASE) -> SpecLiveRun:
    """Run ``spec`` live once (see the module docstring); its tables are left for the caller to drop.
    ``queue_of`` and ``durations``: the deployment's (``SpecPlan``); a job type or queue the spec has not
    is ``Unsupported``. ``base``: the base of every name (``live.tables.Prefixes``)."""
    if not spec.source:
        raise ValueError(f"spec {spec.name}: its file is not known (load it with specfile.load.load_spec): "
                         "every worker process imports it")
    scope = spec.scope_of(given)
    on_a_clock(spec.leases, scope, "a live run")
    counts = spec.workers(scope)
    if workers is not None:
        counts = {name: workers for name in counts}
    queue_of, durations = dict(queue_of or {}), dict(durations or {})
    for job, queue in queue_of.items():
        if job not in spec.jobs or queue not in counts:
            raise Unsupported(f"queue_of {job}={queue}: the spec has no job type {job!r} or no queue {queue!r}")
    for job in durations:
        if job not in spec.jobs:
            raise Unsupported(f"durations {job}: the spec has no job type {job!r}")
    db_url = resolve_url(db_url)
    folder = Path(workdir or tempfile.mkdtemp(prefix="wavesim-live-"))
    name = f"s-{uuid.uuid4().hex[:10]}"
    run = RunSpec(run=name, job_id=0, db_url=db_url, queue_url=queue_url, t0=time.time(),
                  fault_log=str(folder / f"{name}.faults.jsonl"), settings=settings.to_dict(), isolation=isolation)
    names = Prefixes(base)
    plan = SpecPlan(run=run, spec_file=spec.source, given=dict(given), prefix=names.spec, workers=counts,
                    events_log=str(folder / f"{name}.events.jsonl"), deliver_delayed_s=settings.auto_trigger_delay_s,
                    queue_of=queue_of, durations=durations, base=base)
    plan_path = folder / f"{name}.plan.json"
    plan_path.write_text(plan.to_json(), encoding="utf-8")
    stderr_path = folder / f"{name}.stderr.txt"
    db = SpecDatabase(db_url, spec.metadata, names.spec)
    db.create(spec.initial_rows(scope))
    own = make_engine(db_url)
    LiveTables(names.live).create(own)
    queues = {q: plan.open_queue(q) for q in counts}
    for q in queues.values():
        q.clear()
    start: dict[str, list[dict[str, Any]]] = {}
    for job, payload in spec.initial_jobs(scope):
        start.setdefault(plan.queue_for(spec, job), []).append(job_payload(job, payload))
    reader = _Reader(spec, scope, db, queues, plan.events_log)
    verdicts = {n: Verdict(p.kind, True) for n, p in spec.properties.items()}
    sup = Supervisor(str(plan_path), str(stderr_path))
    periodic = {name: settings.wall(spec.period_s(name, scope) or plan.deliver_delayed_s)
                for name in spec.periodic_in(scope)}
    quiet_wall = max(settings.wall(settings.stall_after_s), settings.stall_min_wall_s) if periodic else 0.0
    longest_period = max((spec.period_s(name, scope) or plan.deliver_delayed_s for name in periodic), default=0.0)
    window = progress_window(settings, settings.stall_after_s + plan.deliver_delayed_s + longest_period,
                             max(durations.values(), default=0.0) + settings.step_s)
    outcome, samples, peaks, waiting = "deadline", 0, Peaks(), 0
    started = time.monotonic()
    main = threading.current_thread() is threading.main_thread()
    previous_term = signal.signal(signal.SIGTERM, terminated) if main else None
    try:
        slot = 0
        for q in counts:
            for _ in range(counts[q]):
                sup.spawn("spec-worker", slot)
                slot += 1
        if settings.lose_delayed_rate > 0 or settings.duplicate_rate > 0:
            sup.spawn("spec-chaos", 0)
        wait_ready(run, sup, started + settings.deadline_s)
        run = replace(run, t0=time.time())
        plan = replace(plan, run=run)
        for q, payloads in start.items():  # the start's jobs, once every process is up
            queues[q].push_wave(payloads, None)
        Path(run.fault_log).with_suffix(".go").write_text(repr(run.t0), encoding="utf-8")
        last_sig: tuple[Any, ...] | None = None
        last_progress: tuple[Any, ...] | None = None
        moved = progressed = time.monotonic()
        idle_since: dict[str, float] = {}
        while time.monotonic() - started < settings.deadline_s:
            try:
                view, sig = reader.read()
            except DB_ERRORS:
                time.sleep(settings.sample_ms / 1000)
                continue
            samples += 1
            peaks.add(reader.by_queue)
            _judge_always(spec, view, verdicts, run.now())
            if sig != last_sig:
                last_sig, moved = sig, time.monotonic()
            # progress: a job taken (periodic ones aside: they are pushed whatever happens), or anything moved
            taken = sum(1 for e in reader.events if e["kind"] == "take" and e["job"] not in periodic)
            if (sig, taken) != last_progress:
                last_progress, progressed = (sig, taken), time.monotonic()
            busy = view.queued() + view.running() - sum(view.queued(p) + view.running(p) for p in periodic)
            goals = [p for p in spec.properties.values() if p.kind == "eventually"]
            if not busy and goals and all(judge(p, view) is None for p in goals):
                outcome = "reached"
                break
            if not busy and time.monotonic() - moved >= quiet_wall:
                outcome = "quiescent"
                break
            if busy and time.monotonic() - progressed >= window:
                outcome, waiting = "no-progress", busy
                break
            _push_periodic(spec, plan, periodic, view, queues, idle_since)
            sup.respawn_dead()
            time.sleep(settings.sample_ms / 1000)
    finally:
        sup.stop()
        if main:
            signal.signal(signal.SIGTERM, previous_term)
    wall_s = time.monotonic() - started
    ended_s = run.now()
    view, _ = reader.read(ended_s)
    spec_metrics = {name: measure(m, view) for name, m in spec.metrics.items()}  # on the final reading, as simulated
    _judge_always(spec, view, verdicts, ended_s)
    for n, p in spec.properties.items():
        if p.kind == "eventually":
            detail = judge(p, view)
            if detail is not None:
                why = {"quiescent": "no job queued or running and nothing moved",
                       "deadline": "the deadline came first",
                       "no-progress": "no progress: jobs waited and none was taken"}.get(outcome, "not reached")
                held = None if outcome in ("deadline", "no-progress") else False  # cut off: not judged
                verdicts[n] = Verdict(p.kind, held, f"{why} ({detail})")
    events = list(reader.new_events())
    faults = read_fault_log(run.fault_log)
    _copy_logs(own, LiveTables(names.live), run.run, events, faults)
    own.dispose()
    for q in queues.values():
        q.clear()
        q.close()
    errors = []
    if stderr_path.exists():
        errors = [line for line in stderr_path.read_text(encoding="utf-8", errors="replace").splitlines() if line]
    return SpecLiveRun(plan=plan, spec=spec, engine=engine, queue="redis" if queue_url else "database",
                       outcome=outcome, wall_s=wall_s, rows=dict(view.tables), verdicts=verdicts,
                       samples=samples, events=events, faults=faults, deaths=list(sup.deaths),
                       processes=sup.spawned, errors=errors, stderr_log=str(stderr_path), ended_s=ended_s,
                       peaks=peaks, progress_window_s=window, waiting_jobs=waiting, spec_metrics=spec_metrics)


def _judge_always(spec: Spec, view: LiveView, verdicts: dict[str, Verdict], at_s: float) -> None:
    for n, p in spec.properties.items():
        if p.kind != "always" or not verdicts[n].holds:
            continue
        detail = judge(p, view)
        if detail is not None:
            verdicts[n] = Verdict(p.kind, False, detail, round(at_s, 3))


def _push_periodic(spec: Spec, plan: SpecPlan, periodic: dict[str, float], view: LiveView, queues: dict[str, Any],
                   idle_since: dict[str, float]) -> None:
    """Push each periodic job type (``spec.every``) that has been neither queued nor running for its period
    (``periodic``: wall seconds; the spec's, else the delay of a delayed job) (the model pushes one at any
    time none is there; a period leaves the world idle between two, as the model's can be)."""
    now = time.monotonic()
    for name, period in periodic.items():
        if view.queued(name) or view.running(name):
            idle_since.pop(name, None)
        elif now - idle_since.setdefault(name, now) >= period:
            queues[plan.queue_for(spec, name)].push_wave([job_payload(name, ())], None)
            idle_since.pop(name, None)


def _copy_logs(engine: Any, tables: LiveTables, run: str, events: list[dict[str, Any]],
               faults: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        for table, lines in ((tables.events, events), (tables.faults, faults)):
            rows = [{"run": run, "at_s": e["at_s"], "kind": e["kind"], "detail": json.dumps(e)} for e in lines]
            for i in range(0, len(rows), 500):
                conn.execute(table.insert(), rows[i:i + 500])
