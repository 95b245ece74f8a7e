"""Benchmark of the spec checker against the built-in one: the write-up's ``guarded`` policy, checked by
``model.checker.check`` and, written as a spec (``coordinator/writeup.py`` with ``policy=guarded``), by
``model.specmodel.check_spec``, on the same cells in the same run; then every example spec at its default
scope. (``benchmarks/bench_onecore.py`` compares every policy.)

Not a test. Run from the repository root:

    python -m benchmarks.bench_specs                                   # every cell
    python -m benchmarks.bench_specs --quick                           # 2x2,2 and 3x2,2 only
    python -m benchmarks.bench_specs --out benchmarks/results/specs.txt   # also keep the table

Each check runs in a fresh process, so its peak memory (the process's maximum resident set) is its own.
Cells: waves x batches per wave, handler runs; 2 workers, threshold 50 %, FIFO queue, no faults, every
property, ``--budget`` seconds each (default 120). Each cell runs twice per checker: with every reduction
(the two checkers must agree on every verdict decided by both), and with ``shortest`` (partial-order
reduction and random probes off, so every counterexample is a shortest one: they must also agree on its
length).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks._output import finish_table, load_average, machine_line
from benchmarks.bench_checker import _SHORT
from coordinator import PROPERTY_NAMES

ROOT = Path(__file__).resolve().parent.parent
WRITEUP = ROOT / "coordinator" / "writeup.py"
#: (waves, batches per wave, handlers) of each cell
CELLS = [(2, 2, 2), (3, 2, 2), (3, 3, 3)]
QUICK = CELLS[:2]
BUDGET_S = 120.0
MEMORY_MB = 4096


def _usage() -> dict[str, float]:
    use = resource.getrusage(resource.RUSAGE_SELF)
    return {"peak_mb": use.ru_maxrss / 1024, "cpu": use.ru_utime + use.ru_stime}


def run_builtin(waves: int, size: int, handlers: int, budget: float, shortest: bool,
                policy: str = "guarded") -> dict[str, Any]:
    """The built-in checker on ``policy`` (called in the child)."""
    from coordinator import POLICIES
    from model.checker import check
    from model.scope import Scope

    search = check(Scope(waves=waves, wave_size=size, max_handlers=handlers), POLICIES[policy],
                   time_limit=budget, max_memory_mb=MEMORY_MB, shortest=shortest)
    return {"states": search.states, "seconds": search.seconds, "complete": search.complete,
            "decided": search.decided, "budget": search.budget, "engine": search.engine,
            "verdicts": {n: search.holds(n) for n in search.checked},
            "lengths": {n: len(f.labels) for n, f in search.found.items()}, **_usage()}


def run_spec(path: str, scope: dict[str, str], budget: float, shortest: bool) -> dict[str, Any]:
    """The spec checker on the spec at ``path`` (called in the child)."""
    from model.specmodel import Model, check_spec
    from specfile.load import load_spec

    spec = load_spec(path)
    search = check_spec(Model(spec, spec.scope_of(scope)), time_limit=budget, por=not shortest,
                        probe=not shortest)
    return {"states": search.states, "seconds": search.seconds, "complete": search.complete,
            "decided": search.decided, "budget": search.budget, "engine": "python",
            "verdicts": {n: search.holds(n) for n in search.checked},
            "lengths": {n: len(f.labels) for n, f in search.found.items()}, **_usage()}


def _child(*args: str) -> dict[str, Any]:
    """One check in a fresh process: ``builtin MODE WAVES SIZE HANDLERS BUDGET [POLICY]`` or ``spec MODE PATH
    BUDGET NAME=VALUE...``."""
    done = subprocess.run([sys.executable, "-m", "benchmarks.bench_specs", "--child", *args],
                          capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["exit code " + str(done.returncode)])[-1]}
    return dict(json.loads(done.stdout))


def _status(r: dict[str, Any]) -> str:
    if "error" in r:
        return "error"
    return "complete" if r["complete"] else "decided" if r["decided"] else f"{r['budget']} budget"


def _measures(r: dict[str, Any]) -> str:
    if "error" in r:
        return f"{'-':>9} {'-':>6} {'-':>6} {'-':>5} {'error':<12}"
    return f"{r['states']:>9} {r['seconds']:>6.1f} {r['cpu']:>6.1f} {r['peak_mb']:>5.0f} {_status(r):<12}"


def _verdicts(r: dict[str, Any], names: tuple[str, ...]) -> str:
    if "error" in r:
        return f"failed: {r['error']}"
    marks = []
    for n in names:
        holds = r["verdicts"].get(n)
        marks.append(f"{_SHORT.get(n, n)} {'ok' if holds else '?' if holds is None else 'F' + str(r['lengths'][n])}")
    return " ".join(marks)


def _agree(a: dict[str, Any], b: dict[str, Any], lengths: bool) -> str:
    if "error" in a or "error" in b:
        return "-"
    clash = []
    for n in PROPERTY_NAMES:
        va, vb = a["verdicts"].get(n), b["verdicts"].get(n)
        if va is None or vb is None:
            continue
        if va != vb or (lengths and va is False and a["lengths"][n] != b["lengths"][n]):
            clash.append(_SHORT[n])
    undecided = [_SHORT[n] for n in PROPERTY_NAMES if None in (a["verdicts"].get(n), b["verdicts"].get(n))]
    text = "yes" if not clash else "NO: " + ", ".join(clash)
    return text + (f" (undecided: {', '.join(undecided)})" if undecided else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the 2x2,2 and 3x2,2 cells")
    parser.add_argument("--budget", type=float, default=BUDGET_S, help="seconds for each check (default 120)")
    parser.add_argument("--out", default=None, help="also write the table to this file")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, mode, *rest = args.child
        shortest = mode == "shortest"
        if kind == "builtin":
            waves, size, handlers, budget, *policy = rest
            print(json.dumps(run_builtin(int(waves), int(size), int(handlers), float(budget), shortest, *policy)))
        else:
            path, budget, *pairs = rest
            print(json.dumps(run_spec(path, dict(p.split("=", 1) for p in pairs), float(budget), shortest)))
        return
    start_load = load_average()
    head = f"{'states':>9} {'s':>6} {'cpu s':>6} {'MB':>5} {'status':<12}"
    lines = [f"{'cell':<6} {'checker':<17} | {head} | verdicts (Fn = violated, n steps; ? = undecided) | agree"]
    print(lines[0], flush=True)
    names = PROPERTY_NAMES
    for waves, size, handlers in QUICK if args.quick else CELLS:
        cell = f"{waves}x{size},{handlers}"
        for mode in ("default", "shortest"):
            builtin = _child("builtin", mode, str(waves), str(size), str(handlers), str(args.budget))
            spec = _child("spec", mode, str(WRITEUP), str(args.budget), f"waves={waves}", f"wave_size={size}",
                          f"handlers={handlers}", "policy=guarded")
            agree = _agree(builtin, spec, lengths=mode == "shortest")
            suffix = "" if mode == "default" else " --shortest"
            lines.append(f"{cell:<6} {'built-in' + suffix:<17} | {_measures(builtin)} | {_verdicts(builtin, names)} |")
            lines.append(f"{cell:<6} {'spec' + suffix:<17} | {_measures(spec)} | {_verdicts(spec, names)} | {agree}")
            print("\n".join(lines[-2:]), flush=True)
    lines += ["", f"example specs at their default scope ({args.budget:g} s each):"]
    print(lines[-1], flush=True)
    examples = sorted(p for p in (ROOT / "examples").glob("*.py") if not p.name.startswith("writeup_"))  # aliases
    for path in examples:
        r = _child("spec", "default", str(path), str(args.budget))
        names_of = tuple(r.get("verdicts", {}))
        lines.append(f"{path.stem:<24} | {_measures(r)} | {_verdicts(r, names_of)}")
        print(lines[-1], flush=True)
    if not examples:
        lines.append("(none)")
        print(lines[-1], flush=True)
    finish_table(lines, [
        "built-in: model.checker.check, engine auto (compiled where a C compiler is found); spec: "
        "model.specmodel.check_spec on coordinator/writeup.py (policy=guarded), in Python. By default both use every "
        "reduction (partial-order reduction and random probes may lengthen a counterexample), and agree on "
        "verdicts; with --shortest both switch those two off, and agree on verdicts and lengths. s: the "
        "search's wall clock; cpu s: its process's CPU time (import included); MB: its peak resident memory.",
        machine_line(start_load)], args.out)


if __name__ == "__main__":
    main()
