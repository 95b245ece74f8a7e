"""Every combination of readings, run under the code each piece of evidence is about.

``combinations(grid)`` is the product of the values of every reading switch
(``coordinator.policy.SWITCHES`` of kind 'reading'; ``grid`` may narrow any of
them). ``run_readings`` simulates each combination under ``original`` and
``guarded`` (the codes the observations are about) at the ``incident``
calibration, judges every observation, and for each combination that
reproduces all of them adds the verdicts on ``guarded`` and ``seed-fix``: from
the simulation (the same seeds) and from the checker (one small scope).

A policy reads only some switches (``original`` has no guard for
``completion_check`` to come after): two combinations that differ only there
are the same code, so each distinct (policy, switches, seed) is run once.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from coordinator import PROPERTY_NAMES, ConfigError, Policy
from coordinator.policy import SWITCHES, switch_value, with_given
from model.checker import check
from model.scope import Scope
from readings.evidence import EVIDENCE, MEASURES, Evidence, Item
from sim.run import run_one
from sim.scenario import PRESETS, Scenario

__all__ = ["READINGS", "UNSEEN", "Readings", "combinations", "run_readings"]

#: Readings no observation can tell apart, so the grid leaves them at their defaults:
#: ``failed_batch_fires`` acts only on a batch that failed for good, and the write-up's
#: history records no failure (the ``incident`` preset fails none).
UNSEEN = ("failed_batch_fires",)
#: The reading switches the grid varies, in table order.
READINGS = tuple(s.name for s in SWITCHES if s.kind == "reading" and s.name not in UNSEEN)
#: The checker's scope for the verdicts: the smallest with the threshold below the whole wave.
CHECK_SCOPE = Scope()
VERDICT_POLICIES = ("guarded", "seed-fix")
#: the simulated properties a verdict shows (share of runs in which each held)
VERDICT_PROPERTIES = ("single_active_wave", "no_duplicate_claim", "no_duplicate_push", "queue_bounded",
                      "import_completes")

Combo = tuple[tuple[str, object], ...]


def combinations(grid: Mapping[str, Sequence[object]] | None = None) -> list[Combo]:
    """Every combination of reading values (``grid`` narrows a reading to the values given)."""
    grid = grid or {}
    choices = []
    for s in SWITCHES:
        if s.name not in READINGS:
            continue
        values = grid.get(s.name, s.values)
        choices.append([(s.name, getattr(v := switch_value(s.name, x), "value", v)) for x in values])
    return [tuple(c) for c in itertools.product(*choices)]


def label(combo: Combo) -> str:
    """A combination as the ``--switch`` words that set it."""
    return " ".join(f"{n}={str(v).lower() if isinstance(v, bool) else v}" for n, v in combo)


def _policy(name: str, combo: Combo) -> Policy:
    from coordinator import policy_named

    return with_given(policy_named(name), dict(combo), lenient=True)


def _key(policy: Policy) -> tuple[tuple[str, object], ...]:
    return tuple(sorted(policy.switches().items(), key=lambda kv: kv[0]))


def measure_run(job: tuple[Scenario, tuple[str, ...]]) -> dict[str, Any]:
    """One run's numbers for the given items, and its property verdicts (a plain function for worker processes)."""
    scenario, items = job
    result = run_one(scenario)
    return {
        "values": {i: MEASURES[i](result) for i in items},
        "holds": {n: bool(result.properties[n]["holds"]) for n in PROPERTY_NAMES},
        "outcome": result.outcome,
        "stall_wave": result.metrics["stall_wave"],
    }


def check_policy(policy: Policy) -> dict[str, bool | None]:
    """The checker's verdict on each property at ``CHECK_SCOPE`` (None: search incomplete)."""
    search = check(CHECK_SCOPE, policy, properties=PROPERTY_NAMES, max_states=300_000,
                   time_limit=86_400.0)
    return {n: search.holds(n) for n in search.checked}


def _map(fn: Callable[[Any], Any], items: Iterable[Any], jobs: int) -> Iterator[Any]:
    items = list(items)
    if jobs <= 1 or len(items) <= 1:
        yield from map(fn, items)
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        yield from pool.map(fn, items, chunksize=8)


@dataclass(frozen=True, slots=True, kw_only=True)
class Readings:
    """The sensitivity table: combination x evidence item -> measured value, reproduced or not."""

    scenario: Scenario
    seeds: tuple[int, ...]
    combos: tuple[Combo, ...]
    items: tuple[Item, ...]
    #: combo index -> item id -> {"value", "reproduced"}
    cells: tuple[dict[str, dict[str, Any]], ...]
    #: combo index -> policy -> {"simulation": ..., "checker": ...}, only for combinations that fit
    verdicts: dict[int, dict[str, dict[str, Any]]]
    checked: bool

    def fits(self, index: int) -> bool:
        return all(c["reproduced"] for c in self.cells[index].values())

    def score(self, index: int) -> tuple[int, float]:
        """(observations reproduced, closeness to the write-up's numbers): higher is better."""
        cells = self.cells[index]
        hits = sum(1 for c in cells.values() if c["reproduced"])
        miss = 0.0
        for item in self.items:
            value = cells[item.id]["value"]
            if value is None:
                miss += 1.0
            elif not item.holds(value):
                span = max(item.high - item.low, 1e-9)
                miss += min(1.0, abs(value - (item.low if value < item.low else item.high)) / span)
        return hits, -miss

    def best(self) -> int:
        """The combination the evidence supports best (ties: the first in grid order, which lists each
        reading's plainest value first; see ``coordinator.policy._values``)."""
        return max(range(len(self.combos)), key=lambda i: (*self.score(i), -i))


def _judge(item: Item, values: list[float | None]) -> dict[str, Any]:
    import statistics

    known = [v for v in values if v is not None]
    if not known:
        return {"value": None, "reproduced": False}
    value = statistics.fmean(known) if item.unit == "share" else float(statistics.median(known))
    value = round(value, 3)
    return {"value": value, "reproduced": item.holds(value)}


def run_readings(
    *, grid: Mapping[str, Sequence[object]] | None = None, seeds: Sequence[int] = range(5),
    scenario: Scenario | None = None, jobs: int = 1, checker: bool = True, evidence: Evidence = EVIDENCE,
    progress: Callable[[int], None] | None = None,
) -> Readings:
    """Run the sensitivity table (see the module docstring)."""
    base = scenario if scenario is not None else PRESETS["incident"]
    combos = combinations(grid)
    items = evidence.observations()
    by_policy: dict[str, tuple[str, ...]] = {}
    for item in items:
        by_policy[item.policy] = (*by_policy.get(item.policy, ()), item.id)
    # distinct (policy switches, seed) runs
    wanted: dict[tuple[Any, int], tuple[Scenario, tuple[str, ...]]] = {}
    keys: list[dict[str, Any]] = []
    for combo in combos:
        row = {}
        for name, ids in by_policy.items():
            key = _key(_policy(name, combo))
            row[name] = key
            for seed in seeds:
                sc = base.with_settings(policy=name, seed=seed, switches=dict(combo))
                wanted.setdefault((key, seed), (_lenient(sc), ids))
        keys.append(row)
    order = list(wanted)
    results: dict[tuple[Any, int], dict[str, Any]] = {}
    for done, (k, out) in enumerate(zip(order, _map(measure_run, [wanted[k] for k in order], jobs), strict=True)):
        results[k] = out
        if progress is not None:
            progress(done + 1)
    cells = []
    for row in keys:
        cell = {}
        for item in items:
            runs = [results[(row[item.policy], s)] for s in seeds]
            cell[item.id] = _judge(item, [r["values"][item.id] for r in runs])
        cells.append(cell)
    partial = Readings(scenario=base, seeds=tuple(seeds), combos=tuple(combos), items=items, cells=tuple(cells),
                       verdicts={}, checked=checker)
    verdicts = {i: _verdicts(base, combos[i], seeds, jobs, checker, evidence)
                for i in range(len(combos)) if partial.fits(i)}
    return Readings(scenario=base, seeds=tuple(seeds), combos=tuple(combos), items=items, cells=tuple(cells),
                    verdicts=verdicts, checked=checker)


def _lenient(scenario: Scenario) -> Scenario:
    """The scenario with only the switches its policy reads (so that its JSON says what ran)."""
    return scenario.with_settings(switches={n: v for n, v in scenario.switches if _reads(scenario.policy, n, v)})


def _plain(name: str) -> Policy:
    from coordinator import policy_named

    return policy_named(name)


def _reads(policy: str, name: str, value: object) -> bool:
    try:
        with_given(_plain(policy), {name: value})
    except ConfigError:  # a switch the policy refuses is one it does not read
        return False
    return True


def _verdicts(base: Scenario, combo: Combo, seeds: Sequence[int], jobs: int, checker: bool,
              evidence: Evidence) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    promises = evidence.promises()
    for name in VERDICT_POLICIES:
        jobs_in = [(_lenient(base.with_settings(policy=name, seed=s, switches=dict(combo))),
                    tuple(p.id for p in promises)) for s in seeds]
        runs = list(_map(measure_run, jobs_in, jobs))
        sim = {p: round(sum(r["holds"][p] for r in runs) / len(runs), 3) for p in VERDICT_PROPERTIES}
        stalls = sorted({r["stall_wave"] for r in runs if r["outcome"] == "stalled"})
        kept = {p.id: _judge(p, [r["values"][p.id] for r in runs]) for p in promises}
        policy = _policy(name, combo)
        out[name] = {"simulation": sim, "stall_waves": stalls, "promises": kept,
                     "checker": check_policy(policy) if checker else None}
    return out
