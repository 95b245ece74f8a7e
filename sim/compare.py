"""Several policies x several seeds on one scenario, summarised.

``compare(scenario, policies, seeds)`` runs every combination; ``Comparison``
summarises each policy's runs as distributions (median, min, max) of the run
metrics and, per property, the share of runs in which it held. ``table()`` is
the at-a-glance text (the write-up's "Before / After" success metrics,
measured); ``to_json()`` is the contract of ``wavesim compare --json``.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from coordinator import POLICIES, PROPERTY_NAMES
from coordinator.properties import queue_bound
from sim.run import PATHS, RunResult, run_one
from sim.scenario import Scenario

__all__ = ["COUNT_LABELS", "NUMERIC", "Comparison", "compare", "distribution"]

#: What the dispatch counts count, in words: the one label each has in tables, the report and the README.
#: A wave is counted once however often it is pushed; a dispatch event is every push, repeats included.
COUNT_LABELS = {
    "max_waves_first_dispatched_in_1s": "waves first dispatched in 1 s",
    "max_dispatch_events_in_1s": "dispatch events in 1 s",
    "waves_dispatched_more_than_once": "waves dispatched more than once",
    "extra_dispatches": "extra dispatches",
}

#: The run metrics summarised as distributions.
NUMERIC = (
    "waves_total", "waves_completed", "waves_dispatched", "makespan_s", "peak_queue_depth", "max_active_waves",
    "max_waves_below_threshold", "max_dispatches_in_1s", "duplicate_dispatches", "lifecycle_violations",
    "dispatch_events", "max_dispatch_events_in_1s", "max_waves_first_dispatched_in_1s", "extra_dispatches",
    "waves_dispatched_more_than_once",
)


def distribution(values: Sequence[float]) -> dict[str, float | None]:
    """Median, min and max of ``values`` (all None when there are none)."""
    if not values:
        return {"median": None, "min": None, "max": None}
    med = statistics.median(values)
    return {"median": round(float(med), 6), "min": min(values), "max": max(values)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Comparison:
    """The runs of each policy on one scenario, seed by seed."""

    scenario: Scenario
    seeds: tuple[int, ...]
    runs: dict[str, list[RunResult]]

    def summary(self, policy: str) -> dict[str, Any]:
        """One policy's metrics as distributions and its properties as shares held."""
        runs = self.runs[policy]
        metrics: dict[str, Any] = {k: distribution([r.metrics[k] for r in runs]) for k in NUMERIC}
        # makespan over completed runs only: a stalled run's end is when it got stuck, not a makespan
        completed = [r for r in runs if r.outcome == "completed"]
        metrics["makespan_s"] = distribution([r.metrics["makespan_s"] for r in completed])
        stuck = [r for r in runs if r.outcome != "completed"]
        metrics["not_completed"] = {
            "runs": len(stuck), "outcomes": dict(sorted(Counter(r.outcome for r in stuck).items())),
            "ended_s": distribution([r.metrics["makespan_s"] for r in stuck]),
        }
        metrics["dispatches_by_path"] = {
            path: distribution([r.metrics["dispatches_by_path"][path] for r in runs]) for path in PATHS
        }
        stalled = [1 if r.metrics["stalled"] else 0 for r in runs]
        metrics["stalled"] = {**distribution(stalled), "share": round(sum(stalled) / len(runs), 6)}
        waves = [r.metrics["stall_wave"] for r in runs if r.metrics["stalled"]]
        metrics["stall_wave"] = {
            **distribution(waves), "counts": {str(w): n for w, n in sorted(Counter(waves).items())},
        }
        props = {
            name: round(sum(1 for r in runs if r.properties[name]["holds"]) / len(runs), 6)
            for name in PROPERTY_NAMES
        }
        switches = self.scenario.with_settings(policy=policy).resolved_policy.switches()
        return {"runs": len(runs), "policy_switches": switches, "metrics": metrics, "properties": props}

    def to_dict(self) -> dict[str, Any]:
        base = self.scenario.to_dict()
        base.pop("policy")
        base.pop("seed")
        return {
            "scenario": base,
            "seeds": list(self.seeds),
            "policies": {p: self.summary(p) for p in self.runs},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def table(self) -> str:
        """Two plain-text tables: the success metrics, then the share of runs each property held."""
        s = self.scenario
        head = (
            f"{s.preset}: {s.waves} waves x {s.wave_size} batches, threshold {s.threshold}%, {s.workers} workers, "
            f"{s.listener} listeners, {s.batch_distribution} batches (mean {s.batch_mean_s:g} s); "
            f"{len(self.seeds)} seeds ({self.seeds[0]}..{self.seeds[-1]})"
        )
        counts = ("max_waves_first_dispatched_in_1s", "max_dispatch_events_in_1s", "extra_dispatches",
                  "waves_dispatched_more_than_once")
        cols = ("policy", *(COUNT_LABELS[c] for c in counts[:2]), "peak queued", "max active",
                *(COUNT_LABELS[c] for c in counts[2:]), "stalled (at wave)", "completed", "makespan s (completed)",
                "dispatches: normal/reconcile/catch-up/advance")
        rows = []
        for p in self.runs:
            m = self.summary(p)["metrics"]
            runs = self.runs[p]
            done = sum(1 for r in runs if r.outcome == "completed") / len(runs)
            sw = m["stall_wave"]
            at = "-" if sw["min"] is None else (
                f"wave {sw['min']}" if sw["min"] == sw["max"] else f"waves {sw['min']}-{sw['max']}"
            )
            paths = "/".join(_num(m["dispatches_by_path"][path]["median"]) for path in PATHS)
            rows.append((
                p, _mmm(m["max_waves_first_dispatched_in_1s"]), _mmm(m["max_dispatch_events_in_1s"]),
                _mmm(m["peak_queue_depth"]), _mmm(m["max_active_waves"]), _mmm(m["extra_dispatches"]),
                _mmm(m["waves_dispatched_more_than_once"]), f"{m['stalled']['share']:.0%} ({at})", f"{done:.0%}",
                _num(m["makespan_s"]["median"]), paths,
            ))
        names = ("single_active", "one_below_thr", "threshold", "no_dup_claim", "no_dup_push", "queue_bounded",
                 "no_stall", "completes")
        prow = [(p, *(f"{self.summary(p)['properties'][n]:.0%}" for n in PROPERTY_NAMES)) for p in self.runs]
        foot = (
            "medians [min-max] over seeds; 'waves first dispatched in 1 s' = most waves first dispatched in any "
            "1 s window, each wave once ('dispatch events' counts every push, repeats included); 'extra dispatches' "
            "= pushes beyond the first of each wave; makespan over completed runs only; 'peak queued' = "
            f"ready batch jobs (queue_bounded allows {queue_bound(s.config)}; the write-up promised <= {s.wave_size})"
        )
        return "\n".join([head, "", _grid(cols, rows), "", "share of runs in which each property held:",
                          _grid(("policy", *names), prow), "", foot]) + "\n"


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.0f}" if float(x).is_integer() or abs(x) >= 100 else f"{x:.1f}"


def _mmm(d: dict[str, Any]) -> str:
    if d["min"] == d["max"]:
        return _num(d["median"])
    return f"{_num(d['median'])} [{_num(d['min'])}-{_num(d['max'])}]"


def _grid(cols: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(c)), *(len(str(r[i])) for r in rows)) for i, c in enumerate(cols)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(cols), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def compare(
    scenario: Scenario,
    policies: Sequence[str] | None = None,
    seeds: Sequence[int] = range(20),
    progress: Callable[[str, int], None] | None = None,
) -> Comparison:
    """Run each policy (all by default) on ``scenario`` once per seed."""
    chosen = list(policies) if policies else list(POLICIES)
    runs: dict[str, list[RunResult]] = {}
    for p in chosen:
        runs[p] = []
        for seed in seeds:
            runs[p].append(run_one(scenario.with_settings(policy=p, seed=seed)))
            if progress is not None:
                progress(p, seed)
    return Comparison(scenario=scenario, seeds=tuple(seeds), runs=runs)
