"""``wavesim demo``: one policy's story in miniature, on the pure core, to its end.

The steps read like a counterexample of ``wavesim check``: numbered, one DB
operation each, with its actor and result, and the table after it. The import
starts; then batch jobs run one at a time in queue order, and after each its
listener's handler run goes to its end before the next batch finishes, so the
demo shows what a policy decides, not a race (``wavesim check`` finds those).
When no batch is left, a delayed auto-trigger fires (``seed-fix``), else a
reconciler tick runs (``atomic``); the story ends when the import completes or
nothing is left to run: the stall, for ``guarded``. It ends with a summary:
what happened and each property's verdict, judged by the simulation's own
monitors (``sim.monitors``) with the step number as the clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator
from typing import Any

import click

from coordinator import (
    POLICIES,
    PROPERTY_NAMES,
    AutoTriggerFired,
    BatchJobCompleted,
    Effect,
    EnqueueBatches,
    ImportStarted,
    Policy,
    ReconcilerTicked,
    ScheduleTrigger,
    Status,
    Trigger,
    WaveConfig,
    WaveTable,
    apply,
    finish_batch,
    new_import,
    program_for,
)
from model.trace import effect_text, result_text, table_text
from sim.monitors import Monitors
from userio.errors import BadInput
from userio.exitcodes import Expected, expect_option, finish, properties_held
from wavesim.helpsections import SpecFirstCommand
from wavesim.switches import parse_specs, switch_option, switched

__all__ = ["Story", "demo", "miniature", "story"]

JOB_ID = 1
#: The most handler runs a story takes before it is cut short (every policy ends far sooner at the demo's scope).
MAX_RUNS = 500


class Story:
    """The numbered step lines of one miniature, the table they act on, the queue and the verdicts."""

    def __init__(self, table: WaveTable, policy: Policy, config: WaveConfig) -> None:
        self.table, self.policy, self.config = table, policy, config
        self.n, self.runs = 0, 0
        self.queue: deque[tuple[int, int]] = deque()  # batch jobs pushed and not yet run: (wave, batch)
        self.delayed = 0  # auto-trigger jobs scheduled and not yet fired
        self.monitors = Monitors(config)
        self.lines = [f"  0. start      table {table_text(table)}"]
        self.ending = ""
        self.stalled = False

    def line(self, actor: str, text: str) -> None:
        self.n += 1
        self.lines.append(f"{self.n:3d}. {actor:<10} {text}")

    def run(self, actor: str, program: Generator[Effect, object, object]) -> object:
        """Run ``program`` to its end, one numbered step per DB operation, the table after each."""
        try:
            effect = next(program)
            while True:
                before = self.table
                self.table, result = apply(self.table, effect, 0.0)
                self.line(actor, f"{effect_text(effect)} -> {result_text(result)}")
                self.lines.append(f"     table {table_text(self.table)}")
                self._after(effect, before, result)
                effect = program.send(result)
        except StopIteration as stop:
            return stop.value

    def _after(self, effect: Effect, before: WaveTable, result: object) -> None:
        """What an operation means beyond the table: jobs pushed, a trigger scheduled, the verdicts."""
        if isinstance(effect, EnqueueBatches) and result:
            self.queue.extend((effect.wave, b) for b in range(self.config.wave_size))
            self.monitors.after_enqueue(len(self.queue), self.n)
        elif isinstance(effect, ScheduleTrigger):
            self.delayed += 1
        self.monitors.after_write(effect, before, self.table, self.n)

    def handler(self, trigger: Trigger, why: str) -> None:
        self.runs += 1
        name = f"h{self.runs}"
        actor = {BatchJobCompleted: "listener", AutoTriggerFired: "trigger", ReconcilerTicked: "reconciler"}.get(
            type(trigger), "start")
        self.line(actor, f"{why}: starts handler run {name}")
        decision = self.run(name, program_for(trigger, self.policy, self.config))
        self.lines.append(f"     {name} {result_text(decision)}")

    def done(self) -> bool:
        return all(r.status is Status.COMPLETED for r in self.table.rows)

    def tell(self) -> None:
        """Run the story to its end: batches in queue order, then delayed triggers, then reconciler ticks."""
        self.handler(ImportStarted(job_id=JOB_ID), "the import starts")
        while self.runs < MAX_RUNS and not self.done():
            if self.queue:
                wave, batch = self.queue.popleft()
                self.run(f"w{wave}b{batch}", finish_batch(JOB_ID, wave, batch))
                self.handler(BatchJobCompleted(job_id=JOB_ID, wave=wave, batch=batch),
                             f"BatchJobCompleted(w{wave}b{batch})")
            elif self.delayed:
                self.delayed -= 1
                self.handler(AutoTriggerFired(job_id=JOB_ID), "no batch left; the delayed auto-trigger fires")
            elif self.policy.reconciler_period_s is not None:
                rows = self.table
                self.handler(ReconcilerTicked(job_id=JOB_ID), "no batch left; the reconciler ticks")
                if self.table == rows and not self.queue and not self.delayed:
                    self.ending = "the reconciler's tick changed nothing"
                    break
            else:
                self.ending = "no batch, event or trigger is left to run"
                break
        if self.runs >= MAX_RUNS and not self.done():
            self.ending = f"cut short after {MAX_RUNS} handler runs"
        elif not self.done():
            self.stalled = self.monitors.at_quiescence(self.table, self.n)
        self.monitors.at_end(self.table, self.n, horizon=False)

    def summary(self) -> list[str]:
        rows = self.table.rows
        completed = sum(1 for r in rows if r.status is Status.COMPLETED)
        twice = [f"{r.wave_number} x{r.dispatch_count}" for r in rows if r.dispatch_count > 1]
        if self.done():
            end = f"the import completed: all {len(rows)} waves, after {self.n} steps"
        else:
            left = ", ".join(f"{r.wave_number} {r.status.value}" for r in rows if r.status is not Status.COMPLETED)
            verb = "stalled" if self.stalled else "stopped"
            end = f"the import {verb} after {self.n} steps: {self.ending}; waves not completed: {left}"
        lines = [
            "",
            f"summary: {end}",
            f"  waves completed {completed}/{len(rows)}, pushed {sum(1 for r in rows if r.dispatch_count)}, "
            f"pushed more than once: {', '.join(twice) or 'none'}; handler runs {self.runs}",
            "properties:",
        ]
        for name, v in self.monitors.to_dict().items():
            verdict = "holds" if v["holds"] else f"VIOLATED at step {v['first_violation_s']:.0f}"
            lines.append(f"  {name:26s} {verdict}: {v['detail']}")
        return lines


def story(policy: str, *, waves: int = 5, wave_size: int = 2, threshold: int = 50,
          switches: dict[str, object] | None = None) -> tuple[list[str], dict[str, Any]]:
    """The miniature's lines and its verdicts (``Monitors.to_dict()``)."""
    config = WaveConfig(wave_size=wave_size, completion_threshold=threshold)
    chosen = switched(policy, switches or {})
    told = Story(new_import(job_id=JOB_ID, waves=waves, wave_size=wave_size), chosen, config)
    told.tell()
    given = "".join(f" --switch {k}={v}" for k, v in sorted((switches or {}).items()))
    head = [f"policy {policy}{given}: {waves} waves x {wave_size} batches at {threshold}%",
            "batches run one at a time in queue order; after each, its listener's handler run goes to its end "
            "(races: see 'wavesim check')"]
    return [*head, *told.lines, *told.summary()], told.monitors.to_dict()


def miniature(policy: str, **options: Any) -> list[str]:
    """The lines of ``story``."""
    return story(policy, **options)[0]


@click.command(cls=SpecFirstCommand, spec_takes=("spec", "scope", "dialect", "switch_specs", "expected"))
@click.argument("spec", required=False, is_eager=True, metavar="[SPEC]")
@click.option("--policy", type=click.Choice(list(POLICIES)), default="original", show_default=True,
              help="Which coordinator policy to run (when no SPEC file is given).")
@click.option("--scope", "scope", multiple=True, metavar="NAME=VALUE", help="SPEC only: a scope size of the spec.")
@click.option("--dialect", type=click.Choice(["postgresql", "mysql", "sqlite"]), default=None,
              help="SPEC only: the engine the model follows. [default: the spec's]")
@switch_option
@expect_option
def demo(policy: str, switch_specs: tuple[str, ...], expected: Expected, spec: str | None = None,
         scope: tuple[str, ...] = (), dialect: str | None = None) -> None:
    """Show, step by step, what a spec's jobs (or a policy of the write-up's coordinator) do, to the end.

    Give a SPEC file to see your own coordinator's story (docs/your-coordinator.md): its jobs run one
    at a time, with no race, so that you can read what each statement does. Without SPEC, --policy
    tells the write-up's coordinator's story as batches finish. Ends with a summary and each
    property's verdict; the exit code follows them (original breaks single_active_wave, guarded
    stalls: say so with --expect-violation).
    """
    if spec is not None:
        from wavesim.commands.specdemo import demo_spec_command
        demo_spec_command(spec, {"scope": scope, "switch_specs": switch_specs, "dialect": dialect}, expected)
        return
    if scope or dialect:
        raise BadInput("--scope and --dialect are for a spec file: give its path as SPEC")
    expected.require((policy, name) for name in PROPERTY_NAMES)
    lines, verdicts = story(policy, switches=parse_specs(switch_specs))
    for line in lines:
        click.echo(line)
    finish(properties_held(policy, verdicts), expected)
