"""The sim's handler-death fault against the fix: a run may die before any write, also between its
push and its mark; the relay pushes the wave again once its lease has run out."""

from __future__ import annotations

from sim.run import run_one
from sim.scenario import PRESETS

SCENARIO = PRESETS["incident"].with_settings(
    policy="atomic", seed=1, waves=8, wave_size=20, batch_sigma=1.5, handler_death_rate=0.01,
)


def test_a_handler_that_dies_between_push_and_mark_is_relayed_and_the_import_completes() -> None:
    result = run_one(SCENARIO)
    assert result.outcome == "completed"
    held = {name for name, v in result.properties.items() if v["holds"]}
    assert {"no_duplicate_claim", "no_stall", "import_completes", "threshold_respected"} <= held
    # at least once: the dead run had pushed, the relay pushed again
    assert not result.properties["no_duplicate_push"]["holds"]
    assert result.metrics["duplicate_dispatches"] >= 1
