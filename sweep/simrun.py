"""One sweep run: a simulated import, flattened to one row.

Each row records what produced it (``settings``: the resolved scenario, policy
switches included, and ``wavesim_version``), so that a resumed sweep reuses a
row only when every one of those matches (``sweep.resume``).
"""

from __future__ import annotations

import json
from typing import Any

from coordinator import PROPERTY_NAMES
from sim.run import run_one
from sim.scenario import Scenario, with_point
from sweep.grid import Task, point_key
from userio.version import __version__

__all__ = ["ROW_METRICS", "columns", "run_settings", "sim_row"]

#: The scalar metrics of ``wavesim run --json`` that a row keeps.
ROW_METRICS = (
    "waves_completed", "waves_dispatched", "makespan_s", "peak_queue_depth", "max_active_waves",
    "max_waves_below_threshold", "max_dispatches_in_1s", "duplicate_dispatches", "stalled", "stall_wave",
)


def columns(params: list[str]) -> list[str]:
    """The output file's columns for a sweep over ``params``."""
    return ["point", "seed", *params, *ROW_METRICS, *(f"holds_{p}" for p in PROPERTY_NAMES),
            "settings", "wavesim_version"]


def run_settings(scenario: Scenario) -> dict[str, Any]:
    """Every setting a run's numbers depend on but its seed: the policy, its resolved
    switches and the rest of the scenario (the preset's name is only a label)."""
    settings = scenario.to_dict()
    del settings["seed"], settings["preset"]
    settings["switches"] = scenario.resolved_policy.switches()
    return settings


def sim_row(base: dict[str, Any], task: Task) -> dict[str, object]:
    """Run ``base`` with the task's settings and seed; a row of metrics and verdicts."""
    point = dict(task.point)
    scenario = with_point(Scenario(**base), point)
    result = run_one(scenario.with_settings(seed=task.seed))
    row: dict[str, object] = {"point": point_key(point), "seed": task.seed, **point}
    row.update({name: result.metrics[name] for name in ROW_METRICS})
    row.update({f"holds_{name}": result.properties[name]["holds"] for name in PROPERTY_NAMES})
    row["settings"] = json.dumps(run_settings(scenario), sort_keys=True)
    row["wavesim_version"] = __version__
    return row
