"""A live run measured like a simulated one: the same metrics, verdicts, JSON and plots.

``measure_live(run)`` turns what a live run left in the real tables (the final
wave rows, the dispatch log, the monitor's samples) into a ``sim.run.RunResult``,
using ``sim``'s own recorder, metrics (``sim.run.measure``) and monitors
(``sim.monitors.Monitors``), so that ``wavesim live`` and ``wavesim run`` report
by the same code. ``live/`` and ``sim/`` never import each other: this module,
on top of both, is where they meet.

How each verdict is read from the real tables:

* ``no_duplicate_push`` and the dispatch metrics: the dispatch log (one row
  per real push, written with the push). The exported table's ``dispatch_count``
  is that count too, so ``wavesim audit`` judges the same pushes.
* ``single_active_wave``, ``one_wave_below_threshold``, ``no_duplicate_claim``
  (the runs told they own each wave: the driver's ``claims`` record, read with the
  rows as ``owners_told``), ``queue_bounded`` and ``max_*``: every sample of the
  real table and queue (every ``sample_ms``), and the final rows.
* ``threshold_respected``: between two samples, a wave that left ``pending``
  while its predecessor, *even in the later sample*, was pending or below the
  threshold (status and progress only move forward, so this never blames a
  dispatch that was on time; a predecessor that went from pending to its
  threshold within one sampling gap is not blamed).
* ``no_stall``: the run's outcome ``stalled``; ``import_completes``: the final rows.
* ``live_progress`` (live runs only): fails when the run ended as
  ``no-progress`` (``live.run``): jobs waited in the queue and no wave row changed
  for the progress window. That is not a verdict on the coordinator's
  ``no_stall``, which means quiescence: the queue still held work, and the cause
  may be the workers (they cannot start, crash, or fail every job) as well as the
  coordinator, so the detail names the processes that crashed, the first error
  line they wrote to stderr and the jobs that failed on a database error.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from itertools import pairwise
from typing import Any

from coordinator import CompleteFinishedWaves, EnqueueBatches, WaveRow, WaveTable
from live import LiveRun, first_error
from live.faults import TAKE
from live.specrun import SpecLiveRun
from sim.monitors import Monitors
from sim.recorder import Recorder
from sim.run import RunResult, measure
from sim.scenario import Scenario

__all__ = ["INJECTED", "PROGRESS", "live_json", "measure_live", "progress_verdict", "pushed_table", "scenario_of"]

#: the live-only verdict: the run kept moving while it had work (see the module docstring)
PROGRESS = "live_progress"

#: the fault log's kinds that are injected faults; the others are what followed (a job failed
#: on a DB error and was released, a push that took long)
INJECTED = ("kill", "drop", "slow-statement", "lose-delayed", "duplicate-delivery")


def scenario_of(run: LiveRun) -> Scenario:
    """The live settings as a ``Scenario`` (for the JSON contract and the plots)."""
    s = run.settings
    return Scenario(preset="live", policy=s.policy, seed=s.seed, waves=s.waves, wave_size=s.wave_size,
                    threshold=s.threshold, auto_trigger_delay_s=s.auto_trigger_delay_s, workers=s.workers,
                    listener=s.listener, batch_mean_s=s.batch_mean_s, retry_after_s=s.retry_after_s,
                    batch_tries=s.tries, horizon_s=max(s.deadline_s / s.scale, 1e-3))


def pushed_table(table: WaveTable, pushes: Counter[int]) -> WaveTable:
    """``table`` with each wave's ``dispatch_count`` taken from the dispatch log."""
    rows = tuple(replace(r, dispatch_count=pushes.get(r.wave_number, 0)) for r in table.rows)
    return WaveTable(job_id=table.job_id, rows=rows, violations=table.violations)


def measure_live(run: LiveRun) -> RunResult:
    """The ``RunResult`` of a live run (see the module docstring)."""
    scenario = scenario_of(run)
    config = scenario.config
    rec, mon = Recorder(config), Monitors(config, sampled=True)
    status_write = CompleteFinishedWaves(job_id=run.spec.job_id)
    events: list[tuple[float, int, Any]] = [(s.at_s, 0, s) for s in run.samples]
    events += [(float(e["at_s"]), 1, e) for e in run.dispatch_log]
    events.sort(key=lambda e: (e[0], e[1]))
    pushes: Counter[int] = Counter()
    previous: WaveTable | None = None
    for at, kind, item in events:
        if kind == 1:
            wave = int(item["wave"])
            rec.on_dispatch(at, wave)
            before = pushed_table(previous or run.table, pushes)
            pushes[wave] += 1
            mon.after_write(EnqueueBatches(job_id=run.spec.job_id, wave=wave), before,
                            pushed_table(previous or run.table, pushes), at)
            continue
        table: WaveTable = item.table
        rec.on_depth(at, item.ready_batches)
        rec.on_status(at, table)
        mon.after_enqueue(item.ready_batches, at)
        if previous is not None:
            mon.after_write(status_write, previous, table, at)
        previous = table
    final = pushed_table(run.table, pushes)
    rec.on_status(run.ended_s, final)
    if previous is not None:
        mon.after_write(status_write, previous, final, run.ended_s)
    if run.outcome == "stalled":
        mon.at_quiescence(final, run.ended_s)
    elif run.outcome == "no-progress":  # not quiescent, so no_stall holds; it must not read as all well
        mon.verdicts["no_stall"].detail += f" (but the run made no progress: see {PROGRESS})"
    cut_short = {"deadline": "(by the deadline)", "no-progress": "(no progress)"}.get(run.outcome)
    mon.at_end(final, run.ended_s, cut_short is not None)
    if cut_short is not None:
        detail = mon.verdicts["import_completes"].detail
        mon.verdicts["import_completes"].detail = detail.replace("(by the horizon)", cut_short)
    metrics = measure(scenario, run.outcome, final, run.ended_s, rec)
    metrics.update(_live_metrics(run, final))
    properties = {**mon.to_dict(), PROGRESS: progress_verdict(run)}
    return RunResult(scenario=scenario, outcome=run.outcome, table=final, metrics=metrics,
                     properties=properties, series=rec.series(), db_operations=0, events=len(run.samples))


def progress_verdict(run: LiveRun | SpecLiveRun, still: str = "no wave row changed",
                     moving: str = "the wave rows kept changing while jobs waited") -> dict[str, object]:
    """``live_progress``: held unless the run (a ``LiveRun``, or a spec's ``SpecLiveRun``, which has the same
    fields) ended as ``no-progress``; the detail says what did not move (``still``; ``moving`` when it
    held) and what the processes reported (crashes, their first stderr error, jobs failed on a database
    error)."""
    seen = []
    if run.crashes:
        codes = ", ".join(str(c) for c in sorted({d[3] for d in run.crashes}))
        seen.append(f"{len(run.crashes)} process(es) crashed (exit code {codes})")
    failed = [f for f in run.faults if f["kind"] == "job-failed"]
    if failed:
        seen.append(f"{len(failed)} job(s) failed on a database error (the last: {failed[-1].get('error')})")
    error = first_error(run.errors)
    if error is not None:
        seen.append(f"first error on stderr: {error}")
    if run.outcome != "no-progress":
        return {"holds": True, "first_violation_s": None, "detail": moving + (f" ({'; '.join(seen)})" if seen else "")}
    detail = f"{still} for {run.progress_window_s:.1f} wall s while {run.waiting_jobs} job(s) waited in the queue"
    return {"holds": False, "first_violation_s": round(run.ended_s, 6), "detail": "; ".join([detail, *seen])}


def _live_metrics(run: LiveRun, final: WaveTable) -> dict[str, Any]:
    """What only a live run has: claims, the driver's own push record, batches counted twice, and
    two checks that nothing a committed transaction wrote was lost: every claimed wave was pushed,
    and every push in the dispatch log has the driver's own record, committed before it."""
    rows: tuple[WaveRow, ...] = run.table.rows
    pushes = Counter(int(e["wave"]) for e in run.dispatch_log)
    return {
        "waves_claimed_never_pushed": sum(1 for r in rows if r.owners_told > 0 and pushes[r.wave_number] == 0),
        "pushes_without_db_record": sum(max(0, pushes[r.wave_number] - r.dispatch_count) for r in rows),
        "duplicate_claims": sum(max(0, r.owners_told - 1) for r in rows),
        "db_dispatch_records": sum(r.dispatch_count for r in rows),
        "batches_counted_twice": sum(max(0, r.counted_finished - r.distinct_finished) for r in rows),
        "batches_unfinished": sum(r.batches - r.distinct_finished for r in rows),
    }


def live_json(run: LiveRun, result: RunResult, *, logs: bool = True) -> dict[str, Any]:
    """``wavesim run --json``'s document (``scenario``, ``metrics``, ``properties``) plus a ``live``
    section: where and how it ran, and its faults. The ``scenario`` is the live settings (what
    reproduces the run's decisions), not a simulated scenario: there are no sampled DB latencies."""
    kinds = Counter(f["kind"] for f in run.faults if f["kind"] in INJECTED)
    notes = Counter(f["kind"] for f in run.faults if f["kind"] not in (*INJECTED, TAKE))
    return {
        "scenario": run.settings.to_dict(), "policy_switches": run.settings.resolve().switches(),
        "metrics": result.metrics, "properties": result.properties,
        "live": {
            "engine": run.engine, "queue": run.queue, "isolation": run.isolation, "run": run.spec.run,
            "job_id": run.spec.job_id, "wall_s": round(run.wall_s, 3), "drained": run.drained,
            "samples": len(run.samples), "max_sample_gap_s": _max_gap([x.at_s for x in run.samples]),
            "processes": run.processes,
            "deaths": [{"role": r, "slot": s, "incarnation": i, "code": c} for r, s, i, c in run.deaths],
            "faults": dict(sorted(kinds.items())), "notes": dict(sorted(notes.items())),
            "deliveries": dict(sorted(run.deliveries.items())),
            "fault_log": run.spec.fault_log if logs else None,  # the file is gone once the command removed it
            "stderr_lines": len(run.errors), "stderr_first": run.errors[0] if run.errors else None,
            "first_error": first_error(run.errors), "crashes": len(run.crashes),
            "pushes": [{"wave": int(e["wave"]), "at_s": round(float(e["at_s"]), 6), "actor": e["actor"]}
                       for e in run.dispatch_log],
        },
    }


def _max_gap(times: list[float]) -> float | None:
    """The longest time between two samples, in scenario seconds (what a sampled verdict can miss)."""
    if len(times) < 2:
        return None
    return round(max(b - a for a, b in pairwise(times)), 6)
