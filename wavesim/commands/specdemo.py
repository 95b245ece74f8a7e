"""``wavesim demo SPEC``: a spec's story in miniature, one job at a time, to its end.

Jobs are taken in queue order and each runs to its end (its ack) before the next is taken, so the demo
shows what the spec does, not a race (``wavesim check`` finds those). A periodic job is pushed only when
nothing else can run. The story ends when no step is left, or after ``MAX_STEPS``. Each ``always``
property is judged after every step, each ``eventually`` goal at the end.
"""

from __future__ import annotations

from typing import Any

import click

from model.specmodel import Model, World
from model.specmodel.actions import Move
from model.specmodel.trace import describe, ghost_text
from model.specmodel.world import View
from spec.view import judge
from specfile.load import load_spec, model_of, pairs
from userio.columns import name_width
from userio.exitcodes import Expected, finish
from wavesim.commands.speccheck import header, step_lines

__all__ = ["MAX_STEPS", "spec_story"]

#: the longest story told (a periodic job may otherwise run for ever)
MAX_STEPS = 500


def _next(model: Model, world: World) -> Move | None:
    moves = [m for m in model.moves(world) if not m.fault]
    busy = [m for m in moves if m.label[0] in ("step", "ack")]
    if busy:  # the run in progress goes on before anything is taken
        return min(busy, key=lambda m: m.label[1])
    taken = [m for m in moves if m.label[0] == "take"]
    return (taken or moves or [None])[0]  # type: ignore[list-item]


def spec_story(model: Model) -> tuple[list[str], dict[str, bool]]:
    """The story's lines and each property's verdict in it."""
    spec = model.spec
    world = model.initial()
    moves: list[Move] = []
    broken: dict[str, str] = {}
    start = world
    while len(moves) < MAX_STEPS:
        move = _next(model, world)
        if move is None:
            break
        moves.append(move)
        world = move.world
        for prop in spec.properties.values():
            if prop.kind == "always" and prop.name not in broken:
                detail = judge(prop, View(world, spec.schema, model.scope))
                if detail is not None:
                    broken[prop.name] = f"VIOLATED at step {len(moves)}: {detail}"
    steps = []
    before = start
    for move in moves:
        steps.append(describe(model, before, move))
        before = move.world
    ended = "no step is left" if len(moves) < MAX_STEPS else f"cut short after {MAX_STEPS} steps"
    lines = [header(model), "jobs run one at a time, each to its end (races: see 'wavesim check')",
             *step_lines(tuple(steps)), f"the story ends: {ended}"]
    for table in spec.schema.tables:
        lines.append(f"rows of {table.name}: {View(world, spec.schema, model.scope).rows(table.name)}")
    lines.append(f"ghost counts: {ghost_text(world)}")
    verdicts: dict[str, bool] = {}
    for prop in spec.properties.values():
        if prop.kind == "eventually":
            detail = judge(prop, View(world, spec.schema, model.scope))
            text = "reached" if detail is None else f"NOT reached: {detail}"
            verdicts[prop.name] = detail is None
        else:
            text = broken.get(prop.name, "holds")
            verdicts[prop.name] = prop.name not in broken
        lines.append(f"  {prop.name:{name_width(spec.properties)}s} {text}")
    return lines, verdicts


def demo_spec_command(path: str, options: dict[str, Any], expected: Expected) -> None:
    spec = load_spec(path)
    scope = pairs(options.get("scope") or (), "--scope")
    scope.update(pairs(options.get("switch_specs") or (), "--switch"))
    model = model_of(spec, scope=scope, faults={}, dialect=options.get("dialect"))
    expected.require((spec.name, p) for p in spec.properties)
    lines, verdicts = spec_story(model)
    for line in lines:
        click.echo(line)
    finish({(spec.name, name): held for name, held in verdicts.items()}, expected)
