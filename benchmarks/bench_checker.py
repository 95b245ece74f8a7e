"""Benchmark of the exhaustive checker: distinct states per second and memory per stored state.

Not a test. Run from the repository root:

    python benchmarks/bench_checker.py            # the two default scopes
    python benchmarks/bench_checker.py --quick    # the small scope only

For each scope it runs the BFS once for speed (wall clock, garbage collector
paused as the checker does) and once under ``tracemalloc`` for memory (peak
traced bytes / distinct states). As a baseline measured in the same run, a bare
BFS over plain tuples of nine small ints (dict of seen states, deque, parent
array) explores the same number of states; the ratios say what the model's
work per state costs over a minimal BFS on this machine.
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from array import array
from collections import deque

from coordinator import POLICIES
from model.checker import check
from model.scope import Scope

SCOPES = [
    ("guarded", Scope(waves=3, wave_size=2, max_handlers=2)),
    ("atomic", Scope(waves=3, wave_size=3, max_handlers=3)),
]
QUICK = [("guarded", Scope())]


def bare_bfs(limit: int) -> int:
    """BFS over 9-tuples of small ints, each field counting up to 9: stop at ``limit`` states."""
    start = (0,) * 9
    seen = {start: 0}
    parent = array("l", [-1])
    todo = deque([start])
    while todo and len(seen) < limit:
        state = todo.popleft()
        for i in range(9):
            if state[i] < 9:
                nxt = state[:i] + (state[i] + 1,) + state[i + 1:]
                if nxt not in seen:
                    seen[nxt] = len(seen)
                    parent.append(seen[state])
                    todo.append(nxt)
    return len(seen)


def timed(fn: object) -> tuple[object, float]:
    gc.disable()
    began = time.perf_counter()
    try:
        out = fn()  # type: ignore[operator]
    finally:
        gc.enable()
    return out, time.perf_counter() - began


def traced(fn: object) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        fn()  # type: ignore[operator]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the small default scope")
    parser.add_argument("--no-memory", action="store_true", help="skip the (slower) tracemalloc runs")
    args = parser.parse_args()
    print(f"{'scope':<62} {'states':>9} {'s':>7} {'states/s':>10} {'B/state':>8} {'bare/s':>10} {'x slower':>8}")
    for policy, scope in QUICK if args.quick else SCOPES:
        search, seconds = timed(lambda p=policy, s=scope: check(s, POLICIES[p], time_limit=600))
        states = search.states  # type: ignore[attr-defined]
        bare_states, bare_seconds = timed(lambda n=states: bare_bfs(n))
        rate = states / seconds
        bare_rate = int(bare_states) / bare_seconds  # type: ignore[call-overload]
        per_state = "-"
        if not args.no_memory:
            peak = traced(lambda p=policy, s=scope: check(s, POLICIES[p], time_limit=600))
            per_state = f"{peak / states:.0f}"
        label = f"{policy}: {scope.label()}"
        print(f"{label:<62} {states:>9} {seconds:>7.2f} {rate:>10,.0f} {per_state:>8} {bare_rate:>10,.0f} "
              f"{bare_rate / rate:>8.1f}")


if __name__ == "__main__":
    main()
