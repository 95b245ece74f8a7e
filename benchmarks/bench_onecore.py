"""Benchmark of the write-up's coordinator as one spec (``coordinator/writeup.py``) against the built-in
checker: every policy, on the cells of ``benchmarks/bench_checker.py``, in the same run.

Not a test. Run from the repository root:

    python -m benchmarks.bench_onecore                                   # 2x2,2 and 3x2,2, every policy
    python -m benchmarks.bench_onecore --policies atomic --cells 2x2,2   # a part of it
    python -m benchmarks.bench_onecore --out benchmarks/results/onecore.txt   # also keep the table

Each check runs in a fresh process (``benchmarks.bench_specs``' child), so its peak memory is its own.
Per cell and policy: the built-in checker (``model.checker.check``) and the spec checker
(``model.specmodel.check_spec`` on ``coordinator/writeup.py --policy NAME``), each with every reduction and
with ``shortest`` (partial-order reduction and probe walks off, so every counterexample is a shortest
one); 2 workers, threshold 50 %, FIFO queue, no faults, every property, ``--budget`` seconds each.
``agree`` compares the verdicts both decided, and with ``shortest`` their lengths too.
"""

from __future__ import annotations

import argparse
import os
import platform

from benchmarks.bench_checker import finish_table
from benchmarks.bench_specs import ROOT, _agree, _child, _measures, _verdicts
from coordinator import POLICIES, PROPERTY_NAMES

ONE_CORE = ROOT / "coordinator" / "writeup.py"
CELLS = ["2x2,2", "3x2,2"]
BUDGET_S = 120.0


def _cell(text: str) -> tuple[int, int, int]:
    waves, rest = text.split("x")
    size, handlers = rest.split(",")
    return int(waves), int(size), int(handlers)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--policies", nargs="+", default=list(POLICIES), choices=list(POLICIES))
    parser.add_argument("--cells", nargs="+", default=CELLS, help="cells as WAVESxSIZE,HANDLERS (default 2x2,2 3x2,2)")
    parser.add_argument("--modes", nargs="+", default=["default", "shortest"], choices=["default", "shortest"])
    parser.add_argument("--budget", type=float, default=BUDGET_S, help="seconds for each check (default 120)")
    parser.add_argument("--out", default=None, help="also write the table to this file")
    args = parser.parse_args()
    start_load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    head = f"{'states':>9} {'s':>6} {'cpu s':>6} {'MB':>5} {'status':<12}"
    lines = [f"{'cell':<6} {'policy':<9} {'checker':<19} | {head} | verdicts (Fn = violated, n steps; ? = undecided) "
             "| agree"]
    print(lines[0], flush=True)
    for text in args.cells:
        waves, size, handlers = _cell(text)
        for policy in args.policies:
            for mode in args.modes:
                builtin = _child("builtin", mode, str(waves), str(size), str(handlers), str(args.budget), policy)
                spec = _child("spec", mode, str(ONE_CORE), str(args.budget), f"waves={waves}", f"wave_size={size}",
                              f"handlers={handlers}", f"policy={policy}")
                suffix = "" if mode == "default" else " --shortest"
                agree = _agree(builtin, spec, lengths=mode == "shortest")
                lines.append(f"{text:<6} {policy:<9} {'built-in' + suffix:<19} | {_measures(builtin)} | "
                             f"{_verdicts(builtin, PROPERTY_NAMES)} |")
                lines.append(f"{text:<6} {policy:<9} {'spec' + suffix:<19} | {_measures(spec)} | "
                             f"{_verdicts(spec, PROPERTY_NAMES)} | {agree}")
                print("\n".join(lines[-2:]), flush=True)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    finish_table(lines, [
        "built-in: model.checker.check --policy NAME, engine auto (compiled where a C compiler is found); spec: "
        "model.specmodel.check_spec on coordinator/writeup.py with policy=NAME, in Python. By default both use "
        "every reduction; with --shortest both switch partial-order reduction and probe walks off. s: the "
        "search's wall clock; cpu s: its process's CPU time (import included); MB: its peak resident memory.",
        f"Python {platform.python_version()}, {os.cpu_count()} cores, {platform.machine()}; load average at the "
        f"start {start_load}, at the end {load} (1, 5, 15 min)"], args.out)


if __name__ == "__main__":
    main()
