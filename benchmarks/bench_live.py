"""Benchmark 4: a scaled live import against the bare cost of its batches.

The import of the issue: 20 waves x 20 batches, 8 worker processes, ``atomic``,
on SQLite with the database queue, no faults (``wavesim live``'s defaults).
Baseline, measured in the same run: 8 fresh Python processes that only sleep
the same batches' scaled durations (400 exponential draws of mean 1 s, times
``scale``), split round-robin, with no database and no queue: what the import
would cost if coordination, the queue and the database were free. Goal: the
live import takes seconds (under 60 s), and we print its ratio to the baseline.
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks._output import Output, arguments, count_note
from benchmarks._timing import timed
from live import LiveSettings
from wavesim.commands.live import run_imports

REPS = 3  # repetitions of each measurement, unless given: ``python -m benchmarks.bench_live 1 --out FILE``
SETTINGS = LiveSettings()  # 20 x 20, 8 workers, scale 0.02


def baseline(rep: int) -> None:
    rng = random.Random(rep)
    durations = [rng.expovariate(1.0) * SETTINGS.scale for _ in range(SETTINGS.waves * SETTINGS.wave_size)]
    shares = [sum(durations[i::SETTINGS.workers]) for i in range(SETTINGS.workers)]
    procs = [subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({s})"]) for s in shares]
    for p in procs:
        p.wait()


def live_import(rep: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        [(run, _)] = run_imports(url, ["atomic"], SETTINGS.with_settings(seed=max(rep, 0)), workdir=folder)
        assert run.outcome == "completed", run.outcome


def main() -> None:
    args = arguments(__doc__, count=REPS, what="repetitions of each measurement")
    out = Output()
    base = timed(baseline, args.count)
    live = timed(live_import, args.count)
    out.say(f"baseline: 8 processes sleeping 400 scaled batch durations: {base.spread()}")
    out.say(f"live import 20 x 20, 8 workers, atomic, SQLite: {live.spread()}")
    out.say(f"ratio live / baseline: {live.median / base.median:.1f}x; goal: the import takes under 60 s "
            f"({'met' if live.median < 60 else 'NOT met'})")
    out.finish(args.out, count_note(args, "repetitions"))


if __name__ == "__main__":
    main()
