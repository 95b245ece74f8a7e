"""``wavesim replay TRACE`` for a spec's counterexample: the steps again in the model, or on a real database.

In the model the saved steps are taken again from the spec as it is now: a step that is no longer
possible (the spec or its scope changed) is one line, exit 2. The trace's property is judged in the last
state: an ``always`` property on its rows and ghost counts, a stall by "no step left and the goal not
reached", a trap by a search from the last state that finds no fault-free way to the goal.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import click

from model.specmodel import Model, World
from model.specmodel.actions import FAULT_NAMES, Move
from model.specmodel.search import judge
from model.specmodel.trace import replay_labels, steps_of
from model.specmodel.world import View
from spec.errors import Unsupported
from wavesim.commands.speccheck import model_of, step_lines
from wavesim.errors import BadInput
from wavesim.exitcodes import Expected, finish
from wavesim.specfile import load_spec

__all__ = ["TRAP_SEARCH_STATES", "is_spec_trace", "model_for_trace", "replay_spec_trace", "violated_in"]

#: states a replay may visit to confirm that the trace ends in a trap
TRAP_SEARCH_STATES = 200_000


def is_spec_trace(data: dict[str, Any]) -> bool:
    return "spec" in data and "labels" in data


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def model_for_trace(data: dict[str, Any], file: str, spec_path: str | None = None) -> Model:
    """The model the trace was found in: its spec file, scope, engine, level, order and fault budgets."""
    try:
        path = spec_path or data["spec"]
        spec = load_spec(path)
        faults = {k: str(v) for k, v in data.get("faults", {}).items() if k in FAULT_NAMES}
        return model_of(spec, scope={k: _text(v) for k, v in data["scope"].items()}, faults=faults,
                        dialect=data.get("dialect"), level=data.get("level"), order=data.get("order"),
                        symmetry=False)
    except (KeyError, TypeError, AttributeError) as err:
        raise BadInput(f"cannot read {file}: not a spec counterexample (missing {err})") from None


def moves_of(model: Model, data: dict[str, Any], file: str) -> tuple[Move, ...]:
    try:
        return replay_labels(model, [list(label) for label in data["labels"]])
    except ValueError as err:
        raise BadInput(f"{file}: {err}") from None
    except Unsupported as refused:
        raise BadInput(f"spec {model.spec.name}: {refused}") from None


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
    seen = {last}
    frontier = deque([last])
    while frontier:
        if len(seen) > TRAP_SEARCH_STATES:
            return None
        world = frontier.popleft()
        if judge(spec_prop, View(world, model.spec.schema, model.scope)) is None:
            return None
        for move in model.moves(world):
            if not move.fault and move.world not in seen:
                seen.add(move.world)
                frontier.append(move.world)
    return f"from the last state no fault-free run reaches {prop} ({len(seen)} states searched)"


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
        from wavesim.commands.specdbreplay import replay_spec_on_database
        replay_spec_on_database(db_url, prefix, model, data, moves, start, expected)
        return
    click.echo(f"spec {model.spec.name}; scope {repr(model.scope) or '(none)'}; {model.engine.dialect.name}")
    click.echo(f"{prop} ({data.get('kind')}) in {len(steps)} steps: {data.get('detail', '')}")
    for line in step_lines(steps):
        click.echo(line)
    shown = violated_in(model, prop, data.get("kind", "always"), last)
    click.echo(f"{prop} VIOLATED in the model: {shown}" if shown else f"{prop}: the violation does not show")
    finish({(model.spec.name, prop): shown is None}, expected)
