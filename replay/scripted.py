"""A checker counterexample replayed in the timed simulation, step for step.

It lives above both model and simulation because it joins the two sides: it reads
the model's traces (``model/``) and drives the simulation (``sim/``), and
neither of those imports the other.

``replay_in_sim(spec, prop, detail, steps, seed=...)`` builds the scenario the
counterexample's scope describes (its waves, wave size, threshold and workers;
the trace's policy; queued listeners, as in the model; the seed) and drives
the simulation's own ``Shell`` (its ``Database``, ``JobQueue``, ``Recorder``
and ``Monitors``) so that the steps happen in exactly the counterexample's
order. The script only chooses *which* actor moves next, as the model's path
did; every DB operation is the core's (``coordinator.program_for`` for handler
runs, ``coordinator.finish_batch`` for a batch's end) applied by
``Database.run`` after a latency drawn from the scenario's streams.

Timing: each step starts when its predecessor has finished. A take and a
listener start take no time; a handler step takes one DB latency; a batch runs
for a drawn duration from the moment it was taken, so its ``batch_finish`` comes
at the later of that end and its predecessor's end, plus the write latency of
the record. A ``trigger_fire`` waits for the auto-trigger's due time (the time
it was scheduled plus its delay); since the trace fixes only the order, waiting
never reorders anything. A reconciler tick starts at the next multiple of the
policy's period.

After every step the simulated table and jobs are compared with the ones the
model recorded; the first difference is a ``ReplayError`` naming that step.
A safety counterexample stops after its last step. A liveness counterexample
(a trap) is continued by ``drain``: the model's fault-free steps, always the
first one enabled, until nothing is left to run, so the run ends quiescent and
``no_stall`` is judged there, as in a full run.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

from coordinator import (
    LIVENESS,
    POLICIES,
    AutoTriggerFired,
    BatchJobCompleted,
    Effect,
    ImportStarted,
    ReconcilerTicked,
    ScheduleTrigger,
    Status,
    Trigger,
    WaveTable,
    finish_batch,
    program_for,
)
from model.actions import FAULTS, Spec, next_states
from model.state import init
from model.trace import ReplayError, TraceStep, describe, effect_text, follow, jobs_text, result_text, table_text
from sim.queue import BATCH
from sim.recorder import Series
from sim.run import RunResult, measure
from sim.scenario import Scenario
from sim.workers import JOB_ID, Shell

__all__ = ["DRAIN_LIMIT", "ScriptedRun", "TimedStep", "drain", "replay_in_sim", "scenario_for"]

#: The most steps ``drain`` adds after a trap before it gives up on reaching quiescence.
DRAIN_LIMIT = 500


@dataclass(frozen=True, slots=True, kw_only=True)
class TimedStep:
    """One replayed step and the simulated time its effect took place."""

    n: int
    t: float
    actor: str
    action: str
    what: str
    result: str
    drained: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "t": round(self.t, 6), "actor": self.actor, "action": self.action,
                "what": self.what, "result": self.result, "drained": self.drained}


@dataclass(frozen=True, slots=True, kw_only=True)
class ScriptedRun:
    """A counterexample replayed in the simulation: its steps with times, and the run's result."""

    prop: str
    detail: str
    steps: tuple[TimedStep, ...]
    result: RunResult

    def to_dict(self) -> dict[str, Any]:
        return {"property": self.prop, "detail": self.detail, "outcome": self.result.outcome,
                "final_table": table_text(self.result.table), **self.result.to_dict(),
                "steps": [s.to_dict() for s in self.steps]}


def scenario_for(spec: Spec, seed: int = 0) -> Scenario:
    """The scenario of a counterexample's scope and policy (queued listeners, as in the model)."""
    scope, name = spec.scope, spec.policy.name
    if name not in POLICIES:
        raise ReplayError(f"policy {name!r}: the simulation runs only {', '.join(POLICIES)}")
    return Scenario(preset="replay", policy=name, seed=seed, waves=scope.waves, wave_size=scope.wave_size,
                    threshold=scope.threshold, workers=scope.workers, listener="queued")


def drain(spec: Spec, steps: Sequence[TraceStep], limit: int = DRAIN_LIMIT) -> tuple[TraceStep, ...]:
    """The model's fault-free steps after ``steps``, the first enabled one each time, until nothing is
    left to run (with a reconciler: until a whole tick changes nothing), or ``limit`` steps."""
    _, state, names, counter = follow(spec, steps)
    out: list[TraceStep] = []
    tick_rows: object = None
    while len(out) < limit:
        options = [(lb, nx) for lb, nx in next_states(spec, state, reduce=False)
                   if lb[0] not in FAULTS and lb[0] != "reconciler_tick"]
        if not options:
            ticks = [(lb, nx) for lb, nx in next_states(spec, state, reduce=False) if lb[0] == "reconciler_tick"]
            if not ticks or state.rows == tick_rows:
                break
            tick_rows, options = state.rows, ticks
        label, nxt = options[0]
        actor, what, result = describe(spec, label, state, names, counter)
        out.append(TraceStep(n=len(steps) + len(out) + 1, action=str(label[0]), actor=actor, what=what,
                             result=result, table=table_text(nxt.table), jobs=jobs_text(nxt)))
        state = nxt
    return tuple(out)


#: What is compared besides table and jobs: 2 = operation and result, 1 = operation (the run's name).
_COMPARED = {"handler_step": 2, "listener_start": 1, "reconciler_tick": 1}


def _one(effect: Effect) -> Generator[Effect, object, object]:
    """A program of one DB operation: lets ``Database.run`` apply a handler's next step alone."""
    return (yield effect)


class _Script(Shell):
    """The simulation's shell, moved by a script instead of by its workers."""

    def __init__(self, scenario: Scenario, spec: Spec) -> None:
        super().__init__(scenario)
        self.policy = spec.policy  # the trace's exact switches
        self.max_handlers = spec.scope.max_handlers
        self.fifo = spec.scope.fifo
        self.due: list[float] = []  # auto-triggers scheduled, by due time
        self.waiting: list[str] = []  # completion events and fired triggers waiting for a listener
        self.running: list[tuple[int, int, float]] = []  # (wave, batch, time its work ends)
        self.runs: dict[str, tuple[Any, Effect, str]] = {}  # handler run name -> (program, next effect, label)
        self.started = 0
        self.tick = 0
        self.timed: list[TimedStep] = []

    def _on_applied(self, effect: Effect, before: WaveTable, after: WaveTable, result: object) -> None:
        if isinstance(effect, ScheduleTrigger):  # held apart: the model's triggers go to the listeners
            self.due.append(self.env.now + effect.delay_s)
            self.due.sort()
            return
        super()._on_applied(effect, before, after, result)

    def _stop(self, outcome: str, at: float | None = None) -> None:
        """The script decides when the run ends; completing every wave only marks the time."""
        if outcome == "completed" and self.final is None:
            self.ended_s, self.final = self.env.now if at is None else at, self.db.table

    def jobs_text(self) -> str:
        queue = " ".join(f"w{w}b{b}" for _, w, b in self.queue.ready) or "-"
        running = " ".join(f"w{w}b{b}" for w, b in sorted((w, b) for w, b, _ in self.running)) or "-"
        return f"queue [{queue}] running [{running}] events {len(self.waiting)} delayed {len(self.due)}"

    def quiescent(self) -> bool:
        return not (self.queue.ready or self.due or self.running or self.runs or self.waiting)

    def _start_run(self, label: str) -> str:
        self.started += 1
        name = f"h{self.started}"
        trigger: Trigger
        if label == "auto-trigger":
            trigger = AutoTriggerFired(job_id=JOB_ID)
        elif label.startswith("reconciler"):
            trigger = ReconcilerTicked(job_id=JOB_ID)
        else:  # "listener W.B"
            wave, batch = (int(x) for x in label.split()[1].split("."))
            trigger = BatchJobCompleted(job_id=JOB_ID, wave=wave, batch=batch)
        program = program_for(trigger, self.policy, self.config)
        self.runs[name] = (program, next(program), label)
        return name

    def _fail(self, step: TraceStep, why: str) -> ReplayError:
        return ReplayError(f"step {step.n} ({step.actor} {step.what}) cannot happen in the simulation: {why}")

    def _batch(self, step: TraceStep) -> tuple[int, int, float]:
        w, b = (int(x) for x in step.actor[1:].split("b"))
        for job in self.running:
            if job[:2] == (w, b):
                return job
        raise self._fail(step, f"batch w{w}b{b} is not running")

    def act(self, step: TraceStep) -> Generator[Any, Any, tuple[str, str]]:
        """Take one step of the trace; return the (operation, result) it did."""
        env, q, kind = self.env, self.queue, step.action
        if kind == "worker_take":
            w, b = (int(x) for x in step.what.rsplit(" ", 1)[-1][1:].split("b"))
            job = (BATCH, w, b)
            if job not in q.ready or len(self.running) >= self.scenario.workers:
                raise self._fail(step, "the job is not queued or no worker is free")
            position = q.ready.index(job) if not self.fifo else 0
            if q.ready[position] != job:
                raise self._fail(step, f"the job at the front of the queue is {q.ready[0]}")
            del q.ready[position]
            q.ready_batches -= 1
            q.unfinished += 1
            self.recorder.on_depth(env.now, q.ready_batches)
            self.running.append((w, b, env.now + self.streams.duration()))
            return step.what, ""
        if kind in ("batch_finish", "worker_crash", "batch_fail"):
            held = self._batch(step)
            w, b, ends = held
            if ends > env.now:
                yield env.timeout(ends - env.now)
            yield from self.db.run(finish_batch(JOB_ID, w, b, failed=kind == "batch_fail"), f"batch {w}.{b}")
            self.running.remove(held)
            q.task_done()
            if kind == "worker_crash":
                q.put((BATCH, w, b))
            elif kind == "batch_finish" or self.policy.failed_batch_fires:  # a failure fires only so
                self.waiting.append(f"listener {w}.{b}")
            return step.what, step.result
        if kind == "handler_step":
            if step.actor not in self.runs:
                raise self._fail(step, f"no handler run {step.actor} is in flight")
            program, effect, label = self.runs[step.actor]
            result = yield from self.db.run(_one(effect), label)
            text = result_text(result)
            try:
                self.runs[step.actor] = (program, program.send(result), label)
            except StopIteration as stop:
                del self.runs[step.actor]
                text += f"; {result_text(stop.value)}"
            return effect_text(effect), text
        if kind == "handler_crash":
            if step.actor not in self.runs:
                raise self._fail(step, f"no handler run {step.actor} is in flight")
            self.runs.pop(step.actor)[0].close()
            return step.what, step.result
        if kind in ("listener_start", "reconciler_tick"):
            if len(self.runs) >= self.max_handlers or (kind == "listener_start" and not self.waiting):
                raise self._fail(step, "no event waits or every listener slot is busy")
            if kind == "listener_start":
                label = self.waiting.pop(0)
            else:
                period = self.policy.reconciler_period_s or 0.0
                self.tick = max(self.tick + 1, math.ceil(env.now / period) if period else 0)
                if self.tick * period > env.now:
                    yield env.timeout(self.tick * period - env.now)
                label = f"reconciler tick {self.tick}"
            return f"starts handler run {self._start_run(label)}", label
        if kind == "trigger_fire":
            if not self.due:
                raise self._fail(step, "no auto-trigger is scheduled")
            due = self.due.pop(0)
            if due > env.now:
                yield env.timeout(due - env.now)
            self.waiting.append("auto-trigger")
            return step.what, step.result
        if kind in ("event_duplicate", "event_lose") and self.waiting:
            if kind == "event_duplicate":
                self.waiting.insert(0, self.waiting[0])
            else:
                self.waiting.pop(0)
            return step.what, ""
        raise self._fail(step, f"unknown action {kind!r} or no event waits")

    def script(self, spec: Spec, steps: Sequence[TraceStep], prefix: int) -> Generator[Any, Any, None]:
        """Step 0 is the simulation's own start (its handler run dispatches wave 1); then every step."""
        yield from self.db.run(program_for(ImportStarted(job_id=JOB_ID), self.policy, self.config), "start")
        start = init(spec.scope, spec.policy)
        begin = TraceStep(n=0, action="start", actor="start", what="dispatches wave 1", result="",
                          table=table_text(start.table), jobs=jobs_text(start))
        self._compare(begin, begin.what, "")
        self.timed.append(TimedStep(n=0, t=self.env.now, actor="start", action="start", what=begin.what, result=""))
        for i, step in enumerate(steps):
            what, result = yield from self.act(step)
            compared = _COMPARED.get(step.action, 0)
            self._compare(step, what if compared > 0 else step.what, result if compared > 1 else step.result)
            self.timed.append(TimedStep(n=step.n, t=self.env.now, actor=step.actor, action=step.action,
                                        what=what, result=result, drained=i >= prefix))

    def _compare(self, step: TraceStep, what: str, result: str) -> None:
        got = (what, result, table_text(self.db.table), self.jobs_text())
        want = (step.what, step.result, step.table, step.jobs)
        for name, g, w in zip(("operation", "result", "table", "jobs"), got, want, strict=True):
            if g != w:
                raise ReplayError(f"step {step.n} ({step.actor} {step.what}) differs in the simulation: "
                                  f"{name} {g!r} where the model has {w!r}")


def replay_in_sim(spec: Spec, prop: str, detail: str, steps: Sequence[TraceStep], *, seed: int = 0) -> ScriptedRun:
    """Run the counterexample ``steps`` in the timed simulation, in their order (see the module docstring)."""
    extra = drain(spec, steps) if prop in LIVENESS else ()
    shell = _Script(scenario_for(spec, seed), spec)
    shell.env.process(shell.script(spec, (*steps, *extra), len(steps)))
    shell.env.run()
    return ScriptedRun(prop=prop, detail=detail, steps=tuple(shell.timed), result=_result(shell))


def _result(shell: _Script) -> RunResult:
    """The run's ``RunResult``, measured as ``sim.run.run_one`` measures a full run."""
    table, now, rec, sc = shell.db.table, shell.env.now, shell.recorder, shell.scenario
    left = [r.wave_number for r in table.rows if r.status is not Status.COMPLETED]
    quiet = shell.quiescent() and (shell.policy.reconciler_period_s is None or shell.tick > 0)
    outcome = "completed" if not left else "stopped"
    if quiet and left and shell.monitors.at_quiescence(table, now):
        outcome = "stalled"
    if quiet or not left:
        shell.monitors.at_end(table, now, horizon=False)
    metrics = measure(sc, outcome, table, now, rec)
    series: Series = rec.series()
    return RunResult(scenario=sc, outcome=outcome, table=table, metrics=metrics,
                     properties=shell.monitors.to_dict(), series=series, db_operations=shell.db.operations)
