"""``wavesim replay TRACE`` for a spec's counterexample: the steps again in the model, or on a real database.

In the model the saved steps are taken again from the spec as it is now: a step that is no longer
possible (the spec or its scope changed) is one line, exit 2. The trace's property is judged in the last
state: an ``always`` property on its rows and ghost counts, a stall by "no step left and the goal not
reached", a trap by a search from the last state that finds no fault-free way to the goal.
"""

from __future__ import annotations

from typing import Any

import click

from model.specmodel import Model, World
from model.specmodel.actions import Move
from model.specmodel.trace import steps_of
from model.specmodel.wayout import reaches_goal
from model.specmodel.world import View
from spec.view import judge
from specfile.replay import model_for_trace, moves_of, other_engine
from userio.errors import BadInput
from userio.exitcodes import Expected, finish
from wavesim.commands.speccheck import step_lines

__all__ = ["SPEC_PREFIX", "TRAP_SEARCH_STATES", "is_spec_trace", "model_for_trace", "replay_spec_trace", "violated_in"]

#: the prefix of a spec's tables on a real database (``--prefix``), apart from the write-up's ``wavesim_``
SPEC_PREFIX = "wavesim_spec_"
#: states a replay may visit to confirm that the trace ends in a trap
TRAP_SEARCH_STATES = 200_000


def is_spec_trace(data: dict[str, Any]) -> bool:
    return "spec" in data and "labels" in data


def violated_in(model: Model, prop: str, kind: str, last: World) -> str | None:
    """The property's violation in ``last`` (the trace's last state), or None when it does not show."""
    spec_prop = model.spec.properties[prop]
    view = View(last, model.spec.schema, model.scope)
    if spec_prop.kind == "always":
        return judge(spec_prop, view)
    if judge(spec_prop, view) is None:
        return None
    if kind == "stall":
        onward = [m for m in model.moves(last) if not m.fault]
        return None if onward else f"no step is left and {prop} is not reached"
    if reaches_goal(model, last, spec_prop, TRAP_SEARCH_STATES) is False:
        return f"from the last state no fault-free run reaches {prop}"
    return None


def _on_database(url: str, prefix: str, model: Model, data: dict[str, Any], moves: tuple[Move, ...],
                 start: World, expected: Expected) -> None:
    import dbdriver
    from specfile.replay import replay_on_database

    prop = data["property"]
    try:
        done = replay_on_database(model, moves, start, url, prefix, prop)
    except dbdriver.DatabaseError as err:
        raise BadInput(str(err)) from None
    from sqlalchemy.engine import make_url

    shown = make_url(url).render_as_string(hide_password=True)
    click.echo(f"spec {model.spec.name}; scope {repr(model.scope) or '(none)'}; on {shown}")
    click.echo(f"{prop} violated in the model in {len(moves)} steps: {data.get('detail', '')}")
    for line in done.lines:
        click.echo(line)
    for table, rows in done.rows.items():
        click.echo(f"real rows of {table}: {rows}")
    if done.diverged:
        click.echo(f"the engine diverged from the model at {done.diverged}")
    held: bool | None = done.violation is None
    if done.violation is not None:
        click.echo(f"{prop} VIOLATED in the real rows (with the model's queues and ghost counts): {done.violation}")
    elif done.diverged and model.spec.properties[prop].kind == "eventually":
        click.echo(f"{prop}: undecided (the replay stopped before the trace's end)")
        held = None
    else:
        click.echo(f"{prop}: the violation does not show in the real rows")
    finish({(model.spec.name, prop): held}, expected)


def replay_spec_trace(file: str, data: dict[str, Any], *, db_url: str | None, prefix: str, expected: Expected,
                      spec_path: str | None = None) -> None:
    model = model_for_trace(data, file, spec_path)
    prop = data.get("property")
    if prop not in model.spec.properties:
        raise BadInput(f"{file}: spec {model.spec.name} has no property {prop!r}")
    expected.require([(model.spec.name, prop)])
    moves = moves_of(model, data, file)
    start = model.initial()
    steps = steps_of(model, moves, start)
    last = moves[-1].world if moves else start
    if db_url is not None:
        assumed = [lease.switch for lease in model.spec.leases.values() if model.scope[lease.switch] != "expired"]
        if assumed:  # a real engine's leases run out by its clock, which this trace assumes away
            raise BadInput(f"{file} was checked with --switch {assumed[0]}={model.scope[assumed[0]]}: its lease "
                           "reads depend on claim times, so it replays in the model only (without --db)")
        problem = other_engine(model.engine.dialect.name, db_url, file)
        if problem is not None:
            raise BadInput(problem)
        _on_database(db_url, prefix, model, data, moves, start, expected)
        return
    click.echo(f"spec {model.spec.name}; scope {repr(model.scope) or '(none)'}; {model.engine.dialect.name}")
    click.echo(f"{prop} ({data.get('kind')}) in {len(steps)} steps: {data.get('detail', '')}")
    for line in step_lines(steps):
        click.echo(line)
    shown = violated_in(model, prop, data.get("kind", "always"), last)
    click.echo(f"{prop} VIOLATED in the model: {shown}" if shown else f"{prop}: the violation does not show")
    finish({(model.spec.name, prop): shown is None}, expected)
