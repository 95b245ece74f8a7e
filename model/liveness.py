"""Liveness on the explored graph: can every reachable state still finish?

``no_stall`` and ``import_completes`` are judged as "from every reachable
state, a state in which every wave is completed is still reachable" over the
fault-free transitions. On a finite graph this is exact and needs no fairness
assumption: a *trap* is a reachable state from which no fault-free path
reaches completion, whether the system is quiescent there (a stall in
DESIGN.md's sense) or keeps moving (a reconciler ticking in vain).
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
