"""One sweep run: a simulated import, flattened to one row."""

from __future__ import annotations

from typing import Any

from coordinator import PROPERTY_NAMES
from sim.run import run_one
from sim.scenario import Scenario, with_point
from wavesim.sweep.grid import Task, point_key

__all__ = ["ROW_METRICS", "columns", "sim_row"]

#: The scalar metrics of ``wavesim run --json`` that a row keeps.
ROW_METRICS = (
    "waves_completed", "waves_dispatched", "makespan_s", "peak_queue_depth", "max_active_waves",
    "max_waves_below_threshold", "max_dispatches_in_1s", "duplicate_dispatches", "stalled", "stall_wave",
)


def columns(params: list[str]) -> list[str]:
    """The output file's columns for a sweep over ``params``."""
    return ["point", "seed", *params, *ROW_METRICS, *(f"holds_{p}" for p in PROPERTY_NAMES)]


def sim_row(base: dict[str, Any], task: Task) -> dict[str, object]:
    """Run ``base`` with the task's settings and seed; a row of metrics and verdicts."""
    point = dict(task.point)
    result = run_one(with_point(Scenario(**base), point).with_settings(seed=task.seed))
    row: dict[str, object] = {"point": point_key(point), "seed": task.seed, **point}
    row.update({name: result.metrics[name] for name in ROW_METRICS})
    row.update({f"holds_{name}": result.properties[name]["holds"] for name in PROPERTY_NAMES})
    return row
