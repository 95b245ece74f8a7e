"""Many runs of a spec: several seeds under several switch variants (``wavesim compare SPEC``), and the
spec's fault matrix, each fault alone under each variant (``wavesim faults SPEC``).

A variant is a set of ``--switch`` choices on top of the run's settings; its label is ``name=choice, ...``
(``default`` when it changes none). Per variant and property: how many runs held, were violated (a
stalled goal included) or left it undecided, and the median time of the first violation; per metric, the
median and the range over the seeds.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sim.specrun import BUILTIN_METRICS, SpecRunResult, run_spec
from sim.specsettings import SpecSettings
from spec.lang import FAULTS, Spec

__all__ = ["SpecComparison", "SpecFaultMatrix", "compare_spec", "fault_matrix", "label", "variant_settings"]

Variant = tuple[tuple[str, str], ...]


def label(variant: Variant) -> str:
    return ", ".join(f"{k}={v}" for k, v in variant) or "default"


def variant_settings(settings: SpecSettings, variant: Variant) -> SpecSettings:
    """``settings`` with the variant's switch choices over any the scope already gives."""
    names = {k for k, _ in variant}
    return settings.but(scope=tuple((k, v) for k, v in settings.scope if k not in names) + variant)


def _numbers(results: Sequence[SpecRunResult]) -> dict[str, dict[str, float]]:
    """Median, min and max over the runs of each numeric metric (the built-in ones, then the spec's)."""
    columns: dict[str, list[float]] = {}
    for r in results:
        for name in BUILTIN_METRICS:
            if isinstance(r.metrics[name], int | float):
                columns.setdefault(name, []).append(r.metrics[name])
        for name, value in r.metrics["spec"].items():
            columns.setdefault(f"spec.{name}", []).append(value)
    return {k: {"median": statistics.median(v), "min": min(v), "max": max(v)} for k, v in columns.items()}


def _verdicts(results: Sequence[SpecRunResult]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name in results[0].properties:
        seen = [r.properties[name] for r in results]
        firsts = [v["first_violation_s"] for v in seen if v["first_violation_s"] is not None]
        out[name] = {"held": sum(v["holds"] is True for v in seen), "violated": sum(v["holds"] is False for v in seen),
                     "undecided": sum(v["holds"] is None for v in seen),
                     "median_first_violation_s": round(statistics.median(firsts), 6) if firsts else None}
    return out


def _share(v: dict[str, Any], runs: int) -> str:
    text = f"{v['held']}/{runs}"
    return text + (f" ({v['undecided']} undecided)" if v["undecided"] else "")


@dataclass(frozen=True, slots=True)
class SpecComparison:
    """Each variant's runs, one per seed."""

    spec: str
    seeds: tuple[int, ...]
    runs: dict[str, list[SpecRunResult]]

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec, "seeds": list(self.seeds), "variants": {
            name: {"runs": len(rs), "properties": _verdicts(rs), "metrics": _numbers(rs)}
            for name, rs in self.runs.items()}}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def table(self) -> str:
        """Variants side by side: runs each property held in, then each metric's median [min-max]."""
        names = list(self.runs)
        doc = self.to_dict()["variants"]
        lines = [f"spec {self.spec}: {len(self.seeds)} seeds ({self.seeds[0]}..{self.seeds[-1]}) per variant",
                 "| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        for prop in doc[names[0]]["properties"]:
            lines.append(f"| {prop} held | " + " | ".join(_share(doc[n]["properties"][prop], doc[n]["runs"])
                                                          for n in names) + " |")
        for metric in doc[names[0]]["metrics"]:
            cells = []
            for n in names:
                m = doc[n]["metrics"].get(metric)
                cells.append("" if m is None else _spread(m))
            lines.append(f"| {metric} | " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def held(self) -> dict[tuple[str, str], bool | None]:
        """Per (variant, property): held in every run, violated in one, or undecided in one (and never violated)."""
        out: dict[tuple[str, str], bool | None] = {}
        for name, rs in self.runs.items():
            for prop, v in _verdicts(rs).items():
                out[(name, prop)] = False if v["violated"] else None if v["undecided"] else True
        return out


def _number(x: float) -> str:
    """A figure as a column shows it: a whole number in full, another to three significant digits, never
    in exponent form (a median of 2070.5 beside a maximum of 2842 reads ``2070``, not ``2.07e+03``)."""
    if isinstance(x, int) or x == int(x):
        return str(int(x))
    places = max(0, 2 - math.floor(math.log10(abs(x))))
    return f"{x:.{places}f}"


def _spread(m: dict[str, float]) -> str:
    f = _number
    return f(m["median"]) if m["min"] == m["max"] else f"{f(m['median'])} [{f(m['min'])}-{f(m['max'])}]"


def compare_spec(spec: Spec, settings: SpecSettings, variants: Sequence[Variant], seeds: Iterable[int], *,
                 progress: Callable[[], None] = lambda: None) -> SpecComparison:
    """``run_spec`` for each variant and seed."""
    chosen = tuple(seeds)
    runs: dict[str, list[SpecRunResult]] = {}
    for variant in variants:
        base = variant_settings(settings, variant)
        runs[label(variant)] = []
        for seed in chosen:
            runs[label(variant)].append(run_spec(spec, base.but(seed=seed)))
            progress()
    return SpecComparison(spec.name, chosen, runs)


#: the matrix's rows: no fault, then each fault alone
CELLS = ("none", *FAULTS)


@dataclass(frozen=True, slots=True)
class SpecFaultMatrix:
    """Per variant and cell (``none`` or one fault alone), per property: runs held, violated, undecided."""

    spec: str
    runs: int
    cells: dict[str, dict[str, dict[str, dict[str, Any]]]]  # variant -> cell -> property -> verdict counts

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec, "runs_per_cell": self.runs, "variants": self.cells}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def table(self) -> str:
        lines = [f"spec {self.spec}: runs in which each property held, of {self.runs} per cell"]
        for variant, cells in self.cells.items():
            props = list(next(iter(cells.values())))
            lines += ["", f"variant {variant}", "| fault | " + " | ".join(props) + " |",
                      "|---|" + "---|" * len(props)]
            for cell, verdicts in cells.items():
                lines.append(f"| {cell} | " + " | ".join(_share(verdicts[p], self.runs) for p in props) + " |")
        return "\n".join(lines) + "\n"

    def held(self) -> dict[tuple[str, str], bool | None]:
        out: dict[tuple[str, str], bool | None] = {}
        for variant, cells in self.cells.items():
            for verdicts in cells.values():
                for prop, v in verdicts.items():
                    now = False if v["violated"] else None if v["undecided"] else True
                    before = out.get((variant, prop), True)
                    out[(variant, prop)] = False if False in (before, now) else None if None in (before, now) else True
        return out


def fault_settings(settings: SpecSettings, spec: Spec, cell: str) -> SpecSettings:
    """``settings`` with only ``cell``'s fault on: the spec's budget of it (at least one) and the given chance."""
    rates = dict(settings.fault_rates)
    if cell == "none":
        return settings.but(budgets=tuple((f, 0) for f in FAULTS), fault_rates=())
    budget = max(1, dict(settings.budgets).get(cell, spec.faults.get(cell, 0)))
    kept = tuple((cell, rates[cell]),) if cell in rates else ()
    return settings.but(budgets=tuple((f, budget if f == cell else 0) for f in FAULTS), fault_rates=kept)


def fault_matrix(spec: Spec, settings: SpecSettings, variants: Sequence[Variant], seeds: Iterable[int],
                 cells: Sequence[str] = CELLS, *, progress: Callable[[], None] = lambda: None) -> SpecFaultMatrix:
    """Each variant under each cell (no fault, or one fault alone), one run per seed."""
    chosen = tuple(seeds)
    out: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    for variant in variants:
        base = variant_settings(settings, variant)
        out[label(variant)] = {}
        for cell in cells:
            faulted = fault_settings(base, spec, cell)
            results = []
            for seed in chosen:
                results.append(run_spec(spec, faulted.but(seed=seed)))
                progress()
            out[label(variant)][cell] = _verdicts(results)
    return SpecFaultMatrix(spec.name, len(chosen), out)
