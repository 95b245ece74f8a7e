"""The calibration check: a simulated history audited next to the write-up's timestamps.

Each seed's run of the ``incident`` preset (default readings, policy
``original``) is exported as the ``wave_coordination`` table a user would dump
(``sim.export.rows_csv``), read back by the audit's own parser, and measured
with ``evidence.timeline``, the same function that measures the write-up's
logged timestamps. The fit is stated per measure: the write-up's number, the
simulated median and range, and whether the median is within the evidence
item's bounds.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from audit.parse import read_history
from readings.evidence import EVIDENCE, timeline, writeup_seconds
from sim.export import rows_csv
from sim.run import run_one
from sim.scenario import PRESETS, Scenario

__all__ = ["TIMELINE_ITEMS", "calibration", "calibration_markdown", "calibration_text"]

TIMELINE_ITEMS = ("gap_2_3", "burst", "late_waves")


def audited_times(scenario: Scenario) -> dict[int, float]:
    """One run's first-dispatch times as the audit reads them back from its exported table (seconds)."""
    result = run_one(scenario)
    history = read_history(rows_csv(result.table), name="simulated history")
    rows = [r for r in history.rows if r.dispatched_at is not None]
    return {r.wave_number: r.dispatched_at / 1e6 for r in rows}  # type: ignore[operator]


def calibration(seeds: Sequence[int] = range(8), scenario: Scenario | None = None) -> dict[str, Any]:
    """Per timeline measure: the write-up's value, the simulated values per seed, median, and the verdict."""
    base = scenario if scenario is not None else PRESETS["incident"]
    written = timeline(writeup_seconds())
    runs = [timeline(audited_times(base.with_settings(seed=s))) for s in seeds]
    items = {i.id: i for i in EVIDENCE.items}
    out: dict[str, Any] = {"scenario": base.to_dict(), "seeds": list(seeds), "measures": {}}
    for name in (*TIMELINE_ITEMS, "late_count"):
        values = [v for v in (r[name] for r in runs) if v is not None]
        median = round(float(statistics.median(values)), 3) if values else None
        item = items.get(name)
        out["measures"][name] = {
            "writeup": written[name], "simulated": [None if v is None else round(v, 3) for v in
                                                    (r[name] for r in runs)],
            "median": median, "min": min(values, default=None), "max": max(values, default=None),
            "bounds": [item.low, item.high] if item else None,
            "fits": item.holds(median) if item else None,
        }
    return out


_NAMES = {"gap_2_3": "seconds from wave 2 to wave 3", "burst": "most waves first dispatched in 1 s",
          "late_waves": "seconds from the burst to the first late wave", "late_count": "waves dispatched late"}


def _rows(cal: dict[str, Any]) -> list[list[str]]:
    rows = []
    for name, m in cal["measures"].items():
        rng = "-" if m["min"] is None else f"{m['min']:g}-{m['max']:g}"
        fits = "-" if m["fits"] is None else ("yes" if m["fits"] else "no")
        bounds = "-" if m["bounds"] is None else f"{m['bounds'][0]:g}-{m['bounds'][1]:g}"
        rows.append([_NAMES[name], f"{m['writeup']:g}", f"{m['median']:g}" if m["median"] is not None else "-",
                     rng, bounds, fits])
    return rows


HEAD = ["measure", "write-up", "simulated median", "range over seeds", "bounds", "fits"]


def calibration_text(cal: dict[str, Any]) -> str:
    s = cal["scenario"]
    rows = _rows(cal)
    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(HEAD)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
    return "\n".join([
        f"calibration: preset {s['preset']} ({s['workers']} workers, {s['listener']} listeners, "
        f"{s['batch_distribution']} batches mean {s['batch_mean_s']:g} s sigma {s['batch_sigma']:g}), "
        f"policy {s['policy']}, seeds {cal['seeds'][0]}..{cal['seeds'][-1]}; simulated history exported and audited",
        line(HEAD), line(["-" * w for w in widths]), *(line(r) for r in rows),
    ]) + "\n"


def calibration_markdown(cal: dict[str, Any]) -> str:
    rows = _rows(cal)
    return "\n".join(["| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD),
                      *("| " + " | ".join(r) + " |" for r in rows)]) + "\n"
