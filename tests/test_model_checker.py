"""The exhaustive checker: pinned state counts, exact reductions, pinned verdicts
and counterexample lengths, budgets."""

from __future__ import annotations

from collections import deque

import pytest
from coordinator_builders import pinned

from coordinator import POLICIES, PROPERTY_NAMES
from model.actions import Spec, next_states
from model.checker import check
from model.scope import Scope
from model.state import State, canonical, init

ALL_FALSE = {"single_active_wave": False}


def verdicts(policy: str, scope: Scope) -> dict[str, bool | None]:
    search = check(scope, pinned(policy))
    return {name: search.holds(name) for name in PROPERTY_NAMES}


@pytest.mark.parametrize(
    ("policy", "handlers", "states", "transitions"),
    [
        ("original", 2, 4787, 12780),
        ("guarded", 2, 4860, 12962),
        ("atomic", 2, 13393, 45148),
        ("atomic", 1, 563, 1235),
    ],
)
def test_state_counts_are_pinned(policy: str, handlers: int, states: int, transitions: int) -> None:
    search = check(Scope(max_handlers=handlers), pinned(policy))
    assert (search.complete, search.states, search.transitions) == (True, states, transitions)


def _unreduced_images(scope: Scope, policy: str) -> set[State]:
    spec = Spec(scope=scope, policy=pinned(policy))
    start = init(scope, spec.policy)
    seen = {start}
    todo = deque([start])
    while todo:
        for _, nxt in next_states(spec, todo.popleft(), reduce=False):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return {canonical(s, relabel=not scope.fifo) for s in seen}


@pytest.mark.parametrize("fifo", [True, False])
@pytest.mark.parametrize("policy", ["guarded", "atomic"])
def test_reductions_keep_exactly_the_reachable_states(policy: str, fifo: bool) -> None:
    scope = Scope(fifo=fifo)
    search = check(scope, pinned(policy), properties=("single_active_wave",))
    assert search.states == len(_unreduced_images(scope, policy))


def test_verdicts_on_the_default_scope() -> None:
    assert verdicts("atomic", Scope()) == {
        "single_active_wave": False, "one_wave_below_threshold": True, "threshold_respected": True,
        "no_duplicate_claim": True, "no_duplicate_push": False, "queue_bounded": False, "no_stall": True,
        "import_completes": True,
    }
    assert verdicts("guarded", Scope()) == {
        "single_active_wave": False, "one_wave_below_threshold": True, "threshold_respected": True,
        "no_duplicate_claim": False, "no_duplicate_push": False, "queue_bounded": False, "no_stall": False,
        "import_completes": False,
    }


def test_shortest_counterexamples_have_pinned_lengths() -> None:
    search = check(Scope(), pinned("guarded"))
    lengths = {name: len(found.labels) for name, found in search.found.items()}
    assert lengths == {
        "single_active_wave": 8, "no_duplicate_claim": 17, "no_duplicate_push": 19, "queue_bounded": 19, "no_stall": 21,
        "import_completes": 21,
    }
    trap = search.found["no_stall"]
    assert trap.detail.startswith("trap: 2 wave(s) never completed: 1, 2, and none of the 2 step(s)")
    assert {str(label[0]) for label, _ in trap.exits} == {"batch_finish", "handler_step"}


def test_removing_the_reconciler_from_atomic_is_caught() -> None:
    """Without faults ``advance()`` needs no reconciler (the last event's run
    always finds the finished wave); one lost event is enough to trap it
    without the reconciler."""
    variant = POLICIES["atomic"].with_switches(reconciler_period_s=None)
    assert check(Scope(), variant).holds("no_stall") is True
    search = check(Scope(losses=1), variant)
    assert search.holds("no_stall") is False and search.holds("import_completes") is False
    assert len(search.found["no_stall"].labels) == 19
    assert search.holds("no_duplicate_claim") is True
    assert check(Scope(losses=1), POLICIES["atomic"]).holds("no_stall") is True


def test_a_state_budget_stops_the_search_without_claiming_anything() -> None:
    search = check(Scope(), POLICIES["atomic"], max_states=100)
    assert (search.complete, search.states) == (False, 101)  # the budget is checked before each expansion
    assert search.stop_reason == "state budget of 100 reached"
    assert search.holds("no_stall") is None and search.holds("queue_bounded") is None
    assert search.holds("single_active_wave") is False


def test_only_the_chosen_properties_are_checked() -> None:
    search = check(Scope(), pinned("original"), properties=("threshold_respected",))
    assert search.checked == ("threshold_respected",)
    assert search.found == {}
    assert search.holds("threshold_respected") is True


def test_a_scope_outside_its_limits_is_refused() -> None:
    with pytest.raises(ValueError, match="waves must be a whole number from 1 to 6, got 0"):
        Scope(waves=0)
    assert Scope(wave_size=1).hides_overlap and not Scope().hides_overlap


def test_seed_fix_stalls_when_a_late_processing_write_overwrites_completed() -> None:
    from model.trace import steps_of

    search = check(Scope(), pinned("seed-fix"), properties=("no_stall",))
    assert (search.complete, search.states) == (True, 34994)
    steps = steps_of(search.spec, search.found["no_stall"].path)
    assert len(steps) == 41
    last = steps[-1]
    assert (last.actor, last.what) == ("h1", "SetStatus(wave=2, status=processing)")
    assert steps[-2].table == "1:completed 2/2 | 2:completed 2/2"
    assert last.table == "1:completed 2/2 | 2:processing 2/2"
    assert last.jobs == "queue [-] running [-] events 0 delayed 0"


def test_atomic_keeps_its_guarantees_under_faults_but_pushes_at_least_once() -> None:
    search = check(Scope(crashes=1, duplicates=1, losses=1), POLICIES["atomic"])
    holds = {name: search.holds(name) for name in PROPERTY_NAMES}
    assert holds == {
        "single_active_wave": False, "one_wave_below_threshold": True, "threshold_respected": True,
        "no_duplicate_claim": True, "no_duplicate_push": False, "queue_bounded": False, "no_stall": True,
        "import_completes": True,
    }
    assert len(search.found["queue_bounded"].labels) == 7  # a crash redelivers a finished batch


# two crashes give the same verdicts (wavesim check --policy atomic --crashes 2 --crash-handlers)
@pytest.mark.parametrize("crashes", [1])
def test_atomic_keeps_its_guarantees_when_a_crash_kills_a_handler_run_at_any_step(crashes: int) -> None:
    """A crash between any two DB operations of a handler run (``crash_handlers``):
    claimed once, never stalled, every wave completed; a wave may be pushed twice."""
    search = check(Scope(crashes=crashes, crash_handlers=True), POLICIES["atomic"],
                   properties=("no_duplicate_claim", "no_duplicate_push", "threshold_respected", "no_stall"))
    assert search.complete
    assert {name: search.holds(name) for name in search.checked} == {
        "no_duplicate_claim": True, "no_duplicate_push": False, "threshold_respected": True, "no_stall": True,
    }


def test_guarded_stalls_when_a_handler_run_dies_after_its_claim() -> None:
    search = check(Scope(crashes=1, crash_handlers=True), POLICIES["guarded"], properties=("no_stall",))
    assert search.holds("no_stall") is False
    assert any(label[0] == "handler_crash" for label in search.found["no_stall"].labels)
