"""Counterexamples as numbered, readable steps; their JSON; and their replay.

The checker keeps a path of reduced states (``Spec.reduced``). ``steps_of``
re-executes it from the initial state without the reductions, so every step names a real handler
run (``h1``, ``h2`` ... in the order they started) and a real batch
(``w2b0``), says what the handler read or wrote, and shows the table after it.
``to_json`` / ``from_json`` round-trip a counterexample; ``replay`` runs the
recorded steps through the model again and fails on the first one that does
not happen as recorded; ``to_interleaving`` gives the same run to the core's
``run_interleaved``.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from coordinator import Decision, Effect, HandlerTriggered, Policy, WaveRow, WaveTable, finish_batch, program_for
from model.actions import Label, Spec, next_states
from model.scope import Scope
from model.state import JOB_ID, Run, State, encode_row, init, table_of

__all__ = [
    "ReplayError", "TraceStep", "describe", "effect_text", "follow", "from_json", "jobs_text", "render", "replay",
    "result_text", "steps_of", "table_text", "started_run", "to_interleaving", "to_json", "why_stuck",
]


class ReplayError(ValueError):
    """A recorded step that the model cannot take from where the trace has got to."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TraceStep:
    """One step of a counterexample, as a reader wants it."""

    n: int
    action: str
    actor: str
    what: str
    result: str
    table: str
    jobs: str


def effect_text(effect: Effect) -> str:
    args = [  # fields at their defaults (e.g. a plain push's once=False) are left out
        f"{f.name}={getattr(effect, f.name)}" for f in fields(effect)
        if f.name != "job_id" and getattr(effect, f.name) != f.default
    ]
    return f"{type(effect).__name__}({', '.join(args)})"


def result_text(result: object) -> str:
    if isinstance(result, WaveRow):
        return (
            f"row(wave {result.wave_number}: {result.status.value}, "
            f"{result.distinct_finished}/{result.batches} finished, counted {result.counted_finished})"
        )
    if isinstance(result, Decision):
        wave = f" wave {result.wave}" if result.wave is not None else ""
        return f"ends: {result.path} {result.outcome}{wave}"
    return "none" if result is None else str(result)


def table_text(table: WaveTable) -> str:
    parts = []
    for r in table.rows:
        text = f"{r.wave_number}:{r.status.value} {r.distinct_finished}/{r.batches}"
        if r.counted_finished != r.distinct_finished:
            text += f" (counted {r.counted_finished})"
        if r.owners_told > 1 and r.owners_told != r.dispatch_count:  # runs told they own it
            text += f" claimed x{r.owners_told}"
        if r.dispatch_count > 1:
            text += f" x{r.dispatch_count}"
        parts.append(text)
    return " | ".join(parts)


def jobs_text(state: State) -> str:
    queue = " ".join(f"w{w}b{b}" for w, b in state.queue) or "-"
    running = " ".join(f"w{w}b{b}" for w, b in state.running) or "-"
    return f"queue [{queue}] running [{running}] events {len(state.events)} delayed {state.delayed}"


def describe(spec: Spec, label: Label, before: State, names: list[str], counter: list[int]) -> tuple[str, str, str]:
    """(actor, what, result) of one step; updates the run ``names`` as runs start and end."""
    kind = label[0]
    if kind == "worker_take":
        w, b = before.queue[int(label[1])]
        return "worker", f"takes batch w{w}b{b}", ""
    if kind in ("batch_finish", "worker_crash", "batch_fail"):
        w, b = int(label[1]), int(label[2])
        tail = "BatchJobCompleted waits for a listener"
        if kind == "worker_crash":
            tail = "the worker crashes before the ack: the job is redelivered"
        if kind == "batch_fail":
            fires = "BatchJobCompleted waits for a listener" if spec.policy.failed_batch_fires else \
                "no BatchJobCompleted fires"
            return f"w{w}b{b}", f"RecordBatchFinished(wave={w}, batch={b}, failed=True)", f"out of tries; {fires}"
        return f"w{w}b{b}", f"RecordBatchFinished(wave={w}, batch={b})", tail
    if kind in ("listener_start", "reconciler_tick"):
        counter[0] += 1
        names.append(f"h{counter[0]}")
        who = "listener" if kind == "listener_start" else "reconciler"
        wave = before.events[0] if kind == "listener_start" else 0
        return who, f"starts handler run h{counter[0]}", f"{_STARTED_BY}{wave}" if wave else ""
    if kind == "handler_crash":
        i = int(label[1])
        name = names.pop(i)
        return name, "crashes (fault)", "what it wrote stays; its remaining steps never run"
    if kind == "handler_step":
        i = int(label[1])
        run: Run = before.runs[i]
        _, effect, result, grown = spec.run_step(before.rows, before.runs, i)
        text = result_text(result)
        name = names[i]
        if grown is None:
            del names[i]
            ended = spec.next_effect(_grow(run, result))
            text += f"; {result_text(ended)}"
        return name, effect_text(effect), text
    return {
        "trigger_fire": ("auto-trigger", "the delayed job comes due", "waits for a listener"),
        "event_duplicate": ("fault", "an event is delivered twice", ""),
        "event_lose": ("fault", "an event is lost", ""),
    }[str(kind)]


#: How a listener step says which batch's wave its run was started with (``started_run`` reads it back).
_STARTED_BY = "for a batch of wave "


def started_run(step: TraceStep, job_id: int) -> tuple[str, HandlerTriggered] | None:
    """The handler run a listener or reconciler step starts: its name, and its trigger with the
    wave of the batch whose completion started it (where the policy reads it); None for other steps."""
    if step.action not in ("listener_start", "reconciler_tick"):
        return None
    wave = None
    if step.action == "listener_start" and step.result.startswith(_STARTED_BY):
        wave = int(step.result[len(_STARTED_BY):])
    return step.what.rsplit(" ", 1)[-1], HandlerTriggered(job_id=job_id, wave=wave)


def _grow(run: Run, result: object) -> Run:
    return run + (encode_row(result) if isinstance(result, WaveRow) else result,)


def _walk(spec: Spec, path: Sequence[State]) -> tuple[tuple[TraceStep, ...], State, list[str], list[int]]:
    plain = spec.concrete()
    state = path[0]
    names: list[str] = []
    counter = [0]
    out = []
    for n, target in enumerate(path[1:], start=1):
        for label, nxt in next_states(plain, state, reduce=False):
            if spec.representative(nxt) == target:
                actor, what, result = describe(plain, label, state, names, counter)
                out.append(TraceStep(
                    n=n, action=str(label[0]), actor=actor, what=what, result=result,
                    table=table_text(nxt.table), jobs=jobs_text(nxt),
                ))
                state = nxt
                break
        else:  # pragma: no cover - the checker only records real transitions
            raise ReplayError(f"step {n} of the path is not a transition of the model")
    return tuple(out), state, names, counter


def steps_of(spec: Spec, path: Sequence[State]) -> tuple[TraceStep, ...]:
    """Re-execute a path of canonical states without reductions, step by step."""
    return _walk(spec, path)[0]


def why_stuck(spec: Spec, path: Sequence[State]) -> tuple[str, ...]:
    """For a path into a trap: each fault-free step still enabled there, and that it
    leads only to states from which completion is unreachable too."""
    from model.actions import FAULTS

    _, state, names, counter = _walk(spec, path)
    plain = spec.concrete()
    lines = []
    for label, _ in next_states(plain, state, reduce=False):
        if label[0] in FAULTS:
            continue
        actor, what, result = describe(plain, label, state, list(names), list(counter))
        tail = f" -> {result}" if result else ""
        lines.append(f"{actor} {what}{tail}: leads only to states from which no wave completion is reachable")
    if not lines:
        lines.append("no step is enabled: nothing is queued, running, waiting or scheduled (a quiescent stall)")
    return tuple(lines)


def render(steps: Sequence[TraceStep], *, start: str = "") -> str:
    """The numbered step table."""
    lines = [f"  0. start: {start}"] if start else []
    for s in steps:
        result = f" -> {s.result}" if s.result else ""
        lines.append(f"{s.n:3d}. {s.actor:<10} {s.what}{result}")
        lines.append(f"     table {s.table}; {s.jobs}")
    return "\n".join(lines)


def to_json(spec: Spec, prop: str, detail: str, steps: Sequence[TraceStep], why: Sequence[str] = ()) -> dict[str, Any]:
    """A counterexample as JSON: enough to replay it."""
    return {
        "policy": spec.policy.name,
        "switches": spec.policy.switches(),
        "scope": spec.scope.as_dict(),
        "property": prop,
        "detail": detail,
        "steps": [asdict(s) for s in steps],
        "why_no_way_out": list(why),
    }


def from_json(data: Mapping[str, Any]) -> tuple[Spec, str, str, tuple[TraceStep, ...], tuple[str, ...]]:
    """Read a counterexample back; a malformed one is a ``ReplayError`` naming what is wrong."""
    try:
        switches = dict(data["switches"])
        from coordinator import CurrentWaveRule

        switches["current_wave_rule"] = CurrentWaveRule(switches["current_wave_rule"])
        policy = Policy(**switches)
        scope = Scope(**data["scope"])
        steps = tuple(TraceStep(**s) for s in data["steps"])
        return Spec(scope=scope, policy=policy), str(data["property"]), str(data["detail"]), steps, tuple(
            str(w) for w in data.get("why_no_way_out", ())
        )
    except KeyError as err:
        raise ReplayError(f"not a wavesim counterexample: missing key {err}") from None
    except (TypeError, ValueError) as err:
        raise ReplayError(f"not a wavesim counterexample: {err}") from None


def follow(spec: Spec, steps: Sequence[TraceStep]) -> tuple[tuple[TraceStep, ...], State, list[str], list[int]]:
    """Run recorded steps through the model again; each must happen exactly as recorded.

    Returns the replayed steps, the state after them, and the handler-run names
    and counter (so that a caller can go on naming runs as the trace does).
    """
    state = init(spec.scope, spec.policy)
    names: list[str] = []
    counter = [0]
    out = []
    for want in steps:
        for label, nxt in next_states(spec, state, reduce=False):
            if str(label[0]) != want.action:
                continue
            trial_names, trial_counter = list(names), list(counter)
            actor, what, result = describe(spec, label, state, trial_names, trial_counter)
            got = TraceStep(
                n=want.n, action=want.action, actor=actor, what=what, result=result,
                table=table_text(nxt.table), jobs=jobs_text(nxt),
            )
            if got == want:
                out.append(got)
                state, names, counter = nxt, trial_names, trial_counter
                break
        else:
            raise ReplayError(f"step {want.n} ({want.actor} {want.what}) does not replay from the state before it")
    return tuple(out), state, names, counter


def replay(spec: Spec, steps: Sequence[TraceStep]) -> tuple[TraceStep, ...]:
    """Run recorded steps through the model again; each must happen exactly as recorded."""
    return follow(spec, steps)[0]


def to_interleaving(
    spec: Spec, steps: Sequence[TraceStep]
) -> tuple[WaveTable, dict[str, Generator[Effect, object, object]], list[str]]:
    """The start table, programs and order that make ``run_interleaved`` do the trace's DB steps."""
    programs: dict[str, Generator[Effect, object, object]] = {}
    order: list[str] = []
    started: dict[str, HandlerTriggered] = {}  # run name -> its trigger
    for s in steps:
        run = started_run(s, JOB_ID)
        if run is not None:
            started[run[0]] = run[1]
        elif s.action == "handler_step":
            if s.actor not in programs:
                trigger = started.get(s.actor, HandlerTriggered(job_id=JOB_ID))
                programs[s.actor] = program_for(trigger, spec.policy, spec.config)
            order.append(s.actor)
        elif s.action in ("batch_finish", "worker_crash", "batch_fail"):
            name = f"{s.actor}#{s.n}"
            w, b = int(s.actor[1:].split("b")[0]), int(s.actor.split("b")[1])
            programs[name] = finish_batch(JOB_ID, w, b, failed=s.action == "batch_fail")
            order.append(name)
    start = init(spec.scope, spec.policy)
    return table_of(start.rows, spec.scope.wave_size), programs, order
