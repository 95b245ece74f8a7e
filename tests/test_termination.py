"""Every simulation ends (completion, stall detection, the horizon, the event budget); every check ends
(its state and time budgets)."""

from __future__ import annotations

import json

from click.testing import CliRunner
from coordinator_builders import PINNED_READINGS

from sim.run import run_one
from sim.scenario import PRESETS
from wavesim.cli import main

SMALL = {"waves": 4, "wave_size": 5, "threshold": 60, "workers": 3, "batch_mean_s": 0.5}


def test_a_run_stops_at_a_tiny_horizon() -> None:
    result = run_one(PRESETS["light"].with_settings(policy="atomic", horizon_s=1.0, **SMALL))
    assert (result.outcome, result.metrics["outcome"], result.metrics["makespan_s"]) == ("horizon", "horizon", 1.0)
    assert result.metrics["stalled"] is False and result.metrics["waves_completed"] < 4
    verdict = result.properties["import_completes"]
    assert verdict["holds"] is False and str(verdict["detail"]).endswith("(by the horizon)")


def test_a_stalled_run_stops_long_before_its_horizon() -> None:
    result = run_one(PRESETS["light"].with_settings(policy="guarded", seed=1, switches=PINNED_READINGS, **SMALL))
    assert (result.outcome, result.metrics["stall_wave"]) == ("stalled", 2)
    assert result.scenario.horizon_s == 3600.0
    assert result.metrics["makespan_s"] < 36.0  # under 1 % of the horizon
    assert result.events < 1_000  # a few hundred events, not an hour of idle simulated time


def test_the_event_budget_ends_a_run_with_outcome_budget() -> None:
    full = run_one(PRESETS["incident"].with_settings(policy="seed-fix"))
    cut = run_one(PRESETS["incident"].with_settings(policy="seed-fix", max_events=1_000))
    assert full.outcome == "completed" and full.events > 1_000
    assert (cut.outcome, cut.metrics["outcome"], cut.metrics["stalled"]) == ("budget", "budget", False)
    assert 1_000 < cut.events <= 1_010  # the budget, then the instant's remaining urgent events
    assert cut.metrics["makespan_s"] < full.metrics["makespan_s"]
    assert cut.properties["import_completes"]["holds"] is False


def test_a_budget_that_is_not_reached_changes_nothing() -> None:
    scenario = PRESETS["stragglers"].with_settings(policy="original", waves=6, wave_size=8, seed=2)
    free = run_one(scenario)
    bounded = run_one(scenario.with_settings(max_events=free.events))
    assert bounded.outcome == free.outcome != "budget"
    assert (bounded.metrics, bounded.properties, bounded.events) == (free.metrics, free.properties, free.events)
    assert run_one(scenario.with_settings(max_events=free.events // 2)).outcome == "budget"


def test_wavesim_run_reports_the_budget() -> None:
    result = CliRunner().invoke(main, ["run", "--max-events", "500", "--json"])
    assert result.exit_code == 1, result.output  # stopped by the budget, the import not complete: not "holds"
    doc = json.loads(result.stdout)
    assert (doc["scenario"]["max_events"], doc["metrics"]["outcome"]) == (500, "budget")


def check(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(main, ["check", "--json", *args])
    doc: dict[str, object] = json.loads(result.stdout)
    held = [p["holds"] for p in doc["properties"].values()]  # type: ignore[attr-defined]
    assert result.exit_code == (0 if all(h is True for h in held) else 1), result.output
    return doc


def test_a_check_stops_at_its_state_budget() -> None:
    doc = check("--policy", "atomic", "--waves", "3", "--wave-size", "3", "--max-states", "300")
    assert doc["complete"] is False and doc["stop_reason"] == "state budget of 300 reached"
    assert 300 <= int(str(doc["states"])) < 400


def test_a_check_stops_at_its_time_budget() -> None:
    # an exhaustive search of this scope takes far longer than 0.05 s
    # (atomic: a policy that violates every property would be decided early instead)
    doc = check("--policy", "atomic", "--waves", "4", "--wave-size", "3", "--workers", "3", "--time-limit", "0.05")
    assert doc["complete"] is False and doc["stop_reason"] == "time limit of 0.05 s reached"
