"""The audit's findings, per job, from the rows of one dependency level.

Five checks, each a pure function of one job's waves and the ``Limits``:

* **bursts** — for every dispatch instant t, the window [t, t + window) holds
  some number of dispatches; a window holding more than ``burst_limit`` is hot.
  Hot windows that overlap are merged into one burst, reported with its first
  and last dispatch, its waves and its peak (the most in one window). Windows
  are half-open, so with whole-second timestamps a burst is one second.
* **overlap** — each wave is active from its first dispatch to its completion;
  a wave with no completion time is active to the end of the history if its
  status is dispatching or processing, and *unknown* if its status is
  completed (it is then left out, and the audit says so). Reported: the most
  waves active at once, when and for how long, and the total time with two or
  more active. More than ``max_active`` at once is a violation only when a
  limit is given: under a completion threshold below 100 % the finishing tails
  of earlier waves legitimately overlap the current one, so a count of active
  waves cannot tell a burst from stragglers (the simulated ``atomic`` policy,
  which never has two waves below threshold, still shows 3 to 5 active at once
  with heavy-tailed batches).
* **stalls** — a span longer than ``stall_after`` in which a wave had
  completed, a later wave was still pending, nothing was dispatched and no
  wave was working (every dispatched wave had completed, or by its progress
  columns had finished all its batches without being marked completed). A
  wave whose completion time is unknown counts as working, so a stall is never
  claimed from missing data.
* **duplicates** — a wave dispatched more than once: its ``dispatch_count`` is
  above 1, or the export has several dispatched rows for it (one row per
  dispatch).
* **never completed** — a wave whose status is not completed and which has no
  completion time by the end of the history.

The end of a job's history is ``now`` when given, else the latest timestamp
in the file for that job.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from audit.parse import Row

__all__ = [
    "KINDS",
    "Burst",
    "Duplicate",
    "JobAudit",
    "Limits",
    "Overlap",
    "Stall",
    "Unfinished",
    "Wave",
    "audit_job",
    "waves_of",
]

SECOND = 1_000_000
#: The finding kinds, in report order, with the DESIGN property each bears on.
KINDS = {
    "bursts": "queue_bounded",
    "overlap": "single_active_wave",
    "stalls": "no_stall",
    "duplicates": "no_duplicate_push",
    "never_completed": "import_completes",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """What counts as a violation; times in microseconds."""

    window: int = SECOND
    burst_limit: int = 1
    max_active: int | None = None
    stall_after: int = 60 * SECOND
    now: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Wave:
    """One wave of one job, gathered from its rows."""

    number: int
    status: str
    dispatches: tuple[int, ...]
    dispatch_count: int
    completed_at: int | None
    finished_all: bool

    @property
    def dispatched_at(self) -> int | None:
        return self.dispatches[0] if self.dispatches else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Burst:
    """Dispatches of more than ``burst_limit`` waves within one window."""

    start: int
    end: int
    peak: int
    waves: tuple[int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Overlap:
    """How many waves were active at once, and for how long."""

    peak: int
    peak_waves: tuple[int, ...]
    peak_start: int | None
    peak_duration: int
    overlap_duration: int
    measured: tuple[int, ...]
    unknown: tuple[int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Stall:
    """Nothing dispatched and nothing working, with a completed wave and a later one pending."""

    start: int
    end: int
    completed_wave: int
    pending_wave: int
    ongoing: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Duplicate:
    """A wave dispatched more than once."""

    wave: int
    dispatches: int
    times: tuple[int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Unfinished:
    """A wave with no completion by the end of the history."""

    wave: int
    status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class JobAudit:
    """Everything the audit found for one job."""

    job_id: str
    waves: tuple[Wave, ...]
    start: int | None
    latest: int | None
    end: int | None
    end_from_now: bool
    most_in_window: Burst | None
    bursts: tuple[Burst, ...]
    overlap: Overlap
    stalls: tuple[Stall, ...]
    duplicates: tuple[Duplicate, ...]
    never_completed: tuple[Unfinished, ...]
    missing_waves: tuple[int, ...]
    completed_time_unknown: tuple[int, ...]
    limits: Limits

    def violations(self) -> tuple[str, ...]:
        """The finding kinds that break a limit, in ``KINDS`` order."""
        broken = {
            "bursts": bool(self.bursts),
            "overlap": self.limits.max_active is not None and self.overlap.peak > self.limits.max_active,
            "stalls": bool(self.stalls),
            "duplicates": bool(self.duplicates),
            "never_completed": bool(self.never_completed),
        }
        return tuple(k for k in KINDS if broken[k])


def waves_of(rows: Iterable[Row]) -> tuple[Wave, ...]:
    """One ``Wave`` per wave number; rows of one wave (one per dispatch) are merged."""
    grouped: dict[int, list[Row]] = {}
    for row in rows:
        grouped.setdefault(row.wave_number, []).append(row)
    waves = []
    for number in sorted(grouped):
        group = sorted(grouped[number], key=lambda r: r.line)
        dispatches = tuple(sorted(r.dispatched_at for r in group if r.dispatched_at is not None))
        counted = max((r.dispatch_count or 0) for r in group)
        completions = [r.completed_at for r in group if r.completed_at is not None]
        last = group[-1]
        finished_all = any(
            r.total_batches is not None and r.completed_batches is not None
            and r.completed_batches + (r.failed_batches or 0) >= r.total_batches
            for r in group
        )
        waves.append(Wave(
            number=number,
            status=last.status,
            dispatches=dispatches,
            dispatch_count=max(counted, len(dispatches)),
            completed_at=max(completions) if completions else None,
            finished_all=finished_all,
        ))
    return tuple(waves)


def _most_in_window(waves: tuple[Wave, ...], window: int) -> tuple[list[tuple[int, int, int]], Burst | None]:
    """(start, end, count) for every dispatch's window, and the fullest window."""
    instants = sorted((t, w.number) for w in waves for t in w.dispatches)
    windows = []
    best: Burst | None = None
    j = 0
    for i, (start, _) in enumerate(instants):
        j = max(j, i)
        while j + 1 < len(instants) and instants[j + 1][0] < start + window:
            j += 1
        inside = instants[i:j + 1]
        windows.append((start, inside[-1][0], len(inside)))
        if best is None or len(inside) > best.peak:
            best = Burst(start=start, end=inside[-1][0], peak=len(inside), waves=tuple(sorted({w for _, w in inside})))
    return windows, best


def find_bursts(waves: tuple[Wave, ...], limits: Limits) -> tuple[Burst | None, tuple[Burst, ...]]:
    """The fullest window, and the hot windows merged into bursts."""
    windows, best = _most_in_window(waves, limits.window)
    instants = sorted((t, w.number) for w in waves for t in w.dispatches)
    merged: list[list[int]] = []  # [first window start, last window start, last dispatch, peak]
    for start, end, count in windows:
        if count <= limits.burst_limit:
            continue
        if merged and start < merged[-1][1] + limits.window:
            merged[-1][1:] = [start, max(merged[-1][2], end), max(merged[-1][3], count)]
        else:
            merged.append([start, start, end, count])
    bursts = tuple(
        Burst(start=s, end=e, peak=p, waves=tuple(sorted({w for t, w in instants if s <= t <= e})))
        for s, _, e, p in merged
    )
    return best, bursts


def _active_intervals(waves: tuple[Wave, ...], end: int) -> tuple[list[tuple[int, int, int]], list[int]]:
    intervals, unknown = [], []
    for w in waves:
        if w.dispatched_at is None:
            continue
        if w.completed_at is not None:
            intervals.append((w.dispatched_at, w.completed_at, w.number))
        elif w.status == "completed":
            unknown.append(w.number)
        else:
            intervals.append((w.dispatched_at, max(end, w.dispatched_at), w.number))
    return intervals, unknown


def find_overlap(waves: tuple[Wave, ...], end: int) -> Overlap:
    """Sweep the active intervals; an interval is [dispatched, completed)."""
    intervals, unknown = _active_intervals(waves, end)
    events = sorted([(s, 1, n) for s, e, n in intervals if e > s] + [(e, -1, n) for s, e, n in intervals if e > s])
    active: set[int] = set()
    peak, peak_start, peak_duration, overlap = 0, None, 0, 0
    peak_waves: tuple[int, ...] = ()
    previous = None
    for t, change, number in events:  # ends (-1) sort before starts (+1) at the same instant
        if previous is not None and t > previous:
            if len(active) >= 2:
                overlap += t - previous
            if peak and len(active) == peak:
                peak_duration += t - previous
        previous = t
        if change == 1:
            active.add(number)
            if len(active) > peak:
                peak, peak_waves, peak_start, peak_duration = len(active), tuple(sorted(active)), t, 0
        else:
            active.discard(number)
    return Overlap(
        peak=peak, peak_waves=peak_waves, peak_start=peak_start, peak_duration=peak_duration,
        overlap_duration=overlap, measured=tuple(sorted(n for _, _, n in intervals)), unknown=tuple(unknown),
    )


def _working(w: Wave, t: int) -> bool:
    """Whether wave ``w`` may be running batches just after time ``t``."""
    if w.dispatched_at is None or w.dispatched_at > t:
        return False
    if w.completed_at is not None:
        return w.completed_at > t
    if w.status == "completed":
        return True  # completed at an unknown time: cannot rule it out
    return not w.finished_all


def find_stalls(waves: tuple[Wave, ...], end: int, limits: Limits) -> tuple[Stall, ...]:
    """Spans between events with nothing dispatched, nothing working and work left."""
    dispatch_times = {t for w in waves for t in w.dispatches}
    times = sorted(dispatch_times | {w.completed_at for w in waves if w.completed_at is not None})
    times = [t for t in times if t < end] + [end]
    spans: list[list[int]] = []  # [start, end, completed_wave, pending_wave]
    for a, b in zip(times, times[1:], strict=False):
        done = [w.number for w in waves if w.completed_at is not None and w.completed_at <= a]
        if not done or any(_working(w, a) for w in waves):
            continue
        pending = [w.number for w in waves if w.number > min(done) and (w.dispatched_at is None or w.dispatched_at > a)]
        if not pending:
            continue
        if spans and spans[-1][1] == a and a not in dispatch_times:
            spans[-1][1] = b
        else:
            spans.append([a, b, max(d for d in done if d < min(pending)), min(pending)])
    return tuple(
        Stall(start=s, end=e, completed_wave=c, pending_wave=p, ongoing=e == end and e not in dispatch_times)
        for s, e, c, p in spans if e - s > limits.stall_after
    )


def audit_job(job_id: str, rows: Iterable[Row], limits: Limits) -> JobAudit:
    """All five checks for one job's rows (of one dependency level)."""
    waves = waves_of(rows)
    stamps = [t for w in waves for t in (*w.dispatches, w.completed_at) if t is not None]
    start = min(stamps) if stamps else None
    latest = max(stamps) if stamps else None
    end = limits.now if limits.now is not None else latest
    best, bursts = find_bursts(waves, limits)
    horizon = end if end is not None else 0
    numbers = {w.number for w in waves}
    return JobAudit(
        job_id=job_id,
        waves=waves,
        start=start,
        latest=latest,
        end=end,
        end_from_now=limits.now is not None,
        most_in_window=best,
        bursts=bursts,
        overlap=find_overlap(waves, horizon),
        stalls=find_stalls(waves, horizon, limits) if end is not None else (),
        duplicates=tuple(
            Duplicate(wave=w.number, dispatches=w.dispatch_count, times=w.dispatches)
            for w in waves if w.dispatch_count > 1
        ),
        never_completed=tuple(
            Unfinished(wave=w.number, status=w.status)
            for w in waves if w.status != "completed" and w.completed_at is None
        ),
        missing_waves=tuple(n for n in range(1, max(numbers) + 1) if n not in numbers),
        completed_time_unknown=tuple(w.number for w in waves if w.status == "completed" and w.completed_at is None),
        limits=limits,
    )
