"""The write-up's evidence (``evidence.toml``) and how a simulated run is measured against it.

Each item names the code it is about (``original``, ``guarded`` or ``seed-fix``),
the sentence it comes from, what is measured and the bounds within which the
measured value (the median over seeds; the mean for shares) counts as
reproducing it. The timeline items are measured the same way on the write-up's
own timestamps and on a simulated history (``timeline``), so the two can be put
side by side.
"""

from __future__ import annotations

import statistics
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

from coordinator import ACTIVE, Status
from sim.monitors import max_in_window
from sim.run import RunResult

__all__ = [
    "EVIDENCE", "Item", "first_dispatches", "judge", "load_evidence", "measure", "timeline", "writeup_seconds",
]

#: A late wave is first dispatched at least this long after the burst's last wave.
LATE_AFTER_S = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Item:
    """One piece of evidence."""

    id: str
    kind: str  # 'observation' or 'promise'
    policy: str
    sentence: str
    measure: str
    unit: str
    low: float
    high: float
    why: str
    section: str = ""

    def holds(self, value: float | None) -> bool:
        return value is not None and self.low <= value <= self.high


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """The file: its items and the write-up's timestamps."""

    source: str
    items: tuple[Item, ...]
    dispatched_at: dict[int, str]

    def observations(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.kind == "observation")

    def promises(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.kind == "promise")


def load_evidence(text: str | None = None) -> Evidence:
    """The evidence file shipped with wavesim (or ``text``, for tests)."""
    if text is None:
        text = resources.files("readings").joinpath("evidence.toml").read_text(encoding="utf-8-sig")
    data = tomllib.loads(text)
    items = tuple(Item(**{k: v for k, v in raw.items()}) for raw in data["item"])
    stamps = {int(w): str(t) for w, t in data["dispatched_at"].items()}
    return Evidence(source=str(data["source"]), items=items, dispatched_at=stamps)


EVIDENCE = load_evidence()


def writeup_seconds(evidence: Evidence = EVIDENCE) -> dict[int, float]:
    """The write-up's dispatch times, seconds after wave 2's."""
    stamps = {w: datetime.fromisoformat(t) for w, t in evidence.dispatched_at.items()}
    zero = min(stamps.values())
    return {w: (t - zero).total_seconds() for w, t in sorted(stamps.items())}


def first_dispatches(result: RunResult) -> dict[int, float]:
    """Each dispatched wave's first dispatch time (the row's ``dispatched_at``, as the DB shows it)."""
    return {r.wave_number: r.dispatched_at for r in result.table.rows if r.dispatched_at is not None}


def timeline(times: Mapping[int, float]) -> dict[str, float | None]:
    """The timeline measures of one history: the same function for the write-up and a simulation."""
    firsts = sorted(times.values())
    gap = times[3] - times[2] if 2 in times and 3 in times else None
    burst = max_in_window(firsts, 1.0) if firsts else 0
    end = None
    for i, t in enumerate(firsts):  # the earliest 1 s window holding the burst; its last wave's time
        inside = [u for u in firsts[i:] if u < t + 1.0]
        if len(inside) == burst:
            end = inside[-1]
            break
    late = [t for t in firsts if end is not None and t >= end + LATE_AFTER_S]
    return {
        "gap_2_3": gap,
        "burst": float(burst),
        "late_waves": (late[0] - end) if late and end is not None else 0.0,
        "late_count": float(len(late)),
    }


def _stall_shape(result: RunResult) -> float:
    """1 when the run stalled as the write-up saw it: no wave active, the highest completed wave's successor
    pending, nothing left to run (a stall is quiescence with a wave left)."""
    if result.outcome != "stalled":
        return 0.0
    rows = result.table.rows
    if any(r.status in ACTIVE for r in rows):
        return 0.0
    done = [r.wave_number for r in rows if r.status is Status.COMPLETED]
    return 1.0 if done and max(done) < len(rows) and rows[max(done)].status is Status.PENDING else 0.0


def _reconcile_share(result: RunResult) -> float:
    paths = result.metrics["dispatches_by_path"]
    total = sum(paths.values())
    return paths["db-reconcile"] / total if total else 0.0


#: item id -> the number one run gives for it
MEASURES: dict[str, Callable[[RunResult], float | None]] = {
    "gap_2_3": lambda r: timeline(first_dispatches(r))["gap_2_3"],
    "burst": lambda r: timeline(first_dispatches(r))["burst"],
    "late_waves": lambda r: timeline(first_dispatches(r))["late_waves"],
    "reconcile_active": _reconcile_share,
    "post_guard_stall": _stall_shape,
    "one_active_wave": lambda r: float(r.metrics["max_active_waves"]),
    "queue_at_most_50": lambda r: float(r.metrics["peak_queue_depth"]),
}


def measure(item: Item, runs: Sequence[RunResult]) -> float | None:
    """The item's number over runs: the mean of a share, else the median (None when no run gives one)."""
    values = [v for v in (MEASURES[item.id](r) for r in runs) if v is not None]
    if not values:
        return None
    return round(statistics.fmean(values) if item.unit == "share" else float(statistics.median(values)), 3)


def judge(item: Item, runs: Sequence[RunResult]) -> dict[str, Any]:
    """``{"value", "reproduced"}`` for one item over runs."""
    value = measure(item, runs)
    return {"value": value, "reproduced": item.holds(value)}
