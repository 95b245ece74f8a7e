"""The write-up's live import through the built-in live worker and through its spec, at the same settings.

Not a test. Run from the repository root:

    python -m benchmarks.bench_live_spec                                # SQLite, every policy, seeds 0-2
    python -m benchmarks.bench_live_spec --out benchmarks/results/live_spec.txt       # keep it for docs/live.md
    python -m benchmarks.bench_live_spec --db postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        --out benchmarks/results/live_spec-postgresql.txt               # or mysql+pymysql://... (-mariadb.txt)
    python -m benchmarks.bench_live_spec --seeds 10 --waves 10 --wave-size 10 --workers 8     # bigger

Per policy and seed it runs one import with the built-in live worker (``wavesim live --policy NAME``:
``live/run.py``, measured by ``report/live.py``) and then the same import as a live run of
``coordinator/writeup.py`` (``live/specrun.py``), its scope and settings given by
``live.settingsspec.spec_run_for`` (which refuses, in one line, what the spec's run cannot honour: a sync
listener, more than one try, kills, dropped connections, the slow statement). Both run without faults, on
SQLite (a file in a temporary folder) unless ``--db`` names a server. Per policy it prints each property's
verdict seed by seed on both sides (H held, V violated) and in how many seeds they agree, the outcomes, the
jobs workers took per import, the wall time of each side, how often each side's supervisor read the
tables (an ``always`` verdict is judged on those readings), and the first violation of each violated
property on each side. The logs of every run stay in the folder printed last (the fault log of a built-in
run, the event log of a spec's run), to read what happened.

The default is small, to run in a few minutes on SQLite: 6 waves x 5 batches, 4 workers, threshold 80 %
(4 of 5 batches: the wave's tail still runs when the next one is dispatched, as in the write-up), 3 seeds.
A live run is a sample, not a proof: a property violated in one side's seed and held in the other's may
just not have been hit there. More seeds, waves and workers make the shares firmer.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks._output import Output
from coordinator import POLICIES
from dbdriver.specdb import SpecDatabase
from live import LiveSettings
from live.settingsspec import spec_run_for
from live.specrun import PREFIX, SpecLiveRun, run_spec_live
from specfile.load import load_spec
from wavesim.commands.live import ENGINES, iter_imports

SPEC_FILE = "coordinator/writeup.py"
OUT = "benchmarks/results/live_spec.txt"


@dataclass(slots=True)
class Side:
    """One side's runs of one policy, seed by seed."""

    held: dict[str, list[bool]] = field(default_factory=dict)
    first: dict[str, str] = field(default_factory=dict)  # property -> its first violation seen
    outcomes: Counter[str] = field(default_factory=Counter)
    taken: Counter[str] = field(default_factory=Counter)
    wall: list[float] = field(default_factory=list)
    rate: list[float] = field(default_factory=list)  # samples per wall second: what a sampled verdict can miss

    def add(self, seed: int, outcome: str, wall_s: float, samples: int, taken: Counter[str],
            verdicts: dict[str, tuple[bool, str]]) -> None:
        self.outcomes[outcome] += 1
        self.wall.append(wall_s)
        self.rate.append(samples / wall_s)
        self.taken.update(taken)
        for name, (holds, detail) in verdicts.items():
            self.held.setdefault(name, []).append(holds)
            if not holds:
                self.first.setdefault(name, f"seed {seed}: {detail}")


def settings_of(args: argparse.Namespace, policy: str, seed: int) -> LiveSettings:
    return LiveSettings(policy=policy, seed=seed, waves=args.waves, wave_size=args.wave_size,
                        threshold=args.threshold, workers=args.workers, listener="queued", tries=1,
                        deadline_s=args.deadline_s)


def builtin_run(args: argparse.Namespace, settings: LiveSettings, names: list[str], folder: str) -> tuple[
        str, float, int, Counter[str], dict[str, tuple[bool, str]]]:
    [(run, result)] = list(iter_imports(args.db, [settings.policy], settings, queue_url=args.queue,
                                        isolation=args.isolation, workdir=folder))
    props = result.properties
    verdicts = {n: (bool(props[n]["holds"]), f"at {props[n]['first_violation_s']} s: {props[n]['detail']}")
                for n in names}
    return run.outcome, run.wall_s, len(run.samples), run.deliveries, verdicts


def spec_run(args: argparse.Namespace, spec: Any, settings: LiveSettings, engine: str, folder: str) -> SpecLiveRun:
    mapped = spec_run_for(settings)
    db = SpecDatabase(args.db, spec.metadata, PREFIX)
    try:
        return run_spec_live(spec, mapped.given, mapped.settings, db_url=args.db, engine=engine,
                             queue_url=args.queue, isolation=args.isolation, workdir=folder,
                             queue_of=mapped.queue_of, durations=mapped.durations)
    finally:
        db.drop()
        db.dispose()


def _pattern(held: list[bool]) -> str:
    return "".join("H" if h else "V" for h in held)


def _taken(taken: Counter[str], n: int) -> str:
    return ", ".join(f"{job} {count / n:.1f}" for job, count in sorted(taken.items())) or "none"


def _wall(wall: list[float]) -> str:
    return f"median {statistics.median(wall):.1f}, max {max(wall):.1f}"


def policy_lines(policy: str, names: list[str], builtin: Side, spec: Side, n: int) -> tuple[list[str], int]:
    """The block of one policy, and how many of its properties agree in every seed."""
    lines = [f"{policy} ({n} seed{'s' if n > 1 else ''})",
             f"  {'property':26s} {'built-in':>9s} {'spec':>9s}  agree"]
    every = 0
    for name in names:
        b, s = builtin.held[name], spec.held[name]
        same = sum(x == y for x, y in zip(b, s, strict=True))
        every += same == n
        note = "every seed" if same == n else f"{same}/{n} seeds (held in {sum(b)}/{n} | {sum(s)}/{n})"
        lines.append(f"  {name:26s} {_pattern(b):>9s} {_pattern(s):>9s}  {note}")
    outcomes = [", ".join(f"{k} {v}" for k, v in sorted(side.outcomes.items())) for side in (builtin, spec)]
    lines += [f"  outcome: built-in {outcomes[0]} | spec {outcomes[1]}",
              f"  jobs taken per import: built-in {_taken(builtin.taken, n)} | spec {_taken(spec.taken, n)}",
              f"  wall s per import: built-in {_wall(builtin.wall)} | spec {_wall(spec.wall)}",
              f"  samples per wall s: built-in median {statistics.median(builtin.rate):.0f} | spec median "
              f"{statistics.median(spec.rate):.0f}"]
    for side, label in ((builtin, "built-in"), (spec, "spec")):
        for name in names:
            if name in side.first:
                lines.append(f"  first {name} violation, {label}: {side.first[name]}")
    return lines, every


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", default=None, help="database URL (default: SQLite in a temporary folder)")
    parser.add_argument("--queue", default=None, help="redis://... (default: the database queue)")
    parser.add_argument("--isolation", default=None, help="isolation level of both sides (default: the driver's)")
    parser.add_argument("--policies", nargs="*", default=list(POLICIES), help="policies (default: all)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per policy, from 0 (default 3)")
    parser.add_argument("--waves", type=int, default=6, help="waves (default 6)")
    parser.add_argument("--wave-size", type=int, default=5, help="batches per wave (default 5)")
    parser.add_argument("--threshold", type=int, default=80, help="completion threshold, percent (default 80)")
    parser.add_argument("--workers", type=int, default=4, help="worker processes (default 4)")
    parser.add_argument("--deadline-s", type=float, default=60.0, help="deadline of one run, wall s (default 60)")
    parser.add_argument("--out", default=None, help=f"also write the whole output here (e.g. {OUT})")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="wavesim-bench-live-spec-")
    args.db = args.db or f"sqlite:///{Path(folder) / 'live_spec.db'}"
    spec = load_spec(SPEC_FILE)
    names = list(spec.properties)
    engine = ENGINES[args.db.split(":", 1)[0].split("+", 1)[0]]
    first = settings_of(args, args.policies[0], 0)
    mapped = spec_run_for(first)
    scope = " ".join(f"{k}={v}" for k, v in mapped.given.items() if k != "policy")
    out = Output()
    out.say(f"The write-up's live import, built-in live worker | {SPEC_FILE} through a spec's live run")
    queue = "Redis" if args.queue else "database"
    out.say(f"{engine} ({queue} queue, isolation {args.isolation or 'driver default'}); "
            f"{first.waves} waves x {first.wave_size} batches, threshold {first.threshold} %, {first.workers} "
            f"workers, listener queued, tries 1, batch mean {first.batch_mean_s:g} s, scale {first.scale:g}, "
            f"no faults; seeds 0-{args.seeds - 1}")
    out.say(f"spec's run: scope {scope}; queue_of "
            + " ".join(f"{k}={v}" for k, v in mapped.queue_of.items()) + "; durations "
            + " ".join(f"{k}={v:g}" for k, v in mapped.durations.items()) + f"; step_s {mapped.settings.step_s:g}")
    out.say("verdicts seed by seed: H held, V violated")
    agree = total = 0
    for policy in args.policies:
        builtin, other = Side(), Side()
        for seed in range(args.seeds):
            settings = settings_of(args, policy, seed)
            builtin.add(seed, *builtin_run(args, settings, names, folder))
            run = spec_run(args, spec, settings, engine, folder)
            other.add(seed, run.outcome, run.wall_s, run.samples, run.deliveries,
                      {n: (v.holds, f"at {v.at_s} s: {v.detail}" if v.at_s is not None else v.detail)
                       for n, v in run.verdicts.items()})
            print(".", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        lines, every = policy_lines(policy, names, builtin, other, args.seeds)
        out.say("")
        for line in lines:
            out.say(line)
        agree, total = agree + every, total + len(names)
    out.say("")
    out.say(f"verdicts the same in every seed: {agree}/{total} (policy, property) pairs")
    print(f"logs of every run: {folder}", file=sys.stderr)
    out.finish(args.out)


if __name__ == "__main__":
    main()
