"""``wavesim check SPEC``: check a user's spec exhaustively, and print or save its counterexamples."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import click

from model.specmodel import Model, SpecSearch, check_spec
from model.specmodel.actions import FAULT_NAMES
from model.specmodel.search import Found
from model.specmodel.trace import Step, concrete, ghost_text, steps_of
from model.specmodel.wayout import stuck_state, ways_out
from model.specmodel.world import View, World
from spec.errors import Unsupported
from specfile.export import export_text
from specfile.load import given_scope, load_spec, model_of, pairs
from userio.errors import BadInput
from userio.exitcodes import Expected, finish
from userio.files import writes
from wavesim.commands.outputs import write_output

__all__ = ["SPEC_REDUCTIONS", "SpecRun", "counterexample_json", "run_spec_check", "spec_report_text"]

#: the reductions ``--without NAME`` switches off for a spec, named as the built-in checker names the one
#: doing the same work (``model.checker.REDUCTIONS``): workers interchangeable (as --no-symmetry), counters
#: saturated by the spec's saturates declarations (as --no-saturation), states settled by its settled
#: declarations judged but not expanded (as --no-settled), partial-order reduction, probe walks; the
#: built-in's ``futures`` has no counterpart here
SPEC_REDUCTIONS = ("symmetry", "abstraction", "settled", "por", "probe")


@dataclass(frozen=True, slots=True)
class SpecRun:
    """A finished check with each counterexample's concrete steps."""

    search: SpecSearch
    steps: dict[str, tuple[Step, ...]]


def run_spec_check(model: Model, *, properties: tuple[str, ...] | None, max_states: int | None,
                   time_limit: float, shortest: bool = False, settled: bool = True,
                   without: frozenset[str] = frozenset()) -> SpecRun:
    """Check ``model``; ``shortest`` switches off the partial-order reduction and the probe walks, which may
    lengthen a counterexample; ``settled``: use the spec's settled declarations; ``without``: search
    reductions of ``SPEC_REDUCTIONS`` switched off (``por``, ``probe``, ``settled``; the model's own,
    symmetry and abstraction, are the model's to leave out)."""
    try:
        search = check_spec(model, properties=properties, max_states=max_states, time_limit=time_limit,
                            por=not shortest and "por" not in without, probe=not shortest and "probe" not in without,
                            settled=settled and "settled" not in without)
        steps = {}
        for name, found in search.found.items():
            moves, start = concrete(model, found)
            steps[name] = steps_of(model, moves, start)
    except Unsupported as refused:
        raise BadInput(f"spec {model.spec.name}: {refused}") from None
    return SpecRun(search, steps)


def header(model: Model) -> str:
    spec = model.spec
    faults = ", ".join(f"{f}={n}" for f, n in zip(FAULT_NAMES, model.budgets, strict=True) if n) or "none"
    level = model.level or model.engine.dialect.default_level
    scope = repr(model.scope) or "(none)"
    return (f"spec {spec.name}; scope {scope}; {model.engine.dialect.name} {level}; "
            f"queue order {model.order}; faults {faults}")


def reductions_text(search: SpecSearch) -> str:
    model = search.model
    used = (["symmetry of workers"] if model.symmetry else []) + (["runs merged by frames"] if model.frames else [])
    if model.saturation:
        used.append("saturated " + ", ".join(f"{d.table}.{d.column}" if d.table else f"the count of {d.column!r}"
                                             for d in model.spec.saturated))
    if model.waits is not None and model.waits.on:
        used.append("waits that keep nothing merged")
    if search.por:
        used.append(f"partial-order ({search.reduced} states expanded by one step alone)" if search.reduced
                    else "partial-order (no state reduced here)")
    if search.settled:
        used.append(f"settled ({search.settled} states judged, not expanded)")
    if search.probe and any(model.spec.properties[n].kind == "eventually" for n in search.checked):
        used.append("probe walks")
    return ", ".join(used) or "none"


def _verdict(search: SpecSearch, name: str) -> str:
    holds = search.holds(name)
    if holds is None:
        return f"unknown ({search.budget} budget ran out)" if search.budget else "unknown"
    return "holds" if holds else "VIOLATED"


def step_lines(steps: tuple[Step, ...], model: Model | None = None) -> list[str]:
    """Numbered steps; with ``model``, each followed by the committed rows, queues and ghost counts."""
    lines = []
    for n, step in enumerate(steps, 1):
        what = f"{step.sql}  -> {step.outcome}" if step.sql else step.outcome
        job = f" {step.job}" if step.job and step.op is not None else ""
        where = f"  [{step.where.rsplit('/', 1)[-1]}]" if step.where else ""
        lines.append(f"{n:3d}. {step.worker}{job}: {what}{where}")
        if model is not None:
            lines.append(f"     {world_text(model, step.after)}")
    return lines


def world_text(model: Model, world: World) -> str:
    """The committed rows, the queues and the ghost counts of ``world``, on one line."""
    view = View(world, model.spec.schema, model.scope)
    rows = "; ".join(f"{t.name} {view.rows(t.name)}" for t in model.spec.schema.tables)
    queues = "; ".join(f"{q}: [{', '.join(str(j) for j in jobs)}]"
                       for q, jobs in zip(model.queue_names, world.queues, strict=True))
    return f"rows {rows} | queue {queues} | ghost {ghost_text(world)}"


def liveness_lines(model: Model, found: Found) -> list[str]:
    if found.kind == "trap":
        how = "trapped: steps are left, none leading to the goal"
    elif any(r is not None for r in found.path[-1].slots) or any(found.path[-1].queues):
        how = "stalled: jobs are left but none can move"
    else:
        how = "ended: no job is left"
    lines = [f"  the state it ends in ({how}):"]
    lines.extend(f"     {line}" for line in stuck_state(model, found.path[-1]))
    lines.append(f"     ghost counts: {ghost_text(found.path[-1])}")
    if found.kind == "trap":
        kinds = sorted({str(label[0]) for label in found.exits})
        lines.append(f"     steps still possible, none leading to {found.name}: {', '.join(kinds) or 'none'}")
    lines.extend(f"  way out? {text}" for text in ways_out(model, found))
    return lines


def spec_report_text(run: SpecRun, *, timings: bool = True, verbose: bool = False) -> str:
    """The summary, one line per property, and each counterexample (``timings``: with seconds and rate)."""
    search, model = run.search, run.search.model
    rate = search.states / search.seconds if search.seconds > 0 else float("inf")
    status = "complete" if search.complete else "decided early" if search.decided else "INCOMPLETE"
    timing = f", {search.seconds:.2f} s, {rate:,.0f} states/s" if timings else ""
    lines = [
        header(model),
        f"{status}: {search.states} distinct states, {search.transitions} transitions, depth {search.depth}{timing}",
        f"reductions: {reductions_text(run.search)}",
    ]
    if search.stop_reason:
        lines.append(f"stopped: {search.stop_reason}")
    fused = [j.name for j in model.spec.jobs.values() if j.ack == "with_last_step"]
    if fused:
        lines.append(f"note: {', '.join(fused)} acknowledge(s) with the last step (ack=\"with_last_step\"): no other "
                     "worker runs between that step and the ack")
    if (search.por and search.reduced or search.probe) and search.found:
        lines.append("note: counterexamples may be longer than the shortest (partial-order reduction, probe "
                     "walks); --shortest gives minimal ones")
    if search.undecided:
        lines.append(f"undecided: {', '.join(search.undecided)}")
    width = max(len(_verdict(search, n)) for n in search.checked)
    name_width = max(len(n) for n in search.checked) + 2
    lines.append(f"  {'property':<{name_width}} {'verdict':<{width}} counterexample")
    for name in search.checked:
        found = search.found.get(name)
        length = f"{len(found.labels)} steps" if found is not None else "-"
        lines.append(f"  {name:<{name_width}} {_verdict(search, name):<{width}} {length}")
    for name in search.checked:
        found = search.found.get(name)
        if found is None:
            continue
        lines.append("")
        lines.append(f"{name} violated in {len(found.labels)} steps: {found.detail}")
        lines.extend(step_lines(run.steps[name], model if verbose else None))
        if found.kind in ("stall", "trap"):
            lines.extend(liveness_lines(model, found))
    return "\n".join(lines)


def counterexample_json(model: Model, found: Found, steps: tuple[Step, ...]) -> dict[str, Any]:
    """A counterexample as JSON: enough to run it again (``wavesim replay``), and readable."""
    return {
        "spec": model.spec.source,
        "spec_name": model.spec.name,
        "scope": {k: v for k, v in model.scope.items()},
        "dialect": model.engine.dialect.name,
        "level": model.level,
        "order": model.order,
        "faults": dict(zip(FAULT_NAMES, model.budgets, strict=True)),
        "property": found.name,
        "kind": found.kind,
        "detail": found.detail,
        "labels": [list(s.label) for s in steps],
        "steps": [{"worker": s.worker, "job": s.job, "sql": s.sql, "outcome": s.outcome, "where": s.where}
                  for s in steps],
    }


def report_json(run: SpecRun) -> dict[str, Any]:
    search, model = run.search, run.search.model
    return {
        "spec": model.spec.name,
        "scope": {k: v for k, v in model.scope.items()},
        "dialect": model.engine.dialect.name,
        "level": model.level or model.engine.dialect.default_level,
        "order": model.order,
        "faults": dict(zip(FAULT_NAMES, model.budgets, strict=True)),
        "complete": search.complete,
        "decided": search.decided,
        "states": search.states,
        "transitions": search.transitions,
        "depth": search.depth,
        "seconds": round(search.seconds, 3),
        "stop_reason": search.stop_reason,
        "budget": search.budget,
        "reductions": reductions_text(search),
        "shortest": not (search.por and search.reduced) and not search.probe,
        "properties": {
            name: {
                "kind": model.spec.properties[name].kind,
                "holds": search.holds(name),
                "counterexample": counterexample_json(model, search.found[name], run.steps[name])
                if name in search.found else None,
            }
            for name in search.checked
        },
    }


def check_spec_command(o: dict[str, Any], expected: Expected) -> None:
    """The ``check`` command when it is given a spec file."""
    without = frozenset(o.get("without") or ())
    other = sorted(without - set(SPEC_REDUCTIONS))
    if other:
        raise BadInput(f"--without {other[0]}: the write-up's coordinator's reduction; a spec's are "
                       f"{', '.join(SPEC_REDUCTIONS)}")
    spec = load_spec(o["spec"])
    scope = given_scope(spec, o["scope"], o.get("switch_specs") or (), o.get("policy"))
    model = model_of(spec, scope=scope, faults=pairs(o["fault"], "--fault"), dialect=o["dialect"],
                     level=o["isolation"], order=o["order"],
                     symmetry=not o["no_symmetry"] and "symmetry" not in without,
                     saturation=not o.get("no_saturation") and "abstraction" not in without,
                     wait_merge=not o.get("no_wait_merge"))
    asked = tuple(o["properties"]) or tuple(spec.properties)
    for name in asked:
        if name not in spec.properties:
            raise BadInput(f"--property {name}: spec {spec.name} has no such property "
                           f"(it has {', '.join(spec.properties)})")
    expected.require(((spec.name, p) for p in asked), why=f" (spec {spec.name} has {', '.join(spec.properties)})")
    if o["max_states"] is not None and o["max_states"] < 1:
        raise BadInput(f"--max-states must be at least 1, got {o['max_states']}")
    if not o["time_limit"] > 0:
        raise BadInput(f"--time-limit must be above 0 seconds, got {o['time_limit']:g}")
    if o.get("export") is not None and not str(o["export"]).endswith((".py", ".sql")):
        raise BadInput(f"--export {o['export']}: write a .py (pytest) or .sql file")
    run = run_spec_check(model, properties=asked, max_states=o["max_states"], time_limit=o["time_limit"],
                         shortest=o["shortest"], settled=not o["no_settled"], without=without)
    first = next((n for n in asked if n in run.search.found), None)
    for option in ("trace_out", "export"):
        path = o.get(option)
        if path is None:
            continue
        if first is None:
            click.echo(f"no counterexample: no property was violated, so {path} was not written", err=True)
            continue
        trace = counterexample_json(model, run.search.found[first], run.steps[first])
        text = json.dumps(trace, indent=2) + "\n" if option == "trace_out" else export_text(trace, path, model)
        write_output(path, writes(text))
    click.echo(json.dumps(report_json(run), indent=2) if o["as_json"]
               else spec_report_text(run, verbose=o["verbose"]))
    finish({(spec.name, n): run.search.holds(n) for n in asked}, expected)
