"""``wavesim replay FILE``: turn a saved counterexample back into its step table.

With ``--simulate`` the counterexample is replayed in the timed simulation
(``replay.scripted``): the same steps in the same order, with times drawn from the
scenario's distributions, judged by the simulation's monitors, and drawn with
``replay.plot.replay_figure`` when ``--plot`` names a file.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from coordinator import PROPERTY_NAMES, ConfigError
from coordinator.policy import with_given
from dbdriver.database import PREFIX_RULE
from model.trace import ReplayError, from_json, render, replay, table_text
from userio.errors import BadInput
from userio.exitcodes import NO_EXPECTATION, Expected, expect_option, finish, properties_held
from userio.files import check_output, read_text
from wavesim.commands.outputs import write_output
from wavesim.dboption import resolved_db_url
from wavesim.helpsections import SpecFirstCommand
from wavesim.switches import parse_specs

if TYPE_CHECKING:
    from replay.scripted import ScriptedRun

__all__ = ["replay_command", "simulated_text"]

_PLOTS = (".png", ".svg")


def simulated_text(run: ScriptedRun) -> str:
    """The timed step table, then the properties that failed and when."""
    r = run.result
    lines = [
        f"{run.prop} counterexample replayed in the simulation: policy {r.scenario.policy}, seed {r.scenario.seed}",
        f"{'time (s)':>10}  {'step':>4}  {'actor':<10} {'operation':<42} result",
    ]
    drained = False
    for s in run.steps:
        if s.drained and not drained:
            drained = True
            lines.append("      -- the trace ends here; its remaining fault-free steps follow until nothing is left --")
        lines.append(f"{s.t:10.4f}  {s.n:4d}  {s.actor:<10} {s.what:<42} {s.result}".rstrip())
    m = r.metrics
    end = {"stopped": "stopped after the trace's last step", "completed": "completed"}.get(r.outcome, r.outcome)
    if m["stalled"]:
        end = f"stalled at wave {m['stall_wave']} (nothing left to run)"
    lines.append(f"final table, as the model recorded it: {table_text(r.table)}")
    lines.append(f"run {end} at {m['makespan_s']:.4f} s; waves completed {m['waves_completed']}/{m['waves_total']}; "
                 f"peak queue depth {m['peak_queue_depth']}; duplicate dispatches {m['duplicate_dispatches']}")
    failed = [(name, v) for name, v in r.properties.items() if not v["holds"]]
    for name, v in failed:
        lines.append(f"  VIOLATED {name} at {v['first_violation_s']:.4f} s: {v['detail']}")
    if not failed:
        lines.append("  no property failed in the simulation")
    return "\n".join(lines)


def _simulate(file: str, spec: Any, prop: str, detail: str, steps: Any, seed: int, plot: str | None,
              as_json: bool, expected: Expected) -> None:
    from replay.plot import replay_figure
    from replay.scripted import replay_in_sim
    from sim.plots import save

    try:
        run = replay_in_sim(spec, prop, detail, steps, seed=seed)
    except ReplayError as err:
        raise BadInput(f"{file}: {err}") from None
    if plot is not None:
        fig = replay_figure(run)
        write_output(plot, lambda tmp: save(fig, str(tmp)))
    click.echo(json.dumps(run.to_dict(), indent=2) if as_json else simulated_text(run))
    finish(properties_held(spec.policy.name, run.result.properties), expected)


def _on_database(url: str, prefix: str, spec: Any, prop: str, detail: str, steps: Any, expected: Expected) -> None:
    import dbdriver
    from wavesim.commands.dbreplay import JUDGED_IN_ROWS, echo, replay_on_database

    try:
        db = dbdriver.open_database(url, prefix=prefix)
        try:
            lines, shown = replay_on_database(db, spec, prop, steps)
        finally:
            db.dispose()
    except dbdriver.DatabaseError as err:
        raise BadInput(str(err)) from None
    click.echo(f"policy {spec.policy.name}; scope {spec.scope.label()}")
    click.echo(f"{prop} violated in the model in {len(steps)} steps: {detail}")
    echo(lines)
    held: bool | None = shown is None
    if prop not in JUDGED_IN_ROWS:
        click.echo(f"{prop}: the real rows cannot show it (the queue is not in the database): undecided")
        held = None
    elif shown is None:
        click.echo(f"{prop}: the violation does not show in the real rows")
    else:
        click.echo(f"{prop} VIOLATED in the real rows: {shown}")
    finish({(spec.policy.name, prop): held}, expected)


#: the options a spec's trace replays with (the rest replay the write-up's coordinator's traces only)
SPEC_REPLAY = ("file", "db_url", "prefix", "spec_path", "expected")


@click.command("replay", cls=SpecFirstCommand, spec_takes=SPEC_REPLAY,
               writeup_heading="Options for a trace of the write-up's coordinator only")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--simulate", is_flag=True,
              help="Replay the steps in the timed simulation, in the same order, and judge the run there.")
@click.option("--seed", default=None, type=int, help="Seed of the simulated timings (with --simulate; default 0).")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="With --simulate: write the queue-depth and active-waves plot (.png or .svg).")
@click.option("--json", "as_json", is_flag=True, help="With --simulate: print the replayed run as JSON.")
@click.option("--switch", "switch_specs", multiple=True, metavar="NAME=VALUE",
              help="Replay the trace under another reading: a switch of the write-up's coordinator, on top of the "
                   "trace's policy (repeatable); the steps must still happen one by one. 'wavesim check "
                   "coordinator/writeup.py --list' lists the switches.")
@click.option("--db", "db_url", default=None, metavar="URL", callback=resolved_db_url,
              help="Run the steps on a real database of the engine the trace was checked for (sqlite:///PATH, "
                   "postgresql+psycopg://..., mysql+pymysql://...), one connection per worker (per handler run for "
                   "the write-up's coordinator); exit 1 when the violation shows in the real rows.")
@click.option("--prefix", default=None,
              help=f"With --db: the prefix of the tables wavesim creates, e.g. wavesim_mine_; it {PREFIX_RULE}, "
                   "so that they never share a name with yours. [default: wavesim_, or wavesim_spec_ for a spec's "
                   "trace]")
@click.option("--spec", "spec_path", default=None, type=click.Path(dir_okay=False),
              help="For a spec's trace: the spec file to replay it on. [default: the path saved in the trace]")
@expect_option
def replay_command(file: str, simulate: bool, seed: int | None, plot: str | None, as_json: bool,
                   db_url: str | None = None, prefix: str | None = None, switch_specs: tuple[str, ...] = (),
                   expected: Expected = NO_EXPECTATION, spec_path: str | None = None) -> None:
    """Re-run a counterexample of a spec (or of the write-up's coordinator) and print its steps.

    The counterexample is a file written by 'wavesim check --trace-out'.

    A spec's trace replays in the model, or with --db on a real database, on the spec file saved in it
    (--spec names another). The property judged is the trace's own: in the model it is violated
    (the steps replay exactly), so the exit code is 1 unless --expect-violation names it; --simulate
    judges every property in the simulated run; --db judges the trace's property on the real rows.
    """
    if db_url is not None and simulate:
        raise BadInput("--db and --simulate replay in different places: choose one")
    if not simulate:
        for asked, option in ((seed is not None, "--seed"), (plot is not None, "--plot"), (as_json, "--json")):
            if asked:
                raise BadInput(f"{option} needs --simulate")
    if seed is not None and seed < 0:
        raise BadInput(f"--seed must be 0 or more, got {seed}")
    check_output(plot, _PLOTS, "--plot")
    try:
        data = json.loads(read_text(file))
    except json.JSONDecodeError as err:
        raise BadInput(f"cannot read {file}: not JSON ({err.msg} at line {err.lineno})") from None
    if not isinstance(data, dict):
        raise BadInput(f"cannot read {file}: not a wavesim counterexample (expected a JSON object)")
    from wavesim.commands.specreplay import SPEC_PREFIX, is_spec_trace, replay_spec_trace
    if is_spec_trace(data):
        if simulate or switch_specs:
            raise BadInput(f"{file} is a spec's trace: it replays in the model or with --db, without "
                           f"{'--simulate' if simulate else '--switch'}")
        replay_spec_trace(file, data, db_url=db_url, prefix=prefix or SPEC_PREFIX, expected=expected,
                          spec_path=spec_path)
        return
    if spec_path is not None:
        raise BadInput(f"--spec is for a spec's trace; {file} is a trace of the write-up's coordinator")
    given = parse_specs(switch_specs)
    try:
        spec, prop, detail, steps, why = from_json(data)
        if given:  # replay the trace under other readings: it must still happen step by step
            spec = type(spec)(scope=spec.scope, policy=with_given(spec.policy, given))
        replayed = replay(spec, steps)
    except ConfigError as err:
        raise BadInput(str(err)) from None
    except ReplayError as err:
        raise BadInput(f"{file}: {err}") from None
    if (simulate or db_url is not None) and spec.scope.relay_lease != "expired":
        # timed replays space steps further apart than the lease, which is what this trace assumes away
        raise BadInput(f"{file} was checked with --relay-lease {spec.scope.relay_lease}: its relay steps depend on "
                       "claim times, so it replays in the model only (without --simulate and --db)")
    judged = PROPERTY_NAMES if simulate else (prop,)
    expected.require((spec.policy.name, name) for name in judged)
    if simulate:
        _simulate(file, spec, prop, detail, replayed, seed or 0, plot, as_json, expected)
        return
    if db_url is not None:
        _on_database(db_url, prefix or "wavesim_", spec, prop, detail, replayed, expected)
        return
    click.echo(f"policy {spec.policy.name}; scope {spec.scope.label()}")
    click.echo(f"{prop} violated in {len(replayed)} steps: {detail}")
    click.echo(render(replayed))
    for line in why:
        click.echo(f"     way out? {line}")
    finish({(spec.policy.name, prop): False}, expected)
