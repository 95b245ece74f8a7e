"""The checker's failure budget (``Scope.failures``): a batch that fails for good, and what it fires.

A failed batch is recorded as finished (progress counts it, ``failed_batches``)
and its ``BatchJobCompleted`` fires only under ``failed_batch_fires``: the same
meaning as in the simulation (``tests/test_sim_faults.py``) and in live workers
(``tests/test_live_sqlite.py``).
"""

from __future__ import annotations

import pytest
from test_model_reduction import assert_reductions_exact

from coordinator import policy_named
from model.actions import Spec, failures_left, next_states
from model.checker import EngineUnavailable, check, engine_for
from model.scope import Scope
from model.state import init
from model.trace import steps_of


def fires(name: str, value: bool, **switches: object):
    return policy_named(name).with_switches(name=name, failed_batch_fires=value, **switches)


@pytest.mark.parametrize("value", [False, True])
def test_a_failed_last_batch_stalls_seed_fix_unless_it_fires(value: bool) -> None:
    search = check(Scope(waves=1, failures=1), fires("seed-fix", value), properties=("no_stall",))
    assert search.decided and search.holds("no_stall") is value
    if not value:  # the stall goes through the failure: nothing is left to mark the finished wave completed
        steps = steps_of(search.spec, search.found["no_stall"].path)
        failed = [s for s in steps if s.action == "batch_fail"]
        assert len(failed) == 1 and failed[0].result == "out of tries; no BatchJobCompleted fires"
        assert steps[-1].table.startswith("1:processing 2/2")


def test_without_a_budget_no_batch_fails_and_seed_fix_holds_either_way() -> None:
    for value in (False, True):
        assert check(Scope(waves=1), fires("seed-fix", value), properties=("no_stall",)).holds("no_stall") is True


def _reachable(spec: Spec) -> list:
    seen, todo = {init(spec.scope, spec.policy)}, [init(spec.scope, spec.policy)]
    while todo:
        for _, nxt in next_states(spec, todo.pop(), reduce=False):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return list(seen)


@pytest.mark.parametrize("budget", [1, 2])
def test_the_budget_read_off_the_rows_bounds_the_failures_on_every_path(budget: int) -> None:
    spec = Spec(scope=Scope(waves=1, wave_size=2, failures=budget), policy=fires("original", True))
    states = _reachable(spec)
    spent = {sum(row[2] for row in s.rows) for s in states}
    assert spent == set(range(budget + 1))  # every budget is reachable, never more
    for state in states:
        labels = {label[0] for label, _ in next_states(spec, state, reduce=False)}
        assert ("batch_fail" in labels) is (failures_left(spec, state) > 0 and bool(state.running))


@pytest.mark.parametrize("value", [False, True])
def test_a_failed_batch_adds_an_event_only_when_it_fires(value: bool) -> None:
    spec = Spec(scope=Scope(waves=1, failures=1), policy=fires("guarded", value))
    state = init(spec.scope, spec.policy)
    state = dict(next_states(spec, state, reduce=False))[("worker_take", 0)]
    after = dict(next_states(spec, state, reduce=False))[("batch_fail", 1, 0)]
    assert after.rows[0][1:3] == (0, 1) and after.running == ()
    assert len(after.events) == (1 if value else 0)


CASES = [
    ("seed-fix", Scope(max_handlers=1, failures=1), False),
    ("seed-fix", Scope(max_handlers=1, failures=1), True),
    ("atomic", Scope(failures=1), False),
    # more failures than batches in a wave: the abstraction must keep the failed counters whole
    ("seed-fix", Scope(wave_size=1, failures=2), True),
]


@pytest.mark.parametrize(("policy", "scope", "value"), CASES,
                         ids=[f"{p}-{s.label()}-fires={v}" for p, s, v in CASES])
def test_the_reductions_keep_the_verdicts_with_failures(policy: str, scope: Scope, value: bool) -> None:
    assert_reductions_exact(fires(policy, value), scope)


def test_auto_runs_a_failure_budget_on_the_python_engine_and_compiled_refuses_it() -> None:
    assert engine_for(Scope(failures=1), "auto") == "python"
    with pytest.raises(EngineUnavailable, match="no failure budget"):
        engine_for(Scope(failures=1), "compiled")
    assert check(Scope(waves=1, failures=1), fires("guarded", False), properties=("no_stall",)).engine == "python"


def test_the_abstraction_keeps_the_budget_where_a_wave_fails_more_batches_than_it_has() -> None:
    # a wave pushed twice can fail more batches than it has; saturating them at the wave size
    # would merge states with different budgets left
    scope, policy = Scope(wave_size=1, failures=2), fires("seed-fix", True)
    concrete, abstract = Spec(scope=scope, policy=policy), Spec(scope=scope, policy=policy, abstract=True)
    states = _reachable(concrete)
    beyond = [s for s in states if any(row[2] > row[5] for row in s.rows)]
    assert beyond  # the case exists in this scope
    for state in beyond:
        assert failures_left(abstract, abstract.abstracted(state)) == failures_left(concrete, state) == 0


def test_a_trace_through_a_failure_replays_in_the_simulation_and_on_sqlite(tmp_path) -> None:
    from click.testing import CliRunner

    from wavesim.cli import main

    trace = tmp_path / "trace.json"
    runner = CliRunner()
    done = runner.invoke(main, ["check", "--policy", "seed-fix", "--waves", "1", "--failures", "1",
                                "--property", "no_stall", "--trace-out", str(trace)])
    assert trace.exists(), done.output
    simulated = runner.invoke(main, ["replay", str(trace), "--simulate"])
    assert "VIOLATED no_stall" in simulated.output and "wave 1 processing" in simulated.output
    real = runner.invoke(main, ["replay", str(trace), "--db", f"sqlite:///{tmp_path / 'r.db'}"])
    assert "no_stall VIOLATED in the real rows" in real.output
