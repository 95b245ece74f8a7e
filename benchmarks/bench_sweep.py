"""Benchmark 3: sweep throughput (imports per second) and the speed-up from 1 to 2 processes.

The same grid of incident imports runs once on one process and once on two;
both write rows to a scratch folder. Goal: a speed-up of at least 1.8x.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks._output import Output, arguments, count_note
from sim.scenario import PRESETS
from wavesim.commands.sweep import sweep_runs

SEEDS = 24  # seeds of each grid point, unless given: ``python -m benchmarks.bench_sweep 12 --out FILE``
BASE = PRESETS["incident"].with_settings(policy="seed-fix", preset="custom")
GRID = [("workers", [8, 10])]


def imports_per_second(jobs: int, folder: Path, seeds: int) -> tuple[float, int]:
    out = folder / f"rows-{jobs}.csv"
    start = time.perf_counter()
    summaries = sweep_runs(BASE, GRID, list(range(seeds)), str(out), jobs=jobs)
    seconds = time.perf_counter() - start
    runs = sum(int(str(s["runs"])) for s in summaries)
    return runs / seconds, runs


def main() -> None:
    args = arguments(__doc__, count=SEEDS, what="seeds of each grid point")
    out = Output()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        one, runs = imports_per_second(1, folder, args.count)
        two, _ = imports_per_second(2, folder, args.count)
        same = (folder / "rows-1.csv").read_text() == (folder / "rows-2.csv").read_text()
    out.say(f"[3] sweep of {runs} incident imports (seed-fix): 1 process {one:.2f} imports/s, "
            f"2 processes {two:.2f} imports/s; speed-up {two / one:.2f}x (goal >= 1.8x); identical rows: {same}")
    out.finish(args.out, count_note(args, "seeds of each grid point"))


if __name__ == "__main__":
    main()
