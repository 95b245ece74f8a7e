"""``wavesim replay FILE``: turn a saved counterexample back into its step table."""

from __future__ import annotations

import json

import click

from model.trace import ReplayError, from_json, render, replay
from wavesim.errors import BadInput
from wavesim.files import read_text

__all__ = ["replay_command"]


@click.command("replay")
@click.argument("file", type=click.Path(dir_okay=False))
def replay_command(file: str) -> None:
    """Re-run a counterexample written by 'wavesim check --trace-out' and print its steps."""
    try:
        data = json.loads(read_text(file))
    except json.JSONDecodeError as err:
        raise BadInput(f"cannot read {file}: not JSON ({err.msg} at line {err.lineno})") from None
    if not isinstance(data, dict):
        raise BadInput(f"cannot read {file}: not a wavesim counterexample (expected a JSON object)")
    try:
        spec, prop, detail, steps, why = from_json(data)
        replayed = replay(spec, steps)
    except ReplayError as err:
        raise BadInput(f"{file}: {err}") from None
    click.echo(f"policy {spec.policy.name}; scope {spec.scope.label()}")
    click.echo(f"{prop} violated in {len(replayed)} steps: {detail}")
    click.echo(render(replayed))
    for line in why:
        click.echo(f"     way out? {line}")
