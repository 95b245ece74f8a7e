"""The sim's handler-death fault against the fix: a run may die before any write, also between its
push and its mark; the relay pushes the wave again once its lease has run out.

The duplicate push is traced, in the run's DB trace, to the relay's push of a wave whose claimer
died after its own push; with the relay's read broken on purpose the same seed pushes no wave twice
and leaves that wave claimed for ever."""

from __future__ import annotations

import pytest

from coordinator import (
    ClaimNextWave,
    CompleteFinishedWaves,
    Effect,
    EnqueueBatches,
    MarkPushed,
    ReadClaimedWave,
    Status,
    WaveTable,
)
from coordinator import table as coordinator_table
from sim.run import run_one
from sim.scenario import PRESETS
from sim.workers import Shell

SCENARIO = PRESETS["incident"].with_settings(
    policy="atomic", seed=1, waves=8, wave_size=20, batch_sigma=1.5, handler_death_rate=0.01,
)

Op = tuple[float, Effect, object]


def traced() -> Shell:
    shell = Shell(SCENARIO)
    shell.db.trace = []
    shell.run()
    return shell


def runs_of(shell: Shell) -> dict[str, list[Op]]:
    """Every handler run's operations, in order, by the run's (unique) label."""
    assert shell.db.trace is not None
    runs: dict[str, list[Op]] = {}
    for t, label, effect, result in shell.db.trace:
        runs.setdefault(label, []).append((t, effect, result))
    return runs


def pushers(runs: dict[str, list[Op]], wave: int) -> list[str]:
    """The runs that pushed ``wave``'s batch jobs, in the order of their pushes."""
    pushes = [(t, label) for label, ops in runs.items() for t, e, r in ops
              if isinstance(e, EnqueueBatches) and e.wave == wave and r]
    return [label for _, label in sorted(pushes)]


def test_a_handler_that_dies_between_push_and_mark_is_relayed_and_the_import_completes() -> None:
    result = run_one(SCENARIO)
    assert result.outcome == "completed"
    held = {name for name, v in result.properties.items() if v["holds"]}
    assert {"no_duplicate_claim", "no_stall", "import_completes", "threshold_respected"} <= held
    # at least once: the dead run had pushed, the relay pushed again
    assert not result.properties["no_duplicate_push"]["holds"]
    twice = [r.wave_number for r in result.table.rows if r.dispatch_count > 1]
    assert result.properties["no_duplicate_push"]["detail"].endswith(
        ", ".join(f"wave {w} x2" for w in twice))
    assert result.metrics["extra_dispatches"] == result.metrics["duplicate_dispatches"] == len(twice)


def test_each_duplicate_push_is_the_relays_push_of_a_wave_whose_claimer_died_after_its_push() -> None:
    shell = traced()
    assert shell.outcome == "completed" and shell.final is not None
    twice = [r.wave_number for r in shell.final.rows if r.dispatch_count > 1]
    assert twice, "no wave was pushed twice on this seed: the scenario no longer exercises the relay"
    runs = runs_of(shell)
    for wave in twice:
        claimer, relay = pushers(runs, wave)  # exactly two pushes: the claimer's and the relay's
        claimed = runs[claimer]
        # the claimer claimed the wave, pushed it, and died: its push is its last operation, no mark
        assert [(type(e), r) for _, e, r in claimed[-2:]] == [(ClaimNextWave, wave), (EnqueueBatches, 1)]
        relayed = runs[relay][:4]  # what a run does after its mark is not the relay's business
        # a later run found the wave claimed but unmarked (the outbox row), pushed it again and marked it
        assert [type(e) for _, e, _ in relayed] == [CompleteFinishedWaves, ReadClaimedWave, EnqueueBatches, MarkPushed]
        assert [r for _, _, r in relayed[1:]] == [wave, 1, 1]
        # only once the claim's lease had run out: a live claimer is left alone
        assert relayed[1][0] - claimed[-2][0] >= shell.policy.relay_lease_s
    assert shell.faults is not None and shell.faults.counts.handler_deaths >= len(twice)


def test_without_the_relay_the_same_seed_pushes_no_wave_twice_and_never_completes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A mutation: the relay's read finds nothing. The wave the dead claimer pushed is never pushed
    again, never marked and never completed: the duplicate was the price of the relay's guarantee."""
    twice = [r.wave_number for r in run_one(SCENARIO).table.rows if r.dispatch_count > 1]

    def nothing_claimed(table: WaveTable, effect: ReadClaimedWave, now: float) -> tuple[WaveTable, None]:
        return table, None

    monkeypatch.setitem(coordinator_table._OPERATIONS, ReadClaimedWave, nothing_claimed)
    result = run_one(SCENARIO)
    assert result.properties["no_duplicate_push"]["holds"] and result.metrics["extra_dispatches"] == 0
    assert [r.wave_number for r in result.table.rows if r.status is not Status.COMPLETED] == twice
    assert all(result.table.row(w).status is Status.DISPATCHING for w in twice)
    assert result.outcome == "stalled" and not result.properties["import_completes"]["holds"]
