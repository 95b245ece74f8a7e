"""The ``settled`` reduction: when a property is settled, that the premise is checked on every
step, and that pruning settled states keeps every verdict and every shortest length."""

from __future__ import annotations

import pytest
from coordinator_builders import forgetful_apply

from coordinator import POLICIES, PROPERTY_NAMES, Status, WaveConfig, WaveTable
from model.actions import Spec
from model.checker import check
from model.scope import Scope
from model.settled import SETTLED, PremiseBroken, check_step, settled
from model.state import Row, table_of

P, D, R, C = Status.PENDING, Status.DISPATCHING, Status.PROCESSING, Status.COMPLETED
CONFIG = WaveConfig(wave_size=3, completion_threshold=50)  # the threshold is 2 of 3 batches


def row(status: Status, finished: int) -> Row:
    """A row of 3 batches with ``finished`` distinct batches finished (and counted)."""
    return (status, finished, 0, (1 << finished) - 1, int(status is not P), 3, int(status is not P))


def table(*rows: Row) -> WaveTable:
    return table_of(rows, 3)


def test_threshold_respected_is_settled_once_every_pending_waves_predecessor_may_dispatch_it() -> None:
    rule = SETTLED["threshold_respected"]
    assert not rule(table(row(R, 1), row(P, 0), row(P, 0)), CONFIG)  # wave 2 may still leave early
    assert not rule(table(row(R, 2), row(P, 0), row(P, 0)), CONFIG)  # wave 3's predecessor is pending
    assert not rule(table(row(C, 3), row(R, 1), row(P, 0)), CONFIG)  # wave 3's predecessor is below
    assert rule(table(row(C, 3), row(R, 2), row(P, 0)), CONFIG)
    assert rule(table(row(C, 3), row(D, 0), row(R, 0)), CONFIG)  # nothing pending: nothing can leave it


def test_one_wave_below_threshold_is_settled_once_one_wave_at_most_is_below() -> None:
    rule = SETTLED["one_wave_below_threshold"]
    assert not rule(table(row(R, 1), row(P, 0)), CONFIG)  # pending is below too: it may become active
    assert not rule(table(row(C, 3), row(C, 1), row(P, 0)), CONFIG)  # a completed wave below may be reopened
    assert rule(table(row(R, 2), row(P, 0)), CONFIG)
    assert settled((row(R, 2), row(R, 2), row(P, 1)), CONFIG) == {"threshold_respected", "one_wave_below_threshold"}


def test_a_step_against_the_premise_is_refused() -> None:
    before = table(row(R, 2), row(P, 0))
    check_step(before, table(row(C, 3), row(D, 0)), "a dispatch")  # forward: fine
    with pytest.raises(PremiseBroken, match="wrote wave 2 back to pending"):
        check_step(table(row(R, 2), row(D, 0)), before, "SetStatus")
    with pytest.raises(PremiseBroken, match="lowered wave 1's distinct finished batches"):
        check_step(before, table(row(R, 1), row(P, 0)), "a reset")


def test_the_search_checks_the_premise_on_the_steps_it_takes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A core whose record forgets a finished batch is caught by the reduction, not silently pruned."""
    import model.actions as actions

    monkeypatch.setattr(actions, "apply", forgetful_apply(actions.apply))
    with pytest.raises(PremiseBroken, match="lowered wave 1"):
        check(Scope(), POLICIES["guarded"], use=("settled",), engine="python")
    assert check(Scope(), POLICIES["guarded"], use=(), engine="python").decided  # without it, no premise to break


CASES = [
    ("guarded", Scope(waves=3, wave_size=2)),
    ("seed-fix", Scope(max_handlers=2)),
    ("seed-fix", Scope(waves=3, wave_size=2, max_handlers=1, duplicates=1)),
    ("original", Scope(waves=3, wave_size=2, max_handlers=1)),
    # one listener slot: with the reconciler's run beside two listener runs the plain graph outgrows the memory budget
    ("atomic", Scope(waves=3, losses=1, max_handlers=1)),
]


@pytest.mark.parametrize(("policy", "scope"), CASES, ids=[f"{p}-{s.label()}" for p, s in CASES])
def test_pruning_settled_states_keeps_every_verdict_and_shortest_length(policy: str, scope: Scope) -> None:
    plain = check(scope, POLICIES[policy], use=())
    pruned = check(scope, POLICIES[policy], use=("settled",))
    assert plain.decided and pruned.decided and plain.settled == 0
    assert {n: pruned.holds(n) for n in PROPERTY_NAMES} == {n: plain.holds(n) for n in PROPERTY_NAMES}
    assert {n: len(f.labels) for n, f in pruned.found.items()} == {n: len(f.labels) for n, f in plain.found.items()}
    assert pruned.states <= plain.states


@pytest.mark.parametrize("name", sorted(SETTLED))
def test_asked_alone_a_settled_property_prunes_and_keeps_its_verdict(name: str) -> None:
    scope = Scope(waves=3, wave_size=2, max_handlers=1)
    for policy in ("guarded", "seed-fix", "atomic"):
        plain = check(scope, POLICIES[policy], properties=(name,), use=())
        pruned = check(scope, POLICIES[policy], properties=(name,), use=("settled",))
        assert pruned.holds(name) == plain.holds(name) is True, (policy, name)
        assert pruned.settled > 0 and pruned.states < plain.states, (policy, name)


def test_nothing_is_pruned_while_a_liveness_property_is_open() -> None:
    """``atomic``'s liveness properties hold, so they stay open to the end and every state is expanded."""
    search = check(Scope(waves=2), POLICIES["atomic"], use=("settled",))
    assert search.holds("import_completes") is True and search.settled == 0


def test_seed_fix_is_pruned_once_its_other_properties_are_broken() -> None:
    """Its liveness and four safety properties are broken early; from then on the tail behind the
    completion of a wave (auto-trigger cascades) is not expanded."""
    scope = Scope(waves=3, wave_size=2, max_handlers=2)
    with_it = check(scope, POLICIES["seed-fix"], use=("symmetry", "abstraction", "futures", "settled"))
    without = check(scope, POLICIES["seed-fix"], use=("symmetry", "abstraction", "futures"))
    assert with_it.complete and without.complete and with_it.settled > 0
    assert {n: with_it.holds(n) for n in PROPERTY_NAMES} == {n: without.holds(n) for n in PROPERTY_NAMES}
    assert with_it.states * 4 < without.states


def test_the_concrete_spec_keeps_the_premise_check() -> None:
    spec = Spec(scope=Scope(), policy=POLICIES["guarded"], abstract=True, settle=True)
    assert spec.concrete().settle and not spec.concrete().abstract


READINGS = [
    ("guarded", {"final_write": "conditional"}),
    ("seed-fix", {"batch_wave_check": "none"}),
    ("seed-fix", {"batch_wave_check": "before-decision", "distinct_progress": True}),
    ("original", {"current_wave_rule": "latest-started"}),
    ("guarded", {"completion_check": "after-guard", "catchup_entry": "stalled"}),
]


@pytest.mark.parametrize(("policy", "switches"), READINGS, ids=[f"{p}-{s}" for p, s in READINGS])
def test_under_other_readings_too_the_verdicts_and_shortest_lengths_are_kept(
    policy: str, switches: dict[str, object],
) -> None:
    """Asked for the two properties it settles, so that it prunes from the first state on."""
    chosen = POLICIES[policy].with_switches(**switches)
    scope = Scope(waves=3, wave_size=2, max_handlers=1, losses=1)
    plain = check(scope, chosen, properties=tuple(SETTLED), use=())
    pruned = check(scope, chosen, properties=tuple(SETTLED), use=("settled",))
    assert plain.decided and pruned.decided and pruned.settled > 0
    assert {n: pruned.holds(n) for n in SETTLED} == {n: plain.holds(n) for n in SETTLED}
    assert {n: len(f.labels) for n, f in pruned.found.items()} == {n: len(f.labels) for n, f in plain.found.items()}


def test_a_threshold_violation_behind_unsettled_states_is_still_found_at_its_shortest() -> None:
    """``original`` dispatches early at 3x2,2: pruning the settled tail keeps the shortest path to it."""
    scope = Scope(waves=3, wave_size=2)
    plain = check(scope, POLICIES["original"], properties=tuple(SETTLED), use=())
    pruned = check(scope, POLICIES["original"], properties=tuple(SETTLED), use=("settled",))
    verdicts = {n: plain.holds(n) for n in SETTLED}
    assert {n: pruned.holds(n) for n in SETTLED} == verdicts == dict.fromkeys(SETTLED, False)
    assert {n: len(f.labels) for n, f in pruned.found.items()} == {n: len(f.labels) for n, f in plain.found.items()}
    assert pruned.settled > 0 and pruned.states < plain.states
