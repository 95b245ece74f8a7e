"""Benchmark of the exhaustive checker: each policy on a fixed table of scopes,
with every reduction on and, as the baseline measured in the same run, with
every reduction off.

Not a test. Run from the repository root:

    python -m benchmarks.bench_checker              # the whole table (long: mostly the budget-bound cells)
    python -m benchmarks.bench_checker --quick      # the two small scopes only
    python -m benchmarks.bench_checker --jobs 2     # two cells at a time (timings then share the cores)
    python -m benchmarks.bench_checker --out benchmarks/results/checker.txt   # also keep the table

Each cell runs in a fresh process, so its peak memory (the process's maximum
resident set) is its own. Cells: waves x batches per wave, handler runs; 2
workers, threshold 50 %, FIFO queue, no faults, every property. The
reduced runs get the issue's limits as budgets (120 s for the scopes up to
3x3,3 and 600 s for 4x3,3, 4 GB each); the unreduced runs get ``--plain-budget``
seconds (default 60) so that the benchmark finishes, and a cell stopped by its
budget is reported as such, with the properties it left undecided.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from benchmarks._output import finish_table as finish_table  # re-exported: bench_onecore imports it from here
from benchmarks._output import load_average, machine_line
from coordinator import POLICIES, PROPERTY_NAMES

#: (waves, batches per wave, handlers) of each row of the table.
CELLS = [(2, 2, 2), (3, 2, 2), (3, 3, 3), (4, 3, 3)]
QUICK = CELLS[:2]
#: The reduced runs' budgets: the issue's limits.
LIMIT_S = {(4, 3, 3): 600.0}
DEFAULT_LIMIT_S = 120.0
MEMORY_MB = 4096
#: the rows of each cell: every policy, and ``atomic`` again under ``--relay-lease outlasts-claimer``
#: (a lease no live claimer outlives: the model's over-approximate relay is what makes its space large)
ROWS = (*POLICIES, "atomic@outlasts-claimer")

_SHORT = {
    "single_active_wave": "single", "one_wave_below_threshold": "below", "threshold_respected": "thresh",
    "no_duplicate_claim": "claim2",
    "no_duplicate_push": "push2", "queue_bounded": "queue", "no_stall": "stall", "import_completes": "completes",
}


def run_cell(policy: str, waves: int, size: int, handlers: int, plain: bool, limit: float,
             engine: str = "auto") -> dict[str, Any]:
    """One check in this process (called in the child); its report as a dict."""
    from model.checker import REDUCTIONS, check
    from model.scope import Scope

    name, _, lease = policy.partition("@")
    search = check(
        Scope(waves=waves, wave_size=size, max_handlers=handlers, relay_lease=lease or "expired"), POLICIES[name],
        time_limit=limit, max_memory_mb=MEMORY_MB, use=() if plain else tuple(REDUCTIONS), engine=engine,
    )
    return {
        "engine": search.engine, "states": search.states, "seconds": search.seconds, "complete": search.complete,
        "decided": search.decided, "budget": search.budget,
        "verdicts": {n: search.holds(n) for n in PROPERTY_NAMES},
        "lengths": {n: len(f.labels) for n, f in search.found.items()},
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "cpu": sum(resource.getrusage(resource.RUSAGE_SELF)[:2]),
    }


def _child(policy: str, cell: tuple[int, int, int], plain: bool, limit: float, engine: str) -> dict[str, Any]:
    waves, size, handlers = cell
    args = [sys.executable, "-m", "benchmarks.bench_checker", "--cell", policy, str(waves), str(size), str(handlers),
            "plain" if plain else "reduced", str(limit), engine]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["exit code " + str(done.returncode)])[-1]}
    return dict(json.loads(done.stdout))


def _verdicts(result: dict[str, Any]) -> str:
    if "error" in result:
        return f"failed: {result['error']}"
    parts = []
    for name in PROPERTY_NAMES:
        holds = result["verdicts"][name]
        mark = "ok" if holds else "?" if holds is None else f"F{result['lengths'][name]}"
        parts.append(f"{_SHORT[name]} {mark}")
    return " ".join(parts)


def _status(result: dict[str, Any]) -> str:
    if "error" in result:
        return "error"
    if result["complete"]:
        return "complete"
    if result["decided"]:
        return "decided"
    return f"{result['budget']} budget"


def _line(result: dict[str, Any]) -> str:
    if "error" in result:
        return f"{'-':>10} {'-':>7} {'-':>7} {'-':>6} {'error':<14}"
    return (f"{result['states']:>10} {result['seconds']:>7.1f} {result['cpu']:>7.1f} {result['peak_mb']:>6.0f} "
            f"{_status(result):<14}")


def _pairs(jobs: list[Any], results: Any) -> Any:
    it = iter(zip(jobs, results, strict=True))
    for (job_a, res_a), (job_b, res_b) in zip(it, it, strict=True):
        yield job_a, res_a, job_b, res_b


def _row(policy: str, cell: tuple[int, int, int], reduced: dict[str, Any], plain: dict[str, Any]) -> str:
    name = f"{cell[0]}x{cell[1]},{cell[2]}"
    agree = ""
    if "error" not in reduced and "error" not in plain:
        clash = [n for n in PROPERTY_NAMES if None not in (reduced["verdicts"][n], plain["verdicts"][n])
                 and reduced["verdicts"][n] != plain["verdicts"][n]]
        agree = f"  DISAGREE on {', '.join(clash)}" if clash else ""
    return (f"{policy:<23} {name:<6} | reduced: {_line(reduced)} | unreduced: {_line(plain)} | "
            f"{_verdicts(reduced)}{agree}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the 2x2,2 and 3x2,2 scopes")
    parser.add_argument("--jobs", type=int, default=1, help="cells run at once (default 1: undisturbed timings)")
    parser.add_argument("--plain-budget", type=float, default=60.0,
                        help="seconds for each unreduced run (default 60)")
    parser.add_argument("--engine", default="auto", choices=("auto", "compiled", "python"),
                        help="the search engine of every cell (default auto: compiled where a C compiler is found)")
    parser.add_argument("--out", default=None, help="also write the table to this file (when it is complete)")
    parser.add_argument("--cell", nargs=7, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cell:
        policy, waves, size, handlers, mode, limit, engine = args.cell
        print(json.dumps(run_cell(policy, int(waves), int(size), int(handlers), mode == "plain", float(limit),
                                  engine)))
        return
    start_load = load_average()
    cells = QUICK if args.quick else CELLS
    jobs = [(p, c, plain) for c in cells for p in ROWS for plain in (False, True)]

    def one(job: tuple[str, tuple[int, int, int], bool]) -> dict[str, Any]:
        policy, cell, plain = job
        return _child(policy, cell, plain, args.plain_budget if plain else LIMIT_S.get(cell, DEFAULT_LIMIT_S),
                      args.engine)

    head = f"{'states':>10} {'s':>7} {'cpu s':>7} {'MB':>6} {'status':<14}"
    lines = [f"{'policy':<23} {'cell':<6} | reduced: {head} | unreduced: {head} | verdicts (reduced; Fn = violated, "
             "n steps; ? = undecided)"]
    print(lines[0], flush=True)
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = pool.map(one, jobs)  # in order: each row prints as soon as its two runs are done
        for (policy, cell, _), reduced, (_, _, _), plain in _pairs(jobs, results):
            lines.append(_row(policy, cell, reduced, plain))
            print(lines[-1], flush=True)
    finish_table(lines, ["s: wall clock of the search; cpu s: the cell process's CPU time (import included); both on "
                         "a shared machine. MB: each cell's peak resident memory (its own process).",
                         f"engine: {args.engine}", machine_line(start_load)], args.out)


if __name__ == "__main__":
    main()
