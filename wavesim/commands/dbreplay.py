"""``wavesim replay FILE --db URL``: a counterexample's steps, in order, on a real database.

Each handler run of the trace gets its own connection (``dbdriver`` session)
and runs the core's program as the model did; each batch report is one more
connection. Queue-only steps (a worker taking a job, an event waiting) touch
no row and are shown as such. After every step the real rows are read back
and printed; ``no_duplicate_claim`` is judged from the driver's record of the
runs told they own each wave (``claims``), and names them. The model keeps no
time, so to it every relay lease may have run out; the replay spaces its steps
further apart than the policy's lease so the database sees the same. The exit
code is 1 when the violated property shows in the real rows, 0 when it does not,
and 1 for ``queue_bounded``, which the rows cannot show (the queue is not in the
database): undecided.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

import click

from coordinator import Context, Effect, RecordBatchFinished, WaveTable, dispatch_wave, program_for
from coordinator import properties as props
from model.actions import Spec
from model.trace import TraceStep, effect_text, result_text, started_run, table_text

__all__ = ["JUDGED_IN_ROWS", "replay_on_database", "shows_in_rows"]

#: The properties the real rows can show (``queue_bounded`` needs the queue, which is not in the database).
JUDGED_IN_ROWS = ("single_active_wave", "one_wave_below_threshold", "threshold_respected", "no_duplicate_claim",
                  "no_duplicate_push", "no_stall", "import_completes")


def shows_in_rows(prop: str, tables: Sequence[WaveTable], spec: Spec) -> str | None:
    """The property's detail when the real rows break it (at any step), else None."""
    config = spec.scope.config
    state = {
        "single_active_wave": props.single_active_wave,
        "one_wave_below_threshold": lambda t: props.one_wave_below_threshold(t, config),
        "no_duplicate_claim": props.no_duplicate_claim,
        "no_duplicate_push": props.no_duplicate_push,
    }
    if prop in state:
        return next((d for t in tables if (d := state[prop](t)) is not None), None)
    if prop == "threshold_respected":
        pairs = zip(tables, tables[1:], strict=False)
        return next((d for a, b in pairs if (d := props.threshold_respected(a, b, config)) is not None), None)
    if prop in ("no_stall", "import_completes"):
        return props.import_completes(tables[-1])
    return None  # queue_bounded: the queue is not in the database


class _Run:
    def __init__(self, db: Any, program: Generator[Effect, object, object], name: str) -> None:
        self.cm = db.session()
        self.session = self.cm.__enter__()
        self.session.actor = name  # who, in the claims record
        self.program = program
        self.effect: Effect | None = next(program)

    def close(self) -> None:
        self.program.close()
        self.cm.__exit__(None, None, None)


def replay_on_database(db: Any, spec: Spec, prop: str, steps: Sequence[TraceStep]) -> tuple[list[str], str | None]:
    """Run ``steps`` on ``db``; the printed lines and the violation's detail in the real rows (or None)."""
    scope = spec.scope
    job = db.next_job_id()
    db.create_import(job_id=job, waves=scope.waves, wave_size=scope.wave_size)
    gap = (spec.policy.relay_lease_s or 0.0) + 1.0
    ctx = Context(job_id=job, policy=spec.policy, config=scope.config)
    with db.session() as s:  # the import dispatches wave 1, as the model's start does
        for effect in dispatch_wave(ctx, 1):
            s.apply(effect, 0.0)
    tables = [db.table(job)]
    lines = [f"import {job} in {db.prefix}wave_coordination on {db.url}",
             f"  0. start: wave 1 dispatched; table {table_text(tables[0])}"]
    runs: dict[str, _Run] = {}
    try:
        for step in steps:
            now = step.n * gap
            kind, what, result = step.action, step.what, ""
            if kind in ("batch_finish", "worker_crash", "batch_fail"):
                w, b = (int(x) for x in step.actor[1:].split("b"))
                with db.session() as s:
                    s.apply(RecordBatchFinished(job_id=job, wave=w, batch=b, failed=kind == "batch_fail"), now)
                result = step.result
            elif kind in ("listener_start", "reconciler_tick"):
                started = started_run(step, job)
                assert started is not None
                name, trigger = started
                runs[name] = _Run(db, program_for(trigger, spec.policy, scope.config), name)
                result = "a connection of its own"
            elif kind == "handler_step":
                run = runs[step.actor]
                assert run.effect is not None
                effect = run.effect
                value = run.session.apply(effect, now)
                what, result = effect_text(effect), result_text(value)
                try:
                    run.effect = run.program.send(value)
                except StopIteration as stop:
                    result += f"; {result_text(stop.value)}"
                    runs.pop(step.actor).cm.__exit__(None, None, None)
            elif kind == "handler_crash":
                runs.pop(step.actor).close()
                result = "its connection closes; its remaining steps never run"
            else:
                result = "(queue only: no row changes)"
            tables.append(db.table(job))
            lines.append(f"{step.n:3d}. {step.actor:<10} {what}" + (f" -> {result}" if result else ""))
            lines.append(f"     real table {table_text(tables[-1])}")
    finally:
        for run in runs.values():
            run.close()
    shown = shows_in_rows(prop, tables, spec)
    if shown is not None and prop == "no_duplicate_claim":  # who was told, from the claims record
        told = db.owners_told(job)
        shown += "; told: " + "; ".join(f"wave {w} to {', '.join(r)}" for w, r in told.items() if len(r) > 1)
    return lines, shown


def echo(lines: Sequence[str]) -> None:
    for line in lines:
        click.echo(line)
