"""``wavesim replay FILE``: turn a saved counterexample back into its step table.

With ``--simulate`` the counterexample is replayed in the timed simulation
(``sim.scripted``): the same steps in the same order, with times drawn from the
scenario's distributions, judged by the simulation's monitors, and drawn with
``sim.plots.run_figure`` when ``--plot`` names a file.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import click

from model.trace import ReplayError, from_json, render, replay, table_text
from wavesim.errors import BadInput
from wavesim.files import atomic_write, check_output, read_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from sim.scripted import ScriptedRun

__all__ = ["replay_command", "replay_figure", "simulated_text"]

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


def _at(verdict: dict[str, object]) -> float:
    """A failed property's first-violation time."""
    at = verdict["first_violation_s"]
    assert isinstance(at, (int, float))
    return float(at)


_WRITES = ("SetStatus", "EnqueueBatches", "ClaimNextWave", "CompleteFinishedWaves", "RecordBatchFinished")


def _short(what: str) -> str:
    """A step's operation in a few words, for the step lanes."""
    name = what.split("(")[0]
    wave = re.search(r"wave=(\d+)", what)
    w = f"w{wave.group(1)}" if wave else ""
    status = re.search(r"status=(\w+)", what)
    words = {
        "ReadCurrentWave": "read current", "ReadWave": f"read {w}", "ReadLowestPending": "read pending",
        "ReadActiveWave": "read active", "ReadNextMainWave": "read next", "ClaimNextWave": "claim",
        "CompleteFinishedWaves": "complete", "ScheduleTrigger": "schedule trigger", "RecordBatchFinished": "record",
        "SetStatus": f"{w} {status.group(1) if status else ''}", "EnqueueBatches": f"enqueue {w}",
    }
    if name in words:
        return words[name]
    return " ".join(what.split()[:1] + what.split()[-1:])


def replay_figure(run: ScriptedRun) -> Figure:
    """The replayed run as ``sim.plots.run_figure`` draws a run (queue depth, active waves; each
    first violation marked), above the trace's steps in order, one lane per actor."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from sim.plots import draw_run

    r, steps = run.result, run.steps
    lanes: list[str] = []
    for s in steps:
        if s.actor not in lanes:
            lanes.append(s.actor)
    fig = Figure(figsize=(11, 6.5 + 0.55 * len(lanes)), layout="constrained")
    FigureCanvasAgg(fig)
    ax_depth, ax_active, ax_steps = fig.subplots(3, 1, height_ratios=(2, 1, 0.4 * len(lanes)))
    ax_active.sharex(ax_depth)
    title = None
    if r.outcome == "stopped":
        title = f"{r.scenario.policy}, seed {r.scenario.seed}: the run stops after the counterexample's last step"
    draw_run(ax_depth, ax_active, r, title=title)
    end = r.metrics["makespan_s"]
    failed = [(name, v) for name, v in r.properties.items() if not v["holds"]]
    colours = ("tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan", "tab:gray")
    first_at: dict[int, list[str]] = {}
    for (name, v), c in zip(failed, colours, strict=False):
        at = _at(v)
        for ax in (ax_depth, ax_active):
            ax.axvline(at, color=c, lw=1.2, ls="--", label=f"{name} violated ({at:.3f} s)" if ax is ax_depth else None)
        n = next((s.n for s in steps if abs(s.t - at) < 1e-6 and s.action != "listener_start"), steps[-1].n)
        first_at.setdefault(n, []).append(name)
    for ax in (ax_depth, ax_active):
        ax.set_xlim(0, end * 1.04 + 1e-3)
    ax_depth.legend(loc="upper left", fontsize=7)
    _zoom(ax_depth, run, [at for _, v in failed for at in [_at(v)]])
    for s in steps:
        y = lanes.index(s.actor)
        write = s.what.split("(")[0] in _WRITES
        ax_steps.plot([s.n], [y], "s" if write else "o", ms=7 if write else 5,
                      color="tab:grey" if s.drained else "black" if write else "tab:blue")
        ax_steps.annotate(_short(s.what), (s.n, y), xytext=(3, 5), textcoords="offset points", rotation=30,
                          fontsize=7, fontweight="bold" if write else "normal", ha="left", va="bottom",
                          rotation_mode="anchor")
    for n, names in first_at.items():
        ax_steps.axvline(n, color="tab:red", lw=1.2, ls="--")
        ax_steps.text(n, 1.01, " & ".join(names) + f" (step {n})", transform=ax_steps.get_xaxis_transform(),
                      fontsize=8, color="tab:red", ha="right", va="bottom")
    prefix = [s.n for s in steps if not s.drained]
    if len(prefix) < len(steps):
        ax_steps.axvspan(prefix[-1] + 0.5, steps[-1].n + 0.5, color="grey", alpha=0.15, lw=0)
        ax_steps.text(prefix[-1] + 0.7, len(lanes) - 0.35,
                      "after the trace:\nits remaining steps,\nuntil nothing is left", fontsize=8, color="dimgrey",
                      va="bottom")
    ax_steps.set_yticks(range(len(lanes)), lanes, fontsize=8)
    ax_steps.set_ylim(len(lanes) - 0.2, -0.8)
    ax_steps.set_xlim(-0.5, steps[-1].n + 2.5)
    ax_steps.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_steps.set_xlabel("step of the counterexample (squares write to the table; times in the step table)")
    ax_steps.grid(axis="x", alpha=0.3)
    sc = r.scenario
    fig.suptitle(f"replay of a {run.prop} counterexample ({len(prefix) - 1} steps) in the simulation: "
                 f"{sc.policy}, {sc.waves} x {sc.wave_size}, threshold {sc.threshold}%, {sc.workers} workers, "
                 f"seed {sc.seed}", fontsize=10)
    return fig


def _zoom(ax: Axes, run: ScriptedRun, marks: list[float]) -> None:
    """An inset of the queue depth from the first handler run on, when that stretch is too short to see."""
    from matplotlib.ticker import MaxNLocator

    starts = [s.t for s in run.steps if s.action in ("listener_start", "reconciler_tick")]
    end = run.result.metrics["makespan_s"]
    if not starts or end - starts[0] > 0.1 * end:
        return
    lo, pad = starts[0], max(end - starts[0], 1e-4) * 0.08
    series = run.result.series
    inset = ax.inset_axes((0.33, 0.14, 0.4, 0.5))
    inset.step([*series.depth_t.tolist(), end + pad], [*series.depth.tolist(), int(series.depth[-1])], where="post",
               color="black", lw=1.2)
    for at in marks:
        inset.axvline(at, color="tab:red", lw=1, ls="--")
    seen: set[int] = set()
    for t, w in zip(series.dispatch_t.tolist(), series.dispatch_wave.tolist(), strict=True):
        again = w in seen
        seen.add(w)
        if t >= lo:
            inset.annotate(f"w{w} again" if again else f"w{w}", (t, 0), xytext=(0, 3), textcoords="offset points",
                           fontsize=7, ha="center", color="tab:red" if again else "black")
    inset.set_xlim(lo - pad, end + pad)
    inset.set_ylim(-0.3, max(series.depth.max(), 1) + 0.5)
    inset.set_title(f"ready batch jobs, {lo:.3f}-{end:.3f} s (the handler runs)", fontsize=7.5)
    inset.tick_params(labelsize=7)
    inset.xaxis.set_major_locator(MaxNLocator(5))
    inset.grid(alpha=0.3)
    ax.indicate_inset_zoom(inset, edgecolor="grey")


def _simulate(file: str, spec: Any, prop: str, detail: str, steps: Any, seed: int, plot: str | None,
              as_json: bool) -> None:
    from sim.plots import save
    from sim.scripted import replay_in_sim

    try:
        run = replay_in_sim(spec, prop, detail, steps, seed=seed)
    except ReplayError as err:
        raise BadInput(f"{file}: {err}") from None
    if plot is not None:
        fig = replay_figure(run)
        atomic_write(plot, lambda tmp: save(fig, str(tmp)))
    click.echo(json.dumps(run.to_dict(), indent=2) if as_json else simulated_text(run))


def _on_database(url: str, prefix: str, spec: Any, prop: str, detail: str, steps: Any) -> None:
    import dbdriver
    from wavesim.commands.dbreplay import echo, replay_on_database

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
    if shown is None:
        click.echo(f"{prop}: the violation does not show in the real rows")
        return
    click.echo(f"{prop} VIOLATED in the real rows: {shown}")
    raise SystemExit(1)


@click.command("replay")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--simulate", is_flag=True,
              help="Replay the steps in the timed simulation, in the same order, and judge the run there.")
@click.option("--seed", default=None, type=int, help="Seed of the simulated timings (with --simulate; default 0).")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="With --simulate: write the queue-depth and active-waves plot (.png or .svg).")
@click.option("--json", "as_json", is_flag=True, help="With --simulate: print the replayed run as JSON.")
@click.option("--db", "db_url", default=None, metavar="URL",
              help="Run the steps on a real database (sqlite:///PATH, postgresql+psycopg://..., mysql+pymysql://...), "
                   "one connection per handler run; exit 1 when the violation shows in the real rows.")
@click.option("--prefix", default="wavesim_", show_default=True, help="With --db: the prefix of wavesim's tables.")
def replay_command(file: str, simulate: bool, seed: int | None, plot: str | None, as_json: bool,
                   db_url: str | None, prefix: str) -> None:
    """Re-run a counterexample written by 'wavesim check --trace-out' and print its steps."""
    if db_url is not None and simulate:
        raise BadInput("--db and --simulate replay in different places: choose one")
    if not simulate:
        for given, option in ((seed is not None, "--seed"), (plot is not None, "--plot"), (as_json, "--json")):
            if given:
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
    try:
        spec, prop, detail, steps, why = from_json(data)
        replayed = replay(spec, steps)
    except ReplayError as err:
        raise BadInput(f"{file}: {err}") from None
    if simulate:
        _simulate(file, spec, prop, detail, replayed, seed or 0, plot, as_json)
        return
    if db_url is not None:
        _on_database(db_url, prefix, spec, prop, detail, replayed)
        return
    click.echo(f"policy {spec.policy.name}; scope {spec.scope.label()}")
    click.echo(f"{prop} violated in {len(replayed)} steps: {detail}")
    click.echo(render(replayed))
    for line in why:
        click.echo(f"     way out? {line}")
