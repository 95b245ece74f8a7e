"""``wavesim demo``: the burst and the guard in miniature, on the pure core.

The steps read like a counterexample of ``wavesim check``: numbered, one DB
operation each, with its actor and result, and the table after it. Every
handler run here goes to its end before the next batch finishes, so the demo
shows what a policy decides, not a race (``wavesim check`` finds those).
"""

from __future__ import annotations

from collections.abc import Generator

import click

from coordinator import (
    POLICIES,
    BatchJobCompleted,
    Effect,
    ImportStarted,
    Policy,
    Trigger,
    WaveConfig,
    WaveTable,
    apply,
    finish_batch,
    new_import,
    program_for,
)
from model.trace import effect_text, result_text, table_text
from wavesim.switches import parse_specs, switch_option, switched

__all__ = ["demo", "miniature"]

JOB_ID = 1


class _Steps:
    """The numbered step lines of one miniature, and the table they act on."""

    def __init__(self, table: WaveTable) -> None:
        self.table, self.n, self.runs = table, 0, 0
        self.lines = [f"  0. start      table {table_text(table)}"]

    def line(self, actor: str, text: str) -> None:
        self.n += 1
        self.lines.append(f"{self.n:3d}. {actor:<10} {text}")

    def run(self, actor: str, program: Generator[Effect, object, object]) -> object:
        """Run ``program`` to its end, one numbered step per DB operation, the table after each."""
        try:
            effect = next(program)
            while True:
                self.table, result = apply(self.table, effect, 0.0)
                self.line(actor, f"{effect_text(effect)} -> {result_text(result)}")
                self.lines.append(f"     table {table_text(self.table)}")
                effect = program.send(result)
        except StopIteration as stop:
            return stop.value

    def handler(self, trigger: Trigger, why: str, policy: Policy, config: WaveConfig) -> None:
        self.runs += 1
        name = f"h{self.runs}"
        actor = "listener" if isinstance(trigger, BatchJobCompleted) else "start"
        self.line(actor, f"{why}: starts handler run {name}")
        decision = self.run(name, program_for(trigger, policy, config))
        self.lines.append(f"     {name} {result_text(decision)}")


def miniature(policy: str, *, waves: int = 5, wave_size: int = 2, threshold: int = 50,
              switches: dict[str, object] | None = None) -> list[str]:
    """Start the import, finish wave 1's batches, then one batch of wave 2; one handler run after each."""
    config = WaveConfig(wave_size=wave_size, completion_threshold=threshold)
    chosen = switched(policy, switches or {})
    steps = _Steps(new_import(job_id=JOB_ID, waves=waves, wave_size=wave_size))
    steps.handler(ImportStarted(job_id=JOB_ID), "the import starts", chosen, config)
    for wave, batch in [(1, b) for b in range(wave_size)] + [(2, 0)]:
        steps.run(f"w{wave}b{batch}", finish_batch(JOB_ID, wave, batch))
        steps.handler(BatchJobCompleted(job_id=JOB_ID, wave=wave, batch=batch), f"BatchJobCompleted(w{wave}b{batch})",
                      chosen, config)
    given = "".join(f" --switch {k}={v}" for k, v in sorted((switches or {}).items()))
    head = [f"policy {policy}{given}: {waves} waves x {wave_size} batches at {threshold}%",
            "after each batch, its listener's handler run goes to its end (races: see 'wavesim check')"]
    return [*head, *steps.lines]


@click.command()
@click.option("--policy", type=click.Choice(list(POLICIES)), default="original", show_default=True,
              help="Which coordinator policy to run.")
@switch_option
def demo(policy: str, switch_specs: tuple[str, ...]) -> None:
    """Show, step by step, what one policy does as batches finish."""
    for line in miniature(policy, switches=parse_specs(switch_specs)):
        click.echo(line)
