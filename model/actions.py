"""The actions of the spec (its Next relation): one small pure function each.

Each action is named actor+verb, takes the ``Spec`` (the constants: scope,
policy, and a memo of the core's handler program) and a state, and returns the
next state or ``None`` when it is not enabled. Handler runs execute the core's
``check_and_trigger_next_wave`` as it is: a run is the tuple of results it has
received, the program is recreated and replayed to find its next DB operation
(memoised), and that operation is applied with ``coordinator.apply`` as one
atomic step.

The ``import`` queue is FIFO, as in Laravel: a free worker takes the front
job. (``Scope.fifo = False`` lets any worker take any ready job instead, an
over-approximation that may report orders a FIFO queue cannot produce, such as
an old wave's last batch waiting behind two newer waves.) Running jobs finish
in any order. Listeners are queued (Laravel
``ShouldQueue``): a completion event waits on the listeners' queue, front
first, until one of ``max_handlers`` listener slots starts its handler run,
which is how one wave's completions run more handlers at once than there are
batch workers. The periodic reconciler (policies with one) is a scheduler
process off that queue, as in the simulation and live runs: it has one slot of
its own, so at most one reconciler run is in flight, beside up to
``max_handlers`` listener runs. An event carries the wave of its batch where the policy reads it
(``Policy.reads_batch_wave``, for ``batch_wave_check``); elsewhere every event
carries 0, which keeps them interchangeable.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from coordinator import (
    ClaimNextWave,
    Decision,
    Effect,
    EnqueueBatches,
    HandlerTriggered,
    MarkPushed,
    Policy,
    ReadClaimedWave,
    ReconcilerTicked,
    RecordBatchFinished,
    ScheduleTrigger,
    WaveConfig,
    WaveRow,
    WaveTable,
    apply,
    program_for,
)
from model.futures import Futures, futures_for
from model.scope import Scope
from model.settled import check_step
from model.state import (
    JOB_ID,
    RECONCILER,
    Jobs,
    Row,
    Run,
    State,
    canonical,
    decode_row,
    encode_row,
    is_reconciler_run,
    listener_runs,
    rows_of,
    table_of,
)

__all__ = [
    "FAULTS",
    "Label",
    "Spec",
    "batch_fail",
    "batch_finish",
    "event_duplicate",
    "event_lose",
    "failures_left",
    "handler_crash",
    "handler_step",
    "lease_problem",
    "listener_start",
    "next_states",
    "reconciler_tick",
    "trigger_fire",
    "worker_crash",
    "worker_take",
]

_new = tuple.__new__  # builds a State from its fields without NamedTuple's keyword overhead

NOW = 0.0  # the logical clock: times never enter the state

#: A transition's name: the action and its arguments, e.g. ("worker_take", 2, 0).
Label = tuple[str | int, ...]

#: Actions that spend a fault budget; liveness is judged over the others.
FAULTS = frozenset({"worker_crash", "handler_crash", "event_duplicate", "event_lose", "batch_fail"})


#: What one handler step does: (new rows, the effect, its result, the grown run or None when it ended).
StepOutcome = tuple[tuple[Row, ...], Effect, object, Run | None]


@dataclass(slots=True)
class Spec:
    """The constants of one check (scope, policy) and memos of the core's answers."""

    scope: Scope
    policy: Policy
    #: the search's reductions: the symmetry (``canonical``, applied by ``reduced``) and the
    #: abstraction (``abstracted``: every step of this spec yields abstracted rows and runs)
    symmetric: bool = True
    abstract: bool = False
    #: the ``futures`` reduction (``model.futures``): runs with the same future are merged; only
    #: with ``abstract``, whose coarse results it enumerates
    merge: bool = False
    #: the ``settled`` reduction (``model.settled``): every step is checked against its premise
    settle: bool = False
    config: WaveConfig = field(init=False)
    lease_held: bool = field(init=False)
    #: events carry their batch's wave (``Policy.reads_batch_wave``)
    tagged: bool = field(init=False)
    _programs: dict[Run, Effect | Decision] = field(default_factory=dict)
    _steps: dict[tuple[tuple[Row, ...], Run, frozenset[int]], StepOutcome] = field(default_factory=dict)
    _records: dict[tuple[tuple[Row, ...], int, int, bool], tuple[Row, ...]] = field(default_factory=dict)
    _held: dict[Run, int | None] = field(default_factory=dict)
    _coarse_rows: dict[tuple[Row, ...], tuple[Row, ...]] = field(default_factory=dict)
    _coarse_runs: dict[Run, Run] = field(default_factory=dict)
    futures: Futures | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.config = self.scope.config
        self.lease_held = self.scope.relay_lease == "outlasts-claimer"
        self.tagged = self.policy.reads_batch_wave
        problem = lease_problem(self.scope, self.policy)
        if problem is not None:
            raise ValueError(problem)
        if self.merge:
            if not self.abstract:
                raise ValueError("the futures reduction needs the abstraction reduction")
            self.futures = futures_for(self)

    def started(self, wave: int, *, reconciler: bool = False) -> Run:
        """A new handler run started by an event of ``wave`` (0: none), or by a reconciler tick."""
        run: Run = (RECONCILER,) if reconciler else (wave,)
        return run if self.futures is None else self.futures.representative(run)

    def next_effect(self, run: Run) -> Effect | Decision:
        """The DB operation a run waits on, or its Decision when it has ended.

        The core's program is recreated, given what started the run (``run[0]``: a
        trigger wave, or ``RECONCILER``) and sent the run's results in order.
        """
        found = self._programs.get(run)
        if found is None:
            wave = run[0]
            trigger: HandlerTriggered | ReconcilerTicked
            if wave == RECONCILER:
                trigger = ReconcilerTicked(job_id=JOB_ID)
            else:
                assert isinstance(wave, int)
                trigger = HandlerTriggered(job_id=JOB_ID, wave=wave or None)
            program = program_for(trigger, self.policy, self.config)
            try:
                effect = next(program)
                for result in run[1:]:
                    effect = program.send(_decode(result))
                found = effect
            except StopIteration as stop:
                assert isinstance(stop.value, Decision)
                found = stop.value
            self._programs[run] = found
        return found

    def holds_claim(self, run: Run) -> int | None:
        """The wave a run claimed or took to relay and has not yet marked (a mark that completes
        the wave lets the run go on to claim the next one)."""
        if run in self._held:
            return self._held[run]
        held = None
        for k, result in enumerate(run[1:], start=1):
            effect = self.next_effect(run[:k])
            if isinstance(effect, (ClaimNextWave, ReadClaimedWave)) and type(result) is int:
                held = result
            elif isinstance(effect, MarkPushed):
                held = None
        self._held[run] = held
        return held

    def step(self, rows: tuple[Row, ...], run: Run, held: frozenset[int] = frozenset()) -> StepOutcome:
        """Apply a run's next DB operation to ``rows`` with ``coordinator.apply``; ``held``: the
        waves other live runs hold, whose claims are younger than the lease
        (``Scope.relay_lease = "outlasts-claimer"``)."""
        key = (rows, run, held)
        found = self._steps.get(key)
        if found is None:
            effect = self.next_effect(run)
            assert not isinstance(effect, Decision)
            before = table_of(rows, self.scope.wave_size)
            if held and isinstance(effect, ReadClaimedWave):  # a live claim: stamped now, inside the lease
                before = WaveTable(job_id=JOB_ID, rows=tuple(
                    replace(r, dispatched_at=NOW) if r.wave_number in held else r for r in before.rows))
            table, result = apply(before, effect, NOW)
            if self.settle:
                check_step(before, table, effect)
            grown = run + (encode_row(result) if isinstance(result, WaveRow) else result,)
            after = None if isinstance(self.next_effect(grown), Decision) else grown
            new_rows = rows_of(table)
            if self.abstract:
                new_rows = self._coarse(new_rows)
                if self.futures is not None:
                    self.futures.check(effect, self._coarse_run(grown, merge=False)[-1])
                after = None if after is None else self._coarse_run(after)
            found = self._steps[key] = (new_rows, effect, result, after)
        return found

    def run_step(self, rows: tuple[Row, ...], runs: tuple[Run, ...], index: int) -> StepOutcome:
        """The next DB operation of ``runs[index]``, with the claims the other live runs hold."""
        run = runs[index]
        held: frozenset[int] = frozenset()
        if self.lease_held and isinstance(self.next_effect(run), ReadClaimedWave):
            held = frozenset(w for i, r in enumerate(runs) if i != index for w in (self.holds_claim(r),)
                             if w is not None)
        return self.step(rows, run, held)

    def record(self, rows: tuple[Row, ...], wave: int, batch: int, *, failed: bool = False) -> tuple[Row, ...]:
        """The rows after ``RecordBatchFinished`` of one batch (``failed``: recorded as failed for good)."""
        key = (rows, wave, batch, failed)
        found = self._records.get(key)
        if found is None:
            effect = RecordBatchFinished(job_id=JOB_ID, wave=wave, batch=batch, failed=failed)
            before = table_of(rows, self.scope.wave_size)
            table, _ = apply(before, effect, NOW)
            if self.settle:
                check_step(before, table, effect)
            new_rows = rows_of(table)
            found = self._records[key] = self._coarse(new_rows) if self.abstract else new_rows
        return found

    def reduced(self, state: State) -> State:
        """A successor as the search stores it: canonical under ``symmetric``."""
        return canonical(state, relabel=not self.scope.fifo) if self.symmetric else state

    def concrete(self) -> Spec:
        """This spec without the abstraction: its steps keep every counter and every result."""
        return self if not self.abstract else Spec(scope=self.scope, policy=self.policy, symmetric=self.symmetric,
                                                   settle=self.settle)

    def representative(self, state: State) -> State:
        """The stored state that a state of ``concrete()`` stands as (abstracted, then reduced)."""
        return self.reduced(self.abstracted(state) if self.abstract else state)

    def abstracted(self, state: State) -> State:
        """``state`` with what no reader can tell apart merged (the "abstraction" reduction).

        * Counters saturate: finished counters at the wave size, pushes and claims at 2. Every
          reader compares them with no more than that (``counted >= batches`` or ``>= threshold``,
          a property's ``> 1``, the fused comparison's ``== 0``). Failed batches saturate no lower
          than ``Scope.failures``: the failure budget left is read off them (``failures_left``),
          and they never exceed it, so they are kept exactly.
        * A wave row a run has read keeps, of its finished count, only which side of the two
          numbers the handler compares it with it is on (below the threshold, at it, all
          finished): ``check_wave_completion`` reads nothing else of it.

        Both commute with every step (a step of an abstracted state, abstracted, is the
        abstraction of the step), so the quotient has the same verdicts and the same shortest
        paths; with ``abstract`` on, ``step`` and ``record`` yield abstracted rows and runs.
        """
        rows = self._coarse(state.rows)
        runs = tuple(self._coarse_run(run) for run in state.runs)
        return _new(State, (rows, state.queue, state.running, state.events, state.delayed, runs, state.crashes,
                            state.duplicates, state.losses))

    def _coarse(self, rows: tuple[Row, ...]) -> tuple[Row, ...]:
        found = self._coarse_rows.get(rows)
        if found is None:
            cap = self.scope.failures
            found = self._coarse_rows[rows] = tuple(
                (st, min(c, n), min(f, max(n, cap)), m, min(d, 2), n, min(k, 2)) for st, c, f, m, d, n, k in rows)
        return found

    def _coarse_run(self, run: Run, *, merge: bool = True) -> Run:
        """``run`` with coarse results, and (``futures``) as the representative of its future."""
        if not merge:
            return tuple(self.coarse_result(r) if type(r) is tuple and r and r[0] == "row" else r for r in run)
        found = self._coarse_runs.get(run)
        if found is None:
            found = self._coarse_run(run, merge=False)
            if self.futures is not None:
                found = self.futures.representative(found)
            self._coarse_runs[run] = found
        return found

    def coarse_result(self, code: tuple[object, ...]) -> tuple[object, ...]:
        """A row result (``encode_row``) as the abstraction keeps it."""
        _, wave, status, batches, completed, failed, finished = code
        assert isinstance(batches, int) and isinstance(completed, int) and isinstance(failed, int)
        assert isinstance(finished, int)
        need = min(self.config.threshold_count, batches)
        count = finished if self.policy.distinct_progress else completed + failed
        side = batches if count >= batches else need if count >= need else 0
        if self.policy.distinct_progress:
            return ("row", wave, status, batches, 0, 0, side)
        return ("row", wave, status, batches, side, 0, 0)


def lease_problem(scope: Scope, policy: Policy) -> str | None:
    """Why ``scope.relay_lease`` cannot apply to ``policy`` (it has no relay, or no lease), or None."""
    if scope.relay_lease == "expired":
        return None
    if not policy.atomic_advance or policy.fused_push:
        return (f"--relay-lease {scope.relay_lease} is read only by advance()'s relay, which policy {policy.name} "
                "has not")
    if not policy.relay_lease_s:
        return f"--relay-lease {scope.relay_lease} needs a lease; policy {policy.name} has relay_lease_s=0"
    return None


def _decode(result: object) -> object:
    if isinstance(result, tuple) and result and result[0] == "row":
        return decode_row(result)
    return result


def worker_take(spec: Spec, state: State, position: int) -> State | None:
    """A free worker takes the batch job at ``position`` of the queue (the front, on a FIFO queue)."""
    rows, queue, running, events, delayed, runs, crashes, duplicates, losses = state
    if position >= len(queue) or len(running) >= spec.scope.workers:
        return None
    job = queue[position]
    return _new(State, (
        rows, queue[:position] + queue[position + 1:], tuple(sorted(running + (job,))), events, delayed, runs,
        crashes, duplicates, losses,
    ))


def _without(running: Jobs, job: tuple[int, int]) -> Jobs:
    at = running.index(job)
    return running[:at] + running[at + 1:]


def batch_finish(spec: Spec, state: State, wave: int, batch: int) -> State | None:
    """A running batch job finishes: it is recorded, and BatchJobCompleted fires."""
    rows, queue, running, events, delayed, runs, crashes, duplicates, losses = state
    if (wave, batch) not in running:
        return None
    return _new(State, (
        spec.record(rows, wave, batch), queue, _without(running, (wave, batch)),
        events + (wave if spec.tagged else 0,), delayed, runs, crashes, duplicates, losses,
    ))


def failures_left(spec: Spec, state: State) -> int:
    """The failure budget left (``Scope.failures``): only ``batch_fail`` records a failed batch, so the
    rows' failed counters are the budget spent, and the state needs no field of its own for it."""
    return spec.scope.failures - sum(row[2] for row in state.rows)


def batch_fail(spec: Spec, state: State, wave: int, batch: int) -> State | None:
    """A running batch job fails for good (out of tries): it is recorded as a failed batch, which
    counts toward its wave's progress as a finished one does; BatchJobCompleted fires only under
    ``Policy.failed_batch_fires``."""
    rows, queue, running, events, delayed, runs, crashes, duplicates, losses = state
    if (wave, batch) not in running or failures_left(spec, state) <= 0:
        return None
    if spec.policy.failed_batch_fires:
        events = events + (wave if spec.tagged else 0,)
    return _new(State, (
        spec.record(rows, wave, batch, failed=True), queue, _without(running, (wave, batch)), events, delayed,
        runs, crashes, duplicates, losses,
    ))


def listener_start(spec: Spec, state: State) -> State | None:
    """A listener picks up the front waiting event and starts a handler run with its wave (on one of
    ``max_handlers`` listener slots; the reconciler's run holds none of them)."""
    rows, queue, running, events, delayed, runs, crashes, duplicates, losses = state
    if not events or listener_runs(runs) >= spec.scope.max_handlers:
        return None
    return _new(State, (rows, queue, running, events[1:], delayed, runs + (spec.started(events[0]),), crashes,
                        duplicates, losses))


def handler_step(spec: Spec, state: State, index: int) -> State | None:
    """An in-flight handler run performs its next DB operation, atomically."""
    rows, queue, running, events, delayed, runs, crashes, duplicates, losses = state
    if index >= len(runs):
        return None
    new_rows, effect, result, grown = spec.run_step(rows, runs, index)
    if isinstance(effect, EnqueueBatches) and result:
        queue = queue + tuple((effect.wave, b) for b in range(spec.scope.wave_size))
    elif isinstance(effect, ScheduleTrigger):
        delayed += 1
    if grown is None:
        runs = runs[:index] + runs[index + 1:]
    else:
        runs = runs[:index] + (grown,) + runs[index + 1:]
    return _new(State, (new_rows, queue, running, events, delayed, runs, crashes, duplicates, losses))


def trigger_fire(spec: Spec, state: State) -> State | None:
    """A delayed auto-trigger job comes due and waits for a listener."""
    if state.delayed == 0:
        return None
    return state._replace(delayed=state.delayed - 1, events=state.events + (0,))


def reconciler_tick(spec: Spec, state: State) -> State | None:
    """The periodic reconciler (policies with one) starts a handler run on its own slot: one run at a
    time, as its scheduler process runs the handler and waits for it before the next tick."""
    if spec.policy.reconciler_period_s is None or any(is_reconciler_run(run) for run in state.runs):
        return None
    return state._replace(runs=state.runs + (spec.started(0, reconciler=True),))


def worker_crash(spec: Spec, state: State, wave: int, batch: int) -> State | None:
    """A worker dies after recording its batch, before acknowledging it: no event
    fires and the queue redelivers the job (at the back, as an expired reservation)."""
    if state.crashes == 0 or (wave, batch) not in state.running:
        return None
    return state._replace(
        rows=spec.record(state.rows, wave, batch), running=_without(state.running, (wave, batch)),
        queue=state.queue + ((wave, batch),), crashes=state.crashes - 1,
    )


def handler_crash(spec: Spec, state: State, index: int) -> State | None:
    """An in-flight handler run dies between two of its DB operations (``Scope.crash_handlers``):
    what it wrote stays, what it had yet to do never happens."""
    if not spec.scope.crash_handlers or state.crashes == 0 or index >= len(state.runs):
        return None
    return state._replace(runs=state.runs[:index] + state.runs[index + 1:], crashes=state.crashes - 1)


def event_duplicate(spec: Spec, state: State) -> State | None:
    """The front waiting event is delivered twice (any event reaches the front before a
    listener takes it, so faulting only the front one loses no run)."""
    if state.duplicates == 0 or not state.events:
        return None
    return state._replace(events=state.events[:1] + state.events, duplicates=state.duplicates - 1)


def event_lose(spec: Spec, state: State) -> State | None:
    """The front waiting event is lost (see ``event_duplicate``)."""
    if state.losses == 0 or not state.events:
        return None
    return state._replace(events=state.events[1:], losses=state.losses - 1)


def _candidates(spec: Spec, state: State) -> list[tuple[Label, State | None]]:
    """Every action that may be enabled; disabled ones come back as None."""
    out: list[tuple[Label, State | None]] = []
    queue, running, runs = state.queue, state.running, state.runs
    if queue:
        if spec.scope.fifo:
            out.append((("worker_take", 0), worker_take(spec, state, 0)))
        else:
            for position, job in enumerate(queue):
                if job not in queue[:position]:
                    out.append((("worker_take", position), worker_take(spec, state, position)))
    for k, (w, b) in enumerate(running):
        if k == 0 or running[k - 1] != (w, b):
            out.append((("batch_finish", w, b), batch_finish(spec, state, w, b)))
            if state.crashes:
                out.append((("worker_crash", w, b), worker_crash(spec, state, w, b)))
            if spec.scope.failures:
                out.append((("batch_fail", w, b), batch_fail(spec, state, w, b)))
    for i, run in enumerate(runs):
        if i == 0 or run not in runs[:i]:
            out.append((("handler_step", i), handler_step(spec, state, i)))
            if state.crashes and spec.scope.crash_handlers:
                out.append((("handler_crash", i), handler_crash(spec, state, i)))
    if state.events:
        out.append((("listener_start",), listener_start(spec, state)))
        if state.duplicates:
            out.append((("event_duplicate",), event_duplicate(spec, state)))
        if state.losses:
            out.append((("event_lose",), event_lose(spec, state)))
    if state.delayed:
        out.append((("trigger_fire",), trigger_fire(spec, state)))
    if spec.policy.reconciler_period_s is not None:
        out.append((("reconciler_tick",), reconciler_tick(spec, state)))
    return out


def next_states(spec: Spec, state: State, *, reduce: bool = True) -> list[tuple[Label, State]]:
    """Every enabled action and the state it leads to (canonical when ``reduce`` and ``spec.symmetric``)."""
    if not (reduce and spec.symmetric):
        return [(label, nxt) for label, nxt in _candidates(spec, state) if nxt is not None]
    relabel = not spec.scope.fifo
    return [(label, canonical(nxt, relabel=relabel)) for label, nxt in _candidates(spec, state) if nxt is not None]
