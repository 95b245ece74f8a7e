"""The audit as a plain-text table and as a stable JSON document.

The JSON document (``schema: "wavesim.audit/1"``) has this shape; times are ISO
8601 UTC strings with milliseconds (``2025-09-30T13:13:58.000Z``), durations are
seconds::

    {"schema", "file", "format", "tz", "level",
     "limits": {"window_s", "burst_limit", "max_active", "stall_after_s", "now"},
     "rows": {"read", "audited", "skipped", "other_levels": {"<level>": count}},
     "bad_rows": [{"line", "reason"}],
     "violations": ["bursts", ...], "exit_code",
     "jobs": [{"job_id", "waves", "missing_waves", "completed_time_unknown",
               "history": {"start", "end", "end_from": "now" | "latest timestamp"},
               "checks": {kind: {"result": "violated" | "ok" | "not seen" | "unknown",
                                 "property": DESIGN property name}},
               "most_in_window": {"start", "end", "count", "waves"} | null,
               "bursts": [{"start", "end", "peak", "waves"}],
               "overlap": {"peak", "peak_waves", "peak_start", "peak_s", "overlap_s",
                           "measured_waves", "unknown_waves"},
               "stalls": [{"start", "end", "duration_s", "completed_wave", "pending_wave", "ongoing"}],
               "duplicates": [{"wave", "dispatches", "times"}],
               "never_completed": [{"wave", "status"}]}]}

Result words: ``violated`` breaks a limit; ``ok`` found nothing with every
completion time known; ``no limit`` (overlap only) measured, with no
``--max-active`` to judge by; ``not seen`` found nothing but some completion times
are unknown, so the check could not see everything; ``unknown`` could not look
at all (no wave with a known active interval).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from audit.checks import KINDS, SECOND, JobAudit
from audit.parse import format_time
from audit.report import Report

__all__ = ["BAD_ROWS_SHOWN", "check_results", "ranges", "to_json", "to_table"]

#: How many bad rows the table lists before it gives only a count.
BAD_ROWS_SHOWN = 10
_LABEL = {
    "bursts": "dispatch bursts",
    "overlap": "overlapping waves",
    "stalls": "stalls",
    "duplicates": "duplicate dispatches",
    "never_completed": "never completed",
}


def ranges(numbers: Iterable[int]) -> str:
    """``[2, 3, 4, 7]`` as ``2-4, 7``."""
    values = sorted(set(numbers))
    parts: list[str] = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        parts.append(str(values[i]) if i == j else f"{values[i]}-{values[j]}")
        i = j + 1
    return ", ".join(parts) or "none"


def _waves(numbers: Iterable[int]) -> str:
    values = sorted(set(numbers))
    return f"wave {values[0]}" if len(values) == 1 else f"waves {ranges(values)}"


def _iso(us: int | None) -> str | None:
    if us is None:
        return None
    stamp = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def _s(us: int) -> float:
    return round(us / SECOND, 6)


def _seconds(us: int) -> str:
    return f"{us / SECOND:.3f}".rstrip("0").rstrip(".") + " s"


def check_results(job: JobAudit) -> dict[str, str]:
    """``violated``, ``ok``, ``not seen`` or ``unknown`` for each finding kind."""
    broken = set(job.violations())
    partial = bool(job.completed_time_unknown)
    results = {}
    for kind in KINDS:
        if kind in broken:
            results[kind] = "violated"
        elif kind == "overlap" and not job.overlap.measured:
            results[kind] = "unknown"
        elif kind == "overlap" and job.limits.max_active is None:
            results[kind] = "no limit"
        elif kind in {"overlap", "stalls", "never_completed"} and partial:
            results[kind] = "not seen"
        else:
            results[kind] = "ok"
    return results


def _job_json(job: JobAudit) -> dict[str, object]:
    o = job.overlap
    results = check_results(job)
    best = job.most_in_window
    return {
        "job_id": job.job_id,
        "waves": [w.number for w in job.waves],
        "missing_waves": list(job.missing_waves),
        "completed_time_unknown": list(job.completed_time_unknown),
        "history": {"start": _iso(job.start), "end": _iso(job.end),
                    "end_from": "now" if job.end_from_now else "latest timestamp"},
        "checks": {k: {"result": results[k], "property": KINDS[k]} for k in KINDS},
        "most_in_window": None if best is None else {
            "start": _iso(best.start), "end": _iso(best.end), "count": best.peak, "waves": list(best.waves)},
        "bursts": [{"start": _iso(b.start), "end": _iso(b.end), "peak": b.peak, "waves": list(b.waves)}
                   for b in job.bursts],
        "overlap": {"peak": o.peak, "peak_waves": list(o.peak_waves), "peak_start": _iso(o.peak_start),
                    "peak_s": _s(o.peak_duration), "overlap_s": _s(o.overlap_duration),
                    "measured_waves": list(o.measured), "unknown_waves": list(o.unknown)},
        "stalls": [{"start": _iso(s.start), "end": _iso(s.end), "duration_s": _s(s.end - s.start),
                    "completed_wave": s.completed_wave, "pending_wave": s.pending_wave, "ongoing": s.ongoing}
                   for s in job.stalls],
        "duplicates": [{"wave": d.wave, "dispatches": d.dispatches, "times": [_iso(t) for t in d.times]}
                       for d in job.duplicates],
        "never_completed": [{"wave": u.wave, "status": u.status} for u in job.never_completed],
    }


def to_json(report: Report) -> dict[str, object]:
    """The report as the ``wavesim.audit/1`` JSON document."""
    limits = report.limits
    return {
        "schema": "wavesim.audit/1",
        "file": report.file,
        "format": report.format,
        "tz": report.tz,
        "level": report.level,
        "limits": {"window_s": _s(limits.window), "burst_limit": limits.burst_limit,
                   "max_active": limits.max_active, "stall_after_s": _s(limits.stall_after),
                   "now": _iso(limits.now)},
        "rows": {"read": report.rows_read, "audited": report.rows_audited, "skipped": len(report.bad_rows),
                 "other_levels": {str(k): v for k, v in report.other_levels.items()}},
        "bad_rows": [{"line": b.line, "reason": b.reason} for b in report.bad_rows],
        "violations": list(report.violations()),
        "exit_code": report.exit_code,
        "jobs": [_job_json(job) for job in report.jobs],
    }


def _columns(rows: Sequence[Sequence[str]], indent: str = "    ") -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in rows]


def _summaries(job: JobAudit) -> dict[str, str]:
    o, limits, best = job.overlap, job.limits, job.most_in_window
    unknown = f"; no completion time for {_waves(job.completed_time_unknown)}" if job.completed_time_unknown else ""
    if best is None:
        bursts = "no dispatch times"
    else:
        found = f"{len(job.bursts)} burst(s)" if job.bursts else "no burst"
        bursts = (f"{found}; most in {_seconds(limits.window)}: {best.peak} ({_waves(best.waves)})"
                  f" at {format_time(best.start)}")
    if o.measured:
        overlap = (f"peak {o.peak} active ({_waves(o.peak_waves)}) for {_seconds(o.peak_duration)}"
                   f" from {format_time(o.peak_start or 0)}; 2+ active {_seconds(o.overlap_duration)} in all{unknown}")
    else:
        overlap = f"cannot tell: no wave with a known end{unknown}"
    stalls = (f"{len(job.stalls)} span(s) over {_seconds(limits.stall_after)} idle with a later wave pending"
              if job.stalls else f"none over {_seconds(limits.stall_after)}{unknown}")
    dups = (f"{_waves(d.wave for d in job.duplicates)} dispatched more than once" if job.duplicates
            else "no wave dispatched twice")
    if job.never_completed:
        never = f"{_waves(u.wave for u in job.never_completed)} not completed by the end"
    elif job.completed_time_unknown:
        never = f"all marked completed (no completed_at for {_waves(job.completed_time_unknown)})"
    else:
        never = "every wave completed"
    return {"bursts": bursts, "overlap": overlap, "stalls": stalls, "duplicates": dups, "never_completed": never}


def _job_table(job: JobAudit) -> list[str]:
    numbers = [w.number for w in job.waves]
    end_from = "--now" if job.end_from_now else "latest timestamp"
    span = (f"{format_time(job.start)} .. {format_time(job.end)} (end: {end_from})"
            if job.start is not None and job.end is not None else "no timestamps")
    lines = [f"job {job.job_id}: {len(numbers)} waves ({ranges(numbers)}), history {span}"]
    results, summaries = check_results(job), _summaries(job)
    lines += _columns([("check", "result", "detail")]
                      + [(_LABEL[k], results[k].upper() if results[k] == "violated" else results[k], summaries[k])
                         for k in KINDS], indent="  ")
    if job.bursts:
        lines.append("  bursts:")
        lines += _columns([("first dispatch", "last dispatch", "peak", "waves")]
                          + [(format_time(b.start), format_time(b.end), str(b.peak), ranges(b.waves))
                             for b in job.bursts])
    if job.stalls:
        lines.append("  stalls:")
        lines += _columns([("from", "to", "idle", "after wave", "pending wave", "")]
                          + [(format_time(s.start), format_time(s.end), _seconds(s.end - s.start),
                              str(s.completed_wave), str(s.pending_wave), "still stalled" if s.ongoing else "")
                             for s in job.stalls])
    if job.duplicates:
        lines.append("  duplicate dispatches:")
        lines += _columns([("wave", "dispatches", "times")]
                          + [(str(d.wave), str(d.dispatches), ", ".join(format_time(t) for t in d.times) or "-")
                             for d in job.duplicates])
    if job.never_completed:
        lines.append("  never completed:")
        lines += _columns([("wave", "status")] + [(str(u.wave), u.status) for u in job.never_completed])
    notes = []
    if job.missing_waves:
        notes.append(f"no usable row for {_waves(job.missing_waves)}")
    stuck = [w.number for w in job.waves if w.finished_all and w.status != "completed" and w.completed_at is None]
    if stuck:
        notes.append(f"{_waves(stuck)} finished all batches (progress columns) but never marked completed")
    if job.completed_time_unknown:
        notes.append(f"{_waves(job.completed_time_unknown)} marked completed without completed_at: the audit "
                     "does not know when they ended, so it cannot measure their overlap or rule out a stall")
    for note in notes:
        lines += textwrap.wrap(note, width=100, initial_indent="  note: ", subsequent_indent="        ")
    return lines


def to_table(report: Report) -> str:
    """The report as aligned plain text."""
    limits = report.limits
    overlap_limit = ("measured, no limit" if limits.max_active is None
                     else f"more than {limits.max_active} active at once")
    lines = [
        f"wavesim audit {report.file} ({report.format}; naive times read as {report.tz}; shown in UTC)",
        f"rows: {report.rows_read} read, {report.rows_audited} audited (dependency_level {report.level}), "
        f"{len(report.bad_rows)} skipped"
        + "".join(f", {n} at level {lvl} not audited" for lvl, n in report.other_levels.items()),
        f"limits: burst = more than {limits.burst_limit} dispatched within {_seconds(limits.window)}; "
        f"overlap = {overlap_limit}; stall = idle over {_seconds(limits.stall_after)}",
    ]
    if report.bad_rows:
        lines.append("skipped rows:")
        lines += [f"  line {b.line}: {b.reason}" for b in report.bad_rows[:BAD_ROWS_SHOWN]]
        if len(report.bad_rows) > BAD_ROWS_SHOWN:
            lines.append(f"  ... and {len(report.bad_rows) - BAD_ROWS_SHOWN} more")
    for job in report.jobs:
        lines += ["", *_job_table(job)]
    broken = report.violations()
    lines += ["", f"result: VIOLATED ({', '.join(_LABEL[k] for k in broken)}), exit 1" if broken
              else "result: clean, exit 0"]
    return "\n".join(lines) + "\n"
