"""Counterexamples: readable steps, JSON round trip, replay through the model and
through the core's own interleaved driver; random and PCT walks."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from coordinator import POLICIES, run_interleaved
from coordinator import properties as props
from model.checker import check
from model.scope import Scope
from model.search import walk_search
from model.trace import ReplayError, from_json, render, replay, steps_of, table_text, to_interleaving, to_json


@pytest.fixture(scope="module")
def guarded_search():  # type: ignore[no-untyped-def]
    return check(Scope(), POLICIES["guarded"], shortest=True)


def test_the_duplicate_dispatch_reads_as_two_handlers_passing_the_same_guard(guarded_search) -> None:  # type: ignore[no-untyped-def]
    found = guarded_search.found["no_duplicate_push"]
    steps = steps_of(guarded_search.spec, found.path)
    assert [s.n for s in steps] == list(range(1, len(steps) + 1))
    enqueues = [(s.n, s.actor) for s in steps if s.what == "EnqueueBatches(wave=2)"]
    # the path ends on the second push of wave 2, by the other handler run
    assert [n for n, _ in enqueues] == [len(steps) - 1, len(steps)]
    assert {actor for _, actor in enqueues} == {"h1", "h2"}
    guards = [(s.n, s.actor, s.result) for s in steps if s.what == "ReadActiveWave(exclude=1)"]
    # both runs pass the active-wave guard (it finds none) before either writes wave 2
    assert {actor for _, actor, _ in guards} == {"h1", "h2"} and all(result == "none" for *_, result in guards)
    first_write = min(s.n for s in steps if s.actor in ("h1", "h2") and "wave=2" in s.what and "Read" not in s.what)
    assert max(n for n, *_ in guards) < first_write
    assert steps[-1].table == "1:completed 2/2 | 2:dispatching 0/2 x2"
    assert steps[-1].jobs == "queue [w2b0 w2b1 w2b0 w2b1] running [-] events 0 delayed 0"
    text = render(steps)
    assert text.splitlines()[0].startswith("  1. worker     takes batch w1b0")
    assert len(text.splitlines()) == 2 * len(steps)


def test_a_counterexample_survives_json_and_replays_to_the_same_table(guarded_search) -> None:  # type: ignore[no-untyped-def]
    found = guarded_search.found["no_stall"]
    steps = steps_of(guarded_search.spec, found.path)
    data = json.loads(json.dumps(to_json(guarded_search.spec, "no_stall", found.detail, steps)))
    spec, prop, detail, back, _ = from_json(data)
    assert (prop, detail, back) == ("no_stall", found.detail, steps)
    assert replay(spec, back) == steps


def test_a_tampered_step_does_not_replay(guarded_search) -> None:  # type: ignore[no-untyped-def]
    found = guarded_search.found["single_active_wave"]
    steps = list(steps_of(guarded_search.spec, found.path))
    steps[3] = replace(steps[3], result="2")
    with pytest.raises(ReplayError, match="step 4 .* does not replay"):
        replay(guarded_search.spec, steps)
    with pytest.raises(ReplayError, match="not a wavesim counterexample"):
        from_json({"policy": "guarded"})


@pytest.mark.parametrize("prop", ["no_duplicate_push", "single_active_wave", "queue_bounded"])
def test_the_core_interleaved_driver_reproduces_the_violation(guarded_search, prop: str) -> None:  # type: ignore[no-untyped-def]
    found = guarded_search.found[prop]
    steps = steps_of(guarded_search.spec, found.path)
    table, programs, order = to_interleaving(guarded_search.spec, steps)
    done = run_interleaved(table, programs, order)
    assert table_text(done.table) == steps[-1].table
    if prop == "no_duplicate_push":
        assert props.no_duplicate_push(done.table) == found.detail
    elif prop == "single_active_wave":
        assert props.single_active_wave(done.table) == found.detail


@pytest.mark.parametrize("strategy", ["random", "pct"])
def test_walks_are_seeded_and_find_the_overlap_but_never_prove(strategy: str) -> None:
    runs = [
        walk_search(Scope(), POLICIES["original"], strategy=strategy, seed=7, max_states=400, time_limit=30)
        for _ in range(2)
    ]
    assert (runs[0].states, runs[0].transitions) == (runs[1].states, runs[1].transitions)
    assert runs[0].complete is False
    assert runs[0].holds("single_active_wave") is False
    assert runs[0].holds("threshold_respected") is None
    assert runs[0].states >= 400
