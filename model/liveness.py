"""Liveness on the explored graph, and the fairness each liveness property needs.

``no_stall`` (never quiescent with a wave not completed) is a property of
single states: it is violated exactly when such a state is reachable, and the
checker decides it on the fly, with the path to the stalled state itself. It
needs no fairness assumption, and says nothing about runs that never go quiet.

``import_completes`` is judged here as "from every reachable state, a state in
which every wave is completed is still reachable" over the fault-free
transitions (a CTL ``AG EF done``). A state from which no fault-free path
reaches completion is a *trap*, whether the system is quiescent there or keeps
moving (a reconciler ticking in vain). Reachability of completion is not
eventual completion: a run may keep choosing the step that leads away (a
reconciler tick forever before the last batch finishes). On this finite graph
it means eventual completion of every fault-free run under *strong fairness*
of transitions: a step enabled in a state visited infinitely often is taken
from it infinitely often (workers finish, listeners start, the reconciler
ticks and its run completes). Faults are outside that claim: they may happen
before, never after, the state judged.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence

__all__ = ["can_finish", "first_trap"]


def can_finish(count: int, sources: Sequence[int], targets: Sequence[int], goals: Sequence[int]) -> bytearray:
    """Mark every state (0..count-1) from which some goal is reachable along the edges."""
    # reverse adjacency in compressed form: predecessors of t are preds[start[t]:start[t+1]]
    start = array("l", [0]) * (count + 1)
    for t in targets:
        start[t + 1] += 1
    for i in range(count):
        start[i + 1] += start[i]
    fill = array("l", start)
    preds = array("l", [0]) * len(targets)
    for s, t in zip(sources, targets, strict=True):
        preds[fill[t]] = s
        fill[t] += 1
    mark = bytearray(count)
    stack = list(goals)
    for g in goals:
        mark[g] = 1
    while stack:
        t = stack.pop()
        for k in range(start[t], start[t + 1]):
            s = preds[k]
            if not mark[s]:
                mark[s] = 1
                stack.append(s)
    return mark


def first_trap(mark: bytearray) -> int | None:
    """The first state in discovery (BFS) order that cannot finish: the shallowest trap."""
    index = mark.find(0)
    return None if index < 0 else index
