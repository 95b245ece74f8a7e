"""``wavesim check``: model-check one policy on a small scope."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from functools import cache
from typing import Any

import click

from coordinator import POLICIES, PROPERTY_NAMES, ConfigError, Policy, policy_named
from docgen import project_root, register
from docgen.guarantees import lease_note
from model.actions import lease_problem
from model.checker import (
    DEFAULT_MEMORY_MB,
    DEFAULT_TIME_S,
    ENGINES,
    NOT_MINIMAL,
    REDUCTIONS,
    EngineUnavailable,
    Search,
    check,
    reductions,
)
from model.scope import RELAY_LEASES, Scope
from model.search import walk_search
from model.settled import PremiseBroken
from model.trace import TraceStep, render, steps_of, to_json, why_stuck
from specfile.load import given_options, load_spec
from userio.errors import BadInput
from userio.exitcodes import Expected, expect_option, finish
from userio.progress import progress_bar, wanted
from wavesim.commands.outputs import write_output
from wavesim.envdefaults import env_settings, env_source
from wavesim.helpsections import SpecFirstCommand
from wavesim.switches import parse_specs, switch_option, switched

__all__ = ["check_command", "report_json", "run_check"]


def run_check(
    policy: str | Policy, scope: Scope, *, strategy: str = "bfs", properties: tuple[str, ...] = PROPERTY_NAMES,
    max_states: int | None = None, time_limit: float = DEFAULT_TIME_S, max_memory_mb: float = DEFAULT_MEMORY_MB,
    without: tuple[str, ...] = (), shortest: bool = False, seed: int = 0, depth: int = 3, bar: bool = False,
    engine: str = "auto",
) -> Search:
    """Check ``policy`` on ``scope`` with one strategy (``bar``: a progress bar over states, BFS only)."""
    chosen = policy_named(policy) if isinstance(policy, str) else policy
    if strategy == "bfs":
        with progress_bar(max_states or 0, desc="states", enabled=bar, unit="state") as states:
            return check(scope, chosen, properties=properties, max_states=max_states, time_limit=time_limit,
                         max_memory_mb=max_memory_mb, use=tuple(n for n in REDUCTIONS if n not in without),
                         shortest=shortest, progress=lambda n: states.update(n - states.n), engine=engine)
    return walk_search(
        scope, chosen, strategy=strategy, seed=seed, depth=depth, properties=properties,
        max_states=max_states or 200_000, time_limit=time_limit,
    )


def counterexamples(search: Search) -> dict[str, dict[str, Any]]:
    """Every violation found, as replayable JSON."""
    out = {}
    for name, found in search.found.items():
        steps = steps_of(search.spec, found.path)
        why = why_stuck(search.spec, found.path) if name == "import_completes" else ()
        out[name] = to_json(search.spec, name, found.detail, steps, why)
    return out


def report_json(search: Search) -> dict[str, Any]:
    """The issue's JSON report."""
    traces = counterexamples(search)
    return {
        "policy": search.spec.policy.name,
        "policy_switches": search.spec.policy.switches(),
        "scope": search.spec.scope.as_dict(),
        "strategy": search.strategy,
        "engine": search.engine,
        "complete": search.complete,
        "states": search.states,
        "settled": search.settled,
        "transitions": search.transitions,
        "depth": search.depth,
        "seconds": round(search.seconds, 3),
        "reductions": list(search.used),
        "reductions_text": list(reductions(search.spec.scope, search.used)),
        "stop_reason": search.stop_reason,
        "budget": search.budget,
        "decided": search.decided,
        "undecided": list(search.undecided),
        "peak_mb": round(search.peak_mb),
        "shortest": not (set(search.used) & NOT_MINIMAL),
        "properties": {
            name: {
                "holds": search.holds(name),
                "detail": traces[name]["detail"] if name in traces else None,
                "counterexample": traces[name]["steps"] if name in traces else None,
                "why_no_way_out": traces[name]["why_no_way_out"] if name in traces else None,
            }
            for name in search.checked
        },
    }


def reads_lease(scope: Scope, policy: Policy) -> bool:
    """True when ``policy``'s relay reads a lease and ``scope`` takes the default, clockless one."""
    return scope.relay_lease == "expired" and lease_problem(replace(scope, relay_lease="outlasts-claimer"),
                                                            policy) is None


def _verdict(search: Search, name: str) -> str:
    holds = search.holds(name)
    if holds is None:
        return f"unknown ({search.budget} budget ran out)" if search.budget else "unknown (search incomplete)"
    return "holds" if holds else "VIOLATED"


def verdicts(search: Search) -> dict[tuple[str, str], bool | None]:
    """Each checked property's verdict, for the exit code (``userio.exitcodes``)."""
    return {(search.spec.policy.name, name): search.holds(name) for name in search.checked}


def _compact(steps: Sequence[TraceStep], start: int = 0) -> str:
    """The step table from ``steps[start]`` on, with the table line only where the wave rows change, and
    after the last step."""
    lines, rows = [], steps[start - 1].table if start else None
    for s in steps[start:]:
        result = f" -> {s.result}" if s.result else ""
        lines.append(f"{s.n:3d}. {s.actor:<10} {s.what}{result}")
        if s.table != rows or s is steps[-1]:
            lines.append(f"     table {s.table}; {s.jobs}")
            rows = s.table
    return "\n".join(lines)


def report_text(search: Search, *, verbose: bool = False) -> str:
    """The summary (scope, search, one line per property) and one counterexample per violated property;
    ``verbose`` adds what each reduction does, the table after every step and why a trap has no way out."""
    scope = search.spec.scope
    rate = search.states / search.seconds if search.seconds > 0 else float("inf")
    status = "complete" if search.complete else "decided early" if search.decided else "INCOMPLETE"
    settled = f" ({search.settled} settled, not expanded)" if search.settled else ""
    lines = [
        f"policy {search.spec.policy.name}; scope {scope.label()}; strategy {search.strategy}"
        + (f", {search.engine} engine" if search.strategy == "bfs" else ""),
        f"{status}: {search.states} distinct states{settled}, {search.transitions} transitions, depth {search.depth}, "
        f"{search.seconds:.2f} s, {rate:,.0f} states/s, peak {search.peak_mb:,.0f} MB",
        f"reductions: {'; '.join(reductions(scope, search.used)) or 'none'}" if verbose
        else f"reductions: {', '.join(search.used) or 'none'}",
    ]
    if search.stop_reason:
        lines.append(f"stopped: {search.stop_reason}")
    if search.undecided:
        lines.append(f"undecided: {', '.join(search.undecided)}")
    lengthened = set(search.used) & NOT_MINIMAL
    if lengthened and search.found and search.strategy == "bfs":
        lines.append("note: counterexamples may be longer than the shortest (partial-order reduction); "
                     "--shortest gives minimal ones")
    if scope.hides_overlap:
        lines.append("note: the threshold needs the whole wave at this scope, so waves cannot overlap")
    if reads_lease(scope, search.spec.policy):
        lines.append(lease_note())
    width = max(len(_verdict(search, n)) for n in search.checked) if search.checked else 0
    lines.append(f"  {'property':<26} {'verdict':<{width}} counterexample")
    for name in search.checked:
        found = search.found.get(name)
        length = f"{len(found.labels)} steps" if found is not None else "-"
        lines.append(f"  {name:<26} {_verdict(search, name):<{width}} {length}")
    shown: dict[tuple[object, ...], str] = {}  # the labels of each counterexample printed -> its property
    hidden = False
    for name, data in counterexamples(search).items():
        found = search.found[name]
        lines.append("")
        same = shown.get(found.labels)
        if same is not None and not verbose:
            lines.append(f"{name} violated by the same {len(found.labels)} steps as {same}: {found.detail}")
        else:
            shown.setdefault(found.labels, name)
            lines.append(f"{name} violated in {len(found.labels)} steps: {found.detail}")
            steps = steps_of(search.spec, found.path)
            # a counterexample that extends one already printed shows only its new steps
            start, before = max(((len(k), v) for k, v in shown.items() if len(k) < len(found.labels)
                                 and found.labels[:len(k)] == k), default=(0, ""))
            if verbose:
                lines.append(render(steps))
            else:
                if start:
                    lines.append(f"  1-{start}. the steps of {before}, then:")
                lines.append(_compact(steps, start))
                hidden = True
        if verbose:
            lines.extend(f"     way out? {why}" for why in data["why_no_way_out"])
    if hidden:
        lines.append("")
        lines.append("--verbose shows the table after every step, what each reduction does and why a trap "
                     "has no way out")
    return "\n".join(lines)


#: options of the write-up's coordinator (``--policy``) and of a spec file (``SPEC``): each refused with the other
BUILTIN_ONLY = ("policy", "waves", "wave_size", "threshold", "workers", "max_handlers", "crashes", "duplicates",
                "losses", "failures", "crash_handlers", "any_order", "relay_lease", "strategy", "seed", "pct_depth",
                "max_memory_mb", "engine")
SPEC_ONLY = ("scope", "fault", "dialect", "isolation", "order", "no_symmetry", "no_settled", "no_saturation",
             "no_wait_merge", "export", "list")


@click.command("check", cls=SpecFirstCommand, spec_takes=lambda names: [n for n in names if n not in BUILTIN_ONLY])
@click.argument("spec", required=False, is_eager=True, metavar="[SPEC]")
@click.option("--list", "list", is_flag=True,
              help="SPEC only: list the spec's scope entries, switches (values and defaults), faults, properties "
                   "and jobs, and exit 0 without checking.")
@click.option("--policy", type=click.Choice(list(POLICIES)),
              help="Which policy of the write-up's coordinator to check (when no SPEC file is given); with a SPEC "
                   "that has a 'policy' switch, that switch.")
@click.option("--waves", default=2, show_default=True, help="Main waves of the import (1-6).")
@click.option("--wave-size", type=int, default=None, help="Batch jobs per wave (1-6). [default: WAVE_SIZE, else 2]")
@click.option("--threshold", type=int, default=None,
              help="Completion threshold in percent; keep it above one batch and below the whole wave. "
                   "[default: WAVE_COMPLETION_THRESHOLD, else 50]")
@click.option("--workers", default=2, show_default=True, help="Workers taking batch jobs (1-6).")
@click.option("--handlers", "max_handlers", default=2, show_default=True,
              help="Listener handler runs that may be in flight at once (1-6); a reconciler's run has its "
                   "own slot beside them.")
@click.option("--crashes", default=0, show_default=True,
              help="Budget of worker crashes after the record, before the ack.")
@click.option("--duplicates", default=0, show_default=True, help="Budget of duplicated completion events.")
@click.option("--losses", default=0, show_default=True, help="Budget of lost completion events.")
@click.option("--failures", default=0, show_default=True,
              help="Budget of batch jobs that fail for good (recorded failed; BatchJobCompleted fires only "
                   "with --switch failed_batch_fires=true). Runs on the Python engine.")
@click.option("--crash-handlers", is_flag=True,
              help="Let a crash (from the --crashes budget) also kill a handler run between two DB operations.")
@click.option("--any-order", is_flag=True, help="Let workers take any ready job, not only the front of the queue.")
@click.option("--relay-lease", default="expired", show_default=True, type=click.Choice(list(RELAY_LEASES)),
              help="The model keeps no time: 'expired' lets a relay take any claimed wave, even a live claimer's "
                   "(an over-approximation); 'outlasts-claimer' assumes no claimer takes longer than the lease "
                   "between its claim and its mark, so only a dead claimer's wave is relayed.")
@click.option("--property", "properties", multiple=True, metavar="NAME",
              help=f"Check only this property (repeatable); default every property. A spec's are its own (--list "
                   f"lists them); the write-up's coordinator's: {', '.join(PROPERTY_NAMES)}.")
@click.option("--strategy", default="bfs", show_default=True, type=click.Choice(["bfs", "random", "pct"]),
              help="Exhaustive BFS, or seeded random walks / PCT for scopes too large to exhaust.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the random and PCT walks.")
@click.option("--pct-depth", default=3, show_default=True, help="PCT bug depth (priority change points + 1).")
@click.option("--max-states", type=int, default=None,
              help="Also stop after this many distinct states (default: no state limit).")
@click.option("--time-limit", default=DEFAULT_TIME_S, show_default=True, help="Stop after this many seconds.")
@click.option("--max-memory", "max_memory_mb", default=float(DEFAULT_MEMORY_MB), show_default=True,
              help="Stop when the process holds this many MB.")
@click.option("--engine", default="auto", show_default=True, type=click.Choice(list(ENGINES)),
              help="The BFS engine: 'compiled' (model/engine.c, built with the machine's C compiler on first use; "
                   "FIFO queue only), 'python', or 'auto' (compiled where it can run).")
@click.option("--without", "without", multiple=True, type=click.Choice(list(REDUCTIONS)),
              help="Switch this reduction off (repeatable). A spec has symmetry, abstraction (its saturates "
                   "declarations), settled, por and probe; futures is the write-up's coordinator's only.")
@click.option("--shortest", is_flag=True,
              help="Switch off reductions that may lengthen a counterexample (partial-order reduction, probe "
                   "walks), so that each is a shortest one.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--verbose", "-v", is_flag=True,
              help="Also say what each reduction does, show the table after every step of a counterexample, "
                   "and why a trap has no way out.")
@expect_option
@switch_option
@click.option("--trace-out", type=click.Path(dir_okay=False), default=None,
              help="Write the first counterexample found as JSON for 'wavesim replay'.")
@click.option("--scope", "scope", multiple=True, metavar="NAME=VALUE",
              help="SPEC only: a scope size of the spec (repeatable); --switch sets the spec's switches.")
@click.option("--fault", "fault", multiple=True, metavar="NAME=N",
              help="SPEC only: a fault budget: crash, throw, duplicate or lose_delayed (repeatable). "
                   "[default: the spec's]")
@click.option("--dialect", type=click.Choice(["postgresql", "mysql", "sqlite"]), default=None,
              help="SPEC only: the engine whose SQL and isolation the model follows (mysql is MariaDB). "
                   "[default: the spec's]")
@click.option("--isolation", default=None, metavar="LEVEL",
              help="SPEC only: the isolation level, e.g. 'READ COMMITTED' (docs/spec-sql.md lists each engine's). "
                   "[default: the spec's, else the engine's]")
@click.option("--order", type=click.Choice(["fifo", "any"]), default=None,
              help="SPEC only: the order a queue delivers jobs in. [default: the spec's]")
@click.option("--no-symmetry", is_flag=True, help="SPEC only: do not merge states that differ by worker names.")
@click.option("--no-settled", is_flag=True,
              help="SPEC only: do not use the spec's settled declarations (expand every state).")
@click.option("--no-saturation", is_flag=True,
              help="SPEC only: do not use the spec's saturates declarations (keep every counter's value).")
@click.option("--no-wait-merge", is_flag=True,
              help="SPEC only: keep every lock wait as a state, also those that keep nothing the statement reads "
                   "again (model/specmodel/waits.py).")
@click.option("--export", type=click.Path(dir_okay=False), default=None,
              help="SPEC only: write the first counterexample as a runnable pytest file (.py) or SQL script (.sql).")
def check_command(**options: Any) -> None:
    """Check a spec file (or a policy of the write-up's coordinator) against its properties, exhaustively.

    Give a SPEC file, your own coordinator (docs/your-coordinator.md): --scope sets its sizes, --switch
    its switches, --fault its fault budgets; --list shows each of them with its default. Without SPEC,
    --policy checks the write-up's coordinator, whose own options are listed last.
    Prints a summary (one line per property: verdict and counterexample length),
    then one counterexample per violated property. Exit 1 when a property is
    violated or left undecided by a budget (see --expect-violation).
    """
    o = options
    given = given_options()
    if o["spec"] is not None and o["list"]:
        from wavesim.commands.speclist import spec_listing
        click.echo(spec_listing(load_spec(o["spec"])))
        return
    if o["spec"] is not None:
        wrong = [n for n in BUILTIN_ONLY if n in given and n != "policy"]  # a spec may have a 'policy' switch
        if wrong:
            raise BadInput(f"--{wrong[0].replace('_', '-')} is for the write-up's coordinator (--policy); "
                           "a spec sets its sizes with --scope NAME=VALUE and its faults with --fault NAME=N")
        from wavesim.commands.speccheck import check_spec_command
        check_spec_command(o, o["expected"])
        return
    wrong = [n for n in SPEC_ONLY if n in given]
    if wrong:
        raise BadInput(f"--{wrong[0].replace('_', '-')} is for a spec file: give its path as SPEC")
    if o["policy"] is None:
        raise BadInput("give a spec file (wavesim check SPEC.py) or '--policy' with one of the write-up's "
                       f"policies: {', '.join(POLICIES)}")
    unknown = [p for p in o["properties"] if p not in PROPERTY_NAMES]
    if unknown:
        raise BadInput(f"--property {unknown[0]!r}: not one of {', '.join(PROPERTY_NAMES)}")
    sized = {k: o[k] for k in ("wave_size", "threshold") if o[k] is not None}
    sizes = {"wave_size": 2, "threshold": 50, **env_settings(), **sized}  # option > environment > default
    try:
        scope = Scope(waves=o["waves"], workers=o["workers"], max_handlers=o["max_handlers"], crashes=o["crashes"],
                      duplicates=o["duplicates"], losses=o["losses"], failures=o["failures"],
                      fifo=not o["any_order"],
                      crash_handlers=o["crash_handlers"], relay_lease=o["relay_lease"], **sizes)
    except ValueError as err:
        source = next((env_source(k) for k in sizes if k not in sized and str(err).startswith(k)), None)
        raise BadInput(f"{err} (from {source})" if source else str(err)) from None
    if o["max_states"] is not None and o["max_states"] < 1:
        raise BadInput(f"--max-states must be at least 1, got {o['max_states']}")
    if not o["time_limit"] > 0:  # NaN too
        raise BadInput(f"--time-limit must be above 0 seconds, got {o['time_limit']:g}")
    if not o["max_memory_mb"] > 0:
        raise BadInput(f"--max-memory must be above 0 MB, got {o['max_memory_mb']:g}")
    if o["pct_depth"] < 1:
        raise BadInput(f"--pct-depth must be at least 1, got {o['pct_depth']}")
    as_json, trace_out = o["as_json"], o["trace_out"]
    policy = switched(o["policy"], parse_specs(o.get("switch_specs") or ()))
    problem = lease_problem(scope, policy)
    if problem is not None:
        raise BadInput(problem)
    expected: Expected = o["expected"]
    asked = o["properties"] or PROPERTY_NAMES
    expected.require(((policy.name, p) for p in asked), why=" (add it with --property)")
    try:
        search = run_check(
            policy, scope, strategy=o["strategy"],
            properties=asked,
            max_states=o["max_states"], time_limit=o["time_limit"], max_memory_mb=o["max_memory_mb"],
            without=o["without"], shortest=o["shortest"], seed=o["seed"], depth=o["pct_depth"],
            bar=wanted(as_json=as_json), engine=o["engine"],
        )
    except (ConfigError, EngineUnavailable, PremiseBroken) as err:
        raise BadInput(str(err)) from None
    if trace_out is not None:  # written first: a file that cannot be written is one error line, no report
        traces = counterexamples(search)
        if traces:
            first = next(n for n in search.checked if n in traces)
            text = json.dumps(traces[first], indent=2)
            write_output(trace_out, lambda tmp: tmp.write_text(text + "\n", encoding="utf-8"))
        else:  # the report is the answer; a trace file would have nothing to hold
            click.echo(f"no counterexample: no property was violated, so {trace_out} was not written", err=True)
    click.echo(json.dumps(report_json(search), indent=2) if as_json else report_text(search, verbose=o["verbose"]))
    finish(verdicts(search), expected)


#: The checker benchmark's committed table (``python -m benchmarks.bench_checker --out ...``).
BENCHMARK_TABLE = "benchmarks/results/checker.txt"


@register("checker-benchmark")
def benchmark_table() -> str:
    """The committed checker benchmark, as measured (wall clock: rerun it to measure your own)."""
    text = (project_root() / BENCHMARK_TABLE).read_text(encoding="utf-8").rstrip("\n")
    return f"```\n$ python -m benchmarks.bench_checker --out {BENCHMARK_TABLE}\n{text}\n```"


#: The scopes of the generated reductions table (small, so that a test can regenerate it).
TABLE_SCOPES = (Scope(max_handlers=1), Scope(), Scope(losses=1))


@register("checker-reductions")
@cache  # a pure function of the code, and the slowest block: computed once per process
def reductions_table() -> str:
    """Distinct states with every reduction, without por and probe, without settled too, without the futures
    too, symmetry only, and none; and whether the verdicts agree."""
    lines = [
        "| policy | scope | all reductions | without por and probe | without settled too | without futures too "
        "| symmetry only | none | same verdicts | shortest lengths match |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for scope in TABLE_SCOPES:
        for name, policy in POLICIES.items():
            runs = [check(scope, policy, use=use)
                    for use in (tuple(REDUCTIONS), ("symmetry", "abstraction", "futures", "settled"),
                                ("symmetry", "abstraction", "futures"), ("symmetry", "abstraction"), ("symmetry",), ())]
            plain = runs[-1]
            shortest = check(scope, policy, shortest=True)
            same = all({n: r.holds(n) for n in PROPERTY_NAMES} == {n: plain.holds(n) for n in PROPERTY_NAMES}
                       for r in (*runs, shortest))
            lengths = ({n: len(f.labels) for n, f in shortest.found.items()}
                       == {n: len(f.labels) for n, f in plain.found.items()})
            label = f"{scope.waves}x{scope.wave_size}, {scope.max_handlers}" + (" +1 lost" if scope.losses else "")
            cells = " | ".join(f"{r.states:,}" + ("" if r.complete else " (decided early)") for r in runs)
            lines.append(f"| {name} | {label} | {cells} | {'yes' if same else 'NO'} | {'yes' if lengths else 'NO'} |")
    return "\n".join(lines) + "\n"
