"""Search for scopes too large to exhaust: seeded random walks and PCT.

Both run walks from the initial state under a state and time budget and check
the safety properties on every step, exactly as the BFS does. They never say
a property holds (``complete`` is always False). A quiescent state with a wave
not completed violates ``no_stall``; a walk that ends where no step is enabled
with a wave not completed is a trap, which violates ``import_completes``; traps
that keep moving need the BFS.

PCT (probabilistic concurrency testing, Burckhardt et al. 2010) gives each
actor (a worker, the listener, each handler run ...) a random priority, always
runs the enabled actor with the highest priority, and at ``depth - 1`` random
steps lowers the running actor below all others: bugs of depth d are found
with probability at least 1/(n k^(d-1)) per walk.
"""

from __future__ import annotations

import random
import time

from coordinator import PROPERTY_NAMES, Policy
from model.actions import Label, Spec, next_states
from model.checker import Found, Search
from model.invariants import STATE_CHECKS, TRANSITION_CHECKS, is_done, stall_detail, trap_detail
from model.scope import Scope
from model.state import State, canonical, init

__all__ = ["STALE_WALKS", "walk_search"]

#: A search stops early after this many walks in a row add no new state.
STALE_WALKS = 200


def _actor(label: Label) -> tuple[str | int, ...]:
    if label[0] == "handler_step":
        return label
    if label[0] in ("batch_finish", "worker_crash", "batch_fail"):
        return ("batch", label[1], label[2])
    return (label[0],)


def walk_search(
    scope: Scope,
    policy: Policy,
    *,
    strategy: str = "random",
    seed: int = 0,
    depth: int = 3,
    properties: tuple[str, ...] = PROPERTY_NAMES,
    max_states: int = 200_000,
    time_limit: float = 60.0,
    max_steps: int = 400,
) -> Search:
    """Random walks (``strategy='random'``) or PCT walks (``'pct'``) from the initial state."""
    if strategy not in ("random", "pct"):
        raise ValueError(f"strategy must be 'random' or 'pct', got {strategy!r}")
    spec = Spec(scope=scope, policy=policy)
    config = spec.config
    rng = random.Random(seed)
    relabel = not scope.fifo
    reconciler = policy.reconciler_period_s is not None
    start = init(scope, policy)
    seen: set[State] = {start}
    found: dict[str, Found] = {}
    transitions = 0
    longest = 0
    began = time.perf_counter()
    stale = 0  # walks in a row that saw no new state
    while len(seen) < max_states:
        if time.perf_counter() - began > time_limit:
            stop = f"time limit of {time_limit:g} s reached"
            break
        if stale >= STALE_WALKS:
            stop = f"{STALE_WALKS} walks in a row found no new state"
            break
        before = len(seen)
        state = start
        path: list[State] = [start]
        labels: list[Label] = []
        priorities: dict[tuple[str | int, ...], float] = {}
        changes = set(rng.sample(range(max_steps), min(depth - 1, max_steps))) if strategy == "pct" else set()
        for step in range(max_steps):
            options = next_states(spec, state, reduce=False)
            if not options:
                if not is_done(state) and "import_completes" in properties and "import_completes" not in found:
                    found["import_completes"] = _found(
                        "import_completes", path, labels, relabel, trap_detail(state, ()),
                    )
                break
            if strategy == "pct":
                for label, _ in options:
                    priorities.setdefault(_actor(label), rng.random() + depth)
                label, nxt = max(options, key=lambda o: priorities[_actor(o[0])])
                if step in changes:
                    priorities[_actor(label)] = rng.random() * 0.5 + len(changes) - sorted(changes).index(step) - 1
            else:
                label, nxt = options[rng.randrange(len(options))]
            transitions += 1
            for name, tfn in TRANSITION_CHECKS.items():
                if name in properties and name not in found:
                    detail = tfn(state, nxt, config)
                    if detail is not None:
                        found[name] = _found(name, path + [nxt], labels + [label], relabel, detail)
            state = nxt
            path.append(nxt)
            labels.append(label)
            seen.add(canonical(nxt, relabel=relabel))
            for name, fn in STATE_CHECKS.items():
                if name in properties and name not in found:
                    detail = fn(nxt, config)
                    if detail is not None:
                        found[name] = _found(name, path, labels, relabel, detail)
            if "no_stall" in properties and "no_stall" not in found:
                detail = stall_detail(nxt, reconciler=reconciler)
                if detail is not None:
                    found["no_stall"] = _found("no_stall", path, labels, relabel, detail)
        longest = max(longest, len(labels))
        stale = stale + 1 if len(seen) == before else 0
    else:
        stop = f"state budget of {max_states} reached"
    return Search(
        spec=spec, strategy=strategy, complete=False, states=len(seen), transitions=transitions, depth=longest,
        seconds=time.perf_counter() - began, stop_reason=f"{strategy} search never proves a property ({stop})",
        checked=tuple(n for n in PROPERTY_NAMES if n in properties), found=found,
    )


def _found(name: str, path: list[State], labels: list[Label], relabel: bool, detail: str) -> Found:
    return Found(
        name=name, path=tuple(canonical(s, relabel=relabel) for s in path), labels=tuple(labels), detail=detail,
    )
