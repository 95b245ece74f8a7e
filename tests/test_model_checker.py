"""The exhaustive checker: the reductions against the plain graph (the same verdicts, no more
states, shortest lengths kept), state counts against a direct walk, verdicts, budgets."""

from __future__ import annotations

import functools
from collections import deque
from dataclasses import replace

import pytest
from coordinator_builders import pinned

from coordinator import POLICIES, PROPERTY_NAMES, MarkPushed, Status, WaveTable
from coordinator import handlers as coordinator_handlers
from coordinator import table as coordinator_table
from model.actions import Spec, next_states
from model.checker import REDUCTIONS, Search, check
from model.invariants import is_quiescent
from model.liveness import can_finish, first_trap
from model.scope import Scope
from model.state import State, canonical, init
from model.trace import steps_of

ALL_FALSE = {"single_active_wave": False}


def verdicts(policy: str, scope: Scope) -> dict[str, bool | None]:
    search = check(scope, pinned(policy))
    return {name: search.holds(name) for name in PROPERTY_NAMES}


@functools.cache
def plain_graph(scope: Scope, policy: str) -> tuple[frozenset[State], int]:
    """Every state reachable by ``next_states`` without reductions, and the transitions out of them:
    the plain graph, found by a direct breadth-first walk that shares no code with the checker's search."""
    spec = Spec(scope=scope, policy=pinned(policy))
    start = init(scope, spec.policy)
    seen = {start}
    todo = deque([start])
    transitions = 0
    while todo:
        for _, nxt in next_states(spec, todo.popleft(), reduce=False):
            transitions += 1
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return frozenset(seen), transitions


@pytest.mark.parametrize(("policy", "handlers"), [("original", 2), ("guarded", 2), ("atomic", 2), ("atomic", 1)])
def test_each_reduction_keeps_the_verdicts_and_the_plain_graph_is_the_walked_one(policy: str, handlers: int) -> None:
    """Every reduction on, only the symmetry reduction, and none: complete searches with the same
    verdicts, each no bigger than the one with fewer reductions. The unreduced search (on the default
    engine, compiled where a compiler is found) counts the states and transitions a plain walk counts."""
    scope = Scope(max_handlers=handlers)
    plain, symmetric, reduced = (check(scope, pinned(policy), use=use)
                                 for use in ((), ("symmetry",), tuple(REDUCTIONS)))
    assert plain.complete and symmetric.complete and reduced.complete
    verdicts = {name: plain.holds(name) for name in PROPERTY_NAMES}
    assert None not in verdicts.values()
    assert {name: symmetric.holds(name) for name in PROPERTY_NAMES} == verdicts
    assert {name: reduced.holds(name) for name in PROPERTY_NAMES} == verdicts
    states, transitions = plain_graph(scope, policy)
    assert (plain.states, plain.transitions) == (len(states), transitions)
    assert reduced.states <= symmetric.states <= plain.states
    assert reduced.transitions <= symmetric.transitions <= plain.transitions
    if handlers == 1 and policy != "atomic":  # one run at a time: symmetry has no two runs to swap (atomic's
        # reconciler runs beside the listener's, on its own slot)
        assert (symmetric.states, symmetric.transitions) == (plain.states, plain.transitions)
    else:
        assert symmetric.states < plain.states and reduced.states < symmetric.states


def _unreduced_images(scope: Scope, policy: str) -> set[State]:
    return {canonical(s, relabel=not scope.fifo) for s in plain_graph(scope, policy)[0]}


@pytest.mark.parametrize("fifo", [True, False])
@pytest.mark.parametrize("policy", ["guarded", "atomic"])
def test_reductions_keep_exactly_the_reachable_states(policy: str, fifo: bool) -> None:
    scope = Scope(fifo=fifo)
    search = check(scope, pinned(policy), properties=("threshold_respected",), use=("symmetry",))
    assert search.complete and search.states == len(_unreduced_images(scope, policy))


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


def lengths(search: Search) -> dict[str, int]:
    return {name: len(found.labels) for name, found in search.found.items()}


def test_shortest_counterexamples_are_as_short_as_on_the_plain_graph() -> None:
    """Breadth-first on the plain graph finds a shortest path to each violation by construction;
    ``shortest`` must find paths of the same lengths with its reductions on."""
    search = check(Scope(), pinned("guarded"), shortest=True)
    plain = check(Scope(), pinned("guarded"), use=())
    assert plain.complete and set(search.found) == set(plain.found) == {
        name for name in PROPERTY_NAMES if plain.holds(name) is False}
    assert lengths(search) == lengths(plain)
    assert search.states < plain.states
    # the stall and the trap it leads into are reached by the same shortest path
    assert lengths(search)["no_stall"] == lengths(search)["import_completes"]
    stall = search.found["no_stall"]
    assert stall.detail == (
        "stalled at wave 2: nothing left to run, wave 2 processing (pending: none; stuck: 2 (processing, 2/2 finished))"
    )
    assert is_quiescent(stall.path[-1])
    # decided on the fly: the first dead end, where no fault-free step is enabled
    assert search.found["import_completes"].detail.startswith("trap: 1 wave(s) never completed: 2 (pending: none;")
    assert search.found["import_completes"].detail.endswith("and no fault-free step is enabled")


def test_a_trap_that_keeps_moving_is_found_on_the_graph() -> None:
    """0 -> 1 -> 2 (done) and 0 -> 3 <-> 4: states 3 and 4 keep moving and never finish."""
    mark = can_finish(5, [0, 1, 0, 3, 4], [1, 2, 3, 4, 3], [2])
    assert list(mark) == [1, 1, 1, 0, 0]
    assert first_trap(mark) == 3
    assert first_trap(can_finish(3, [0, 1], [1, 2], [2])) is None


def test_removing_the_reconciler_from_atomic_is_caught() -> None:
    """Without faults ``advance()`` needs no reconciler (the last event's run
    always finds the finished wave); one lost event is enough to stall it
    without the reconciler (the quiet state, reached as soon as in the unreduced graph)."""
    variant = POLICIES["atomic"].with_switches(reconciler_period_s=None)
    assert check(Scope(), variant).holds("no_stall") is True
    search = check(Scope(losses=1), variant)
    assert search.holds("no_stall") is False and search.holds("import_completes") is False
    shortest = len(check(Scope(losses=1), variant, use=()).found["no_stall"].labels)
    assert len(check(Scope(losses=1), variant, shortest=True).found["no_stall"].labels) == shortest
    assert len(search.found["no_stall"].labels) >= shortest
    assert ("event_lose",) in search.found["no_stall"].labels
    assert search.holds("no_duplicate_claim") is True
    assert check(Scope(losses=1), POLICIES["atomic"]).holds("import_completes") is True


def test_a_state_budget_stops_the_search_without_claiming_anything() -> None:
    budget = 100
    search = check(Scope(), POLICIES["atomic"], max_states=budget)
    # the budget is checked before each expansion, so the last one may add its few successors past it
    assert (search.complete, search.budget) == (False, "states") and budget <= search.states < budget + 10
    assert search.stop_reason == f"state budget of {budget} reached"
    assert search.holds("no_stall") is None and search.holds("queue_bounded") is None
    assert search.holds("single_active_wave") is False
    assert search.undecided == tuple(n for n in PROPERTY_NAMES if n != "single_active_wave")


def test_time_and_memory_budgets_name_themselves() -> None:
    search = check(Scope(waves=3), POLICIES["seed-fix"], time_limit=1e-9)
    assert (search.complete, search.budget, search.stop_reason) == (False, "time", "time limit of 1e-09 s reached")
    search = check(Scope(waves=3), POLICIES["seed-fix"], max_memory_mb=1.0)
    assert (search.budget, search.stop_reason) == ("memory", "memory limit of 1 MB reached")
    assert "one_wave_below_threshold" in search.undecided


def test_a_violated_cell_stops_as_soon_as_every_property_is_decided() -> None:
    full = check(Scope(waves=3), POLICIES["original"], use=("symmetry",), shortest=True)
    assert full.decided and not full.complete and full.stop_reason == "every property decided"
    assert all(full.holds(n) is False for n in PROPERTY_NAMES)
    whole = check(Scope(waves=3), POLICIES["original"], properties=("one_wave_below_threshold",), use=())
    assert whole.states < check(Scope(waves=3), POLICIES["guarded"], use=()).states


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

    search = check(Scope(), pinned("seed-fix"), properties=("no_stall",), shortest=True)
    plain = check(Scope(), pinned("seed-fix"), properties=("no_stall",), use=())
    # decided before the graph was searched to its end, on a path as short as the plain graph's
    assert (search.complete, search.decided, plain.decided) == (False, True, True)
    assert search.states < plain.states
    steps = steps_of(search.spec, search.found["no_stall"].path)
    assert len(steps) == len(plain.found["no_stall"].labels)
    late, last = steps[-2], steps[-1]
    assert (late.actor, late.what) == ("h1", "SetStatus(wave=2, status=processing)")
    assert steps[-3].table == "1:completed 2/2 | 2:completed 2/2"
    assert late.table == "1:completed 2/2 | 2:processing 2/2"
    # the path goes on to the stalled state itself: the last run in flight ends
    assert (last.actor, last.result) == ("h6", "none; ends: db-reconcile idle")
    assert last.jobs == "queue [-] running [-] events 0 delayed 0"


def test_atomic_keeps_its_guarantees_under_faults_but_pushes_at_least_once() -> None:
    search = check(Scope(crashes=1, duplicates=1, losses=1), POLICIES["atomic"])
    holds = {name: search.holds(name) for name in PROPERTY_NAMES}
    assert holds == {
        "single_active_wave": False, "one_wave_below_threshold": True, "threshold_respected": True,
        "no_duplicate_claim": True, "no_duplicate_push": False, "queue_bounded": False, "no_stall": False,
        "import_completes": True,
    }
    # a crash redelivers a batch on top of the next wave: a path as short as any that breaks the bound
    found = search.found["queue_bounded"]
    assert any(label[0] == "worker_crash" for label in found.labels)
    shortest = check(Scope(crashes=1, duplicates=1, losses=1), POLICIES["atomic"], properties=("queue_bounded",),
                     shortest=True)
    assert len(found.labels) == len(shortest.found["queue_bounded"].labels)
    # a crash leaves atomic quiet with work left until its reconciler ticks
    assert "pending" in search.found["no_stall"].detail and is_quiescent(search.found["no_stall"].path[-1])


# two crashes give the same verdicts (wavesim check --policy atomic --crashes 2 --crash-handlers)
@pytest.mark.parametrize("crashes", [1])
def test_atomic_keeps_its_guarantees_when_a_crash_kills_a_handler_run_at_any_step(crashes: int) -> None:
    """A crash between any two DB operations of a handler run (``crash_handlers``):
    claimed once, every wave still completes; a wave may be pushed twice."""
    search = check(Scope(crashes=crashes, crash_handlers=True), POLICIES["atomic"],
                   properties=("no_duplicate_claim", "no_duplicate_push", "threshold_respected", "import_completes"))
    assert search.complete
    assert {name: search.holds(name) for name in search.checked} == {
        "no_duplicate_claim": True, "no_duplicate_push": False, "threshold_respected": True, "import_completes": True,
    }


def test_guarded_stalls_when_a_handler_run_dies_after_its_claim() -> None:
    search = check(Scope(crashes=1, crash_handlers=True), POLICIES["guarded"], properties=("no_stall",), shortest=True)
    assert search.holds("no_stall") is False
    assert any(label[0] == "handler_crash" for label in search.found["no_stall"].labels)


def test_a_lease_that_outlasts_the_claimer_removes_the_pushes_twice() -> None:
    expired = check(Scope(), POLICIES["atomic"], shortest=True)
    lease = check(Scope(relay_lease="outlasts-claimer"), POLICIES["atomic"], shortest=True)
    # without a clock, a relay may take a live claimer's wave: that is where a fault-free push twice comes from
    assert expired.holds("no_duplicate_push") is False and lease.holds("no_duplicate_push") is True
    assert lease.holds("queue_bounded") is True and lease.holds("no_duplicate_claim") is True
    assert lease.holds("no_stall") is True and lease.holds("import_completes") is True


def test_a_mark_that_does_not_complete_a_finished_wave_leaves_it_for_the_reconciler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the relay's extra push hides this under 'expired': every batch finishes while the wave is
    # still dispatching, so each handler finds nothing to complete, relay or claim; the mark comes last
    def mark_only(table: WaveTable, effect: MarkPushed, now: float) -> tuple[WaveTable, int]:
        row = table.row(effect.wave)
        if row.status is not Status.DISPATCHING:
            return table, 0
        return table.with_row(replace(row, status=Status.PROCESSING)), 1

    monkeypatch.setitem(coordinator_table._OPERATIONS, MarkPushed, mark_only)
    lease = check(Scope(relay_lease="outlasts-claimer"), POLICIES["atomic"], shortest=True)
    assert lease.holds("no_stall") is False
    stall = lease.found["no_stall"]
    assert "stuck: 2 (processing, 2/2 finished)" in stall.detail
    steps = steps_of(lease.spec, stall.path)
    mark = max(i for i, s in enumerate(steps) if s.what == "MarkPushed(wave=2)")
    # every batch of wave 2 had finished while it was dispatching; the mark only set processing
    assert steps[mark - 1].table.endswith("2:dispatching 2/2") and steps[mark].table.endswith("2:processing 2/2")
    assert all(s.table.endswith("2:processing 2/2") for s in steps[mark:])
    assert lease.holds("import_completes") is True  # the reconciler's next tick completes it


def test_a_relay_lease_is_refused_for_a_policy_without_a_relay() -> None:
    with pytest.raises(ValueError, match="read only by advance"):
        check(Scope(relay_lease="outlasts-claimer"), POLICIES["guarded"])
    with pytest.raises(ValueError, match="relay_lease must be one of"):
        Scope(relay_lease="sometimes")


#: the scopes the benchmark and the docs ship, cheap enough for every test run (``wavesim check --policy atomic``
#: with ``--relay-lease expired`` at 3x3,3 and 4x3,3 is measured by ``benchmarks.bench_checker`` instead)
SHIPPED = [
    Scope(), Scope(relay_lease="outlasts-claimer"),
    Scope(waves=3), Scope(waves=3, relay_lease="outlasts-claimer"),
    Scope(waves=3, wave_size=3, max_handlers=3, relay_lease="outlasts-claimer"),
    Scope(waves=4, wave_size=3, max_handlers=3, relay_lease="outlasts-claimer"),
]
#: ``atomic`` with its reconciler off: only completion events move it
EVENTS_ONLY = POLICIES["atomic"].with_switches(reconciler_period_s=None, name="atomic-events-only")


@pytest.mark.parametrize("scope", SHIPPED, ids=lambda s: f"{s.waves}x{s.wave_size},{s.max_handlers}-{s.relay_lease}")
def test_atomic_makes_fault_free_progress_without_its_reconciler(scope: Scope) -> None:
    """No fault-free path goes quiet with work left (``no_stall`` does not count the reconciler as
    work, ``RECONCILER_IS_WORK``), and with the reconciler taken out of the model entirely the
    completion events alone finish every import."""
    shipped = check(scope, POLICIES["atomic"], properties=("no_stall", "import_completes"))
    events_only = check(scope, EVENTS_ONLY, properties=("no_stall", "import_completes"))
    assert shipped.complete and events_only.complete
    assert {n: shipped.holds(n) for n in shipped.checked} == {"no_stall": True, "import_completes": True}
    assert {n: events_only.holds(n) for n in events_only.checked} == {"no_stall": True, "import_completes": True}


@pytest.mark.usefixtures("fresh_futures")  # the mutated advance()'s trees must not outlive this test
def test_without_the_claim_after_a_completing_mark_atomic_waits_for_its_reconciler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The mutation: advance() no longer claims after a mark that completed its wave. Two waves in
    flight keep every claim of wave 4 idle (``max_waves_in_flight=2``), all their batches finish
    while they are still dispatching, and the marks complete them with no event left to claim
    wave 4: a stall, which only the reconciler's tick ends."""
    monkeypatch.setattr(coordinator_handlers, "_MARKED_AND_COMPLETED", -1)  # no mark result matches
    scope = Scope(waves=4, wave_size=3, max_handlers=3, relay_lease="outlasts-claimer")
    mutant = POLICIES["atomic"].with_switches(name="atomic-without-the-claim-after-a-mark")  # its own futures
    search = check(scope, mutant, properties=("no_stall", "import_completes"), shortest=True)
    assert (search.holds("no_stall"), search.holds("import_completes")) == (False, True)
    stall = search.found["no_stall"]
    assert [row[0] for row in stall.path[-1].rows] == [Status.COMPLETED] * 3 + [Status.PENDING]
    marks = [s.what for s in steps_of(search.spec, stall.path)[-2:]]
    assert marks == ["MarkPushed(wave=2)", "MarkPushed(wave=3)"]  # the marks completed the last waves in flight
    events_only = check(scope, EVENTS_ONLY.with_switches(name="atomic-events-only-without-the-claim-after-a-mark"),
                        properties=("import_completes",))
    assert events_only.holds("import_completes") is False  # with no reconciler, nothing ever claims wave 4
