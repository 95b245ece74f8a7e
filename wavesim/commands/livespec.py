"""``wavesim live SPEC --db URL``: a user's spec run live, judged on the real rows (``live/specrun.py``).

The command parses what a spec run takes (``--scope``, ``--switch`` for the spec's own switches,
``--workers``, ``--isolation``, ``--step-s``, the faults that apply to a spec, ``--repeat``, ``--seed``,
``--json``), refuses the options of the write-up's coordinator with one line, runs each repeat with
``run_spec_live``, prints its verdicts, drops the spec's tables (unless ``--keep-tables``) and exits by
the contract: 0 every property held in every run, 1 one was violated (or a goal not reached), 2 bad input.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import click

from dbdriver import DatabaseError
from dbdriver.specdb import SpecDatabase
from dbdriver.specsessions import BEGIN
from live import FAULT_MIX, LiveSettings, TableClash
from live.specrun import PREFIX, SpecLiveRun, run_spec_live
from spec.errors import Unsupported
from spec.lease import on_a_clock
from specfile.load import load_spec, pairs, policies_of
from userio.errors import BadInput
from userio.exitcodes import Expected, finish
from wavesim.dboption import check_redis_url

__all__ = ["NOT_FOR_SPEC", "SPEC_FAULTS", "SPEC_SETTINGS", "live_spec", "run_json", "run_lines"]

#: options of ``wavesim live`` that only the write-up's coordinator reads: refused with a spec
NOT_FOR_SPEC = ("waves", "wave_size", "threshold", "listener", "batch_mean_s", "tries", "lock_rate",
                "lock_hold_s", "plot", "csv_path", "summarize_paths", "clean")
#: the live faults a spec's run injects (a slow statement needs the write-up's wave rows)
SPEC_FAULTS = ("kill_rate", "drop_rate", "lose_delayed_rate", "duplicate_rate")
#: the settings a spec's run reads (the JSON shows these; the rest are the write-up's import's)
SPEC_SETTINGS = ("seed", "scale", "step_s", "retry_after_s", "auto_trigger_delay_s", "deadline_s", "sample_ms",
                 "stall_after_s", "stall_min_wall_s", "chaos_period_s", *SPEC_FAULTS, "kill_at", "kill_at_times")


def _refuse_builtin(o: dict[str, Any]) -> None:
    for name in NOT_FOR_SPEC:
        if o.get(name) not in (None, (), False):
            flag = {"policies": "policy", "csv_path": "csv", "summarize_paths": "summarize"}.get(name, name)
            raise BadInput(f"--{flag.replace('_', '-')} is for the write-up's coordinator; a spec sets its sizes "
                           "with --scope NAME=VALUE and its choices with --switch NAME=VALUE")


def _settings(o: dict[str, Any], seed: int) -> LiveSettings:
    values: dict[str, Any] = {k: FAULT_MIX[k] for k in SPEC_FAULTS} if o["fault_mix"] else {}
    values.update({k: v for k, v in o["given"].items() if v is not None})
    try:
        return LiveSettings(seed=seed, **values)
    except Exception as err:  # ConfigError: one line
        raise BadInput(str(err)) from None


def _check_level(dialect: str, level: str | None) -> None:
    if level is not None and level not in BEGIN[dialect]:
        offered = ", ".join(repr(k) for k in BEGIN[dialect] if k is not None)
        raise BadInput(f"--isolation {level!r}: a spec's run on {dialect} begins its transactions at {offered}")


def live_spec(o: dict[str, Any], expected: Expected) -> None:
    """The ``live`` command given a spec file (``o``: the command's options)."""
    _refuse_builtin(o)
    spec = load_spec(o["spec"])
    given = pairs(o["scope"], "--scope")
    given.update(pairs(o["switch_specs"], "--switch"))
    chosen = policies_of(spec, o.get("policies") or ())  # --policy NAME: the spec's 'policy' switch
    if chosen:
        if len(chosen) > 1 or given.get("policy", chosen[0]) != chosen[0]:
            raise BadInput("a spec's live run takes one policy: run the command once per policy")
        given["policy"] = chosen[0]
    try:
        scope = spec.scope_of(given)
        spec.workers(scope)
        on_a_clock(spec.leases, scope, "a live run")
    except Unsupported as refused:
        raise BadInput(f"spec {o['spec']}: {refused}") from None
    expected.require(((spec.name, p) for p in spec.properties), why=f" (spec {spec.name} has "
                     f"{', '.join(spec.properties)})")
    workers = o["given"].pop("workers", None)  # per queue, not a LiveSettings field for a spec
    level = o["isolation"].upper().replace("-", " ").replace("_", " ") if o["isolation"] else None
    runs: list[SpecLiveRun] = []
    try:
        db = SpecDatabase(o["db_url"], spec.metadata, PREFIX)
        _check_level(db.dialect, level)
        if o["queue_url"] is not None:
            check_redis_url(o["queue_url"])
        engine = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "mysql": "MariaDB/MySQL"}[db.dialect]
        try:
            for k in range(o["repeat"]):
                run = run_spec_live(spec, given, _settings(o, o["seed"] + k), db_url=o["db_url"], engine=engine,
                                    queue_url=o["queue_url"], isolation=level, workers=workers)
                runs.append(run)
                click.echo(json.dumps(run_json(run), default=str) if o["as_json"] else "\n".join(run_lines(run)))
        finally:
            if not o["keep_tables"]:
                db.drop()
            db.dispose()
    except (DatabaseError, TableClash) as err:
        raise BadInput(str(err)) from None
    finish({(spec.name, n): all(r.verdicts[n].holds for r in runs) for n in spec.properties}, expected)


def _faults(run: SpecLiveRun) -> dict[str, int]:
    return dict(Counter(f["kind"] for f in run.faults))


def run_lines(run: SpecLiveRun) -> list[str]:
    """One run as text: the run, each property's verdict, what the workers did."""
    s = run.plan.run.live
    scope = run.spec.scope_of(run.plan.given)
    queues = ", ".join(f"{q} x{n}" for q, n in run.plan.workers.items())
    lines = [f"spec {run.spec.name} ({scope}) on {run.engine}, {run.queue} queue, isolation "
             f"{run.plan.run.isolation or 'driver default'}, seed {s.seed}, workers {queues}: {run.outcome} "
             f"after {run.wall_s:.1f} s wall, {run.samples} samples"]
    for name, v in run.verdicts.items():
        if v.holds:
            seen = "holds" if v.kind == "always" else "reached"
        elif v.kind == "always":
            seen = f"VIOLATED at {v.at_s:g} s: {v.detail}" if v.at_s is not None else f"VIOLATED: {v.detail}"
        else:
            seen = f"NOT REACHED: {v.detail}"
        lines.append(f"  {name:28s} {v.kind:10s} {seen}")
    taken = ", ".join(f"{j} x{n}" for j, n in sorted(run.deliveries.items())) or "none"
    faults = ", ".join(f"{k} x{n}" for k, n in sorted(_faults(run).items())) or "none"
    lines.append(f"live: jobs taken {taken} (redelivered {run.redelivered}); faults {faults}; processes started "
                 f"{run.processes}; event log {run.plan.events_log}, fault log {run.plan.run.fault_log}")
    raised = [e for e in run.events if e["kind"] == "raise"]
    if raised:
        lines.append(f"live: jobs raised {len(raised)} time(s), the first: {raised[0]['job']}: {raised[0]['error']}")
    if run.errors:
        lines.append(f"live: the processes wrote {len(run.errors)} line(s) to stderr ({run.stderr_log}), the first "
                     f"error: {run.first_error}")
    return lines


def run_json(run: SpecLiveRun) -> dict[str, Any]:
    """One run as one JSON document."""
    return {
        "spec": run.spec.name,
        "scope": dict(run.spec.scope_of(run.plan.given)),
        "outcome": run.outcome,
        "properties": {n: {"kind": v.kind, "holds": v.holds, "detail": v.detail, "at_s": v.at_s}
                       for n, v in run.verdicts.items()},
        "rows": run.rows,
        "settings": {k: run.plan.run.settings[k] for k in SPEC_SETTINGS},
        "live": {"engine": run.engine, "queue": run.queue, "isolation": run.plan.run.isolation,
                 "workers": run.plan.workers, "wall_s": round(run.wall_s, 3), "samples": run.samples,
                 "deliveries": dict(run.deliveries), "redelivered": run.redelivered, "faults": _faults(run),
                 "raised": [{"job": e["job"], "error": e["error"]} for e in run.events if e["kind"] == "raise"],
                 "deaths": run.deaths, "processes": run.processes, "first_error": run.first_error,
                 "event_log": run.plan.events_log, "fault_log": run.plan.run.fault_log},
    }
