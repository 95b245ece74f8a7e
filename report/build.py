"""Gathering the report's data: compare, representative runs, checks, fault matrix.

``gather(settings)`` runs, in order:

1. ``compare``: every policy on the ``incident`` preset, once per seed;
2. one representative run per policy, re-run with ``traced_run`` for the time
   series and the wave timeline: the seed whose makespan is the policy's
   median (the lower median for an even count; ties go to the lower seed);
3. the checker on three small scopes (``SCOPES``) for every policy;
4. the fault matrix (``sim.faultmatrix``) on its default reduced scenario.

Everything is seeded and no stage has a time budget, so the same settings give
the same data, and so the same report.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from importlib.abc import Traversable
from pathlib import Path
from typing import Any, TypeVar

from coordinator import LIVENESS, POLICIES, PROPERTY_NAMES, policy_named
from coordinator.policy import with_given
from model.checker import check
from model.scope import Scope
from model.trace import TraceStep, steps_of
from report.data import shipped
from report.timeline import Timeline, traced_run
from sim.compare import Comparison
from sim.run import RunResult, run_one
from sim.scenario import PRESETS, Scenario
from userio.progress import progress_bar

__all__ = [
    "QUICK_SCOPES", "SCOPES", "WRITEUP_CSV", "CheckResult", "ReportData", "ReportSettings", "Violation", "explain",
    "gather", "representative_seed", "writeup_dispatch_seconds",
]

#: The checker's three default scopes: the smallest with the 50 % overlap inside it,
#: the same with one duplicated completion event, and with one lost completion event.
SCOPES = (Scope(), Scope(duplicates=1), Scope(losses=1))
#: ``--quick``: one worker and one handler run in flight, a few hundred states.
QUICK_SCOPES = (Scope(workers=1, max_handlers=1),)
#: A check stops after this many distinct states (then it is reported incomplete).
MAX_STATES = 500_000
#: The write-up's dispatch timestamps (waves 2-37), kept with the tests and shipped with the package.
WRITEUP_CSV = shipped("writeup_dispatches.csv")

_ENQUEUE = re.compile(r"EnqueueBatches\(wave=(\d+)")

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportSettings:
    """How much the report runs. ``quick`` is a tiny report for tests."""

    seeds: int = 20
    fault_seeds: int = 10
    jobs: int = 1
    quick: bool = False
    progress: bool = False
    #: seeds per combination in the readings table (``wavesim readings --seeds``)
    reading_seeds: int = 8
    #: ``--switch`` values, applied to every policy that reads them
    switches: tuple[tuple[str, object], ...] = ()

    @property
    def scenario(self) -> Scenario:
        """The incident preset (with 6 waves when quick), with the switches."""
        base = PRESETS["incident"].with_settings(switches=dict(self.switches))
        return base.with_settings(waves=6) if self.quick else base

    @property
    def scopes(self) -> tuple[Scope, ...]:
        return QUICK_SCOPES if self.quick else SCOPES


@dataclass(frozen=True, slots=True, kw_only=True)
class Violation:
    """One counterexample: its length, the property's detail and a one-sentence explanation."""

    steps: int
    detail: str
    explanation: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckResult:
    """One policy checked on one scope, as plain values."""

    policy: str
    scope: Scope
    complete: bool
    states: int
    verdicts: dict[str, bool | None]
    violations: dict[str, Violation]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportData:
    """Everything the report shows."""

    settings: ReportSettings
    comparison: Comparison
    timelines: dict[str, Timeline]
    checks: tuple[CheckResult, ...]
    faults: Any | None  # sim.faultmatrix.FaultMatrix, when that module exists
    faults_note: str
    writeup_s: tuple[float, ...]
    seeds_used: dict[str, int] = field(default_factory=dict)
    readings: Any | None = None  # readings.grid.Readings
    calibration: dict[str, Any] | None = None


def _map(fn: Callable[[T], R], items: Iterable[T], jobs: int) -> Iterator[R]:
    """``map`` in order, in ``jobs`` processes when more than one."""
    items = list(items)
    if jobs <= 1 or len(items) <= 1:
        yield from map(fn, items)
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        yield from pool.map(fn, items)


def _run(scenario: Scenario) -> RunResult:
    return run_one(scenario)


def _compare(settings: ReportSettings) -> Comparison:
    scenario = settings.scenario
    seeds = range(settings.seeds)
    todo = [scenario.with_settings(policy=p, seed=s) for p in POLICIES for s in seeds]
    runs: dict[str, list[RunResult]] = {p: [] for p in POLICIES}
    with progress_bar(len(todo), desc="report: runs", enabled=settings.progress) as bar:
        for result in _map(_run, todo, settings.jobs):
            runs[result.scenario.policy].append(result)
            bar.update()
    return Comparison(scenario=scenario, seeds=tuple(seeds), runs=runs)


def representative_seed(runs: list[RunResult]) -> int:
    """The seed whose makespan is the median (the lower one for an even count; ties: lower seed)."""
    ordered = sorted(runs, key=lambda r: (r.metrics["makespan_s"], r.scenario.seed))
    return ordered[(len(ordered) - 1) // 2].scenario.seed


def explain(name: str, detail: str, steps: tuple[TraceStep, ...]) -> str:
    """One sentence on how the counterexample gets there, from its own steps."""
    runs = sorted({s.actor for s in steps if s.actor[:1] == "h" and s.actor[1:].isdigit()}, key=lambda a: int(a[1:]))
    who = f"{len(runs)} handler run{'s' if len(runs) != 1 else ''} ({', '.join(runs)})" if runs else "no handler run"
    if not steps:
        return f"The initial state already breaks it: {detail}."
    if name in LIVENESS:
        return f"After {len(steps)} steps with {who}, no continuation completes the import: {detail}."
    last = steps[-1]
    result = f" -> {last.result}" if last.result else ""
    enqueued: dict[str, list[TraceStep]] = {}
    for s in steps:
        found = _ENQUEUE.match(s.what)
        if found:
            enqueued.setdefault(found.group(1), []).append(s)
    twice = [(w, ss) for w, ss in enqueued.items() if len(ss) > 1]
    also = "".join(
        f"; wave {w} was enqueued by " + " and ".join(f"{s.actor} (step {s.n})" for s in ss) for w, ss in twice
    )
    return (f"After {len(steps)} steps with {who}, step {last.n} ({last.actor}: {last.what}{result}) "
            f"leaves {detail}{also}.")


def check_one(job: tuple[str, Scope] | tuple[str, Scope, tuple[tuple[str, object], ...]]) -> CheckResult:
    """Check one policy on one scope (a plain function, so that it can run in a worker process)."""
    policy, scope = job[0], job[1]
    switches = dict(job[2]) if len(job) > 2 else {}
    chosen = with_given(policy_named(policy), switches, lenient=True)
    search = check(scope, chosen, properties=PROPERTY_NAMES, max_states=MAX_STATES,
                   time_limit=86_400.0, shortest=True)
    violations = {}
    for name, found in search.found.items():
        steps = steps_of(search.spec, found.path)
        violations[name] = Violation(steps=len(found.labels), detail=found.detail,
                                     explanation=explain(name, found.detail, steps))
    return CheckResult(
        policy=policy, scope=scope, complete=search.complete, states=search.states,
        verdicts={n: search.holds(n) for n in search.checked}, violations=violations,
    )


def _checks(settings: ReportSettings) -> tuple[CheckResult, ...]:
    todo = [(p, s, settings.switches) for s in settings.scopes for p in POLICIES]
    out = []
    with progress_bar(len(todo), desc="report: checks", enabled=settings.progress, unit="check") as bar:
        for result in _map(check_one, todo, settings.jobs):
            out.append(result)
            bar.update()
    return tuple(out)


def _faults(settings: ReportSettings) -> tuple[Any | None, str]:
    """The fault matrix on its default reduced scenario (smaller still when quick), every named fault."""
    try:
        from sim.faultmatrix import MATRIX_BASE, fault_matrix
        from sim.faultsettings import FAULT_PRESETS
    except ImportError:
        return None, "fault matrix not available: this version of wavesim has no sim.faultmatrix"
    base = MATRIX_BASE.with_settings(switches=dict(settings.switches))
    base = base.with_settings(waves=3, wave_size=10) if settings.quick else base
    matrix = fault_matrix(base, list(POLICIES), list(FAULT_PRESETS), range(settings.fault_seeds),
                          jobs=settings.jobs, progress=settings.progress)
    return matrix, f"{settings.fault_seeds} seed(s) per cell; `wavesim faults` runs more"


def writeup_dispatch_seconds(path: Path | Traversable = WRITEUP_CSV) -> tuple[float, ...]:
    """The write-up's dispatch times as seconds after the first one (empty when the file is missing)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return ()
    stamps = sorted(datetime.fromisoformat(row["dispatched_at"]) for row in csv.DictReader(text.splitlines())
                    if row.get("dispatched_at"))
    return tuple((t - stamps[0]).total_seconds() for t in stamps) if stamps else ()


def gather(settings: ReportSettings) -> ReportData:
    """Run everything the report shows."""
    comparison = _compare(settings)
    chosen = {p: representative_seed(comparison.runs[p]) for p in comparison.runs}
    timelines = {
        p: traced_run(comparison.scenario.with_settings(policy=p, seed=seed)) for p, seed in chosen.items()
    }
    checks = _checks(settings)
    faults, note = _faults(settings)
    readings, cal = _readings(settings)
    return ReportData(
        settings=settings, comparison=comparison, timelines=timelines, checks=checks, faults=faults,
        faults_note=note, writeup_s=writeup_dispatch_seconds(), seeds_used=chosen, readings=readings,
        calibration=cal,
    )


#: ``--quick``: two current-wave rules, the rest at their defaults, one seed, no checker
QUICK_READINGS = {"current_wave_rule": ["completed-else-active", "lowest-active"], "completion_check": ["before-guard"],
                  "catchup_entry": ["successor-not-pending"], "batch_wave_check": ["after-decision"],
                  "final_write": ["plain"], "distinct_progress": ["false"]}


def _readings(settings: ReportSettings) -> tuple[Any, dict[str, Any]]:
    """The calibration check, and the sensitivity table: a reduced grid run here when quick, else the full
    table as ``wavesim readings`` wrote it to ``docs/readings.json`` (every combination x 8 seeds is minutes
    of runs; the docs' drift test reruns its default row), run here only when that file is missing."""
    from readings.calibration import calibration
    from readings.grid import run_readings

    seeds = range(1) if settings.quick else range(settings.reading_seeds)
    if not settings.quick and READINGS_JSON.is_file():
        import json

        from readings.render import from_dict

        readings = from_dict(json.loads(READINGS_JSON.read_text(encoding="utf-8")))
    else:
        readings = run_readings(grid=QUICK_READINGS if settings.quick else None, seeds=seeds, jobs=settings.jobs,
                                checker=not settings.quick)
    return readings, calibration(seeds)


#: The full sensitivity table, written by ``wavesim readings --jobs 2 --out docs/readings.json``
#: and shipped with the package.
READINGS_JSON = shipped("readings.json")
