"""The generated table of ``docs/benchmarks.md``: every figure, baseline and ratio read from the committed result
files the benchmarks write (``python -m benchmarks.NAME --out FILE``), never typed.

A result file is what its benchmark printed: the measurement lines, a blank line, then notes (fewer
repetitions than the default, say) and last the machine line (Python, cores, the load average at the start
and at the end, the date), as ``benchmarks/_output.py`` writes it. Each row of the table is read from one
line of a file by a pattern below; a line that no longer reads as its pattern, or a missing one, is a
``ResultFileError`` naming the file and the line, so ``wavesim docs`` stops with one line instead of writing a
table that quietly lost a figure. The goals are requirements, not measurements: they are written here, and
whether each is met is worked out from the figures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from docgen import DocError, project_root, register

__all__ = ["ALL_RESULTS", "MACHINE", "RESULTS", "Result", "ResultFileError", "benchmark_table", "read_result"]

#: each benchmark's result file, as ``run_all --out`` names them too (the docs read these)
RESULTS = {
    "bench_sim": "benchmarks/results/sim.txt",
    "bench_sweep": "benchmarks/results/sweep.txt",
    "bench_checker": "benchmarks/results/checker.txt",
    "bench_live": "benchmarks/results/live.txt",
    "bench_startup": "benchmarks/results/startup.txt",
}
#: the whole output of the last ``python -m benchmarks.run_all --out`` (the record of one run of them all)
ALL_RESULTS = "benchmarks/results/all.txt"

#: the last line of every result file (``benchmarks._output.machine_line``)
MACHINE = re.compile(r"Python (?P<python>\S+), (?P<cores>\d+) cores, (?P<arch>\S+); "
                     r"load average at the start (?P<start>[\d.]+, [\d.]+, [\d.]+), "
                     r"at the end (?P<end>[\d.]+, [\d.]+, [\d.]+) \(1, 5, 15 min\); "
                     r"(?P<date>\d{4}-\d\d-\d\d \d\d:\d\d UTC)")


class ResultFileError(DocError):
    """A committed result file that does not read as its benchmark writes it."""


@dataclass(frozen=True, slots=True)
class Result:
    """One committed result file: its measurement lines, and the notes and machine line after them."""

    path: str
    lines: tuple[str, ...]
    notes: tuple[str, ...]
    machine: str

    def row(self, prefix: str, pattern: str) -> dict[str, str]:
        """The fields of the line starting with ``prefix``, which must read as ``prefix + pattern``."""
        found = [(n, line) for n, line in enumerate(self.lines, 1) if line.startswith(prefix)]
        if not found:
            raise ResultFileError(f"{self.path}: no line starts with {prefix!r}; rerun its benchmark")
        number, line = found[0]
        match = re.fullmatch(re.escape(prefix) + pattern, line)
        if match is None:
            raise ResultFileError(f"{self.path}:{number}: the line starting with {prefix!r} no longer reads as "
                                  f"docgen.benchmarks expects; change both together")
        return match.groupdict()


def read_result(path: str) -> Result:
    """The committed result file ``path`` (relative to the project), split into its parts."""
    full = project_root() / path
    if not full.is_file():
        raise ResultFileError(f"{path} is missing: run python -m benchmarks.run_all --out {ALL_RESULTS}")
    text = full.read_text(encoding="utf-8").rstrip("\n")
    body, blank, footer = text.rpartition("\n\n")
    tail = footer.splitlines()
    if not blank or not tail or MACHINE.fullmatch(tail[-1]) is None:
        raise ResultFileError(f"{path}: its last line is not the machine line (Python, cores, load at the start "
                              "and at the end, date); rerun its benchmark")
    return Result(path=path, lines=tuple(body.splitlines()), notes=tuple(tail[:-1]), machine=tail[-1])


def _spread(name: str, unit: str) -> str:
    """A ``Timing.spread()`` (or ``bench_startup``'s) in ``unit``, its parts named ``name_median`` and so on."""
    return (rf"median (?P<{name}_median>[\d.]+) {unit} \(min (?P<{name}_min>[\d.]+) - "
            rf"max (?P<{name}_max>[\d.]+), n=(?P<{name}_n>\d+)\)")


def _shown(fields: dict[str, str], name: str, unit: str) -> str:
    """A spread as the table shows it; ``unit="ms as s"`` turns milliseconds into seconds (the live import)."""
    parts = [fields[f"{name}_{p}"] for p in ("median", "min", "max")]
    if unit == "ms as s":
        parts, unit = [f"{_number(p) / 1000:.1f}" for p in parts], "s"
    return f"{parts[0]} {unit} (median of {fields[name + '_n']}; {parts[1]}-{parts[2]})"


def _number(text: str) -> float:
    return float(text.replace(",", "").rstrip("x"))


def _verdict(met: bool) -> str:
    return "met" if met else "**missed**"


_RATE = r"[\d,]+"
_GOAL = r" \(goal [^)]*\)"
#: the goals: requirements of the issue, not measurements
OVERHEAD_GOAL = 0.5  # harness events/s at least this share of a bare SimPy loop's
IMPORT_GOAL = 3.0  # one import at most this many times the minimal model's time
SWEEP_GOAL = 1.8  # speed-up from 1 to 2 processes at least this
LIVE_GOAL_S = 60.0  # the live import takes seconds, not minutes
STARTUP_GOAL_S = 0.4  # wavesim --help and --version each start in less than this


def _sim_rows(sim: Result) -> tuple[list[str], list[str]]:
    """Rows 1 and 2, and row 8, all read from ``bench_sim``'s file."""
    policies = ("original", "seed-fix")
    one = {p: sim.row(f"[1] incident/{p}: ", rf"(?P<events>\d+) events; harness (?P<rate>{_RATE}) ev/s "
                      rf"\({_spread('sim', 'ms')}\); bare SimPy (?P<bare>{_RATE}) ev/s \({_spread('bare', 'ms')}\); "
                      rf"ratio (?P<ratio>[\d.]+){_GOAL}") for p in policies}
    two = sim.row("[2] one 37x50 import, seed-fix, exponential 1 s batches: ",
                  rf"wavesim {_spread('ours', 'ms')}; minimal SimPy {_spread('minimal', 'ms')}; "
                  rf"ratio (?P<ratio>[\d.]+)x{_GOAL}")
    spec_pattern = (rf"(?P<events>\d+) events, (?P<rate>{_RATE}) ev/s \({_spread('spec', 'ms')}\); "
                    rf"built-in incident/seed-fix (?P<builtin>{_RATE}) ev/s; ratio (?P<ratio>[\d.]+)")
    three = sim.row("[3] spec examples/batch_counter.py ", r"\([^)]*\): " + spec_pattern)
    four = sim.row("[4] spec coordinator/writeup.py ", r"\([^)]*\): " + spec_pattern)
    overhead_met = all(_number(one[p]["ratio"]) >= OVERHEAD_GOAL for p in policies)
    return [
        "| 1 | harness overhead: events/s of the incident simulation (`bench_sim`, row [1]) | "
        + ", ".join(f"{one[p]['rate']} ev/s (`{p}`, {one[p]['events']} events)" for p in policies)
        + " | a bare SimPy loop of the same number of events: "
        + " and ".join(f"{one[p]['bare']} ev/s" for p in policies)
        + f" | {' and '.join(one[p]['ratio'] for p in policies)} | >= {OVERHEAD_GOAL}: {_verdict(overhead_met)} |",
        f"| 2 | one 37 x 50 import, `seed-fix`, exponential 1 s batches (`bench_sim`, row [2]) | "
        f"{_shown(two, 'ours', 'ms')} | the minimal hand-written SimPy model of the same import "
        f"(`benchmarks/minimal_import.py`): {_shown(two, 'minimal', 'ms')} | {two['ratio']}x | "
        f"<= {IMPORT_GOAL:g}x: {_verdict(_number(two['ratio']) <= IMPORT_GOAL)} |",
    ], [
        "| 8 | a spec simulated: `examples/batch_counter.py` with 400 jobs on 16 workers, `fix=returning` "
        "(`bench_sim`, row [3]), and the write-up's coordinator as a spec, `coordinator/writeup.py` with "
        "`policy=seed-fix`, 8 waves of 6 batches on 4 workers (row [4]) | "
        f"{three['rate']} ev/s ({three['events']} events, {_shown(three, 'spec', 'ms')}); the write-up's spec "
        f"{four['rate']} ev/s ({four['events']} events, {_shown(four, 'spec', 'ms')}) | the incident's "
        f"`seed-fix` run of row 1, same process: {three['builtin']} ev/s | {three['ratio']} and {four['ratio']} | "
        "none: each event of a spec run is a statement the spec's own SQLAlchemy code builds, run through the "
        "checker's engine; a statement of a structure seen before, in this run or an earlier run of the spec in "
        "the process, is not planned again but has its values bound into the kept plan (`spec/plans.py`), its "
        "expressions run as closures made once (`spec/evaluation.py`), and an `always` property is judged again "
        "only when a part of the world it read has changed. What remains, largest first: the spec's own "
        "statement building in SQLAlchemy, the engine's step, SQLAlchemy's cache key, the properties' own code |",
    ]


def _sweep_row(sweep: Result) -> str:
    f = sweep.row("[3] sweep of ", r"(?P<runs>\d+) incident imports \(seed-fix\): 1 process (?P<one>[\d.]+) "
                  r"imports/s, 2 processes (?P<two>[\d.]+) imports/s; speed-up (?P<speedup>[\d.]+)x"
                  rf"{_GOAL}; identical rows: (?P<same>True|False)")
    same = "identical rows" if f["same"] == "True" else "rows DIFFER"
    met = _number(f["speedup"]) >= SWEEP_GOAL and f["same"] == "True"
    return (f"| 3 | sweep throughput, {f['runs']} incident imports (`bench_sweep`) | {f['one']} imports/s on 1 "
            f"process, {f['two']} on 2 | the same sweep on 1 process | {f['speedup']}x speed-up, {same} | "
            f">= {SWEEP_GOAL}x: {_verdict(met)} |")


def _live_row(live: Result) -> str:
    base = live.row("baseline: 8 processes sleeping 400 scaled batch durations: ", _spread("base", "ms"))
    run = live.row("live import 20 x 20, 8 workers, atomic, SQLite: ", _spread("live", "ms"))
    ratio = live.row("ratio live / baseline: ", r"(?P<ratio>[\d.]+)x; goal: .*")["ratio"]
    met = _number(run["live_median"]) / 1000 < LIVE_GOAL_S
    return ("| 5 | live: the scaled import, 20 waves x 20 batches, 8 workers, `atomic`, SQLite (`bench_live`) | "
            f"{_shown(run, 'live', 'ms as s')} | 8 processes that only sleep the same batches, same run: "
            f"{_shown(base, 'base', 'ms as s')} | {ratio}x | seconds, not minutes (under {LIVE_GOAL_S:g} s): "
            f"{_verdict(met)} |")


def _startup_row(startup: Result) -> str:
    names = ("wavesim --help", "wavesim --version", "baseline: import simpy, numpy, click")
    f = {name: startup.row(f"[6] {name}: ", _spread("t", "s")) for name in names}
    base = _number(f[names[2]]["t_median"])
    ratios = " and ".join(f"{_number(f[n]['t_median']) / base:.2f}x" for n in names[:2])
    met = all(_number(f[n]["t_median"]) < STARTUP_GOAL_S for n in names[:2])
    return ("| 6 | start-up: `wavesim --help` and `wavesim --version`, each a fresh interpreter (`bench_startup`) | "
            + " and ".join(_shown(f[n], "t", "s") for n in names[:2])
            + f" | `python -c \"import simpy, numpy, click\"`: {_shown(f[names[2]], 't', 's')} | {ratios} | "
            f"< {STARTUP_GOAL_S:g} s: {_verdict(met)} |")


#: the rows that point to tables of their own (no figure of theirs is in this table)
_CHECKER_ROW = (
    "| 4 | checker | states, seconds, peak memory and verdicts per policy x scope, beside the same cells with every "
    "reduction off (`python -m benchmarks.bench_checker --out benchmarks/results/checker.txt`, shown on "
    "[the checker page](checker.md#benchmark)) | the unreduced search, same run | see "
    "[the checker](checker.md#benchmark) | the 3x3x3 scope decided for every policy in 120 s and 4 GB, and 4x3x3 "
    "for `atomic` and one more in 10 minutes: see the committed table |")
_SPECS_ROW = (
    "| 7 | specs: the write-up's `guarded` policy written as a spec (`coordinator/writeup.py`; every policy: "
    "`python -m benchmarks.bench_onecore`), checked by the spec checker, and every other example spec at its "
    "default scope (`python -m benchmarks.bench_specs --out benchmarks/results/specs.txt`) | states, seconds, "
    "peak memory, verdicts and lengths per cell, with every reduction and with `--shortest` | the built-in "
    "checker on the same cells, same run | see [the committed table](your-coordinator.md#speed) | the same "
    "verdicts, and under `--shortest` the same lengths, as the built-in at 3x2,2 and 3x3,3; within 3x of its "
    "time at 3x2,2; 3x3,3 decided within 120 s and 4 GB: see the table |")


@register("benchmark-table")
def benchmark_table() -> str:
    """The benchmarks' table from the committed result files, then where each file came from and on what."""
    sources = {name: read_result(RESULTS[name]) for name in ("bench_sim", "bench_sweep", "bench_live",
                                                             "bench_startup")}
    first, eighth = _sim_rows(sources["bench_sim"])
    rows = [*first, _sweep_row(sources["bench_sweep"]), _CHECKER_ROW, _live_row(sources["bench_live"]),
            _startup_row(sources["bench_startup"]), _SPECS_ROW, *eighth]
    lines = ["| # | what | figure | baseline, same run | ratio | goal |", "|---|---|---|---|---|---|", *rows, "",
             "Each figure above is read from a committed result file; rerun a benchmark to measure your own:", ""]
    for name, result in sources.items():
        notes = "".join(f" {note}." for note in result.notes)
        lines.append(f"- `{result.path}`: `python -m benchmarks.{name} --out {result.path}`.{notes} "
                     f"Measured on {result.machine}.")
    return "\n".join(lines) + "\n"
