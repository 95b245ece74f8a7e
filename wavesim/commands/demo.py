"""``wavesim demo``: the burst and the guard in miniature, on the pure core."""

from __future__ import annotations

import click

from coordinator import (
    POLICIES,
    ReconcilerTicked,
    WaveConfig,
    WaveTable,
    finish_batch,
    new_import,
    program_for,
    run_sequential,
)

__all__ = ["demo", "miniature"]


def miniature(policy: str, *, waves: int = 5, wave_size: int = 2, threshold: int = 50) -> list[str]:
    """Finish wave 1's batches, then one batch of wave 2, one handler run after each."""
    config = WaveConfig(wave_size=wave_size, completion_threshold=threshold)
    chosen = POLICIES[policy]
    table = new_import(job_id=1, waves=waves, wave_size=wave_size)

    def handle(t: WaveTable) -> tuple[WaveTable, object]:
        done = run_sequential(t, program_for(ReconcilerTicked(job_id=1), chosen, config))
        return done.table, done.results["h"]

    table, _ = handle(table)
    lines = []
    for wave, batch in [(1, b) for b in range(wave_size)] + [(2, 0)]:
        table = run_sequential(table, finish_batch(1, wave, batch)).table
        table, decision = handle(table)
        statuses = " ".join(f"{r.wave_number}={r.status.value}" for r in table.rows)
        lines.append(f"wave {wave} batch {batch} finished -> {decision}; {statuses}")
    return lines


@click.command()
@click.option("--policy", type=click.Choice(list(POLICIES)), default="original", show_default=True,
              help="Which coordinator policy to run.")
def demo(policy: str) -> None:
    """Show, step by step, what one policy does as batches finish."""
    for line in miniature(policy):
        click.echo(line)
