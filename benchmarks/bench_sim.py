"""Benchmarks 1 and 2: the simulation harness against plain SimPy.

1. Harness overhead: SimPy events per second of the incident simulation against
   a bare SimPy loop (processes doing ``yield env.timeout(...)``) that processes
   the same number of events. Goal: at least 0.5 of the bare rate.
2. One incident import (37 x 50, ``seed-fix``) against the minimal hand-written
   SimPy model of the same import (``minimal_import.py``). Goal: at most 3x.
3. A spec run (``examples/batch_counter.py``, 400 jobs on 16 workers, each statement through the
   checker's engine) beside the incident's ``seed-fix`` run, both in SimPy events per second, measured
   in the same process one after the other. No goal: the spec run pays for the engine and the
   property checks after every step; the row says how much.
4. The same for the write-up's coordinator written as a spec (``coordinator/writeup.py``, ``seed-fix``, 8
   waves of 6 batches on 4 workers): its handlers' statements are many and varied, so planning them
   (``spec.plans``) and judging its properties weigh more than in 3.
"""

from __future__ import annotations

import random
import sys

import simpy

from benchmarks._output import Output, arguments, count_note
from benchmarks._timing import timed
from benchmarks.minimal_import import minimal_import
from sim.clock import SeededEnvironment
from sim.run import run_one
from sim.scenario import PRESETS
from sim.specsettings import SpecSettings
from sim.specsim import SpecShell
from spec.lang import Spec
from specfile.load import load_spec

REPS = 9  # repetitions of each measurement, unless given: ``python -m benchmarks.bench_sim 3 --out FILE``


def count_events(scenario) -> int:  # type: ignore[no-untyped-def]
    """How many events one run schedules (counted in a separate, untimed run)."""
    counted = [0]
    original = SeededEnvironment.schedule

    def counting(self, event, priority=1, delay=0):  # type: ignore[no-untyped-def]
        counted[0] += 1
        original(self, event, priority, delay)

    SeededEnvironment.schedule = counting  # type: ignore[method-assign]
    try:
        run_one(scenario)
    finally:
        SeededEnvironment.schedule = original  # type: ignore[method-assign]
    return counted[0]


def bare_loop(events: int, processes: int = 10) -> None:
    env = simpy.Environment()
    rng = random.Random(1)
    per = events // processes

    def proc():  # type: ignore[no-untyped-def]
        for _ in range(per):
            yield env.timeout(rng.random())

    for _ in range(processes):
        env.process(proc())
    env.run()


#: the spec run of benchmark 3
SPEC_FILE, SPEC_SCOPE = "examples/batch_counter.py", (("jobs", "400"), ("workers", "16"), ("fix", "returning"))
#: the spec run of benchmark 4
WRITEUP_FILE, WRITEUP_SCOPE = "coordinator/writeup.py", (
    ("waves", "8"), ("wave_size", "6"), ("workers", "4"), ("handlers", "2"), ("policy", "seed-fix"))


def spec_run(spec: Spec, seed: int, scope: tuple[tuple[str, str], ...] = SPEC_SCOPE) -> int:
    """One run of a spec (loaded once, outside the timing); the SimPy events it processed."""
    shell = SpecShell(spec, SpecSettings(seed=seed, scope=scope))
    shell.run()
    return shell.events


def main() -> None:
    args = arguments(__doc__, count=REPS, what="repetitions of each measurement")
    reps, out = args.count, Output()
    out.say(f"python {sys.version.split()[0]}, simpy {simpy.__version__}, {reps} repetitions each")
    rates = {}
    for policy in ("original", "seed-fix"):
        scenario = PRESETS["incident"].with_settings(policy=policy, seed=1)
        events = count_events(scenario)
        sim = timed(lambda rep, s=scenario: run_one(s), reps)
        bare = timed(lambda rep, n=events: bare_loop(n), reps)
        rate, bare_rate = events / sim.median, events / bare.median
        rates[policy] = rate
        out.say(f"[1] incident/{policy}: {events} events; harness {rate:,.0f} ev/s ({sim.spread()}); "
                f"bare SimPy {bare_rate:,.0f} ev/s ({bare.spread()}); ratio {rate / bare_rate:.2f} (goal >= 0.5)")
    scenario = PRESETS["incident"].with_settings(policy="seed-fix", preset="custom",
                                                 batch_distribution="exponential", batch_mean_s=1.0)
    ours = timed(lambda rep: run_one(scenario.with_settings(seed=max(rep, 0))), reps)
    minimal = timed(lambda rep: minimal_import(max(rep, 0)), reps)
    out.say(f"[2] one 37x50 import, seed-fix, exponential 1 s batches: wavesim {ours.spread()}; "
            f"minimal SimPy {minimal.spread()}; ratio {ours.median / minimal.median:.2f}x (goal <= 3x)")
    for row, path, scope in ((3, SPEC_FILE, SPEC_SCOPE), (4, WRITEUP_FILE, WRITEUP_SCOPE)):
        loaded = load_spec(path)
        events = spec_run(loaded, 1, scope)
        spec = timed(lambda rep, s=loaded, sc=scope: spec_run(s, 1, sc), reps)  # type: ignore[misc]
        rate = events / spec.median
        out.say(f"[{row}] spec {path} ({', '.join(f'{k}={v}' for k, v in scope)}): {events} events, "
                f"{rate:,.0f} ev/s ({spec.spread()}); built-in incident/seed-fix {rates['seed-fix']:,.0f} ev/s; "
                f"ratio {rate / rates['seed-fix']:.2f}")
    out.finish(args.out, count_note(args, "repetitions"))


if __name__ == "__main__":
    main()
