"""The evidence behind the checker's default relay lease (docs/checker.md, "The relay's lease").

Without faults, a wave is pushed twice only when a relay takes it while its claimer is still
between its claim and its mark: the claim must be older than ``relay_lease_s``. The simulated
claimers take far less than the default lease, so the simulation never shows it; with a lease
shorter than a claimer's round trips it does, with no fault at all. Nothing in ``advance()``
stops a claimer from taking longer than its lease, so the checker's default does not assume it.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from coordinator import ClaimNextWave, EnqueueBatches, MarkPushed, ReadClaimedWave, policy_named
from sim.scenario import PRESETS
from sim.workers import Shell

SEEDS = range(6)
#: shorter than one claimer's push and mark in the simulation (tens of milliseconds there)
SHORT_LEASE_S = 0.02


def traced(seed: int, lease_s: float | None) -> Shell:
    switches = () if lease_s is None else (("relay_lease_s", lease_s),)
    shell = Shell(PRESETS["incident"].with_settings(policy="atomic", seed=seed, switches=switches))
    shell.db.trace = []
    assert shell.run() == "completed"
    return shell


def claims_and_relays(shell: Shell) -> tuple[list[float], dict[int, list[tuple[float, float]]], dict[int, int]]:
    """Each claimer's claim-to-mark time; for each relayed wave, (relay read, its claimer's mark); pushes per wave."""
    assert shell.db.trace is not None
    claimed: dict[int, float] = {}
    marked: dict[int, float] = {}
    relays: dict[int, list[float]] = defaultdict(list)
    pushes: dict[int, int] = defaultdict(int)
    by_run: dict[str, int] = {}
    for at, run, effect, result in shell.db.trace:
        if isinstance(effect, ClaimNextWave) and isinstance(result, int):
            claimed[result], by_run[run] = at, result
        elif isinstance(effect, ReadClaimedWave) and isinstance(result, int):
            relays[result].append(at)
        elif isinstance(effect, EnqueueBatches):
            pushes[effect.wave] += 1
        elif isinstance(effect, MarkPushed) and by_run.get(run) == effect.wave:
            marked[effect.wave] = at
    gaps = [marked[w] - claimed[w] for w in marked]
    return gaps, {w: [(t, marked[w]) for t in times] for w, times in relays.items()}, dict(pushes)


@pytest.mark.parametrize("seed", SEEDS)
def test_under_the_default_lease_no_simulated_claimer_outlasts_it_and_no_wave_is_pushed_twice(seed: int) -> None:
    gaps, relays, pushes = claims_and_relays(traced(seed, None))
    assert gaps and max(gaps) < policy_named("atomic").relay_lease_s
    assert relays == {} and set(pushes.values()) == {1}


def test_a_lease_shorter_than_a_claimer_makes_the_relay_push_a_live_claimers_wave_without_any_fault() -> None:
    twice = {}
    for seed in SEEDS:
        gaps, relays, pushes = claims_and_relays(traced(seed, SHORT_LEASE_S))
        assert max(gaps) > SHORT_LEASE_S  # some claimer outlasts this lease
        doubled = {w for w, n in pushes.items() if n > 1}
        # every wave pushed twice was taken by a relay before its claimer had marked it
        assert doubled <= set(relays)
        assert all(any(read < mark for read, mark in relays[w]) for w in doubled)
        twice[seed] = doubled
    assert any(twice.values())
