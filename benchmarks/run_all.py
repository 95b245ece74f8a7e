"""Run every benchmark: ``python -m benchmarks.run_all``."""

from __future__ import annotations

import platform
import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ("bench_sim", "bench_sweep", "bench_checker", "bench_live", "bench_startup")


def main() -> None:
    print(f"machine: {platform.machine()}, {platform.processor() or 'unknown cpu'}, "
          f"python {platform.python_version()}, {sys.platform}")
    for name in ORDER:
        if (HERE / f"{name}.py").exists():
            print(f"== {name}", flush=True)
            runpy.run_module(f"benchmarks.{name}", run_name="__main__")


if __name__ == "__main__":
    main()
