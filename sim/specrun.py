"""``run_spec(spec, settings)``: one simulated run of a spec and everything measured about it.

A ``SpecRunResult`` is plain JSON values: ``to_json()`` is the contract of ``wavesim run SPEC --json``,
``rows_csv()`` the final committed rows (``--csv``). Each property has a verdict: an ``always`` one
``holds`` or is ``violated`` (with the simulated time of its first violation, judged after every step); an
``eventually`` one is ``reached`` at the end, ``stalled`` when the run went quiet (or stuck) without
reaching it, or ``undecided`` when the horizon or the event budget stopped the run first.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

from sim.specsettings import SpecSettings
from sim.specsim import SpecShell
from spec.lang import Spec
from spec.view import judge, measure

__all__ = ["BUILTIN_METRICS", "SpecRunResult", "run_spec", "summary_lines"]

#: the metrics every spec run reports, in order (a spec's own follow, under ``spec``)
BUILTIN_METRICS = ("makespan_s", "events", "statements", "peak_queue_depth", "lock_waits", "lock_wait_s",
                   "max_lock_wait_s", "deadlocks", "faults", "peak_queued")


def _t(value: float) -> float:
    """Simulated times are reported to the microsecond."""
    return round(value, 6)


@dataclass(frozen=True, slots=True, kw_only=True)
class SpecRunResult:
    """What one run of a spec measured."""

    spec: str
    settings: SpecSettings
    scope: dict[str, Any]
    outcome: str  # quiet, stuck, horizon or budget
    metrics: dict[str, Any]
    jobs: dict[str, dict[str, int]]
    properties: dict[str, dict[str, Any]]
    queues: tuple[str, ...]
    series: dict[str, Any]
    tables: dict[str, list[dict[str, Any]]]
    #: each table's primary key column, whose value names a row in ``rows_csv`` (not in the JSON)
    keys: dict[str, str] = field(default_factory=dict)
    open_runs: tuple[str, ...] = ()
    #: when each ``record(event, *key)`` happened: ``event -> [(t, key), ...]`` (not in the JSON)
    records: dict[str, list[tuple[float, tuple[Any, ...]]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec, "scope": self.scope, "settings": self.settings.to_dict(), "outcome": self.outcome,
                "metrics": self.metrics, "jobs": self.jobs, "properties": self.properties,
                "queue_depth": {"queues": list(self.queues), **self.series}}

    def to_json(self) -> str:
        """The JSON contract of ``wavesim run SPEC --json`` (same seed, same text)."""
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def rows_csv(self) -> str:
        """Every table's final committed rows, one line per value: ``table,key,column,value``, the key being
        the row's primary key."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["table", "key", "column", "value"])
        for table, rows in self.tables.items():
            for row in rows:
                for column, value in row.items():
                    writer.writerow([table, row[self.keys[table]], column, "" if value is None else value])
        return out.getvalue()

    def held(self) -> dict[str, bool | None]:
        """Per property: held (True), violated or stalled (False), undecided (None)."""
        return {name: v["holds"] for name, v in self.properties.items()}


def run_spec(spec: Spec, settings: SpecSettings) -> SpecRunResult:
    """Simulate ``spec`` once under ``settings`` (its seed included)."""
    shell = SpecShell(spec, settings)
    outcome = shell.run()
    rec, view, end = shell.recorder, shell.view, shell.ended_s
    properties: dict[str, dict[str, Any]] = {}
    for name, prop in spec.properties.items():
        if prop.kind == "always":
            found = rec.violations.get(name)
            properties[name] = {"kind": "always", "holds": found is None,
                                "verdict": "holds" if found is None else "violated",
                                "first_violation_s": None if found is None else _t(found[0]),
                                "detail": prop.doc if found is None else found[1]}
            continue
        missing = judge(prop, view)
        if missing is None:
            properties[name] = {"kind": "eventually", "holds": True, "verdict": "reached",
                                "first_violation_s": None, "detail": prop.doc}
        elif outcome in ("quiet", "stuck"):
            how = "every job ended" if outcome == "quiet" else "runs wait for locks nobody releases"
            properties[name] = {"kind": "eventually", "holds": False, "verdict": "stalled",
                                "first_violation_s": _t(end), "detail": f"{how}, and not reached: {missing}"}
        else:
            properties[name] = {"kind": "eventually", "holds": None, "verdict": "undecided",
                                "first_violation_s": None, "detail": f"the {outcome} stopped the run first"}
    waits = [b - a for a, b, _ in rec.waits]
    metrics: dict[str, Any] = {
        "makespan_s": _t(end), "events": shell.events, "statements": rec.statements,
        "peak_queue_depth": rec.peak, "lock_waits": len(waits), "lock_wait_s": _t(float(sum(waits))),
        "max_lock_wait_s": _t(max(waits, default=0.0)), "deadlocks": rec.deadlocks, "faults": dict(shell.spent),
        "peak_queued": {job: rec.peaks[job] for job in spec.jobs},
    }
    metrics["spec"] = {name: measure(m, view) for name, m in spec.metrics.items()}
    tables = {name: view.rows(name) for name in spec.schema.names}
    return SpecRunResult(spec=spec.name, settings=settings, scope=dict(shell.scope), outcome=outcome,
                         metrics=metrics, jobs=rec.jobs(list(spec.jobs)), properties=properties,
                         queues=shell.queue_names, series=rec.to_series(), tables=tables,
                         keys={t.name: t.columns[t.key].name for t in spec.schema.tables},
                         open_runs=tuple(shell.open_runs()), records=shell.world.times)


def summary_lines(result: SpecRunResult) -> list[str]:
    """A short human summary of one run."""
    m = result.metrics
    scope = ", ".join(f"{k}={v}" for k, v in result.scope.items()) or "(none)"
    lines = [f"spec {result.spec}; {scope}; seed {result.settings.seed}: {result.outcome} at {m['makespan_s']:.3f} s",
             f"  {m['events']} events, {m['statements']} statements, peak queue depth {m['peak_queue_depth']}, "
             f"{m['lock_waits']} lock waits ({m['lock_wait_s']:.3f} s), {m['deadlocks']} deadlocks",
             "jobs:"]
    width = max([26, *map(len, [*result.jobs, *m["spec"], *result.properties])])  # a spec's long names fit
    for job, ends in result.jobs.items():
        counted = ", ".join(f"{o} {n}" for o, n in ends.items() if n) or "none"
        lines.append(f"  {job:{width}s} {counted}")
    if result.open_runs:
        lines.append(f"  still running: {', '.join(result.open_runs)}")
    if m["spec"]:
        lines.append("metrics:")
        lines += [f"  {name:{width}s} {value}" for name, value in m["spec"].items()]
    lines.append("properties:")
    for name, v in result.properties.items():
        at = "" if v["first_violation_s"] is None else f" at {v['first_violation_s']:.3f} s"
        lines.append(f"  {name:{width}s} {v['verdict'].upper() if v['holds'] is False else v['verdict']}{at}: "
                     f"{v['detail']}")
    return lines
