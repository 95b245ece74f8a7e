"""``wavesim check``: model-check one policy on a small scope."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from coordinator import POLICIES, PROPERTY_NAMES, ConfigError, Policy, policy_named
from model.checker import Search, check, reductions
from model.scope import Scope
from model.search import walk_search
from model.trace import render, steps_of, to_json, why_stuck
from wavesim.envdefaults import env_settings, env_source
from wavesim.errors import BadInput
from wavesim.files import atomic_write
from wavesim.progress import progress_bar, wanted
from wavesim.switches import model_note, parse_specs, switch_option, switched

__all__ = ["check_command", "report_json", "run_check"]


def run_check(
    policy: str | Policy, scope: Scope, *, strategy: str = "bfs", properties: tuple[str, ...] = PROPERTY_NAMES,
    max_states: int = 2_000_000, time_limit: float = 300.0, seed: int = 0, depth: int = 3, bar: bool = False,
) -> Search:
    """Check ``policy`` on ``scope`` with one strategy (``bar``: a progress bar over states, BFS only)."""
    chosen = policy_named(policy) if isinstance(policy, str) else policy
    if strategy == "bfs":
        with progress_bar(max_states, desc="states", enabled=bar, unit="state") as states:
            return check(scope, chosen, properties=properties, max_states=max_states, time_limit=time_limit,
                         progress=lambda n: states.update(n - states.n))
    return walk_search(
        scope, chosen, strategy=strategy, seed=seed, depth=depth, properties=properties,
        max_states=max_states, time_limit=time_limit,
    )


def counterexamples(search: Search) -> dict[str, dict[str, Any]]:
    """Every violation found, as replayable JSON."""
    out = {}
    for name, found in search.found.items():
        steps = steps_of(search.spec, found.path)
        why = why_stuck(search.spec, found.path) if found.exits or name in ("no_stall", "import_completes") else ()
        out[name] = to_json(search.spec, name, found.detail, steps, why)
    return out


def report_json(search: Search) -> dict[str, Any]:
    """The issue's JSON report."""
    traces = counterexamples(search)
    return {
        "policy": search.spec.policy.name,
        "policy_switches": search.spec.policy.switches(),
        "model_note": model_note(search.spec.policy),
        "scope": search.spec.scope.as_dict(),
        "strategy": search.strategy,
        "complete": search.complete,
        "states": search.states,
        "transitions": search.transitions,
        "depth": search.depth,
        "seconds": round(search.seconds, 3),
        "reductions": list(reductions(search.spec.scope)),
        "stop_reason": search.stop_reason,
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


def report_text(search: Search) -> str:
    scope = search.spec.scope
    rate = search.states / search.seconds if search.seconds > 0 else float("inf")
    lines = [
        f"policy {search.spec.policy.name}; scope {scope.label()}; strategy {search.strategy}",
        f"{'complete' if search.complete else 'INCOMPLETE'}: {search.states} distinct states, "
        f"{search.transitions} transitions, depth {search.depth}, {search.seconds:.2f} s, {rate:,.0f} states/s",
        f"reductions: {'; '.join(reductions(scope))}",
    ]
    if search.stop_reason:
        lines.append(f"stopped: {search.stop_reason}")
    if scope.hides_overlap:
        lines.append("note: the threshold needs the whole wave at this scope, so waves cannot overlap")
    if model_note(search.spec.policy):
        lines.append(f"note: {model_note(search.spec.policy)}")
    for name in search.checked:
        verdict = {True: "holds", False: "VIOLATED", None: "unknown (search incomplete)"}[search.holds(name)]
        lines.append(f"  {name:<26} {verdict}")
    for name, data in counterexamples(search).items():
        found = search.found[name]
        lines.append("")
        lines.append(f"{name} violated in {len(found.labels)} steps: {found.detail}")
        lines.append(render(steps_of(search.spec, found.path)))
        for why in data["why_no_way_out"]:
            lines.append(f"     way out? {why}")
    return "\n".join(lines)


@click.command("check")
@click.option("--policy", required=True, type=click.Choice(list(POLICIES)), help="Which coordinator policy to check.")
@click.option("--waves", default=2, show_default=True, help="Main waves of the import (1-6).")
@click.option("--wave-size", type=int, default=None, help="Batch jobs per wave (1-6). [default: WAVE_SIZE, else 2]")
@click.option("--threshold", type=int, default=None,
              help="Completion threshold in percent; keep it above one batch and below the whole wave. "
                   "[default: WAVE_COMPLETION_THRESHOLD, else 50]")
@click.option("--workers", default=2, show_default=True, help="Workers taking batch jobs (1-6).")
@click.option("--handlers", "max_handlers", default=2, show_default=True,
              help="Handler runs that may be in flight at once (1-6).")
@click.option("--crashes", default=0, show_default=True,
              help="Budget of worker crashes after the record, before the ack.")
@click.option("--duplicates", default=0, show_default=True, help="Budget of duplicated completion events.")
@click.option("--losses", default=0, show_default=True, help="Budget of lost completion events.")
@click.option("--crash-handlers", is_flag=True,
              help="Let a crash (from the --crashes budget) also kill a handler run between two DB operations.")
@click.option("--any-order", is_flag=True, help="Let workers take any ready job, not only the front of the queue.")
@click.option("--property", "properties", multiple=True, type=click.Choice(list(PROPERTY_NAMES)),
              help="Check only this property (repeatable); default all seven.")
@click.option("--strategy", default="bfs", show_default=True, type=click.Choice(["bfs", "random", "pct"]),
              help="Exhaustive BFS, or seeded random walks / PCT for scopes too large to exhaust.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the random and PCT walks.")
@click.option("--pct-depth", default=3, show_default=True, help="PCT bug depth (priority change points + 1).")
@click.option("--max-states", default=2_000_000, show_default=True, help="Stop after this many distinct states.")
@click.option("--time-limit", default=300.0, show_default=True, help="Stop after this many seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@switch_option
@click.option("--trace-out", type=click.Path(dir_okay=False), default=None,
              help="Write the first counterexample found as JSON for 'wavesim replay'.")
def check_command(
    policy: str, waves: int, wave_size: int | None, threshold: int | None, workers: int, max_handlers: int,
    crashes: int, duplicates: int, losses: int, crash_handlers: bool, any_order: bool, properties: tuple[str, ...],
    strategy: str, seed: int, pct_depth: int, max_states: int, time_limit: float, as_json: bool,
    trace_out: str | None, switch_specs: tuple[str, ...] = (),
) -> None:
    """Check a policy against the properties on a small scope, exhaustively."""
    given = {k: v for k, v in (("wave_size", wave_size), ("threshold", threshold)) if v is not None}
    sizes = {"wave_size": 2, "threshold": 50, **env_settings(), **given}  # option > environment > default
    try:
        scope = Scope(waves=waves, workers=workers, max_handlers=max_handlers, crashes=crashes,
                      duplicates=duplicates, losses=losses, fifo=not any_order, crash_handlers=crash_handlers,
                      **sizes)
    except ValueError as err:
        source = next((env_source(k) for k in sizes if k not in given and str(err).startswith(k)), None)
        raise BadInput(f"{err} (from {source})" if source else str(err)) from None
    if max_states < 1:
        raise BadInput(f"--max-states must be at least 1, got {max_states}")
    if not time_limit > 0:  # NaN too
        raise BadInput(f"--time-limit must be above 0 seconds, got {time_limit:g}")
    if pct_depth < 1:
        raise BadInput(f"--pct-depth must be at least 1, got {pct_depth}")
    try:
        search = run_check(
            switched(policy, parse_specs(switch_specs)), scope, strategy=strategy,
            properties=properties or PROPERTY_NAMES, max_states=max_states,
            time_limit=time_limit, seed=seed, depth=pct_depth, bar=wanted(as_json=as_json),
        )
    except ConfigError as err:
        raise BadInput(str(err)) from None
    if trace_out is not None:
        traces = counterexamples(search)
        if not traces:
            raise BadInput(f"no counterexample to write to {trace_out}: no property was violated")
        first = next(n for n in search.checked if n in traces)
        text = json.dumps(traces[first], indent=2)

        def write(tmp: Path) -> None:
            tmp.write_text(text + "\n", encoding="utf-8")

        atomic_write(trace_out, write)
    click.echo(json.dumps(report_json(search), indent=2) if as_json else report_text(search))
