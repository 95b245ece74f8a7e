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

REPS = int(sys.argv[1]) if len(sys.argv) > 1 else 9
COMMANDS = {
    "wavesim --help": [sys.executable, "-m", "wavesim", "--help"],
    "wavesim --version": [sys.executable, "-m", "wavesim", "--version"],
    "baseline: import simpy, numpy, click": [sys.executable, "-c", "import simpy, numpy, click"],
}


def main() -> None:
    seconds: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(REPS):
        for name, argv in COMMANDS.items():
            start = time.perf_counter()
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
            seconds[name].append(time.perf_counter() - start)
    for name, times in seconds.items():
        print(f"[6] {name}: median {statistics.median(times):.3f} s "
              f"(min {min(times):.3f} - max {max(times):.3f}, n={len(times)})")


if __name__ == "__main__":
    main()
