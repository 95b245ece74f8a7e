"""Breadth-first exhaustive search of a spec's world, with its properties judged on the way.

``always`` properties are checked on every new state; the first violation is a shortest path. An
``eventually`` goal is violated by a *stall* (a state, not at the goal, with no fault-free step out: found
on the fly, shortest) or by a *trap* (a state from which no fault-free path reaches the goal: judged on
the whole graph when the search ends, as ``model.liveness`` does for the write-up's coordinator). The
fairness this needs is the same: strong fairness of the spec's own steps; faults may happen before the
state judged, never after. The search stops when every asked property is violated, when the state space
is exhausted, or when a budget (states, seconds) runs out; then the properties still open are named
undecided, never reported as holding.
"""

from __future__ import annotations

import random
import time
from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from model.liveness import can_finish, first_trap
from model.specmodel.actions import Label, Model, Move
from model.specmodel.judged import Judged
from model.specmodel.por import ample
from model.specmodel.world import View, World
from model.verdicts import Verdicts
from spec.errors import Unsupported
from spec.lang import Property, Settled
from spec.view import judge

__all__ = ["Found", "PremiseBroken", "SpecSearch", "check_spec"]


class PremiseBroken(Unsupported):
    """A step against the premise of a spec's ``settled`` declaration: the reduction cannot be used."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Found:
    """A violation: the states from the initial one, the labels between them, and what went wrong.
    ``kind``: ``always``, ``stall`` or ``trap``; ``exits``: for a trap, the steps still enabled there."""

    name: str
    kind: str
    path: tuple[World, ...]
    labels: tuple[Label, ...]
    detail: str
    exits: tuple[Label, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SpecSearch(Verdicts):
    """What a search covered and found; ``holds(name)`` is None while a property is undecided."""

    model: Model
    complete: bool
    states: int
    transitions: int
    depth: int
    seconds: float
    stop_reason: str | None
    checked: tuple[str, ...]
    found: dict[str, Found] = field(default_factory=dict)
    budget: str | None = None
    reduced: int = 0  # states the partial-order reduction expanded by one move alone
    por: bool = False
    settled: int = 0  # states judged but not expanded, every open property settled in them
    probe: bool = False


#: probe walks per round and a walk's longest run; a round starts whenever the walks have taken fewer
#: steps than ``PROBE_SHARE`` times the states expanded (counted in steps, so a search is the same on a
#: fast or a slow machine), as the write-up's checker does
PROBE_WALKS, PROBE_STEPS, PROBE_SHARE = 8, 500, 0.5


def _stall_detail(world: World, prop: Property) -> str:
    stuck = any(r is not None for r in world.slots) or any(world.queues)
    how = "jobs are left but none can move" if stuck else "every job ended"
    return f"{how}, and {prop.name} is not reached: {prop.doc or prop.name}"


def judge_settled(decl: Settled, view: View) -> bool:
    try:
        return bool(decl.when(view))
    except Exception as error:
        raise Unsupported(f"settled({decl.prop!r}) raised {type(error).__name__}: {error}", decl.where) from None


def check_spec(
    model: Model, *, properties: tuple[str, ...] | None = None, max_states: int | None = None,
    time_limit: float = 300.0, progress: Callable[[int], None] | None = None, por: bool = True,
    settled: bool = True, probe: bool = True,
) -> SpecSearch:
    """Explore every state of ``model`` (up to the budgets) and judge ``properties`` (default: all).

    ``por``: partial-order reduction (``model.specmodel.por``): the same verdicts, and counterexamples
    that may be longer than the shortest. ``settled``: use the spec's ``settled`` declarations (a state
    in which every open property is settled is judged but not expanded; every step taken is tested
    against their premises). ``probe``: seeded random walks beside the search look for a state where an
    ``eventually`` goal is not reached and no fault-free step is left, deciding it early with a path
    that may be longer than the shortest."""
    spec = model.spec
    names = properties if properties is not None else tuple(spec.properties)
    for n in names:
        if n not in spec.properties:
            raise Unsupported(f"spec {spec.name} has no property {n!r} (it has {', '.join(spec.properties)})")
    always = [spec.properties[n] for n in names if spec.properties[n].kind == "always"]
    goals = [spec.properties[n] for n in names if spec.properties[n].kind == "eventually"]
    began = time.perf_counter()
    start = model.initial()
    worlds: list[World] = [start]
    index: dict[World, int] = {start: 0}
    parent = array("l", [-1])
    labels: list[Label | None] = [None]
    depth = array("l", [0])
    at_goal = [bytearray() for _ in goals]
    sources, targets = array("l"), array("l")
    found: dict[str, Found] = {}
    transitions = 0
    reduced = 0  # states expanded by one move alone
    pruned = 0  # states not expanded: every open property settled in them
    settles = {n: spec.settles[n] for n in names if n in spec.settles} if settled else {}
    saturation = model.saturation

    def view(world: World) -> View:
        return View(world, spec.schema, model.scope)

    judged = Judged(view)  # every judgement memoised on the parts of the world it read

    def settled_in(n: str, world: World) -> bool:
        decl = settles[n]
        fresh = None if not saturation else lambda: saturation.check_judged(
            world, lambda w: judge_settled(decl, view(w)), f"settled({n!r})", decl.where)
        return bool(judged.one(("settled", n), (world,), lambda v: judge_settled(decl, v), fresh))

    def all_settled(world: World) -> bool:
        open_ = [n for n in names if n not in found]
        if not open_ or any(n not in settles for n in open_):
            return False
        return all(settled_in(n, world) for n in open_)

    def check_premises(before: World, after: World, label: Label) -> None:
        for decl in settles.values():
            fresh = None if not saturation else lambda d=decl: saturation.check_premise(
                before, after, lambda b, a: d.premise(view(b), view(a)) in (True, None),
                f"the premise of settled({d.prop!r})", d.where)
            broken = judged.one(("premise", decl.premise), (before, after), decl.premise, fresh)  # one per fact
            if broken is not True and broken is not None:
                raise PremiseBroken(f"the step {label} breaks the premise of settled({decl.prop!r}): "
                                    f"{broken if isinstance(broken, str) else 'false'}; check with --no-settled",
                                    decl.where)

    def judged_as(prop: Property, world: World) -> str | None:
        """``judge(prop, ...)`` of ``world``, memoised, its saturated values tested."""
        fresh = None if not saturation else lambda: saturation.check_judged(
            world, lambda w: judge(prop, view(w)) is None, f"property {prop.name!r}", prop.where)
        detail = judged.one(("property", prop.name), (world,), lambda v: judge(prop, v), fresh)
        assert detail is None or isinstance(detail, str)
        return detail

    def path_to(i: int) -> tuple[tuple[World, ...], tuple[Label, ...]]:
        states, steps = [], []
        while i >= 0:
            states.append(worlds[i])
            label = labels[i]
            if label is not None:
                steps.append(label)
            i = parent[i]
        return tuple(reversed(states)), tuple(reversed(steps))

    def judge_new(i: int) -> None:
        for prop in always:
            if prop.name not in found:
                detail = judged_as(prop, worlds[i])
                if detail is not None:
                    states, steps = path_to(i)
                    found[prop.name] = Found(name=prop.name, kind="always", path=states, labels=steps, detail=detail)
        for g, prop in enumerate(goals):
            at_goal[g].append(judged_as(prop, worlds[i]) is None)

    rng = random.Random(0)  # the walks are part of the search: one seed, the same search every time
    walked = [0]  # steps the walks took, against the states expanded (PROBE_SHARE)

    def walk_for_stalls() -> None:
        """Walk at random from the start; a state with no fault-free step left, not at an open goal,
        decides that goal (a stall), with the walk's path."""
        for _ in range(PROBE_WALKS):
            states: list[World] = [start]
            steps: list[Label] = []
            seen_at = {start: 0}
            for _ in range(PROBE_STEPS):
                world = states[-1]
                options = [m for m in model.moves(world) if not m.fault or rng.random() < 0.5]
                if not any(not m.fault for m in options):
                    here = view(world)
                    for prop in goals:
                        if prop.name not in found and judge(prop, here) is not None:
                            found[prop.name] = Found(name=prop.name, kind="stall", path=tuple(states),
                                                     labels=tuple(steps), detail=_stall_detail(world, prop))
                    if not options:
                        break
                move = options[rng.randrange(len(options))]
                nxt = model.canonical(move.world)
                if nxt in seen_at:  # a loop: cut it, so the path stays simple
                    del states[seen_at[nxt] + 1:], steps[seen_at[nxt]:]
                    seen_at = {w: k for k, w in enumerate(states)}
                    continue
                seen_at[nxt] = len(states)
                states.append(nxt)
                steps.append(move.label)
                walked[0] += 1
            if all(p.name in found for p in goals):
                return

    # A state with no job queued or running and no periodic job has no step at all: a stall of every goal
    # it is not at, seen when it is made. It is the shortest once no state shallower than it is a stall of
    # that goal: the states of the level above still to be expanded are asked whether they have a
    # fault-free step (the first one answers), so the search need not expand the rest of that level.
    idle_stalls = not model.periodic and bool(goals)
    spotted_at: dict[str, int] = {}

    def spotted(j: int) -> None:
        for g, prop in enumerate(goals):
            if prop.name not in found and prop.name not in spotted_at and not at_goal[g][j]:
                spotted_at[prop.name] = j

    def stall(name: str, k: int) -> None:
        states, steps = path_to(k)
        found[name] = Found(name=name, kind="stall", path=states, labels=steps,
                            detail=_stall_detail(worlds[k], spec.properties[name]))

    def decide_spotted() -> None:
        for name, j in list(spotted_at.items()):
            del spotted_at[name]
            if name in found:
                continue
            g = next(g for g, p in enumerate(goals) if p.name == name)
            for k in frontier:
                if depth[k] >= depth[j]:
                    break
                if not at_goal[g][k] and not any(not m.fault for m in model.moves(worlds[k])):
                    j = k  # a shallower stall: the shortest is the first met in the search's order
                    break
            stall(name, j)

    judge_new(0)
    frontier = deque([0])
    expanded = 0
    stop_reason: str | None = None
    budget: str | None = None
    while frontier:
        if len(found) == len(names):
            stop_reason = "every property asked is violated"
            break
        if time.perf_counter() - began > time_limit:
            stop_reason, budget = f"time limit of {time_limit:g} s reached", "time"
            break
        if max_states is not None and len(worlds) >= max_states:
            stop_reason, budget = f"state budget of {max_states} reached", "states"
            break
        i = frontier.popleft()
        expanded += 1
        if probe and walked[0] <= expanded * PROBE_SHARE and any(p.name not in found for p in goals):
            walk_for_stalls()
        if settles and all_settled(worlds[i]):
            pruned += 1
            continue
        moves: list[Move] = list(model.moves(worlds[i]))
        if por:
            level = depth[i]
            alone = ample(model, worlds[i], moves,
                          lambda w: (j := index.get(w)) is None or depth[j] > level)  # noqa: B023 - used at once
            if alone is not None:
                moves = [alone]
                reduced += 1
        onward = False
        for move in moves:
            transitions += 1
            if settles:
                check_premises(worlds[i], move.world, move.label)
            world = model.canonical(move.world)
            j = index.get(world)
            if j is None:
                j = len(worlds)
                index[world] = j
                worlds.append(world)
                parent.append(i)
                labels.append(move.label)
                depth.append(depth[i] + 1)
                frontier.append(j)
                judge_new(j)
                if idle_stalls and not any(world.queues) and not any(world.slots):
                    spotted(j)
            if not move.fault:
                onward = True
                if goals:
                    sources.append(i)
                    targets.append(j)
        if not onward:
            for g, prop in enumerate(goals):
                if prop.name not in found and not at_goal[g][i]:
                    states, steps = path_to(i)
                    found[prop.name] = Found(name=prop.name, kind="stall", path=states, labels=steps,
                                             detail=_stall_detail(worlds[i], prop))
        if spotted_at:
            decide_spotted()
        if progress is not None and len(worlds) % 1000 == 0:
            progress(len(worlds))
    complete = not frontier
    if complete:
        for g, prop in enumerate(goals):
            if prop.name in found:
                continue
            goal_states = [k for k, hit in enumerate(at_goal[g]) if hit]
            trap = first_trap(can_finish(len(worlds), sources, targets, goal_states))
            if trap is not None:
                states, steps = path_to(trap)
                exits = tuple(m.label for m in model.moves(worlds[trap]) if not m.fault)
                found[prop.name] = Found(
                    name=prop.name, kind="trap", path=states, labels=steps, exits=exits,
                    detail=f"from here no fault-free run reaches {prop.name}: {prop.doc or prop.name}",
                )
    return SpecSearch(
        model=model, complete=complete, states=len(worlds), transitions=transitions,
        depth=max(depth) if depth else 0, seconds=time.perf_counter() - began, stop_reason=stop_reason,
        checked=names, found=found, budget=budget, reduced=reduced, por=por, settled=pruned, probe=probe,
    )
