"""Record plainly during the run, analyse afterwards.

During a run the recorder only appends tuples (queue depth and active waves
whenever they change, each dispatch with its wave) and keeps two running
maxima. ``series`` turns them into numpy arrays for plots and summaries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coordinator import ACTIVE, WaveConfig, WaveTable

__all__ = ["Recorder", "Series", "active_counts"]


def active_counts(table: WaveTable, config: WaveConfig) -> tuple[int, int]:
    """Active waves, and active waves whose distinct progress is below threshold."""
    need = config.threshold_count
    active = below = 0
    for r in table.rows:
        if r.status in ACTIVE:
            active += 1
            if r.distinct_finished < min(need, r.batches):
                below += 1
    return active, below


@dataclass(frozen=True, slots=True)
class Series:
    """Time series of one run as arrays (step functions: a value holds until the next)."""

    depth_t: np.ndarray
    depth: np.ndarray
    active_t: np.ndarray
    active: np.ndarray
    dispatch_t: np.ndarray
    dispatch_wave: np.ndarray


class Recorder:
    """Appends what happens; nothing is computed on the hot path but two maxima."""

    def __init__(self, config: WaveConfig) -> None:
        self.config = config
        self.depth: list[tuple[float, int]] = [(0.0, 0)]
        self.active: list[tuple[float, int]] = [(0.0, 0)]
        self.dispatches: list[tuple[float, int]] = []
        self.peak_depth = 0
        self.max_active = 0
        self.max_below = 0
        #: handler runs by deciding path and outcome, e.g. ("catch-up", "dispatched")
        self.decisions: dict[tuple[str, str], int] = {}

    def on_depth(self, now: float, depth: int) -> None:
        self.depth.append((now, depth))
        if depth > self.peak_depth:
            self.peak_depth = depth

    def on_status(self, now: float, table: WaveTable) -> None:
        active, below = active_counts(table, self.config)
        self.active.append((now, active))
        if active > self.max_active:
            self.max_active = active
        if below > self.max_below:
            self.max_below = below

    def on_decision(self, path: str, outcome: str) -> None:
        key = (path, outcome)
        self.decisions[key] = self.decisions.get(key, 0) + 1

    def on_dispatch(self, now: float, wave: int) -> None:
        self.dispatches.append((now, wave))

    def dispatch_times(self, waves: int) -> dict[str, list[float]]:
        """Every dispatch (batches enqueued) of each wave, by wave number as a string."""
        out: dict[str, list[float]] = {str(n): [] for n in range(1, waves + 1)}
        for t, wave in self.dispatches:
            out[str(wave)].append(t)
        return out

    def series(self) -> Series:
        depth = np.array(self.depth, dtype=float).reshape(-1, 2)
        active = np.array(self.active, dtype=float).reshape(-1, 2)
        disp = np.array(self.dispatches, dtype=float).reshape(-1, 2)
        return Series(
            depth_t=depth[:, 0], depth=depth[:, 1].astype(int),
            active_t=active[:, 0], active=active[:, 1].astype(int),
            dispatch_t=disp[:, 0], dispatch_wave=disp[:, 1].astype(int),
        )
