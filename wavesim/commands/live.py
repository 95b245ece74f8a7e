"""``wavesim live``: the coordinator on a real database, real queue, real workers.

One import per policy and repeat; each is measured from the real tables with
``report.live`` (the same metrics, verdicts, JSON and plots as ``wavesim
run``). ``--repeat K`` prints, per policy, the share of the K runs in which each
property held. ``--clean`` drops the tables and Redis keys wavesim's live runs created (``live.leftovers.clean``),
given a SPEC or not. ``--prefix`` is the base of every name a run gives its tables and keys.
"""

from __future__ import annotations

import json
import secrets
import shutil
import statistics
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from coordinator import POLICIES, PROPERTY_NAMES, ConfigError
from dbdriver import resolve_url
from dbdriver.database import PREFIX_RULE, check_prefix
from live import FAULT_MIX, ISOLATION_LEVELS, DatabaseError, LiveSettings, LiveTables, TableClash, open_database
from live.engine import dialect_of, make_engine
from live.leftovers import clean as clean_tables
from live.run import LiveRun, first_error, run_live
from live.tables import BASE, Prefixes
from report.live import INJECTED, PROGRESS, live_json, measure_live
from sim.export import rows_csv
from userio.errors import BadInput
from userio.exitcodes import Expected, expect_option, finish
from userio.files import check_output, read_text
from wavesim.commands.outputs import write_output
from wavesim.commands.run import run_verdicts, summary_lines
from wavesim.dboption import check_redis_url, resolved_db_url
from wavesim.switches import check_read, parse_specs, switch_option

__all__ = ["iter_imports", "live", "read_documents", "run_imports", "summarize"]

ENGINES = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "mysql": "MariaDB/MySQL"}

#: option -> (LiveSettings field, click type, help)
SETTINGS: dict[str, tuple[str, Any, str]] = {
    "--waves": ("waves", int, "Main waves in the import. [default: 20]"),
    "--wave-size": ("wave_size", int, "Batch jobs per wave. [default: 20]"),
    "--threshold": ("threshold", int, "Completion threshold, percent. [default: 90]"),
    "--workers": ("workers", int, "Worker processes (with SPEC: per queue). [default: 8; with SPEC the spec's]"),
    "--listener": ("listener", click.Choice(["sync", "queued"]), "BatchJobCompleted listener. [default: sync]"),
    "--batch-mean-s": ("batch_mean_s", float, "Mean batch duration, scenario seconds. [default: 1]"),
    "--auto-trigger-delay-s": ("auto_trigger_delay_s", float, "Auto-trigger delay, scenario s (with SPEC: the wait "
                               "of a delayed push, and between two periodic jobs). [default: 2]"),
    "--retry-after-s": ("retry_after_s", float, "Queue visibility timeout, scenario s. [default: 90]"),
    "--tries": ("tries", int, "Deliveries of a job before it is failed. [default: 3]"),
    "--scale": ("scale", float, "Wall seconds per scenario second. [default: 0.02]"),
    "--deadline-s": ("deadline_s", float, "Global deadline of one import (or run of a SPEC), wall seconds. "
                     "[default: 60]"),
    "--sample-ms": ("sample_ms", float, "Monitor's sampling period, wall ms. [default: 5]"),
    "--kill-rate": ("kill_rate", float, "Fault: chance of kill -9 at each worker crash point."),
    "--drop-rate": ("drop_rate", float, "Fault: chance a handler step's (with SPEC: a statement's) connection is "
                    "dropped first."),
    "--lock-rate": ("lock_rate", float, "Fault: chance per chaos tick of a long row lock (slow statement)."),
    "--lose-delayed-rate": ("lose_delayed_rate", float, "Fault: chance a delayed job is deleted from the queue."),
    "--duplicate-rate": ("duplicate_rate", float, "Fault: chance per chaos tick of a duplicated delivery."),
    "--lock-hold-s": ("lock_hold_s", float, "How long the slow statement holds its lock, scenario s. [default: 4]"),
    "--step-s": ("step_s", float, "SPEC only: pause before each step of a job, scenario s (the code between two "
                 "statements). [default: 5]"),
}


def _dialect(db_url: str) -> str:
    try:
        engine = dialect_of(db_url)
    except Exception:
        engine = ""
    if engine not in ENGINES:
        raise BadInput(f"--db {db_url!r} is not a database URL wavesim runs on (e.g. sqlite:///live.db, "
                       "postgresql+psycopg://user@host/db, mysql+pymysql://user@host/db)")
    return engine


def _open(db_url: str, queue_url: str | None, base: str = BASE) -> Any:
    _dialect(db_url)
    try:
        db = open_database(db_url, base)
        own = make_engine(db_url)
        try:
            LiveTables(Prefixes(base).live).create(own)
        finally:
            own.dispose()
    except DatabaseError as err:
        raise BadInput(str(err)) from None
    except TableClash as err:
        raise BadInput(str(err)) from None
    if queue_url is not None:
        check_redis_url(queue_url)
    return db


def iter_imports(db_url: str, policies: list[str], settings: LiveSettings, *, repeat: int = 1,
                 queue_url: str | None = None, isolation: str | None = None,
                 workdir: str | None = None, base: str = BASE) -> Iterator[tuple[LiveRun, Any]]:
    """Run ``repeat`` imports per policy (seeds ``seed .. seed + repeat - 1``), every name under ``base``;
    yield each (live run, measured result) as it ends."""
    engine = _dialect(db_url)
    try:
        db_url = resolve_url(db_url)  # before any process starts: theirs is not the caller's folder
    except DatabaseError as err:
        raise BadInput(str(err)) from None
    if isolation is not None and isolation not in ISOLATION_LEVELS[engine]:
        raise BadInput(f"--isolation {isolation!r} is not offered on {ENGINES[engine]}; choose one of: "
                       f"{', '.join(ISOLATION_LEVELS[engine])}")
    db = _open(db_url, queue_url, base)
    folder = workdir or tempfile.mkdtemp(prefix="wavesim-live-")
    try:
        for policy in policies:
            for k in range(repeat):
                s = settings.with_settings(policy=policy, seed=settings.seed + k)
                job_id = 1 + secrets.randbelow(2**40)  # an identity, not a decision: unseeded
                run = run_live(s, db=db, db_url=db_url, engine=ENGINES[engine], queue_url=queue_url,
                               job_id=job_id, isolation=isolation, workdir=folder, base=base)
                yield run, measure_live(run)
    except DatabaseError as err:
        raise BadInput(str(err)) from None
    finally:
        db.dispose()


def run_imports(db_url: str, policies: list[str], settings: LiveSettings, **options: Any) -> list[
        tuple[LiveRun, Any]]:
    """``iter_imports`` as a list."""
    return list(iter_imports(db_url, policies, settings, **options))


def _clean(db_url: str, queue_url: str | None, base: str) -> list[str]:
    _dialect(db_url)
    if queue_url is not None:
        check_redis_url(queue_url)
    try:
        return clean_tables(resolve_url(db_url), base, queue_url)
    except (DatabaseError, TableClash) as err:
        raise BadInput(str(err)) from None


def _shares(results: list[tuple[LiveRun, Any]], policy: str) -> dict[str, float]:
    mine = [r for run, r in results if run.settings.policy == policy]
    names = (*PROPERTY_NAMES, PROGRESS)
    return {name: sum(1 for r in mine if r.properties[name]["holds"]) / len(mine) for name in names}


#: live metrics counted as "imports in which it happened" by ``--summarize``
COUNTED = ("duplicate_dispatches", "duplicate_claims", "waves_claimed_never_pushed", "pushes_without_db_record",
           "batches_unfinished", "batches_counted_twice")


def summarize(documents: list[dict[str, Any]]) -> list[str]:
    """Lines for ``--summarize``: per engine, policy and isolation, the share of imports in which
    each property held, the outcomes, the imports in which each live count was above 0, the faults."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for d in documents:
        key = (d["live"]["engine"], d["scenario"]["policy"], d["live"]["isolation"] or "driver default")
        groups.setdefault(key, []).append(d)
    lines = []
    for (engine, policy, level), docs in groups.items():
        n = len(docs)
        outcomes = Counter(d["metrics"]["outcome"] for d in docs)
        faults: Counter[str] = Counter()
        for d in docs:
            faults.update({k: v for k, v in d["live"]["faults"].items() if k in INJECTED})
        lines.append(f"{policy} on {engine} ({docs[0]['live']['queue']} queue, isolation {level}): {n} imports, "
                     + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
        # the documents' own property names (an older wavesim named some differently)
        names = [p for p in PROPERTY_NAMES if any(p in d["properties"] for d in docs)]
        names += sorted({p for d in docs for p in d["properties"]} - set(names))
        for name in names:
            judged = [d for d in docs if name in d["properties"]]
            held = sum(1 for d in judged if d["properties"][name]["holds"])
            lines.append(f"  {name:26s} held in {held}/{len(judged)}")
        for name in COUNTED:
            seen = sum(1 for d in docs if (d["metrics"].get(name) or 0) > 0)
            lines.append(f"  {name:26s} above 0 in {seen}/{n}")
        lines.append("  faults injected: " + (", ".join(f"{k} {v}" for k, v in sorted(faults.items())) or "none"))
        lines += _sampling(docs)
    return lines


def _sampling(docs: list[dict[str, Any]]) -> list[str]:
    """How coarse the samples were (what a sampled verdict can miss) and whether the queue drained,
    for documents that carry it (an older wavesim did not)."""
    gaps = sorted(float(d["live"]["max_sample_gap_s"]) for d in docs if d["live"].get("max_sample_gap_s") is not None)
    out = []
    if gaps:
        out.append(f"  longest sampling gap per import (scenario s): median {statistics.median(gaps):.2f}, "
                   f"max {gaps[-1]:.2f}")
    drained = [d["live"]["drained"] for d in docs if "drained" in d["live"] and d["metrics"]["outcome"] == "completed"]
    if drained:
        out.append(f"  completed imports whose queue drained before the end: {sum(drained)}/{len(drained)}")
    return out


def read_documents(paths: tuple[str, ...]) -> list[dict[str, Any]]:
    out = []
    for path in paths:
        for number, line in enumerate(read_text(path).splitlines(), start=1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
                doc["live"]["engine"], doc["scenario"]["policy"], doc["metrics"]["outcome"]  # noqa: B018
            except (json.JSONDecodeError, KeyError, TypeError):
                raise BadInput(f"{path} line {number}: not a document of 'wavesim live --json'") from None
            out.append(doc)
    if not out:
        raise BadInput("--summarize: the files hold no documents")
    return out


#: settings only the write-up's coordinator reads (a spec's run refuses them)
_BUILTIN_SETTINGS = ("waves", "wave_size", "threshold", "listener", "batch_mean_s", "tries", "lock_rate", "lock_hold_s")


def _settings_options(command: Any) -> Any:
    for flag, (field, kind, text) in reversed(SETTINGS.items()):
        command = click.option(flag, field, type=kind, default=None, help=text)(command)
    return command


@click.command("live")
@click.argument("spec", required=False, is_eager=True, metavar="[SPEC]")
@_settings_options
@switch_option
@click.option("--summarize", "summarize_paths", multiple=True, type=click.Path(dir_okay=False),
              help="Instead of running: summarize FILE(s) of earlier 'wavesim live --json' output (repeatable).")
@click.option("--db", "db_url", default=None, callback=resolved_db_url, help="Database URL: sqlite:///FILE "
              "(a relative FILE is in the current folder), postgresql+psycopg://..., mysql+pymysql://...")
@click.option("--policy", "policies", multiple=True, type=click.Choice([*POLICIES, "all"]),
              help="Coordinator policy; repeat the option for several, or 'all' (with SPEC: the spec's 'policy' "
                   "switch, one batch of runs each). [default: atomic]")
@click.option("--queue", "queue_url", default=None, help="redis://HOST:PORT/DB for the Redis queue. "
              "[default: the database queue, a table in --db]")
@click.option("--isolation", default=None, help="Isolation level of every session: PostgreSQL and MariaDB "
              "READ COMMITTED, REPEATABLE READ or SERIALIZABLE; SQLite SERIALIZABLE. With SPEC: the level a "
              "begin() naming none uses, READ COMMITTED or REPEATABLE READ. [default: the driver's]")
@click.option("--repeat", type=click.IntRange(min=1), default=1,
              help="Imports per policy (with SPEC: runs per policy, summarized when above 1). [default: 1]")
@click.option("--seed", type=click.IntRange(min=0), default=0, help="Seed of the first import. [default: 0]")
@click.option("--faults", "fault_mix", is_flag=True, help="Turn on every fault at the standard mix "
              "(live.settings.FAULT_MIX; with SPEC: kill, drop, lose-delayed, duplicate); a rate option given "
              "as well wins.")
@click.option("--json", "as_json", is_flag=True, help="Print every import (or run of a SPEC) as JSON (one "
              "document per line).")
@click.option("--plot", type=click.Path(dir_okay=False), default=None, help="Plot the first import (.png/.svg/.pdf).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None,
              help="Export the first import's real wave rows (for wavesim audit) to this .csv.")
@click.option("--clean", is_flag=True, help="Drop what wavesim's live runs left under the prefix, with or without "
              "SPEC, then stop: the tables wavesim_live_*, a spec's wavesim_livespec_* and the built-in import's "
              "wavesim_* tables (with --prefix P: P's), each only once it is wavesim's (its owner marker, or "
              "exactly wavesim's columns), and with --queue the Redis keys wavesim_live:*. Nothing else.")
@click.option("--prefix", default=None, metavar="PREFIX", help="Base of every table and Redis key name of the "
              f"run, so that two users can share a database; it {PREFIX_RULE}, e.g. "
              "wavesim_nu_ gives wavesim_nu_live_*, wavesim_nu_livespec_*, wavesim_nu_*. [default: wavesim_]")
@click.option("--scope", "scope", multiple=True, metavar="NAME=VALUE",
              help="SPEC only: a scope size of the spec (repeatable); --switch sets the spec's switches.")
@click.option("--queue-of", "queue_of_texts", multiple=True, metavar="JOB=QUEUE",
              help="SPEC only: the queue a job type runs on, over the spec's (repeatable). [default: the spec's]")
@click.option("--duration", "duration_texts", multiple=True, metavar="JOB=SECONDS",
              help="SPEC only: the mean of a job type's own work before its first step, scenario s, exponential "
                   "as 'wavesim run SPEC --duration' (repeatable). [default: none]")
@click.option("--keep-tables", is_flag=True, help="SPEC only: keep the tables the runs wrote (the spec's "
              "wavesim_livespec_*, the queue's and logs' wavesim_live_*) and say how to drop them (--clean). "
              "[default: dropped when the command ends, also when interrupted]")
@click.option("--keep-logs", is_flag=True, help="Keep the runs' folder of logs (a spec's event log, the fault log, "
              "the processes' stderr) in the temporary folder and name it. [default: removed when the command "
              "ends]")
@expect_option
def live(spec: str | None, summarize_paths: tuple[str, ...], db_url: str | None, policies: tuple[str, ...],
         queue_url: str | None, isolation: str | None, repeat: int, seed: int, fault_mix: bool, as_json: bool,
         plot: str | None, csv_path: str | None, clean: bool, scope: tuple[str, ...], queue_of_texts: tuple[str, ...],
         duration_texts: tuple[str, ...], keep_tables: bool, keep_logs: bool, prefix: str | None, expected: Expected,
         **given: Any) -> None:
    """Run imports live: worker processes, a real queue, real faults; measured from the real tables.

    Give a SPEC file to run your own coordinator live instead (docs/live.md, "Live runs of a spec"):
    its tables under wavesim_livespec_, its jobs on the real queue, its properties judged on the real
    rows; when the command ends it drops the tables and removes the logs the runs left, unless told to keep
    them. Exit 0 only when every property held in every import or run (or was violated in at least
    one import of that policy where --expect-violation says so); --summarize and --clean judge
    nothing (exit 0).
    """
    base = _base(prefix)
    if clean:  # with or without SPEC: what every live run left under the prefix
        if db_url is None:
            raise BadInput("--db URL is required")
        dropped = _clean(db_url, queue_url, base)
        click.echo("dropped: " + (", ".join(dropped) or "nothing (no table of wavesim's live runs was there)"))
        return
    if spec is not None:
        if db_url is None:
            raise BadInput("--db URL is required")
        from wavesim.commands.livespec import live_spec

        switch_specs = given.pop("switch_specs", ()) or ()
        live_spec({"spec": spec, "db_url": db_url, "queue_url": queue_url, "isolation": isolation, "repeat": repeat,
                   "seed": seed, "fault_mix": fault_mix, "as_json": as_json, "scope": scope,
                   "switch_specs": switch_specs, "keep_tables": keep_tables, "keep_logs": keep_logs,
                   "prefix": base, "policies": policies,
                   "queue_of_texts": queue_of_texts, "duration_texts": duration_texts,
                   "plot": plot, "csv_path": csv_path, "summarize_paths": summarize_paths,
                   "given": given, **{k: given.pop(k) for k in _BUILTIN_SETTINGS}}, expected)
        return
    if scope or keep_tables or queue_of_texts or duration_texts or given.get("step_s") is not None:
        raise BadInput("--scope, --queue-of, --duration, --keep-tables and --step-s are for a SPEC "
                       "file (wavesim live SPEC --db URL)")
    if summarize_paths:
        click.echo("\n".join(summarize(read_documents(summarize_paths))))
        return
    if db_url is None:
        raise BadInput("--db URL is required (or --summarize FILE)")
    check_output(plot, (".png", ".svg", ".pdf"), "--plot")
    check_output(csv_path, (".csv",), "--csv")
    names = list(POLICIES) if "all" in policies else list(dict.fromkeys(policies or ["atomic"]))
    expected.require((p, name) for p in names for name in PROPERTY_NAMES)
    switches = parse_specs(given.pop("switch_specs", ()) or ())
    check_read(switches, names)
    values = {**(FAULT_MIX if fault_mix else {}), **{k: v for k, v in given.items() if v is not None}}
    try:
        settings = LiveSettings(seed=seed, switches=tuple(switches.items()), **values)
    except ConfigError as err:
        raise BadInput(str(err)) from None
    level = isolation.upper().replace("-", " ").replace("_", " ") if isolation else None
    results: list[tuple[LiveRun, Any]] = []
    folder = tempfile.mkdtemp(prefix="wavesim-live-")  # every import's plan and logs; the command's own
    try:
        for run, result in iter_imports(db_url, names, settings, repeat=repeat, queue_url=queue_url,
                                        isolation=level, workdir=folder, base=base):
            if not results:
                _write_outputs(run, result, plot, csv_path)
            results.append((run, result))
            if as_json:
                click.echo(json.dumps(live_json(run, result, logs=keep_logs)))
            elif repeat == 1:
                _echo_run(run, result)
    finally:
        if keep_logs:
            click.echo(f"kept the logs in {folder} (remove them with: rm -r {folder})", err=True)
        else:
            shutil.rmtree(folder, ignore_errors=True)
    if repeat > 1 and not as_json:
        engine = results[0][0].engine
        for policy in names:
            click.echo(f"{policy} on {engine} ({results[0][0].queue} queue, isolation "
                       f"{level or 'driver default'}): {repeat} imports, share in which each property held")
            for name, share in _shares(results, policy).items():
                click.echo(f"  {name:26s} {share:6.1%}")
    finish(run_verdicts([result for _, result in results]), expected)  # live_progress among them


def _base(prefix: str | None) -> str:
    """``--prefix``, checked as every wavesim prefix is (``dbdriver.database.check_prefix``)."""
    try:
        return check_prefix(prefix) if prefix is not None else BASE
    except DatabaseError as err:
        raise BadInput(f"--prefix: {err}") from None


def _write_outputs(run: LiveRun, result: Any, plot: str | None, csv_path: str | None) -> None:
    """The first import's plot and CSV export."""
    if plot is not None:
        from report.liveplot import live_figure
        from sim.plots import save

        fig = live_figure(run, result)
        write_output(plot, lambda tmp: save(fig, str(tmp)))
    if csv_path is not None:
        text = rows_csv(result.table)
        write_output(csv_path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def _echo_run(run: LiveRun, result: Any) -> None:
    click.echo(f"{run.engine}, {run.queue} queue, isolation {run.isolation or 'driver default'}, "
               f"{run.wall_s:.1f} s wall, faults {_fault_text(run)}")
    click.echo("\n".join(summary_lines(result)))
    m = result.metrics
    click.echo(f"live: extra runs told they own a wave {m['duplicate_claims']}, batches counted twice by the "
               f"counters {m['batches_counted_twice']}, batches unfinished {m['batches_unfinished']}, "
               f"processes started {run.processes}, fault log {run.spec.fault_log}")
    if run.errors:
        click.echo(f"live: the processes wrote {len(run.errors)} line(s) to stderr ({run.stderr_log}), the first "
                   f"error: {first_error(run.errors)}")


def _fault_text(run: LiveRun) -> str:
    kinds = Counter(f["kind"] for f in run.faults if f["kind"] in INJECTED)
    return ", ".join(f"{k} x{n}" for k, n in sorted(kinds.items())) or "none"
