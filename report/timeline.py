"""One run with a fuller record: the time series and per-wave times the figures need.

``run_one`` keeps what the metrics need (ready batch jobs, active waves,
dispatches). The report's figures also want the delayed jobs, the active waves
still below threshold, and for each wave when it was dispatched, reached its
threshold and completed. ``traced_run`` runs the same ``sim`` shell with two
listeners added: a queue that notes its lengths whenever they change, and a
hook after every applied DB write. Neither draws a random number or schedules
an event, so the run is the one ``run_one`` makes for the same scenario.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import simpy

from coordinator import Status, WaveTable
from coordinator.effects import Effect
from sim.queue import Job, JobQueue
from sim.recorder import active_counts
from sim.scenario import Scenario
from sim.workers import Shell

__all__ = ["Timeline", "WaveTimes", "traced_run"]


@dataclass(frozen=True, slots=True, kw_only=True)
class WaveTimes:
    """When one wave was first dispatched, reached its threshold and completed (None: never)."""

    wave: int
    dispatched_s: float | None
    threshold_s: float | None
    completed_s: float | None
    dispatches: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeline:
    """One run's time series (step functions) and per-wave times."""

    policy: str
    seed: int
    outcome: str
    makespan_s: float
    stall_wave: int | None
    queue_t: np.ndarray
    ready: np.ndarray
    delayed: np.ndarray
    status_t: np.ndarray
    active: np.ndarray
    below: np.ndarray
    dispatch_t: np.ndarray
    dispatch_wave: np.ndarray
    waves: tuple[WaveTimes, ...]
    threshold_count: int


class _TracedQueue(JobQueue):
    """The sim's queue, noting (time, ready jobs, delayed jobs) whenever they change."""

    def __init__(self, env: simpy.Environment, on_depth: Callable[[float, int], None],
                 samples: list[tuple[float, int, int]]) -> None:
        super().__init__(env, on_depth)
        self.samples = samples

    def _note(self) -> None:
        now, value = self.env.now, (len(self.ready), len(self.delayed))
        last = self.samples[-1]
        if (last[1], last[2]) == value:
            return
        if last[0] == now and len(self.samples) > 1:
            self.samples[-1] = (now, *value)
        else:
            self.samples.append((now, *value))

    def _pop(self) -> Job:
        job = super()._pop()
        self._note()
        return job

    def put(self, job: Job) -> None:
        super().put(job)
        self._note()

    def put_many(self, jobs: list[Job]) -> None:
        super().put_many(jobs)
        self._note()

    def put_delayed(self, job: Job, delay_s: float) -> None:
        super().put_delayed(job, delay_s)
        self._note()


class _TracedShell(Shell):
    """``sim.workers.Shell`` with the report's extra record."""

    def __init__(self, scenario: Scenario) -> None:
        super().__init__(scenario)
        self.samples: list[tuple[float, int, int]] = [(0.0, 0, 0)]
        self.queue = _TracedQueue(self.env, self.recorder.on_depth, self.samples)
        self.status: list[tuple[float, int, int]] = [(0.0, 0, 0)]
        self.threshold_s: dict[int, float] = {}
        self.completed_s: dict[int, float] = {}
        self.need = scenario.config.threshold_count

    def _on_applied(self, effect: Effect, before: WaveTable, after: WaveTable, result: object) -> None:
        super()._on_applied(effect, before, after, result)
        if after is before:
            return
        now = self.env.now
        active, below = active_counts(after, self.config)
        last = self.status[-1]
        if (last[1], last[2]) != (active, below):
            self.status.append((now, active, below))
        for r in after.rows:
            n = r.wave_number
            if n not in self.threshold_s and r.dispatch_count > 0 and r.distinct_finished >= min(self.need, r.batches):
                self.threshold_s[n] = now
            if n not in self.completed_s and r.status is Status.COMPLETED:
                self.completed_s[n] = now


def _arrays(rows: list[tuple[float, int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = np.array(rows, dtype=float).reshape(-1, 3)
    return a[:, 0], a[:, 1].astype(int), a[:, 2].astype(int)


def traced_run(scenario: Scenario) -> Timeline:
    """Run ``scenario`` once, recording what the report's figures draw."""
    shell = _TracedShell(scenario)
    outcome = shell.run()
    table = shell.final if shell.final is not None else shell.db.table
    rec = shell.recorder
    first: dict[int, float] = {}
    for t, w in rec.dispatches:
        first.setdefault(w, t)
    waves = tuple(
        WaveTimes(
            wave=r.wave_number, dispatched_s=first.get(r.wave_number), threshold_s=shell.threshold_s.get(r.wave_number),
            completed_s=shell.completed_s.get(r.wave_number), dispatches=r.dispatch_count,
        )
        for r in table.rows
    )
    left = [r.wave_number for r in table.rows if r.status is not Status.COMPLETED]
    queue_t, ready, delayed = _arrays(shell.samples)
    status_t, active, below = _arrays(shell.status)
    disp = np.array(rec.dispatches, dtype=float).reshape(-1, 2)
    return Timeline(
        policy=scenario.policy, seed=scenario.seed, outcome=outcome, makespan_s=round(shell.ended_s, 6),
        stall_wave=left[0] if outcome == "stalled" and left else None,
        queue_t=queue_t, ready=ready, delayed=delayed, status_t=status_t, active=active, below=below,
        dispatch_t=disp[:, 0], dispatch_wave=disp[:, 1].astype(int), waves=waves,
        threshold_count=shell.need,
    )

