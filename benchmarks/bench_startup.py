"""Benchmark 6: how long ``wavesim --help`` and ``wavesim --version`` take to start.

Each is a fresh interpreter (``python -m wavesim ...``), timed beside the
baseline ``python -c "import simpy, numpy, click"`` in the same run, interleaved
so that the machine's load falls on all three alike. Goal: under 0.4 s.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from benchmarks._output import Output, arguments, count_note

REPS = 9  # repetitions of each command, unless given: ``python -m benchmarks.bench_startup 3 --out FILE``
COMMANDS = {
    "wavesim --help": [sys.executable, "-m", "wavesim", "--help"],
    "wavesim --version": [sys.executable, "-m", "wavesim", "--version"],
    "baseline: import simpy, numpy, click": [sys.executable, "-c", "import simpy, numpy, click"],
}


def main() -> None:
    args = arguments(__doc__, count=REPS, what="repetitions of each command")
    out = Output()
    seconds: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.count):
        for name, argv in COMMANDS.items():
            start = time.perf_counter()
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
            seconds[name].append(time.perf_counter() - start)
    for name, times in seconds.items():
        out.say(f"[6] {name}: median {statistics.median(times):.3f} s "
                f"(min {min(times):.3f} - max {max(times):.3f}, n={len(times)})")
    out.finish(args.out, count_note(args, "repetitions"))


if __name__ == "__main__":
    main()
