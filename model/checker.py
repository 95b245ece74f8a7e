"""Breadth-first exhaustive search that stops as soon as every asked property is decided.

Each new state is checked against the safety properties and ``no_stall``
(quiescent with a wave not completed), each transition against
``threshold_respected``; a violation decides its property, and the first one
found is kept as a path of parent pointers (shortest in the searched graph,
which is the full graph under ``shortest``). A state with no fault-free step
out that is not done is a trap, which decides ``import_completes`` on the fly;
otherwise it is judged on the whole explored graph when the search ends
(``model.liveness``). The search stops when every asked property has a verdict,
when the state space is exhausted, or when a budget runs out (time, memory or,
if set, states): then the properties still undecided are named and none of them
is reported as holding.

States are stored by their ``Codec`` key (one int each); the reductions are
named in ``REDUCTIONS`` and each can be switched off.
"""

from __future__ import annotations

import gc
import os
import random
import sys
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from coordinator import LIVENESS, PROPERTY_NAMES, Policy
from model import compiled
from model.actions import FAULTS, Label, Spec, next_states
from model.invariants import STATE_CHECKS, TRANSITION_CHECKS, is_done, stall_detail, trap_detail
from model.liveness import can_finish, first_trap
from model.reduction import ample, safe_kinds
from model.scope import Scope
from model.settled import settled
from model.state import Codec, State, init, queued_batches
from model.verdicts import Verdicts

__all__ = [
    "DEFAULT_MEMORY_MB", "DEFAULT_TIME_S", "ENGINES", "REDUCTIONS", "EngineUnavailable", "Found", "Search", "check",
    "engine_for", "reductions",
]

#: The reductions by name, each exact for every verdict and switchable off.
REDUCTIONS: dict[str, str] = {
    "symmetry": "workers interchangeable (running jobs as a multiset); in-flight handler runs as a multiset; "
                "wave rows in handler results keep only what handlers read",
    "abstraction": "counters saturated where no reader can tell (finished counters at the wave size, pushes "
                   "and claims at 2); a wave row a run read keeps only which side of the threshold and of the "
                   "whole wave its finished count is on (model.actions.Spec.abstracted)",
    "futures": "handler runs merged when every continuation yields the same operations: a run keeps only the "
               "results its future still reads (model.futures; with the abstraction)",
    "settled": "a state in which every property still open is settled (each pending wave's predecessor "
               "dispatched and at the threshold, for threshold_respected; at most one wave below the threshold, "
               "for one_wave_below_threshold) is stored and judged but not expanded (model.settled)",
    "por": "partial-order reduction: an invisible action independent of every other actor's taken alone "
           "(model.reduction)",
    "probe": "seeded random walks beside the BFS look for a stall or a dead end, deciding the liveness "
             "properties early",
}
#: Used only on an any-order queue (on a FIFO queue a re-dispatch breaks the symmetry).
BATCH_RELABELLING = "batches of a wave relabelled by (finished, running, queued)"
#: Reductions that may lengthen a counterexample: ``shortest`` turns them off.
NOT_MINIMAL = frozenset({"por", "probe"})

#: Probe walks per round and a walk's longest run; a round starts whenever the walks
#: have taken fewer steps than ``PROBE_SHARE`` times the states expanded (a share of the
#: work counted in steps, so that a search is the same on a fast or a slow machine).
PROBE_WALKS, PROBE_STEPS, PROBE_SHARE = 8, 500, 0.5

#: The search engines: ``auto`` is the compiled one where it can run, else the Python one.
ENGINES = ("auto", "compiled", "python")

#: Default budgets: a time and a memory the search may use (no state count).
DEFAULT_TIME_S = 300.0
DEFAULT_MEMORY_MB = 4096


def reductions(scope: Scope, used: Iterable[str] = REDUCTIONS) -> tuple[str, ...]:
    """What the reductions ``used`` on ``scope`` do, in words."""
    out = [REDUCTIONS[n] for n in REDUCTIONS if n in set(used)]
    if not scope.fifo and "symmetry" in set(used):
        out.append(BATCH_RELABELLING)
    return tuple(out)


@dataclass(frozen=True, slots=True, kw_only=True)
class Found:
    """A violation: the path of states to it, the labels between them, the detail
    the property gave, and for ``import_completes`` the steps still enabled in the trap."""

    name: str
    path: tuple[State, ...]
    labels: tuple[Label, ...]
    detail: str
    exits: tuple[tuple[Label, State], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Search(Verdicts):
    """What a search covered and what it found.

    ``complete``: the whole (reduced) state space was explored. ``decided``: every
    checked property has a verdict (complete, or each violated). ``budget``: the
    budget that stopped it ("time", "memory", "states") or None.
    """

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
    used: tuple[str, ...] = ()
    budget: str | None = None
    peak_mb: float = 0.0
    #: which engine searched: ``compiled`` (``model/engine.c``) or ``python``
    engine: str = "python"
    #: states stored but not expanded, every open property being settled in them (``model.settled``)
    settled: int = 0


#: How often (in expansions) the Python search samples its resident memory: growth between two samples
#: is a few hundred new states, well under a megabyte.
MEMORY_SAMPLE_EVERY = 256


def _doubling_mb(*tables: dict[Any, Any]) -> float:
    """What the next resize of these dicts may add at once, in MB: CPython builds a table twice the
    size beside the old one before it frees the old, so the budget keeps that much in reserve."""
    return sum(2 * sys.getsizeof(t) for t in tables) / 2**20


def _rss_mb() -> float:
    """Resident memory of this process in MB (Linux ``/proc``; 0 where unavailable)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        return 0.0


def check(
    scope: Scope,
    policy: Policy,
    *,
    properties: tuple[str, ...] = PROPERTY_NAMES,
    max_states: int | None = None,
    time_limit: float = DEFAULT_TIME_S,
    max_memory_mb: float = DEFAULT_MEMORY_MB,
    use: Iterable[str] = REDUCTIONS,
    shortest: bool = False,
    progress: Callable[[int], None] | None = None,
    engine: str = "auto",
) -> Search:
    """Explore the reachable states of ``scope`` under ``policy`` breadth first until decided.

    ``use`` names the reductions on (default all); ``shortest`` drops those that
    may lengthen a counterexample. The cyclic garbage collector is paused meanwhile
    (states hold no cycles, and its passes over millions of stored objects cost
    more than the search).
    """
    used = tuple(n for n in REDUCTIONS if n in set(use) and not (shortest and n in NOT_MINIMAL))
    unknown = set(use) - set(REDUCTIONS)
    if unknown:
        raise ValueError(f"unknown reduction {sorted(unknown)[0]!r}; known: {', '.join(REDUCTIONS)}")
    chosen = engine_for(scope, engine)
    paused = gc.isenabled()
    gc.disable()
    try:
        if chosen == "compiled":
            return _compiled_bfs(scope, policy, properties, used, max_states, time_limit, max_memory_mb, progress)
        return _bfs(scope, policy, properties, used, max_states, time_limit, max_memory_mb, progress)
    finally:
        if paused:
            gc.enable()


class EngineUnavailable(ValueError):
    """The engine asked for cannot run here (the message says why)."""


def engine_for(scope: Scope, engine: str = "auto") -> str:
    """The engine a search runs on: ``compiled`` or ``python``.

    ``auto`` takes the compiled engine where it can run (a C compiler, a FIFO
    queue) and the Python one elsewhere; asking for ``compiled`` where it cannot
    run raises ``EngineUnavailable`` saying why.
    """
    if engine not in ENGINES:
        raise EngineUnavailable(f"engine must be one of: {', '.join(ENGINES)}; got {engine!r}")
    if engine == "python":
        return engine
    why = compiled.unavailable() or (None if scope.fifo else "the compiled engine runs a FIFO queue only") or (
        "the compiled engine has no failure budget (--failures)" if scope.failures else None)
    if why is None:
        return "compiled"
    if engine == "compiled":
        raise EngineUnavailable(f"--engine compiled: {why}")
    return "python"


def _compiled_bfs(
    scope: Scope, policy: Policy, properties: tuple[str, ...], used: tuple[str, ...], max_states: int | None,
    time_limit: float, max_memory_mb: float, progress: Callable[[int], None] | None,
) -> Search:
    """``_bfs`` on the compiled engine (``model.compiled``): the same graph, checks and stopping rules."""
    started = time.perf_counter()  # the time and its budget include building the futures
    spec = Spec(scope=scope, policy=policy, symmetric="symmetry" in used, abstract="abstraction" in used,
                merge="futures" in used and "abstraction" in used, settle="settled" in used)
    checked = tuple(n for n in PROPERTY_NAMES if n in properties)
    left = max(time_limit - (time.perf_counter() - started), 0.0)
    engine = compiled.CompiledSearch(
        spec, checked, por="por" in used, probe=(PROBE_WALKS, PROBE_STEPS, PROBE_SHARE) if "probe" in used else None,
        max_states=max_states, time_limit=left, max_memory_mb=max_memory_mb, progress=progress,
    )
    try:
        ended = engine.run(init(scope, policy))
        found: dict[str, Found] = {}
        for name in checked:
            hit = engine.found(name)
            if hit is None:
                continue
            path, labels, after = hit
            found[name] = Found(name=name, path=tuple(path if after is None else [*path, after]),
                                labels=tuple(labels), detail=_detail(spec, name, path[-1], after))
        complete = ended == "complete"
        if complete and "import_completes" in checked and "import_completes" not in found:
            trap = engine.first_trap()
            if trap is not None:
                path, labels = engine.path_to(trap)
                exits = tuple((lab, nxt) for lab, nxt in next_states(spec, path[-1]) if lab[0] not in FAULTS)
                found["import_completes"] = Found(name="import_completes", path=tuple(path), labels=tuple(labels),
                                                  detail=trap_detail(path[-1], exits), exits=exits)
        budget = None if ended in ("complete", "decided") else ended
        stop = {None: None, "time": f"time limit of {time_limit:g} s reached",
                "memory": f"memory limit of {max_memory_mb:g} MB reached",
                "states": f"state budget of {max_states} reached"}[budget]
        if ended == "decided":
            stop = "every property decided"
        return Search(
            spec=spec, strategy="bfs", complete=complete, states=engine.count("states"),
            transitions=engine.count("transitions"), depth=engine.count("depth"),
            seconds=time.perf_counter() - started, stop_reason=stop, checked=checked, found=found, used=used,
            budget=budget, peak_mb=max(engine.count("peak_kb") / 1024, _rss_mb()), engine="compiled",
            settled=engine.count("settled"),
        )
    finally:
        engine.close()


def _detail(spec: Spec, name: str, state: State, after: State | None) -> str:
    """What property ``name`` says of the state (or the transition to ``after``) that broke it."""
    reconciler = spec.policy.reconciler_period_s is not None
    if after is not None:
        return TRANSITION_CHECKS[name](state, after, spec.config) or ""
    if name in STATE_CHECKS:
        return STATE_CHECKS[name](state, spec.config) or ""
    if name == "no_stall":
        return stall_detail(state, reconciler=reconciler) or ""
    return trap_detail(state, ())


def _bfs(
    scope: Scope, policy: Policy, properties: tuple[str, ...], used: tuple[str, ...], max_states: int | None,
    time_limit: float, max_memory_mb: float, progress: Callable[[int], None] | None,
) -> Search:
    symmetric, por, probing = "symmetry" in used, "por" in used, "probe" in used
    started = time.perf_counter()  # the time and its budget include building the futures
    spec = Spec(scope=scope, policy=policy, symmetric=symmetric, abstract="abstraction" in used,
                merge="futures" in used and "abstraction" in used, settle="settled" in used)
    config = spec.config
    checked = tuple(n for n in PROPERTY_NAMES if n in properties)
    rng = random.Random(0)
    codec = Codec()
    first = init(scope, policy)
    keys: list[int] = [codec.encode(first)]
    index: dict[int, int] = {keys[0]: 0}
    parent = array("l", [-1])
    label_ids: dict[Label, int] = {("init",): 0}
    label_list: list[Label] = [("init",)]
    labels = array("l", [0])
    depth = array("l", [0])
    sources, targets = array("l"), array("l")
    goals: list[int] = []
    found_at: dict[str, tuple[int, Label | None, State | None, str]] = {}
    open_ = set(checked)  # properties without a verdict yet
    safe_memo: dict[tuple[tuple[int, int, int], frozenset[str]], frozenset[str]] = {}
    reconciler = policy.reconciler_period_s is not None

    def successors(state: State) -> list[tuple[Label, State]]:
        options = next_states(spec, state)
        if por and len(options) > 1:
            wanted = frozenset(open_)
            budgets = (state.crashes, state.duplicates, state.losses)
            safe = safe_memo.get((budgets, wanted))
            if safe is None:
                safe = safe_memo[(budgets, wanted)] = safe_kinds(reconciler, scope.fifo, budgets, wanted,
                                                                 spec.tagged, scope.failures)
            runs = state.runs

            def effect_name(i: int) -> str:
                return type(spec.next_effect(runs[i])).__name__

            options = ample(options, safe, effect_name)
        return options

    def probe() -> None:
        """Walk at random from the start; a stall or a dead end decides its property."""
        for _ in range(PROBE_WALKS):
            walk: list[tuple[Label, State]] = [(("init",), first)]
            at: dict[State, int] = {first: 0}
            for _ in range(PROBE_STEPS):
                state = walk[-1][1]
                if "no_stall" in open_ and stall_detail(state, reconciler=reconciler) is not None:
                    walked["no_stall"] = _walked("no_stall", walk, stall_detail(state, reconciler=reconciler) or "")
                    open_.discard("no_stall")
                # every enabled step, not the ample set: a reduced walk always takes the
                # independent steps first, which makes a straggler's stall rare
                options = [o for o in next_states(spec, state)
                           if o[0][0] not in FAULTS or rng.random() < 0.5]
                if not any(o[0][0] not in FAULTS for o in options):
                    if "import_completes" in open_ and not is_done(state):
                        walked["import_completes"] = _walked("import_completes", walk, trap_detail(state, ()))
                        open_.discard("import_completes")
                    if not options:
                        break
                step = options[rng.randrange(len(options))]
                if step[1] in at:  # a loop: cut it, so the path stays simple
                    del walk[at[step[1]] + 1:]
                    at = {s: i for i, (_, s) in enumerate(walk)}
                    continue
                at[step[1]] = len(walk)
                walk.append(step)
                walked_steps[0] += 1
            if not open_ & set(LIVENESS):
                return

    walked: dict[str, Found] = {}
    walked_steps = [0]

    def decide(name: str, where: tuple[int, Label | None, State | None, str]) -> None:
        if name in open_:
            found_at[name] = where
            open_.discard(name)

    def judge_state(sid: int, state: State) -> None:
        look = (state.rows, queued_batches(state))
        verdicts = seen_tables.get(look)
        if verdicts is None:
            verdicts = seen_tables[look] = [(n, f(state, config)) for n, f in STATE_CHECKS.items() if n in checked]
        for name, detail in verdicts:
            if detail is not None:
                decide(name, (sid, None, None, detail))
        if "no_stall" in open_ or "import_completes" in open_:
            detail = stall_detail(state, reconciler=reconciler)
            if detail is not None:
                decide("no_stall", (sid, None, None, detail))
                if not any(lab[0] not in FAULTS for lab, _ in next_states(spec, state, reduce=False)):
                    # a stall with no step out (no reconciler) is a dead end too: decide it now,
                    # not when the BFS comes to expand it
                    decide("import_completes", (sid, None, None, trap_detail(state, ())))

    seen_tables: dict[tuple[object, int], list[tuple[str, str | None]]] = {}
    seen_pairs: dict[tuple[object, object], list[tuple[str, str | None]]] = {}
    done_rows: dict[object, bool] = {}
    settled_rows: dict[object, frozenset[str]] = {}
    pruned = 0
    judge_state(0, first)
    queue: deque[tuple[int, State]] = deque([(0, first)])
    transitions = 0
    stop: str | None = None
    budget: str | None = None
    expanded = 0
    peak = _rss_mb()
    while queue and open_:
        expanded += 1
        if probing and walked_steps[0] <= expanded * PROBE_SHARE and open_ & set(LIVENESS):
            probe()
            if not open_:
                break
        if expanded & 4095 == 1:  # the first expansion too, so a tiny budget stops at once
            if progress is not None:
                progress(len(keys))  # distinct states so far
            if time.perf_counter() - started > time_limit:
                stop, budget = f"time limit of {time_limit:g} s reached", "time"
                break
        if expanded % MEMORY_SAMPLE_EVERY == 1:
            # the promise is the peak: what the process holds now, and the next resize of the big tables
            peak = max(peak, _rss_mb())
            if peak + _doubling_mb(index, seen_tables, seen_pairs) > max_memory_mb:
                stop, budget = f"memory limit of {max_memory_mb:g} MB reached", "memory"
                break
        if max_states is not None and len(keys) >= max_states:
            stop, budget = f"state budget of {max_states} reached", "states"
            break
        sid, state = queue.popleft()
        done = done_rows.get(state.rows)
        if done is None:
            done = done_rows[state.rows] = is_done(state)
        if done:
            goals.append(sid)
        if spec.settle:
            closed = settled_rows.get(state.rows)
            if closed is None:
                closed = settled_rows[state.rows] = settled(state.rows, config)
            if open_ <= closed:
                pruned += 1
                continue
        options = successors(state)
        liveness = "import_completes" in open_
        way_out = False
        for label, nxt in options:
            transitions += 1
            if nxt.rows is not state.rows and ("threshold_respected" in open_):
                pair = (state.rows, nxt.rows)
                verdicts = seen_pairs.get(pair)
                if verdicts is None:
                    verdicts = seen_pairs[pair] = [
                        (n, f(state, nxt, config)) for n, f in TRANSITION_CHECKS.items() if n in checked
                    ]
                for name, detail in verdicts:
                    if detail is not None:
                        decide(name, (sid, label, nxt, detail))
            key = codec.encode(nxt)
            nid = index.get(key)
            if nid is None:
                nid = len(keys)
                index[key] = nid
                keys.append(key)
                parent.append(sid)
                lid = label_ids.get(label)
                if lid is None:
                    lid = label_ids[label] = len(label_list)
                    label_list.append(label)
                labels.append(lid)
                depth.append(depth[sid] + 1)
                queue.append((nid, nxt))
                judge_state(nid, nxt)
            if label[0] not in FAULTS:
                way_out = True
                if liveness:
                    sources.append(sid)
                    targets.append(nid)
        if not way_out and not done and "import_completes" in open_:
            decide("import_completes", (sid, None, None, trap_detail(state, ())))
    complete = not queue and stop is None
    def path(name: str, where: tuple[int, Label | None, State | None, str]) -> Found:
        return _path(name, codec, keys, parent, labels, label_list, *where)

    found = {name: path(name, where) for name, where in found_at.items()}
    found.update(walked)
    if complete and "import_completes" in open_:
        mark = can_finish(len(keys), sources, targets, goals)
        trap = first_trap(mark)
        if trap is not None:
            trap_state = codec.decode(keys[trap])
            exits = tuple((lab, nxt) for lab, nxt in next_states(spec, trap_state) if lab[0] not in FAULTS)
            base = path("import_completes", (trap, None, None, ""))
            found["import_completes"] = Found(
                name="import_completes", path=base.path, labels=base.labels, detail=trap_detail(trap_state, exits),
                exits=exits,
            )
    if not complete and not open_:
        stop = "every property decided"
    return Search(
        spec=spec, strategy="bfs", complete=complete, states=len(keys), transitions=transitions,
        depth=max(depth) if complete else depth[queue[0][0]] if queue else max(depth),
        seconds=time.perf_counter() - started, stop_reason=stop, checked=checked, found=found, used=used,
        budget=budget, peak_mb=max(peak, _rss_mb()), settled=pruned,
    )


def _walked(name: str, walk: list[tuple[Label, State]], detail: str) -> Found:
    return Found(name=name, path=tuple(s for _, s in walk), labels=tuple(lab for lab, _ in walk[1:]), detail=detail)


def _path(
    name: str, codec: Codec, keys: list[int], parent: array[int], labels: array[int], label_list: list[Label],
    sid: int, label: Label | None, after: State | None, detail: str,
) -> Found:
    ids = []
    while sid >= 0:
        ids.append(sid)
        sid = parent[sid]
    ids.reverse()
    path = [codec.decode(keys[i]) for i in ids]
    labs = [label_list[labels[i]] for i in ids[1:]]
    if label is not None and after is not None:
        path.append(after)
        labs.append(label)
    return Found(name=name, path=tuple(path), labels=tuple(labs), detail=detail)
