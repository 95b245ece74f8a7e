"""Run every benchmark, one after another: ``python -m benchmarks.run_all [--skip NAME ...] [--out FILE]``.

Each runs in a fresh interpreter with its own defaults (what one leaves behind in memory or caches does not
time the next), its output shown as it comes, under a ``== NAME`` line. ``--out FILE`` writes the whole
output, each benchmark's own machine line included, closed by the machine line of the whole run; and each
benchmark writes its own result file beside FILE, under the name ``docgen.benchmarks.RESULTS`` gives it, the
files ``docs/benchmarks.md`` reads. So ``--out benchmarks/results/all.txt`` refreshes every committed result
from one run (a benchmark rerun alone afterwards replaces only its own file).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from benchmarks._output import Output
from docgen.benchmarks import RESULTS

ORDER = ("bench_sim", "bench_sweep", "bench_checker", "bench_live", "bench_startup")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--skip", nargs="+", default=[], choices=ORDER, metavar="NAME",
                        help=f"benchmarks not to run (of {', '.join(ORDER)}; bench_checker's whole table is long)")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="also write the whole output, closed by the machine line, to FILE")
    args = parser.parse_args()
    out, failed = Output(), []
    for name in ORDER:
        if name in args.skip:
            continue
        out.say(f"== {name}")
        own = ["--out", str(Path(args.out).parent / Path(RESULTS[name]).name)] if args.out else []
        child = subprocess.Popen([sys.executable, "-m", f"benchmarks.{name}", *own], stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None
        for line in child.stdout:
            out.say(line.rstrip("\n"))
        if child.wait() != 0:
            failed.append(name)
            out.say(f"(exit code {child.returncode})")
    skipped = [f"skipped: {', '.join(args.skip)}"] if args.skip else []
    out.finish(None if failed else args.out, skipped)  # a whole run or no file
    if failed:
        sys.exit(f"failed: {', '.join(failed)}" + (f"; {args.out} not written" if args.out else ""))


if __name__ == "__main__":
    main()
