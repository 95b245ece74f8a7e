"""Repeat, take medians and spreads: the machine is shared and noisy."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

__all__ = ["Timing", "timed"]


class Timing:
    """Wall seconds of repeated calls."""

    def __init__(self, seconds: list[float]) -> None:
        self.seconds = seconds

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def spread(self) -> str:
        low, high = min(self.seconds) * 1e3, max(self.seconds) * 1e3
        return f"median {self.median * 1e3:.2f} ms (min {low:.2f} - max {high:.2f}, n={len(self.seconds)})"


def timed(fn: Callable[[int], object], reps: int) -> Timing:
    """Time ``fn(rep)`` for each repetition (after one warm-up call)."""
    fn(-1)
    out = []
    for rep in range(reps):
        start = time.perf_counter()
        fn(rep)
        out.append(time.perf_counter() - start)
    return Timing(out)
