"""Each handler run carries a trigger named for what started it: the import's start is ``ImportStarted``,
a reconciler tick exists only under a policy with a reconciler, and the checker's runs are ``HandlerTriggered``."""

from __future__ import annotations

from collections import Counter

import pytest

import model.actions
import sim.workers
from coordinator import HandlerTriggered, ImportStarted, ReconcilerTicked, policy_named, program_for
from model.checker import check
from model.scope import Scope
from sim.scenario import PRESETS
from sim.workers import Shell


def _recording(monkeypatch: pytest.MonkeyPatch, module: object) -> Counter[type]:
    seen: Counter[type] = Counter()

    def spy(trigger, policy, config):  # type: ignore[no-untyped-def]
        seen[type(trigger)] += 1
        return program_for(trigger, policy, config)

    monkeypatch.setattr(module, "program_for", spy)
    return seen


@pytest.mark.parametrize("policy", ["original", "seed-fix", "atomic"])
def test_the_simulation_names_the_start_and_ticks_only_with_a_reconciler(monkeypatch, policy: str) -> None:
    seen = _recording(monkeypatch, sim.workers)
    Shell(PRESETS["light"].with_settings(policy=policy, waves=3, wave_size=5, workers=1)).run()  # about 15 s
    assert seen[ImportStarted] == 1
    assert (seen[ReconcilerTicked] > 0) == (policy == "atomic")


def test_the_checkers_runs_are_handler_triggered(monkeypatch) -> None:
    seen = _recording(monkeypatch, model.actions)
    check(Scope(workers=1, max_handlers=1), policy_named("guarded"))
    assert set(seen) == {HandlerTriggered}
