"""The model against the core: random rule sequences applied to both, compared
through one abstraction function after every rule."""

from __future__ import annotations

from hypothesis import HealthCheck, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from coordinator import (
    POLICIES,
    AutoTriggerFired,
    BatchJobCompleted,
    EnqueueBatches,
    HandlerRun,
    ReconcilerTicked,
    ScheduleTrigger,
    WaveTable,
    finish_batch,
    program_for,
    run_sequential,
)
from model import actions
from model.scope import Scope
from model.state import State, init, is_reconciler_run, rows_of, table_of


def abstraction(rows: object, queue: object, running: object, events: tuple[int, ...], delayed: int,
                effects: object, reconciling: object) -> object:
    """What both sides must agree on: the rows, the jobs, the events (each as the wave its run is started
    with), each run's next DB operation and which runs are the reconciler's."""
    return (rows, queue, running, events, delayed, effects, reconciling)


class CoreAgainstModel(RuleBasedStateMachine):
    """The core driven by hand (``HandlerRun`` objects on a ``WaveTable``) and the model's actions."""

    @initialize(policy=st.sampled_from(sorted(POLICIES)))
    def start(self, policy: str) -> None:
        note(f"policy {policy}")
        self.scope = Scope(waves=2, wave_size=2, max_handlers=2)
        # the model keeps no times, so to it every relay lease may have run out: drive both with none
        base = POLICIES[policy]
        no_lease = base.with_switches(relay_lease_s=0.0, name=policy) if base.atomic_advance else base
        self.spec = actions.Spec(scope=self.scope, policy=no_lease)
        self.model: State = init(self.scope, self.spec.policy)
        self.table: WaveTable = table_of(self.model.rows, self.scope.wave_size)
        self.queue = [(1, b) for b in range(self.scope.wave_size)]
        self.running: list[tuple[int, int]] = []
        self.events: list[tuple[int, int] | None] = []  # (wave, batch) of a completion, None for an auto-trigger
        self.delayed = 0
        self.runs: list[HandlerRun] = []
        self.reconciling: list[bool] = []  # per run: the reconciler's (its own slot), not a listener's

    def _step(self, nxt: State | None) -> None:
        assert nxt is not None
        self.model = nxt

    @precondition(lambda self: hasattr(self, "spec") and self.queue and len(self.running) < self.scope.workers)
    @rule()
    def worker_take(self) -> None:
        note(f"worker takes {self.queue[0]}")
        self._step(actions.worker_take(self.spec, self.model, 0))
        self.running = sorted(self.running + [self.queue.pop(0)])

    @precondition(lambda self: hasattr(self, "spec") and self.running)
    @rule(data=st.data())
    def batch_finish(self, data: st.DataObject) -> None:
        w, b = data.draw(st.sampled_from(self.running))
        note(f"batch w{w}b{b} finishes")
        self._step(actions.batch_finish(self.spec, self.model, w, b))
        self.running.remove((w, b))
        self.table = run_sequential(self.table, finish_batch(1, w, b)).table
        self.events.append((w, b))

    def _start(self, trigger: BatchJobCompleted | AutoTriggerFired | ReconcilerTicked) -> None:
        program = program_for(trigger, self.spec.policy, self.spec.config)
        self.runs.append(HandlerRun(f"h{len(self.runs)}", program))
        self.reconciling.append(isinstance(trigger, ReconcilerTicked))

    def _waves(self) -> tuple[int, ...]:
        """The waiting events as the model tags them: a batch's wave where the policy reads it, else 0."""
        tagged = self.spec.policy.reads_batch_wave
        return tuple(e[0] if e is not None and tagged else 0 for e in self.events)

    @precondition(lambda self: hasattr(self, "spec") and self.events
                  and self.reconciling.count(False) < self.scope.max_handlers)
    @rule()
    def listener_start(self) -> None:
        note("listener starts a run")
        self._step(actions.listener_start(self.spec, self.model))
        event = self.events.pop(0)
        self._start(AutoTriggerFired(job_id=1) if event is None else BatchJobCompleted(job_id=1, wave=event[0],
                                                                                     batch=event[1]))

    @precondition(
        lambda self: hasattr(self, "spec") and self.spec.policy.reconciler_period_s is not None
        and True not in self.reconciling
    )
    @rule()
    def reconciler_tick(self) -> None:
        note("reconciler starts a run")
        self._step(actions.reconciler_tick(self.spec, self.model))
        self._start(ReconcilerTicked(job_id=1))

    @precondition(lambda self: hasattr(self, "spec") and self.runs)
    @rule(data=st.data())
    def handler_step(self, data: st.DataObject) -> None:
        i = data.draw(st.integers(0, len(self.runs) - 1))
        run = self.runs[i]
        self.table, step = run.step(self.table, 0.0)
        note(f"run {i}: {step.effect} -> {step.result}")
        self._step(actions.handler_step(self.spec, self.model, i))
        if isinstance(step.effect, EnqueueBatches) and step.result:  # a conditional push may find it pushed
            self.queue += [(step.effect.wave, b) for b in range(self.scope.wave_size)]
        elif isinstance(step.effect, ScheduleTrigger):
            self.delayed += 1
        if run.done:
            del self.runs[i]
            del self.reconciling[i]

    @precondition(lambda self: hasattr(self, "spec") and self.delayed)
    @rule()
    def trigger_fire(self) -> None:
        note("a delayed trigger fires")
        self._step(actions.trigger_fire(self.spec, self.model))
        self.delayed -= 1
        self.events.append(None)

    @rule()
    def nothing_happens(self) -> None:
        """Keeps the machine able to step once the import has finished or stalled."""
        note("nothing happens")

    @invariant()
    def both_agree(self) -> None:
        if not hasattr(self, "spec"):
            return
        core = abstraction(
            rows_of(self.table), tuple(self.queue), tuple(self.running), self._waves(), self.delayed,
            tuple(r.effect for r in self.runs), tuple(self.reconciling),
        )
        model = abstraction(
            self.model.rows, self.model.queue, self.model.running, self.model.events, self.model.delayed,
            tuple(self.spec.next_effect(r) for r in self.model.runs),
            tuple(is_reconciler_run(r) for r in self.model.runs),
        )
        assert core == model


CoreAgainstModel.TestCase.settings = settings(
    max_examples=50, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestCoreAgainstModel = CoreAgainstModel.TestCase
