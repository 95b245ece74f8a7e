"""The built-in run and the write-up's spec run on the same scenario and seeds, figure by figure.

``compare_via_spec(scenario, policies, seeds)`` runs each seed twice: the built-in simulation
(``sim.run.run_one``) and the write-up's spec (``coordinator/writeup.py``) under ``spec_settings_for``'s
settings. For each figure both report (``FIGURES``), it keeps both values per seed, counts the seeds in which
they are equal, and names why a figure moved (``MOVED``): a figure that differs in any seed is ``moved``,
never ``same`` by a tolerance. Per property it compares the verdicts seed by seed: a policy's verdicts agree
when each side's property is violated in the same seeds.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from coordinator import PROPERTY_NAMES
from sim.run import RunResult, run_one
from sim.scenario import Scenario
from sim.scenariospec import spec_settings_for
from sim.specrun import SpecRunResult, run_spec
from spec.lang import Spec

__all__ = ["FIGURES", "MOVED", "ViaSpec", "builtin_figures", "compare_via_spec", "spec_figures"]

#: why a figure can move between the two runs, by mechanism
MOVED: dict[str, str] = {
    "ties": "same-instant events run in an order drawn per scheduled event, and the spec run schedules other "
            "events (a zero-length job's wait, a worker's wake-up): from the first same-instant pair on, the "
            "runs order events differently, and each later draw (a duration, a latency) falls to another job",
    "start": "the spec starts where the model starts, wave 1 dispatched at 0 s; the built-in first runs the "
             "import's own handler run (its statements and the push of wave 1's jobs)",
    "end": "the spec run ends when every job has ended (the listener runs queued behind the last wave "
           "included); the built-in when the last wave was completed and no write was in flight",
    "handoff": "a job pushed while a worker idles: the built-in hands it to the worker unqueued, the spec "
               "queues it and the worker takes it at the same instant",
}

#: the figures both runs report, and which mechanisms may move each
FIGURES: dict[str, tuple[str, ...]] = {
    "outcome": ("ties",),
    "waves_completed": ("ties",),
    "waves_dispatched": ("ties",),
    "dispatch_events": ("ties",),
    "extra_dispatches": ("ties",),
    "waves_dispatched_more_than_once": ("ties",),
    "max_waves_first_dispatched_in_1s": ("ties", "start"),
    "max_dispatch_events_in_1s": ("ties", "start"),
    "peak_queued_batches": ("ties", "handoff"),
    "makespan_s": ("ties", "start", "end"),
    **{f"first_violation_s.{name}": ("ties", "start") for name in PROPERTY_NAMES},
}


def builtin_figures(run: RunResult) -> dict[str, Any]:
    """``FIGURES`` of one built-in run."""
    m = run.metrics
    out = {k: m[k] for k in FIGURES if k in m}
    out["peak_queued_batches"] = m["peak_queue_depth"]
    for name in PROPERTY_NAMES:
        out[f"first_violation_s.{name}"] = run.properties[name]["first_violation_s"]
    return out


def spec_figures(run: SpecRunResult) -> dict[str, Any]:
    """``FIGURES`` of one run of the write-up's spec: dispatches are its ``pushed`` records, and wave 1's
    dispatch by the import at 0 s (the spec's first state)."""
    pushes = [(0.0, 1), *((t, int(key[0])) for t, key in run.records.get("pushed", ()))]
    per_wave: dict[int, list[float]] = {}
    for t, wave in pushes:
        per_wave.setdefault(wave, []).append(t)
    rows = run.tables["wave_coordination"]
    completed = sum(1 for r in rows if r["status"] == "completed")
    outcome = run.outcome if run.outcome in ("horizon", "budget") else \
        "completed" if completed == len(rows) else "stalled"
    declared = run.metrics["spec"]  # coordinator/writeup.py's own metrics, from the same records
    out: dict[str, Any] = {
        "outcome": outcome, "waves_completed": completed, "waves_dispatched": len(per_wave),
        "dispatch_events": len(pushes),
        **{name: declared[name] for name in ("extra_dispatches", "waves_dispatched_more_than_once",
                                             "max_waves_first_dispatched_in_1s", "max_dispatch_events_in_1s")},
        "peak_queued_batches": run.metrics["peak_queued"]["batch"], "makespan_s": run.metrics["makespan_s"],
    }
    for name in PROPERTY_NAMES:
        out[f"first_violation_s.{name}"] = run.properties[name]["first_violation_s"]
    return out


def _spread(values: Sequence[Any]) -> dict[str, Any]:
    """Median, min and max of the numbers, and how many seeds had none (a property that held); else the
    distinct values (an outcome)."""
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if any(v is not None and not isinstance(v, int | float) for v in values) or not numbers:
        return {"values": sorted({"-" if v is None else str(v) for v in values})}
    return {"median": round(float(statistics.median(numbers)), 6), "min": min(numbers), "max": max(numbers),
            "none": len(values) - len(numbers), "runs": len(numbers)}


@dataclass(frozen=True, slots=True)
class ViaSpec:
    """Per policy and seed, both runs' figures and verdicts."""

    scenario: Scenario
    seeds: tuple[int, ...]
    builtin: dict[str, list[dict[str, Any]]]  # policy -> per seed: figures, and "holds" per property
    spec: dict[str, list[dict[str, Any]]]

    def figure_rows(self, policy: str) -> list[dict[str, Any]]:
        """Per figure: both sides' spread, the seeds in which they are equal, same or moved and why."""
        rows = []
        for name, why in FIGURES.items():
            b = [r[name] for r in self.builtin[policy]]
            s = [r[name] for r in self.spec[policy]]
            same = sum(x == y for x, y in zip(b, s, strict=True))
            rows.append({"figure": name, "builtin": _spread(b), "spec": _spread(s), "same_seeds": same,
                         "status": "same" if same == len(b) else "moved",
                         "why": [] if same == len(b) else list(why)})
        return rows

    def verdicts(self, policy: str) -> dict[str, dict[str, Any]]:
        """Per property: the runs it was violated in, on each side, and whether the seeds agree."""
        out = {}
        for name in PROPERTY_NAMES:
            b = [r["holds"][name] for r in self.builtin[policy]]
            s = [r["holds"][name] for r in self.spec[policy]]
            out[name] = {"builtin_violated": sum(v is False for v in b), "spec_violated": sum(v is False for v in s),
                         "seeds_agree": sum(x == y for x, y in zip(b, s, strict=True)),
                         "verdict_agrees": any(v is False for v in b) == any(v is False for v in s)}
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario.to_dict(), "seeds": list(self.seeds),
                "policies": {p: {"figures": self.figure_rows(p), "verdicts": self.verdicts(p),
                                 "per_seed": {"builtin": self.builtin[p], "spec": self.spec[p]}}
                             for p in self.builtin}}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"


def _figures_and_verdicts(figures: dict[str, Any], properties: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {**figures, "holds": {name: properties[name]["holds"] for name in PROPERTY_NAMES}}


def compare_via_spec(spec: Spec, scenario: Scenario, policies: Sequence[str], seeds: Sequence[int],
                     progress: Callable[[], None] = lambda: None) -> ViaSpec:
    """Both runs of ``scenario`` for each policy and seed (``spec``: the write-up's, ``coordinator.writeup``)."""
    builtin: dict[str, list[dict[str, Any]]] = {}
    through: dict[str, list[dict[str, Any]]] = {}
    for policy in policies:
        builtin[policy], through[policy] = [], []
        for seed in seeds:
            chosen = scenario.with_settings(policy=policy, seed=seed)
            settings = spec_settings_for(chosen)  # refuses first, before any run
            one = run_one(chosen)
            builtin[policy].append(_figures_and_verdicts(builtin_figures(one), one.properties))
            other = run_spec(spec, settings)
            through[policy].append(_figures_and_verdicts(spec_figures(other), other.properties))
            progress()
    return ViaSpec(scenario, tuple(seeds), builtin, through)


def _cell(spread: dict[str, Any]) -> str:
    if "values" in spread:
        return "/".join(spread["values"])
    def f(x: float) -> str:
        return f"{x:g}" if float(x).is_integer() else f"{x:.3f}"
    same = spread["min"] == spread["max"]
    text = f(spread["median"]) if same else f"{f(spread['median'])} [{f(spread['min'])}-{f(spread['max'])}]"
    return text + (f" in {spread['runs']} runs" if spread["none"] else "")


def via_spec_table(doc: dict[str, Any]) -> str:
    """``ViaSpec.to_dict()`` as Markdown: per policy, each figure's median [min-max] on both sides, the seeds in
    which they are equal and why a moved one moved; then each property's verdicts; then the reasons."""
    seeds = doc["seeds"]
    lines = [f"{doc['scenario']['preset']}: {len(seeds)} seeds ({seeds[0]}..{seeds[-1]}) per policy, built-in "
             "run and write-up spec run on the same seed"]
    for policy, part in doc["policies"].items():
        lines += ["", f"`{policy}`", "", "| figure | built-in | spec | same in seeds | moved because |",
                  "|---|---|---|---|---|"]
        for r in part["figures"]:
            lines.append(f"| {r['figure']} | {_cell(r['builtin'])} | {_cell(r['spec'])} | "
                         f"{r['same_seeds']}/{len(seeds)} | {', '.join(r['why']) or '-'} |")
        lines += ["", "| property | violated (built-in) | violated (spec) | same verdict in seeds | verdict agrees |",
                  "|---|---|---|---|---|"]
        for name, v in part["verdicts"].items():
            lines.append(f"| {name} | {v['builtin_violated']}/{len(seeds)} | {v['spec_violated']}/{len(seeds)} | "
                         f"{v['seeds_agree']}/{len(seeds)} | {'yes' if v['verdict_agrees'] else 'NO'} |")
    lines += ["", "| moved because | mechanism |", "|---|---|"]
    lines += [f"| {key} | {text} |" for key, text in MOVED.items()]
    return "\n".join(lines) + "\n"
