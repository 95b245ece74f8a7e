"""A spec's live run measured (``wavesim live SPEC``), in the words of the spec's simulation.

``spec_live_json`` is one run's ``--json`` document. Where ``wavesim run SPEC --json`` (``sim.specrun``)
has a name for a measure that applies to any spec, the live document uses it, in the same place:

* ``metrics``: ``makespan_s`` (scenario seconds at the end), ``peak_queue_depth`` (the most jobs ready at
  once in all the queues), ``peak_queued`` (per job type) and, as a live run's queues are real ones,
  ``peak_queue_depth_by_queue``; all read on the supervisor's samples, so a peak shorter than a sample can
  be missed (the simulation counts every push); and ``spec``, the spec's own metrics (``spec.metric``) on the
  final reading, their clock the run's scenario seconds and the event log's record lines;
* ``jobs``: per job type, its deliveries by how they ended (``sim.specworld.OUTCOMES``): ``acked``,
  ``retried``, ``failed``, ``gave_up`` from the workers' event log (``end``), ``crashed`` for a kill
  during a delivery, ``duplicated`` and ``lost`` from the fault log;
* ``properties``: each verdict as the simulation's (``kind``, ``holds``, ``verdict``,
  ``first_violation_s`` in scenario seconds, ``detail``), with ``first_violation_wall_s`` (wall seconds
  since the start), and ``live_progress`` as the built-in live run's (``report.live.progress_verdict``).

``redeliveries`` counts the deliveries beyond a try's first that no injected fault explains (a kill during a
delivery, or a duplicated delivery, of that job type): the queue handed a job out again because its
reservation (``retry_after``) ran out before its worker acked it, as a real queue does when a job runs longer
than ``retry_after`` (or its worker died). ``redelivery_line`` says so in one line with what to change.

``summary_lines`` is ``--repeat``'s summary per policy: each property, in how many runs it held, was
violated and was not judged (a goal the run was cut off before), as the built-in's share summary.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from live.specrun import SpecLiveRun
from report.live import PROGRESS, progress_verdict
from sim.specworld import OUTCOMES
from userio.columns import name_width

__all__ = ["PROGRESS", "held_over", "jobs_by_outcome", "progress", "redeliveries", "redelivery_line", "spec_live_json",
           "spec_live_metrics", "spec_properties", "summary_lines"]

#: fault log kinds that end a delivery, and the simulation's word for each
FAULT_ENDS = {"kill": "crashed", "duplicate-delivery": "duplicated", "lose-delayed": "lost"}


def progress(run: SpecLiveRun) -> dict[str, object]:
    """``live_progress`` of a spec's run: the built-in's verdict, in a spec's terms."""
    return progress_verdict(run, still="no job was taken and no row, record or failure changed",
                            moving="jobs were taken or rows changed while jobs waited")


def jobs_by_outcome(run: SpecLiveRun) -> dict[str, dict[str, int]]:
    """Per job type of the spec, how many deliveries ended each way (every outcome, zero included)."""
    ends: Counter[tuple[str, str]] = Counter()
    for e in run.events:
        if e["kind"] == "end":
            ends[(str(e["job"]), str(e["outcome"]))] += 1
    for f in run.faults:
        job = f.get("job")
        if f["kind"] in FAULT_ENDS and job is not None:  # a kill inside the pop transaction took no job
            ends[(str(job["job"] if isinstance(job, dict) else job), FAULT_ENDS[f["kind"]])] += 1
    return {t: {o: ends[(t, o)] for o in OUTCOMES} for t in run.spec.jobs}


#: fault log kinds after which the queue hands the job out again
REDELIVERING = ("kill", "duplicate-delivery")


def _longest_job_s(events: list[dict[str, Any]]) -> float | None:
    """The longest delivery, from a worker's take to its end (scenario seconds); None when none ended. A
    worker process runs one job at a time, so a take's end is the next end its process wrote."""
    taken: dict[int, float] = {}
    longest: float | None = None
    for e in events:
        if e["kind"] == "take":
            taken[int(e["pid"])] = float(e["at_s"])
        elif e["kind"] == "end" and int(e["pid"]) in taken:
            spent = float(e["at_s"]) - taken.pop(int(e["pid"]))
            longest = spent if longest is None else max(longest, spent)
    return longest


def redeliveries(run: SpecLiveRun) -> dict[str, Any]:
    """The deliveries beyond a try's first that no injected fault explains (``count``), with ``retry_after``
    and the longest job, each in scenario and wall seconds, and ``says``, the line (None when none)."""
    again = Counter(str(e["job"]) for e in run.events if e["kind"] == "take" and int(e["delivery"]) > int(e["attempt"]))
    explained: Counter[str] = Counter()
    for f in run.faults:
        job = f.get("job")
        if f["kind"] in REDELIVERING and job is not None:
            explained[str(job["job"] if isinstance(job, dict) else job)] += 1
    settings = run.plan.run.live
    longest = _longest_job_s(run.events)
    out: dict[str, Any] = {
        "count": sum(max(0, n - explained[job]) for job, n in again.items()),
        "retry_after_s": settings.retry_after_s, "retry_after_wall_s": round(settings.wall(settings.retry_after_s), 3),
        "longest_job_s": None if longest is None else round(longest, 3),
        "longest_job_wall_s": None if longest is None else round(settings.wall(longest), 3)}
    out["says"] = redelivery_line(out, settings.step_s) if out["count"] else None
    return out


def redelivery_line(seen: dict[str, Any], step_s: float) -> str:
    """One line: how many deliveries no fault explains, why they happened, what to change."""
    longest = ""
    advice = "keep --retry-after-s above a job's steps times --step-s"
    if seen["longest_job_s"] is not None:
        longest = (f"; the longest job took {seen['longest_job_wall_s']:.2f} s wall ({seen['longest_job_s']:.0f} s "
                   "scenario time)")
        above = 10 * math.ceil(2 * seen["longest_job_s"] / 10)  # twice the longest, in tens of seconds
        advice = f"give --retry-after-s above the longest job (e.g. --retry-after-s {above})"
    many = f"{seen['count']} deliveries" if seen["count"] > 1 else "1 delivery"
    return (f"live: {many} no injected fault explains: jobs handed out again by the queue because their "
            f"reservation (--retry-after-s {seen['retry_after_s']:g}: {seen['retry_after_wall_s']:g} s wall) ran "
            f"out before their worker acked them{longest}; {advice}, or lower --step-s ({step_s:g})")


def spec_live_metrics(run: SpecLiveRun) -> dict[str, Any]:
    return {"makespan_s": round(run.ended_s, 6), "peak_queue_depth": run.peaks.total,
            "peak_queued": {job: run.peaks.jobs.get(job, 0) for job in run.spec.jobs},
            "peak_queue_depth_by_queue": {q: run.peaks.queues.get(q, 0) for q in run.plan.workers},
            "spec": dict(run.spec_metrics)}


def spec_properties(run: SpecLiveRun) -> dict[str, dict[str, Any]]:
    """Each property's verdict (the spec's, then ``live_progress``), as the simulation's JSON has them."""
    scale = float(run.plan.run.settings["scale"])
    out: dict[str, dict[str, Any]] = {}
    for name, v in run.verdicts.items():
        at = v.at_s
        out[name] = {"kind": v.kind, "holds": v.holds, "verdict": v.verdict, "first_violation_s": at,
                     "first_violation_wall_s": None if at is None else round(at * scale, 3), "detail": v.detail}
    made = progress(run)
    ended = made["first_violation_s"] is not None  # no progress: the run's end
    out[PROGRESS] = {"kind": "live", **made, "verdict": "holds" if made["holds"] else "violated",
                     "first_violation_wall_s": round(run.ended_s * scale, 3) if ended else None}
    return out


def spec_live_json(run: SpecLiveRun, settings: Sequence[str], policy: str | None = None,
                   logs: bool = True) -> dict[str, Any]:
    """One run as one JSON document (``settings``: the ``LiveSettings`` a spec's run reads; ``logs``: whether
    the run's log files are kept, else their places are null)."""
    return {
        "spec": run.spec.name,
        "policy": policy,
        "scope": dict(run.spec.scope_of(run.plan.given)),
        "outcome": run.outcome,
        "metrics": spec_live_metrics(run),
        "jobs": jobs_by_outcome(run),
        "properties": spec_properties(run),
        "rows": run.rows,
        "settings": {**{k: run.plan.run.settings[k] for k in settings},
                     "queue_of": run.plan.queue_of, "durations": run.plan.durations},
        "live": {"engine": run.engine, "queue": run.queue, "isolation": run.plan.run.isolation,
                 "workers": run.plan.workers, "wall_s": round(run.wall_s, 3), "samples": run.samples,
                 "deliveries": dict(run.deliveries), "redelivered": run.redelivered,
                 "unexplained_redeliveries": redeliveries(run),
                 "faults": dict(Counter(f["kind"] for f in run.faults)),
                 "raised": [{"job": e["job"], "error": e["error"]} for e in run.events if e["kind"] == "raise"],
                 "deaths": run.deaths, "crashes": len(run.crashes), "processes": run.processes,
                 "first_error": run.first_error, "progress_window_s": round(run.progress_window_s, 3),
                 "event_log": run.plan.events_log if logs else None,
                 "fault_log": run.plan.run.fault_log if logs else None},
    }


def held_over(verdicts: Iterable[bool | None]) -> bool | None:
    """One property over several runs: False when violated in any, else None when not judged in any, else
    True (``userio.exitcodes``: held everywhere it was judged, and judged everywhere)."""
    seen = list(verdicts)
    return False if False in seen else None if None in seen else True


def summary_lines(label: str, runs: Sequence[SpecLiveRun]) -> list[str]:
    """``--repeat``'s summary of ``runs`` (one policy, or the spec's one batch): the outcomes, then per
    property in how many runs it held, was violated and was not judged."""
    first = runs[0]
    outcomes = Counter(r.outcome for r in runs)
    level = first.plan.run.isolation or "driver default"
    ended = ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
    lines = [f"{label} on {first.engine} ({first.queue} queue, isolation {level}): {len(runs)} runs, {ended}"]
    documents = [spec_properties(r) for r in runs]
    width = name_width(documents[0], 28)
    for name in documents[0]:
        seen = [d[name]["holds"] for d in documents]
        lines.append(f"  {name:{width}s} held in {seen.count(True)}/{len(runs)}, violated in {seen.count(False)}, "
                     f"not judged in {seen.count(None)}")
    return lines
