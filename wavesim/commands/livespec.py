"""``wavesim live SPEC --db URL``: a user's spec run live, judged on the real rows (``live/specrun.py``).

The command parses what a spec run takes (``--scope``, ``--switch`` for the spec's own switches,
``--policy NAME`` (repeatable, or ``all``) for a spec with a ``policy`` switch, ``--queue-of`` and
``--duration`` (the parsers ``wavesim run SPEC`` reads them with), ``--workers``, ``--isolation``,
``--step-s``, the faults that apply to a spec, ``--repeat``, ``--seed``, ``--json``), refuses the options of
the write-up's coordinator with one line, runs ``--repeat`` runs per policy with ``run_spec_live``, prints
each run's verdicts (``report.livespec``: its metrics, jobs and verdicts in ``--json``, and a line for
deliveries no injected fault explains) and, for several runs, the summary per policy; then takes away what
the runs left (``live.leftovers``: tables unless ``--keep-tables``, the logs' folder unless ``--keep-logs``,
also when interrupted) and exits by the contract:
0 every property held in every run, 1 one was violated, a goal was not reached or a run made no
progress, 2 bad input.
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
from live.leftovers import RunLeftovers, interrupt_on_termination
from live.specrun import SpecLiveRun, run_spec_live
from live.tables import BASE, Prefixes
from report.livespec import PROGRESS, held_over, redeliveries, spec_live_json, spec_properties, summary_lines
from spec.errors import Unsupported
from spec.lang import Spec
from spec.lease import on_a_clock
from specfile.load import job_durations, job_queues, load_spec, pairs, policies_of
from userio.columns import name_width
from userio.errors import BadInput
from userio.exitcodes import Expected, finish
from wavesim.dboption import check_redis_url

__all__ = ["NOT_FOR_SPEC", "SPEC_FAULTS", "SPEC_SETTINGS", "live_spec", "run_lines"]

#: options of ``wavesim live`` that only the write-up's coordinator reads: refused with a spec
NOT_FOR_SPEC = ("waves", "wave_size", "threshold", "listener", "batch_mean_s", "tries", "lock_rate",
                "lock_hold_s", "plot", "csv_path", "summarize_paths")
#: the live faults a spec's run injects (a slow statement needs the write-up's wave rows)
SPEC_FAULTS = ("kill_rate", "drop_rate", "lose_delayed_rate", "duplicate_rate")
#: the settings a spec's run reads (the JSON shows these; the rest are the write-up's import's)
SPEC_SETTINGS = ("seed", "scale", "step_s", "retry_after_s", "auto_trigger_delay_s", "deadline_s", "sample_ms",
                 "stall_after_s", "stall_min_wall_s", "progress_min_wall_s", "chaos_period_s", *SPEC_FAULTS, "kill_at",
                 "kill_at_times")


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


def _batches(spec: Spec, names: tuple[str, ...], given: dict[str, str]) -> dict[str, dict[str, str]]:
    """One batch of runs per ``--policy`` (``all``: every choice of the spec's ``policy`` switch), keyed by
    the policy; without ``--policy``, one batch keyed by the spec's name. A policy the spec does not know,
    or one beside a ``--switch policy=`` that names another, is one line."""
    chosen = policies_of(spec, names)  # refused for a spec without a 'policy' switch
    if not chosen:
        return {spec.name: given}
    known = spec.switches["policy"].choices
    chosen = known if "all" in chosen else chosen
    unknown = [p for p in chosen if p not in known]
    if unknown:
        raise BadInput(f"--policy {unknown[0]}: spec {spec.name} has no such policy (its 'policy' switch takes "
                       f"{', '.join(known)})")
    if "policy" in given and (len(chosen) > 1 or given["policy"] != chosen[0]):
        raise BadInput(f"--policy {chosen[0]} and --switch policy={given['policy']} disagree: give one")
    return {p: {**given, "policy": p} for p in chosen}


def live_spec(o: dict[str, Any], expected: Expected) -> None:
    """The ``live`` command given a spec file (``o``: the command's options)."""
    _refuse_builtin(o)
    spec = load_spec(o["spec"])
    given = pairs(o["scope"], "--scope")
    given.update(pairs(o["switch_specs"], "--switch"))
    batches = _batches(spec, tuple(o.get("policies") or ()), given)
    queue_of = job_queues(spec, o.get("queue_of_texts", ()))
    durations = job_durations(spec, o.get("duration_texts", ()))
    for chosen in batches.values():
        try:
            scope = spec.scope_of(chosen)
            spec.workers(scope)
            on_a_clock(spec.leases, scope, "a live run")
        except Unsupported as refused:
            raise BadInput(f"spec {o['spec']}: {refused}") from None
    names = (*spec.properties, PROGRESS)
    expected.require(((key, p) for key in batches for p in names), why=f" (spec {spec.name} has "
                     f"{', '.join(names)})")
    workers = o["given"].pop("workers", None)  # per queue, not a LiveSettings field for a spec
    level = o["isolation"].upper().replace("-", " ").replace("_", " ") if o["isolation"] else None
    runs: dict[str, list[SpecLiveRun]] = {key: [] for key in batches}
    base = o.get("prefix") or BASE
    try:
        db = SpecDatabase(o["db_url"], spec.metadata, Prefixes(base).spec)
        _check_level(db.dialect, level)
        if o["queue_url"] is not None:
            check_redis_url(o["queue_url"])
        engine = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "mysql": "MariaDB/MySQL"}[db.dialect]
        left = RunLeftovers(o["db_url"], base, keep_tables=o["keep_tables"], keep_logs=o.get("keep_logs", False))
        with interrupt_on_termination():  # a terminated command cleans up as an interrupted one
            try:
                left.create_tables()
                for key, chosen in batches.items():
                    for k in range(o["repeat"]):
                        run = run_spec_live(spec, chosen, _settings(o, o["seed"] + k), db_url=o["db_url"],
                                            engine=engine, queue_url=o["queue_url"], isolation=level,
                                            workers=workers, queue_of=queue_of, durations=durations,
                                            workdir=str(left.folder), base=base)
                        runs[key].append(run)
                        policy = chosen.get("policy") if key != spec.name else None
                        click.echo(json.dumps(spec_live_json(run, SPEC_SETTINGS, policy, left.keep_logs), default=str)
                                   if o["as_json"] else "\n".join(run_lines(run, left.keep_logs)))
                if o["repeat"] > 1 and not o["as_json"]:
                    for key, mine in runs.items():
                        click.echo("\n".join(summary_lines(key if key == spec.name else f"policy {key}", mine)))
            finally:
                for line in left.remove(db, db.url):  # stderr under --json: stdout is one document a line
                    click.echo(line, err=o["as_json"])
                db.dispose()
    except (DatabaseError, TableClash) as err:
        raise BadInput(str(err)) from None
    documents = {key: [spec_properties(r) for r in mine] for key, mine in runs.items()}
    finish({(key, n): held_over(d[n]["holds"] for d in docs) for key, docs in documents.items() for n in names},
           expected)


def _faults(run: SpecLiveRun) -> dict[str, int]:
    return dict(Counter(f["kind"] for f in run.faults))


def run_lines(run: SpecLiveRun, logs: bool = True) -> list[str]:
    """One run as text: the run, each property's verdict (``live_progress`` last), what the workers did
    (``logs``: whether the run's log files are kept, and so named)."""
    s = run.plan.run.live
    scope = run.spec.scope_of(run.plan.given)
    queues = ", ".join(f"{q} x{n}" for q, n in run.plan.workers.items())
    lines = [f"spec {run.spec.name} ({scope}) on {run.engine}, {run.queue} queue, isolation "
             f"{run.plan.run.isolation or 'driver default'}, seed {s.seed}, workers {queues}: {run.outcome} "
             f"after {run.wall_s:.1f} s wall, {run.samples} samples"]
    verdicts = spec_properties(run)
    width = name_width(verdicts, 28)
    for name, v in verdicts.items():
        if v["holds"]:
            seen = v["verdict"]
        else:
            at = ""
            if v["first_violation_s"] is not None:  # the run's clock runs --scale wall seconds a second
                at = f" at {v['first_violation_s']:g} s scenario time ({v['first_violation_wall_s']:g} s wall)"
            seen = f"{v['verdict'].upper()}{at}: {v['detail']}"
        lines.append(f"  {name:{width}s} {v['kind']:10s} {seen}")
    taken = ", ".join(f"{j} x{n}" for j, n in sorted(run.deliveries.items())) or "none"
    faults = ", ".join(f"{k} x{n}" for k, n in sorted(_faults(run).items())) or "none"
    peaks = ", ".join(f"{q} {n}" for q, n in run.peaks.queues.items())
    places = f"; event log {run.plan.events_log}, fault log {run.plan.run.fault_log}" if logs else ""
    lines.append(f"live: jobs taken {taken} (redelivered {run.redelivered}); peak queue depth {run.peaks.total} "
                 f"({peaks}); faults {faults}; processes started {run.processes}{places}")
    again = redeliveries(run)["says"]
    if again:
        lines.append(again)
    raised = [e for e in run.events if e["kind"] == "raise"]
    if raised:
        lines.append(f"live: jobs raised {len(raised)} time(s), the first: {raised[0]['job']}: {raised[0]['error']}")
    if run.errors:
        where = run.stderr_log if logs else "--keep-logs keeps them"
        lines.append(f"live: the processes wrote {len(run.errors)} line(s) to stderr ({where}), the first "
                     f"error: {run.first_error}")
    return lines
