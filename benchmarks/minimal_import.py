"""A minimal hand-written SimPy model of one import: the baseline of benchmark 2.

37 waves x 50 batches, 10 workers, exponential batches (mean 1 s); the next wave
is enqueued the moment the current one reaches 90 % (check and act in one step,
no DB, no handlers): the least work any simulation of this import can do.
"""

from __future__ import annotations

import math
import random

import simpy

__all__ = ["minimal_import"]


def minimal_import(seed: int, *, waves: int = 37, size: int = 50, workers: int = 10, threshold: int = 90) -> float:
    rng = random.Random(seed)
    env = simpy.Environment()
    queue: simpy.Store = simpy.Store(env)
    trigger = math.ceil(threshold * size / 100)
    done = [0] * waves
    state = {"next": 0, "finished": 0}
    finished = env.event()

    def enqueue() -> None:
        for b in range(size):
            queue.put((state["next"], b))
        state["next"] += 1

    def worker():  # type: ignore[no-untyped-def]
        while True:
            wave, _ = yield queue.get()
            yield env.timeout(rng.expovariate(1.0))
            done[wave] += 1
            state["finished"] += 1
            if done[wave] == trigger and wave == state["next"] - 1 and state["next"] < waves:
                enqueue()
            if state["finished"] == waves * size:
                finished.succeed()

    enqueue()
    for _ in range(workers):
        env.process(worker())
    env.run(until=finished)
    return env.now
