"""Breadth-first exhaustive search: every reachable state, once, by canonical key.

Each new state is checked against the safety properties, each transition
against ``threshold_respected``; the first violation of each property found is
the shortest (BFS order) and is kept as a path of parent pointers. When the
search finishes, liveness is judged on the explored graph (``model.liveness``).
A state or time budget stops the search with ``complete = False``: then no
property is reported as holding, only violations already found.
"""

from __future__ import annotations

import gc
import time
from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from coordinator import LIVENESS, PROPERTY_NAMES, Policy
from coordinator import properties as props
from model.actions import FAULTS, Label, Spec, next_states
from model.invariants import STATE_CHECKS, TRANSITION_CHECKS, is_done, is_quiescent
from model.liveness import can_finish, first_trap
from model.scope import Scope
from model.state import State, init, queued_batches

__all__ = ["REDUCTIONS", "Found", "Search", "check", "reductions"]

#: The symmetry reductions used for canonical keys; each keeps verdicts exact.
REDUCTIONS = (
    "workers interchangeable (running jobs as a multiset)",
    "in-flight handler runs as a multiset",
    "wave rows in handler results keep only what handlers read",
)
#: Used only on an any-order queue (on a FIFO queue a re-dispatch breaks the symmetry).
BATCH_RELABELLING = "batches of a wave relabelled by (finished, running, queued)"


def reductions(scope: Scope) -> tuple[str, ...]:
    """The reductions a check of ``scope`` uses."""
    return REDUCTIONS if scope.fifo else REDUCTIONS + (BATCH_RELABELLING,)


@dataclass(frozen=True, slots=True, kw_only=True)
class Found:
    """A violation: the shortest path of states to it, the labels between them,
    the detail the property gave, and for liveness the trap's way out (none)."""

    name: str
    path: tuple[State, ...]
    labels: tuple[Label, ...]
    detail: str
    exits: tuple[tuple[Label, State], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Search:
    """What a search covered and what it found."""

    spec: Spec
    strategy: str
    complete: bool
    states: int
    transitions: int
    depth: int
    seconds: float
    stop_reason: str | None
    checked: tuple[str, ...]
    found: dict[str, Found]

    def holds(self, name: str) -> bool | None:
        if name in self.found:
            return False
        return True if self.complete else None


def check(
    scope: Scope,
    policy: Policy,
    *,
    properties: tuple[str, ...] = PROPERTY_NAMES,
    max_states: int = 2_000_000,
    time_limit: float = 300.0,
    progress: Callable[[int], None] | None = None,
) -> Search:
    """Explore every reachable state of ``scope`` under ``policy`` breadth first.

    The cyclic garbage collector is paused meanwhile (states hold no cycles, and
    its passes over millions of stored tuples cost more than the search).
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        return _bfs(scope, policy, properties, max_states, time_limit, progress)
    finally:
        if paused:
            gc.enable()


def _bfs(
    scope: Scope, policy: Policy, properties: tuple[str, ...], max_states: int, time_limit: float,
    progress: Callable[[int], None] | None = None,
) -> Search:
    spec = Spec(scope=scope, policy=policy)
    config = spec.config
    state_checks = [(n, f) for n, f in STATE_CHECKS.items() if n in properties]
    transition_checks = [(n, f) for n, f in TRANSITION_CHECKS.items() if n in properties]
    wants_liveness = any(n in LIVENESS for n in properties)
    started = time.perf_counter()
    first = init(scope, policy)
    index: dict[State, int] = {first: 0}
    states: list[State] = [first]
    parent = array("l", [-1])
    labels: list[Label] = [("init",)]
    depth = array("l", [0])
    sources, targets = array("l"), array("l")
    goals: list[int] = []
    found_at: dict[str, tuple[int, Label | None, State | None, str]] = {}
    for name, fn in state_checks:
        detail = fn(first, config)
        if detail is not None:
            found_at[name] = (0, None, None, detail)
    # the properties read only the table (and the queue length): judge each once
    seen_tables: dict[tuple[object, int], list[tuple[str, str | None]]] = {}
    seen_pairs: dict[tuple[object, object], list[tuple[str, str | None]]] = {}
    done_rows: dict[object, bool] = {}
    queue = deque([0])
    transitions = 0
    stop: str | None = None
    expanded = 0
    while queue:
        if len(states) >= max_states:
            stop = f"state budget of {max_states} reached"
            break
        expanded += 1
        if expanded & 1023 == 0 and progress is not None:
            progress(len(states))  # distinct states so far
        if expanded & 1023 == 0 and time.perf_counter() - started > time_limit:
            stop = f"time limit of {time_limit:g} s reached"
            break
        sid = queue.popleft()
        state = states[sid]
        done = done_rows.get(state.rows)
        if done is None:
            done = done_rows[state.rows] = is_done(state)
        if done:
            goals.append(sid)
        for label, nxt in next_states(spec, state):
            transitions += 1
            if transition_checks and nxt.rows is not state.rows:
                pair = (state.rows, nxt.rows)
                verdicts = seen_pairs.get(pair)
                if verdicts is None:
                    verdicts = seen_pairs[pair] = [(n, f(state, nxt, config)) for n, f in transition_checks]
                for name, detail in verdicts:
                    if detail is not None and name not in found_at:
                        found_at[name] = (sid, label, nxt, detail)
            nid = index.get(nxt)
            if nid is None:
                nid = len(states)
                index[nxt] = nid
                states.append(nxt)
                parent.append(sid)
                labels.append(label)
                depth.append(depth[sid] + 1)
                queue.append(nid)
                look = (nxt.rows, queued_batches(nxt))
                verdicts = seen_tables.get(look)
                if verdicts is None:
                    verdicts = seen_tables[look] = [(n, f(nxt, config)) for n, f in state_checks]
                for name, detail in verdicts:
                    if detail is not None and name not in found_at:
                        found_at[name] = (nid, None, None, detail)
            if wants_liveness and label[0] not in FAULTS:
                sources.append(sid)
                targets.append(nid)
    complete = stop is None
    found = {name: _path(name, states, parent, labels, *where) for name, where in found_at.items()}
    if complete and wants_liveness:
        mark = can_finish(len(states), sources, targets, goals)
        trap = first_trap(mark)
        if trap is not None:
            exits = tuple((lab, nxt) for lab, nxt in next_states(spec, states[trap]) if lab[0] not in FAULTS)
            for name in LIVENESS:
                if name in properties:
                    base = _path(name, states, parent, labels, trap, None, None, "")
                    found[name] = Found(
                        name=name, path=base.path, labels=base.labels, detail=_trap_detail(name, states[trap], exits),
                        exits=exits,
                    )
    return Search(
        spec=spec, strategy="bfs", complete=complete, states=len(states), transitions=transitions,
        depth=max(depth) if complete else depth[queue[0]] if queue else max(depth),
        seconds=time.perf_counter() - started, stop_reason=stop,
        checked=tuple(n for n in PROPERTY_NAMES if n in properties), found=found,
    )


def _path(
    name: str, states: list[State], parent: array[int], labels: list[Label],
    sid: int, label: Label | None, after: State | None, detail: str,
) -> Found:
    ids = []
    while sid >= 0:
        ids.append(sid)
        sid = parent[sid]
    ids.reverse()
    path = [states[i] for i in ids]
    labs = [labels[i] for i in ids[1:]]
    if label is not None and after is not None:
        path.append(after)
        labs.append(label)
    return Found(name=name, path=tuple(path), labels=tuple(labs), detail=detail)


def _trap_detail(name: str, trap: State, exits: tuple[tuple[Label, State], ...]) -> str:
    if not exits or is_quiescent(trap):
        return f"{props.no_stall(trap.table, quiescent=True)} (quiescent: no step is enabled)"
    kinds = ", ".join(sorted({str(lab[0]) for lab, _ in exits}))
    return (
        f"trap: {props.import_completes(trap.table)}, and none of the {len(exits)} step(s) still enabled "
        f"({kinds}) leads to a state where every wave completes"
    )
