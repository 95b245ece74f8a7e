"""``run_one(scenario)``: one simulated import and everything measured about it.

A ``RunResult`` keeps the scenario, the final wave table, the metrics, the
property verdicts and the time series. ``to_json()`` is the stable contract of
``wavesim run --json``; ``rows_csv()`` is the table as a user would export it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from coordinator import Status, WaveTable
from sim.export import rows_csv
from sim.monitors import max_in_window
from sim.recorder import Recorder, Series
from sim.scenario import Scenario
from sim.workers import Shell

__all__ = ["METRICS", "OUTCOMES", "PATHS", "RunResult", "measure", "run_many", "run_one"]

#: The metric keys of the JSON contract, in order.
METRICS = (
    "waves_total", "waves_completed", "makespan_s", "peak_queue_depth", "max_active_waves",
    "max_waves_below_threshold", "max_dispatches_in_1s", "duplicate_dispatches", "stalled", "stall_wave",
    "dispatch_times_s", "outcome", "waves_dispatched", "lifecycle_violations", "dispatch_events",
    "max_dispatch_events_in_1s", "max_waves_first_dispatched_in_1s", "extra_dispatches",
    "waves_dispatched_more_than_once", "decisions", "dispatches_by_path",
)
#: The paths a handler run can end on (``coordinator.Decision.path``).
PATHS = ("normal", "db-reconcile", "catch-up", "advance")
OUTCOMES = ("dispatched", "monitoring", "idle")


def _t(value: float) -> float:
    """Simulated times are reported to the microsecond."""
    return round(value, 6)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    """What one run measured. ``metrics`` and ``properties`` are plain JSON values."""

    scenario: Scenario
    outcome: str  # 'completed', 'stalled', 'horizon' or 'budget'
    table: WaveTable
    metrics: dict[str, Any]
    properties: dict[str, dict[str, object]]
    series: Series
    db_operations: int
    events: int = 0  # SimPy events processed (the budget is scenario.max_events)

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario.to_dict(), "policy_switches": self.scenario.resolved_policy.switches(),
                "metrics": self.metrics, "properties": self.properties}

    def to_json(self) -> str:
        """The JSON contract of ``wavesim run --json`` (same seed, same text)."""
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def rows_csv(self) -> str:
        """The final ``wave_coordination`` rows as CSV (see ``sim.export``)."""
        return rows_csv(self.table)


def measure(scenario: Scenario, outcome: str, table: WaveTable, ended_s: float, rec: Recorder) -> dict[str, Any]:
    """The metrics of the JSON contract, from what one run recorded."""
    dispatch_times = {w: [_t(t) for t in ts] for w, ts in rec.dispatch_times(scenario.waves).items()}
    left = [r.wave_number for r in table.rows if r.status is not Status.COMPLETED]
    stalled = outcome == "stalled"
    events = [t for t, _ in rec.dispatches]
    firsts = [ts[0] for ts in rec.dispatch_times(scenario.waves).values() if ts]
    decisions = {p: {o: rec.decisions.get((p, o), 0) for o in OUTCOMES} for p in PATHS}
    extra = sum(max(0, r.dispatch_count - 1) for r in table.rows)
    return {
        "waves_total": scenario.waves,
        "waves_completed": scenario.waves - len(left),
        "makespan_s": _t(ended_s),
        "peak_queue_depth": rec.peak_depth,
        "max_active_waves": rec.max_active,
        "max_waves_below_threshold": rec.max_below,
        "max_dispatches_in_1s": max_in_window([t for t, _ in rec.dispatches], 1.0),
        "duplicate_dispatches": sum(max(0, r.dispatch_count - 1) for r in table.rows),
        "stalled": stalled,
        "stall_wave": left[0] if stalled and left else None,
        "dispatch_times_s": dispatch_times,
        "outcome": outcome,
        "waves_dispatched": sum(1 for r in table.rows if r.dispatch_count > 0),
        "lifecycle_violations": len(table.violations),
        # named for what they count (the two above, max_dispatches_in_1s and duplicate_dispatches, are
        # kept for the contract: they are max_dispatch_events_in_1s and extra_dispatches)
        "dispatch_events": len(events),
        "max_dispatch_events_in_1s": max_in_window(events, 1.0),
        "max_waves_first_dispatched_in_1s": max_in_window(firsts, 1.0),
        "extra_dispatches": extra,
        "waves_dispatched_more_than_once": sum(1 for r in table.rows if r.dispatch_count > 1),
        "decisions": decisions,
        "dispatches_by_path": {p: decisions[p]["dispatched"] for p in PATHS},
    }


def run_one(scenario: Scenario) -> RunResult:
    """Simulate one import under ``scenario`` (its policy and seed included)."""
    shell = Shell(scenario)
    outcome = shell.run()
    table = shell.final if shell.final is not None else shell.db.table
    return RunResult(
        scenario=scenario, outcome=outcome, table=table,
        metrics=measure(scenario, outcome, table, shell.ended_s, shell.recorder),
        properties=shell.monitors.to_dict(), series=shell.recorder.series(), db_operations=shell.db.operations,
        events=shell.events,
    )


def run_many(scenario: Scenario, seeds: Iterable[int], policies: Iterable[str] | None = None) -> Iterator[RunResult]:
    """``run_one`` for each policy (default: the scenario's) and each seed, policy by policy."""
    seeds = list(seeds)
    for policy in policies if policies is not None else [scenario.policy]:
        for seed in seeds:
            yield run_one(scenario.with_settings(policy=policy, seed=seed))
