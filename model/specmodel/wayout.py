"""For a liveness failure: what the stuck state holds, and which job would have to run to leave it.

A stall or a trap is a state from which no fault-free run reaches the goal. To say what is missing, each
job the counterexample met (a type with a payload) is pushed once more into the stuck state, and a
bounded breadth-first search asks whether the goal is then reachable: "a run of finally(1) would reach
callback_ran". It is a hint about the cause, not a proof of a fix.
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace

from model.specmodel.actions import Model
from model.specmodel.search import Found
from model.specmodel.world import Job, View, World
from spec.lang import Property
from spec.view import judge

__all__ = ["reaches_goal", "stuck_state", "ways_out"]

#: states a way-out search may visit per candidate job
WAY_OUT_STATES = 20_000


def stuck_state(model: Model, world: World) -> list[str]:
    """The stuck state in words: queues, runs, open transactions, failed jobs."""
    lines = []
    for q, jobs in zip(model.queue_names, world.queues, strict=True):
        lines.append(f"queue {q}: {', '.join(str(j) for j in jobs) or 'empty'}")
    for s, run in enumerate(world.slots):
        if run is not None:
            waits = " (waiting for a lock)" if world.db.sessions[s].waiting else ""
            tx = " with an open transaction" if world.db.sessions[s].open else ""
            lines.append(f"worker slot {s + 1}: {run.job} in its {run.phase}{tx}{waits}")
    if world.failed:
        lines.append(f"failed for good: {', '.join(str(j) for j in world.failed)}")
    return lines


def ways_out(model: Model, found: Found) -> list[str]:
    """Each job, among those the counterexample met, whose one extra run would reach the goal."""
    prop = model.spec.properties[found.name]
    stuck = found.path[-1]
    seen_jobs: dict[str, Job] = {}
    for world in found.path:
        for jobs in world.queues:
            for j in jobs:
                seen_jobs.setdefault(f"{j.type}{j.payload}", Job(j.type, j.payload))
        for run in world.slots:
            if run is not None:
                seen_jobs.setdefault(f"{run.job.type}{run.job.payload}", Job(run.job.type, run.job.payload))
    out = []
    for job in seen_jobs.values():
        q = model.queue_names.index(model.spec.jobs[job.type].queue)
        start = replace(stuck, queues=stuck.queues[:q] + ((*stuck.queues[q], job),) + stuck.queues[q + 1:])
        if reaches_goal(model, model.canonical(start), prop, WAY_OUT_STATES):
            out.append(f"one more run of {job} would reach {found.name}")
    return out or [f"no single extra run of a job this counterexample met reaches {found.name}"]


def reaches_goal(model: Model, start: World, prop: Property, limit: int) -> bool | None:
    """Whether a fault-free run from ``start`` reaches a state where ``prop`` holds: True, False once every
    such state was searched, None when ``limit`` states did not settle it."""
    seen = {start}
    frontier = deque([start])
    while frontier:
        if len(seen) > limit:
            return None
        world = frontier.popleft()
        if judge(prop, View(world, model.spec.schema, model.scope)) is None:
            return True
        for move in model.moves(world):
            if move.fault:
                continue
            nxt = model.canonical(move.world)
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return False
