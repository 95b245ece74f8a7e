"""Partial-order reduction and the probe walks against the plain graph: the same
verdicts on small scopes, and under ``shortest`` the same counterexample lengths."""

from __future__ import annotations

import pytest

from coordinator import POLICIES, PROPERTY_NAMES, SAFETY, Policy
from model.checker import REDUCTIONS, check
from model.reduction import EFFECT_FOOTPRINTS, FOOTPRINTS, ONE_WAY, _fp, _ordered_events, conflict, safe_kinds
from model.scope import Scope
from model.state import Codec, init

CASES = [
    ("original", Scope()),
    ("guarded", Scope()),
    ("guarded", Scope(fifo=False)),
    ("guarded", Scope(max_handlers=1, losses=1)),
    ("seed-fix", Scope(max_handlers=1)),
    ("seed-fix", Scope(waves=3, wave_size=2, max_handlers=1, duplicates=1)),
    ("atomic", Scope(crashes=1, duplicates=1, losses=1)),
    ("atomic", Scope(waves=3, max_handlers=1)),
    # one listener slot: the reconciler's run is in flight beside a full set of listener runs
    ("atomic", Scope(wave_size=1, workers=1, max_handlers=1)),
    ("atomic", Scope(waves=3, relay_lease="outlasts-claimer")),
    ("atomic", Scope(crashes=1, crash_handlers=True, relay_lease="outlasts-claimer")),
]


@pytest.mark.parametrize(("policy", "scope"), CASES, ids=[f"{p}-{s.label()}" for p, s in CASES])
def test_reduced_search_gives_the_plain_graphs_verdicts_and_shortest_lengths(policy: str, scope: Scope) -> None:
    assert_reductions_exact(POLICIES[policy], scope)


def assert_reductions_exact(policy: Policy, scope: Scope) -> None:
    """The reduced search has the plain graph's verdicts, and under ``shortest`` its counterexample lengths."""
    plain = check(scope, policy, use=())
    reduced = check(scope, policy)
    shortest = check(scope, policy, shortest=True)
    verdicts = {n: plain.holds(n) for n in PROPERTY_NAMES}
    assert plain.decided and {n: reduced.holds(n) for n in PROPERTY_NAMES} == verdicts
    assert {n: shortest.holds(n) for n in PROPERTY_NAMES} == verdicts
    assert {n: len(f.labels) for n, f in shortest.found.items()} == {n: len(f.labels) for n, f in plain.found.items()}
    assert reduced.states <= plain.states and "por" in reduced.used and "por" not in shortest.used


def test_each_safety_property_alone_keeps_its_verdict_under_the_reduction() -> None:
    """Asked alone, a property makes fewer actions visible, so more is reduced."""
    for name in SAFETY:
        plain = check(Scope(waves=3, wave_size=2), POLICIES["guarded"], properties=(name,), use=())
        reduced = check(Scope(waves=3, wave_size=2), POLICIES["guarded"], properties=(name,))
        assert reduced.holds(name) == plain.holds(name), name


def test_the_reduction_says_what_it_may_take_alone() -> None:
    everything = frozenset(PROPERTY_NAMES)
    assert safe_kinds(False, True, (0, 0, 0), everything) == {
        "trigger_fire", "listener_start", "handler_step:ScheduleTrigger",
    }
    # the queue length is visible to queue_bounded; without it a take goes first
    assert "worker_take" in safe_kinds(False, True, (0, 0, 0), everything - {"queue_bounded"})
    assert "worker_take" not in safe_kinds(False, False, (0, 0, 0), everything - {"queue_bounded"})
    # the reconciler's run has a slot of its own, so a listener may start first; a lost or duplicated
    # event competes with it for the events
    assert "listener_start" in safe_kinds(True, True, (0, 0, 0), everything)
    assert not conflict(FOOTPRINTS["listener_start"], FOOTPRINTS["reconciler_tick"])
    assert conflict(FOOTPRINTS["listener_start"], _fp(dec="slots"))  # a second taker of listener slots would
    assert "listener_start" not in safe_kinds(False, True, (0, 0, 1), everything)
    assert "listener_start" not in safe_kinds(False, True, (0, 1, 0), everything)
    assert safe_kinds(False, True, (0, 0, 0), everything) <= ONE_WAY


def test_footprints_conflict_where_actions_do_not_commute() -> None:
    take, crash = FOOTPRINTS["worker_take"], FOOTPRINTS["worker_crash"]
    assert not conflict(take, crash)  # a pop at the front and a push at the back commute
    assert conflict(crash, crash)  # two pushes put jobs in different orders
    assert conflict(FOOTPRINTS["listener_start"], FOOTPRINTS["event_lose"])  # both take the last event
    assert conflict(FOOTPRINTS["listener_start"], FOOTPRINTS["event_duplicate"])  # needs the event it takes
    assert not conflict(FOOTPRINTS["listener_start"], FOOTPRINTS["batch_finish"])  # inc and dec commute
    reads = [t for t, f in EFFECT_FOOTPRINTS.items() if f.reads == {"run", "status"}]
    set_status = [f for t, f in EFFECT_FOOTPRINTS.items() if t.__name__ == "SetStatus"][0]
    assert reads and all(conflict(EFFECT_FOOTPRINTS[t], set_status) for t in reads)
    assert not conflict(_fp(inc="x"), _fp(dec="x")) and conflict(_fp(dec="x"), _fp(needs="x"))
    # a crashing handler run disables that run's next step, whichever it is
    assert all(conflict(FOOTPRINTS["handler_crash"], f) for f in EFFECT_FOOTPRINTS.values())



def test_events_that_carry_their_wave_are_a_fifo_whose_front_and_back_commute() -> None:
    tagged = {k: _ordered_events(f) for k, f in FOOTPRINTS.items()}
    start, finish, fire = tagged["listener_start"], tagged["batch_finish"], tagged["trigger_fire"]
    assert start.pops == {"events"} and finish.pushes == {"events"} and not start.dec & {"events"}
    assert not conflict(start, finish) and not conflict(start, fire)  # the front against the back
    assert conflict(finish, fire) and conflict(finish, finish)  # two pushes order the events
    assert conflict(start, tagged["event_lose"])  # both take the front
    assert conflict(tagged["event_duplicate"], finish)  # it reads and writes the whole FIFO
    everything = frozenset(PROPERTY_NAMES)
    # taking the front is still safe alone; firing a trigger no longer is (it orders against a finish)
    assert safe_kinds(False, True, (0, 0, 0), everything, tagged=True) == {
        "listener_start", "handler_step:ScheduleTrigger"}
    assert "listener_start" not in safe_kinds(False, True, (0, 0, 1), everything, tagged=True)

def test_the_codec_gives_every_state_back() -> None:
    from model.actions import Spec, next_states

    codec = Codec()
    spec = Spec(scope=Scope(crashes=1, duplicates=1), policy=POLICIES["seed-fix"])
    todo, seen = [init(spec.scope, spec.policy)], set()
    while todo and len(seen) < 3000:
        state = todo.pop()
        key = codec.encode(state)
        assert codec.decode(key) == state and codec.encode(codec.decode(key)) == key
        if state not in seen:
            seen.add(state)
            todo.extend(n for _, n in next_states(spec, state))
    assert len({codec.encode(s) for s in seen}) == len(seen)


def test_an_unknown_reduction_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown reduction 'magic'; known: symmetry, abstraction, futures, settled, "):
        check(Scope(), POLICIES["atomic"], use=("magic",))
    assert tuple(REDUCTIONS) == ("symmetry", "abstraction", "futures", "settled", "por", "probe")


def test_no_stall_and_import_completes_disagree_where_a_reconciler_repairs_a_stall() -> None:
    """One lost event leaves atomic quiet with a finished wave unmarked: a stall
    (no_stall is violated at the quiet state), but its reconciler still completes
    the import from there (import_completes holds)."""
    search = check(Scope(losses=1), POLICIES["atomic"], shortest=True)
    assert (search.holds("no_stall"), search.holds("import_completes")) == (False, True)
    stall = search.found["no_stall"]
    assert stall.detail.endswith("(pending: none; stuck: 2 (processing, 2/2 finished))")
    assert not stall.path[-1].events and stall.path[-1].delayed == 0 and not stall.path[-1].runs
    assert ("event_lose",) in stall.labels


def test_the_committed_reductions_table_is_current() -> None:
    from pathlib import Path

    from docgen import TABLES, blocks_in, load_blocks
    from wavesim.commands.check import reductions_table

    page = (Path(__file__).parent.parent / "docs" / "checker.md").read_text(encoding="utf-8")
    assert TABLES["checker-reductions"] is reductions_table
    load_blocks()
    found = [b.text for b in blocks_in(page) if b.name == "checker-reductions"]
    assert found == [reductions_table()]
